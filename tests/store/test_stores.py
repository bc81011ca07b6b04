"""
Tests for twisted_bazaar.store (memory, sqlite, records): MemoryStore and SQLiteStore pass the same
contract tests (one mixin, two test cases); then what only the SQLite
store and readState promise (reopening, WAL mode, readers that never lock
the node out, clear errors for unusable data dirs).
"""

import os
import shutil
import signal
import stat
import sqlite3
import tempfile
import threading

import pytest
import pytest_twisted
from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.store import (
    DB_NAME,
    SCHEMA_VERSION,
    Closed,
    InlineExecutor,
    MemoryStore,
    PendingBuy,
    Purchase,
    Sale,
    SQLiteStore,
    StoreError,
    ThreadExecutor,
    WriterGone,
    openStore,
    readState,
)

from tests.store.pipedwriter import PipedWriter
from tests.store.test_executors import ThreadedFakeReactor
from twisted_bazaar.store.writerprocess import WriterProcess


def scratchDir(test):
    """A fresh temporary folder, removed after the test."""
    folder = tempfile.mkdtemp(prefix="bazaar-store-")
    test.addCleanup(shutil.rmtree, folder, True)
    return folder


class _StoreContract:
    """What every store must do; subclasses say how to make one.  Writes
    return Deferreds; these stores fire them at once."""

    def makeStore(self):
        raise NotImplementedError

    def setUp(self):
        self.store = self.makeStore()

    def done(self, d):
        """The result of a write that succeeded."""
        return self.successResultOf(d)

    def refused(self, d):
        """The StoreError of a write that failed."""
        return self.failureResultOf(d, StoreError).value

    # -- node id -------------------------------------------------------------

    def test_nodeIdRoundTrip(self):
        """A new store knows no id; the last id set is the one returned."""
        self.assertIsNone(self.store.nodeId())
        self.done(self.store.setNodeId(42))
        self.assertEqual(self.store.nodeId(), 42)
        self.done(self.store.setNodeId(7))
        self.assertEqual(self.store.nodeId(), 7)

    # -- seller ----------------------------------------------------------------

    def test_seedOnce(self):
        """The first seed is taken; a later, different one is not applied."""
        self.assertIsNone(self.store.seededWith())
        self.assertEqual(self.done(self.store.seedInventory({"apple": 5, "pear": 1})),
                         ({"apple": 5, "pear": 1}, True))
        self.assertEqual(self.done(self.store.seedInventory({"apple": 9})),
                         ({"apple": 5, "pear": 1}, False))
        self.assertEqual(self.store.seededWith(), {"apple": 5, "pear": 1})
        self.assertEqual(self.store.inventory(), {"apple": 5, "pear": 1})

    def test_seedAnswersWithWhatIsLeft(self):
        """A second seed returns the stock after sales, not the first seed."""
        self.done(self.store.seedInventory({"apple": 5}))
        self.done(self.store.commitSales([Sale(1, "apple", 9, 10.0)]))
        self.assertEqual(self.done(self.store.seedInventory({"apple": 5})),
                         ({"apple": 4}, False))
        self.assertEqual(self.store.seededWith(), {"apple": 5})

    def test_commitSalesTakesUnitsAndRecords(self):
        self.done(self.store.seedInventory({"apple": 3, "pear": 1}))
        sales = [Sale(11, "apple", 7, 1.0), Sale(12, "pear", 8, 2.0),
                 Sale(13, "apple", 8, 3.0)]
        self.done(self.store.commitSales(sales))
        self.assertEqual(self.store.inventory(), {"apple": 1, "pear": 0})
        self.assertEqual(self.store.sales(), sales)

    def test_salesOfManyUnitsTakeThemAll(self):
        """A sale of several units under one buy id takes them all, and is
        one line of the ledger that keeps its count."""
        self.done(self.store.seedInventory({"apple": 10}))
        sales = [Sale(11, "apple", 7, 1.0, "k", units=6), Sale(12, "apple", 8, 2.0)]
        self.done(self.store.commitSales(sales))
        self.assertEqual(self.store.inventory(), {"apple": 3})
        self.assertEqual([sale.units for sale in self.store.sales()], [6, 1])

    def test_copiesOfSharedFilesTakeNoUnits(self):
        """A copy of a shared file is in the ledger and takes nothing from
        the inventory, which holds no file."""
        self.done(self.store.seedInventory({"apple": 1}))
        sales = [Sale(11, "song.ogg", 7, 1.0, "k", copy=True, expires=601_000),
                 Sale(12, "apple", 8, 2.0)]
        self.done(self.store.commitSales(sales))
        self.assertEqual((self.store.inventory(), self.store.sales()),
                         ({"apple": 0}, sales))

    def test_restockKeepsTheSeed(self):
        """A running seller's restock sets units and keeps the stock the
        store began with (so a restart with the same --sell does not
        warn); one with a seed (--restock at start) sets that too."""
        self.done(self.store.seedInventory({"apple": 5}))
        self.done(self.store.restock({"plum": 1}))
        self.assertEqual((self.store.inventory(), self.store.seededWith()),
                         ({"apple": 5, "plum": 1}, {"apple": 5}))
        self.done(self.store.restock({"apple": 9}, seed={"apple": 9}))
        self.assertEqual((self.store.inventory(), self.store.seededWith()),
                         ({"apple": 9, "plum": 1}, {"apple": 9}))

    def test_unitsBeyondTheStockRecordNothing(self):
        """A sale of more units than are left fails whole: none taken."""
        self.done(self.store.seedInventory({"apple": 5}))
        self.refused(self.store.commitSales([Sale(11, "apple", 7, 1.0, units=4),
                                             Sale(12, "apple", 8, 1.0, units=2)]))
        self.assertEqual((self.store.inventory(), self.store.sales()), ({"apple": 5}, []))

    def test_purchaseAndPendingKeepTheirCounts(self):
        pending = PendingBuy(5, "apple", 9, (1, 9), expires=100, quantity=40)
        self.done(self.store.addPending(pending))
        self.assertEqual(self.store.pending(), [pending])
        purchase = Purchase(5, "apple", 9, 2.0, units=17)
        self.done(self.store.commitPurchase(purchase))
        self.assertEqual((self.store.bag(), self.store.pending()), ([purchase], []))

    def test_saleOfAMissingItemRecordsNothing(self):
        """One bad sale fails the whole batch: no unit taken, no sale kept."""
        self.done(self.store.seedInventory({"apple": 3}))
        self.done(self.store.commitSales([Sale(1, "apple", 7, 1.0)]))
        self.refused(self.store.commitSales([Sale(2, "apple", 7, 2.0),
                                             Sale(3, "plum", 7, 2.0)]))
        self.assertEqual(self.store.inventory(), {"apple": 2})
        self.assertEqual(self.store.sales(), [Sale(1, "apple", 7, 1.0)])

    def test_batchBeyondTheStockRecordsNothing(self):
        """Two sales in one batch for the last unit: neither is recorded."""
        self.done(self.store.seedInventory({"apple": 1}))
        self.refused(self.store.commitSales([Sale(1, "apple", 7, 1.0),
                                             Sale(2, "apple", 8, 1.0)]))
        self.assertEqual(self.store.inventory(), {"apple": 1})
        self.assertEqual(self.store.sales(), [])

    def test_buyIdSoldOnlyOnce(self):
        """Recording a buy id again is refused and takes no second unit."""
        self.done(self.store.seedInventory({"apple": 3}))
        self.done(self.store.commitSales([Sale(1, "apple", 7, 1.0)]))
        self.refused(self.store.commitSales([Sale(1, "apple", 7, 2.0)]))
        self.assertEqual(self.store.inventory(), {"apple": 2})
        self.assertEqual(self.store.sales(), [Sale(1, "apple", 7, 1.0)])

    def test_salesKeyedByBuyerKeyAndId(self):
        """One buy id from two buyer keys is two sales; from one key, one."""
        self.done(self.store.seedInventory({"apple": 3}))
        first, second = Sale(1, "apple", 7, 1.0, "key-a"), Sale(1, "apple", 8, 1.0, "key-b")
        self.done(self.store.commitSales([first, second]))
        self.refused(self.store.commitSales([Sale(1, "apple", 7, 2.0, "key-a")]))
        self.assertEqual((self.store.sales(), self.store.inventory()),
                         ([first, second], {"apple": 1}))

    def test_closedBuyIsNeverSold(self):
        """A closed buy is listed, and a sale of it is refused and takes no
        unit; closing it twice is harmless.  The same id from another
        buyer key is another buy."""
        self.done(self.store.seedInventory({"apple": 3}))
        closed = Closed("key-a", 5, 9000)
        self.done(self.store.closeBuys([closed], 0))
        self.done(self.store.closeBuys([Closed("key-a", 5, 9500)], 0))
        self.assertEqual(self.store.closed(), [closed])
        self.refused(self.store.commitSales([Sale(5, "apple", 7, 1.0, "key-a")]))
        self.refused(self.store.commitSales([Sale(6, "apple", 7, 1.0, "key-a"),
                                             Sale(5, "apple", 7, 1.0, "key-a")]))
        self.assertEqual((self.store.inventory(), self.store.sales()),
                         ({"apple": 3}, []))
        self.done(self.store.commitSales([Sale(5, "apple", 8, 1.0, "key-b")]))

    def test_closedForgottenOnceExpired(self):
        """A write forgets the closes whose buys expired before the time it
        is given, and only those, whatever order they came in."""
        closes = [Closed("k", buy_id, expires) for buy_id, expires in
                  ((9, 4000), (4, 1000), (7, 3000), (1, 5000), (8, 2000))]
        self.done(self.store.closeBuys(closes, 0))
        self.assertEqual(self.store.closed(), closes)
        self.done(self.store.closeBuys([Closed("k", 2, 6000)], 3000))
        self.assertEqual([entry.buy_id for entry in self.store.closed()],
                         [9, 7, 1, 2])

    def test_copiesFoldedIntoACountOnceExpired(self):
        """A copy of a shared file is a sale while remembered; a write
        given a time forgets the copies (and closes) whose ``expires`` is
        before it, folding each into its file's count of copies sold,
        before it checks what it records: a counted sale stays, and the
        buy id of a copy forgotten may be sold, or closed, again."""
        self.done(self.store.seedInventory({"apple": 1}))
        self.done(self.store.commitSales([
            Sale(1, "song.ogg", 7, 1.0, "k", copy=True, expires=601_000),
            Sale(2, "song.ogg", 7, 2.0, "k", copy=True, expires=602_000),
            Sale(3, "apple", 7, 3.0, "k")]))
        self.done(self.store.closeBuys([Closed("k", 1, 1_200_000)], 601_500))
        self.assertEqual(([s.buy_id for s in self.store.sales()], self.store.copiesSold()),
                         ([2, 3], {"song.ogg": 1}))
        self.done(self.store.commitSales(
            [Sale(2, "song.ogg", 7, 700.0, "k", copy=True, expires=1_300_000)], 700_000))
        self.assertEqual(([s.buy_id for s in self.store.sales()], self.store.copiesSold()),
                         ([3, 2], {"song.ogg": 2}))
        self.assertEqual(self.store.closed(), [Closed("k", 1, 1_200_000)])

    def test_soldBuyIsNotClosed(self):
        """A sold buy cannot be closed; nothing of the batch is."""
        self.done(self.store.seedInventory({"apple": 3}))
        self.done(self.store.commitSales([Sale(1, "apple", 7, 1.0, "k")]))
        self.refused(self.store.closeBuys([Closed("k", 2, 10), Closed("k", 1, 10)], 0))
        self.assertEqual(self.store.closed(), [])

    def test_purchaseAndPendingKeepTheirContentAndExpiry(self):
        pending = PendingBuy(5, "song", 9, (1, 9), "h", 1, 12345, "ab" * 32, 7)
        self.done(self.store.addPending(pending))
        self.assertEqual(self.store.pending(), [pending])
        purchase = Purchase(5, "song", 9, 2.0, "ab" * 32, 7)
        self.done(self.store.commitPurchase(purchase))
        self.assertEqual((self.store.bag(), self.store.pending()), ([purchase], []))

    # -- buyer -------------------------------------------------------------------

    def test_pendingAddAndDrop(self):
        first = PendingBuy(5, "apple", 9, (1, 4, 9), "10.0.0.9", 4009)
        second = PendingBuy(6, "pear", 3, (1, 3))
        self.done(self.store.addPending(first))
        self.done(self.store.addPending(second))
        self.assertEqual(self.store.pending(), [first, second])
        self.done(self.store.dropPending(5))
        self.assertEqual(self.store.pending(), [second])
        self.done(self.store.dropPending(5))
        self.assertEqual(self.store.pending(), [second])

    def test_pendingReplacedBySameId(self):
        """A buy id resent along another path is one pending buy."""
        self.done(self.store.addPending(PendingBuy(5, "apple", 9, (1, 4, 9))))
        moved = PendingBuy(5, "apple", 9, (1, 9), "10.0.0.9", 4009)
        self.done(self.store.addPending(moved))
        self.assertEqual(self.store.pending(), [moved])

    def test_commitPurchaseMovesPendingToBag(self):
        self.done(self.store.addPending(PendingBuy(5, "apple", 9, (1, 9))))
        self.done(self.store.addPending(PendingBuy(6, "pear", 3, (1, 3))))
        purchase = Purchase(5, "apple", 9, 12.5)
        self.done(self.store.commitPurchase(purchase))
        self.assertEqual(self.store.bag(), [purchase])
        self.assertEqual(self.store.pending(), [PendingBuy(6, "pear", 3, (1, 3))])

    def test_commitPurchaseTwiceKeepsOne(self):
        """A duplicated buyOK puts one item in the bag, not two."""
        purchase = Purchase(5, "apple", 9, 12.5)
        self.done(self.store.commitPurchase(purchase))
        self.done(self.store.commitPurchase(Purchase(5, "apple", 9, 13.0)))
        self.assertEqual(self.store.bag(), [purchase])


