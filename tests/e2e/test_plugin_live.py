"""
End to end: the out-of-package gossip scheme (tests/plugin_root) under
real ``twistd``, found through PYTHONPATH alone: its option is in
``--help``, and a buyer and a seller that run it trade.
"""

import os

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import startMarket, waitBought
from tests.test_open_core import PLUGIN_ROOT
from twisted_bazaar.testing.daemons import nodeId, runTwistd

TIMEOUT = 30.0


class LivePluginTests(SynchronousTestCase):
    def setUp(self):
        path = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [PLUGIN_ROOT, path]))
        self.addCleanup(self._restore, path)

    def _restore(self, path):
        if path is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = path

    def test_helpListsThePlugin(self):
        """--help names the scheme; --help-all lists its options too."""
        result = runTwistd(["bazaar-node", "--help"], cwd=PLUGIN_ROOT)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("gossip (a test scheme", " ".join(result.stdout.split()))
        result = runTwistd(["bazaar-node", "--help-all"], cwd=PLUGIN_ROOT)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("Hop limit of gossip (gossip scheme). [default: 4]. A whole number "
                      "from 1 to 16.", " ".join(result.stdout.split()))
        self.assertIn("gossip (a test scheme", " ".join(result.stdout.split()))

    def test_trade(self):
        market, _ = startMarket(self, TIMEOUT)
        seller = market.startNode("seller", "--discovery", "gossip",
                                   "--gossip-ttl", "2", "--role", "seller",
                                   "--sell", "fig=2")
        seller_id = nodeId(seller, TIMEOUT)
        buyer = market.startNode("buyer", "--discovery", "gossip", "--role", "buyer",
                                  "--want", "fig", "--quantity", "2")
        waitBought(buyer, "fig", TIMEOUT, seller=seller_id, n=2, q=2, units=2)
        codes = market.stop()
        for daemon in market.daemons:
            self.assertEqual(daemon.problems(), [], daemon.name)
        self.assertEqual(set(codes), {"tracker", "seller", "buyer"})
