"""
What runs a node or a tracker as a service: services and the plugin registries.
"""