class MemoryStoreTests(_StoreContract, SynchronousTestCase):
    def makeStore(self):
        return MemoryStore()

    def test_notDurable(self):
        self.assertFalse(self.store.durable)


class SQLiteStoreTests(_StoreContract, SynchronousTestCase):
    def makeStore(self):
        self.directory = scratchDir(self)
        store = SQLiteStore(self.directory, busy_timeout=0)
        self.addCleanup(store.close)
        return store

    def reopen(self):
        self.done(self.store.close())
        self.store = SQLiteStore(self.directory)
        self.addCleanup(self.store.close)
        return self.store

    def test_durable(self):
        self.assertTrue(self.store.durable)
        self.assertTrue(self.store.new)
        self.assertEqual(self.store.path, os.path.join(self.directory, DB_NAME))

    def test_theLedgerIsItsOwnersOnly(self):
        """The database and its -wal file are 0600 whatever the umask
        (sqlite made them 0666 less it: 0644, the bag and trades readable
        by every local user)."""
        self.done(self.store.setNodeId(5))
        for name in (DB_NAME, DB_NAME + "-wal"):
            path = os.path.join(self.directory, name)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600, name)

    def test_survivesReopening(self):
        """Close and reopen: id, seed, stock, ledger, bag, pending and
        closed buy ids remain."""
        store = self.store
        self.done(store.setNodeId(99))
        self.done(store.seedInventory({"apple": 5}))
        self.done(store.commitSales([Sale(1, "apple", 7, 1.0), Sale(2, "apple", 8, 2.0)]))
        self.done(store.commitPurchase(Purchase(30, "pear", 4, 3.0)))
        self.done(store.addPending(PendingBuy(31, "pear", 4, (99, 6, 4), "10.0.0.4",
                                              4004, 777, "cd" * 32, 9)))
        self.done(store.commitPurchase(Purchase(32, "song", 4, 3.5, "ef" * 32, 10)))
        self.done(store.commitSales([Sale(2, "apple", 9, 2.5, "key-b", "ab" * 32, 5)]))
        self.done(store.closeBuys([Closed("key-a", 3, 5000), Closed(None, 4, 6000)], 0))
        store = self.reopen()
        self.assertEqual(store.closed(), [Closed("key-a", 3, 5000), Closed(None, 4, 6000)])
        self.assertFalse(store.new)
        self.assertEqual(store.nodeId(), 99)
        self.assertEqual(store.seededWith(), {"apple": 5})
        self.assertEqual(self.done(store.seedInventory({"apple": 5})),
                         ({"apple": 2}, False))
        self.assertEqual(store.sales(), [Sale(1, "apple", 7, 1.0),
                                         Sale(2, "apple", 8, 2.0),
                                         Sale(2, "apple", 9, 2.5, "key-b", "ab" * 32, 5)])
        self.assertEqual(store.bag(), [Purchase(30, "pear", 4, 3.0),
                                       Purchase(32, "song", 4, 3.5, "ef" * 32, 10)])
        self.assertEqual(store.pending(),
                         [PendingBuy(31, "pear", 4, (99, 6, 4), "10.0.0.4", 4004, 777,
                                     "cd" * 32, 9)])

    def test_walMode(self):
        """The database is in WAL mode for every connection, not just ours."""
        db = sqlite3.connect(self.store.path)
        self.addCleanup(db.close)
        self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "wal")

    def test_readStateWhileTheNodeRuns(self):
        """A reader sees the committed state and does not block the writer."""
        self.done(self.store.setNodeId(12))
        self.done(self.store.seedInventory({"apple": 2}))
        self.done(self.store.commitSales([Sale(1, "apple", 7, 1.0)]))
        self.done(self.store.commitPurchase(Purchase(40, "pear", 3, 2.0)))
        self.assertEqual(readState(self.directory), {
            "node_id": "12", "inventory": {"apple": 1},
            "sales": [{"buy_id": 1, "item": "apple", "buyer": "7", "time": 1.0,
                       "units": 1}],
            "copies": {},
            "bag": [{"buy_id": 40, "item": "pear", "seller": "3", "time": 2.0,
                     "units": 1}],
            "pending": []})
        self.done(self.store.commitSales([Sale(2, "apple", 8, 3.0)]))
        self.assertEqual(readState(self.directory)["inventory"], {"apple": 0})

    def test_readStateDuringAWriteTransaction(self):
        """
        While a writer holds a write transaction open, a reader still gets
        the last committed state at once; the write then commits.
        """
        self.done(self.store.seedInventory({"apple": 2}))
        other = lockedBy(self, self.store.path, "BEGIN IMMEDIATE")
        other.execute("UPDATE inventory SET units = 0")
        self.assertEqual(readState(self.directory)["inventory"], {"apple": 2})
        other.execute("COMMIT")
        self.assertEqual(readState(self.directory)["inventory"], {"apple": 0})

    def test_writeThatCannotLockIsAStoreError(self):
        """
        Another writer holds the database: the sales are refused with a
        StoreError (which the seller handles) and nothing is recorded.
        """
        self.done(self.store.seedInventory({"apple": 2}))
        other = lockedBy(self, self.store.path)
        error = self.refused(self.store.commitSales([Sale(1, "apple", 7, 1.0)]))
        self.assertEqual(str(error), "sales not recorded: database is locked")
        other.execute("ROLLBACK")
        self.assertEqual(self.store.inventory(), {"apple": 2})
        self.assertEqual(self.store.sales(), [])
        self.assertEqual(readState(self.directory)["sales"], [])

    def test_everyWriteOnALockedDatabaseIsAStoreError(self):
        """Whatever the write, a lock held elsewhere is a StoreError that
        says what was not done, and the snapshot is unchanged."""
        self.done(self.store.seedInventory({"apple": 2}))
        lockedBy(self, self.store.path)
        writes = {
            "node id not recorded": self.store.setNodeId(4),
            "pending buy not recorded": self.store.addPending(
                PendingBuy(5, "apple", 9, (1, 9))),
            "pending buy not dropped": self.store.dropPending(5),
            "purchase not recorded": self.store.commitPurchase(
                Purchase(5, "apple", 9, 1.0)),
        }
        for what, d in writes.items():
            self.assertEqual(str(self.refused(d)), f"{what}: database is locked")
        self.assertEqual((self.store.nodeId(), self.store.pending(), self.store.bag()),
                         (None, [], []))

    def test_seedOnALockedDatabase(self):
        """A seed that cannot be written leaves the store unseeded."""
        lockedBy(self, self.store.path)
        self.assertEqual(str(self.refused(self.store.seedInventory({"apple": 2}))),
                         "stock not seeded: database is locked")
        self.assertIsNone(self.store.seededWith())
        self.assertEqual(self.store.inventory(), {})

    def test_saleOfAnItemNotOnDiskIsAStoreError(self):
        """The writer checks the inventory inside its transaction."""
        self.done(self.store.seedInventory({"apple": 2}))
        error = self.refused(self.store.commitSales([Sale(1, "plum", 7, 1.0)]))
        self.assertEqual(str(error), "sales not recorded: no plum in the inventory")

    def test_writesAfterCloseAreStoreErrors(self):
        """Once closed, a write fails at once, with a reason."""
        self.done(self.store.close())
        self.assertEqual(str(self.refused(self.store.setNodeId(3))),
                         "node id not recorded: the store is closed")
        self.done(self.store.close())

    def test_readStateAfterTheNodeStopped(self):
        self.done(self.store.setNodeId(3))
        self.done(self.store.close())
        self.assertEqual(readState(self.directory), {
            "node_id": "3", "inventory": {}, "sales": [], "copies": {}, "bag": [],
            "pending": []})

    def test_readStateOfAFreshStore(self):
        """No id yet: node_id is null."""
        self.assertIsNone(readState(self.directory)["node_id"])


