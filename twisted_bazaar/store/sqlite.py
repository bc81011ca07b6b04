"""
L{SQLiteStore}: durable state in ``DIR/bazaar.sqlite`` (WAL mode,
full sync), and L{readState}, the read-only view ``bazaar-ledger``
prints.

Opening is synchronous: it happens once, before the node starts (in
``makeNodeService``, or when a simulated node is restarted), creates the
schema and loads the whole committed state into a L{Snapshot}.
From then on:

- reads (``nodeId``, ``seededWith``, ``inventory``, ``sales``, ``bag``,
  ``pending``) are answered from that snapshot, at once, and never touch
  the disk.  They stay synchronous because every caller needs them at
  start-up, before it can do anything else (the node its id, a seller its
  stock, a buyer its bag), and because the snapshot makes them free;
- writes run on the store's executor, one at a time and in the order
  they were asked for, each in one transaction; each returns a Deferred
  that fires once the write is on disk (the snapshot is updated just
  before), or fails with L{StoreError} and a reason, whatever went
  wrong: a full disk, a constraint, a database locked by another process
  for longer than ``busy_timeout``.  No ``sqlite3`` exception ever
  reaches the caller.

In a daemon, the writes run in the store's writer process
(L{twisted_bazaar.store.writer}: ``writer=``), which commits them and
syncs them once a batch, and never block the reactor nor take its GIL;
with the L{InlineExecutor} (tests, the simulator), they run at once on
the caller's thread, each commit syncing, and the Deferreds are already
fired.
"""

import functools
import json
import os
import sqlite3
import stat
import urllib.parse

from twisted.internet import defer
from zope.interface import implementer

from twisted_bazaar.wire.ids import KEYED, wireId
from twisted_bazaar.store.executors import InlineExecutor
from twisted_bazaar.store.records import (
    DB_NAME,
    Closed,
    IStore,
    PendingBuy,
    Purchase,
    Sale,
    Snapshot,
    SnapshotReads,
    StoreError,
    keptSale,
    takenItems,
)

#: Seconds a write waits for a lock another process holds before it
#: fails with StoreError("... database is locked").
BUSY_TIMEOUT = 2.0

#: The schema this version writes, in ``meta`` under ``schema``.  A data
#: dir with none is from before buys expired and sales named their
#: buyer's key (schema 1), one of schema 2 from before a buy named a
#: quantity, one of schema 3 from when shared files were counted stock,
#: one of schema 4 from when every copy of a shared file sold was a
#: ledger line for good, one of schema 5 from when the sales table was
#: keyed by (buyer key, buy id): each is upgraded when opened
#: (L{_prepare}).
SCHEMA_VERSION = 6

#: The closed buys: (buyer key, buy id) never to be sold, until expires.
_CLOSED = """
CREATE TABLE closed (
    buyer_key TEXT NOT NULL, buy_id INTEGER NOT NULL, expires INTEGER NOT NULL,
    PRIMARY KEY (buyer_key, buy_id));
CREATE INDEX closed_expires ON closed (expires);
"""

_SALES = """
CREATE TABLE sales (
    buyer_key TEXT NOT NULL, buy_id INTEGER NOT NULL, item TEXT NOT NULL,
    buyer INTEGER NOT NULL, time REAL NOT NULL, sha256 TEXT, size INTEGER,
    PRIMARY KEY (buyer_key, buy_id));
"""

#: Schema 3's columns for quantities: units sold under one buy id, bought
#: under one, asked for by one pending buy (1 for every earlier row).
_UNITS = """
ALTER TABLE sales ADD COLUMN units INTEGER NOT NULL DEFAULT 1 CHECK (units >= 1);
ALTER TABLE bag ADD COLUMN units INTEGER NOT NULL DEFAULT 1 CHECK (units >= 1);
ALTER TABLE pending ADD COLUMN quantity INTEGER NOT NULL DEFAULT 1;
"""

#: Schema 4's column of sales of shared files: a copy takes no unit.
_COPIES = """
ALTER TABLE sales ADD COLUMN copy INTEGER NOT NULL DEFAULT 0;
"""

#: Schema 5's copies remembered one by one, each until its ``expires``
#: (the latest expiry of a buy it could have sold), then folded into its
#: item's count in ``copies``, which the items shared bound.
_COPIES_SOLD = """
ALTER TABLE sales ADD COLUMN expires INTEGER;
CREATE INDEX sales_expires ON sales (expires) WHERE copy = 1;
CREATE TABLE copies (item TEXT PRIMARY KEY, sold INTEGER NOT NULL CHECK (sold >= 1));
"""

