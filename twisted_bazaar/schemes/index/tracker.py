"""
The tracker's side of the index scheme: it keeps who sells what
(L{ItemIndex}) and answers ``register``, ``unregister``, ``lookup`` and
``list``.
"""

import json

from zope.interface import implementer

from twisted_bazaar.schemes.index.messages import (
    MAX_FOUND,
    MAX_ITEMS_PER_NODE,
    MAX_LISTING,
    Ack,
    Found,
    List,
    Listing,
    Lookup,
    Register,
    Unregister,
)
from twisted_bazaar.schemes.index.state import ItemIndex
from twisted_bazaar.tracker.extension import ITrackerExtension


#: Seconds a listing is answered from before it is built again.
LISTING_TTL = 1.0


@implementer(ITrackerExtension)
class IndexExtension:
    """The item index inside one tracker."""

    def __init__(self, tracker):
        self.tracker = tracker
        self.index = ItemIndex(tracker.rng)
        #: (when it was built, the Listing), or None.
        self._listing = None
        self.handlers = {Register: self._register, Unregister: self._unregister,
                         Lookup: self._lookup, List: self._list}

    def nodeLeft(self, node_id):
        self.index.forget(node_id)

    def _register(self, link, message):
        items = self.index.items(link.peer_id)
        if len(items) >= MAX_ITEMS_PER_NODE and message.item not in items:
            link.protocolError("wtf", f"a node may register at most "
                               f"{MAX_ITEMS_PER_NODE} items")
            return
        self.index.register(link.peer_id, message.item,
                            (message.size, message.sha256, message.transfer))
        link.send(Ack(message.item))

    def _unregister(self, link, message):
        self.index.unregister(link.peer_id, message.item)
        link.send(Ack(message.item))

    def _lookup(self, link, message):
        nodes = self.tracker.registry.nodes
        # Only sellers whose address the tracker checked; and a node that
        # said port 0 takes no links, so no buyer could reach it.
        sellers = tuple((seller,) + nodes[seller]
                        + self.index.details(seller, message.item)
                        for seller in self.index.lookup(message.item, MAX_FOUND,
                                                        self.tracker.registry.verified)
                        if seller in nodes and nodes[seller][1])
        link.send(Found(message.item, sellers))

    def _list(self, link, message):
        """What is on offer: built at most once every LISTING_TTL seconds,
        however often it is asked for."""
        now = self.tracker.clock.seconds()
        if self._listing is None or now - self._listing[0] >= LISTING_TTL:
            self._listing = (now, self._build())
        link.send(self._listing[1])

    def _build(self):
        """Everything the checked sellers offer, in name order, cut short
        where it would no longer fit in one frame (or MAX_LISTING items)."""
        room = self.tracker.settings.frame_limit - 64
        items = {}
        listing = self.index.listing(self.tracker.registry.verified)
        for item, count in listing.items():
            room -= len(json.dumps(item, ensure_ascii=False).encode("utf-8")) + 22
            if room < 0 or len(items) == MAX_LISTING:
                break
            items[item] = count
        return Listing(items)
