"""
The core is open: a discovery scheme from outside the package
(tests/plugin_root, ``--discovery gossip``) brings its own messages, uses
the core's routers, adds an option, and trades in a Market, with no edit
of the core.  The same plugin under real twistd is in
tests/e2e/test_plugin_live.py.
"""

import os

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import plugins, wire
from twisted_bazaar.daemon.registry import discoveryPlugins
from twisted_bazaar.testing import Market

from tests.helpers import units

#: Where the out-of-package plugin lives: put this on the plugin path.
PLUGIN_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plugin_root")
PLUGIN_DIR = os.path.join(PLUGIN_ROOT, "twisted_bazaar", "plugins")


def withGossipPlugin(test):
    """Make the gossip plugin visible to twisted.plugin for one test."""
    plugins.__path__.append(PLUGIN_DIR)
    test.addCleanup(plugins.__path__.remove, PLUGIN_DIR)


class OpenCoreTests(SynchronousTestCase):
    def setUp(self):
        withGossipPlugin(self)

    def test_foundAsAPlugin(self):
        scheme = discoveryPlugins()["gossip"]
        self.assertEqual([option.name for option in scheme.options], ["gossip-ttl"])
        self.assertIn("gossip", wire.MESSAGE_TYPES)
        self.assertTrue(wire.MESSAGE_TYPES["gossipHit"].ROUTED)

    def test_tradesInAMarket(self):
        """A seller two hops from the buyer is found by gossip and sold to,
        along the path the gossip came; every node stops cleanly."""
        market = Market(seed=3)
        options = {"gossip-ttl": 3}
        seller = market.addNode(discovery="gossip", scheme=options,
                                seller={"stock": {"pear": 2}})
        market.run(2)
        relays = [market.addNode(discovery="gossip", scheme=options)
                  for _ in range(2)]
        market.run(5)
        buyer = market.addNode(discovery="gossip", scheme=options,
                               buyer={"wants": ["pear"], "quantity": 2})
        market.run(30)
        bag = units(market.role(buyer, "buyer").bag)
        self.assertEqual([(p.item, p.seller) for p in bag], [("pear", seller.id)] * 2)
        self.assertEqual(buyer.discovery.name, "gossip")
        self.assertEqual(buyer.discovery.ttl, 3)
        self.assertTrue(buyer.discovery.router.seen)
        for node in [buyer, seller] + relays:
            market.stop(node)
        for node in [buyer, seller] + relays:
            self.assertEqual(market.leftovers(node),
                             {"delayed_calls": [], "connections": []})