#: Schema 6's sales: a log, in the order sold, without the index of
#: (buyer key, buy id) that schema 5 kept.  Buy ids are drawn at random,
#: so each sale inserted its key at its own place in that index: under
#: load, a group commit of N sales wrote about N pages of it, and the
#: more sales, the more pages (2 to 8 KiB written a sale over a
#: benchmark's first 8 seconds: docs/benchmarks.md, "The durable
#: seller's falling rate").  The one writer checks that a sale is new,
#: and that a closed buy is not sold, against the sales it holds in
#: memory (L{SQLiteStore.commitSales}, L{SQLiteStore.closeBuys}).
_SALES_LOG = """
DROP INDEX sales_expires;
ALTER TABLE sales RENAME TO sales_5;
CREATE TABLE sales (
    buyer_key TEXT NOT NULL, buy_id INTEGER NOT NULL, item TEXT NOT NULL,
    buyer INTEGER NOT NULL, time REAL NOT NULL, sha256 TEXT, size INTEGER,
    units INTEGER NOT NULL DEFAULT 1 CHECK (units >= 1),
    copy INTEGER NOT NULL DEFAULT 0, expires INTEGER);
CREATE INDEX sales_expires ON sales (expires) WHERE copy = 1;
INSERT INTO sales SELECT buyer_key, buy_id, item, buyer, time, sha256, size, units,
    copy, expires FROM sales_5;
DROP TABLE sales_5;
"""

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE inventory (
    item TEXT PRIMARY KEY, units INTEGER NOT NULL CHECK (units >= 0));
CREATE TABLE bag (
    buy_id INTEGER PRIMARY KEY, item TEXT NOT NULL, seller INTEGER NOT NULL,
    time REAL NOT NULL, sha256 TEXT, size INTEGER);
CREATE TABLE pending (
    buy_id INTEGER PRIMARY KEY, item TEXT NOT NULL, seller INTEGER NOT NULL,
    path TEXT NOT NULL, host TEXT NOT NULL, port INTEGER NOT NULL,
    expires INTEGER, sha256 TEXT, size INTEGER);
""" + _SALES + _CLOSED + _UNITS + _COPIES + _COPIES_SOLD + _SALES_LOG + (
    f"INSERT INTO meta VALUES ('schema', '{SCHEMA_VERSION}');")

#: Schema 1 -> 2, in one transaction.  Sales keep their rows, with no
#: buyer key (''): a buy from the buyer id they name finds them.  Bag and
#: pending rows get empty new columns: a pending buy with no expiry is
#: never sold again, only answered from the ledger.  The closed buy ids
#: go: they named no buyer key and no expiry, and a buy without an expiry
#: is never sold anyway (docs/reliability.md, "Answers and replays").
_UPGRADE_1 = """
ALTER TABLE sales RENAME TO sales_1;
""" + _SALES + """
INSERT INTO sales (buyer_key, buy_id, item, buyer, time)
    SELECT '', buy_id, item, buyer, time FROM sales_1;
