"""
What makes a node reachable, and tells it whether it is: the tracker's
check, relay reservations and offers, port mapping, the relay probe.
"""
