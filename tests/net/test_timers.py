"""
Tests for twisted_bazaar.net.timers: many deadlines behind one call.
"""

import gc
import weakref

from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.asleep import ASLEEP
from twisted_bazaar.net.timers import (
    ALONE, Deadline, Deadlines, deadlinesFor, letGo, runEntry, wokenAt)


class DeadlinesTests(SynchronousTestCase):

    def setUp(self):
        self.clock = task.Clock()
        self.deadlines = Deadlines(self.clock)
        self.ran = []
        self.start = self.clock.seconds()

    def now(self):
        """The seconds since the test began (its clock need not start at 0)."""
        return self.clock.seconds() - self.start

    def later(self, delay, name):
        return self.deadlines.callLater(delay, lambda: self.ran.append(
            (name, self.now())))

    def test_oneCallForMany(self):
        """However many deadlines wait, the clock holds one call, and each
        runs at its own time, ties in the order they were set."""
        for delay, name in [(3, "c"), (1, "a"), (2, "b"), (1, "a2")]:
            self.later(delay, name)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.clock.pump([1, 1, 1])
        self.assertEqual(self.ran, [("a", 1), ("a2", 1), ("b", 2), ("c", 3)])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_lateAfterWhatElseWasDue(self):
        """Deadlines whose call runs ASLEEP seconds late or more (the node
        did not run: a stopped process resumed) run only after what else
        was due meanwhile, as a reactor reads its sockets after its
        timers: a peer's ping waiting there is heard before a deadline of
        silence judges it."""
        self.later(10, "silence")
        self.clock.callLater(20, lambda: self.ran.append(("read", self.now())))
        self.clock.advance(10 + ASLEEP + 10)
        self.assertEqual(self.ran, [("read", 25.0), ("silence", 25.0)])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_aLittleLateRunsAtOnce(self):
        """A call less than ASLEEP late (a busy reactor) runs its deadlines
        at once."""
        self.later(10, "silence")
        self.clock.callLater(12, lambda: self.ran.append(("read", self.now())))
        self.clock.advance(10 + ASLEEP - 1)
        self.assertEqual(self.ran, [("silence", 14.0), ("read", 14.0)])

    def test_subject(self):
        """A deadline given a subject calls its function with it (a link's
        deadlines name the link and a method, not a bound method), and
        lets go of both once run or cancelled."""
        subject = object()
        ran = self.deadlines.callLater(1, self.ran.append, subject)
        cancelled = self.deadlines.callLater(1, self.ran.append, "no")
        cancelled.cancel()
        self.assertIsNone(cancelled.subject)
        self.clock.advance(1)
        self.assertEqual(self.ran, [subject])
        self.assertIsNone(ran.subject)
        self.assertFalse(ran.active())

    def test_earlierMovesTheCall(self):
        """A deadline earlier than every other one is not late."""
        self.later(10, "late")
        self.later(1, "early")
        self.clock.advance(1)
        self.assertEqual(self.ran, [("early", 1)])

    def test_cancelLeavesNothing(self):
        """Once every deadline is cancelled, no call is left on the clock
        (a stopped node leaves no timer behind)."""
        first, second = self.later(1, "a"), self.later(2, "b")
        first.cancel()
        self.assertFalse(first.active())
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        second.cancel()
        second.cancel()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(5)
        self.assertEqual(self.ran, [])

    def test_setWhileRunning(self):
        """A deadline set by one that runs is kept, and runs in its turn."""
        self.deadlines.callLater(1, lambda: self.later(1, "next"))
        self.clock.advance(1)
        self.assertEqual(self.ran, [])
        self.clock.advance(1)
        self.assertEqual(self.ran, [("next", 2)])

    def test_failureDoesNotStopTheOthers(self):
        """A deadline that raises is logged; the others due still run."""
        def broken():
            raise ZeroDivisionError()
        self.deadlines.callLater(1, broken)
        self.later(1, "after")
        self.clock.advance(1)
        self.assertEqual(self.ran, [("after", 1)])
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)

    def test_onePerClock(self):
        """Every link of a clock shares its deadlines."""
        self.assertIs(deadlinesFor(self.clock), deadlinesFor(self.clock))
        self.assertIsNot(deadlinesFor(self.clock), deadlinesFor(task.Clock()))

    def test_keptByTheClock(self):
        """A clock that keeps its own deadlines (a deadlines attribute, a
        sharded node's clock's made on first use) is asked for them, and
        is in no table of clocks."""
        from twisted_bazaar.net import timers
        from twisted_bazaar.sim.shardclock import ContextClock, ShardClock

        clock = ContextClock(ShardClock(2), 1)
        first = deadlinesFor(clock)
        self.assertIs(clock.deadlines, first)
        self.assertIs(deadlinesFor(clock), first)
        self.assertEqual(first.context, 1)
        self.assertNotIn(clock, timers._byClock)


