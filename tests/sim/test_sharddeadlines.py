"""
Tests for L{twisted_bazaar.sim.sharddeadlines}: a shard's one table of
link deadlines runs each context's deadlines in an order that does not
depend on which other contexts share the shard.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.timers import Deadline
from twisted_bazaar.sim.shardclock import ContextClock, ShardClock


class Resident:
    """A resident deadline (see L{twisted_bazaar.net.timers.Deadlines}):
    notes its name and the context it ran in."""

    def __init__(self, name, clock, ran):
        self.name, self.clock, self.ran = name, clock, ran
        self._due = None

    def _expire(self):
        self.ran.append((self.name, self.clock.context))


class ShardDeadlinesTests(SynchronousTestCase):
    def setUp(self):
        self.clock = ShardClock(4)
        self.ran = []

    def deadlines(self, context):
        return ContextClock(self.clock, context).deadlines

    def test_oneTableEachContextItsOwn(self):
        """A node's clock's deadlines are its context's part of the
        shard's one table, kept by the node's clock."""
        node = ContextClock(self.clock, 2)
        self.assertIs(node.deadlines, node.deadlines)
        self.assertEqual(node.deadlines.context, 2)
        self.assertIs(node.deadlines.table, self.clock.deadlineTable)

    def test_byContextThenAsSet(self):
        """The deadlines of one time run by context, each context's in the
        order it set them, each in its own context, whatever the order
        the contexts set theirs in."""
        runs = []
        for order in ([3, 1, 3, 1], [1, 1, 3, 3]):
            clock, ran = ShardClock(4), []
            made = {1: 0, 3: 0}
            for context in order:
                name = f"{context}.{made[context]}"
                made[context] += 1
                ContextClock(clock, context).deadlines.callLater(
                    2.0, lambda name=name: ran.append((name, clock.context)))
            clock.runUntil(3.0)
            runs.append(ran)
        self.assertEqual(runs[0], runs[1])
        self.assertEqual(runs[0], [("1.0", 1), ("1.1", 1), ("3.0", 3), ("3.1", 3)])

    def test_beforeOtherEntriesOfTheirTime(self):
        """A time's deadlines run before the calls and messages of that
        time, even of a context that comes before theirs."""
        self.clock.context = 0
        self.clock.callLater(1.0, self.ran.append, "call of 0")
        self.deadlines(3).callLater(1.0, self.ran.append, "deadline of 3")
        self.clock.runUntil(2.0)
        self.assertEqual(self.ran, ["deadline of 3", "call of 0"])

    def test_residents(self):
        """A woken resident runs once, at its time, in its context; one let
        go of does not run."""
        kept = Resident("kept", self.clock, self.ran)
        gone = Resident("gone", self.clock, self.ran)
        self.deadlines(1).wake(kept, 5.0)
        self.deadlines(2).wake(gone, 5.0)
        self.assertEqual(kept._due, 5.0)
        self.deadlines(2).unwake(gone)
        self.clock.runUntil(10.0)
        self.assertEqual(self.ran, [("kept", 1)])
        self.assertIsNone(kept._due)

    def test_cancelled(self):
        """A cancelled deadline does not run; it is no longer active."""
        deadline = self.deadlines(1).callLater(1.0, self.ran.append, "cancelled")
        self.assertIsInstance(deadline, Deadline)
        self.assertTrue(deadline.active())
        deadline.cancel()
        self.assertFalse(deadline.active())
        self.clock.runUntil(2.0)
        self.assertEqual(self.ran, [])

    def test_setForNowWhileRunning(self):
        """A deadline set for the time that runs, by one of its deadlines,
        runs at that time too, after it."""
        deadlines = self.deadlines(1)

        def first():
            self.ran.append("first")
            deadlines.callLater(0.0, self.ran.append, "then")

        deadlines.callLater(1.0, first)
        self.clock.runUntil(1.0, inclusive=True)
        self.assertEqual(self.ran, ["first", "then"])
        self.assertEqual(self.clock.now, 1.0)

    def test_failureLogged(self):
        """A deadline that fails is logged, and the others of its time still
        run."""
        def fail():
            raise ZeroDivisionError()

        self.deadlines(1).callLater(1.0, fail)
        self.deadlines(2).callLater(1.0, self.ran.append, "after")
        self.clock.runUntil(2.0)
        self.assertEqual(self.ran, ["after"])
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)

    def test_oneEntryATime(self):
        """A time's deadlines, of every context, are one entry of the
        shard's clock."""
        for context in (1, 2, 2):
            self.deadlines(context).callLater(1.0, self.ran.append, context)
        self.deadlines(1).callLater(2.0, self.ran.append, "later")
        self.assertEqual(len(self.clock.heap), 2)
        self.clock.runUntil(3.0)
        self.assertEqual(self.ran, [1, 2, 2, "later"])
        self.assertEqual(self.clock.events, 2)
