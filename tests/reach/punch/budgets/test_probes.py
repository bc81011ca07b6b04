"""
Tests for L{twisted_bazaar.reach.punch.budgets.probes}: the probes a node
sends for UDP punches, per destination host, per address group and in
all, over a window of a fake clock.
"""

import random

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.limitregistry import LIMITS
from twisted_bazaar.reach.punch.budgets.probes import (
    MISSED_EVERY,
    PROBES_GROUP,
    PROBES_HOST,
    PROBES_TOTAL,
    ProbeBudget,
)
from twisted_bazaar.reach.punch.udp import plan as udppunch
from twisted_bazaar.reach.punch.udp.plan import (
    BIRTHDAY_PROBES,
    PACE,
    BudgetRefused,
    UdpPunch,
    mappingOf,
)

#: Two homes behind one carrier (one /16), and a host of another group.
HOST_1, HOST_2, HOST_3 = "203.0.113.9", "203.0.7.20", "198.51.100.7"
#: A third host of the first /16, and a fourth.
HOST_4, HOST_5 = "203.0.1.1", "203.0.2.2"


class ProbeBudgetTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.budget = ProbeBudget(self.clock)

    def test_declared(self):
        """The budget is in the registry of limits: in all, to one address
        group, to one host; one birthday punch fits a host's share, two a
        group's, four the total."""
        limit = LIMITS.get("punch.udp-probes")
        self.assertEqual((limit.default, limit.group, limit.key),
                         (PROBES_TOTAL, PROBES_GROUP, PROBES_HOST))
        one = BIRTHDAY_PROBES + PACE
        self.assertEqual((PROBES_HOST, PROBES_GROUP, PROBES_TOTAL), (one, 2 * one, 4 * one))

    def test_anotherHostOfTheGroup(self):
        """A birthday punch to one host fills that host's share for a
        window, and leaves another host of its /16 a punch of its own (a
        punch to a public seller no longer locks the buyer next door out
        for a minute); a window later the first host again."""
        self.assertIsNone(self.budget.admit(HOST_1, BIRTHDAY_PROBES))
        self.assertEqual(
            self.budget.admit(HOST_1, BIRTHDAY_PROBES),
            "this node sent or is sending 1024 UDP punch probes to that host in the last 60 s, and "
            "1024 more would pass its 1088")
        self.assertIsNone(self.budget.admit(HOST_2, BIRTHDAY_PROBES))
        self.clock.advance(60)
        self.assertIsNone(self.budget.admit(HOST_1, BIRTHDAY_PROBES))

    def test_oneSpelling(self):
        """An IPv4-mapped IPv6 host is its IPv4 address: no second share."""
        self.assertIsNone(self.budget.admit(HOST_1, BIRTHDAY_PROBES))
        self.assertIn("to that host", self.budget.admit("::ffff:" + HOST_1, 100))

    def test_group(self):
        """Hosts of one /16 share the group's bound, whatever their
        number: a stranger holding many hosts of one network gets it two
        birthday punches a window, no more."""
        self.assertIsNone(self.budget.admit(HOST_1, BIRTHDAY_PROBES))
        self.assertIsNone(self.budget.admit(HOST_2, BIRTHDAY_PROBES))
        self.assertEqual(
            self.budget.admit(HOST_4, BIRTHDAY_PROBES),
            "this node sent or is sending 2048 UDP punch probes to that address group in the last "
            "60 s, and 1024 more would pass its 2176")
        self.assertIsNone(self.budget.admit(HOST_3, BIRTHDAY_PROBES))

    def test_total(self):
        """Past the total, no host of any group gets more; a refused plan
        is not counted."""
        budget = ProbeBudget(self.clock, total=2000)
        self.assertIsNone(budget.admit(HOST_1, 1024))
        self.assertIn("would pass its 2000", budget.admit(HOST_3, 1024))
        self.assertIsNone(budget.admit(HOST_3, 976))
        self.assertEqual(sum(each[3] for each in budget._sent), 2000)

    def test_wait(self):
        """How long until a plan fits: 0 now; once a bound is full, until
        enough of what was sent leaves the window; never for a plan past a
        bound."""
        self.assertEqual(self.budget.wait(HOST_1, BIRTHDAY_PROBES), 0)
        self.budget.admit(HOST_1, BIRTHDAY_PROBES)
        self.clock.advance(10)
        self.budget.admit(HOST_2, BIRTHDAY_PROBES)
        self.assertEqual(self.budget.wait(HOST_1, BIRTHDAY_PROBES), 50)
        self.assertEqual(self.budget.wait(HOST_1, 64), 0)
        # The group's bound: the first send must go for a third host.
        self.assertEqual(self.budget.wait(HOST_5, BIRTHDAY_PROBES), 50)
        self.assertIsNone(self.budget.wait(HOST_3, PROBES_HOST + 1))
        self.clock.advance(50)
        self.assertEqual(self.budget.wait(HOST_1, BIRTHDAY_PROBES), 0)
        self.assertIsNone(self.budget.admit(HOST_1, BIRTHDAY_PROBES))

    def test_aMetHostHasRoomForOneMorePunch(self):
        """A host whose punch met has room for a second birthday punch in
        the window (a `bazaar buy` beside the daemon that met it: issue
        85), and only one: its bound is the group's, however many meet;
        a host that did not meet keeps one punch."""
        self.assertIsNone(self.budget.admit(HOST_1, BIRTHDAY_PROBES))
        self.assertIsNone(self.budget.admit(HOST_3, BIRTHDAY_PROBES))
        self.budget.met(HOST_1)
        self.assertEqual(self.budget.wait(HOST_1, BIRTHDAY_PROBES), 0)
        self.assertIsNone(self.budget.admit(HOST_1, BIRTHDAY_PROBES))
        self.budget.met(HOST_1)
        self.assertEqual(
            self.budget.admit(HOST_1, BIRTHDAY_PROBES),
            "this node sent or is sending 2048 UDP punch probes to that address group in the last "
            "60 s, and 1024 more would pass its 2176")
        self.assertEqual(self.budget.wait(HOST_1, BIRTHDAY_PROBES), 60)
        self.assertIn("to that host", self.budget.admit(HOST_3, BIRTHDAY_PROBES))

    def test_aSilentHostHasRoomOnce(self):
        """A host whose punch met silence has room for one more punch in
        the window (a missed early punch asked again at once, issue 85),
        once in MISSED_EVERY s: a second miss there within that time
        gives none, so a host that never answers (a stranger's spoofed
        victim) gets two punches in one window, one in each of the next
        nine."""
        self.assertIsNone(self.budget.admit(HOST_1, BIRTHDAY_PROBES))
        self.assertIn("to that host", self.budget.admit(HOST_1, BIRTHDAY_PROBES))
        self.budget.missed(HOST_1)
        self.assertEqual(self.budget.wait(HOST_1, BIRTHDAY_PROBES), 0)
        self.assertIsNone(self.budget.admit(HOST_1, BIRTHDAY_PROBES))
        self.clock.advance(10)
        self.budget.missed(HOST_1)
        self.assertIn("to that host", self.budget.admit(HOST_1, BIRTHDAY_PROBES))
        sent = 2
        start = self.clock.seconds() - 10
        while self.clock.seconds() - start < MISSED_EVERY - 60:
            self.clock.advance(60)
            self.budget.missed(HOST_1)
            if self.budget.admit(HOST_1, BIRTHDAY_PROBES) is None:
                sent += 1
            self.assertIn("to that host", self.budget.admit(HOST_1, BIRTHDAY_PROBES))
        self.assertEqual(sent, 2 + 9)
        self.clock.advance(60)
        self.budget.missed(HOST_1)
        self.assertIsNone(self.budget.admit(HOST_1, BIRTHDAY_PROBES))
        self.assertIsNone(self.budget.admit(HOST_1, BIRTHDAY_PROBES))

    def test_aMissAtAMetHostPassesTheGroupOnce(self):
        """The daemons met at a home, the one-shot node's punch there (by
        the meeting's room) met silence: its host and its group have room
        for one more punch, once, so it is asked again at once (natbed:
        the second punch was refused for the group's two punches, and a
        `bazaar buy` took 124 s); another host of the group gets nothing
        more, and the total's bound does not move."""
        self.assertIsNone(self.budget.admit(HOST_1, BIRTHDAY_PROBES))
        self.budget.met(HOST_1)
        self.assertIsNone(self.budget.admit(HOST_1, BIRTHDAY_PROBES))
        self.assertIn("to that address group", self.budget.admit(HOST_1, BIRTHDAY_PROBES))
        self.budget.missed(HOST_1)
        self.assertEqual(self.budget.wait(HOST_1, BIRTHDAY_PROBES), 0)
        self.assertIsNone(self.budget.admit(HOST_1, BIRTHDAY_PROBES))
        self.assertEqual(
            self.budget.admit(HOST_2, BIRTHDAY_PROBES),
            "this node sent or is sending 3072 UDP punch probes to that address group in the last "
            "60 s, and 1024 more would pass its 3264")
        self.assertIsNone(self.budget.admit(HOST_3, BIRTHDAY_PROBES))
        self.assertIn("in the last 60 s, and 1024 more would pass its 4352",
                      self.budget.admit(HOST_3, BIRTHDAY_PROBES))
        # A window on, the group is two punches' again (its room given once
        # in MISSED_EVERY s).
        self.clock.advance(60)
        self.budget.missed(HOST_2)
        for host in (HOST_1, HOST_2):
            self.assertIsNone(self.budget.admit(host, BIRTHDAY_PROBES))
        self.assertIn("to that address group", self.budget.admit(HOST_2, BIRTHDAY_PROBES))

    def test_theGroupStillBoundsAMetHost(self):
        """The credit moves no other bound: a met host whose group is full
        gets nothing more, and a window after its meeting it is one
        punch's again."""
        self.assertIsNone(self.budget.admit(HOST_1, BIRTHDAY_PROBES))
        self.assertIsNone(self.budget.admit(HOST_2, BIRTHDAY_PROBES))
        self.budget.met(HOST_1)
        self.assertIn("to that address group", self.budget.admit(HOST_1, BIRTHDAY_PROBES))
        self.clock.advance(60)
        self.assertIsNone(self.budget.admit(HOST_1, BIRTHDAY_PROBES))
        self.assertIn("to that host", self.budget.admit(HOST_1, BIRTHDAY_PROBES))


