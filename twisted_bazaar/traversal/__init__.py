"""Reaching nodes that cannot be dialled: relays (and hole punching)."""
