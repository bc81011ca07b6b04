"""
What the store keeps: the records, and L{Snapshot}, the in-memory
copy of a store's committed state that serves every read.
"""

import heapq
from collections.abc import Mapping

import attr
from zope.interface import Attribute, Interface

from twisted_bazaar.base.sparing import NOTHING, own

#: File name of the database inside a data dir.
DB_NAME = "bazaar.sqlite"


class StoreError(Exception):
    """The store could not do what was asked; the message says why."""


class WriterGone(StoreError):
    """A write failed because the store's writer is gone for good (its
    process ended unasked, or never started): no write can succeed any
    more, and the daemon that owns the store ends, saying why once."""


@attr.s(frozen=True, auto_attribs=True)
class Sale:
    """
    One line of a seller's ledger: what was sold under (``buyer_key``,
    ``buy_id``), the key its ``buyOK`` names.  ``buyer_key`` is None for
    a sale recorded before sales named their buyer's key (and for a
    buyer without a key); ``sha256`` and ``size`` name the content of a
    shared file sold as such; ``units``: how many units the one buy
    bought (what its ``buyOK`` says, as ``count``).  ``copy``: a copy of
    a shared file, which takes no unit from the inventory (a file is not
    counted stock: selling it never runs it out).  ``expires``, for a copy
    only (ms since the epoch): the latest expiry of a buy of its key and
    id that the seller could have sold when it sold the copy.  A counted
    sale is kept for good (the stock bounds them); a copy is remembered
    only as long as a close is (L{Remembered}), then folded into its
    item's count of copies sold, so that buys of a file that never runs
    out cannot grow the ledger without bound.
    """

    buy_id: int
    item: str
    buyer: int
    time: float
    buyer_key: str = None
    sha256: str = None
    size: int = None
    units: int = 1
    copy: bool = False
    expires: int = None

    def __attrs_post_init__(self):
        # (buyer key, buy id): made with the sale, since a seller reads it
        # some six times a sale (a cached_property's first read takes a
        # lock on Python 3.11, and costs more than this).  And its fields
        # as one plain tuple, in their order (``Sale(*row)`` makes it
        # again), which is what a L{SaleBook} keeps.
        fields = self.__dict__
        fields["ledgerKey"] = (self.buyer_key, self.buy_id)
        fields["row"] = (self.buy_id, self.item, self.buyer, self.time, self.buyer_key,
                         self.sha256, self.size, self.units, self.copy, self.expires)


class SaleBook(Mapping):
    """
    Sales by (buyer key, buy id), each kept as its L{Sale.row}, a plain
    tuple: Python's cyclic collector stops looking at a tuple of plain
    values once it has seen it, where it scans every object in each full
    collection, and it makes one each time what stays has grown by a
    quarter.  A seller keeps every sale it made, so kept as objects they
    made each pause longer (a full collection of a heap holding 1,000,000
    sales took 235 ms, 8.6 ms kept so: docs/benchmarks.md, "A new
    machine's bound, and the collector's pauses").  A sale read back is
    made anew from its row: equal to the one recorded, not the same
    object (L{holds} tells whether a sale is the one kept).
    """

    __slots__ = ("_rows",)

    def __init__(self, sales=()):
        #: The shared empty table until a sale is kept (L{own}): most
        #: simulated nodes never sell.
        self._rows = {sale.ledgerKey: sale.row for sale in sales} or NOTHING

    def __len__(self):
        return len(self._rows)

    def __contains__(self, key):
        return key in self._rows

    def __iter__(self):
        return iter(self._rows)

    def __setitem__(self, key, sale):
        own(self, "_rows")[key] = sale.row

    def __getitem__(self, key):
        return Sale(*self._rows[key])

    def __delitem__(self, key):
        del self._rows[key]

    def get(self, key, default=None):
        row = self._rows.get(key)
        return default if row is None else Sale(*row)

    def pop(self, key, default=None):
        row = self._rows.pop(key, None)
        return default if row is None else Sale(*row)

    def values(self):
        """Every sale kept, each made anew from its row."""
        return [Sale(*row) for row in self._rows.values()]

    def countedUnits(self, keys):
        """item -> units of the counted sales (no copies) kept under
        ``keys``, read from their rows: a status read of a seller under
        load makes no L{Sale} of each sale in flight."""
        units = {}
        for key in keys:
            row = self._rows.get(key)
            # row: buy_id, item, buyer, time, buyer_key, sha256, size,
            # units, copy, expires (L{Sale.row}).
            if row is not None and not row[8]:
                units[row[1]] = units.get(row[1], 0) + row[7]
        return units

    def holds(self, sale):
        """Whether ``sale`` (a sale made now or read back) is the one kept
        under its key: not undone, nor replaced by another."""
        row = self._rows.get(sale.ledgerKey)
        return row is not None and (row is sale.row or row == sale.row)


