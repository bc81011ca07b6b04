"""
Tests for twisted_bazaar.ledger: ``bazaar-ledger [--json] DIR`` run through
its main(), on data dirs written with the real SQLiteStore.
"""

import io
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.text import jsonText
from twisted_bazaar.cli import ledger
from twisted_bazaar.store import DB_NAME, PendingBuy, Purchase, Sale, SQLiteStore

SALE_KEYS = {"buy_id", "item", "buyer", "time", "units"}
BAG_KEYS = {"buy_id", "item", "seller", "time", "units"}


def stamp(seconds):
    """How the text form shows a time: local time, to the second, and its
    offset from UTC after a space (``2026-11-27 13:43:14 +01:00``)."""
    iso = datetime.fromtimestamp(seconds).astimezone().isoformat(sep=" ",
                                                                 timespec="seconds")
    return f"{iso[:19]} {iso[19:]}"


def inZone(case, tz):
    """Local time is C{tz} (a POSIX TZ string, which needs no zone files)
    until C{case} ends."""
    before = os.environ.get("TZ")

    def restore():
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()

    case.addCleanup(restore)
    os.environ["TZ"] = tz
    time.tzset()


class _LedgerDirs(SynchronousTestCase):
    """Data dirs written with the real store, and bazaar-ledger run on them."""

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-ledger-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.stdout = io.StringIO()
        self.stderr = io.StringIO()
        self.patch(sys, "stdout", self.stdout)
        self.patch(sys, "stderr", self.stderr)

    def dataDir(self, node_id=None, stock=None, sales=(), bag=()):
        """A data dir as a node would leave it; the store stays open, as a
        running node's would."""
        store = SQLiteStore(self.folder)
        self.addCleanup(store.close)
        if node_id is not None:
            self.successResultOf(store.setNodeId(node_id))
        if stock is not None:
            self.successResultOf(store.seedInventory(stock))
        if sales:
            self.successResultOf(store.commitSales(list(sales)))
        for purchase in bag:
            self.successResultOf(store.commitPurchase(purchase))
        return self.folder

    def runLedger(self, *args):
        code = ledger.main(list(args))
        return code, self.stdout.getvalue(), self.stderr.getvalue()


