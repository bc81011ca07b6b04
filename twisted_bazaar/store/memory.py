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

    # Slots, not a dict: a simulation holds one a node (40 bytes less).
    __slots__ = ("snapshot",)

    #: What it holds is gone with the process (a subclass of a test's may
    #: say otherwise).
    durable = False

    def __init__(self):
        self.snapshot = Snapshot()

    # -- writes ------------------------------------------------------------------

    def _write(self, apply, *args):
        try:
            result = apply(*args)
        except StoreError:
            return defer.fail()
        return defer.succeed(result)

    def setNodeId(self, node_id):
        return self._write(self.snapshot.setNodeId, node_id)

    def seedInventory(self, stock):
        """See L{SQLiteStore.seedInventory}."""
        return self._write(self._seed, stock)

    def _seed(self, stock):
        if self.snapshot.seeded is not None:
            return self.snapshot.inventory(), False
        self.snapshot.seed(stock)
        return self.snapshot.inventory(), True

    def restock(self, stock, seed=None):
        """See L{SQLiteStore.restock}."""
        return self._write(self.snapshot.restock, dict(stock), seed)

    def commitSales(self, sales, forget_before=None):
        """See L{SQLiteStore.commitSales}."""
        return self._write(self._commitSales, list(sales), forget_before)

    def _commitSales(self, sales, forget_before):
        self.snapshot.forget(forget_before)
        self.snapshot.checkSales(sales)
        self.snapshot.recordSales(sales)

    def addPending(self, pending):
        return self._write(self.snapshot.addPending, pending)

    def dropPending(self, buy_id):
        return self._write(self.snapshot.dropPending, buy_id)

    def closeBuys(self, closes, forget_before):
        """See L{SQLiteStore.closeBuys}."""
        return self._write(self._closeBuys, list(closes), forget_before)

    def _closeBuys(self, closes, forget_before):
        self.snapshot.forget(forget_before)
        self.snapshot.checkClose(closes)
        self.snapshot.closeBuys(closes, None)

    def commitPurchase(self, purchase):
        return self._write(self.snapshot.recordPurchase, purchase)

    def close(self):
        """Nothing to release: the records stay, so a simulated node may
        be restarted on the same MemoryStore."""
        return defer.succeed(None)

    def whenWriting(self):
        """At once: its writes are done as they are asked."""
        return defer.succeed(None)
