"""
Tests for L{twisted_bazaar.sim.build}: the market a simulation builds
(the tracker topology's; the generated overlays' are checked by whole
runs in L{tests.sim.test_runner}, the warm start's in
L{tests.sim.test_warm}).
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.sim.runner import Simulation
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