def lockedBy(test, path, begin="BEGIN EXCLUSIVE"):
    """A second connection to the database holding a write lock until the
    test ends (or it rolls back); return it."""
    other = sqlite3.connect(path, isolation_level=None)
    test.addCleanup(other.close)
    other.execute(begin)
    return other


class WriterProcessStoreTests(SQLiteStoreTests):
    """The same, with the writes run as a daemon's are: handed to the
    store's writer (pickled, framed, run by the writer's batch on its own
    connection, and answered), the pipe aside (L{PipedWriter})."""

    def makeStore(self):
        self.directory = scratchDir(self)
        store = SQLiteStore(self.directory, busy_timeout=0, writer=PipedWriter)
        self.addCleanup(store.close)
        return store

    def reopen(self):
        self.done(self.store.close())
        self.store = SQLiteStore(self.directory, writer=PipedWriter)
        self.addCleanup(self.store.close)
        return self.store

    def test_normalSyncOnItsCommits(self):
        """The writer's commits do not sync: its batches do, once each."""
        writer = self.store._writer
        self.assertEqual(writer.db.execute("PRAGMA synchronous").fetchone(), (1,))
        self.done(self.store.setNodeId(3))
        self.assertEqual(writer.syncs, 1)


class QueuedExecutor:
    """An executor that runs nothing until the test says so: like the
    writer thread, with the test deciding when each write finishes."""

    def __init__(self):
        self.queue = []
        self.started = self.stopped = False

    def start(self):
        self.started = True

    def submit(self, function, *args):
        d = defer.Deferred()
        self.queue.append((d, function, args))
        return d

    def runOne(self):
        d, function, args = self.queue.pop(0)
        defer.maybeDeferred(function, *args).chainDeferred(d)

    def runAll(self):
        while self.queue:
            self.runOne()

    def stop(self):
        self.stopped = True
        return defer.succeed(None)