DROP TABLE sales_1;
ALTER TABLE bag ADD COLUMN sha256 TEXT;
ALTER TABLE bag ADD COLUMN size INTEGER;
ALTER TABLE pending ADD COLUMN expires INTEGER;
ALTER TABLE pending ADD COLUMN sha256 TEXT;
ALTER TABLE pending ADD COLUMN size INTEGER;
DROP TABLE closed;
""" + _CLOSED + "INSERT INTO meta VALUES ('schema', '2');"

#: Schema 2 -> 3: the quantity columns.
_UPGRADE_2 = _UNITS + "UPDATE meta SET value = '3' WHERE key = 'schema';"

#: The inventory rows of shared files in schema 3, which stocked each
#: file by name and by content (``sha256:HEX``) with 10^9 units: the
#: content items, and the rows the seed did not name with more than 900
#: million units left (a file sold one copy at a time; nobody counts that
#: many of a thing by hand).
_FILE_STOCK = """item GLOB 'sha256:*' OR (units > 900000000
    AND item NOT IN (SELECT key FROM json_each(
        COALESCE((SELECT value FROM meta WHERE key = 'seeded'), '{}'))))"""

#: Schema 3 -> 4: the copies column, and the inventory rows of shared
#: files go (L{_FILE_STOCK}), which a restart read as counted stock.  The
#: sales of items no longer stocked become copies.
_UPGRADE_3 = _COPIES + f"""
DELETE FROM inventory WHERE {_FILE_STOCK};
UPDATE sales SET copy = 1 WHERE item NOT IN (SELECT item FROM inventory);
UPDATE meta SET value = '4' WHERE key = 'schema';
"""

#: Schema 4 -> 5: the copies already sold are remembered as if sold by
#: this version (a buy could expire at most 10 minutes, the seller's
#: MAX_EXPIRY_AHEAD, after its sale), and forgotten at the first write
#: after that.
_UPGRADE_4 = _COPIES_SOLD + """
UPDATE sales SET expires = CAST(time * 1000 AS INTEGER) + 600000 WHERE copy = 1;
UPDATE meta SET value = '5' WHERE key = 'schema';
"""

#: Schema 5 -> 6: the sales as a log (L{_SALES_LOG}).
_UPGRADE_5 = _SALES_LOG + "UPDATE meta SET value = '6' WHERE key = 'schema';"

#: The tables and columns of schema 1, as its last version made them.
_SCHEMA_1 = {
    "meta": ["key", "value"], "inventory": ["item", "units"],
    "sales": ["buy_id", "item", "buyer", "time"],
    "bag": ["buy_id", "item", "seller", "time"],
    "pending": ["buy_id", "item", "seller", "path", "host", "port"],
    "closed": ["seq", "buy_id"]}


#: The longest path SQLite's Unix files open (its MAX_PATHNAME), in bytes.
SQLITE_PATH_LIMIT = 512


def _tooLong(path):
    """Why SQLite could not open the database at path, when its path is
    past what SQLite opens (its -wal file's name counted): "unable to open
    database file" says no more, in a data dir of a long path; else ""."""
    size = len(os.path.abspath(path).encode("utf-8", "surrogateescape")) + len("-wal")
    if size <= SQLITE_PATH_LIMIT:
        return ""
    return (f" (its path is {size - len('-wal')} bytes long, and SQLite opens no file "
            f"past {SQLITE_PATH_LIMIT}, its -wal file's name included: give a data dir "
            "of a shorter path)")


#: Free bytes on a data dir's disk below which a failure to open its
#: database is said to be a full disk: SQLite says only "disk I/O error"
#: when its -shm file finds no room.
LOW_ROOM = 1 << 20


def _noRoom(directory):
    """Why SQLite could not open or write the database in directory, when
    its disk is (nearly) full; else ""."""
    try:
        info = os.statvfs(directory if os.path.isdir(directory) else
                          os.path.dirname(os.path.abspath(directory)))
    except OSError:
        return ""
    free = info.f_bavail * info.f_frsize
    if free >= LOW_ROOM:
        return ""
    return (f" (its disk has {free} bytes free: free some, or give a --data-dir on a "
            "disk with room)")


@implementer(IStore)
class SQLiteStore(SnapshotReads):
    """
    The store of a node with ``--data-dir``.

    @ivar executor: where writes run (an L{InlineExecutor} by default);
        the store starts it once the database is open, and stops it on
        L{close}.
    @param busy_timeout: seconds a write may wait for another process's
        lock.
    @raise StoreError: when the data dir cannot be used.
    """

    durable = True

    def __init__(self, directory, executor=None, busy_timeout=BUSY_TIMEOUT, writer=None):
        """
        @param writer: in place of an executor, a function of (the
            database's path, busy_timeout) returning the writer that runs
            the writes (a daemon's
            L{twisted_bazaar.store.writerprocess.WriterProcess}: its
            C{write(what, statements)}, C{stop()}, C{failed}): the store
            opens the database, loads it, closes its own connection and
            starts the writer.
        """
        self.path = os.path.join(directory, DB_NAME)
        self.executor = executor if executor is not None else InlineExecutor()
        self._closing = None
        #: (buyer key, buy id) -> the sale, of the sales in writes not yet
        #: done.
        self._selling = {}
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            self.new = not os.path.exists(self.path)
            if self.new:
                # Its owner's only (sqlite would make it 0666 less the
                # umask, and its -wal and -shm files as it): the bag,
                # the trades and their sellers are the operator's.
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            self._db = sqlite3.connect(self.path, isolation_level=None,
                                       check_same_thread=False)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot use data dir {directory}: {e}{_tooLong(self.path)}"
                             f"{_noRoom(directory)}") from None
        try:
            db = self._db
            db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"{self.path}: cannot use WAL mode (got {mode})")
            db.execute("PRAGMA synchronous=FULL")
            _prepare(db, self.path)
            _writable(db, self.path)
            self.snapshot = _load(db)
        except (OSError, sqlite3.Error, StoreError) as e:
            self._db.close()
            if isinstance(e, StoreError):
                raise
            raise StoreError(f"cannot use data dir {directory}: {e}{_tooLong(self.path)}"
                             f"{_noRoom(directory)}") from None
        self._writer = None
        if writer is not None:
            self._db.close()
            self._db = None
            self._writer = writer(self.path, busy_timeout)
            try:
                self._writer.start()
            except OSError as e:
                # No process to be had (a fork refused: too many, no memory).
                raise StoreError(f"cannot start the store's writer process: {e}") from None
            return
        self.executor.start()

    # -- writes: on the executor ---------------------------------------------------

    def _write(self, what, statements, apply, *args):
        """
        Run statements, a list of (sql, parameters) pairs or a function of
        the connection returning one (called on the writer, inside the
        transaction), as one transaction on the executor;
        once committed, apply(*args) to the snapshot.

        @return: a Deferred firing with apply's result, or failing with
            StoreError("what: why").
        """
        if self._closing is not None:
            return defer.fail(StoreError(f"{what}: the store is closed"))
        if self._writer is not None:
            d = self._writer.write(what, statements)
        else:
            d = self.executor.submit(_transaction, self._db, what, statements)
        d.addCallback(_applied, apply, args)
        return d

    def setNodeId(self, node_id):
        return self._write(
            "node id not recorded",
            [("INSERT OR REPLACE INTO meta VALUES ('node_id', ?)", (str(node_id),))],
            self.snapshot.setNodeId, node_id)

    def seedInventory(self, stock):
        """
        Set the starting stock if this store has none yet.

        @return: a Deferred firing with (the stock the store holds
            afterwards, whether it was seeded now).
        """
        if self.snapshot.seeded is not None:
            return defer.succeed((self.snapshot.inventory(), False))
        statements = [("INSERT INTO inventory VALUES (?, ?)", (item, units))
                      for item, units in sorted(stock.items())]
        statements.append(("INSERT INTO meta VALUES ('seeded', ?)",
                           (json.dumps(stock, sort_keys=True),)))
        return self._write("stock not seeded", statements, self._seeded, dict(stock))

    def _seeded(self, stock):
        self.snapshot.seed(stock)
        return self.snapshot.inventory(), True

    def restock(self, stock, seed=None):
        """
        Set each item's units to the count ``stock`` gives, whatever is
        left of it, in one transaction: the ledger (the sales made) stays,
        and so do the items ``stock`` leaves out.  With ``seed`` (a
        seller's ``--sell``, restocked as it starts), that becomes the
        stock this store is seeded with, so a seller started again with
        the same ``--sell`` finds them alike; a restock of a running
        seller leaves the seed as it was.
        """
        statements = [("INSERT OR REPLACE INTO inventory VALUES (?, ?)", (item, units))
                      for item, units in sorted(stock.items())]
        if seed is not None:
            statements.append(("INSERT OR REPLACE INTO meta VALUES ('seeded', ?)",
                               (json.dumps(seed, sort_keys=True),)))
        return self._write("stock not restocked", statements, self.snapshot.restock,
                           dict(stock), seed)

    def commitSales(self, sales, forget_before=None):
        """Record sales and take their units from the inventory, at once:
        all of them, or (failing) none.  With ``forget_before`` (ms), the
        closes and copies remembered for buys that expired before it are
        forgotten first (L{_forget})."""
        sales = list(sales)
        keys = [sale.ledgerKey for sale in sales]
        twice = len(set(keys)) < len(keys)
        for sale, key in zip(sales, keys):
            if self._sold(key, forget_before) or (twice and keys.count(key) > 1):
                return defer.fail(StoreError(f"sales not recorded: sale {sale.buy_id} "
                                             "is already recorded"))
        writing = self._selling
        for sale, key in zip(sales, keys):
            writing[key] = sale
        # The writer is handed rows of plain values, not the sales: a
        # daemon's writer pickles them to its process, and a tuple pickles
        # in about half the time of an attrs instance.
        rows = [(key or "", sale.buy_id, sale.item, _idIn(sale.buyer), sale.time, sale.sha256,
                 sale.size, sale.units, int(sale.copy), sale.expires)
                for sale, (key, _) in zip(sales, keys)]
        d = self._write("sales not recorded",
                        functools.partial(_salesStatements, rows, takenItems(sales),
                                          forget_before),
                        self.snapshot.recordSales, sales, forget_before)
        return d.addBoth(self._recorded, keys)

    def _sold(self, key, forget_before):
        """Whether the sale of (buyer key, buy id) is recorded, or on its
        way to the disk, and not a copy a write given ``forget_before``
        forgets."""
        writing = self._selling.get(key)
        return ((writing is not None and keptSale(writing, forget_before))
                or self.snapshot.isSold(key, forget_before))

    def _recorded(self, result, keys):
        """A sales write is done (its sales are in the snapshot if it was
        committed, nowhere if not)."""
        writing = self._selling
        for key in keys:
            writing.pop(key, None)
        return result

    def addPending(self, pending):
        return self._write("pending buy not recorded",
                           functools.partial(_pendingStatements, pending),
                           self.snapshot.addPending, pending)

    def dropPending(self, buy_id):
        return self._write("pending buy not dropped",
                           [("DELETE FROM pending WHERE buy_id = ?", (buy_id,))],
                           self.snapshot.dropPending, buy_id)

    def closeBuys(self, closes, forget_before):
        """
        A seller's promises never to sell these (buyer key, buy id)s, each
        a L{Closed} kept until its buy expires: all recorded unless one is
        already sold (then StoreError), so that a buy asked about and
        found unsold stays unsold across restarts.  The closes and copies
        remembered for buys that expired before ``forget_before`` (ms) are
        forgotten first (L{_forget}).
        """
        closes = list(closes)
        for entry in closes:
            if self._sold(entry.ledgerKey, forget_before):
                return defer.fail(StoreError(f"buys not closed: buy {entry.buy_id} "
                                             "is sold"))
        return self._write("buys not closed",
                           functools.partial(_closeStatements, closes, forget_before),
                           self.snapshot.closeBuys, closes, forget_before)

    def commitPurchase(self, purchase):
        """Put a purchase in the bag and forget its pending buy, at once."""
        return self._write("purchase not recorded", [
            ("INSERT OR IGNORE INTO bag VALUES (?, ?, ?, ?, ?, ?, ?)",
             (purchase.buy_id, purchase.item, _idIn(purchase.seller), purchase.time,
              purchase.sha256, purchase.size, purchase.units)),
            ("DELETE FROM pending WHERE buy_id = ?", (purchase.buy_id,)),
        ], self.snapshot.recordPurchase, purchase)

    def whenWriting(self):
        """
        A Deferred firing once this store's writes are taken: at once
        without a writer process; with one, once the process has answered
        a first (empty) write, its Python loaded, which takes seconds on a
        loaded machine (up to 17 s with a hundred nodes starting on two
        cores).  It fails as that write does (the writer could not start).
        """
        if self._writer is None:
            return defer.succeed(None)
        return self._writer.write("the store's writer did not start", [])

    def close(self):
        """
        Close the database once every write asked for so far is done, then
        stop the executor.  Writes asked for later fail with StoreError.

        @return: a Deferred firing when the store is closed (the same one
            for every call).
        """
        if self._closing is None and self._writer is not None:
            self._closing = self._writer.stop()
        elif self._closing is None:
            d = self.executor.submit(_close, self._db)
            d.addErrback(lambda failure: None)
            d.addCallback(lambda _: self.executor.stop())
            self._closing = d
        result = defer.Deferred()
        self._closing.addBoth(_chain, result)
        return result


