"""
Tests for L{twisted_bazaar.base.timetable}: named calls that replace the
last of their name, on any clock.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.timetable import CallTable, timetableFor
from twisted_bazaar.sim.clock import HeapClock, Timetable


class CallTableTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.table = timetableFor(self.clock, ("a", "b"))
        self.ran = []

    def test_aCallEachOnAnyClock(self):
        """A clock that keeps no timetable of its own (a daemon's) gets a
        call of its own for each name."""
        self.assertIsInstance(self.table, CallTable)
        self.table.later("a", 1, lambda: self.ran.append("a"))
        self.table.later("b", 2, lambda: self.ran.append("b"))
        self.assertEqual(len(self.clock.getDelayedCalls()), 2)
        self.clock.advance(2)
        self.assertEqual(self.ran, ["a", "b"])

    def test_replaces(self):
        self.table.later("a", 1, lambda: self.ran.append("first"))
        self.table.later("a", 1, lambda: self.ran.append("second"))
        self.clock.advance(1)
        self.assertEqual(self.ran, ["second"])

    def test_dueUntilItRuns(self):
        self.assertIsNone(self.table.due("a"))
        self.table.later("a", 1, lambda: None)
        self.assertEqual(self.table.due("a").getTime(), self.clock.seconds() + 1)
        self.clock.advance(1)
        self.assertIsNone(self.table.due("a"))

    def test_cancel(self):
        self.table.later("a", 1, lambda: self.ran.append("a"))
        self.table.later("b", 1, lambda: self.ran.append("b"))
        self.table.cancel("a")
        self.table.cancel("a")
        self.clock.advance(1)
        self.assertEqual(self.ran, ["b"])
        self.table.later("a", 1, lambda: self.ran.append("a"))
        self.table.cancelAll()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_theClocksOwn(self):
        """The simulator's clock gives its own (one entry of its heap)."""
        self.assertIsInstance(timetableFor(HeapClock(), ("a",)), Timetable)
