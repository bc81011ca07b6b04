"""
Hole punching, over TCP and UDP (docs/protocol.md, "Hole punching"): the
sans-IO exchanges, their budgets and messages, and the node's services
that run them.
"""
