"""
Tests for L{twisted_bazaar.sim.shardsuper}: a warm super-peer overlay
built on shards, each leaf's registrations indexed on its super-peers'
shards.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.sim.runner import SimConfig

from tests.sim.shardtesting import openShards

SUPER = SimConfig(nodes=120, discovery="superpeer", start="warm", crypto="fast",
                  searches=10, seed=5)


class SuperPeerBuildTests(SynchronousTestCase):
    def test_registrationsAtTheirSuperPeers(self):
        """Each leaf with stock is registered with each of its super-peers:
        its registration sent to the super-peer's shard, and indexed there
        once settled, its address checked; the leaf takes each as made."""
        shards, received = openShards(self, SUPER, 2)
        placement = shards[0].network.placement
        for target, each in received.items():
            for placed in each:
                self.assertEqual(placement[placed.superpeer + 1], target)
        for number, shard in enumerate(shards):
            shard.settle(received[number])
        registered = sum(len(node.discovery.side.registered) for shard in shards
                         for node in shard.nodes if node not in shard.superpeers)
        indexed = sum(len(node.discovery.side.index) for shard in shards
                      for node in shard.superpeers)
        self.assertGreater(registered, 1)
        self.assertEqual(indexed, registered)
        self.assertEqual(sum(len(each) for each in received.values()), registered)
        self.assertTrue(received[0] and received[1])
