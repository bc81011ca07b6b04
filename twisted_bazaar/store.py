"""
Durable state: the node's id, a seller's inventory and ledger, a buyer's
bag and pending buys.

Two stores share one interface.  :class:`SQLiteStore` keeps everything in
``DIR/bazaar.sqlite`` (WAL mode, full sync), so a sale is on disk before
its buyOK leaves and a purchase before the buyer reports it; readers such
as ``bazaar-ledger`` never block the node.  :class:`MemoryStore` keeps the
same records in dicts, for nodes started without ``--data-dir`` and for
the simulator.

Each method that changes state is one transaction: either all of it is on
disk, or none.
"""

import json
import os
import sqlite3
import urllib.parse

import attr

#: File name of the database inside a data dir.
DB_NAME = "bazaar.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inventory (
    item TEXT PRIMARY KEY, units INTEGER NOT NULL CHECK (units >= 0));
CREATE TABLE IF NOT EXISTS sales (
    buy_id INTEGER PRIMARY KEY, item TEXT NOT NULL, buyer INTEGER NOT NULL,
    time REAL NOT NULL);
CREATE TABLE IF NOT EXISTS bag (
    buy_id INTEGER PRIMARY KEY, item TEXT NOT NULL, seller INTEGER NOT NULL,
    time REAL NOT NULL);
CREATE TABLE IF NOT EXISTS pending (
    buy_id INTEGER PRIMARY KEY, item TEXT NOT NULL, seller INTEGER NOT NULL,
    path TEXT NOT NULL, host TEXT NOT NULL, port INTEGER NOT NULL);
"""


class StoreError(Exception):
    """The data dir cannot be used; the message says why."""


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


class MemoryStore:
    """The store of a node without a data dir: nothing survives a restart."""

    durable = False

    def __init__(self):
        self._meta = {}
        self._inventory = {}
        self._sales = {}
        self._bag = {}
        self._pending = {}

    # node id
    def nodeId(self):
        value = self._meta.get("node_id")
        return None if value is None else int(value)

    def setNodeId(self, node_id):
        self._meta["node_id"] = str(node_id)

    # seller
    def seedInventory(self, stock):
        """Set the starting stock if this store has none yet.  Returns the
        stock the store holds afterwards, and whether it was seeded now."""
        if "seeded" in self._meta:
            return dict(self._inventory), False
        self._inventory = dict(stock)
        self._meta["seeded"] = json.dumps(stock, sort_keys=True)
        return dict(self._inventory), True

    def seededWith(self):
        seeded = self._meta.get("seeded")
        return None if seeded is None else json.loads(seeded)

    def inventory(self):
        return dict(self._inventory)

    def sales(self):
        return list(self._sales.values())

    def commitSales(self, sales):
        """Record sales and take their units from the inventory, at once."""
        taken, batch = countItems(sales), set()
        for item, units in taken.items():
            if self._inventory.get(item, 0) < units:
                raise StoreError(f"not enough {item} left to record {units} sales")
        for sale in sales:
            if sale.buy_id in self._sales or sale.buy_id in batch:
                raise StoreError(f"sale {sale.buy_id} is already recorded")
            batch.add(sale.buy_id)
        for item, units in taken.items():
            self._inventory[item] -= units
        for sale in sales:
            self._sales[sale.buy_id] = sale

    # buyer
    def bag(self):
        return list(self._bag.values())

    def pending(self):
        return list(self._pending.values())

    def addPending(self, pending):
        self._pending[pending.buy_id] = pending

    def dropPending(self, buy_id):
        self._pending.pop(buy_id, None)

    def commitPurchase(self, purchase):
        """Put a purchase in the bag and forget its pending buy, at once."""
        self._bag.setdefault(purchase.buy_id, purchase)
        self._pending.pop(purchase.buy_id, None)

    def close(self):
        pass


class SQLiteStore:
    """The store of a node with ``--data-dir``."""

    durable = True

    def __init__(self, directory):
        self.path = os.path.join(directory, DB_NAME)
        try:
            os.makedirs(directory, exist_ok=True)
            self.new = not os.path.exists(self.path)
            self.db = sqlite3.connect(self.path, isolation_level=None,
                                      check_same_thread=False)
            mode = self.db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"{self.path}: cannot use WAL mode (got {mode})")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA busy_timeout=5000")
            self.db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot use data dir {directory}: {e}") from None

    def _transaction(self, statements):
        """Run (sql, args) pairs as one transaction."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            for sql, args in statements:
                db.execute(sql, args)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _meta(self, key):
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    # node id
    def nodeId(self):
        value = self._meta("node_id")
        return None if value is None else int(value)

    def setNodeId(self, node_id):
        self._transaction([("INSERT OR REPLACE INTO meta VALUES ('node_id', ?)",
                            (str(node_id),))])

    # seller
    def seedInventory(self, stock):
        if self._meta("seeded") is not None:
            return self.inventory(), False
        statements = [("INSERT INTO inventory VALUES (?, ?)", (item, units))
                      for item, units in sorted(stock.items())]
        statements.append(("INSERT INTO meta VALUES ('seeded', ?)",
                           (json.dumps(stock, sort_keys=True),)))
        self._transaction(statements)
        return self.inventory(), True

    def seededWith(self):
        seeded = self._meta("seeded")
        return None if seeded is None else json.loads(seeded)

    def inventory(self):
        return dict(self.db.execute("SELECT item, units FROM inventory ORDER BY item"))

    def sales(self):
        rows = self.db.execute("SELECT buy_id, item, buyer, time FROM sales "
                               "ORDER BY time, buy_id")
        return [Sale(*row) for row in rows]

    def commitSales(self, sales):
        db = self.db
        taken = countItems(sales)
        try:
            stocked = {row[0] for row in db.execute("SELECT item FROM inventory")}
            missing = set(taken) - stocked
            if missing:
                raise StoreError("sales not recorded: no " + ", ".join(sorted(missing))
                                 + " in the inventory")
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("UPDATE inventory SET units = units - ? WHERE item = ?",
                               [(units, item) for item, units in taken.items()])
                db.executemany("INSERT INTO sales VALUES (?, ?, ?, ?)",
                               [(sale.buy_id, sale.item, sale.buyer, sale.time)
                                for sale in sales])
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.Error as e:
            raise StoreError(f"sales not recorded: {e}") from None

    # buyer
    def bag(self):
        rows = self.db.execute("SELECT buy_id, item, seller, time FROM bag "
                               "ORDER BY time, buy_id")
        return [Purchase(*row) for row in rows]

    def pending(self):
        rows = self.db.execute("SELECT buy_id, item, seller, path, host, port "
                               "FROM pending ORDER BY buy_id")
        return [PendingBuy(b, i, s, tuple(json.loads(p)), h, port)
                for b, i, s, p, h, port in rows]

    def addPending(self, pending):
        self._transaction([("INSERT OR REPLACE INTO pending VALUES (?, ?, ?, ?, ?, ?)",
                            (pending.buy_id, pending.item, pending.seller,
                             json.dumps(list(pending.path)), pending.host,
                             pending.port))])

    def dropPending(self, buy_id):
        self._transaction([("DELETE FROM pending WHERE buy_id = ?", (buy_id,))])

    def commitPurchase(self, purchase):
        self._transaction([
            ("INSERT OR IGNORE INTO bag VALUES (?, ?, ?, ?)",
             (purchase.buy_id, purchase.item, purchase.seller, purchase.time)),
            ("DELETE FROM pending WHERE buy_id = ?", (purchase.buy_id,)),
        ])

    def close(self):
        self.db.close()


