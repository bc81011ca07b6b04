"""The relay's throttle: a bucket of bytes a second, shared max-min
fairly among groups, that pauses and resumes them, on a clock."""

import math

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.traversal.throttle import Throttle, fairShare


class ThrottleTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.calls = []
        self.throttle = Throttle(self.clock, 100,
                                 lambda group: self.calls.append(("pause", group)),
                                 lambda group: self.calls.append(("resume", group)))

    def test_withinTheRate(self):
        """A second's worth goes at once; then the rate, as time passes."""
        self.assertFalse(self.throttle.spend("a", 100))
        self.clock.advance(0.5)
        self.assertFalse(self.throttle.spend("a", 50))
        self.assertEqual(self.calls, [])
        self.assertFalse(self.throttle.paused)

    def test_pausedUntilPaid(self):
        """Past the allowance the group pauses once, and resumes when the
        debt is paid at the rate."""
        self.assertTrue(self.throttle.spend("a", 150))
        self.assertTrue(self.throttle.spend("a", 50))
        self.assertEqual(self.calls, [("pause", "a")])
        self.clock.advance(0.99)
        self.assertTrue(self.throttle.paused)
        self.assertTrue(self.throttle.holds("a"))
        self.clock.advance(0.01)
        self.assertEqual(self.calls, [("pause", "a"), ("resume", "a")])
        self.assertFalse(self.throttle.paused)
        self.assertFalse(self.throttle.holds("a"))

    def test_savesAtMostASecond(self):
        """Idle time saves at most a second's worth."""
        self.clock.advance(60)
        self.throttle.spend("a", 101)
        self.assertEqual(self.calls, [("pause", "a")])

    def test_onlyTheGroupPastItsShareStops(self):
        """One group's excess stops that group alone: another, within its
        share, keeps reading while the debt is paid, and its bytes pay
        later."""
        self.throttle.spend("honest", 10)
        self.assertTrue(self.throttle.spend("greedy", 400))
        self.assertEqual(self.calls, [("pause", "greedy")])
        for _ in range(5):
            self.clock.advance(0.1)
            self.assertFalse(self.throttle.spend("honest", 5))
        self.assertFalse(self.throttle.holds("honest"))
        self.assertEqual(self.calls, [("pause", "greedy")])
        self.clock.advance(10)
        self.assertEqual(self.calls, [("pause", "greedy"), ("resume", "greedy")])

    def test_aGroupThatGoesPastItsShareWhileInDebtStops(self):
        """A group under its share when the bucket ran dry that then
        spends past it stops too."""
        self.throttle.spend("b", 40)
        self.throttle.spend("a", 100)
        self.assertEqual(self.calls, [("pause", "a")])
        self.assertTrue(self.throttle.spend("b", 60))
        self.assertEqual(self.calls, [("pause", "a"), ("pause", "b")])

    def test_withinEveryShareTheLargestStops(self):
        """In debt again once the debt was paid, with no group past its
        share (what it spent then has decayed): the group that used most
        stops, and another only past what that one used."""
        self.throttle.spend("a", 200)
        self.clock.advance(1.0)
        self.assertEqual(self.calls, [("pause", "a"), ("resume", "a")])
        self.assertFalse(self.throttle.spend("b", 10))
        self.assertEqual(self.calls[-1], ("pause", "a"))
        self.assertFalse(self.throttle.spend("b", 60))
        self.assertTrue(self.throttle.spend("b", 10))
        self.assertEqual(self.calls[-1], ("pause", "b"))

    def test_closingAfterABurstStopsNobodyElse(self):
        """A group whose circuits closed after a burst leaves its bytes
        behind: another group's next bytes, within its share, still
        pass."""
        self.throttle.spend("a", 100)
        self.throttle.forget("a")
        self.assertFalse(self.throttle.spend("b", 1))
        self.assertTrue(self.throttle.paused)
        self.assertEqual(self.calls, [])

    def test_forget(self):
        """A group that holds no circuits any more is not resumed."""
        self.throttle.spend("a", 150)
        self.throttle.forget("a")
        self.assertFalse(self.throttle.holds("a"))
        self.clock.advance(2)
        self.assertEqual(self.calls, [("pause", "a")])

    def test_noCap(self):
        throttle = Throttle(self.clock, 0, self.fail, self.fail)
        self.assertFalse(throttle.spend("a", 10**9))
        self.assertFalse(throttle.paused)

    def test_stop(self):
        """Stopping cancels the wait for the debt: nothing is left
        scheduled."""
        self.throttle.spend("a", 500)
        self.throttle.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])


class FairShareTests(SynchronousTestCase):
    def test_everyDemandFits(self):
        self.assertEqual(fairShare([10, 20], 100), math.inf)
        self.assertEqual(fairShare([], 100), math.inf)

    def test_smallDemandsMetTheRestSplit(self):
        """What the small use is theirs; the rest is split evenly."""
        self.assertEqual(fairShare([10, 500, 1000], 100), 45)
        self.assertEqual(fairShare([60, 60], 100), 50)
