"""Tests for L{twisted_bazaar.reach.punch.budgets.dials}: how often a node
dials for punches."""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.limitregistry import LIMITS
from twisted_bazaar.reach.punch.budgets.dials import (
    NEWCOMERS,
    PER_GROUP,
    PER_PEER,
    TOTAL,
    PunchLimits,
    asHeard,
)


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

    def test_ownWordsAndThePeers(self):
        """A refusal for this node's own line names "that peer"; one sent to
        the peer says "you", which asHeard reads back in the hearer's words."""
        clock = Clock()
        limits = PunchLimits(clock, per_peer=2, per_group=2)
        limits.admit("k", "g")
        limits.admit("k", "g")
        self.assertEqual(limits.admit("k", "g"),
                         "this node dialled that peer 2 times for punches in the last "
                         "60 s, its most for one peer")
        self.assertEqual(limits.admit("other", "g"),
                         "this node dialled 2 punches to that peer's address group in "
                         "the last 60 s, its most for one group")
        sent = limits.admit("k", "g", toPeer=True)
        self.assertEqual(sent, "this node dialled you 2 times for punches in the last "
                               "60 s, its most for one peer")
        self.assertTrue(asHeard(sent).startswith("it dialled this node 2 times"))
        self.assertIn("to your address group", limits.admit("other", "g", toPeer=True))

    def test_aPeerThatCannotPunchHeard(self):
        """A peer's "this node cannot punch: WHY" is read back as the
        peer's: "it cannot punch: WHY" (the hearer's line read "this
        node" as itself, issue 96 LOW); other refusals as said."""
        self.assertEqual(asHeard("this node cannot punch: its router changed"),
                         "it cannot punch: its router changed")
        self.assertEqual(asHeard("a port below 1024"), "a port below 1024")

    def test_roomIn(self):
        """The seconds until a key's next dial is within its bound: 0 below
        it; at it, until its oldest dial that holds it there leaves the
        window, whatever other keys dialled."""
        clock = Clock()
        limits = PunchLimits(clock)
        self.assertEqual(limits.roomIn("k"), 0.0)
        for at in (0, 10, 20):
            clock.advance(at - clock.seconds())
            self.assertIsNone(limits.admit("k", "g"))
            self.assertIsNone(limits.admit("other", "h"))
        clock.advance(5)
        self.assertEqual(limits.roomIn("k"), 35.0)
        self.assertEqual(limits.roomIn("new"), 0.0)
        clock.advance(35)
        self.assertEqual(limits.roomIn("k"), 0.0)
        self.assertIsNone(limits.admit("k", "g"))

    def test_refusalsNotKept(self):
        """A refused dial is not counted: the window holds only what was
        admitted, never more than the total."""
        clock = Clock()
        limits = PunchLimits(clock, per_peer=1, total=4)
        limits.admit("key", "group")
        for _ in range(100):
            self.assertIsNotNone(limits.admit("key", "group"))
        self.assertEqual(len(limits._dials), 1)

    def test_groupsOfFreshKeys(self):
        """Six address groups of fresh keys, each asking as often as it
        may, no longer spend the whole budget: a group new to the window
        still gets its attempt (before, 6 groups x 6 took all 32)."""
        clock = Clock()
        limits = PunchLimits(clock)
        admitted = 0
        for group in range(6):
            for key in range(10):
                if limits.admit(f"key{group}.{key}", f"group{group}") is None:
                    admitted += 1
        # Four groups fill what is not kept; the last two take one each
        # of the kept dials, as newcomers.
        self.assertEqual(admitted, TOTAL - NEWCOMERS + 2)
        self.assertIn("kept for address groups it has not dialled",
                      limits.admit("key4.99", "group4"))
        self.assertIsNone(limits.admit("honest", "honest group"))

    def test_newcomersShareTheRest(self):
        """The kept dials go one to each group new to the window, up to
        the total; then nobody dials until the window moves."""
        clock = Clock()
        limits = PunchLimits(clock)
        for n in range(TOTAL - NEWCOMERS):
            limits.admit(f"key{n}", f"group{n % 4}")
        for n in range(NEWCOMERS):
            self.assertIsNone(limits.admit(f"new{n}", f"new group{n}"))
        self.assertIn("its most", limits.admit("late", "late group"))
        clock.advance(60)
        self.assertIsNone(limits.admit("late", "late group"))

    def test_declared(self):
        """The budget is in the registry of limits, with its shares."""
        limit = LIMITS["punch.dials"]
        self.assertEqual((limit.default, limit.group, limit.key),
                         (TOTAL, PER_GROUP, PER_PEER))
