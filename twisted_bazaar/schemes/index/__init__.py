"""
The index scheme (``--discovery index``, Napster style): the tracker keeps
an inverted index of who sells what; sellers register and unregister
items, buyers look an item up and buy straight from the sellers named.
It needs no overlay: an index node keeps no neighbours and relays nothing.
"""

from twisted_bazaar.schemes.index.plugin import IndexScheme, IndexTrackerPlugin

__all__ = ["IndexScheme", "IndexTrackerPlugin"]
