"""Tests for twisted_bazaar.metrics.limits: each pool's use and bound."""

import random

from prometheus_client import CollectorRegistry
from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.limitregistry import LIMITS, declare
from twisted_bazaar.metrics.limits import LimitsCollector
from twisted_bazaar.metrics.tracker import TrackerMetrics
from twisted_bazaar.net.account import Account
from twisted_bazaar.tracker import Tracker

POOL = declare("tests.metrics.pool", 8, "things", "a pool the metrics show",
               group=4, owner=__name__)
UNBOUNDED = declare("tests.metrics.unbounded", None, "things",
                    "a pool with no bound of its own", owner=__name__)


class LimitsCollectorTests(SynchronousTestCase):
    def setUp(self):
        self.registry = CollectorRegistry()
        self.registry.register(LimitsCollector())

    def sample(self, name, limit):
        return self.registry.get_sample_value(name, {"limit": limit.name,
                                                     "unit": limit.unit})

    def test_usedAgainstTheBound(self):
        pool = Account.of(POOL)
        pool.hold("a", "10.1.0.0/16", 3)
        self.assertEqual(self.sample("bazaar_limit_used", POOL), 3)
        self.assertEqual(self.sample("bazaar_limit_capacity", POOL), 8)
        pool.release("a")
        self.assertEqual(self.sample("bazaar_limit_used", POOL), 0)

    def test_unboundedHasNoCapacity(self):
        pool = Account.of(UNBOUNDED)
        pool.hold("a", "10.1.0.0/16", 2)
        self.assertEqual(self.sample("bazaar_limit_used", UNBOUNDED), 2)
        self.assertIsNone(self.sample("bazaar_limit_capacity", UNBOUNDED))

    def test_aTrackersPools(self):
        """A tracker's metrics show its pools (pending connections)."""
        tracker = Tracker(task.Clock(), random.Random(1), pending_limit=10)
        metrics = TrackerMetrics(tracker)
        self.assertEqual(metrics.registry.get_sample_value(
            "bazaar_limit_used", {"limit": "tracker.pending", "unit": "connections"}),
            sum(account.used for account in
                LIMITS.accounts(
                    "tracker.pending")))
