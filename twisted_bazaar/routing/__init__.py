"""
Reusable routers a discovery scheme composes: L{path.PathRouter} (every
node has one: path-routed messages are part of the core) and
L{flood.FloodRouter} (one per flooded message type a scheme uses).
"""
