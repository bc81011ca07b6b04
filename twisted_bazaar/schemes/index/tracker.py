"""
The tracker's side of the index scheme: it keeps who sells what
(L{ItemIndex}) and answers ``register``, ``unregister``, ``lookup`` and
``list``.  A register carries the seller's signed record, which the
tracker checks (it is the registering node's own, of that item, live)
before it keeps it, and hands out with the seller in ``found``, where
the buyer checks it again.  Quotas bound what one node (one key) and
one address group may have registered.
"""

import json
from itertools import islice

from twisted.logger import LogLevel
from zope.interface import implementer

from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar.wire import Error
from twisted_bazaar.core.records import fittedSellers, live, recordFault
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.net.fitting import countFitting, frameLimit
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.schemes.index.messages import (
    MAX_ENTRIES,
    MAX_FOUND,
    MAX_ITEMS_PER_GROUP,
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
#: Seconds between two ``full`` refusals told one seller.
FULL_INTERVAL = 60.0


@implementer(ITrackerExtension)
class IndexExtension:
    """The item index inside one tracker."""

    def __init__(self, tracker):
        self.tracker = tracker
        self.index = ItemIndex(tracker.rng, MAX_ENTRIES)
        #: (when it was built, the Listing), or None.
        self._listing = None
        #: seller -> when it was last told ``full``.
        self._told = {}

    def nodeLeft(self, node_id):
        self.index.forget(node_id)
        self._told.pop(node_id, None)

    def _register(self, link, message):
        seller, record = link.peer_id, message.record
        now = wallSeconds(self.tracker.clock)
        fault = recordFault(record, now, seller, message.item, alive=True)
        if fault is not None:
            link.protocolError("badrecord", f"not registering {message.item[:64]!r}: "
                               f"{fault}")
            return
        items, group = self.index.items(seller), groupOf(link)
        if message.item not in items:
            if len(items) >= MAX_ITEMS_PER_NODE:
                link.protocolError("wtf", f"a node may register at most "
                                   f"{MAX_ITEMS_PER_NODE} items")
                return
            if self.index.inGroup(group) >= MAX_ITEMS_PER_GROUP:
                link.protocolError("wtf", f"the nodes of one address group may "
                                   f"register at most {MAX_ITEMS_PER_GROUP} items")
                return
            victims = self.index.makeRoom(seller, group)
            if victims is None:
                self._full(link, message.item, self.index.refusal(seller, group))
                return
            for victim in victims:
                link.peerLine(LogLevel.info, "index full: dropped the items of node "
                              "{victim} (of the address group holding the most) "
                              "for those of {peer}", self.tracker.log,
                              victim=shortId(victim))
                self.index.forget(victim)
        self.index.register(seller, message.item, record, group)
        link.send(Ack(message.item))

    def _full(self, link, item, why):
        """
        Tell a seller the index had no room for item: not its fault, so
        not counted against it as a bad message; and once a minute at
        most, since a node cuts a tracker that sends it many errors
        (§14), and a seller registers its whole inventory at once.
        """
        now = self.tracker.clock.seconds()
        told = self._told.get(link.peer_id)
        if told is not None and now - told < FULL_INTERVAL:
            return
        self._told[link.peer_id] = now
        link.send(Error("full", f"not registering {item[:64]!r}: {why}"))

    def _unregister(self, link, message):
        self.index.unregister(link.peer_id, message.item)
        link.send(Ack(message.item))

    def _lookup(self, link, message):
        nodes = self.tracker.registry.nodes
        now = wallSeconds(self.tracker.clock)
        # Only sellers whose address the tracker checked (or LAN-only ones
        # behind the asker's router, on its subnet), and whose record is
        # live; a node that said port 0 takes no links, so no buyer could
        # reach it.
        sellers = []
        for seller in self.index.lookup(message.item, MAX_FOUND,
                                        self.tracker.registry.introducedTo(link.peer_id)):
            record = self.index.record(seller, message.item)
            if seller in nodes and nodes[seller][1] and live(record, now):
                sellers.append((seller,) + nodes[seller] + (record,))
        link.send(fittedSellers(Found(message.item, tuple(sellers)),
                                frameLimit(self.tracker)))

    def _list(self, link, message):
        """What is on offer: built at most once every LISTING_TTL seconds,
        however often it is asked for.  A question, charged to the asker's
        group with the tracker's other questions (a listing's own bucket
        bounds it per link)."""
        if not self.tracker.mayAsk(link, List):
            return
        now = self.tracker.clock.seconds()
        if self._listing is None or now - self._listing[0] >= LISTING_TTL:
            self._listing = (now, self._build())
        link.send(self._listing[1])

    #: What it takes of registered nodes (L{ITrackerExtension.takes}).
    takes = {Register: _register, Unregister: _unregister, Lookup: _lookup,
             List: _list}

    def _build(self):
        """Everything the sellers a found may name offer (checked, and with
        a port to link to), in name order, cut short where it would no
        longer fit in one frame (or MAX_LISTING items)."""
        registry = self.tracker.registry
        named = {node_id for node_id in registry.verified if registry.nodes[node_id][1]}
        entries = list(islice(self.index.listing(named).items(), MAX_LISTING))
        # An entry is its name, a colon, a count of at most 19 digits and
        # a comma: 21 bytes beside its name, and one to spare.
        kept = countFitting((len(json.dumps(item, ensure_ascii=False).encode("utf-8")) + 22
                             for item, _ in entries), frameLimit(self.tracker))
        return Listing(dict(entries[:kept]))