@attr.s(frozen=True, auto_attribs=True)
class Purchase:
    """One buy in a buyer's bag: ``units`` of item (the ``count`` its
    ``buyOK`` said); for a file bought as such, the content its seller
    confirmed (``sha256``, ``size``)."""

    buy_id: int
    item: str
    seller: int
    time: float
    sha256: str = None
    size: int = None
    units: int = 1


@attr.s(frozen=True, auto_attribs=True)
class PendingBuy:
    """
    A buy sent but not yet answered: resent with the same id, expiry and
    content after a restart.  ``host``/``port`` let the buyer reach the
    seller directly.  ``expires`` (ms since the epoch) is None for a buy
    recorded before buys expired: a seller sells no such buy.
    ``quantity``: the units the buy asks for, the same in every resend.
    """

    buy_id: int
    item: str
    seller: int
    path: tuple
    host: str = ""
    port: int = 0
    expires: int = None
    sha256: str = None
    size: int = None
    quantity: int = 1


@attr.s(frozen=True, auto_attribs=True)
class Closed:
    """
    A seller's promise never to sell (``buyer_key``, ``buy_id``): kept
    until ``expires`` (ms since the epoch), the latest expiry of a buy of
    that key and id the seller could have sold when it closed it; after
    that, any such buy's expiry alone refuses it.
    """

    buyer_key: str
    buy_id: int
    expires: int

    @property
    def ledgerKey(self):
        return (self.buyer_key, self.buy_id)


class Remembered:
    """
    Entries (L{Closed} buys, or L{Sale}s of copies) by (buyer key, buy
    id), in the order added, forgotten in the order their ``expires``
    come (a heap finds those to forget without a scan).
    """

    # Two a node's store (a million in a simulation), nearly all of which
    # stay empty: slotted, the shared empty table and an empty tuple until
    # the first entry (170 bytes of each simulated node).
    __slots__ = ("_entries", "expiries")

    def __init__(self, entries=()):
        self._entries = NOTHING
        #: (expires, buyer key or "", buy id), a heap (they compare, None
        #: cannot): its first is the next to forget, which a caller may
        #: read before it calls L{forget} (a sale does, every time); ()
        #: until the first entry.
        self.expiries = ()
        for entry in entries:
            self.add(entry)

    def __len__(self):
        return len(self._entries)

    def __contains__(self, key):
        return key in self._entries

    def __iter__(self):
        return iter(list(self._entries.values()))

    def add(self, entry):
        """Remember entry (once: adding its key again changes nothing)."""
        if entry.ledgerKey not in self._entries:
            own(self, "_entries")[entry.ledgerKey] = entry
            if not self.expiries:
                self.expiries = []
            heapq.heappush(self.expiries,
                           (entry.expires, entry.buyer_key or "", entry.buy_id))

    def discard(self, key):
        """Forget the entry of key now, if there is one (its place in the
        heap is skipped when it comes up)."""
        self._entries.pop(key, None)

    def forget(self, before):
        """Forget the entries whose ``expires`` is before ``before`` (ms);
        return them."""
        expiries, forgotten = self.expiries, []
        while expiries and expiries[0][0] < before:
            expires, key, buy_id = heapq.heappop(expiries)
            entry = self._entries.get((key or None, buy_id))
            if entry is not None and entry.expires == expires:
                forgotten.append(self._entries.pop(entry.ledgerKey))
        return forgotten


def keptSale(sale, forget_before):
    """Whether ``sale`` (or None) is a sale a write given
    ``forget_before`` keeps: any but a copy whose buys all expired
    before it (as L{Remembered.forget} forgets them)."""
    if sale is None:
        return False
    return not (sale.copy and forget_before is not None and sale.expires < forget_before)


def countItems(sales):
    """item -> units the sales (or purchases) sell of it."""
    counts = {}
    for sale in sales:
        counts[sale.item] = counts.get(sale.item, 0) + sale.units
    return counts


