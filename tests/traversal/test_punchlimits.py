"""Tests for L{twisted_bazaar.traversal.punchlimits}: how often a node
dials for punches."""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.traversal.punchlimits import PunchLimits


class LimitTests(SynchronousTestCase):
    def test_total(self):
        """Past the total per window, no dial is admitted, whoever asks; a
        window later they are again."""
        clock = Clock()
        limits = PunchLimits(clock, total=4)
        for n in range(4):
            self.assertIsNone(limits.admit(f"key{n}", f"group{n}"))
        self.assertEqual(limits.admit("key9", "group9"),
                         "this node dialled 4 punches in the last 60 s, its most")
        clock.advance(60)
        self.assertIsNone(limits.admit("key9", "group9"))

    def test_refusalsNotKept(self):
        """A refused dial is not counted: the window holds only what was
        admitted, never more than the total."""
        clock = Clock()
        limits = PunchLimits(clock, per_peer=1, total=4)
        limits.admit("key", "group")
        for _ in range(100):
            self.assertIsNotNone(limits.admit("key", "group"))
        self.assertEqual(len(limits._dials), 1)
