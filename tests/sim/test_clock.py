"""
Tests for L{twisted_bazaar.sim.clock.HeapClock}: the virtual clock every
simulation runs on, which must behave like C{task.Clock} for the real links,
nodes and roles while keeping its calls in a heap.
"""

import random

from twisted.internet import error, task
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.helpers import RecordingOwner, feed, sent
from twisted_bazaar import wire
from twisted_bazaar.net.link import Link, LinkSettings
from twisted_bazaar.sim import clock as sim_clock
from twisted_bazaar.base.timetable import CallTable
from twisted_bazaar.sim.clock import COMPACT_MIN, HeapClock


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


class HeapCallTests(SynchronousTestCase):
    """The calls a L{HeapClock} hands out: C{DelayedCall}'s interface and
    its errors."""

    def setUp(self):
        self.clock = HeapClock()
        self.log = TimedLog(self.clock)

    def test_callsOfTwoClocks(self):
        """Each call knows its own clock: one cancelled is counted there."""
        other = HeapClock()
        mine, theirs = self.clock.callLater(1, self.log, "a"), other.callLater(1, self.log, "b")
        theirs.cancel()
        self.assertEqual((self.clock._cancellations, other._cancellations), (0, 1))
        self.assertEqual((mine.cancelled, mine.called, theirs.cancelled), (False, False, True))
        self.clock.advance(1)
        self.assertEqual((mine.called, mine.active()), (True, False))

    def test_providesIDelayedCall(self):
        self.assertTrue(verifyObject(IDelayedCall, self.clock.callLater(1, self.log, "a")))

    def test_getTimeCountsDelay(self):
        """getTime() is when the call will run, a pending delay included."""
        call = self.clock.callLater(2, self.log, "a")
        call.delay(3)
        self.assertEqual(call.getTime(), 5.0)
        call.reset(1)
        self.assertEqual(call.getTime(), 1.0)

    def test_keywordArguments(self):
        calls = []
        self.clock.callLater(1, lambda *a, **kw: calls.append((a, kw)), 1, b=2)
        self.clock.runFor(1)
        self.assertEqual(calls, [((1,), {"b": 2})])

    def test_cancelledRaises(self):
        """A cancelled call cannot be cancelled, reset or delayed again."""
        call = self.clock.callLater(1, self.log, "a")
        call.cancel()
        for method, arg in ((call.cancel, ()), (call.reset, (1,)), (call.delay, (1,))):
            self.assertRaises(error.AlreadyCancelled, method, *arg)

    def test_calledRaises(self):
        """A call that ran cannot be cancelled, reset or delayed."""
        call = self.clock.callLater(1, self.log, "a")
        self.clock.runFor(1)
        self.assertFalse(call.active())
        for method, arg in ((call.cancel, ()), (call.reset, (1,)), (call.delay, (1,))):
            self.assertRaises(error.AlreadyCalled, method, *arg)

    def test_cancelLetsGo(self):
        """A cancelled call drops what it would have called at once, so a
        closed link is not kept alive by its timers until they are due."""
        call = self.clock.callLater(60, self.log, "a")
        call.cancel()
        self.assertEqual((call.func, call.args, call.kw), (None, None, None))


class HeapCompactionTests(SynchronousTestCase):
    """Cancelled calls leave the heap in batches, without changing the
    order of the rest."""

    def setUp(self):
        self.clock = HeapClock()
        self.log = TimedLog(self.clock)

    def test_heapShrinks(self):
        """Once cancelled calls outnumber half the heap, it is rebuilt
        without them."""
        calls = [self.clock.callLater(10 + i, self.log, i)
                 for i in range(2 * COMPACT_MIN)]
        for call in calls[:COMPACT_MIN + 1]:
            call.cancel()
        self.assertEqual(len(self.clock.heap), COMPACT_MIN - 1)
        self.assertEqual(len(self.clock.getDelayedCalls()), COMPACT_MIN - 1)

    def test_smallHeapKept(self):
        """A short heap is not rebuilt: cancelled entries wait to be
        popped."""
        calls = [self.clock.callLater(1, self.log, i) for i in range(10)]
        for call in calls[:9]:
            call.cancel()
        self.assertEqual(len(self.clock.heap), 10)

    def test_orderKept(self):
        """Calls due at the same time still run in the order they were
        made after rebuilds, and moved calls keep their rules: the order
        is the one a heap never compacted gives."""
        def run():
            clock = HeapClock()
            log = TimedLog(clock)
            rng = random.Random(5)
            calls = []
            for i in range(3000):
                calls.append(clock.callLater(rng.choice([1, 2, 3]), log, i))
                victim = rng.choice(calls)
                if victim.active():
                    if i % 3 == 0:
                        victim.reset(rng.choice([0.5, 2, 4]))
                    elif i % 3 == 1:
                        victim.cancel()
            clock.runFor(10)
            return log.calls

        self.patch(sim_clock, "COMPACT_MIN", 10 ** 9)
        never = run()
        self.patch(sim_clock, "COMPACT_MIN", 0)
        self.assertEqual(run(), never)


