"""
Tests for twisted_bazaar.store: MemoryStore and SQLiteStore pass the same
contract tests (one mixin, two test cases); then what only the SQLite
store and readState promise (reopening, WAL mode, readers that never lock
the node out, clear errors for unusable data dirs).
"""

import os
import shutil
import sqlite3
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.store import (
    DB_NAME,
    MemoryStore,
    PendingBuy,
    Purchase,
    Sale,
    SQLiteStore,
    StoreError,
    openStore,
    readState,
)


def scratchDir(test):
    """A fresh temporary folder, removed after the test."""
    folder = tempfile.mkdtemp(prefix="bazaar-store-")
    test.addCleanup(shutil.rmtree, folder, True)
    return folder


class _StoreContract:
    """What every store must do; subclasses say how to make one."""

    def makeStore(self):
        raise NotImplementedError

    def setUp(self):
        self.store = self.makeStore()

    # -- node id -------------------------------------------------------------

    def test_nodeIdRoundTrip(self):
        """A new store knows no id; the last id set is the one returned."""
        self.assertIsNone(self.store.nodeId())
        self.store.setNodeId(42)
        self.assertEqual(self.store.nodeId(), 42)
        self.store.setNodeId(7)
        self.assertEqual(self.store.nodeId(), 7)

    # -- seller ----------------------------------------------------------------

    def test_seedOnce(self):
        """The first seed is taken; a later, different one is not applied."""
        self.assertIsNone(self.store.seededWith())
        self.assertEqual(self.store.seedInventory({"apple": 5, "pear": 1}),
                         ({"apple": 5, "pear": 1}, True))
        self.assertEqual(self.store.seedInventory({"apple": 9}),
                         ({"apple": 5, "pear": 1}, False))
        self.assertEqual(self.store.seededWith(), {"apple": 5, "pear": 1})
        self.assertEqual(self.store.inventory(), {"apple": 5, "pear": 1})

    def test_seedAnswersWithWhatIsLeft(self):
        """A second seed returns the stock after sales, not the first seed."""
        self.store.seedInventory({"apple": 5})
        self.store.commitSales([Sale(1, "apple", 9, 10.0)])
        self.assertEqual(self.store.seedInventory({"apple": 5}), ({"apple": 4}, False))
        self.assertEqual(self.store.seededWith(), {"apple": 5})

    def test_commitSalesTakesUnitsAndRecords(self):
        self.store.seedInventory({"apple": 3, "pear": 1})
        sales = [Sale(11, "apple", 7, 1.0), Sale(12, "pear", 8, 2.0),
                 Sale(13, "apple", 8, 3.0)]
        self.store.commitSales(sales)
        self.assertEqual(self.store.inventory(), {"apple": 1, "pear": 0})
        self.assertEqual(self.store.sales(), sales)

    def test_saleOfAMissingItemRecordsNothing(self):
        """One bad sale fails the whole batch: no unit taken, no sale kept."""
        self.store.seedInventory({"apple": 3})
        self.store.commitSales([Sale(1, "apple", 7, 1.0)])
        with self.assertRaises(StoreError):
            self.store.commitSales([Sale(2, "apple", 7, 2.0), Sale(3, "plum", 7, 2.0)])
        self.assertEqual(self.store.inventory(), {"apple": 2})
        self.assertEqual(self.store.sales(), [Sale(1, "apple", 7, 1.0)])

    def test_batchBeyondTheStockRecordsNothing(self):
        """Two sales in one batch for the last unit: neither is recorded."""
        self.store.seedInventory({"apple": 1})
        with self.assertRaises(StoreError):
            self.store.commitSales([Sale(1, "apple", 7, 1.0), Sale(2, "apple", 8, 1.0)])
        self.assertEqual(self.store.inventory(), {"apple": 1})
        self.assertEqual(self.store.sales(), [])

    def test_buyIdSoldOnlyOnce(self):
        """Recording a buy id again is refused and takes no second unit."""
        self.store.seedInventory({"apple": 3})
        self.store.commitSales([Sale(1, "apple", 7, 1.0)])
        with self.assertRaises(StoreError):
            self.store.commitSales([Sale(1, "apple", 7, 2.0)])
        self.assertEqual(self.store.inventory(), {"apple": 2})
        self.assertEqual(self.store.sales(), [Sale(1, "apple", 7, 1.0)])

    # -- buyer -------------------------------------------------------------------

    def test_pendingAddAndDrop(self):
        first = PendingBuy(5, "apple", 9, (1, 4, 9), "10.0.0.9", 4009)
        second = PendingBuy(6, "pear", 3, (1, 3))
        self.store.addPending(first)
        self.store.addPending(second)
        self.assertEqual(self.store.pending(), [first, second])
        self.store.dropPending(5)
        self.assertEqual(self.store.pending(), [second])
        self.store.dropPending(5)
        self.assertEqual(self.store.pending(), [second])

    def test_pendingReplacedBySameId(self):
        """A buy id resent along another path is one pending buy."""
        self.store.addPending(PendingBuy(5, "apple", 9, (1, 4, 9)))
        moved = PendingBuy(5, "apple", 9, (1, 9), "10.0.0.9", 4009)
        self.store.addPending(moved)
        self.assertEqual(self.store.pending(), [moved])

    def test_commitPurchaseMovesPendingToBag(self):
        self.store.addPending(PendingBuy(5, "apple", 9, (1, 9)))
        self.store.addPending(PendingBuy(6, "pear", 3, (1, 3)))
        purchase = Purchase(5, "apple", 9, 12.5)
        self.store.commitPurchase(purchase)
        self.assertEqual(self.store.bag(), [purchase])
        self.assertEqual(self.store.pending(), [PendingBuy(6, "pear", 3, (1, 3))])

    def test_commitPurchaseTwiceKeepsOne(self):
        """A duplicated buyOK puts one item in the bag, not two."""
        purchase = Purchase(5, "apple", 9, 12.5)
        self.store.commitPurchase(purchase)
        self.store.commitPurchase(Purchase(5, "apple", 9, 13.0))
        self.assertEqual(self.store.bag(), [purchase])