class WriterTests(SynchronousTestCase):
    """
    Writes run on the executor, in order; the snapshot, and so every read,
    changes only once a write is done; a Deferred fires only then.
    """

    def setUp(self):
        self.directory = scratchDir(self)
        self.executor = QueuedExecutor()
        self.store = SQLiteStore(self.directory, self.executor)
        self.addCleanup(self.close)

    def close(self):
        d = self.store.close()
        self.executor.runAll()
        self.successResultOf(d)

    def test_startedWhenOpen(self):
        self.assertTrue(self.executor.started)

    def test_readsShowWhatIsOnDisk(self):
        seeded = self.store.seedInventory({"apple": 2})
        sold = self.store.commitSales([Sale(1, "apple", 7, 1.0)])
        self.assertNoResult(seeded)
        self.assertEqual((self.store.inventory(), self.store.seededWith()), ({}, None))
        self.executor.runOne()
        self.assertEqual(self.successResultOf(seeded), ({"apple": 2}, True))
        self.assertEqual(self.store.inventory(), {"apple": 2})
        self.assertNoResult(sold)
        self.assertEqual(readState(self.directory)["sales"], [])
        self.executor.runOne()
        self.assertIsNone(self.successResultOf(sold))
        self.assertEqual(self.store.inventory(), {"apple": 1})
        self.assertEqual(len(readState(self.directory)["sales"]), 1)

    def test_inOrder(self):
        """An add then a drop of the same pending buy ends with none."""
        added = self.store.addPending(PendingBuy(5, "apple", 9, (1, 9)))
        dropped = self.store.dropPending(5)
        self.executor.runAll()
        self.successResultOf(added)
        self.successResultOf(dropped)
        self.assertEqual(self.store.pending(), [])

    def test_closeWaitsForTheWrites(self):
        """close() runs after every write asked for before it, then stops
        the executor; the Deferred fires only then."""
        written = self.store.setNodeId(8)
        closed = self.store.close()
        self.assertEqual(str(self.failureResultOf(self.store.setNodeId(9),
                                                  StoreError).value),
                         "node id not recorded: the store is closed")
        self.assertNoResult(closed)
        self.executor.runAll()
        self.successResultOf(written)
        self.successResultOf(closed)
        self.assertTrue(self.executor.stopped)
        self.assertEqual(readState(self.directory)["node_id"], "8")

    def test_unexpectedErrorIsAStoreError(self):
        """Even a bug below the store reaches the caller as a StoreError."""
        d = self.store.addPending(PendingBuy(5, "apple", 9, (1, object())))
        self.executor.runAll()
        error = self.failureResultOf(d, StoreError).value
        self.assertTrue(str(error).startswith("pending buy not recorded: TypeError: "),
                        str(error))


#: A data dir of schema 1, as the version before buys expired made it.
SCHEMA_1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE inventory (
    item TEXT PRIMARY KEY, units INTEGER NOT NULL CHECK (units >= 0));
CREATE TABLE sales (
    buy_id INTEGER PRIMARY KEY, item TEXT NOT NULL, buyer INTEGER NOT NULL,
    time REAL NOT NULL);
CREATE TABLE bag (
    buy_id INTEGER PRIMARY KEY, item TEXT NOT NULL, seller INTEGER NOT NULL,
    time REAL NOT NULL);
CREATE TABLE pending (
    buy_id INTEGER PRIMARY KEY, item TEXT NOT NULL, seller INTEGER NOT NULL,
    path TEXT NOT NULL, host TEXT NOT NULL, port INTEGER NOT NULL);
