"""
Tests for L{twisted_bazaar.sim.clock.HeapClock}: the virtual clock every
simulation runs on, which must behave like C{task.Clock} for the real links,
nodes and roles while keeping its calls in a heap.
"""

from twisted.internet.interfaces import IReactorTime
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.helpers import RecordingOwner, feed, sent
from twisted_bazaar import wire
from twisted_bazaar.link import Link, LinkSettings
from twisted_bazaar.sim.clock import HeapClock


class TimedLog:
    """Callables that record (name, the clock's time) when called."""

    def __init__(self, clock):
        self.clock = clock
        self.calls = []

    def __call__(self, name):
        self.calls.append((name, self.clock.seconds()))


class HeapClockTests(SynchronousTestCase):
    def setUp(self):
        self.clock = HeapClock()
        self.log = TimedLog(self.clock)

    def test_providesIReactorTime(self):
        """Nodes and links take any IReactorTime; the heap clock is one."""
        self.assertTrue(verifyObject(IReactorTime, self.clock))

    def test_timeOrder(self):
        """Calls run by due time, whatever order they were made in."""
        self.clock.callLater(3, self.log, "c")
        self.clock.callLater(1, self.log, "a")
        self.clock.callLater(2, self.log, "b")
        self.clock.runFor(5)
        self.assertEqual(self.log.calls, [("a", 1.0), ("b", 2.0), ("c", 3.0)])

    def test_tiesInSchedulingOrder(self):
        """Calls due at the same time run in the order they were made, so
        two messages sent at once arrive in the order sent."""
        for name in "abcde":
            self.clock.callLater(1, self.log, name)
        self.clock.runFor(1)
        self.assertEqual([name for name, _ in self.log.calls], list("abcde"))

    def test_eachCallSeesItsOwnTime(self):
        """Inside a call, seconds() is the call's due time, not the end of
        the step, so measured latencies are exact."""
        self.clock.callLater(0.25, self.log, "a")
        self.clock.callLater(1.75, self.log, "b")
        self.clock.runFor(10)
        self.assertEqual(self.log.calls, [("a", 0.25), ("b", 1.75)])

    def test_delayIsFromNow(self):
        """callLater counts from the current time, not from zero."""
        self.clock.runFor(4)
        self.clock.callLater(1.5, self.log, "a")
        self.clock.runFor(2)
        self.assertEqual(self.log.calls, [("a", 5.5)])

    def test_negativeDelayRunsNow(self):
        """A negative delay is due at once, never in the past."""
        self.clock.runFor(3)
        self.clock.callLater(-2, self.log, "a")
        self.clock.runFor(0)
        self.assertEqual(self.log.calls, [("a", 3.0)])

    def test_cancel(self):
        """A cancelled call never runs and is no longer active."""
        call = self.clock.callLater(1, self.log, "a")
        self.clock.callLater(2, self.log, "b")
        call.cancel()
        self.clock.runFor(5)
        self.assertEqual(self.log.calls, [("b", 2.0)])
        self.assertFalse(call.active())

    def test_resetLater(self):
        """A call reset to a later time runs once, at the new time (the
        seller's reservation lease is extended this way)."""
        call = self.clock.callLater(5, self.log, "a")
        self.clock.runFor(2)
        call.reset(10)
        self.clock.runFor(9.5)
        self.assertEqual(self.log.calls, [])
        self.clock.runFor(10)
        self.assertEqual(self.log.calls, [("a", 12.0)])

    def test_resetEarlier(self):
        """A call reset to an earlier time runs once, at the new time."""
        call = self.clock.callLater(5, self.log, "a")
        call.reset(1)
        self.clock.runFor(10)
        self.assertEqual(self.log.calls, [("a", 1.0)])

    def test_resetTwice(self):
        """Only the last reset counts, whichever way each one moved."""
        call = self.clock.callLater(5, self.log, "a")
        call.reset(1)
        call.reset(7)
        self.clock.runFor(20)
        self.assertEqual(self.log.calls, [("a", 7.0)])

    def test_delay(self):
        """delay() moves a call later by the given seconds, and a negative
        delay moves it earlier."""
        later = self.clock.callLater(2, self.log, "later")
        earlier = self.clock.callLater(4, self.log, "earlier")
        later.delay(3)
        earlier.delay(-3)
        self.clock.runFor(10)
        self.assertEqual(self.log.calls, [("earlier", 1.0), ("later", 5.0)])

    def test_resetCallOrderedAmongOthers(self):
        """A call pushed past another runs after it."""
        moved = self.clock.callLater(1, self.log, "moved")
        self.clock.callLater(2, self.log, "fixed")
        moved.reset(3)
        self.clock.runFor(5)
        self.assertEqual(self.log.calls, [("fixed", 2.0), ("moved", 3.0)])

    def test_scheduleInterleavesWithCallLater(self):
        """The no-DelayedCall fast path shares one order with callLater:
        by time, then by scheduling order."""
        self.clock.schedule(2, self.log, "s2")
        self.clock.callLater(1, self.log, "c1")
        self.clock.schedule(1, self.log, "s1")
        self.clock.callLater(2, self.log, "c2")
        self.clock.schedule(0.5, self.log, "s0")
        self.clock.runFor(3)
        self.assertEqual(self.log.calls, [("s0", 0.5), ("c1", 1.0), ("s1", 1.0),
                                          ("s2", 2.0), ("c2", 2.0)])

    def test_scheduleReturnsNothing(self):
        """schedule() makes no DelayedCall: there is nothing to cancel."""
        self.assertIsNone(self.clock.schedule(1, self.log, "a"))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_getDelayedCallsOnlyLive(self):
        """Cancelled and finished calls are left out, and a call that
        was moved is listed once."""
        done = self.clock.callLater(1, self.log, "done")
        cancelled = self.clock.callLater(2, self.log, "cancelled")
        moved = self.clock.callLater(5, self.log, "moved")
        waiting = self.clock.callLater(6, self.log, "waiting")
        cancelled.cancel()
        moved.reset(3)
        self.clock.runFor(1.5)
        self.assertEqual(sorted(self.clock.getDelayedCalls(), key=id),
                         sorted([moved, waiting], key=id))
        self.assertFalse(done.active())

    def test_runForEndsAtWindowEnd(self):
        """runFor leaves the clock at start + seconds, whether or not
        anything was due."""
        self.clock.runFor(2.5)
        self.assertEqual(self.clock.seconds(), 2.5)
        self.clock.callLater(1, self.log, "a")
        self.clock.runFor(4)
        self.assertEqual(self.clock.seconds(), 6.5)

    def test_runForLeavesLaterCalls(self):
        """A call due after the window waits for the next runFor; one due
        exactly at its end runs."""
        self.clock.callLater(2, self.log, "edge")
        self.clock.callLater(2.5, self.log, "after")
        self.clock.runFor(2)
        self.assertEqual(self.log.calls, [("edge", 2.0)])
        self.clock.runFor(1)
        self.assertEqual(self.log.calls, [("edge", 2.0), ("after", 2.5)])

    def test_callMadeDuringRunForRunsInWindow(self):
        """A call scheduled by a running call runs in the same runFor if it
        is due within the window (a reply to a delivered message, say)."""

        def first():
            self.log("first")
            self.clock.callLater(1, self.log, "second")
            self.clock.schedule(0, self.log, "now")
            self.clock.callLater(5, self.log, "outside")

        self.clock.callLater(1, first)
        self.clock.runFor(3)
        self.assertEqual(self.log.calls, [("first", 1.0), ("now", 1.0),
                                          ("second", 2.0)])

    def test_advanceIsRunFor(self):
        """advance() is task.Clock's name for the same thing."""
        self.clock.callLater(1, self.log, "a")
        self.clock.advance(2)
        self.assertEqual((self.log.calls, self.clock.seconds()), ([("a", 1.0)], 2.0))


