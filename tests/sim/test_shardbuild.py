"""
Tests for L{twisted_bazaar.sim.shardbuild}: where each node of a sharded
run is placed, and how the two shards of a link name its ends alike.
"""

from twisted.trial.unittest import SynchronousTestCase

from tests.sim.shardtesting import openShards
from twisted_bazaar.net.link import Link
from twisted_bazaar.schemes.chord.ring import BITS
from twisted_bazaar.sim.runner import SimConfig
from twisted_bazaar.sim.shardbuild import (
    TRACKER,
    TRACKER_WEIGHTS,
    arcs,
    contextOf,
    linkId,
    shardOf,
)

RING = 1 << BITS


class PlacementTests(SynchronousTestCase):
    def test_equalArcs(self):
        """Without a tracker, each shard holds an equal arc of the ring."""
        self.assertEqual(arcs(1, 0.0), [RING])
        self.assertEqual(arcs(4, 0.0), [RING // 4, RING // 2, 3 * RING // 4, RING])

    def test_trackerShardShorter(self):
        """The tracker's shard holds fewer nodes, by what the tracker holds:
        the most in the index, none in a flood."""
        for weight in (TRACKER_WEIGHTS["index"], TRACKER_WEIGHTS["chord"]):
            first, second = arcs(2, weight)
            self.assertEqual(second, RING)
            self.assertAlmostEqual(first / RING, (1 - weight) / 2, places=9)
        self.assertLess(TRACKER_WEIGHTS["chord"], TRACKER_WEIGHTS["index"])
        self.assertNotIn("flood", TRACKER_WEIGHTS)
        self.assertEqual(arcs(1, TRACKER_WEIGHTS["index"]), [RING])

    def test_shardOfArcs(self):
        """A node is on the shard whose arc holds its place on the ring."""
        ends = arcs(4, 0.0)
        self.assertEqual([shardOf(place, ends) for place in
                          (0, RING // 4 - 1, RING // 4, RING - 1)], [0, 0, 1, 3])

    def test_contexts(self):
        """The tracker's context is 0, node number i's i + 1."""
        self.assertEqual((contextOf("tracker"), contextOf("n0"), contextOf("n41")),
                         (TRACKER, 1, 42))

    def test_linkIds(self):
        """Each link of a warm start has ids of its own, negative (a
        connection made during the run has a positive one), the acceptor's
        end the opener's plus one."""
        ids = {linkId(a, b, 5) for a in range(5) for b in range(5) if a != b}
        self.assertEqual(len(ids), 20)
        self.assertTrue(all(each < 0 and each % 2 == 0 for each in ids))
        self.assertEqual((linkId(1, 2, 5) | 1) ^ 1, linkId(1, 2, 5))


class FloodLinksTests(SynchronousTestCase):
    def test_aFloodsEndsAreLinks(self):
        """A sharded flood's overlay ends are built links, not quiet ends:
        its searches take every end within 20 virtual seconds, so a quiet
        end would only be an end made twice."""
        config = SimConfig(nodes=40, discovery="flood", start="warm", crypto="fast",
                           searches=10, seed=3)
        shards, received = openShards(self, config, 2)
        held = [value for shard in shards for node in shard.nodes
                for value in dict.values(node.overlay._links)]
        self.assertTrue(held)
        self.assertTrue(all(isinstance(value, Link) for value in held))