CREATE TABLE closed (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, buy_id INTEGER NOT NULL UNIQUE);
INSERT INTO meta VALUES ('node_id', '17');
INSERT INTO meta VALUES ('seeded', '{"apple": 3}');
INSERT INTO inventory VALUES ('apple', 2);
INSERT INTO sales VALUES (777, 'apple', 42, 5.0);
INSERT INTO bag VALUES (31, 'pear', 9, 6.0);
INSERT INTO pending VALUES (32, 'fig', 9, '[17, 9]', 'h', 9009);
INSERT INTO closed (buy_id) VALUES (780);
"""


#: A data dir of schema 4, as its last version made it: a counted sale,
#: and two copies of a shared file, ledger lines for good.
SCHEMA_4 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE inventory (
    item TEXT PRIMARY KEY, units INTEGER NOT NULL CHECK (units >= 0));
CREATE TABLE bag (
    buy_id INTEGER PRIMARY KEY, item TEXT NOT NULL, seller INTEGER NOT NULL,
    time REAL NOT NULL, sha256 TEXT, size INTEGER,
    units INTEGER NOT NULL DEFAULT 1 CHECK (units >= 1));
CREATE TABLE pending (
    buy_id INTEGER PRIMARY KEY, item TEXT NOT NULL, seller INTEGER NOT NULL,
    path TEXT NOT NULL, host TEXT NOT NULL, port INTEGER NOT NULL,
    expires INTEGER, sha256 TEXT, size INTEGER, quantity INTEGER NOT NULL DEFAULT 1);
CREATE TABLE sales (
    buyer_key TEXT NOT NULL, buy_id INTEGER NOT NULL, item TEXT NOT NULL,
    buyer INTEGER NOT NULL, time REAL NOT NULL, sha256 TEXT, size INTEGER,
    units INTEGER NOT NULL DEFAULT 1 CHECK (units >= 1),
    copy INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (buyer_key, buy_id));
CREATE TABLE closed (
    buyer_key TEXT NOT NULL, buy_id INTEGER NOT NULL, expires INTEGER NOT NULL,
    PRIMARY KEY (buyer_key, buy_id));
CREATE INDEX closed_expires ON closed (expires);
INSERT INTO meta VALUES ('schema', '4');
INSERT INTO meta VALUES ('seeded', '{"apple": 3}');
INSERT INTO inventory VALUES ('apple', 2);
INSERT INTO sales VALUES ('k', 1, 'apple', 42, 5.0, NULL, NULL, 1, 0);
INSERT INTO sales VALUES ('k', 2, 'song.ogg', 42, 6.0, NULL, NULL, 1, 1);
INSERT INTO sales VALUES ('k', 3, 'song.ogg', 43, 1000.0, NULL, NULL, 1, 1);
"""



class UnstartableWriterTests(SynchronousTestCase):
    def test_noProcessIsAStoreError(self):
        """A writer process that cannot be started (the fork refused) is a
        StoreError with the reason, as any data dir that cannot be used."""

        class Unstartable(PipedWriter):
            def start(self):
                raise OSError(11, "Resource temporarily unavailable")

        with self.assertRaises(StoreError) as raised:
            SQLiteStore(scratchDir(self), writer=Unstartable)
        self.assertEqual(str(raised.exception), "cannot start the store's writer process: "
                         "[Errno 11] Resource temporarily unavailable")


class WriterBatchTests(SynchronousTestCase):
    """
    Through the writer (L{PipedWriter}, holding its requests until the
    test runs them): a write is done (its Deferred fired, the snapshot and
    every read changed) only once the batch that committed it has synced,
    and the writes handed over meanwhile are one batch, one sync.
    """

    def setUp(self):
        self.directory = scratchDir(self)
        self.store = SQLiteStore(self.directory, writer=lambda path, timeout: PipedWriter(
            path, timeout, held=True))
        self.writer = self.store._writer
        self.addCleanup(self.close)

    def close(self):
        d = self.store.close()
        self.writer.run()
        self.successResultOf(d)

    def test_doneOnlyOnceSynced(self):
        seeded = self.store.seedInventory({"apple": 2})
        self.writer.run()
        self.successResultOf(seeded)
        first = self.store.commitSales([Sale(1, "apple", 7, 1.0)])
        second = self.store.commitSales([Sale(2, "apple", 7, 2.0)])
        self.assertNoResult(first)
        self.assertEqual(self.store.inventory(), {"apple": 2})
        self.writer.run()
        self.successResultOf(first)
        self.successResultOf(second)
        self.assertEqual(self.store.inventory(), {"apple": 0})
        self.assertEqual((self.writer.batches[-1], self.writer.syncs), ([2, 3], 2))

    def test_failedSyncFailsTheWrites(self):
        """A sync that fails fails its batch's writes, saying what was not
        done and why, and ends the writer: every later write fails with
        L{WriterGone}, and its owner is told once; the snapshot is
        unchanged."""
        told = []
        self.writer.onEnded = told.append
        self.store.seedInventory({"apple": 2})
        self.writer.run()

        def broken():
            raise OSError(5, "Input/output error")

        self.writer.sync = broken
        sold = self.store.commitSales([Sale(1, "apple", 7, 1.0)])
        written = self.store.setNodeId(8)
        self.writer.run()
        self.assertEqual(
            str(self.failureResultOf(sold, StoreError).value),
            "sales not recorded: the disk did not sync: [Errno 5] Input/output error")
        self.failureResultOf(written, StoreError)
        ended = ("the store's writer process ended: its database or disk failed: "
                 "the disk did not sync: [Errno 5] Input/output error")
        self.assertEqual(told, [ended])
        later = self.store.setNodeId(9)
        self.assertEqual(str(self.failureResultOf(later, WriterGone).value),
                         f"node id not recorded: {ended}")
        self.assertEqual((self.store.sales(), self.store.nodeId()), ([], None))

    def test_oneFailedWriteLeavesItsBatch(self):
        """A write that fails (a constraint) fails alone: the others of
        its batch are committed and synced."""
        self.store.seedInventory({"apple": 2})
        self.writer.run()
        too_many = self.store.commitSales([Sale(1, "apple", 7, 1.0, units=3)])
        written = self.store.setNodeId(8)
        self.writer.run()
        self.failureResultOf(too_many, StoreError)
        self.successResultOf(written)
        self.assertEqual((self.store.inventory(), self.store.nodeId()), ({"apple": 2}, 8))

    def test_closeWaitsForTheWrites(self):
        written = self.store.setNodeId(8)
        closed = self.store.close()
        self.assertNoResult(written)
        self.assertNoResult(closed)
        self.writer.run()
        self.successResultOf(written)
        self.successResultOf(closed)
        self.failureResultOf(self.store.setNodeId(9), StoreError)
        self.assertEqual(readState(self.directory)["node_id"], "8")