class LedgerTests(_LedgerDirs):

    def test_jsonOfASeller(self):
        folder = self.dataDir(17, {"apple": 5, "pear": 1},
                              [Sale(901, "apple", 33, 1000.5), Sale(902, "pear", 34, 1001.0)])
        code, out, err = self.runLedger("--json", folder)
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out.count("\n"), 1)
        state = json.loads(out)
        self.assertEqual(state, {
            "node_id": "17",
            "inventory": {"apple": 4, "pear": 0},
            "sales": [{"buy_id": 901, "item": "apple", "buyer": "33", "time": 1000.5, "units": 1},
                      {"buy_id": 902, "item": "pear", "buyer": "34", "time": 1001.0, "units": 1}],
            "copies": {},
            "bag": [],
            "pending": []})
        self.assertEqual(list(state), ["node_id", "inventory", "sales", "copies", "bag",
                                       "pending"])
        for sale in state["sales"]:
            self.assertEqual(set(sale), SALE_KEYS)

    def test_jsonOfABuyer(self):
        folder = self.dataDir(33, bag=[Purchase(901, "apple", 17, 1000.75)])
        code, out, err = self.runLedger("--json", folder)
        self.assertEqual((code, err), (0, ""))
        state = json.loads(out)
        self.assertEqual(state, {
            "node_id": "33", "inventory": {}, "sales": [], "copies": {},
            "bag": [{"buy_id": 901, "item": "apple", "seller": "17", "time": 1000.75, "units": 1}],
            "pending": []})
        self.assertEqual(set(state["bag"][0]), BAG_KEYS)

    def test_jsonWithoutAnId(self):
        """A node that never registered: node_id is null."""
        code, out, _ = self.runLedger("--json", self.dataDir())
        self.assertEqual(code, 0)
        self.assertEqual(json.loads(out), {"node_id": None, "inventory": {},
                                           "sales": [], "copies": {}, "bag": [],
                                           "pending": []})

    def test_text(self):
        folder = self.dataDir(17, {"apple": 5, "pear": 1},
                              [Sale(901, "apple", 33, 1000.5)],
                              [Purchase(77, "fig", 8, 2000.0)])
        code, out, err = self.runLedger(folder)
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out.splitlines(), [
            "node id: 17",
            "inventory: apple 4, pear 1",
            "sales: 1",
            f"  {stamp(1000.5)}  buy 901  apple to 33",
            "bag: 1",
            f"  {stamp(2000.0)}  buy 77  fig from 8",
            "pending buys: 0",
        ])

    def test_timesSayTheirZone(self):
        """Two operators in two zones read the same moment from a ledger:
        each time carries its offset from UTC. It was local time without
        one, so 10:00 in Kolkata and 23:30 in New York looked like two
        moments (and one time like another)."""
        folder = self.dataDir(17, {"apple": 2}, [Sale(901, "apple", 33, 1_764_000_000.0)])
        seen = {}
        for tz in ("IST-05:30", "EST+05EDT,M3.2.0,M11.1.0", "UTC0"):
            inZone(self, tz)
            self.stdout.truncate(0), self.stdout.seek(0)
            code, out, _ = self.runLedger(folder)
            self.assertEqual(code, 0)
            seen[tz] = out.splitlines()[3].split("  buy")[0].strip()
        self.assertEqual(seen, {"IST-05:30": "2025-11-24 21:30:00 +05:30",
                                "EST+05EDT,M3.2.0,M11.1.0": "2025-11-24 11:00:00 -05:00",
                                "UTC0": "2025-11-24 16:00:00 +00:00"})
        for shown in seen.values():
            self.assertEqual(datetime.strptime(shown, "%Y-%m-%d %H:%M:%S %z").timestamp(),
                             1_764_000_000.0)

    def test_textOnAnAsciiTerminal(self):
        """Names its stdout's encoding lacks are written escaped, not a
        UnicodeEncodeError traceback (bazaar-ledger under
        PYTHONIOENCODING=ascii, a seller of grüße)."""
        folder = self.dataDir(17, {"grüße": 2})
        stdout = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
        self.patch(sys, "stdout", stdout)
        self.assertEqual(ledger.main([folder]), 0)
        stdout.flush()
        self.assertIn(b"inventory: gr\\xfc\\xdfe 2\n", stdout.buffer.getvalue())

    def test_textCountsUnits(self):
        """A buy of several units says how many, in the ledger and bag; the
        bag counts its units, as the buyer's log does ("all wants met: 3
        in the bag"): it said "bag: 1", the purchases, and the buyer 3."""
        folder = self.dataDir(17, {"apple": 10},
                              [Sale(901, "apple", 33, 1000.5, units=6)],
                              [Purchase(77, "fig", 8, 2000.0, units=3)])
        code, out, _ = self.runLedger(folder)
        self.assertEqual(out.splitlines()[1:], [
            "inventory: apple 4",
            "sales: 6 (1 sale)",
            f"  {stamp(1000.5)}  buy 901  apple x6 to 33",
            "bag: 3 (1 purchase)",
            f"  {stamp(2000.0)}  buy 77  fig x3 from 8",
            "pending buys: 0",
        ])

    def test_copiesSoldLongAgoCounted(self):
        """Copies of a shared file are sales lines while their seller
        remembers them (15 minutes), then a count by file: between them,
        every copy sold is shown."""
        folder = self.dataDir(17, {}, [
            Sale(901, "song.ogg", 33, 1.0, "k", copy=True, expires=601_000),
            Sale(902, "song.ogg", 34, 2.0, "k", copy=True, expires=602_000),
            Sale(903, "song.ogg", 35, 1000.5, "k", copy=True, expires=1_600_500)])
        store = SQLiteStore(folder)
        self.addCleanup(store.close)
        self.successResultOf(store.commitSales([], forget_before=1_000_000))
        code, out, _ = self.runLedger(folder)
        self.assertEqual(out.splitlines()[2:5], [
            "sales: 1",
            f"  {stamp(1000.5)}  buy 903  song.ogg to 35",
            "copies sold before, counted: song.ogg 2",
        ])
        self.stdout.seek(0)
        self.stdout.truncate()
        code, out, _ = self.runLedger("--json", folder)
        self.assertEqual(json.loads(out)["copies"], {"song.ogg": 2})

    def test_textOfAnEmptyDir(self):
        code, out, _ = self.runLedger(self.dataDir())
        self.assertEqual(code, 0)
        self.assertEqual(out.splitlines(),
                         ["node id: -", "inventory: -", "sales: 0", "bag: 0",
                          "pending buys: 0"])

    def test_pendingBuysAreShown(self):
        """A buyer's buys in doubt (sent, not answered: a seller killed
        mid-trade) are in its data dir, and the node resends them when
        it runs again: the ledger shows them, what each asks for, of
        whom, and until when its seller may sell it; a buy recorded
        before buys expired says its seller sells it no more."""
        folder = self.dataDir(33, bag=[Purchase(901, "apple", 17, 1000.75)])
        store = SQLiteStore(folder)
        self.addCleanup(store.close)
        self.successResultOf(store.addPending(
            PendingBuy(77, "grape", 17, (33, 17), "127.0.0.1", 4000, 2_000_500, quantity=3)))
        self.successResultOf(store.addPending(PendingBuy(78, "fig", 18, (33, 18))))
        code, out, err = self.runLedger(folder)
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out.splitlines()[-3:], [
            "pending buys: 2",
            f"  buy 77  grape x3 from 17  not answered yet, its seller may sell it "
            f"until {stamp(2000.5)}",
            "  buy 78  fig from 18  not answered yet, recorded before buys expired: "
            "its seller sells it no more",
        ])
        self.stdout.seek(0)
        self.stdout.truncate()
        self.runLedger("--json", folder)
        self.assertEqual(json.loads(self.stdout.getvalue())["pending"], [
            {"buy_id": 77, "item": "grape", "seller": "17", "units": 3, "expires": 2000.5},
            {"buy_id": 78, "item": "fig", "seller": "18", "units": 1, "expires": None}])

    def assertOneLineError(self, args, message):
        code, out, err = self.runLedger(*args)
        self.assertEqual((code, out), (1, ""))
        self.assertEqual(err, f"bazaar-ledger: error: {message}\n")

    def test_missingDirectory(self):
        missing = os.path.join(self.folder, "gone")
        self.assertOneLineError([missing], f"{missing}: no such directory")

    def test_jsonSaysItsErrorInAnObject(self):
        """With --json, a failure is a JSON object too, as bazaar's
        commands give one (issue 96: nothing came on stdout)."""
        missing = os.path.join(self.folder, "gone")
        code, out, err = self.runLedger("--json", missing)
        self.assertEqual(code, 1)
        self.assertEqual(json.loads(out), {"error": f"{missing}: no such directory"})
        self.assertEqual(err, f"bazaar-ledger: error: {missing}: no such directory\n")

    def test_usageErrorsSayWhereToReadMore(self):
        """A bad command line: the reason, then 'see bazaar-ledger --help',
        exit 2 (and with --json the object); an option is never taken from
        a prefix of its name, and one mistyped is guessed."""
        code, out, err = self.runLedger("--jsn", self.folder)
        self.assertEqual((code, out), (2, ""))
        self.assertEqual(err, "bazaar-ledger: error: unrecognized arguments: --jsn "
                         "(did you mean --json?)\nsee bazaar-ledger --help\n")
        code, out, err = self.runLedger("--json")
        self.assertEqual(code, 2)
        self.assertEqual(json.loads(out),
                         {"error": "the following arguments are required: DIR"})
        self.assertTrue(err.endswith("\nsee bazaar-ledger --help\n"), err)
        code, out, err = self.runLedger("--js", self.folder)
        self.assertEqual(code, 2)

    def test_notADataDir(self):
        self.assertOneLineError(
            [self.folder], f"{self.folder}: not a bazaar data dir (no {DB_NAME})")

    def test_aFolderItCannotRead(self):
        """A data dir this user may not read (another's, mode 0700) is said
        so: it was 'not a bazaar data dir (no bazaar.sqlite)', its ledger
        there all the same.  (Its stat refused as the kernel does for
        another user: the suite may run as root.)"""
        self.dataDir(node_id=17)
        stat = os.stat

        def refused(path, *args, **kwargs):
            if str(path).startswith(self.folder + os.sep):
                raise PermissionError(13, "Permission denied", path)
            return stat(path, *args, **kwargs)

        self.patch(os, "stat", refused)
        self.assertOneLineError([self.folder], f"{self.folder}: cannot read: "
                                "Permission denied")

    def test_anEmptyLedger(self):
        """An empty bazaar.sqlite is said to be one, not SQLite's 'no such
        table: meta'."""
        path = os.path.join(self.folder, DB_NAME)
        os.makedirs(self.folder, exist_ok=True)
        with open(path, "wb"):
            pass
        self.assertOneLineError([self.folder], f"{path}: cannot read: it is empty, "
                                "no node's ledger")

    def test_aTrackersStateDirectory(self):
        """A tracker's state directory is said to be one (new user, issue
        96)."""
        with open(os.path.join(self.folder, "tracker.key"), "w"):
            pass
        self.assertOneLineError(
            [self.folder], f"{self.folder}: not a bazaar data dir (no {DB_NAME}): it is "
            "a tracker's state directory (tracker.key); give a node's --data-dir")

    def test_notADatabase(self):
        path = os.path.join(self.folder, DB_NAME)
        with open(path, "w") as f:
            f.write("not sqlite\n" * 500)
        code, out, err = self.runLedger("--json", self.folder)
        self.assertEqual(code, 1)
        self.assertTrue(json.loads(out)["error"].startswith(f"{path}: cannot read: "))
        self.assertTrue(err.startswith(f"bazaar-ledger: error: {path}: cannot read: "),
                        err)
        self.assertEqual(err.count("\n"), 1)

    def test_aFileIsNotADataDir(self):
        path = os.path.join(self.folder, "notes.txt")
        with open(path, "w") as f:
            f.write("hello\n")
        self.assertOneLineError([path], f"{path} is a file, not a data dir: give "
                                "the directory the node was started with "
                                "(--data-dir)")

    def test_theDatabaseFileStandsForItsDir(self):
        self.dataDir(node_id=17)
        code, out, err = self.runLedger(os.path.join(self.folder, DB_NAME))
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out.splitlines()[0], "node id: 17")

    def test_version(self):
        from twisted_bazaar.cli.common import version

        error = self.assertRaises(SystemExit, ledger.main, ["--version"])
        self.assertEqual(error.code, 0)
        self.assertEqual(self.stdout.getvalue(),
                         f"bazaar-ledger (twisted-bazaar) {version()}\n")
        self.assertNotEqual(version(), "unknown")

    def test_readerGone(self):
        """A reader that stops reading (| head -1) ends the command quietly
        with status 1, not a BrokenPipeError traceback."""
        self.dataDir(node_id=17)

        class Closed(io.StringIO):
            def write(self, text):
                raise BrokenPipeError(32, "Broken pipe")

        self.patch(sys, "stdout", Closed())
        error = self.assertRaises(SystemExit, ledger.main, [self.folder])
        self.assertEqual(error.code, 1)
        self.assertEqual(self.stderr.getvalue(), "")

    def test_aLedgerThatIsNoFile(self):
        """A DIR/bazaar.sqlite that is a FIFO no program writes to is
        refused at once: bazaar-ledger waited in SQLite's open() for ever
        (run apart, so that the wait it had times out, not the suite)."""
        import subprocess

        os.makedirs(self.folder, exist_ok=True)
        os.mkfifo(os.path.join(self.folder, "bazaar.sqlite"))
        result = subprocess.run([sys.executable, "-m", "twisted_bazaar.cli.ledger",
                                 self.folder], capture_output=True, text=True,
                                timeout=120)
        self.assertEqual((result.returncode, result.stderr), (1, (
            f"bazaar-ledger: error: {self.folder}/bazaar.sqlite is not a regular file "
            "(a FIFO, a folder...): not a bazaar database\n")))


