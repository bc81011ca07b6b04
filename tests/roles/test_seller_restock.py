"""
Tests of L{twisted_bazaar.roles.seller.Seller.restock}: a running seller's
stock set or raised, on disk and told to discovery, undone when the store
refuses it.
"""

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.roles.seller import Seller
from twisted_bazaar.store import MemoryStore, Sale, StoreError
from twisted_bazaar.store.sqlite import SQLiteStore

from tests.helpers import makeNode
from tests.store.pipedwriter import PipedWriter
from tests.store.test_stores import scratchDir


class _Discovery:
    """Records what the seller tells discovery."""

    def __init__(self):
        self.changes = []

    def advertise(self, shop):
        pass

    def stockChanged(self, item, units):
        self.changes.append((item, units))


class _RefusingStore(MemoryStore):
    def restock(self, stock):
        return defer.fail(StoreError("disk full"))


class RestockTests(SynchronousTestCase):
    def sellerWith(self, store=None, **stock):
        node = makeNode(1)
        if store is not None:
            node.store = store
        node.discovery = self.discovery = _Discovery()
        return Seller(node, stock)

    def test_setsAndRecords(self):
        seller = self.sellerWith(apple=1)
        was = self.successResultOf(seller.restock({"apple": 5, "pear": 2}))
        self.assertEqual(was, {"apple": 1, "pear": 0})
        self.assertEqual(seller.stockHeld(), {"apple": 5, "pear": 2})
        self.assertEqual(seller.store.inventory(), {"apple": 5, "pear": 2})
        self.assertEqual(self.discovery.changes, [("apple", 5), ("pear", 2)])

    def test_adds(self):
        seller = self.sellerWith(apple=1, fig=4)
        was = self.successResultOf(seller.restock({"apple": 3}, add=True))
        self.assertEqual(was, {"apple": 1})
        self.assertEqual(seller.stockHeld(), {"apple": 4, "fig": 4})
        self.assertEqual(seller.store.inventory(), {"apple": 4, "fig": 4})

    def test_ledgerKept(self):
        store = MemoryStore()
        seller = self.sellerWith(store, apple=2)
        sale = Sale(7, "apple", 9, 0.0)
        self.successResultOf(store.commitSales([sale]))
        seller = self.sellerWith(store, apple=2)
        self.successResultOf(seller.restock({"apple": 0}))
        self.assertEqual(store.sales(), [sale])
        self.assertIn(sale.ledgerKey, seller.ledger)

    def test_salesNotYetWrittenStillCount(self):
        """A sale made before the restock but handed to the store after it
        is taken off the restocked count on disk, as in memory."""
        seller = self.sellerWith(apple=3)
        # A sale made this turn, not yet committed (as under group commit).
        seller.stock["apple"] -= 1
        seller.sales.record(Sale(7, "apple", 9, 0.0))
        self.successResultOf(seller.restock({"apple": 5}))
        self.assertEqual(seller.store.inventory(), {"apple": 6})
        seller.sales.flush()
        self.assertEqual(seller.store.inventory(), {"apple": 5})
        self.assertEqual(seller.stockHeld(), {"apple": 5})

    def test_refusedIsUndone(self):
        seller = self.sellerWith(_RefusingStore(), apple=1)
        failure = self.failureResultOf(seller.restock({"apple": 5, "pear": 2}),
                                       StoreError)
        self.assertEqual(failure.getErrorMessage(), "disk full")
        self.assertEqual(seller.stockHeld(), {"apple": 1, "pear": 0})
        self.assertEqual(self.discovery.changes[-2:], [("apple", 1), ("pear", 0)])

    def test_notWhileStopping(self):
        seller = self.sellerWith(apple=1)
        seller.stopService()
        failure = self.failureResultOf(seller.restock({"apple": 5}), StoreError)
        self.assertEqual(failure.getErrorMessage(), "this seller is stopping")
        self.assertEqual(seller.stockHeld(), {"apple": 1})

    def test_notBeforeTheStoreTakesWrites(self):
        """
        Before its writer process answers (seconds after a start), a
        restock is refused at once, nothing changed: before, it waited
        for the writer (7-17 s on a loaded machine) while the stock was
        already raised, so ``bazaar restock`` said the node "did not
        answer within 10 s" (exit 1) and the restock was recorded later
        anyway (one repeated with --add was recorded twice).
        """
        store = SQLiteStore(scratchDir(self), writer=lambda path, timeout: PipedWriter(
            path, timeout, held=True))
        seller = self.sellerWith(store, apple=1)
        failure = self.failureResultOf(seller.restock({"apple": 5}), StoreError)
        self.assertEqual(failure.getErrorMessage(), "this seller's store does not take "
                         "writes yet (it is starting); restock again in a few seconds")
        self.assertEqual((seller.stockHeld(), self.discovery.changes), ({"apple": 1}, []))
        store._writer.run()
        d = seller.restock({"apple": 5})
        store._writer.run()
        self.assertEqual(self.successResultOf(d), {"apple": 1})
        closed = store.close()
        store._writer.run()
        self.successResultOf(closed)