class SiblingTests(SynchronousTestCase):
    """Several nodes behind one address (issue 94: a home's `bazaar buy`
    refused for a minute by the punch of the daemon beside it, which met
    silence as it exited)."""

    def setUp(self):
        self.clock = Clock()
        self.budget = ProbeBudget(self.clock)

    def test_aSecondNodeAtTheHost(self):
        """A punch to another node at a host punched this window gets a
        punch of its own at once, met or silent; the same node a second
        one does not (its retries have their own rules), nor a punch
        whose node is not known."""
        self.assertIsNone(self.budget.admit(HOST_1, BIRTHDAY_PROBES, "daemon"))
        self.assertIn("to that host", self.budget.admit(HOST_1, BIRTHDAY_PROBES, "daemon"))
        self.assertIn("to that host", self.budget.admit(HOST_1, BIRTHDAY_PROBES))
        self.assertIsNone(self.budget.admit(HOST_1, BIRTHDAY_PROBES, "buy"))

    def test_aStrangerWithManyKeys(self):
        """Keys are free: a stranger's many nodes at the one host it holds
        get the group's two punches a window there, no more, and take
        the rest of the /16's share; another group is untouched."""
        for key in ("k1", "k2"):
            self.assertIsNone(self.budget.admit(HOST_1, BIRTHDAY_PROBES, key))
        self.assertIn("to that address group",
                      self.budget.admit(HOST_1, BIRTHDAY_PROBES, "k3"))
        self.assertIn("to that address group",
                      self.budget.admit(HOST_2, BIRTHDAY_PROBES, "k4"))
        self.assertIsNone(self.budget.admit(HOST_3, BIRTHDAY_PROBES, "k5"))
        self.assertEqual(self.budget.wait(HOST_1, BIRTHDAY_PROBES, "k3"), 60)