class RunEntryTests(SynchronousTestCase):
    """L{runEntry}, L{wokenAt} and L{letGo}: a bucket's entry run as
    L{Deadlines} runs it, for a table kept elsewhere."""

    def test_deadlineOnce(self):
        """A deadline runs once, with its subject; a cancelled one not."""
        ran = []
        deadlines = Deadlines(task.Clock())
        kept = deadlines.callLater(1.0, ran.append, "kept")
        cancelled = deadlines.callLater(1.0, ran.append, "cancelled")
        cancelled.cancel()
        for entry in (kept, cancelled, kept):
            runEntry(entry, 1.0)
        self.assertEqual(ran, ["kept"])
        self.assertFalse(kept.active())

    def test_residentAtItsTime(self):
        """A resident runs only at the time it is due, once; one let go
        of does not run."""
        ran = []
        resident = Resident("r", ran, lambda: 0)
        wokenAt(resident, 2.0)
        runEntry(resident, 1.0)
        runEntry(resident, 2.0)
        runEntry(resident, 2.0)
        self.assertEqual(ran, [("r", 0)])
        wokenAt(resident, 3.0)
        letGo(resident)
        runEntry(resident, 3.0)
        self.assertEqual(ran, [("r", 0)])

    def test_failureLogged(self):
        """A deadline that fails is logged."""
        runEntry(Deadline(1.0, lambda: 1 / 0, ALONE, None), 1.0)
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)


class Resident:
    """What a link is to its deadlines: it waits itself, as a resident."""

    def __init__(self, name, ran, now):
        self.name, self.ran, self.now = name, ran, now
        self._due = None

    def _expire(self):
        self.ran.append((self.name, self.now()))


class ResidentTests(SynchronousTestCase):
    """A resident waits in its time's bucket, among deadlines, in the
    order they were set."""

    def setUp(self):
        self.clock = task.Clock()
        self.deadlines = Deadlines(self.clock)
        self.ran = []
        self.start = self.clock.seconds()

    def now(self):
        """The seconds since the test began (its clock need not start at 0)."""
        return self.clock.seconds() - self.start

    def resident(self, name):
        return Resident(name, self.ran, self.now)

    def test_inOrderWithDeadlines(self):
        first, second = self.resident("r1"), self.resident("r2")
        self.deadlines.wake(first, 2)
        self.deadlines.callLater(2, lambda: self.ran.append(("d", self.now())))
        self.deadlines.wake(second, 1)
        self.assertEqual((first._due, second._due), (self.start + 2, self.start + 1))
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.clock.pump([1, 1])
        self.assertEqual(self.ran, [("r2", 1), ("r1", 2), ("d", 2)])
        self.assertEqual((first._due, second._due, self.deadlines.live), (None, None, 0))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_oneTimeForABucket(self):
        """Residents due at one time share one float for it."""
        residents = [self.resident(n) for n in range(3)]
        for resident in residents:
            self.deadlines.wake(resident, 1)
        self.assertIs(residents[1]._due, residents[2]._due)
        self.clock.advance(1)
        self.assertEqual([name for name, _ in self.ran], [0, 1, 2])

    def test_unwake(self):
        """A resident let go of does not run, and once none is left, no
        call is left on the clock."""
        resident = self.resident("r")
        self.deadlines.wake(resident, 1)
        self.deadlines.unwake(resident)
        self.deadlines.unwake(resident)
        self.assertIsNone(resident._due)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(2)
        self.assertEqual(self.ran, [])

    def test_wokenAgainLater(self):
        """Let go of and woken again for a later time, it runs once, then."""
        resident, other = self.resident("r"), self.resident("o")
        self.deadlines.wake(resident, 1)
        self.deadlines.wake(other, 3)
        self.deadlines.unwake(resident)
        self.deadlines.wake(resident, 2)
        self.clock.pump([1, 1, 1])
        self.assertEqual(self.ran, [("r", 2), ("o", 3)])

    def test_armedAtTheFirstLive(self):
        """The one call waits for the earliest live deadline, past a time
        whose residents were all let go of."""
        gone, kept = self.resident("gone"), self.resident("kept")
        self.deadlines.wake(gone, 1)
        self.deadlines.wake(kept, 5)
        self.deadlines.callLater(6, lambda: None)
        self.deadlines.unwake(gone)
        self.deadlines._arm()
        [call] = self.clock.getDelayedCalls()
        self.assertEqual(call.getTime(), self.start + 5)

    def test_compacted(self):
        """Many let go of: the buckets are rebuilt without them, and the
        others run in their order."""
        residents = [self.resident(n) for n in range(200)]
        for n, resident in enumerate(residents):
            self.deadlines.wake(resident, 1 + n % 2)
        for resident in residents[:150]:
            self.deadlines.unwake(resident)
        self.assertLessEqual(self.deadlines._held, 2 * self.deadlines.live)
        self.clock.advance(2)
        self.assertEqual([name for name, _ in self.ran],
                         list(range(150, 200, 2)) + list(range(151, 200, 2)))


