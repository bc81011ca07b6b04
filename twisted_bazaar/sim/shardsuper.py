"""
A warm super-peer market split over shards
(L{twisted_bazaar.sim.shardbuild}): what L{warm.linkSuperPeers} does in
one process, each shard doing it for the nodes it holds.

Every shard draws the super-peers' graph and each leaf's super-peers
(L{warm.assignLeaves}) from the seed, as one process does, and makes the
ends it holds of those links.  A leaf's registration is its own signed
records, made on the leaf's shard, in the index of a super-peer that
may be on another: so it is made in two steps.  L{SuperPeerBuild.link}
(the build) has each leaf here take its registrations as made
(L{warm.leafRegistered}); what each super-peer indexes goes, as a
L{LeafPlacement}, to the super-peer's shard.  L{SuperPeerBuild.settle}
(once every shard has built) indexes them at the super-peers here, in
the order one process registers them (by leaf, then its super-peers in
the order drawn).  Both steps are the same on any number of shards, one
shard included.
"""

from typing import NamedTuple

from twisted_bazaar.schemes.superpeer.messages import LEAF, SUPER
from twisted_bazaar.sim.topology import BUILDERS
from twisted_bazaar.sim.warm import LEAF_ROOM, assignLeaves, indexLeaf, leafRegistered


class LeafPlacement(NamedTuple):
    """A leaf's registration with a super-peer, for the super-peer's
    index (L{warm.indexLeaf}): nodes by their number in the run."""

    leaf: int
    pick: int
    superpeer: int
    address: tuple
    stock: dict
    records: dict


class SuperPeerBuild:
    """
    One shard's part of a warm super-peer overlay (see the module): made
    once every node's key is drawn and the roles placed.

    @param builder: the shard's L{ShardBuilder}.
    @param everyone: every node of the run (a L{Stub} for another
        shard's), in the order built: the super-peers first.
    @param count: how many super-peers.
    @param settings: (a super-peer's scheme settings, a leaf's).
    """

    def __init__(self, builder, everyone, count, settings):
        self.builder = builder
        self.everyone = everyone
        self.count = count
        self.settings = settings

    def _here(self, index):
        builder = self.builder
        return builder.sim.network.placement[index + 1] == builder.shard

    def link(self, contexts, addresses):
        """
        The ends this shard holds of the super-peers' graph and of each
        leaf's links to its super-peers, and the leaves here registered:
        shard -> [L{LeafPlacement}] for the shards of their super-peers.
        """
        builder, everyone, count = self.builder, self.everyone, self.count
        sim = builder.sim
        config, clock, placement = sim.config, sim.clock, sim.network.placement
        for index in range(count):
            if self._here(index):
                node = everyone[index]
                node.setSlots(SUPER, node.config.max_connections)
        for a, b in BUILDERS[config.topology](count, config.degree, sim.rng):
            builder.link(everyone, a, b, contexts, addresses, SUPER)
        out = {}
        if not 0 < count < len(everyone):
            return out
        superpeer, leaf = self.settings
        room = max(1, int(LEAF_ROOM * superpeer.max_leaves))
        chosen = assignLeaves(range(count, len(everyone)), list(range(count)),
                              leaf.superpeers, room, sim.rng)
        for index, picks in chosen.items():
            node = everyone[index]
            for pick, chosen_super in enumerate(picks):
                builder.link(everyone, index, chosen_super, contexts, addresses, LEAF)
                if not self._here(index):
                    continue
                clock.enter(index + 1)
                told = leafRegistered(node, everyone[chosen_super].id)
                if told is not None:
                    out.setdefault(placement[chosen_super + 1], []).append(LeafPlacement(
                        index, pick, chosen_super, (node.host, node.port), *told))
        return out

    def settle(self, placements):
        """Every registration placed here (L{link}'s, from every shard)
        indexed at its super-peer, in one process's order."""
        everyone, clock = self.everyone, self.builder.sim.clock
        for placed in sorted(placements, key=lambda each: (each.leaf, each.pick)):
            clock.enter(placed.superpeer + 1)
            indexLeaf(everyone[placed.superpeer], everyone[placed.leaf].id, placed.address,
                      placed.stock, placed.records)
