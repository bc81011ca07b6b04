"""
The Chord scheme (``--discovery chord``): a distributed hash table on a
ring of node ids.  Sellers store "I sell X at host:port" at the node that
holds X's key (and its successors, the replicas); buyers look X up there,
in O(log N) hops over finger links, then buy directly.  See
docs/architecture.md, "The chord scheme".
"""

from twisted_bazaar.schemes.chord.plugin import ChordScheme, ChordTrackerPlugin

__all__ = ["ChordScheme", "ChordTrackerPlugin"]
