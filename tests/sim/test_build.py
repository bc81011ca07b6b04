"""
Tests for L{twisted_bazaar.sim.build}: the market a simulation builds
(the tracker topology's; the generated overlays' are checked by whole
runs in L{tests.sim.test_runner}, the warm start's in
L{tests.sim.test_warm}).
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.link import Link
from twisted_bazaar.sim.build import NodeLinkSettings
from twisted_bazaar.sim.runner import Simulation
from twisted_bazaar.tracker.check import AddressCheck
from tests.sim.test_runner import small


class TrackerTopologyTests(SynchronousTestCase):
    def test_joinThroughTracker(self):
        """Every node registers with the real tracker, finds neighbours
        through it, and every search buys."""
        sim = Simulation(small(nodes=30, topology="tracker"))
        metrics = sim.run()
        self.assertIsNotNone(sim.market)
        ids = {node.id for node in sim.nodes}
        self.assertNotIn(None, ids)
        self.assertEqual(set(sim.market.tracker.registry.nodes), ids)
        self.assertEqual(metrics["messages_by_type"]["thisisyou"], 30)
        self.assertGreater(metrics["messages_by_type"]["nodereq"], 0)
        self.assertTrue(all(node.links for node in sim.nodes))
        self.assertEqual(metrics["success_rate"], 1.0)
        self.assertEqual(metrics["double_sells"], 0)


class NodeLinkSettingsTests(SynchronousTestCase):
    """Every node of a run shares one config, whose link settings count
    what each node sends apart (L{NodeLinkSettings})."""

    def test_oneConfigForEveryNode(self):
        sim = Simulation(small(nodes=30, topology="tracker"))
        sim.run()
        self.assertEqual(len({id(node.config) for node in sim.nodes}), 1)
        # Each node counted apart: every node said thisisme to the tracker
        # (and more), and the run's total is theirs and the tracker's.
        self.assertTrue(all(sent.get("thisisme", 0) >= 1 for sent in sim.node_stats.values()))
        self.assertEqual(len({id(sent) for sent in sim.node_stats.values()}), 30)

    def test_anOwnerCountsForItsNode(self):
        """A link counts into the dict of the node its owner names (an
        overlay's, a session's, a super-peer's address check's), and into
        the settings' own for an owner of a node not counted, or of none
        (a tracker's check)."""
        node, other = object(), object()
        counts = {node: {}}
        settings = NodeLinkSettings(counts, ping_interval=60.0)
        clock = Clock()
        self.assertIs(Link(OwnerOf(node), clock, settings, False)._context.stats,
                      counts[node])
        check = AddressCheck(1, None, None, clock, settings, node=node)
        self.assertIs(Link(check, clock, settings, False)._context.stats, counts[node])
        self.assertIsNone(Link(OwnerOf(other), clock, settings, False)._context.stats)
        settings.stats = {}
        tracker = AddressCheck(1, None, None, clock, settings)
        self.assertIs(Link(tracker, clock, settings, False)._context.stats, settings.stats)


class OwnerOf:
    """A link owner of a node, as an overlay or a tracker session is."""

    def __init__(self, node):
        self.node = node