class PipeTests(SynchronousTestCase):
    """The real command piped into ``head -1``."""

    def test_headDashOne(self):
        import subprocess
        from pathlib import Path

        folder = tempfile.mkdtemp(prefix="bazaar-ledger-")
        self.addCleanup(shutil.rmtree, folder, True)
        store = SQLiteStore(folder)
        store.seedInventory({"apple": 5000})
        store.commitSales([Sale(i, "apple", 3, 1000.0 + i) for i in range(1, 5001)])
        store.close()
        script = str(Path(sys.executable).with_name("bazaar-ledger"))
        result = subprocess.run(["bash", "-c", f'"{script}" "{folder}" | head -1; '
                                 'echo "status ${PIPESTATUS[0]}"'],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.stdout, "node id: -\nstatus 1\n")
        self.assertEqual(result.stderr, "")

    def test_shortLedgerFitsThePipe(self):
        """A ledger short enough to fit into the pipe is written whole
        before head leaves: status 0, as docs/running.md says."""
        import subprocess
        from pathlib import Path

        folder = tempfile.mkdtemp(prefix="bazaar-ledger-")
        self.addCleanup(shutil.rmtree, folder, True)
        store = SQLiteStore(folder)
        store.seedInventory({"apple": 5})
        store.close()
        script = str(Path(sys.executable).with_name("bazaar-ledger"))
        result = subprocess.run(["bash", "-c", f'"{script}" "{folder}" | head -1; '
                                 'echo "status ${PIPESTATUS[0]}"'],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual((result.stdout, result.stderr), ("node id: -\nstatus 0\n", ""))


class HostileLedgerTests(_LedgerDirs):
    """A ledger damaged, or written by another program, and item names
    that are a peer's text: bazaar-ledger says what it cannot read, in
    one line and exit 1, where it ended in a traceback; and it escapes
    what a terminal would obey."""

    def damaged(self, *statements):
        import sqlite3
        folder = self.dataDir(node_id=5, stock={"apple": 3},
                              bag=[Purchase(30, "pear", 4, 3.0)])
        db = sqlite3.connect(os.path.join(folder, DB_NAME), isolation_level=None)
        self.addCleanup(db.close)
        for statement in statements:
            db.execute(statement)
        return folder

    def assertSaid(self, folder, why):
        said = f"{folder}/{DB_NAME}: cannot read: it holds what no node writes ({why})"
        for form, shown in (((), ""), (("--json",), jsonText({"error": said}) + "\n")):
            code, out, err = self.runLedger(*form, folder)
            self.assertEqual((code, out), (1, shown), err)
            self.assertEqual(err, f"bazaar-ledger: error: {said}\n")
            for stream in (self.stdout, self.stderr):
                stream.truncate(0), stream.seek(0)

    def test_aNodeIdThatIsNoNumber(self):
        folder = self.damaged("UPDATE meta SET value = 'zz' WHERE key = 'node_id'")
        self.assertSaid(folder, "invalid literal for int() with base 10: 'zz'")

    def test_aTimeThatIsText(self):
        folder = self.damaged("UPDATE bag SET time = 'yesterday'")
        self.assertSaid(folder, "bag, buy 30: time is 'yesterday'")

    def test_anItemThatIsABlob(self):
        folder = self.damaged("UPDATE bag SET item = x'00ff'")
        self.assertSaid(folder, "bag, buy 30: item is b'\\x00\\xff'")

    def test_stockThatIsText(self):
        folder = self.damaged("UPDATE inventory SET units = 'many'")
        self.assertSaid(folder, "inventory: 'apple' is 'many'")

    def test_aTimeNoCalendarHolds(self):
        folder = self.damaged("UPDATE bag SET time = 1e300")
        code, out, err = self.runLedger(folder)
        self.assertEqual((code, err), (0, ""))
        self.assertIn("  1e+300 s  buy 30  pear from 4", out)

    def test_anItemsEscapesAreShownNotObeyed(self):
        """An item's name with ESC and a newline (a peer's text) printed
        as it was cleared the operator's screen and added a line the
        ledger never wrote; now each is shown escaped, and --json escapes
        it as JSON does."""
        folder = self.damaged("UPDATE bag SET item = 'a' || char(27) || '[2J' || "
                              "char(10) || 'sales: 0'")
        code, out, err = self.runLedger(folder)
        self.assertEqual(code, 0)
        self.assertNotIn("\x1b", out)
        self.assertIn("buy 30  a\\x1b[2J\\nsales: 0 from 4", out)
        self.assertEqual([line for line in out.splitlines() if line.startswith("sales:")],
                         ["sales: 0"])
        self.stdout.truncate(0), self.stdout.seek(0)
        code, out, err = self.runLedger("--json", folder)
        self.assertEqual(json.loads(out)["bag"][0]["item"], "a\x1b[2J\nsales: 0")