def takenItems(sales):
    """item -> units the sales take from the inventory: all but the
    copies of shared files."""
    return countItems(sale for sale in sales if not sale.copy)


#: The books of a snapshot that has no sales, closes or copies yet, shared
#: by every such snapshot and never written (L{Snapshot._book}).
NO_SALES = SaleBook()
NOT_REMEMBERED = Remembered()


class Snapshot:
    """
    A store's committed state, in dicts: loaded once when the store opens,
    then changed only once a write has been committed.  Every read a
    store offers is served from here, so reads never wait for the disk.
    """

    # One a node (a million in a simulation): slotted.
    __slots__ = ("node_id", "seeded", "_inventory", "_sales", "_bag", "_pending",
                 "_closed", "_copies", "_copies_sold")

    def __init__(self, node_id=None, seeded=None, inventory=None, sales=(), bag=(),
                 pending=(), closed=(), copies_sold=None):
        self.node_id = node_id
        self.seeded = None if seeded is None else dict(seeded)
        self._inventory = dict(inventory or {}) or NOTHING
        # Its tables, and its books of sales, closes and copies, are the
        # shared empty ones until written (L{own}, L{_book}): most
        # simulated nodes never buy, nor sell (the three books were 136
        # bytes of each).
        sales = list(sales)
        self._sales = SaleBook(sales) if sales else NO_SALES
        self._bag = {purchase.buy_id: purchase for purchase in bag} or NOTHING
        self._pending = {entry.buy_id: entry for entry in pending} or NOTHING
        self._closed = Remembered(closed) if closed else NOT_REMEMBERED
        #: The copies of shared files still remembered one by one, and
        #: item -> copies forgotten so (folded into a count).
        copies = [sale for sale in sales if sale.copy]
        self._copies = Remembered(copies) if copies else NOT_REMEMBERED
        self._copies_sold = dict(copies_sold or {}) or NOTHING

    def _book(self, name):
        """The book in slot name, made this snapshot's own if it was the
        shared empty one, to be written."""
        book = getattr(self, name)
        if book is NO_SALES:
            book = SaleBook()
        elif book is NOT_REMEMBERED:
            book = Remembered()
        else:
            return book
        setattr(self, name, book)
        return book

    # -- reads ---------------------------------------------------------------

    def seededWith(self):
        return None if self.seeded is None else dict(self.seeded)

    def inventory(self):
        return dict(self._inventory)

    def sales(self):
        return self._sales.values()

    def bag(self):
        return list(self._bag.values())

    def pending(self):
        return sorted(self._pending.values(), key=lambda entry: entry.buy_id)

    def closed(self):
        """The L{Closed} buys, in the order they were closed."""
        return list(self._closed)

    def copiesSold(self):
        """item -> copies of it sold and no longer remembered one by one
        (those still remembered are among the L{sales})."""
        return dict(self._copies_sold)

    # -- checks a write must pass --------------------------------------------

    def checkSales(self, sales):
        """
        Raise L{StoreError} unless every sale can be recorded: each
        (buyer key, buy id) new and not closed, and enough of each item
        left (a copy of a shared file takes none).
        """
        batch = set()
        for item, units in takenItems(sales).items():
            if item not in self._inventory:
                raise StoreError(f"sales not recorded: no {item} in the inventory")
            if self._inventory[item] < units:
                raise StoreError(f"sales not recorded: not enough {item} left to "
                                 f"record {units} units sold")
        for sale in sales:
            key = sale.ledgerKey
            if key in self._sales or key in batch:
                raise StoreError(f"sales not recorded: sale {sale.buy_id} is "
                                 "already recorded")
            if key in self._closed:
                raise StoreError(f"sales not recorded: buy {sale.buy_id} is closed")
            batch.add(key)

    def isSold(self, key, forget_before=None):
        """Whether the sale of (buyer key, buy id) ``key`` is recorded,
        and is not a copy a write given ``forget_before`` (ms) forgets
        (L{forget})."""
        sale = self._sales.get(key)
        return sale is not None and keptSale(sale, forget_before)

    def checkClose(self, closes):
        """Raise L{StoreError} if one of the closes is sold: a sale is
        never closed."""
        for entry in closes:
            if entry.ledgerKey in self._sales:
                raise StoreError(f"buys not closed: buy {entry.buy_id} is sold")

    # -- committed writes ------------------------------------------------------

    def setNodeId(self, node_id):
        self.node_id = node_id

    def seed(self, stock):
        self.seeded = dict(stock)
        self._inventory = dict(stock)

    def restock(self, stock, seed=None):
        if seed is not None:
            self.seeded = dict(seed)
        own(self, "_inventory").update(stock)

    def recordSales(self, sales, forget_before=None):
        """Record sales, once those remembered for buys that expired
        before ``forget_before`` (ms; None: none) are forgotten."""
        self.forget(forget_before)
        for item, units in takenItems(sales).items():
            self._inventory[item] -= units
        for sale in sales:
            self._book("_sales")[sale.ledgerKey] = sale
            if sale.copy:
                self._book("_copies").add(sale)

    def addPending(self, pending):
        own(self, "_pending")[pending.buy_id] = pending

    def closeBuys(self, closes, forget_before):
        """Record closes, once those remembered for buys that expired
        before ``forget_before`` (ms) are forgotten."""
        self.forget(forget_before)
        for entry in closes:
            self._book("_closed").add(entry)

    def forget(self, before):
        """
        Forget the closes and the copies whose buys all expired before
        ``before`` (ms; None: nothing), folding each copy into its item's
        count of copies sold.
        """
        if before is None:
            return
        self._closed.forget(before)
        for sale in self._copies.forget(before):
            del self._sales[sale.ledgerKey]
            copies_sold = own(self, "_copies_sold")
            copies_sold[sale.item] = copies_sold.get(sale.item, 0) + 1

    def dropPending(self, buy_id):
        self._pending.pop(buy_id, None)

    def recordPurchase(self, purchase):
        own(self, "_bag").setdefault(purchase.buy_id, purchase)
        self._pending.pop(purchase.buy_id, None)


