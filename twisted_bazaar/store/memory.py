"""
L{MemoryStore}: the store of a node without ``--data-dir`` and of
the simulator.  Nothing survives a restart.
"""

from twisted.internet import defer
from zope.interface import implementer

from twisted_bazaar.store.records import IStore, Snapshot, SnapshotReads, StoreError


@implementer(IStore)
class MemoryStore(SnapshotReads):
    """
    The same API as L{SQLiteStore}: reads answer at once, writes return
    Deferreds, here already fired (failing with L{StoreError} when a write
    is refused, e.g. a sale recorded twice).
    """

    durable = False

    def __init__(self):
        self._state = Snapshot()

    # -- writes ------------------------------------------------------------------

    def _write(self, apply, *args):
        try:
            result = apply(*args)
        except StoreError:
            return defer.fail()
        return defer.succeed(result)

    def setNodeId(self, node_id):
        return self._write(self._state.setNodeId, node_id)

    def seedInventory(self, stock):
        """See L{SQLiteStore.seedInventory}."""
        return self._write(self._seed, stock)

    def _seed(self, stock):
        if self._state.seeded is not None:
            return self._state.inventory(), False
        self._state.seed(stock)
        return self._state.inventory(), True

    def restock(self, stock, seed=None):
        """See L{SQLiteStore.restock}."""
        return self._write(self._state.restock, dict(stock), seed)

    def commitSales(self, sales, forget_before=None):
        """See L{SQLiteStore.commitSales}."""
        return self._write(self._commitSales, list(sales), forget_before)

    def _commitSales(self, sales, forget_before):
        self._state.forget(forget_before)
        self._state.checkSales(sales)
        self._state.recordSales(sales)

    def addPending(self, pending):
        return self._write(self._state.addPending, pending)

    def dropPending(self, buy_id):
        return self._write(self._state.dropPending, buy_id)

    def closeBuys(self, closes, forget_before):
        """See L{SQLiteStore.closeBuys}."""
        return self._write(self._closeBuys, list(closes), forget_before)

    def _closeBuys(self, closes, forget_before):
        self._state.forget(forget_before)
        self._state.checkClose(closes)
        self._state.closeBuys(closes, None)

    def commitPurchase(self, purchase):
        return self._write(self._state.recordPurchase, purchase)

    def close(self):
        """Nothing to release: the records stay, so a simulated node may
        be restarted on the same MemoryStore."""
        return defer.succeed(None)
