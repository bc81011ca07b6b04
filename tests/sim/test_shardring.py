"""
Tests for L{twisted_bazaar.sim.shardring}: a warm chord ring built on
shards, its records placed on the shards of their holders.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.sim.runner import SimConfig

from tests.sim.shardtesting import openShards

CHORD = SimConfig(nodes=80, discovery="chord", start="warm", crypto="fast", searches=10,
                  seed=5)


class RingBuildTests(SynchronousTestCase):
    def test_recordsToTheirHolders(self):
        """Each shard's build sends each record to the shards of its holder
        and the holder's successors, and only there; every seller with
        stock has its records placed; once settled, every node is on the
        ring and holds what was placed at it, and the ring's tables are
        let go of."""
        shards, received = openShards(self, CHORD, 2)
        ring = shards[0].builder.overlay
        placement = shards[0].network.placement
        for target, each in received.items():
            for placed in each:
                holders = [ring.ids[placed.holder], *ring.tables[placed.holder][0]]
                self.assertIn(target, {placement[ring.index_of[node_id] + 1]
                                       for node_id in holders})
        sellers = {(placed.seller, placed.item) for each in received.values()
                   for placed in each}
        stocked = sum(1 for shard in shards for stock in shard.initial_stock.values()
                      if any(stock.values()))
        self.assertEqual(len(sellers), stocked)
        self.assertGreater(stocked, 1)
        successors = len(ring.tables[0][0])
        for number, shard in enumerate(shards):
            shard.settle(received[number])
        for shard in shards:
            for node in shard.nodes:
                self.assertIsNotNone(node.discovery.ring.predecessor)
        held = sum(len(node.discovery.records) for shard in shards
                   for node in shard.nodes)
        self.assertEqual(held, len(sellers) * (1 + successors))
        # Each node's tables let go of as it was placed.
        self.assertEqual(set(ring.tables), {None})
