"""
Tests for twisted_bazaar.schemes.chord.pacing: a period doubles while
nothing changes, never past its ceiling, and drops back to its base.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.chord.pacing import Pace


class PaceTests(SynchronousTestCase):
    def test_startsAtItsBase(self):
        self.assertEqual(Pace(1.0, 30.0).period, 1.0)

    def test_calmDoublesUpToTheCeiling(self):
        pace = Pace(1.0, 30.0)
        periods = []
        for _ in range(7):
            pace.calm()
            periods.append(pace.period)
        self.assertEqual(periods, [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0])

    def test_stirGoesBackToTheBase(self):
        pace = Pace(0.5, 30.0)
        for _ in range(4):
            pace.calm()
        pace.stir()
        self.assertEqual(pace.period, 0.5)

    def test_aCeilingBelowTheBaseIsTheBase(self):
        pace = Pace(5.0, 2.0)
        pace.calm()
        self.assertEqual((pace.ceiling, pace.period), (5.0, 5.0))

    def test_aCalmPaceStartsAtTheCeiling(self):
        self.assertEqual(Pace(1.0, 30.0, calm=True).period, 30.0)
