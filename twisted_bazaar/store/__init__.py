"""
Durable state: the node's id, a seller's inventory and ledger, a buyer's
bag and pending buys.

Two stores share one API.  L{SQLiteStore} keeps everything in
``DIR/bazaar.sqlite`` (WAL mode, full sync), so a sale is on disk before
its buyOK leaves and a purchase before the buyer reports it; readers such
as ``bazaar-ledger`` never block the node.  L{MemoryStore} keeps the
same records in dicts, for nodes started without ``--data-dir`` and for
the simulator.

The API (see L{twisted_bazaar.store.sqlite} for why reads stay
synchronous):

- reads, answered at once from the state loaded when the store opened:
  ``nodeId()``, ``seededWith()``, ``inventory()``, ``sales()``, ``bag()``,
  ``pending()``, ``closed()`` (the L{Closed} buys), ``copiesSold()``
  (item -> copies of a shared file sold that ``sales()`` no longer
  lists: a copy is remembered one by one only as long as a close is);
- writes, each one transaction, each returning a Deferred that fires once
  it is on disk or fails with L{StoreError}:
  ``setNodeId(node_id)``, ``seedInventory(stock)`` (fires with
  ``(stock, seeded_now)``), ``commitSales(sales, forget_before=None)``,
  ``addPending(pending)``,
  ``dropPending(buy_id)``, ``closeBuys(closes, forget_before)`` (a
  seller's (buyer key, buy id)s that must never be sold, each until its
  buy expires: asked about and found unsold, or answered soldout; both
  writes first forget the closes and copies remembered for buys that
  expired before ``forget_before``),
  ``commitPurchase(purchase)``, and ``close()``.

The store never blocks the reactor: a daemon opens it with
``openStore(directory, reactor)``, which runs the writes, in order, in a
writer process of the store's own that syncs each batch of them to the
disk (L{twisted_bazaar.store.writer}).  Tests and the simulator leave the reactor out and get
writes run at once, with already-fired Deferreds.
"""

import functools

from twisted_bazaar.store.executors import InlineExecutor, ThreadExecutor
from twisted_bazaar.store.memory import MemoryStore
from twisted_bazaar.store.records import (
    DB_NAME,
    Closed,
    PendingBuy,
    Purchase,
    Remembered,
    Sale,
    Snapshot,
    StoreError,
    WriterGone,
    countItems,
    takenItems,
)
from twisted_bazaar.store.sqlite import (
    BUSY_TIMEOUT,
    SCHEMA_VERSION,
    SQLiteStore,
    readState,
)
from twisted_bazaar.store.writerprocess import WriterProcess

__all__ = [
    "BUSY_TIMEOUT",
    "Closed",
    "DB_NAME",
    "InlineExecutor",
    "MemoryStore",
    "PendingBuy",
    "Purchase",
    "Remembered",
    "SCHEMA_VERSION",
    "SQLiteStore",
    "Sale",
    "Snapshot",
    "StoreError",
    "ThreadExecutor",
    "WriterGone",
    "countItems",
    "openStore",
    "readState",
    "takenItems",
]


def openStore(directory, reactor=None, onBroken=None):
    """
    A SQLiteStore for a data dir, or a MemoryStore when directory is None.

    @param reactor: with a reactor, the SQLite writes run in a writer
        process of the store's own, which syncs each batch of them once
        (L{twisted_bazaar.store.writer}), and their results come back
        through that reactor (for the daemons); without one, they run at
        once on the caller's thread, each commit syncing (for tests and
        the simulator).
    @param onBroken: with a reactor, told why, once, if the writer
        process is gone for good while the store is open (it ended
        unasked, or could not start once the reactor ran): from then on
        every write fails with L{WriterGone}.
    @raise StoreError: when the data dir cannot be used.
    """
    if directory is None:
        return MemoryStore()
    if reactor is None:
        return SQLiteStore(directory, InlineExecutor())
    return SQLiteStore(directory, writer=functools.partial(WriterProcess, reactor,
                                                           onEnded=onBroken))