class UpgradeTests(SynchronousTestCase):
    """A data dir of an earlier schema is upgraded, and keeps its ledger;
    one this version cannot read is refused with a reason, untouched."""

    def dataDir(self, script):
        folder = scratchDir(self)
        db = sqlite3.connect(os.path.join(folder, DB_NAME))
        db.executescript(script)
        db.close()
        return folder

    def open(self, folder):
        store = SQLiteStore(folder)
        self.addCleanup(store.close)
        return store

    def backToSchema4(self, folder):
        """The data dir, upgraded, taken back to schema 4 (every copy a
        ledger line for good); the connection, open."""
        db = sqlite3.connect(os.path.join(folder, DB_NAME))
        db.executescript("DROP INDEX sales_expires; DROP TABLE copies; "
                         "ALTER TABLE sales DROP COLUMN expires; "
                         "UPDATE meta SET value = '4' WHERE key = 'schema';")
        return db

    def test_schema1Upgraded(self):
        """Ledger, bag, pending buys, id and stock stay; the sales name no
        buyer key, the pending buy no expiry; the closed ids (which named
        neither) go.  Reopened, nothing changes."""
        folder = self.dataDir(SCHEMA_1)
        for _ in range(2):
            store = self.open(folder)
            self.assertEqual((store.nodeId(), store.seededWith(), store.inventory()),
                             (17, {"apple": 3}, {"apple": 2}))
            self.assertEqual(store.sales(), [Sale(777, "apple", 42, 5.0)])
            self.assertEqual(store.bag(), [Purchase(31, "pear", 9, 6.0)])
            self.assertEqual(store.pending(), [PendingBuy(32, "fig", 9, (17, 9), "h", 9009)])
            self.assertEqual(store.closed(), [])
            self.successResultOf(store.close())
        self.assertEqual(readState(folder)["sales"],
                         [{"buy_id": 777, "item": "apple", "buyer": "42", "time": 5.0,
                           "units": 1}])

    def test_schema2Upgraded(self):
        """A data dir of schema 2 (before quantities) gets the count
        columns: every earlier sale, purchase and pending buy is of one
        unit; a sale of several units is kept across reopening."""
        folder = self.dataDir(SCHEMA_1)
        store = self.open(folder)
        self.successResultOf(store.close())
        db = self.backToSchema4(folder)
        # Back to schema 2, as the version before quantities made it.
        for table, column in (("sales", "units"), ("bag", "units"),
                              ("pending", "quantity"), ("sales", "copy")):
            db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
        db.commit()
        db.close()
        self.assertEqual(readState(folder)["bag"][0]["units"], 1)
        store = self.open(folder)
        self.assertEqual(store.sales(), [Sale(777, "apple", 42, 5.0)])
        self.assertEqual(store.pending()[0].quantity, 1)
        self.successResultOf(store.commitSales([Sale(778, "apple", 43, 6.0, "k",
                                                     units=2)]))
        self.successResultOf(store.close())
        store = self.open(folder)
        self.assertEqual(([s.units for s in store.sales()], store.inventory()),
                         ([1, 2], {"apple": 0}))
        self.assertEqual([s["units"] for s in readState(folder)["sales"]], [1, 2])

    def test_schema3Upgraded(self):
        """A data dir of schema 3 stocked shared files with 10^9 units, by
        name and by content, which a restart read as counted stock (issue
        35): upgraded, they leave the inventory, their sales become
        copies, and counted items stay, restocked ones too."""
        folder = self.dataDir(SCHEMA_1)
        store = self.open(folder)
        self.successResultOf(store.close())
        db = self.backToSchema4(folder)
        db.execute("ALTER TABLE sales DROP COLUMN copy")
        content = "sha256:" + "ab" * 32
        db.executemany("INSERT INTO inventory VALUES (?, ?)",
                       [("photo.bin", 999_999_998), (content, 999_999_999),
                        ("plum", 1), ("bulk", 950_000_000)])
        db.execute("UPDATE meta SET value = '{\"apple\": 3, \"bulk\": 950000000}' "
                   "WHERE key = 'seeded'")
        db.execute("INSERT INTO sales VALUES ('k', 778, 'photo.bin', 43, 6.0, NULL, "
                   "NULL, 1)")
        db.execute("INSERT INTO sales VALUES ('k', 779, ?, 43, 6.0, 'ab', 5, 1)",
                   (content,))
        db.execute("UPDATE meta SET value = '3' WHERE key = 'schema'")
        db.commit()
        db.close()
        # Read before any node opens it (bazaar-ledger after an upgrade),
        # the stock is the upgrade's: the files were shown with 10^9 units.
        self.assertEqual(readState(folder)["inventory"],
                         {"apple": 2, "bulk": 950_000_000, "plum": 1})
        store = self.open(folder)
        self.assertEqual(store.inventory(), {"apple": 2, "bulk": 950_000_000, "plum": 1})
        self.assertEqual([(sale.item, sale.copy) for sale in store.sales()],
                         [("apple", False), ("photo.bin", True), (content, True)])

    def test_schema4Upgraded(self):
        """A data dir of schema 4 kept every copy sold for good: upgraded,
        each copy is remembered as if this version had sold it (until its
        time and 10 minutes), and a write past that folds it into its
        file's count, on disk; the counted sale stays."""
        folder = self.dataDir(SCHEMA_4)
        self.assertEqual((len(readState(folder)["sales"]), readState(folder)["copies"]),
                         (3, {}))
        store = self.open(folder)
        self.assertEqual([(sale.buy_id, sale.copy, sale.expires) for sale in store.sales()],
                         [(1, False, None), (2, True, 606_000), (3, True, 1_600_000)])
        self.successResultOf(store.commitSales([], forget_before=700_000))
        self.assertEqual(store.copiesSold(), {"song.ogg": 1})
        self.successResultOf(store.close())
        store = self.open(folder)
        self.assertEqual(([sale.buy_id for sale in store.sales()], store.copiesSold()),
                         ([1, 3], {"song.ogg": 1}))
        self.assertEqual(readState(folder)["copies"], {"song.ogg": 1})

    def test_newerSchemaRefused(self):
        folder = self.dataDir(f"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
                              f"INSERT INTO meta VALUES ('schema', "
                              f"'{SCHEMA_VERSION + 1}');")
        with self.assertRaises(StoreError) as caught:
            SQLiteStore(folder)
        self.assertIn(f"was written by a newer twisted-bazaar (schema "
                      f"{SCHEMA_VERSION + 1}", str(caught.exception))

    def test_foreignDatabaseRefusedUntouched(self):
        folder = self.dataDir("CREATE TABLE sales (id INTEGER, what TEXT);"
                              "INSERT INTO sales VALUES (1, 'x');")
        with self.assertRaises(StoreError) as caught:
            SQLiteStore(folder)
        self.assertIn("is not a twisted-bazaar database this version can read",
                      str(caught.exception))
        db = sqlite3.connect(os.path.join(folder, DB_NAME))
        self.addCleanup(db.close)
        self.assertEqual(db.execute("SELECT * FROM sales").fetchall(), [(1, "x")])

    def test_failedUpgradeChangesNothing(self):
        """An upgrade that fails at its last steps (here: an index of the
        new schema's name is in the way) is rolled back: schema 1 remains,
        with its ledger, and the error says why."""
        folder = self.dataDir(SCHEMA_1 + "CREATE INDEX closed_expires ON bag (item);")
        with self.assertRaises(StoreError) as caught:
            SQLiteStore(folder)
        self.assertIn("closed_expires already exists", str(caught.exception))
        db = sqlite3.connect(os.path.join(folder, DB_NAME))
        self.addCleanup(db.close)
        self.assertEqual(db.execute("SELECT * FROM sales").fetchall(),
                         [(777, "apple", 42, 5.0)])
        self.assertEqual(db.execute("SELECT COUNT(*) FROM closed").fetchone(), (1,))


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


    def test_newerSchemaRefused(self):
        """A ledger of a newer version was printed as this one reads it
        (the fifth new user): refused, as the node refuses it."""
        folder = scratchDir(self)
        SQLiteStore(folder).close()
        path = os.path.join(folder, DB_NAME)
        db = sqlite3.connect(path)
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema'",
                   (str(SCHEMA_VERSION + 1),))
        db.commit()
        db.close()
        with self.assertRaises(StoreError) as caught:
            readState(folder)
        self.assertEqual(str(caught.exception), (
            f"{path} was written by a newer twisted-bazaar (schema "
            f"{SCHEMA_VERSION + 1}; this one knows {SCHEMA_VERSION}): read it with "
            "that version"))


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

    def test_pathTooLongForSQLite(self):
        """A data dir whose path is past what SQLite opens (512 bytes) is
        refused saying so: "unable to open database file" alone named no
        reason (a node started in a folder of a long path)."""
        path = os.path.join(scratchDir(self), *["x" * 200] * 3)
        with self.assertRaises(StoreError) as caught:
            SQLiteStore(path)
        size = len(os.path.join(path, DB_NAME))
        self.assertEqual(str(caught.exception), (
            f"cannot use data dir {path}: unable to open database file (its path is "
            f"{size} bytes long, and SQLite opens no file past 512, its -wal file's "
            "name included: give a data dir of a shorter path)"))

    def test_aFullDiskIsSaidSo(self):
        """A data dir on a full disk: SQLite says only "disk I/O error"
        (its -shm file finds no room; seen on a 40 KiB tmpfs), which
        reads as a broken disk.  The refusal says how little room is left
        and what to do.  (The disk's room and SQLite's error are the
        test's: statvfs and connect patched.)"""
        from twisted_bazaar.store import sqlite as module

        path = scratchDir(self)

        class Full:
            f_bavail, f_frsize = 3, 4096

        def failed(*args, **kwargs):
            raise sqlite3.OperationalError("disk I/O error")

        self.patch(module.os, "statvfs", lambda folder: Full())
        self.patch(module.sqlite3, "connect", failed)
        with self.assertRaises(StoreError) as caught:
            SQLiteStore(path)
        self.assertEqual(str(caught.exception), (
            f"cannot use data dir {path}: disk I/O error (its disk has 12288 bytes "
            "free: free some, or give a --data-dir on a disk with room)"))

    def test_missingDirIsCreated(self):
        path = os.path.join(scratchDir(self), "a", "b")
        store = SQLiteStore(path)
        self.addCleanup(store.close)
        self.assertTrue(store.new)
        self.assertTrue(os.path.isfile(os.path.join(path, DB_NAME)))


    def test_aDatabaseItCannotWriteIsRefused(self):
        """A ledger this process can read but not write (a read-only
        file, played here by SQLite's query_only) was opened, and the node
        ran on with every buy refused as it could not be recorded (the
        fifth new user).  Refused at open, saying so."""
        path = scratchDir(self)
        SQLiteStore(path).close()
        connect = sqlite3.connect

        def readOnly(*args, **kwargs):
            db = connect(*args, **kwargs)
            db.execute("PRAGMA query_only = ON")
            return db

        self.patch(sqlite3, "connect", readOnly)
        with self.assertRaises(StoreError) as caught:
            SQLiteStore(path)
        self.assertEqual(str(caught.exception), (
            f"{os.path.join(path, DB_NAME)} cannot be written (attempt to write a "
            "readonly database): no sale or purchase could be recorded; make it, and "
            "its folder, writable by this user"))