class HeapClockLinkTests(SynchronousTestCase):
    """A real Link's timers on the heap clock."""

    def setUp(self):
        self.clock = HeapClock()
        self.owner = RecordingOwner()
        self.link = Link(self.owner, self.clock,
                         LinkSettings(handshake_timeout=10.0, ping_interval=10.0),
                         inbound=True)
        self.transport = StringTransport()
        self.link.makeConnection(self.transport)

    def test_handshakeTimeout(self):
        """A peer that never says thisisme gets notim at 10 s, not before,
        and is cut off."""
        self.clock.runFor(9.999)
        self.assertEqual(sent(self.link), [])
        self.assertFalse(self.transport.disconnecting)
        self.clock.runFor(0.001)
        self.assertEqual(sent(self.link),
                         [wire.Error("notim", "no thisisme within 10 s")])
        self.assertTrue(self.transport.disconnecting)

    def test_identifiedStopsHandshakeTimer(self):
        """Once the peer is identified the handshake timer is cancelled:
        only the keepalive is left."""
        self.link.identified(7)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.clock.runFor(9.9)
        self.assertEqual(sent(self.link), [])
        self.assertFalse(self.transport.disconnecting)

    def test_keepalive(self):
        """A silent peer is pinged every 10 s and dropped at 30 s."""
        self.link.identified(7)
        self.clock.runFor(10)
        self.assertEqual(sent(self.link), [wire.Ping(1)])
        self.clock.runFor(10)
        self.assertEqual(sent(self.link), [wire.Ping(2)])
        self.assertFalse(self.transport.disconnecting)
        self.clock.runFor(10)
        self.assertEqual(sent(self.link), [])
        self.assertTrue(self.transport.disconnecting)

    def test_heardPeerIsNotPinged(self):
        """A peer heard from within the interval is not pinged at the next
        check, only at the one after."""
        self.link.identified(7)
        self.clock.runFor(9)
        feed(self.link, wire.Pong(3))
        self.clock.runFor(10.9)
        self.assertEqual(sent(self.link), [])
        self.clock.runFor(0.1)
        self.assertEqual(sent(self.link), [wire.Ping(1)])
