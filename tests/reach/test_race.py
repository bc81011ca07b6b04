"""
Tests of L{twisted_bazaar.reach.race}: a dial's ways ranked by their
delays and raced on the node's clock (a L{task.Clock} here), the first
to connect winning, the others cancelled or closed, every timer owned.
"""

from twisted.internet import defer, task
from twisted.internet.error import ConnectionRefusedError
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach.race import DialFailed, Race, Way
from twisted_bazaar.net.opening import NotConnected, Unreachable


class FakeWay:
    """A way whose attempts the test answers: ``attempts`` (each a
    Deferred), ``cancelled`` how many were cancelled; ``late``: a
    cancelled attempt connects anyway (its canceller fires it)."""

    def __init__(self, race_log, name, late=None):
        self.log = race_log
        self.name = name
        self.late = late
        self.attempts = []
        self.cancelled = 0

    def start(self):
        def cancel(d):
            self.cancelled += 1
            if self.late is not None:
                d.callback(self.late)

        d = defer.Deferred(cancel)
        self.attempts.append(d)
        self.log.append(self.name)
        return d


class RaceTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.started = []
        self.lost = []

    def race(self, *ways, together=True):
        """Race ways, each (FakeWay, delay, holds)."""
        return Race(self.clock, [Way(way.start, delay, holds) for way, delay, holds in ways],
                    self.lost.append, together).run()

    def way(self, name, late=None):
        return FakeWay(self.started, name, late)

    def test_rankedByDelay(self):
        """The best ways start at once, together; a later one by the
        clock, at its delay, when nothing connected by then."""
        lan, direct, relay = self.way("lan"), self.way("direct"), self.way("relay")
        dialled = self.race((lan, 0, False), (direct, 0, False), (relay, 0.5, False))
        self.assertEqual(self.started, ["lan", "direct"])
        self.clock.advance(0.49)
        self.assertEqual(self.started, ["lan", "direct"])
        self.clock.advance(0.01)
        self.assertEqual(self.started, ["lan", "direct", "relay"])
        relay.attempts[0].callback("relayed")
        self.assertEqual(self.successResultOf(dialled), "relayed")
        self.assertEqual((lan.cancelled, direct.cancelled), (1, 1))

    def test_aWinnerBeforeTheDelayStartsNothingMore(self):
        """The first to connect wins: the others are cancelled, a later
        one never starts, and its timer is gone."""
        lan, relay = self.way("lan"), self.way("relay")
        dialled = self.race((lan, 0, False), (relay, 0.5, False))
        lan.attempts[0].callback("lan")
        self.assertEqual(self.successResultOf(dialled), "lan")
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(1)
        self.assertEqual(self.started, ["lan"])

    def test_allRunningFailedStartsTheNextAtOnce(self):
        """Every way running failed: the next starts at once, not at its
        delay; the ones after it keep theirs."""
        lan, relay, last = self.way("lan"), self.way("relay"), self.way("last")
        dialled = self.race((lan, 0, False), (relay, 0.5, False), (last, 2, False))
        lan.attempts[0].errback(NotConnected("refused"))
        self.assertEqual(self.started, ["lan", "relay"])
        self.clock.advance(1.99)
        self.assertEqual(self.started, ["lan", "relay"])
        self.clock.advance(0.01)
        self.assertEqual(self.started, ["lan", "relay", "last"])
        last.attempts[0].callback("last")
        self.assertEqual(self.successResultOf(dialled), "last")
        self.assertEqual(relay.cancelled, 1)

    def test_aLoserThatConnectedAnywayIsLost(self):
        """A way that connects while it is cancelled (after another won)
        is handed to ``lose`` (the dialer closes it), not to the dial."""
        lan, relay = self.way("lan"), self.way("relay", late="late")
        dialled = self.race((lan, 0, False), (relay, 0, False))
        lan.attempts[0].callback("lan")
        self.assertEqual(self.successResultOf(dialled), "lan")
        self.assertEqual(self.lost, ["late"])

    def test_allFailedSaysEveryReason(self):
        """The dial fails only when every way failed, saying each one's
        reason in the order they failed; a link's failure keeps its
        class (the last one's: the relay's word on whether anything
        listens)."""
        lan, relay = self.way("lan"), self.way("relay")
        dialled = self.race((lan, 0, False), (relay, 0.5, False))
        lan.attempts[0].errback(NotConnected("192.168.1.5:9001: refused"))
        self.assertNoResult(dialled)
        relay.attempts[0].errback(Unreachable("198.51.100.1:7701: timed out"))
        failure = self.failureResultOf(dialled, Unreachable)
        self.assertEqual(str(failure.value),
                         "192.168.1.5:9001: refused; 198.51.100.1:7701: timed out")
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_reasonsJoinedWithoutAFullStopBetween(self):
        """Twisted's 'Connection refused.' is not followed by ';' (issue
        96: 'Connection refused.; no QUIC answer ...')."""
        tcp, quic = self.way("tcp"), self.way("quic")
        dialled = self.race((tcp, 0, False), (quic, 0, False))
        tcp.attempts[0].errback(ConnectionRefusedError(111, "Connection refused"))
        quic.attempts[0].errback(ValueError("no QUIC answer from 192.0.2.1:9 within 3 s"))
        failure = self.failureResultOf(dialled, DialFailed)
        self.assertEqual(str(failure.value), "Connection was refused by other side: "
                         "111: Connection refused; no QUIC answer from 192.0.2.1:9 within 3 s")

    def test_oneFailureIsItself(self):
        """Of other kinds, one failure is the dial's as it is; several are a
        L{DialFailed}."""
        only = self.way("only")
        dialled = self.race((only, 0, False))
        only.attempts[0].errback(ValueError("no"))
        self.failureResultOf(dialled, ValueError)
        a, b = self.way("a"), self.way("b")
        dialled = self.race((a, 0, False), (b, 0, False))
        a.attempts[0].errback(ValueError("one"))
        b.attempts[0].errback(KeyError("two"))
        self.assertEqual(str(self.failureResultOf(dialled, DialFailed).value),
                         "one; 'two'")

    def test_cancelledLeavesNoTimerNorAttempt(self):
        """A dial given up cancels what runs and its pending start."""
        lan, relay = self.way("lan"), self.way("relay")
        dialled = self.race((lan, 0, False), (relay, 0.5, False))
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        dialled.cancel()
        self.failureResultOf(dialled, defer.CancelledError)
        self.assertEqual((lan.cancelled, self.clock.getDelayedCalls()), (1, []))
        self.clock.advance(1)
        self.assertEqual(self.started, ["lan"])

    def test_aHoldingWayHoldsTheLaterBack(self):
        """While a way that holds runs (a punch), the ways ranked after it
        wait for it to fail, then start at once if their delay passed."""
        lan, punch, relay = self.way("lan"), self.way("punch"), self.way("relay")
        dialled = self.race((lan, 0, False), (punch, 0.25, True), (relay, 0.5, False))
        self.clock.advance(0.25)
        self.assertEqual(self.started, ["lan", "punch"])
        self.clock.advance(5)
        self.assertEqual(self.started, ["lan", "punch"])
        punch.attempts[0].errback(ValueError("no direct connection"))
        self.assertEqual(self.started, ["lan", "punch", "relay"])
        lan.attempts[0].callback("lan")
        self.assertEqual(self.successResultOf(dialled), "lan")
        self.assertEqual(relay.cancelled, 1)

    def test_oneAtATimeWhenNotTogether(self):
        """Not together (a link of a node without a key): each way starts
        only when the one before it failed."""
        lan, relay = self.way("lan"), self.way("relay")
        dialled = self.race((lan, 0, False), (relay, 0.5, False), together=False)
        self.clock.advance(10)
        self.assertEqual((self.started, self.clock.getDelayedCalls()), (["lan"], []))
        lan.attempts[0].errback(NotConnected("refused"))
        self.assertEqual(self.started, ["lan", "relay"])
        relay.attempts[0].callback("relayed")
        self.assertEqual(self.successResultOf(dialled), "relayed")

    def test_aWayThatNoLongerAppliesIsSkipped(self):
        """A way whose start gives None (what it needed went away while it
        waited) is passed over; none left: the dial says so."""
        relay = self.way("relay")
        gone = Way(lambda: None, 0.25)
        dialled = Race(self.clock, [Way(relay.start, 0), gone], self.lost.append).run()
        relay.attempts[0].errback(NotConnected("refused"))
        self.failureResultOf(dialled, NotConnected)
        dialled = Race(self.clock, [gone], self.lost.append).run()
        self.assertIn("no way", str(self.failureResultOf(dialled, DialFailed).value))
