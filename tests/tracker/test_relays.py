"""The tracker's pool of public nodes' relays: spread, room, and
departures."""

import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.tracker.relays import RelayPool


def always(node_id):
    return True


class RelayPoolTests(SynchronousTestCase):
    def setUp(self):
        self.pool = RelayPool(random.Random(0))
        for relaying in (1, 2, 3):
            self.pool.offer(relaying, f"192.0.2.{relaying}:7702", 2)

    def test_spread(self):
        """Each node is named the relay holding the fewest, named or held:
        nine nodes, three at each of three relays with room for ten."""
        for relaying in (1, 2, 3):
            self.pool.offer(relaying, f"192.0.2.{relaying}:7702", 10)
        named = [self.pool.pick(node_id, always)[0] for node_id in range(10, 19)]
        self.assertEqual([named.count(relaying) for relaying in (1, 2, 3)], [3, 3, 3])

    def test_full(self):
        """No relay with room: none named."""
        for node_id in range(10, 16):
            self.pool.pick(node_id, always)
        self.assertIsNone(self.pool.pick(16, always))

    def test_notTwice(self):
        """A node is not named the same relay twice while registered, nor
        itself, nor a relay that no longer stands."""
        for node_id in range(10, 60):
            first, _ = self.pool.pick(node_id, always)
            self.pool.release(node_id)
            second, _ = self.pool.pick(node_id, lambda relaying: relaying != 3)
            self.assertNotIn(second, (first, 3))
            self.pool.release(node_id)
        self.assertNotEqual(self.pool.pick(1, always)[0], 1)

    def test_levelsFollowTheLoad(self):
        """A relay that fills up is named no more; one that a node leaves
        has room again; one whose node leaves is gone from every level."""
        for node_id in range(10, 16):
            self.pool.pick(node_id, always)
        self.assertIsNone(self.pool.pick(16, always))
        self.pool.release(10)
        self.assertIsNotNone(self.pool.pick(16, always))
        for relaying in (1, 2, 3):
            self.pool.leave(relaying)
        self.assertIsNone(self.pool.pick(17, always))

    def test_holdAndLeave(self):
        """A node holds the relay named to it; the relaying node's leaving
        frees its nodes, and it is named to nobody again."""
        relaying, relay = self.pool.pick(10, always)
        self.assertEqual(self.pool.named(10), relay)
        self.assertEqual(self.pool.hold(10), relaying)
        self.assertIsNone(self.pool.named(10))
        self.pool.leave(relaying)
        self.assertEqual(len(self.pool), 2)
        for node_id in range(20, 30):
            named = self.pool.pick(node_id, always)
            self.assertNotEqual(named and named[0], relaying)