class OpenStoreTests(SynchronousTestCase):
    def test_noDirectoryMeansMemory(self):
        self.assertIsInstance(openStore(None), MemoryStore)

    def test_directoryMeansSQLite(self):
        folder = scratchDir(self)
        store = openStore(folder)
        self.addCleanup(store.close)
        self.assertIsInstance(store, SQLiteStore)
        self.assertEqual(store.path, os.path.join(folder, DB_NAME))
        self.successResultOf(store.setNodeId(3))

    def test_unusableDirStartsNoThread(self):
        """A data dir that cannot be used leaves no writer thread behind."""
        path = os.path.join(scratchDir(self), "taken")
        open(path, "w").close()
        reactor = ThreadedFakeReactor()
        before = threading.active_count()
        self.assertRaises(StoreError, openStore, path, reactor)
        self.assertEqual((threading.active_count(), reactor.triggers), (before, []))


class LockedWriterThreadTests(SynchronousTestCase):
    """
    Another process holds the database while the store writes on its
    writer thread, as a daemon's store does: the wait for the lock is the
    writer's, so the reactor's thread stays free, and what comes back is a
    result or a StoreError, never a block.  Driven through a
    L{ThreadedFakeReactor}: the test's thread plays the reactor, so
    whatever it does while a write is out, a blocked reactor could not.
    """

    def setUp(self):
        self.directory = scratchDir(self)
        self.reactor = ThreadedFakeReactor()
        self.threads_before = threading.active_count()

    def open(self, busy_timeout):
        """A store on a writer thread, seeded with two apples."""
        store = SQLiteStore(self.directory, ThreadExecutor(self.reactor),
                            busy_timeout=busy_timeout)
        self.addCleanup(self.close, store)
        self.assertEqual(self.done(store.seedInventory({"apple": 2})),
                         ({"apple": 2}, True))
        return store

    def done(self, d):
        self.reactor.runUntil(lambda: d.called)
        return self.successResultOf(d)

    def close(self, store):
        self.done(store.close())
        self.assertEqual(threading.active_count(), self.threads_before)

    def test_writeWaitsForTheLockOnTheWriterThread(self):
        """
        With a busy timeout far longer than the test takes, only the
        release of the lock can end the write's wait: the test's thread
        releases it while the writer is inside its BEGIN, which a write
        waiting on the caller's thread would not let happen (commitSales
        would return only after the busy timeout, with a failure); the
        sale is then recorded.
        """
        store = self.open(busy_timeout=30)
        began = threading.Event()
        store._db.set_trace_callback(
            lambda sql: began.set() if sql == "BEGIN IMMEDIATE" else None)
        other = lockedBy(self, store.path)
        sold = store.commitSales([Sale(1, "apple", 7, 1.0)])
        self.assertTrue(began.wait(10), "the writer never began its transaction")
        self.assertNoResult(sold)
        self.assertEqual(store.inventory(), {"apple": 2})
        other.execute("ROLLBACK")
        self.assertIsNone(self.done(sold))
        self.assertEqual(store.inventory(), {"apple": 1})
        self.assertEqual(readState(self.directory)["inventory"], {"apple": 1})

    def test_lockHeldPastTheBusyTimeoutIsAStoreError(self):
        """The writer gives up after busy_timeout; the caller gets a
        StoreError through the reactor, nothing is recorded, and once the
        lock is gone writes succeed again."""
        store = self.open(busy_timeout=0.05)
        other = lockedBy(self, store.path)
        sold = store.commitSales([Sale(1, "apple", 7, 1.0)])
        self.reactor.runUntil(lambda: sold.called)
        self.assertEqual(str(self.failureResultOf(sold, StoreError).value),
                         "sales not recorded: database is locked")
        self.assertEqual(store.inventory(), {"apple": 2})
        other.execute("ROLLBACK")
        self.assertIsNone(self.done(store.commitSales([Sale(1, "apple", 7, 1.0)])))
        self.assertEqual(store.inventory(), {"apple": 1})


