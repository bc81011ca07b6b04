"""
Tests for L{twisted_bazaar.roles.seller.stock}: the units held for
buyers' searches, each for a lease, within the shares of the stock all
buyers and one neighbour's searches may hold.
"""

from twisted.internet import defer, task
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.roles.seller.stock import Leases, describeStock, startingStock
from twisted_bazaar.store import MemoryStore


class LeasesTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.stock = {"apple": 8}
        self.leases = Leases(self.clock, self.stock, 10.0)

    def test_holdsOneUnitPerBuyer(self):
        self.assertTrue(self.leases.offer("apple", 1, "n1"))
        self.assertTrue(self.leases.offer("apple", 1, "n1"))
        self.assertEqual((len(self.leases), self.leases.free("apple")), (1, 7))
        self.assertIn((1, "apple"), self.leases)

    def test_oneNeighbourHoldsAQuarter(self):
        """Searches through one neighbour hold at most a quarter of the
        stock; past it, offers are made unheld."""
        for buyer in range(5):
            self.assertTrue(self.leases.offer("apple", buyer, "n1"))
        self.assertEqual(self.leases.free("apple"), 6)

    def test_allBuyersHoldHalf(self):
        for buyer in range(12):
            self.leases.offer("apple", buyer, f"n{buyer}")
        self.assertEqual(self.leases.free("apple"), 4)

    def test_noneFree(self):
        self.stock["apple"] = 0
        self.assertFalse(self.leases.offer("apple", 1, "n1"))
        self.assertFalse(self.leases.offer("pear", 1, "n1"))

    def test_leaseLapses(self):
        self.leases.offer("apple", 1, "n1")
        self.clock.advance(9)
        self.leases.offer("apple", 1, "n1")  # renewed
        self.clock.advance(9)
        self.assertEqual(self.leases.free("apple"), 7)
        self.clock.advance(1)
        self.assertEqual((len(self.leases), self.leases.free("apple")), (0, 8))

    def test_freeForCountsTheBuyersOwnHold(self):
        """What a buyer may buy now: the units nobody holds and the one
        held for it, whose hold (and its timer) a sale takes; another's
        hold stays."""
        self.leases.offer("apple", 1, "n1")
        self.leases.offer("apple", 2, "n2")
        self.assertEqual(self.leases.freeFor(3, "apple"), 6)
        self.assertEqual(self.leases.freeFor(1, "apple"), 7)
        self.assertNotIn((1, "apple"), self.leases)
        self.assertIn((2, "apple"), self.leases)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.assertEqual(self.leases.freeFor(1, "pear"), 0)

    def test_releaseAllCancelsTheTimers(self):
        self.leases.offer("apple", 1, "n1")
        self.leases.offer("apple", 2, "n2")
        self.leases.releaseAll()
        self.assertEqual((len(self.leases), self.clock.getDelayedCalls()), (0, []))
        self.assertEqual(self.leases.free("apple"), 8)
        self.leases.release((1, "apple"))  # released already: nothing happens
        self.assertEqual(self.leases.free("apple"), 8)


class Log:
    def __init__(self):
        self.warnings = []

    def warn(self, text, **fields):
        self.warnings.append(fields)


class StartingStockTests(SynchronousTestCase):
    def test_newDataDirIsSeeded(self):
        store, log = MemoryStore(), Log()
        stock = startingStock(store, {"apple": 3}, log, self.fail)
        self.assertEqual((stock, store.seededWith(), log.warnings),
                         ({"apple": 3}, {"apple": 3}, []))

    def test_restoredKeepsWhatIsLeft(self):
        store, log = MemoryStore(), Log()
        store.seedInventory({"apple": 3})
        store.restock({"apple": 1})
        stock = startingStock(store, {"apple": 5}, log, self.fail)
        self.assertEqual(stock, {"apple": 1})
        self.assertEqual(log.warnings, [{"given": "apple=5", "seeded": "apple=3",
                                         "left": "apple=1"}])

    def test_seedNotWritten(self):
        failed = []

        class Store(MemoryStore):
            def seedInventory(self, stock):
                return defer.fail(OSError("disk full"))

        startingStock(Store(), {"apple": 3}, Log(), failed.append)
        self.assertEqual([f.getErrorMessage() for f in failed], ["disk full"])

    def test_describeStock(self):
        self.assertEqual(describeStock({"pear": 1, "apple": 2}), "apple=2, pear=1")