def _idIn(node_id):
    """A node id as a column holds it: a keyless id as an integer, a
    keyed one (129 bits here, past SQLite's 64) as its 16 bytes, a BLOB,
    which no column's affinity converts."""
    return node_id if node_id < KEYED else (node_id ^ KEYED).to_bytes(16, "big")


def _idOut(value):
    """A node id from its column (L{_idIn})."""
    return KEYED | int.from_bytes(value, "big") if type(value) is bytes else value


def _pendingStatements(pending, db):
    return [("INSERT OR REPLACE INTO pending VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
             (pending.buy_id, pending.item, _idIn(pending.seller),
              json.dumps(list(pending.path)), pending.host, pending.port,
              pending.expires, pending.sha256, pending.size, pending.quantity))]


def _forget(db, before):
    """
    Inside a write's transaction: fold the copies remembered for buys
    that expired before ``before`` (ms) into their items' counts, and
    forget them and the closes as old.
    """
    if before is None:
        return
    db.execute("INSERT INTO copies (item, sold) SELECT item, COUNT(*) FROM sales "
               "WHERE copy = 1 AND expires < ? GROUP BY item "
               "ON CONFLICT (item) DO UPDATE SET sold = sold + excluded.sold", (before,))
    db.execute("DELETE FROM sales WHERE copy = 1 AND expires < ?", (before,))
    db.execute("DELETE FROM closed WHERE expires < ?", (before,))


