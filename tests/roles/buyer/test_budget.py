"""Tests of L{twisted_bazaar.roles.buyer.budget}."""

from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.roles.buyer.budget import (
    GROUP_DOUBT_SHARE,
    MIN_HOLD,
    WANT_DOUBT_BUDGET,
    DoubtBudget,
    Hold,
)
from twisted_bazaar.roles.want import DOUBT_LIMIT


class DoubtBudgetTests(SynchronousTestCase):
    def test_perBuyPerGroupInAll(self):
        """A doubt gets per_buy at most, a group's doubts group_share in
        all, and all of them total in all; then nothing."""
        budget = DoubtBudget(total=25, group_share=15, per_buy=10)
        self.assertEqual([budget.take("a"), budget.take("a"), budget.take("a")],
                         [10, 5, 0])
        self.assertEqual([budget.take("b"), budget.take("c")], [10, 0])
        self.assertEqual((budget.left, budget.available("d")), (0, 0))

    def test_forLimit(self):
        """A budget made from a buyer's --doubt-limit keeps the defaults'
        proportions: twice the limit in all, the limit for one address
        group and for one buy."""
        budget = DoubtBudget.forLimit(10)
        self.assertEqual((budget.total, budget.group_share, budget.per_buy),
                         (20, 10, 10))
        default = DoubtBudget.forLimit()
        self.assertEqual((default.total, default.group_share, default.per_buy),
                         (WANT_DOUBT_BUDGET, GROUP_DOUBT_SHARE, DOUBT_LIMIT))

    def test_giveBack(self):
        """Seconds given back may be taken again; a group that gave all
        back is forgotten."""
        budget = DoubtBudget(total=25, group_share=15, per_buy=10)
        budget.take("a")
        budget.giveBack("a", 10)
        self.assertEqual((budget.left, budget.taken("a"), budget._taken), (25, 0, {}))
        budget.giveBack("a", 0)
        self.assertEqual(budget.left, 25)


class HoldTests(SynchronousTestCase):
    def hold(self, budget, clock, group="a"):
        seconds = budget.take(group)
        hold = Hold(budget, group, clock, seconds, clock.seconds())
        hold.call = clock.callLater(seconds, lambda: None)
        return hold

    def test_cancelGivesBackWhatWasNotUsed(self):
        """Ended after 4 s of its 10, a hold gives 6 back; ended at once,
        all but MIN_HOLD."""
        clock, budget = task.Clock(), DoubtBudget(total=100, group_share=50, per_buy=10)
        hold = self.hold(budget, clock)
        clock.advance(4)
        hold.cancel()
        self.assertEqual((budget.left, budget.taken("a")), (96, 4))
        self.hold(budget, clock, "b").cancel()
        self.assertEqual(budget.taken("b"), MIN_HOLD)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_ranOutGivesNothingBack(self):
        clock, budget = task.Clock(), DoubtBudget(total=100, group_share=50, per_buy=10)
        hold = self.hold(budget, clock)
        clock.advance(10)
        hold.cancel()
        self.assertEqual(budget.left, 90)
