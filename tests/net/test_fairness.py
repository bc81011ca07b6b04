"""
Tests for twisted_bazaar.net.fairness: a pool shared among address
groups, max-min fair once it is full.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.fairness import FairPool


class FairPoolTests(SynchronousTestCase):
    def fill(self, pool, group, count, units=1, prefix=None):
        holders = [f"{prefix or group}{n}" for n in range(count)]
        for holder in holders:
            self.assertEqual(pool.makeRoom(group, units, holder), [])
            pool.hold(holder, group, units)
        return holders

    def test_roomIsTakenByAnyone(self):
        """While there is room, one group may take the whole pool."""
        pool = FairPool(4)
        self.fill(pool, "a", 4)
        self.assertEqual((pool.used, pool.held("a"), len(pool)), (4, 4, 4))

    def test_newcomerTakesFromTheLargestGroupNewestFirst(self):
        pool = FairPool(4)
        holders = self.fill(pool, "a", 4)
        self.assertEqual(pool.makeRoom("b"), [holders[-1]])
        self.assertEqual(pool.used, 4)  # nothing changed by asking

    def test_fairShareStopsTheTaking(self):
        """Taking stops once the largest group would hold less than the
        asker: a 2-2 split of four units, never a ping-pong."""
        pool = FairPool(4)
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
        pool = FairPool(2)
        self.fill(pool, "a", 2)
        self.assertIsNone(pool.makeRoom("a"))

    def test_oldestFirst(self):
        pool = FairPool(3, oldest_first=True)
        holders = self.fill(pool, "a", 3)
        self.assertEqual(pool.makeRoom("b"), [holders[0]])

    def test_groupLimit(self):
        pool = FairPool(10, group_limit=2)
        self.fill(pool, "a", 2)
        self.assertIsNone(pool.makeRoom("a"))
        self.assertEqual(pool.makeRoom("b"), [])

    def test_unitsOfOneHolderChange(self):
        """A holder asking for more units counts only what it adds; asking
        for fewer always fits."""
        pool = FairPool(10)
        pool.hold("x", "a", 6)
        self.assertEqual(pool.makeRoom("a", 10, "x"), [])
        self.assertIsNone(pool.makeRoom("a", 11, "x"))
        self.assertEqual(pool.makeRoom("a", 1, "x"), [])
        pool.hold("x", "a", 3)
        self.assertEqual((pool.used, pool.held("a"), pool.units("x")), (3, 3, 3))

    def test_bigHoldersGiveWayWhole(self):
        """Units come from whole holders: enough of them go to make room,
        and none if the group would be left with less than the asker."""
        pool = FairPool(100)
        self.fill(pool, "a", 10, units=10)
        victims = pool.makeRoom("b", 15)
        self.assertEqual(victims, ["a9", "a8"])
        self.assertIsNone(pool.makeRoom("b", 51))

    def test_releaseIsIdempotent(self):
        pool = FairPool(2)
        pool.hold("x", "a")
        pool.release("x")
        pool.release("x")
        self.assertEqual((pool.used, pool.held("a"), len(pool), "x" in pool),
                         (0, 0, 0, False))

    def test_holdZeroReleases(self):
        pool = FairPool(2)
        pool.hold("x", "a", 2)
        pool.hold("x", "a", 0)
        self.assertEqual((pool.used, len(pool)), (0, 0))

    def test_aHolderMovingGroupGivesUpWhatItHeld(self):
        pool = FairPool(3)
        pool.hold("x", "a", 2)
        pool.hold("y", "b", 1)
        self.assertEqual(pool.makeRoom("c", 2, "x"), [])
        pool.hold("x", "c", 2)
        self.assertEqual((pool.held("a"), pool.held("c"), pool.used), (0, 2, 3))
