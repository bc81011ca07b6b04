"""
Tests for L{twisted_bazaar.reach.punch.udp.again}: a punch the probe
budget refused, asked again when the budget has room and its relayed
link still stands, on a fake clock.
"""

from types import SimpleNamespace

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from twisted_bazaar.net.capabilities import IRelayedTransport
from twisted_bazaar.reach.punch.budgets.probes import PROBES_HOST, ProbeBudget
from twisted_bazaar.reach.punch.udp.again import RETRIES, SLACK, PunchRetries
from twisted_bazaar.reach.punch.udp.wanted import WantedPunches

HOST = "203.0.113.9"


@implementer(IRelayedTransport)
class _RelayedTransport:
    relayedFrom = "198.51.100.7"
    relayAt = ""


class _Link:
    """A link, relayed or not."""

    key = None

    def __init__(self, relayed=True):
        self.transport = _RelayedTransport() if relayed else object()


class _Run:
    """A punch under way (no path) or met."""

    def __init__(self, path=None):
        self.path = path


class _Plan:
    """A plan's host and size, as the budget reads them."""

    def __init__(self, count, host=HOST):
        self.host = host
        self.probes = range(count)
        self.sends = ((0.0, count),)


class PunchRetriesTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.budget = ProbeBudget(self.clock)
        self.asked = []
        self.links = {7: _Link(), 8: _Link()}
        self.runs = {}
        self.wanted = WantedPunches(self.clock, self.asked.append)
        self.retries = PunchRetries(self.clock, self.budget,
                                    SimpleNamespace(linkTo=self.links.get), self.runs,
                                    self.wanted, self.asked.append)
        self.budget.admit(HOST, 1000)

    def test_whenThereIsRoom(self):
        """Asked again once the window forgot enough, and not before."""
        self.clock.advance(20)
        self.assertEqual(self.retries.later(7, _Plan(1024)), (40 + SLACK, 1))
        self.clock.advance(40)
        self.assertEqual(self.asked, [])
        self.clock.advance(SLACK)
        self.assertEqual(self.asked, [7])
        self.assertIs(self.wanted.links[7], self.links[7])
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

    def test_notAskedAgainWhenItNeedNot(self):
        """The timer fires, but the link is gone, no longer relayed, a
        punch with the peer runs, or one is wanted already: nothing is
        asked."""
        for peer_id, arrange in ((7, lambda: self.links.pop(7)),
                                 (8, lambda: self.links.update({8: _Link(False)})),
                                 (9, lambda: self.runs.update({9: _Run()})),
                                 (10, lambda: self.wanted.want(10, self.links[10]))):
            self.links.setdefault(peer_id, _Link())
            self.retries.later(peer_id, _Plan(64))
            arrange()
        self.clock.advance(60 + SLACK)
        self.assertEqual(self.asked, [])
        self.assertEqual(self.wanted.peers(), [10])

    def test_mayPunch(self):
        """A punch may still come while the peer's link is relayed and no
        path met."""
        self.assertTrue(self.retries.mayPunch(7))
        self.runs[7] = _Run()
        self.assertTrue(self.retries.mayPunch(7))
        self.runs[7] = _Run(path="met")
        self.assertFalse(self.retries.mayPunch(7))
        self.links[8] = _Link(False)
        self.assertFalse(self.retries.mayPunch(8))
        self.assertFalse(self.retries.mayPunch(9))

    def test_saying(self):
        """The line of a punch that did not run says when it is asked
        again, and which try that is; one not asked again says only why."""
        self.clock.advance(20)
        self.assertEqual(self.retries.saying("refused", 7, _Plan(1024)),
                         "refused; asked again in 41 s (try 1 of 3)")
        self.assertEqual(self.retries.saying("refused", 8, _Plan(PROBES_HOST + 1)),
                         "refused")
