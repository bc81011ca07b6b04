"""
The node and what every role and scheme shares: its events, the tracker session, topology, and the market vocabulary (offers, the shop interface).
"""