class MemoryStoreTests(_StoreContract, SynchronousTestCase):
    def makeStore(self):
        return MemoryStore()

    def test_notDurable(self):
        self.assertFalse(self.store.durable)


class SQLiteStoreTests(_StoreContract, SynchronousTestCase):
    def makeStore(self):
        self.directory = scratchDir(self)
        store = SQLiteStore(self.directory)
        self.addCleanup(store.close)
        return store

    def reopen(self):
        self.store.close()
        self.store = SQLiteStore(self.directory)
        self.addCleanup(self.store.close)
        return self.store

    def test_durable(self):
        self.assertTrue(self.store.durable)
        self.assertTrue(self.store.new)
        self.assertEqual(self.store.path, os.path.join(self.directory, DB_NAME))

    def test_survivesReopening(self):
        """Close and reopen: id, seed, stock, ledger, bag and pending remain."""
        store = self.store
        store.setNodeId(99)
        store.seedInventory({"apple": 5})
        store.commitSales([Sale(1, "apple", 7, 1.0), Sale(2, "apple", 8, 2.0)])
        store.commitPurchase(Purchase(30, "pear", 4, 3.0))
        store.addPending(PendingBuy(31, "pear", 4, (99, 6, 4), "10.0.0.4", 4004))
        store = self.reopen()
        self.assertFalse(store.new)
        self.assertEqual(store.nodeId(), 99)
        self.assertEqual(store.seededWith(), {"apple": 5})
        self.assertEqual(store.seedInventory({"apple": 5}), ({"apple": 3}, False))
        self.assertEqual(store.sales(), [Sale(1, "apple", 7, 1.0),
                                         Sale(2, "apple", 8, 2.0)])
        self.assertEqual(store.bag(), [Purchase(30, "pear", 4, 3.0)])
        self.assertEqual(store.pending(),
                         [PendingBuy(31, "pear", 4, (99, 6, 4), "10.0.0.4", 4004)])

    def test_walMode(self):
        """The database is in WAL mode for every connection, not just ours."""
        db = sqlite3.connect(self.store.path)
        self.addCleanup(db.close)
        self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "wal")

    def test_readStateWhileTheNodeRuns(self):
        """A reader sees the committed state and does not block the writer."""
        self.store.setNodeId(12)
        self.store.seedInventory({"apple": 2})
        self.store.commitSales([Sale(1, "apple", 7, 1.0)])
        self.store.commitPurchase(Purchase(40, "pear", 3, 2.0))
        self.assertEqual(readState(self.directory), {
            "node_id": 12, "inventory": {"apple": 1},
            "sales": [{"buy_id": 1, "item": "apple", "buyer": 7, "time": 1.0}],
            "bag": [{"buy_id": 40, "item": "pear", "seller": 3, "time": 2.0}]})
        self.store.commitSales([Sale(2, "apple", 8, 3.0)])
        self.assertEqual(readState(self.directory)["inventory"], {"apple": 0})

    def test_readStateDuringAWriteTransaction(self):
        """
        While the node holds a write transaction open, a reader still gets
        the last committed state at once; the write then commits.
        """
        self.store.seedInventory({"apple": 2})
        self.store.db.execute("BEGIN IMMEDIATE")
        self.store.db.execute("UPDATE inventory SET units = 0")
        self.assertEqual(readState(self.directory)["inventory"], {"apple": 2})
        self.store.db.execute("COMMIT")
        self.assertEqual(readState(self.directory)["inventory"], {"apple": 0})

    def test_writeThatCannotLockIsAStoreError(self):
        """
        Another writer holds the database: the sales are refused with a
        StoreError (which the seller handles) and nothing is recorded.
        """
        self.store.seedInventory({"apple": 2})
        self.store.db.execute("PRAGMA busy_timeout=0")
        other = sqlite3.connect(self.store.path, isolation_level=None)
        self.addCleanup(other.close)
        other.execute("BEGIN IMMEDIATE")
        with self.assertRaises(StoreError) as caught:
            self.store.commitSales([Sale(1, "apple", 7, 1.0)])
        self.assertEqual(str(caught.exception), "sales not recorded: database is locked")
        other.execute("ROLLBACK")
        self.assertEqual(self.store.inventory(), {"apple": 2})
        self.assertEqual(self.store.sales(), [])

    def test_readStateAfterTheNodeStopped(self):
        self.store.setNodeId(3)
        self.store.close()
        self.assertEqual(readState(self.directory), {
            "node_id": 3, "inventory": {}, "sales": [], "bag": []})

    def test_readStateOfAFreshStore(self):
        """No id yet: node_id is null."""
        self.assertIsNone(readState(self.directory)["node_id"])


