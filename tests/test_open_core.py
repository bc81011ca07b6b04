"""
The core is open: a discovery scheme from outside the package
(tests/plugin_root, ``--discovery gossip``) brings its own messages, uses
the core's routers, adds an option, and trades in a Market, with no edit
of the core.  The same plugin under real twistd is in
tests/e2e/test_plugin_live.py.
"""

import os

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

import twisted_bazaar
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

    def test_aSchemeMistakeIsTheSchemes(self):
        """A scheme's find that raises, fails, or gives what is no offer
        costs the buyer that search alone, said in one line naming the
        scheme's file: it searches again and buys.  Before, the buyer's
        want was stuck in its search for good (its bag empty), the
        scheme's exception logged as the buyer failing on linkAdded."""
        from twisted_bazaar.plugins.bazaar_gossip_test import GossipDiscovery
        find = GossipDiscovery.find
        mistakes = [lambda: 1 / 0, lambda: defer.fail(RuntimeError("broken")),
                    lambda: defer.succeed([("pear", "not an offer")])]

        def student(scheme, item, wait):
            if mistakes:
                return mistakes.pop(0)()
            return find(scheme, item, wait)
        self.patch(GossipDiscovery, "find", student)
        market = Market(seed=3)
        seller = market.addNode(discovery="gossip", seller={"stock": {"pear": 1}})
        market.run(2)
        buyer = market.addNode(discovery="gossip", buyer={"wants": ["pear"]})
        market.run(60)
        self.assertEqual(mistakes, [])
        [purchase] = market.role(buyer, "buyer").bag
        self.assertEqual(purchase.seller, seller.id)
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError, RuntimeError)), 2)


#: The packages of the core that rate, route and answer messages: a
#: scheme's bucket named there is a scheme the core knows of.
CORE_PACKAGES = ("net", "tracker", "core", "routing")


def schemeBuckets():
    """Rate buckets of the schemes' messages that no other message uses
    (the core's own, ``search`` and ``query``, are shared)."""
    def owner(kind):
        # A message another test declared may live in a module of one
        # name (the order of a parallel run decides which came first).
        parts = kind.__module__.split(".")
        return parts[2] if parts[1:2] == ["schemes"] and len(parts) > 2 else None

    kinds = wire.MESSAGE_TYPES.values()
    shared = {kind.BUCKET for kind in kinds if owner(kind) is None}
    return {kind.BUCKET: owner(kind) for kind in kinds
            if owner(kind) is not None and kind.BUCKET not in shared | {None}}


class BucketsOwnedTests(SynchronousTestCase):
    """The index scheme's ``listing`` and ``register`` rates stood in
    net/link.py and tracker/service.py; a scheme's buckets are declared by
    its messages (the registry of limits, ``link.<bucket>``)."""

    def test_noSchemesBucketInTheCore(self):
        import twisted_bazaar.schemes  # noqa: F401 (their messages)
        from twisted_bazaar.daemon.registry import discoveryPlugins
        discoveryPlugins()
        buckets = schemeBuckets()
        self.assertLessEqual({"listing", "register", "chord"}, set(buckets))
        root = os.path.dirname(os.path.abspath(twisted_bazaar.__file__))
        named = []
        for package in CORE_PACKAGES:
            for folder, _, files in os.walk(os.path.join(root, package)):
                for name in files:
                    if not name.endswith(".py"):
                        continue
                    with open(os.path.join(folder, name)) as source:
                        text = source.read()
                    named += [(package, name, bucket) for bucket in buckets
                              if f'"{bucket}"' in text or f"'{bucket}'" in text]
        self.assertEqual(named, [])

    def test_eachSchemeBucketDeclared(self):
        """Each bucket a scheme's messages name has its rate in the
        registry, declared by that scheme."""
        from twisted_bazaar.base.limitregistry import LIMITS
        from twisted_bazaar.daemon.registry import discoveryPlugins
        discoveryPlugins()
        for bucket, scheme in schemeBuckets().items():
            limit = LIMITS.get("link." + bucket)
            self.assertIsNotNone(limit, bucket)
            self.assertTrue(limit.owner.startswith(f"twisted_bazaar.schemes.{scheme}."),
                            limit)
