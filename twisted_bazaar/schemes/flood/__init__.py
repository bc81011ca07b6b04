"""
The flood scheme (``--discovery flood``, the default): Gnutella-style
searches flooded over a few random neighbours, with a hop limit.
"""

from twisted_bazaar.schemes.flood.plugin import FloodScheme

__all__ = ["FloodScheme"]