class OnTheWireTests(SynchronousTestCase):
    """The window bounds the probes as they leave (issue 93: counted at
    a punch's start, 5,071 left in one window against 4,352)."""

    def hardThenBirthday(self, hardPumps):
        """A hard side's punch (rounds at 0, 1, 2 and 4 s) fills the
        budget, its clock pumped by ``hardPumps``; a birthday punch then
        refused is started when L{ProbeBudget.wait} says and runs to its
        end.  (The wait, the most sends in any 60 s of the clock.)"""
        clock = Clock()
        budget = ProbeBudget(clock, total=1100)
        left = []

        def punch(mine, peer, nonce):
            plan = udppunch.plan(mine, peer, random.Random(nonce))
            return UdpPunch(clock, plan, nonce,
                            lambda *args: left.append(clock.seconds()), budget=budget)

        hard = punch(mappingOf(HOST_1, 5000, 40000), mappingOf(HOST_3, 6000), 1)
        hard.start().addErrback(lambda failure: None)
        clock.pump(hardPumps)
        birthday = punch(mappingOf(HOST_3, 6000), mappingOf(HOST_1, 5000, 40000), 2)
        self.failureResultOf(birthday.start(), BudgetRefused)
        wait = budget.wait(HOST_1, birthday.plan.sends)
        clock.advance(wait)
        birthday.start().addErrback(lambda failure: None)
        clock.pump([0] + [0.05] * 300)
        self.assertEqual(len(left), 2 * BIRTHDAY_PROBES)
        return wait, max(sum(1 for each in left if end - 60 < each <= end)
                         for end in left)

    def test_everyWindowOfTheWire(self):
        """A hard side's punch fills the budget; a birthday punch refused
        5 s later is started when L{ProbeBudget.wait} says: no 60 s of the
        sends, as a clock counts them, holds more than the bound (counted
        at the start, it was let go at 60 s, and 1,280 left between 3.9
        and 63.9 s)."""
        wait, most = self.hardThenBirthday([0] + [0.5] * 10)
        self.assertLessEqual(most, 1100)
        # Once the hard side's last round (4 s) is 60 s old.
        self.assertEqual(wait, 59.0)

    def test_aLateReactorsSendsAreCountedWhenTheyLeave(self):
        """
        (Issue 93's ninth round.)  A reactor busy elsewhere fires a round
        late: its probes leave then, not when the plan said, and are
        counted from then.  Here the hard side's rounds at 1, 2 and 4 s
        leave at 6 s; the refused birthday punch waits until they are
        60 s old, and no 60 s of the sends holds more than the bound
        (counted at their planned times, the birthday punch went at 64 s,
        its probes in the same 60 s as the rounds that left at 6 s).
        """
        wait, most = self.hardThenBirthday([0, 6.0] + [0.5] * 10)
        self.assertLessEqual(most, 1100)
        # Once the rounds that left at 6 s are 60 s old (at 11 s now).
        self.assertEqual(wait, 55.0)