# A plain pytest function on the real reactor (pytest-twisted runs it;
# trial skips it): the writer thread as the daemons use it.

@pytest_twisted.inlineCallbacks
def test_openStoreWithAReactorWritesInAProcess(tmp_path):
    """openStore(dir, reactor) runs writes in a writer process of its
    own: done once on disk; closing the store ends the process."""
    from twisted.internet import reactor

    threads = threading.active_count()
    store = openStore(str(tmp_path), reactor)
    assert isinstance(store._writer, WriterProcess)
    yield store.setNodeId(5).addTimeout(30, reactor)
    assert store.nodeId() == 5
    assert readState(str(tmp_path))["node_id"] == "5"
    pid = store._writer.transport.pid
    assert pid != os.getpid()
    yield store.close().addTimeout(30, reactor)
    assert store._writer.transport.pid is None
    assert threading.active_count() == threads


@pytest_twisted.inlineCallbacks
def test_aWriterProcessOutlivesItsParentsSignals(tmp_path):
    """A Ctrl-C or a stop sent to the whole process group does not end the
    writer: its parent closes the store, and the writer finishes what it
    was handed first."""
    from twisted.internet import reactor

    store = openStore(str(tmp_path), reactor)
    yield store.setNodeId(5).addTimeout(30, reactor)
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        os.kill(store._writer.transport.pid, number)
    yield store.setNodeId(6).addTimeout(30, reactor)
    assert store._writer.failed is None
    yield store.close().addTimeout(30, reactor)
    assert readState(str(tmp_path))["node_id"] == "6"


@pytest_twisted.inlineCallbacks
def test_aWriterProcessKilledFailsEveryWrite(tmp_path):
    """A writer process that ends unasked (killed) fails the writes
    waiting and every later one, saying so: nothing is promised that is
    not on disk."""
    from twisted.internet import reactor

    store = openStore(str(tmp_path), reactor)
    yield store.setNodeId(5).addTimeout(30, reactor)
    ended = defer.Deferred()
    store._writer._ended.addBoth(ended.callback)
    os.kill(store._writer.transport.pid, signal.SIGKILL)
    yield ended.addTimeout(30, reactor)
    with pytest.raises(StoreError) as failed:
        yield store.setNodeId(6)
    assert str(failed.value).startswith(
        "node id not recorded: the store's writer process ended:")
    assert store.nodeId() == 5
    yield store.close().addTimeout(30, reactor)


class SalesLogTests(SynchronousTestCase):
    """
    Schema 6 keeps the sales as a log, without an index of (buyer key,
    buy id) (each sale with a random buy id wrote a page of it): the
    store itself refuses a sale recorded twice, or a sold buy closed,
    counting the sales of writes still on the writer thread.
    """

    def setUp(self):
        self.directory = scratchDir(self)
        self.reactor = ThreadedFakeReactor()
        self.store = SQLiteStore(self.directory, ThreadExecutor(self.reactor))
        self.addCleanup(self.closeStore)

    def closeStore(self):
        d = self.store.close()
        self.reactor.runUntil(lambda: d.called)

    def finish(self, d):
        self.reactor.runUntil(lambda: d.called)
        return self.successResultOf(d)

    def test_noIndexOfBuys(self):
        """The sales table's one index is that of the copies' expiries."""
        db = sqlite3.connect(os.path.join(self.directory, DB_NAME))
        self.addCleanup(db.close)
        self.assertEqual(db.execute(
            "SELECT name FROM sqlite_master WHERE tbl_name = 'sales' AND type = 'index'"
        ).fetchall(), [("sales_expires",)])

    def test_saleInFlightNotRecordedAgain(self):
        """A sale whose write is still on the writer thread is refused a
        second time, as is one already written, and one twice in a
        batch; nothing of a refused batch is written."""
        self.finish(self.store.seedInventory({"apple": 9}))
        first = self.store.commitSales([Sale(1, "apple", 7, 1.0, "k")])
        again = self.store.commitSales([Sale(2, "apple", 7, 1.0, "k"),
                                        Sale(1, "apple", 7, 2.0, "k")])
        self.assertIn("sale 1 is already recorded", str(self.failureResultOf(
            again, StoreError).value))
        self.finish(first)
        self.failureResultOf(self.store.commitSales([Sale(1, "apple", 7, 3.0, "k")]),
                             StoreError)
        self.failureResultOf(self.store.commitSales([Sale(3, "apple", 7, 3.0, "k"),
                                                     Sale(3, "apple", 7, 3.0, "k")]),
                             StoreError)
        self.finish(self.store.commitSales([Sale(1, "apple", 7, 3.0, "other key")]))
        self.assertEqual([(s.buyer_key, s.buy_id) for s in self.store.sales()],
                         [("k", 1), ("other key", 1)])
        self.assertEqual([(s["buy_id"]) for s in readState(self.directory)["sales"]],
                         [1, 1])

    def test_saleInFlightNotClosed(self):
        """A buy whose sale is still being written is not closed."""
        self.finish(self.store.seedInventory({"apple": 9}))
        sold = self.store.commitSales([Sale(1, "apple", 7, 1.0, "k")])
        self.assertIn("buy 1 is sold", str(self.failureResultOf(
            self.store.closeBuys([Closed("k", 1, 10)], 0), StoreError).value))
        self.finish(sold)
        self.failureResultOf(self.store.closeBuys([Closed("k", 1, 10)], 0), StoreError)
        self.assertEqual(self.store.closed(), [])

    def test_failedSaleMayBeRecordedAgain(self):
        """A sale whose write failed (no such item) is no sale: it may be
        recorded, or its buy closed, afterwards."""
        self.finish(self.store.seedInventory({"apple": 9}))
        failed = self.store.commitSales([Sale(1, "pear", 7, 1.0, "k")])
        self.reactor.runUntil(lambda: failed.called)
        self.failureResultOf(failed, StoreError)
        self.finish(self.store.closeBuys([Closed("k", 1, 10)], 0))
        self.assertEqual(self.store.closed(), [Closed("k", 1, 10)])
