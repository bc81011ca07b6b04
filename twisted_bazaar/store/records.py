"""
What the store keeps: the records, and L{Snapshot}, the in-memory
copy of a store's committed state that serves every read.
"""

import attr

#: File name of the database inside a data dir.
DB_NAME = "bazaar.sqlite"
#: Closed buy ids a seller keeps; past that, the oldest are forgotten.
CLOSED_LIMIT = 100_000


class StoreError(Exception):
    """The store could not do what was asked; the message says why."""


@attr.s(frozen=True, auto_attribs=True)
class Sale:
    """One line of a seller's ledger."""

    buy_id: int
    item: str
    buyer: int
    time: float


@attr.s(frozen=True, auto_attribs=True)
class Purchase:
    """One item in a buyer's bag."""

    buy_id: int
    item: str
    seller: int
    time: float


@attr.s(frozen=True, auto_attribs=True)
class PendingBuy:
    """A buy sent but not yet answered: resent with the same id after a
    restart.  ``host``/``port`` let the buyer reach the seller directly."""

    buy_id: int
    item: str
    seller: int
    path: tuple
    host: str = ""
    port: int = 0


def countItems(sales):
    """item -> number of the sales that sell it."""
    counts = {}
    for sale in sales:
        counts[sale.item] = counts.get(sale.item, 0) + 1
    return counts


class Snapshot:
    """
    A store's committed state, in dicts: loaded once when the store opens,
    then changed only once a write has been committed.  Every read a
    store offers is served from here, so reads never wait for the disk.
    """

    def __init__(self, node_id=None, seeded=None, inventory=None, sales=(), bag=(),
                 pending=(), closed=()):
        self.node_id = node_id
        self.seeded = None if seeded is None else dict(seeded)
        self._inventory = dict(inventory or {})
        self._sales = {sale.buy_id: sale for sale in sales}
        self._bag = {purchase.buy_id: purchase for purchase in bag}
        self._pending = {entry.buy_id: entry for entry in pending}
        #: Closed buy ids, oldest first.
        self._closed = dict.fromkeys(closed)

    # -- reads ---------------------------------------------------------------

    def seededWith(self):
        return None if self.seeded is None else dict(self.seeded)

    def inventory(self):
        return dict(self._inventory)

    def sales(self):
        return list(self._sales.values())

    def bag(self):
        return list(self._bag.values())

    def pending(self):
        return sorted(self._pending.values(), key=lambda entry: entry.buy_id)

    def closed(self):
        """The closed buy ids, oldest first."""
        return list(self._closed)

    # -- checks a write must pass --------------------------------------------

    def checkSales(self, sales):
        """
        Raise L{StoreError} unless every sale can be recorded: each buy id
        new, and enough of each item left.
        """
        batch = set()
        for item, units in countItems(sales).items():
            if item not in self._inventory:
                raise StoreError(f"sales not recorded: no {item} in the inventory")
            if self._inventory[item] < units:
                raise StoreError(f"sales not recorded: not enough {item} left to "
                                 f"record {units} sales")
        for sale in sales:
            if sale.buy_id in self._sales or sale.buy_id in batch:
                raise StoreError(f"sales not recorded: sale {sale.buy_id} is "
                                 "already recorded")
            if sale.buy_id in self._closed:
                raise StoreError(f"sales not recorded: buy {sale.buy_id} is closed")
            batch.add(sale.buy_id)

    # -- committed writes ------------------------------------------------------

    def setNodeId(self, node_id):
        self.node_id = node_id

    def seed(self, stock):
        self.seeded = dict(stock)
        self._inventory = dict(stock)

    def stockItem(self, item, units):
        self._inventory[item] = units

    def restock(self, stock):
        self.seeded = dict(stock)
        self._inventory.update(stock)

    def recordSales(self, sales):
        for item, units in countItems(sales).items():
            self._inventory[item] -= units
        for sale in sales:
            self._sales[sale.buy_id] = sale

    def addPending(self, pending):
        self._pending[pending.buy_id] = pending

    def checkClose(self, buy_id):
        """Raise L{StoreError} if buy_id was sold: a sale is never closed."""
        if buy_id in self._sales:
            raise StoreError(f"buy {buy_id} not closed: it is sold")

    def closeBuy(self, buy_id):
        self._closed[buy_id] = None
        while len(self._closed) > CLOSED_LIMIT:
            del self._closed[next(iter(self._closed))]

    def dropPending(self, buy_id):
        self._pending.pop(buy_id, None)

    def recordPurchase(self, purchase):
        self._bag.setdefault(purchase.buy_id, purchase)
        self._pending.pop(purchase.buy_id, None)


class SnapshotReads:
    """
    A store's reads, answered at once from its L{Snapshot} (C{_state}),
    which a store replaces only once a write is done.
    """

    def nodeId(self):
        return self._state.node_id

    def seededWith(self):
        return self._state.seededWith()

    def inventory(self):
        return self._state.inventory()

    def sales(self):
        return self._state.sales()

    def bag(self):
        return self._state.bag()

    def pending(self):
        return self._state.pending()

    def closed(self):
        return self._state.closed()
