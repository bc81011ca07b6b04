"""
A warm chord ring split over shards (L{twisted_bazaar.sim.shardbuild}):
what L{warm.placeRing} does in one process, each shard doing it for the
nodes it holds.

Every shard knows every node's id (it draws every key), so every shard
works out every node's successors and predecessor, the fingers of its
own nodes (L{warm.ringTables}), and the links it holds an end of
(L{warm.ringPairs}).  What it cannot make is another
shard's records: a record is signed by its seller, on the seller's
shard.  So the ring is placed in two steps.  L{RingBuild.link} (the
build) makes the ring links and has each seller here take its stores as
acknowledged (L{Publisher.acknowledged}); the records go, as
L{Placement}s, to every shard that holds one of their holders.
L{RingBuild.settle} (once every shard has built) has each holder here
keep the records placed at it, in the order one process places them (by
the seller's place on the ring, then the item), then places every node
here on the ring (L{Joining.place}), which starts its upkeep.  Both
steps are the same on any number of shards, one shard included, so what
each node does, and in which order, is too.
"""

import bisect
from typing import NamedTuple

from twisted_bazaar.schemes.chord.ring import keyOf, place
from twisted_bazaar.schemes.chord.settings import CHORD
from twisted_bazaar.schemes.chord.state import Peer
from twisted_bazaar.sim.warm import ringPairs, ringTables, sharedPeers


class Placement(NamedTuple):
    """A record a seller's store leaves at its holder and the holder's
    successors, on a settled ring; the indexes are places in ring order."""

    seller: int
    item: str
    record: object
    lifetime: int
    holder: int


class RingBuild:
    """
    One shard's part of a warm ring (see the module): made once every
    node's key is drawn and the roles placed.

    @param builder: the shard's L{ShardBuilder}.
    @param everyone: every node of the run (a L{Stub} for another
        shard's), in the order built.
    """

    def __init__(self, builder, everyone, successors):
        self.builder = builder
        self.everyone = everyone
        self.index_of = {node.id: index for index, node in enumerate(everyone)}
        self.ids = sorted(self.index_of, key=place)
        self.tables = ringTables(self.ids, successors, fingered=self._here)
        #: id -> this shard's node of that id.
        self.mine = {}

    def _here(self, node_id):
        """Whether this shard holds the node of that id."""
        builder = self.builder
        return builder.sim.network.placement[self.index_of[node_id] + 1] == builder.shard

    def link(self, contexts, addresses):
        """
        The ends this shard holds of the ring's links, then each seller
        here's records as its stores leave them: shard -> [L{Placement}]
        for every shard that holds the record's holder or one of its
        successors (this one included).
        """
        builder, index_of = self.builder, self.index_of
        for opener, acceptor in ringPairs(self.ids, self.tables, wanted=self._here):
            builder.link(self.everyone, index_of[opener], index_of[acceptor], contexts,
                         addresses, CHORD)
        placement = builder.sim.network.placement
        clock = builder.sim.clock
        holders, out = {}, {}
        ring_place = {node_id: at for at, node_id in enumerate(self.ids)}
        places = [place(node_id) for node_id in self.ids]

        def holderAt(item):
            at = holders.get(item)
            if at is None:
                at = holders[item] = bisect.bisect_left(places, keyOf(item)) % len(places)
            return at

        self.mine = {node.id: node for node in builder.sim.nodes}
        for node in builder.sim.nodes:
            clock.enter(index_of[node.id] + 1)
            stored = node.discovery.publisher.acknowledged(
                lambda item: self.ids[holderAt(item)])
            for item, record, lifetime in stored:
                at = holderAt(item)
                placed = Placement(ring_place[node.id], item, record, lifetime, at)
                successors = self.tables[at][0]
                for shard in {placement[index_of[each] + 1]
                              for each in [self.ids[at], *successors]}:
                    out.setdefault(shard, []).append(placed)
        return out

    def settle(self, placements):
        """
        Keep the records placed at this shard's nodes (L{link}'s, from
        every shard), in one process's order, then place every node here
        on the ring.
        """
        builder, index_of, ids = self.builder, self.index_of, self.ids
        sim = builder.sim
        clock = sim.clock
        for placed in sorted(placements, key=lambda each: (each.seller, each.item)):
            holder = ids[placed.holder]
            successors, predecessor, _ = self.tables[placed.holder]
            if self._here(holder):
                clock.enter(index_of[holder] + 1)
                source = predecessor if placed.holder != placed.seller else None
                self.mine[holder].discovery.holding.hold(
                    placed.record, placed.lifetime, source)
            for each in successors:
                if self._here(each):
                    clock.enter(index_of[each] + 1)
                    self.mine[each].discovery.holding.hold(
                        placed.record, placed.lifetime, holder)
        everyone = self.everyone

        def make(node_id):
            other = everyone[index_of[node_id]]
            return Peer(node_id, other.host, other.port)

        peer = sharedPeers(make)
        tables = self.tables
        for at, node_id in enumerate(ids):
            successors, predecessor, fingers = tables[at]
            # Let go of as placed: the tables and the nodes' own, made
            # from them, held together were a chord shard's peak (at
            # 20,000 nodes, 17 MB above what it keeps, 10 MB of tables).
            tables[at] = None
            if not self._here(node_id):
                continue
            clock.enter(index_of[node_id] + 1)
            self.mine[node_id].discovery.joining.place(
                [peer(each) for each in successors], peer(predecessor),
                [(first, peer(each)) for first, each in fingers])
