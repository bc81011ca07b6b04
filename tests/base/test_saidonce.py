"""Tests for L{twisted_bazaar.base.saidonce}."""

from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.saidonce import AGAIN, SaidOnce


class SaidOnceTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.said = SaidOnce(self.clock)

    def test_onceWhileTheSame(self):
        self.assertEqual(self.said.due("search", "apple"), 0)
        self.clock.advance(AGAIN - 1)
        self.assertIsNone(self.said.due("search", "apple"))
        self.assertIsNone(self.said.due("search", "apple"))

    def test_againWhenItChanges(self):
        """A change is said at once; so is the change back."""
        self.assertEqual(self.said.due("seller", (6, "silent")), 0)
        self.assertEqual(self.said.due("seller", (6, "unreachable")), 0)
        self.assertEqual(self.said.due("seller", (6, "silent")), 0)

    def test_aReminderCountsWhatWentUnsaid(self):
        self.said.due("search", "apple")
        for _ in range(3):
            self.assertIsNone(self.said.due("search", "apple"))
        self.clock.advance(AGAIN)
        self.assertEqual(self.said.due("search", "apple"), 3)
        self.assertIsNone(self.said.due("search", "apple"))

    def test_kindsApart(self):
        self.said.due("search", "apple")
        self.assertEqual(self.said.due("stranded", "apple"), 0)

    def test_forget(self):
        """What changed (a purchase) makes the next line new: of the kinds
        named, or of all."""
        self.said.due("search", "apple")
        self.said.due("stranded", 6)
        self.said.forget("search")
        self.assertEqual(self.said.due("search", "apple"), 0)
        self.assertIsNone(self.said.due("stranded", 6))
        self.said.forget()
        self.assertEqual(self.said.due("stranded", 6), 0)
        self.assertEqual(self.said.due("search", "apple"), 0)
