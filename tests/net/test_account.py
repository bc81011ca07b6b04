"""
Tests for twisted_bazaar.net.account: what peers make a node hold,
charged to address groups and keys, max-min fair once it is full.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.account import Account

from tests.helpers import THINGS


class AccountTests(SynchronousTestCase):
    def fill(self, pool, group, count, units=1, prefix=None):
        holders = [f"{prefix or group}{n}" for n in range(count)]
        for holder in holders:
            self.assertEqual(pool.makeRoom(group, units, holder), [])
            pool.hold(holder, group, units)
        return holders

    def test_roomIsTakenByAnyone(self):
        """While there is room, one group may take the whole pool."""
        pool = Account(THINGS, 4)
        self.fill(pool, "a", 4)
        self.assertEqual((pool.used, pool.held("a"), len(pool)), (4, 4, 4))

    def test_newcomerTakesFromTheLargestGroupNewestFirst(self):
        pool = Account(THINGS, 4)
        holders = self.fill(pool, "a", 4)
        self.assertEqual(pool.makeRoom("b"), [holders[-1]])
        self.assertEqual(pool.used, 4)  # nothing changed by asking

    def test_fairShareStopsTheTaking(self):
        """Taking stops once the largest group would hold less than the
        asker: a 2-2 split of four units, never a ping-pong."""
        pool = Account(THINGS, 4)
        holders = self.fill(pool, "a", 4)
        for n in range(2):
            [victim] = pool.makeRoom("b")
            self.assertEqual(victim, holders[3 - n])
            pool.release(victim)
            pool.hold(f"b{n}", "b")
        self.assertEqual((pool.held("a"), pool.held("b")), (2, 2))
        self.assertIsNone(pool.makeRoom("b"))
        self.assertIsNone(pool.makeRoom("a"))
        # A third group still gets one, from one of the two.
        self.assertEqual(len(pool.makeRoom("c")), 1)

    def test_theAskersOwnGroupIsNeverTakenFrom(self):
        pool = Account(THINGS, 2)
        self.fill(pool, "a", 2)
        self.assertIsNone(pool.makeRoom("a"))

    def test_oldestFirst(self):
        pool = Account(THINGS, 3, oldest_first=True)
        holders = self.fill(pool, "a", 3)
        self.assertEqual(pool.makeRoom("b"), [holders[0]])

    def test_groupLimit(self):
        pool = Account(THINGS, 10, group_limit=2)
        self.fill(pool, "a", 2)
        self.assertIsNone(pool.makeRoom("a"))
        self.assertEqual(pool.makeRoom("b"), [])

    def test_unitsOfOneHolderChange(self):
        """A holder asking for more units counts only what it adds; asking
        for fewer always fits."""
        pool = Account(THINGS, 10)
        pool.hold("x", "a", 6)
        self.assertEqual(pool.makeRoom("a", 10, "x"), [])
        self.assertIsNone(pool.makeRoom("a", 11, "x"))
        self.assertEqual(pool.makeRoom("a", 1, "x"), [])
        pool.hold("x", "a", 3)
        self.assertEqual((pool.used, pool.held("a"), pool.units("x")), (3, 3, 3))

    def test_bigHoldersGiveWayWhole(self):
        """Units come from whole holders: enough of them go to make room,
        and none if the group would be left with less than the asker."""
        pool = Account(THINGS, 100)
        self.fill(pool, "a", 10, units=10)
        victims = pool.makeRoom("b", 15)
        self.assertEqual(victims, ["a9", "a8"])
        self.assertIsNone(pool.makeRoom("b", 51))

    def test_releaseIsIdempotent(self):
        pool = Account(THINGS, 2)
        pool.hold("x", "a")
        pool.release("x")
        pool.release("x")
        self.assertEqual((pool.used, pool.held("a"), len(pool), "x" in pool),
                         (0, 0, 0, False))

    def test_holdZeroReleases(self):
        pool = Account(THINGS, 2)
        pool.hold("x", "a", 2)
        pool.hold("x", "a", 0)
        self.assertEqual((pool.used, len(pool)), (0, 0))

    def test_aHolderMovingGroupGivesUpWhatItHeld(self):
        pool = Account(THINGS, 3)
        pool.hold("x", "a", 2)
        pool.hold("y", "b", 1)
        self.assertEqual(pool.makeRoom("c", 2, "x"), [])
        pool.hold("x", "c", 2)
        self.assertEqual((pool.held("a"), pool.held("c"), pool.used), (0, 2, 3))

    def test_keyLimit(self):
        """A proven key is capped across its holders, whatever groups they
        come from; holders without a key are not."""
        account = Account(THINGS, 10, key_limit=3)
        account.hold("x", "a", 2, key="k")
        self.assertIsNone(account.makeRoom("b", 2, "y", key="k"))
        self.assertEqual(account.makeRoom("b", 1, "y", key="k"), [])
        self.assertEqual(account.makeRoom("a", 3, "x", key="k"), [])
        self.assertEqual(account.makeRoom("b", 5, "y"), [])
        account.release("x")
        self.assertEqual(account.heldBy("k"), 0)

    def test_admitsWhileTheGroupHoldsNoMoreThanTheRoomLeft(self):
        """Where nothing gives way: a group alone takes half; a second
        one a share of the rest; one holding nothing gets in while any
        room is left; and the account is never overfilled."""
        account = Account(THINGS, 8)
        taken = 0
        while account.admits("a"):
            account.hold(f"a{taken}", "a")
            taken += 1
        self.assertEqual(taken, 4)
        while account.admits("b"):
            account.hold(f"b{account.held('b')}", "b")
        self.assertEqual(account.held("b"), 2)
        self.assertTrue(account.admits("c"))
        account.hold("c0", "c")
        self.assertTrue(account.admits("d"))
        account.hold("d0", "d")
        self.assertEqual(account.used, 8)
        self.assertFalse(account.admits("e"))

    def test_takeReleasesTheVictimsAndCharges(self):
        account = Account(THINGS, 2)
        account.hold("a0", "a")
        account.hold("a1", "a")
        self.assertEqual(account.take("b0", "b"), ["a1"])
        self.assertEqual((account.held("a"), account.held("b")), (1, 1))
        self.assertIsNone(account.take("b1", "b"))
        self.assertNotIn("b1", account)

    def test_refusalSaysWhichBound(self):
        account = Account(THINGS, 4, group_limit=2, key_limit=1)
        account.hold("x", "a", 1, key="k")
        self.assertIn("your key holds 1 streams", account.refusal("a", "streams", "k"))
        account.hold("y", "a")
        self.assertIn("your address group holds 2 streams",
                      account.refusal("a", "streams"))
        self.assertIn("all 4 streams are taken", account.refusal("b", "streams"))
