"""
Tests for L{twisted_bazaar.reach.punch.udpagain}: a punch the probe
budget refused, asked again when the budget has room, on a fake clock.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach.punch.probebudget import PROBES_HOST, ProbeBudget
from twisted_bazaar.reach.punch.udpagain import RETRIES, SLACK, PunchRetries

HOST = "203.0.113.9"


class _Plan:
    """A plan's host and size, as the budget reads them."""

    def __init__(self, count, host=HOST):
        self.host = host
        self.probes = range(count)


class PunchRetriesTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.budget = ProbeBudget(self.clock)
        self.asked = []
        self.retries = PunchRetries(self.clock, self.budget, self.asked.append)
        self.budget.admit(HOST, 1000)

    def test_whenThereIsRoom(self):
        """Asked again once the window forgot enough, and not before."""
        self.clock.advance(20)
        self.assertEqual(self.retries.later(7, _Plan(1024)), (40 + SLACK, 1))
        self.clock.advance(40)
        self.assertEqual(self.asked, [])
        self.clock.advance(SLACK)
        self.assertEqual(self.asked, [7])
        self.assertFalse(self.retries.waiting(7))

    def test_bounded(self):
        """Refused again and again: asked again RETRIES times in a row,
        then not (nothing held); a punch that met starts the count
        again."""
        for attempt in range(1, RETRIES + 1):
            self.assertEqual(self.retries.later(7, _Plan(1024))[1], attempt)
        self.assertIsNone(self.retries.later(7, _Plan(1024)))
        self.assertFalse(self.retries.waiting(7))
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.retries.later(8, _Plan(1024))
        self.retries.met(8)
        self.assertEqual(self.retries.later(8, _Plan(1024))[1], 1)

    def test_never(self):
        """A plan past a bound is never asked again."""
        self.assertIsNone(self.retries.later(7, _Plan(PROBES_HOST + 1)))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_cancelled(self):
        """Cancelled with the peer's link, or all as the node stops: no
        timer left."""
        self.retries.later(7, _Plan(1024))
        self.retries.later(8, _Plan(1024))
        self.retries.cancel(7)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.retries.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(120)
        self.assertEqual(self.asked, [])

    def test_notBefore(self):
        """Asked again no sooner than ``after`` seconds, the budget's room
        or not (the sockets of the punches under way)."""
        self.assertEqual(self.retries.later(7, _Plan(64), after=10), (10 + SLACK, 1))
        self.assertEqual(self.retries.later(8, _Plan(1024), after=10), (60 + SLACK, 1))