def _closeStatements(closes, forget_before, db):
    _forget(db, forget_before)
    return [("INSERT OR IGNORE INTO closed VALUES (?, ?, ?)",
             (entry.buyer_key or "", entry.buy_id, entry.expires))
            for entry in closes]


def _salesStatements(rows, taken, forget_before, db):
    """The statements of a sales commit (its sales as the sales table's
    rows, and the units they take of each item), checked against the
    inventory and the closed buys inside the writer's transaction (once
    what is remembered for buys expired before ``forget_before`` is
    forgotten)."""
    _forget(db, forget_before)
    stocked = {row[0] for row in db.execute("SELECT item FROM inventory")}
    missing = set(taken) - stocked
    if missing:
        raise StoreError("no " + ", ".join(sorted(missing)) + " in the inventory")
    statements = [("UPDATE inventory SET units = units - ? WHERE item = ?",
                   (units, item)) for item, units in taken.items()]
    for sql, args in _rows(_CLOSED_AMONG, "(?, ?)", [row[:2] for row in rows]):
        closed = db.execute(sql, args).fetchone()
        if closed:
            raise StoreError(f"buy {closed[0]} is closed")
    return statements + _rows("INSERT INTO sales VALUES ", "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              rows)


#: The first closed buy among some (buyer key, buy id) pairs.
_CLOSED_AMONG = "SELECT buy_id FROM closed WHERE (buyer_key, buy_id) IN (VALUES "


def _rows(head, row, values):
    """
    (sql, parameters) statements that put many rows in one statement
    each: ``head`` and ``row`` repeated for a number of rows that is a
    power of two (at most L{ROWS_A_STATEMENT}), so that a commit of N
    sales runs a few statements rather than N, and the statements' texts
    are few enough for the connection's cache.  (A statement's run
    releases the GIL, and the reactor thread wanting it back waits for
    the writer's next release: one a sale was one thread switch a
    purchase, docs/benchmarks.md, "Off the reactor without a lock a
    write".)  A C{_CLOSED_AMONG} head gets its closing parenthesis.
    """
    statements = []
    close = ")" if head is _CLOSED_AMONG else ""
    start = 0
    while start < len(values):
        n = min(ROWS_A_STATEMENT, 1 << ((len(values) - start).bit_length() - 1))
        chunk = values[start:start + n]
        start += n
        statements.append((head + ", ".join([row] * n) + close,
                           [field for value in chunk for field in value]))
    return statements


#: Rows a statement of L{_rows} holds at most (SQLite takes 32,766
#: parameters a statement; a sale has 10).
ROWS_A_STATEMENT = 64


# -- on the writer ---------------------------------------------------------------

def _transaction(db, what, statements):
    """Run statements as one transaction; any failure is a StoreError."""
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            if callable(statements):
                statements = statements(db)
            for sql, args in statements:
                db.execute(sql, args)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    except StoreError as e:
        raise StoreError(f"{what}: {e}") from None
    except (sqlite3.Error, OSError) as e:
        raise StoreError(f"{what}: {e}") from None
    except Exception as e:
        raise StoreError(f"{what}: {type(e).__name__}: {e}") from e


def _close(db):
    db.close()


# -- on the reactor thread ----------------------------------------------------------

def _applied(_, apply, args):
    return apply(*args)


def _chain(result, d):
    d.callback(None)
    return result


def _writable(db, path):
    """
    Write to the database once, undone: one this process can read but
    not write (a read-only file, or its folder, where SQLite adds its
    -wal) would let the node start, register and search, each buy then
    refused as it could not be recorded, for as long as it ran.

    @raise StoreError: saying so, when the write is refused.
    """
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("UPDATE meta SET value = value WHERE key = 'schema'")
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")
    except sqlite3.Error as e:
        raise StoreError(f"{path} cannot be written ({e}): no sale or purchase could "
                         "be recorded; make it, and its folder, writable by this "
                         "user") from None


def _prepare(db, path):
    """
    Give a database this version's schema: a new one gets it, one of
    schema 1 is upgraded in one transaction; anything else is refused.

    @raise StoreError: for a database of a newer schema, or one this
        program did not make.
    """
    tables = {row[0] for row in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite_%'")}
    if not tables:
        _script(db, _SCHEMA)
        return
    version = None
    if "meta" in tables:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        version = None if row is None else row[0]
    if version == str(SCHEMA_VERSION):
        return
    if version == "5":
        _script(db, _UPGRADE_5)
        return
    if version == "4":
        _script(db, _UPGRADE_4 + _UPGRADE_5)
        return
    if version == "3":
        _script(db, _UPGRADE_3 + _UPGRADE_4 + _UPGRADE_5)
        return
    if version == "2":
        _script(db, _UPGRADE_2 + _UPGRADE_3 + _UPGRADE_4 + _UPGRADE_5)
        return
    if version is not None:
        raise _newer(path, version, "run that version, or give this one another --data-dir")
    for table, columns in _SCHEMA_1.items():
        if _columns(db, table) != columns:
            raise StoreError(f"{path} is not a twisted-bazaar database this version "
                             f"can read (its table {table} is not as expected)")
    _script(db, _UPGRADE_1 + _UPGRADE_2 + _UPGRADE_3 + _UPGRADE_4 + _UPGRADE_5)


def _columns(db, table):
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def _script(db, script):
    """Run a script of statements as one transaction."""
    try:
        db.executescript("BEGIN IMMEDIATE;\n" + script + "\nCOMMIT;")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _load(db):
    """The committed state, read once at opening."""
    meta = dict(db.execute("SELECT key, value FROM meta"))
    node_id = meta.get("node_id")
    seeded = meta.get("seeded")
    return Snapshot(
        node_id=None if node_id is None else int(node_id),
        seeded=None if seeded is None else json.loads(seeded),
        inventory=dict(db.execute("SELECT item, units FROM inventory ORDER BY item")),
        sales=[Sale(b, i, _idOut(who), t, key or None, sha256, size, units, bool(copy),
                    expires)
               for key, b, i, who, t, sha256, size, units, copy, expires in db.execute(
                   "SELECT buyer_key, buy_id, item, buyer, time, sha256, size, units, "
                   "copy, expires FROM sales ORDER BY time, buy_id")],
        bag=[Purchase(b, i, _idOut(who), t, sha256, size, units)
             for b, i, who, t, sha256, size, units in db.execute(
                 "SELECT buy_id, item, seller, time, sha256, size, units FROM bag "
                 "ORDER BY time, buy_id")],
        pending=[PendingBuy(b, i, _idOut(s), tuple(json.loads(p)), h, port, e, sha256,
                            size, q)
                 for b, i, s, p, h, port, e, sha256, size, q in db.execute(
                     "SELECT buy_id, item, seller, path, host, port, expires, sha256, "
                     "size, quantity FROM pending ORDER BY buy_id")],
        closed=[Closed(key or None, b, e) for key, b, e in db.execute(
            "SELECT buyer_key, buy_id, expires FROM closed ORDER BY rowid")],
        copies_sold=dict(db.execute("SELECT item, sold FROM copies ORDER BY item")))


def readState(directory):
    """
    A node's state from its data dir, without locking the node out: the
    form ``bazaar-ledger --json`` prints.  ``copies``: item -> copies of
    a shared file sold that are no longer among the ``sales`` (each is
    listed there for 15 minutes, then counted here); ``pending``: the
    buys in doubt, whose outcome a restarted node learns by resending.

    @raise StoreError: when the directory holds no bazaar database.
    """
    if os.path.isfile(directory):
        if os.path.basename(directory) != DB_NAME:
            raise StoreError(f"{directory} is a file, not a data dir: give the "
                             "directory the node was started with (--data-dir)")
        directory = os.path.dirname(directory) or "."
    path = os.path.join(directory, DB_NAME)
    if not os.path.exists(directory):
        raise StoreError(f"{directory}: no such directory")
    if not os.path.isdir(directory):
        raise StoreError(f"{directory} is not a directory")
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise StoreError(f"{directory}: not a bazaar data dir (no {DB_NAME})") from None
    except OSError as e:
        # A folder this user may not read (mode 0700, another's) is no
        # folder without a ledger.
        raise StoreError(f"{directory}: cannot read: {e.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        # A FIFO would hold SQLite's open() for ever.
        raise StoreError(f"{path} is not a regular file (a FIFO, a folder...): not a "
                         "bazaar database")
    if not info.st_size:
        raise StoreError(f"{path}: cannot read: it is empty, no node's ledger")
    try:
        db = sqlite3.connect(f"file:{urllib.parse.quote(path)}?mode=ro", uri=True)
        try:
            db.execute("PRAGMA busy_timeout=5000")
            _notNewer(db, path)
            row = db.execute("SELECT value FROM meta WHERE key = 'node_id'").fetchone()
            # A data dir of schema 3 or before, not yet opened by this
            # version, stocks shared files: its upgrade drops them.
            files = "" if "copy" in _columns(db, "sales") else f"WHERE NOT ({_FILE_STOCK})"
            inventory = dict(db.execute(f"SELECT item, units FROM inventory {files} "
                                        "ORDER BY item"))
            # A data dir from before quantities (not yet opened by this
            # version) has no units: one a buy.
            units = {table: "units" if "units" in _columns(db, table) else "1"
                     for table in ("sales", "bag")}
            sales = [{"buy_id": b, "item": i, "buyer": wireId(_idOut(who)), "time": t,
                      "units": n}
                     for b, i, who, t, n in db.execute(
                         f"SELECT buy_id, item, buyer, time, {units['sales']} "
                         "FROM sales ORDER BY time, buy_id")]
            bag = [{"buy_id": b, "item": i, "seller": wireId(_idOut(who)), "time": t,
                    "units": n}
                   for b, i, who, t, n in db.execute(
                       f"SELECT buy_id, item, seller, time, {units['bag']} FROM bag "
                       "ORDER BY time, buy_id")]
            pending = _pendingRows(db)
            # Copies of shared files sold and no longer listed one by one
            # (none in a data dir from before schema 5 not yet opened).
            copies = dict(db.execute("SELECT item, sold FROM copies ORDER BY item")
                          if _columns(db, "copies") else ())
            state = {"node_id": None if row is None else wireId(int(row[0])),
                     "inventory": inventory, "sales": sales, "copies": copies,
                     "bag": bag, "pending": pending}
            _heldTogether(state)
        finally:
            db.close()
    except sqlite3.Error as e:
        raise StoreError(f"{path}: cannot read: {e}") from None
    except (ValueError, TypeError, OverflowError) as e:
        # A ledger damaged, or written by another program: said, never a
        # traceback.
        raise StoreError(f"{path}: cannot read: it holds what no node writes ({e})") \
            from None
    return state


def _newer(path, version, instead):
    """The refusal of a database a newer version wrote (its schema
    ``version``), saying what to do ``instead``."""
    return StoreError(f"{path} was written by a newer twisted-bazaar (schema {version}; "
                      f"this one knows {SCHEMA_VERSION}): {instead}")


def _notNewer(db, path):
    """
    A ledger a newer version wrote may mean something else by the same
    tables: read as this version reads it, it could show a wrong stock
    or bag, so it is refused, as the node refuses it.

    @raise StoreError: for a schema newer than this version's.
    """
    row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    if row is not None and str(row[0]).isdigit() and int(row[0]) > SCHEMA_VERSION:
        raise _newer(path, row[0], "read it with that version")


#: What each row of readState's lists holds: key -> the types it may be.
_ROW_TYPES = {"buy_id": (int,), "item": (str,), "time": (int, float), "units": (int,),
              "expires": (int, float, type(None)), "buyer": (str,), "seller": (str,)}


def _heldTogether(state):
    """
    Raise ValueError, naming the table and row, if state (L{readState}'s)
    holds a value of a type no node writes (a text where a time is, a
    blob where an item is): what reads it (C{bazaar-ledger}) would fail
    on it, or print it as something else.
    """
    for name in ("sales", "bag", "pending"):
        for row in state[name]:
            for key, value in row.items():
                if type(value) not in _ROW_TYPES[key]:
                    raise ValueError(f"{name}, buy {row['buy_id']!r}: {key} is "
                                     f"{value!r}")
            if row["units"] < 1:
                raise ValueError(f"{name}, buy {row['buy_id']!r}: units is {row['units']!r}")
    for name in ("inventory", "copies"):
        for item, count in state[name].items():
            if type(item) is not str or type(count) is not int:
                raise ValueError(f"{name}: {item!r} is {count!r}")


def _pendingRows(db):
    """
    The buyer's pending buys, for L{readState}: each sent (or about to
    be) and not yet answered, which the node resends while it runs.
    ``expires``: until when its seller may sell it (seconds since the
    epoch), None for a buy recorded before buys expired.  A data dir not
    yet opened by this version may lack the later columns.
    """
    columns = _columns(db, "pending")
    units = "quantity" if "quantity" in columns else "1"
    expires = "expires" if "expires" in columns else "NULL"
    return [{"buy_id": b, "item": i, "seller": wireId(_idOut(who)), "units": n,
             "expires": None if e is None else e / 1000}
            for b, i, who, n, e in db.execute(
                f"SELECT buy_id, item, seller, {units}, {expires} FROM pending "
                "ORDER BY buy_id")]
