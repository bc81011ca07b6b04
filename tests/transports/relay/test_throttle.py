"""The relay's throttle: a bucket of bytes a second, shared max-min
fairly among groups, that pauses and resumes them, on a clock."""

import math

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.transports.relay.throttle import Throttle, fairShare


class ThrottleTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.calls = []
        self.throttle = Throttle(self.clock, 100,
                                 lambda group, origin: self.calls.append(("pause", group)),
                                 lambda group, origin: self.calls.append(("resume", group)))

    def test_withinTheRate(self):
        """A second's worth goes at once; then the rate, as time passes."""
        self.assertFalse(self.throttle.spend("a", 100))
        self.clock.advance(0.5)
        self.assertFalse(self.throttle.spend("a", 50))
        self.assertEqual(self.calls, [])
        self.assertFalse(self.throttle.paused)

    def test_aClockSteppedBack(self):
        """The wall clock stepped back: the allowance is as it was, and
        the recent bytes are not grown (by e^600; past 710 s,
        OverflowError)."""
        self.clock.advance(1000)
        self.assertFalse(self.throttle.spend("a", 50))
        self.clock.rightNow -= 800
        self.assertFalse(self.throttle.spend("a", 50))
        self.assertEqual(self.calls, [])
        self.assertTrue(self.throttle.spend("a", 10))

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

    def test_withinEveryShareEachGrowsToAnEvenSplit(self):
        """In debt again just as a debt was paid, every group within its
        share (what it spent then has decayed): each may grow to the
        level that, given to the groups under it, fills a second's worth
        (here 26.4 of recent bytes); a group already past it stops, the
        other once it passes it."""
        self.throttle.spend("a", 200)
        self.clock.advance(1.0)
        self.assertEqual(self.calls, [("pause", "a"), ("resume", "a")])
        self.assertFalse(self.throttle.spend("b", 10))
        self.assertEqual(self.calls[-1], ("pause", "a"))
        self.assertFalse(self.throttle.spend("b", 15))
        self.assertTrue(self.throttle.spend("b", 5))
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

    def test_forgottenOutsideADebt(self):
        """A group that holds no circuits any more, outside a debt, is
        neither stopped nor resumed."""
        self.throttle.spend("a", 100)
        self.throttle.forget("a")
        self.clock.advance(2)
        self.assertFalse(self.throttle.holds("a"))
        self.assertEqual(self.calls, [])

    def test_closingInDebtFreesNothing(self):
        """A stopped group that closes its circuits and opens new ones
        while the debt is unpaid stays stopped: closing frees nothing."""
        self.throttle.spend("a", 150)
        self.throttle.forget("a")
        self.assertTrue(self.throttle.holds("a"))
        self.assertTrue(self.throttle.spend("a", 10))
        self.clock.advance(2)
        self.assertEqual(self.calls, [("pause", "a"), ("resume", "a")])

    def test_groupsWithinTheirSharesDoNotOutgrowTheRate(self):
        """Groups within their share when the bucket ran dry that then
        grow together are held to shares worked out again: four new
        groups spending at the whole rate each stop within a refresh,
        and copy no more than about the rate while the debt lasts."""
        self.throttle.spend("big", 300)
        copied = 0
        for _ in range(20):
            self.clock.advance(0.05)
            for group in "bcde":
                if not self.throttle.holds(group):
                    self.throttle.spend(group, 5)
                    copied += 5
        self.assertTrue(all(self.throttle.holds(group) for group in "bcde"))
        self.assertLessEqual(copied, 100 * 1.0 * 1.5)

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


class OriginTests(SynchronousTestCase):
    """Within a group past its share, its origins share it max-min: only
    the origins past their part stop."""

    def setUp(self):
        self.clock = Clock()
        self.calls = []
        self.throttle = Throttle(self.clock, 100,
                                 lambda *held: self.calls.append(("pause",) + held),
                                 lambda *held: self.calls.append(("resume",) + held))

    def test_onlyTheOriginPastItsPartStops(self):
        """A group's greedy origin stops; its modest one (10 of the
        group's 100) reads on up to its part (90), then stops too."""
        self.throttle.spend("g", 10, "modest")
        self.assertTrue(self.throttle.spend("g", 150, "greedy"))
        self.assertEqual(self.calls, [("pause", "g", "greedy")])
        self.assertFalse(self.throttle.spend("g", 70, "modest"))
        self.assertFalse(self.throttle.holds("g", "modest"))
        self.assertTrue(self.throttle.spend("g", 20, "modest"))
        self.assertEqual(self.calls[-1], ("pause", "g", "modest"))
        self.clock.advance(10)
        self.assertEqual(sorted(self.calls[-2:]), [("resume", "g", "greedy"),
                                                   ("resume", "g", "modest")])

    def test_anOriginGoneLeavesItsBytesToItsGroup(self):
        """An origin whose circuits closed after a burst, outside a debt,
        leaves its bytes counted in its group: the group is past its share
        (95 of the 100 beside another's 5), and its other origin, given
        what the gone one's bytes leave of it (75), stops past that."""
        self.throttle.spend("g", 90, "gone")
        self.throttle.forgetOrigin("g", "gone")
        self.throttle.spend("other", 5, "o")
        self.assertFalse(self.throttle.spend("g", 20, "left"))
        self.assertTrue(self.throttle.spend("g", 60, "left"))
        self.assertEqual(self.calls, [("pause", "g", "left")])


class FairShareTests(SynchronousTestCase):
    def test_everyDemandFits(self):
        """Every demand fits: what is left, split evenly, raises the
        demands under it to the level; one over it keeps what it has."""
        self.assertEqual(fairShare([10, 20], 100), 50)
        self.assertEqual(fairShare([10, 70], 100), 30)
        self.assertEqual(fairShare([], 100), math.inf)

    def test_smallDemandsMetTheRestSplit(self):
        """What the small use is theirs; the rest is split evenly."""
        self.assertEqual(fairShare([10, 500, 1000], 100), 45)
        self.assertEqual(fairShare([60, 60], 100), 50)