class MarketTimersTests(SynchronousTestCase):
    """Links register their deadlines instead of holding calls."""

    def test_fewerCallsThanLinks(self):
        """A market's clock holds fewer calls than its nodes hold links:
        not one keepalive call per link end."""
        from twisted_bazaar.testing import Market
        market = Market(seed=1)
        nodes = [market.addNode() for _ in range(12)]
        market.run(30)
        ends = sum(len(node.links) for node in nodes)
        self.assertGreater(ends, 2 * len(nodes))
        self.assertLess(len(market.clock.getDelayedCalls()), ends)


class RoundingTests(SynchronousTestCase):

    def test_dueAtItsOwnTime(self):
        """A deadline runs when the clock reaches its time, even where
        the clock's now plus the delay falls short of it by rounding."""
        clock = task.Clock()
        clock.advance(0.1)
        deadlines = Deadlines(clock)
        ran = []
        for delay in (0.2, 0.7, 1.3, 10.0, 1e-9):
            deadlines.callLater(delay, lambda delay=delay: ran.append(delay))
        clock.advance(10.0)
        self.assertEqual(sorted(ran), [1e-9, 0.2, 0.7, 1.3, 10.0])

    def test_armedForTheExactTime(self):
        """Moved on to a later deadline, the one call is set for exactly
        its time: a clock moved there by the deadline's own delay, from
        when it was set, runs it then."""
        import random
        rng = random.Random(5)
        for _ in range(200):
            clock = task.Clock()
            clock.advance(rng.uniform(0, 2))
            deadlines = Deadlines(clock)
            ran = []
            first = rng.uniform(0.001, 5)
            second = first + rng.uniform(1, 1000)
            deadlines.callLater(first, lambda: None)
            deadlines.callLater(second, lambda: ran.append(clock.seconds()))
            start = clock.seconds()
            clock.advance(first)
            # Exactly where a call made at the start would run, as the
            # clock computes it.
            clock.rightNow = start + second
            clock.advance(0)
            self.assertEqual(ran, [start + second])

    def test_delayTo(self):
        """The delay lands the clock's sum on the time asked."""
        from twisted_bazaar.net.timers import delayTo
        import math
        for now, when in [(0.1, 10.3), (123.456, 789.01), (5.0, 5.0), (3.0, 2.0),
                          (4.933508844812552 + 0.09710432709691252,
                           538.9307194642861 + 0.09710432709691252)]:
            delay = delayTo(now, when)
            self.assertLessEqual(now + delay, max(now, when))
            self.assertLessEqual(max(now, when) - (now + delay),
                                 math.ulp(max(now, when)))

    def test_delayToOnAWallClock(self):
        """At a reactor's time (seconds since 1970), a delay comes at once
        and lands on the time asked."""
        from twisted_bazaar.net.timers import delayTo
        now = 1_795_000_000.123456
        for delay in (0.001, 0.5, 10.0, 30.0):
            self.assertEqual(now + delayTo(now, now + delay), now + delay)


class TableTests(SynchronousTestCase):
    """The table of clocks without deadlines of their own."""

    def test_theSameWhileHeld(self):
        """Every link on a clock shares its deadlines while any holds them."""
        clock = task.Clock()
        first = deadlinesFor(clock)
        self.assertIs(deadlinesFor(clock), first)
        self.assertIs(first.clock, clock)

    def test_aClockNoLongerUsedGoes(self):
        """A clock and its deadlines, held by nothing else, go: the table
        keeps neither alive (it kept every clock of a process, and with it
        every simulated network run in it)."""
        clock = task.Clock()
        deadlinesFor(clock).callLater(5, lambda: None).cancel()
        gone = weakref.ref(clock)
        del clock
        gc.collect()
        self.assertIsNone(gone())

    def test_aPendingCallKeepsThem(self):
        """Deadlines with a call pending stay, found again by their clock."""
        clock = task.Clock()
        ran = []
        deadlinesFor(clock).callLater(5, ran.append, 1)
        gc.collect()
        again = deadlinesFor(clock)
        self.assertEqual(again.live, 1)
        clock.advance(5)
        self.assertEqual(ran, [1])
