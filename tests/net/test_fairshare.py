"""
Tests of L{twisted_bazaar.net.fairshare}: the water level, a budget
shared max-min fairly among keys window by window, and the same nested
(address groups, then origins within each).
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.fairshare import OTHERS, FairShare, NestedShare, level


def ask(share, key):
    """One unit for key from a FairShare (rolled by the caller): taken?"""
    key, allowed = share.want(key)
    if allowed:
        share.take(key)
    return allowed


def burst(share, key, count):
    """count units for key: how many were taken."""
    return sum(ask(share, key) for _ in range(count))


class LevelTests(SynchronousTestCase):

    def test_everyDemandCovered(self):
        """A capacity that covers every demand holds nobody back."""
        self.assertEqual(level([3, 5], 8), float("inf"))
        self.assertEqual(level([], 8), float("inf"))

    def test_lightDemandsMet(self):
        """Parties below the level get what they asked; the rest split
        what is left evenly."""
        self.assertEqual(level([10, 3000], 175), 165)
        self.assertEqual(level([10, 100, 100], 150), 70)
        self.assertEqual(level([90, 90], 100), 50)


class FairShareTests(SynchronousTestCase):
    """200 units a second, an eighth of it out of any one key's reach."""

    def setUp(self):
        self.share = FairShare(200)
        self.share.roll(0.0)

    def test_oneKeyLeavesTheReserve(self):
        """Alone, with no demand known, a key takes all but the reserve,
        which is there for another key in the same window."""
        self.assertEqual(burst(self.share, "heavy", 1000), 175)
        self.assertEqual(burst(self.share, "light", 10), 10)
        self.assertEqual(burst(self.share, "other", 1000), 15)
        self.assertEqual(self.share.used, 200)

    def test_levelFromTheLastWindow(self):
        """The demand of one window sets the next one's level: the light
        key's whole demand, the heavy one the rest but the reserve."""
        burst(self.share, "heavy", 3000)
        burst(self.share, "light", 10)
        self.share.roll(1.0)
        self.assertTrue(self.share.contended)
        self.assertEqual(self.share.level, 165)
        self.assertEqual(burst(self.share, "heavy", 3000), 165)
        self.assertEqual(burst(self.share, "light", 10), 10)

    def test_evenSplit(self):
        """Two heavy keys each get half of what they may share."""
        burst(self.share, "a", 500)
        burst(self.share, "b", 500)
        self.share.roll(1.0)
        self.assertEqual([burst(self.share, key, 500) for key in "ab"], [88, 88])

    def test_windowNotOverYet(self):
        """Within a window, the count goes on."""
        burst(self.share, "heavy", 175)
        self.assertFalse(self.share.roll(0.999))
        self.assertFalse(ask(self.share, "heavy"))

    def test_quietWindowForgetsDemand(self):
        """A window that ended more than a window ago says nothing of the
        demand now: back to the cap."""
        burst(self.share, "heavy", 3000)
        burst(self.share, "light", 10)
        self.assertTrue(self.share.roll(2.5))
        self.assertEqual(self.share.level, 175)
        self.assertEqual(self.share.start, 2.5)

    def test_budgetBoundsTakesAnyway(self):
        """Units taken without asking count: the budget refuses once they
        fill it."""
        for _ in range(200):
            self.share.take("own")
        self.assertFalse(ask(self.share, "light"))

    def test_keysBounded(self):
        """Past its keys, a window counts every further key as one."""
        share = FairShare(200, keys=2)
        share.roll(0.0)
        for key in ("a", "b", "c", "d"):
            ask(share, key)
        self.assertEqual(share.asked, {"a": 1, "b": 1, OTHERS: 2})


class NestedShareTests(SynchronousTestCase):
    """Groups first, then origins within a group."""

    def test_originsWithinAGroup(self):
        """
        Within one group, a light origin is served in full while a heavy
        one of the same group takes the rest of the group's level (175),
        but for the reserve of its own (an eighth): 153.125 in the first
        window, then the water level 143.125 once the light origin's
        demand of 10 is known.  Refusals are counted.
        """
        share = NestedShare(200)
        taken = []
        for now in (0.0, 1.0):
            count = {"heavy": 0, "light": 0}
            for n in range(1000):
                origin = "light" if n % 100 == 0 else "heavy"
                count[origin] += share.ask("group", origin, now)
            taken.append(count)
        self.assertEqual(taken, [{"heavy": 154, "light": 10},
                                 {"heavy": 144, "light": 10}])
        self.assertEqual(share.inner["group"].level, 143.125)
        self.assertEqual(share.refused, 2000 - 164 - 154)

    def test_originsFreeAfterAQuietWindow(self):
        """After a window whose demand the shares held, each origin may
        take up to 7/8 of its group's level again, whatever the origins
        asked for before."""
        share = NestedShare(200)
        for origin, count in (("a", 100), ("b", 70)):
            for _ in range(count):
                share.ask("group", origin, 0.0)
        self.assertEqual(sum(share.ask("group", "a", 1.0) for _ in range(200)), 154)
        self.assertFalse(share.outer.contended)

    def test_groupsFirst(self):
        """A group of a thousand origins gets no more than a group of one:
        each is held to half of what groups may share (87.5), the group of
        one to an eighth less than that (its one origin leaves its group's
        reserve)."""
        share = NestedShare(200)
        for now in (0.0, 1.0):
            many = sum(share.ask("many", n, now) for n in range(1000))
            one = sum(share.ask("one", "x", now) for n in range(1000))
        self.assertEqual(share.outer.level, 87.5)
        self.assertEqual((many, one), (88, 77))

    def test_spendIsNeverRefused(self):
        """What the owner spends anyway is taken past the budget, and
        counted in it."""
        share = NestedShare(10)
        for _ in range(20):
            share.spend("own", 1, 0.0)
        self.assertEqual(share.outer.used, 20)
        self.assertFalse(share.ask("group", 2, 0.0))
        self.assertEqual(share.refused, 1)