class SameAsTaskClockTests(SynchronousTestCase):
    """
    L{HeapClock} makes the same calls in the same order as C{task.Clock}
    on the same schedule, stepped a second at a time.  (Where they differ
    on purpose: a heap call runs with the clock at its own time, not at
    the end of the step, so these schedules keep calls made inside calls
    on whole seconds; and of two calls due at the same time, one moved
    there runs after the other here, where C{task.Clock} keeps the list
    order, so moved calls get times of their own.)
    """

    def test_sameCallsAndTimes(self):
        """Calls that make and cancel calls, at whole seconds: the same
        calls, at the same times, in the same order."""

        def calls(clock, seed):
            rng, log, made = random.Random(seed), [], []
            # The simulator's clock starts at 0, a task.Clock where
            # --clock-start says: times from each one's start.
            start = clock.seconds()

            def fire(name):
                log.append((name, clock.seconds() - start))
                if rng.random() < 0.5:
                    made.append(clock.callLater(rng.randrange(4), fire, name + "'"))
                victim = rng.choice(made)
                if victim.active() and rng.random() < 0.3:
                    victim.cancel()

            for i in range(200):
                made.append(clock.callLater(rng.randrange(1, 20), fire, str(i)))
            for _ in range(60):
                clock.advance(1)
            return log

        for seed in range(5):
            self.assertEqual(calls(HeapClock(), seed), calls(task.Clock(), seed))

    def test_sameOrderWithMoves(self):
        """Calls reset and delayed, later and earlier, between steps: the
        same calls in the same order."""

        def calls(clock, seed):
            rng, log, made = random.Random(seed), [], []
            # Every due time is a whole second plus a fraction of its own.
            fractions = iter(range(1, 4096))
            for i in range(300):
                delay = rng.randrange(1, 30) + next(fractions) / 4096
                made.append(clock.callLater(delay, log.append, i))
            for _ in range(40):
                for _ in range(5):
                    call = rng.choice(made)
                    if not call.active():
                        continue
                    choice = rng.random()
                    if choice < 0.2:
                        call.cancel()
                    elif choice < 0.6:
                        call.reset(rng.randrange(0, 10) + next(fractions) / 4096)
                    else:
                        left = int(call.getTime() - clock.seconds())
                        call.delay(rng.randrange(-left, 10))
                clock.advance(1)
            return log

        for seed in range(5):
            self.assertEqual(calls(HeapClock(), seed), calls(task.Clock(), seed))


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