class IStore(Interface):
    """
    A node's store (L{twisted_bazaar.store.memory.MemoryStore},
    L{twisted_bazaar.store.sqlite.SQLiteStore}): its writes, each a
    Deferred that fires once the write is done, and its reads, answered at
    once (L{SnapshotReads}).  What a wrapper of a store (the metrics',
    the simulator's probe) passes on.
    """

    durable = Attribute("Whether what it records survives a restart (a "
                        "seller signs its answers at once if not).")

    def setNodeId(node_id):
        """Keep the node's id."""

    def seedInventory(stock):
        """Stock the store with item -> units, once (a seed)."""

    def restock(stock, seed=None):
        """Add units of items."""

    def commitSales(sales, forget_before=None):
        """Record sales and take their units from the stock."""

    def addPending(pending):
        """Remember a buy sent and not yet answered."""

    def dropPending(buy_id):
        """Forget a pending buy."""

    def closeBuys(closes, forget_before):
        """Record buys closed (answered for good)."""

    def commitPurchase(purchase):
        """Record a purchase in the bag, and drop its pending buy."""

    def close():
        """Close the store."""

    def whenWriting():
        """A Deferred firing once the store takes writes (its writer
        process answers)."""

    def nodeId():
        """The node's id kept, or None."""

    def seededWith():
        """The stock the store was seeded with."""

    def inventory():
        """item -> units in stock."""

    def sales():
        """The sales recorded."""

    def bag():
        """The purchases recorded."""

    def pending():
        """The pending buys."""

    def closed():
        """The buys closed."""

    def copiesSold():
        """Copies of each file sold."""


class SnapshotReads:
    """
    A store's reads, answered at once from its L{Snapshot}.

    @ivar snapshot: the store's L{Snapshot}, set up by the store: what
        every read answers from, which only the store's own writes change,
        each once it is done (a name the reads and the store share, no
        private state of either).
    """

    # Slots in the store that has them (L{MemoryStore}: a simulation holds
    # one a node), none here.
    __slots__ = ()

    def nodeId(self):
        return self.snapshot.node_id

    def seededWith(self):
        return self.snapshot.seededWith()

    def inventory(self):
        return self.snapshot.inventory()

    def sales(self):
        return self.snapshot.sales()

    def bag(self):
        return self.snapshot.bag()

    def pending(self):
        return self.snapshot.pending()

    def closed(self):
        return self.snapshot.closed()

    def copiesSold(self):
        return self.snapshot.copiesSold()