class ReadStateErrorTests(SynchronousTestCase):
    def test_missingDirectory(self):
        missing = os.path.join(scratchDir(self), "nope")
        with self.assertRaises(StoreError) as caught:
            readState(missing)
        self.assertEqual(str(caught.exception), f"{missing}: no such directory")

    def test_directoryWithoutADatabase(self):
        folder = scratchDir(self)
        with self.assertRaises(StoreError) as caught:
            readState(folder)
        self.assertEqual(str(caught.exception),
                         f"{folder}: not a bazaar data dir (no {DB_NAME})")

    def test_notADatabase(self):
        folder = scratchDir(self)
        with open(os.path.join(folder, DB_NAME), "w") as f:
            f.write("these are not the pages you are looking for\n" * 100)
        with self.assertRaises(StoreError) as caught:
            readState(folder)
        self.assertTrue(str(caught.exception).startswith(
            f"{os.path.join(folder, DB_NAME)}: cannot read: "), str(caught.exception))


class UnusableDataDirTests(SynchronousTestCase):
    def test_fileInTheWay(self):
        """--data-dir names a file: a StoreError that says which dir."""
        path = os.path.join(scratchDir(self), "taken")
        open(path, "w").close()
        with self.assertRaises(StoreError) as caught:
            SQLiteStore(path)
        self.assertTrue(str(caught.exception).startswith(
            f"cannot use data dir {path}: "), str(caught.exception))

    def test_fileInTheWayOfTheParent(self):
        parent = os.path.join(scratchDir(self), "taken")
        open(parent, "w").close()
        path = os.path.join(parent, "data")
        with self.assertRaises(StoreError) as caught:
            SQLiteStore(path)
        self.assertTrue(str(caught.exception).startswith(
            f"cannot use data dir {path}: "), str(caught.exception))

    def test_missingDirIsCreated(self):
        path = os.path.join(scratchDir(self), "a", "b")
        store = SQLiteStore(path)
        self.addCleanup(store.close)
        self.assertTrue(store.new)
        self.assertTrue(os.path.isfile(os.path.join(path, DB_NAME)))


class OpenStoreTests(SynchronousTestCase):
    def test_noDirectoryMeansMemory(self):
        self.assertIsInstance(openStore(None), MemoryStore)

    def test_directoryMeansSQLite(self):
        folder = scratchDir(self)
        store = openStore(folder)
        self.addCleanup(store.close)
        self.assertIsInstance(store, SQLiteStore)
        self.assertEqual(store.path, os.path.join(folder, DB_NAME))