class TimetableTests(SynchronousTestCase):
    """
    A L{Timetable}'s calls run when, and in the order, calls of their own
    would: one entry of the heap for the table, under the earliest call's
    time and number (a chord node's upkeep, 0.3 kB a simulated node less).
    """

    def setUp(self):
        self.clock = HeapClock()
        self.log = TimedLog(self.clock)
        self.table = self.clock.timetable(("a", "b", "c"))

    def test_oneEntry(self):
        """Three calls pending, one entry of the heap."""
        for name, delay in (("b", 1), ("c", 2), ("a", 3)):
            self.table.later(name, delay, lambda name=name: self.log(name))
        self.assertEqual(len(self.clock.heap), 1)
        self.clock.runFor(5)
        self.assertEqual(self.log.calls, [("b", 1), ("c", 2), ("a", 3)])

    def test_replaces(self):
        """A call under a name replaces the last one of that name."""
        self.table.later("a", 1, lambda: self.log("first"))
        self.table.later("a", 2, lambda: self.log("second"))
        self.clock.runFor(5)
        self.assertEqual(self.log.calls, [("second", 2)])

    def test_tiesWithOtherCalls(self):
        """Due at one time, calls run in the order they were made, a
        table's among the clock's others."""
        self.clock.callLater(1, self.log, "x")
        self.table.later("a", 1, lambda: self.log("a"))
        self.clock.callLater(1, self.log, "y")
        self.table.later("b", 1, lambda: self.log("b"))
        self.clock.schedule(1, self.log, "z")
        self.clock.runFor(1)
        self.assertEqual([name for name, _ in self.log.calls], ["x", "a", "y", "b", "z"])

    def test_methodsKeptApart(self):
        """A method is kept as its function and object, and called so."""
        self.table.later("a", 1, self.log.__call__)
        call = self.table.a
        self.assertIs(call[2], TimedLog.__call__)
        self.assertIs(call[3], self.log)
        self.table.cancel("a")
        self.table.later("a", 1, lambda: self.log("plain"))
        self.clock.runFor(1)
        self.assertEqual(self.log.calls, [("plain", 1)])

    def test_due(self):
        """What is due under a name, as an IDelayedCall, until it runs."""
        self.assertIsNone(self.table.due("a"))
        self.table.later("a", 2, lambda: None)
        due = self.table.due("a")
        self.assertTrue(verifyObject(IDelayedCall, due))
        self.assertTrue(due.active())
        self.assertEqual(due.getTime(), 2)
        due.reset(5)
        self.assertEqual(due.getTime(), 5)
        self.clock.runFor(5)
        self.assertIsNone(self.table.due("a"))
        self.assertFalse(due.active())
        self.assertRaises(error.AlreadyCancelled, due.getTime)

    def test_cancelAll(self):
        for name in ("a", "b", "c"):
            self.table.later(name, 1, lambda: self.log("ran"))
        self.table.cancelAll()
        self.clock.runFor(2)
        self.assertEqual(self.log.calls, [])
        self.assertIsNone(self.table.due("b"))

    def test_noTableOnAShardsClock(self):
        """A clock that runs its heap otherwise gives none: its owners
        take a call for each name."""
        from twisted_bazaar.sim.shardclock import ShardClock
        self.assertIsNone(ShardClock.timetable(object.__new__(ShardClock), ("a",)))

    def test_sameOrderAsACallEach(self):
        """
        Tables whose calls are made, replaced, cancelled, reset and
        delayed (earlier and later, within calls and between steps), among
        other calls, on whole seconds so that many fall due together: the
        same calls at the same times in the same order as a call of the
        clock's for each name (L{CallTable}, as a daemon's clock has).
        """

        def calls(folded, seed):
            clock, rng, log = HeapClock(), random.Random(seed), []
            names = ("p", "q", "r", "s")
            tables = [clock.timetable(names) if folded else CallTable(clock)
                      for _ in range(6)]

            def fire(owner, name):
                log.append((owner, name, clock.seconds()))
                act(rng.randrange(len(tables)))

            def act(owner):
                table, name = tables[owner], rng.choice(names)
                choice = rng.random()
                due = table.due(name)
                if due is None or choice < 0.4:
                    table.later(name, rng.randrange(4),
                                lambda: fire(owner, name))
                elif choice < 0.55:
                    table.cancel(name)
                elif choice < 0.8:
                    due.reset(rng.randrange(6))
                else:
                    left = int(due.getTime() - clock.seconds())
                    due.delay(rng.randrange(-left, 4))
                if rng.random() < 0.3:
                    clock.callLater(rng.randrange(3), log.append, ("other", clock.seconds()))

            for owner in range(len(tables)):
                for name in names:
                    tables[owner].later(name, rng.randrange(1, 5),
                                        lambda owner=owner, name=name: fire(owner, name))
            for _ in range(40):
                for _ in range(3):
                    act(rng.randrange(len(tables)))
                clock.runFor(1)
            return log

        for seed in range(8):
            folded = calls(True, seed)
            self.assertGreater(len(folded), 100)
            self.assertEqual(folded, calls(False, seed))