def countItems(sales):
    """item -> number of the sales that sell it."""
    counts = {}
    for sale in sales:
        counts[sale.item] = counts.get(sale.item, 0) + 1
    return counts


def openStore(directory):
    """A SQLiteStore for a data dir, or a MemoryStore when directory is None."""
    return MemoryStore() if directory is None else SQLiteStore(directory)


def readState(directory):
    """
    A node's state from its data dir, without locking the node out: the
    form ``bazaar-ledger --json`` prints.

    @raise StoreError: when the directory holds no bazaar database.
    """
    path = os.path.join(directory, DB_NAME)
    if not os.path.isdir(directory):
        raise StoreError(f"{directory}: no such directory")
    if not os.path.exists(path):
        raise StoreError(f"{directory}: not a bazaar data dir (no {DB_NAME})")
    try:
        db = sqlite3.connect(f"file:{urllib.parse.quote(path)}?mode=ro", uri=True)
        try:
            db.execute("PRAGMA busy_timeout=5000")
            row = db.execute("SELECT value FROM meta WHERE key = 'node_id'").fetchone()
            inventory = dict(db.execute("SELECT item, units FROM inventory "
                                        "ORDER BY item"))
            sales = [{"buy_id": b, "item": i, "buyer": who, "time": t}
                     for b, i, who, t in db.execute(
                         "SELECT buy_id, item, buyer, time FROM sales "
                         "ORDER BY time, buy_id")]
            bag = [{"buy_id": b, "item": i, "seller": who, "time": t}
                   for b, i, who, t in db.execute(
                       "SELECT buy_id, item, seller, time FROM bag "
                       "ORDER BY time, buy_id")]
        finally:
            db.close()
    except sqlite3.Error as e:
        raise StoreError(f"{path}: cannot read: {e}") from None
    return {"node_id": None if row is None else int(row[0]), "inventory": inventory,
            "sales": sales, "bag": bag}
