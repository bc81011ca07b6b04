"""
End to end: the real daemons are killed (``kill -9``) or stopped and
started again with the same command and ``--data-dir``, over loopback,
and the books are read back with the real ``bazaar-ledger``.

Every wait is on a log line, bounded by a timeout; nothing sleeps.
"""

import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import listeningPort, runCommand, waitBought, waitWantsMet
from twisted_bazaar.wire.ids import shortId, wireId
from twisted_bazaar.testing.daemons import JSON, NODE_READY_EVENT, LiveMarket, nodeId

#: Seconds any one expected log line may take.
TIMEOUT = 30.0
#: Seconds for what waits on backoff: a buyer searching again (up to 30 s
#: between searches) or a node reconnecting to its tracker (up to 30 s).
SLOW = 90.0


def ledger(directory):
    """``bazaar-ledger --json DIR``, as a user runs it; its parsed output."""
    script = str(Path(sys.executable).with_name("bazaar-ledger"))
    result = runCommand([script, "--json", directory], capture_output=True,
                        text=True, timeout=TIMEOUT)
    if result.returncode != 0:
        raise AssertionError(f"bazaar-ledger {directory} failed: {result.stderr}")
    return json.loads(result.stdout)


def units(entries):
    """Units in a ledger's sales or a bag (one entry may be of several)."""
    return sum(entry["units"] for entry in entries)


def nodeLinks(daemon):
    """The ids a running node is linked to, as ``bazaar node`` shows them."""
    port = daemon.waitForEvent(NODE_READY_EVENT, TIMEOUT)["port"]
    script = str(Path(sys.executable).with_name("bazaar"))
    result = runCommand([script, "--json", "node", f"127.0.0.1:{port}"],
                        capture_output=True, text=True, timeout=TIMEOUT)
    if result.returncode != 0:
        return []
    return [link["id"] for link in json.loads(result.stdout)["links"]]


def kill(daemon):
    """kill -9, and wait for the process and its log to end."""
    daemon.process.kill()
    daemon.finish()


class CrashRestartTests(SynchronousTestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-crash-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.market = LiveMarket(self.folder, logFormat=JSON)
        self.addCleanup(self.market.stop)
        # The tracker keeps its key in a data dir: restarted, it is the
        # tracker its nodes know (a new key would be refused).
        self.tracker = self.market.startTracker("tracker", TIMEOUT, "--data-dir",
                                                self.dataDir("tracker-data"))

    def dataDir(self, name):
        return os.path.join(self.folder, name)

    def restart(self, daemon, name, args=None):
        """Start the daemon again with the same command (or args)."""
        return self.market.start(name, daemon.args if args is None else args)

    def assertNoProblems(self, *daemons):
        for daemon in daemons:
            self.assertEqual(daemon.problems(), [], daemon.tail())

    def test_sellerKilledAfterTheFirstSale(self):
        """
        The issue's "done when": a seller of 5 apples is killed after it
        sold a buyer the 4 it wanted (one buy of 4) and restarted with the
        same command; the buyer ends with exactly 4, the ledger shows 4
        units sold and 1 apple left, and bag and ledger hold the same buy
        ids and counts.
        """
        sells, buys = self.dataDir("S"), self.dataDir("B")
        seller = self.market.startNode("seller", "--role", "seller", "--sell", "apple=5",
                                        "--data-dir", sells)
        seller_id = nodeId(seller, TIMEOUT)
        buyer = self.market.startNode("buyer", "--role", "buyer", "--want", "apple",
                                       "--quantity", "4", "--data-dir", buys)
        waitBought(buyer, "apple", TIMEOUT, seller=seller_id, n=4, q=4, units=4)
        kill(seller)
        again = self.restart(seller, "seller again")
        self.assertEqual(nodeId(again, TIMEOUT), seller_id)
        waitWantsMet(buyer, SLOW, bag=4)
        sold, bought = ledger(sells), ledger(buys)
        self.assertEqual((sold["node_id"], sold["inventory"], units(sold["sales"])),
                         (wireId(seller_id), {"apple": 1}, 4))
        self.assertEqual(sorted((p["buy_id"], p["units"]) for p in bought["bag"]),
                         sorted((s["buy_id"], s["units"]) for s in sold["sales"]))
        self.assertEqual({(p["item"], p["seller"]) for p in bought["bag"]},
                         {("apple", wireId(seller_id))})
        self.assertEqual({(s["item"], s["buyer"]) for s in sold["sales"]},
                         {("apple", bought["node_id"])})
        self.assertEqual(len(buyer.matches(r"bought apple( x\d+)? from")), 1)
        self.assertNoProblems(buyer, again, self.tracker)

    def test_changedSellIsReportedNotApplied(self):
        sells = self.dataDir("S")
        seller = self.market.startNode("seller", "--role", "seller", "--sell", "apple=5",
                                        "--data-dir", sells)
        seller_id = nodeId(seller, TIMEOUT)
        kill(seller)
        args = [arg if arg != "apple=5" else "apple=9" for arg in seller.args]
        again = self.restart(seller, "seller again", args)
        again.waitFor(r"--sell apple=9 differs from the stock this data dir began "
                       r"with \(apple=5\); keeping what is left: apple=5", TIMEOUT)
        self.assertEqual(nodeId(again, TIMEOUT), seller_id)
        self.assertEqual(ledger(sells)["inventory"], {"apple": 5})
        self.assertNoProblems(again)

    def test_trackerRestart(self):
        """
        The tracker goes down mid-run: linked nodes keep trading without
        it, and when it is back on its port every node registers again
        under its old id (the tracker keeps its key in its data dir, so
        the nodes know it again).  The buyer gets 1 of its 4 apples from
        the first seller (all it has), then the other 3 from a second
        seller, which joined (and linked) before the tracker went down.
        """
        seller = self.market.startNode("seller", "--role", "seller", "--sell", "apple=1")
        seller_id = nodeId(seller, TIMEOUT)
        buyer = self.market.startNode("buyer", "--role", "buyer", "--want", "apple",
                                       "--quantity", "4", "--search-window", "2")
        buyer_id = nodeId(buyer, TIMEOUT)
        waitBought(buyer, "apple", TIMEOUT, n=1, q=4)
        second = self.market.startNode("second seller", "--role", "seller", "--sell",
                                        "apple=3")
        second_id = nodeId(second, TIMEOUT)
        self.market.waitIntroduced(second_id, TIMEOUT)
        for _ in range(int(TIMEOUT)):
            if nodeLinks(second):
                break
        else:
            self.fail(f"the second seller never linked: {second.tail()}")
        self.tracker.terminate()
        self.tracker.finish()
        buyer.waitFor(r"lost the tracker", TIMEOUT)
        bought_before = len(buyer.matches(r"bought apple( x\d+)? from"))
        waitWantsMet(buyer, SLOW, bag=4)
        # Usually the rest came after the tracker went down; a search that
        # found the second seller just before is no fault.
        self.assertLessEqual(bought_before, 2)
        waitBought(buyer, "apple", TIMEOUT, seller=second_id, n=4, q=4, units=3)
        port = self.market.tracker_port
        tracker = self.market.start("tracker again", [
            "bazaar-tracker", "--listen", f"tcp:{port}:interface=127.0.0.1",
            "--data-dir", self.dataDir("tracker-data")])
        listeningPort(tracker, "tracker", TIMEOUT, port=port)
        for node in (seller_id, buyer_id, second_id):
            tracker.waitFor(rf"node {shortId(node)} joined from ", SLOW)
        joined = tracker.matches(r"node (?P<id>\w+) joined from ")
        self.assertEqual(sorted(m["id"] for m in joined),
                         sorted(shortId(node) for node in (seller_id, buyer_id, second_id)))
        self.assertEqual(len(seller.matches(r"sold apple to")), 1)
        self.assertEqual(len(second.matches(r"sold apple x3 to")), 1)
        self.assertEqual(len(buyer.matches(r"no --data-dir: this node's state lives "
                                           r"in memory")), 1)
        self.assertNoProblems(seller, second, buyer, tracker)

    def test_buyerKilledAndRestarted(self):
        """The buyer is killed after its first purchase (1 of 4: all its
        seller had) and restarted with the same data dir, with a second
        seller up: it keeps its bag and buys the rest there, no more."""
        sells, more, buys = self.dataDir("S"), self.dataDir("S2"), self.dataDir("B")
        seller = self.market.startNode("seller", "--role", "seller", "--sell", "apple=1",
                                        "--data-dir", sells)
        nodeId(seller, TIMEOUT)
        buyer = self.market.startNode("buyer", "--role", "buyer", "--want", "apple",
                                       "--quantity", "4", "--data-dir", buys)
        buyer_id = nodeId(buyer, TIMEOUT)
        waitBought(buyer, "apple", TIMEOUT, n=1, q=4)
        kill(buyer)
        kept = ledger(buys)["bag"]
        self.assertEqual(units(kept), 1)
        second = self.market.startNode("second seller", "--role", "seller", "--sell",
                                        "apple=10", "--data-dir", more)
        nodeId(second, TIMEOUT)
        again = self.restart(buyer, "buyer again")
        self.assertEqual(nodeId(again, TIMEOUT), buyer_id)
        waitWantsMet(again, SLOW, bag=4)
        sold, sold_more, bought = ledger(sells), ledger(more), ledger(buys)
        self.assertEqual(bought["bag"][:len(kept)], kept)
        self.assertEqual(units(bought["bag"]), 4)
        self.assertEqual(sorted((p["buy_id"], p["units"]) for p in bought["bag"]),
                         sorted((s["buy_id"], s["units"])
                                for s in sold["sales"] + sold_more["sales"]))
        self.assertEqual((sold["inventory"], sold_more["inventory"]),
                         ({"apple": 0}, {"apple": 7}))
        self.assertNoProblems(seller, second, again)


class ChaosTests(SynchronousTestCase):
    """
    The seller of a buyer's first apple killed (``kill -9``) mid-trade,
    then every seller, buyer and the tracker killed once, in a random
    order, while trading, each restarted at once with the same
    command; then every ledger and bag is audited with
    ``bazaar-ledger --json``: nothing lost, nothing sold twice, nothing
    extra.
    """

    SELLERS = {"seller1": "apple=4", "seller2": "apple=4"}
    BUYERS = ("buyer1", "buyer2", "buyer3")
    WANTED = 2

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-chaos-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.market = LiveMarket(self.folder, logFormat=JSON)
        self.addCleanup(self.market.stop)
        # Its key kept in a data dir, as its nodes keep theirs.
        self.tracker = self.market.startTracker("tracker", TIMEOUT, "--data-dir",
                                                self.dataDir("tracker-data"))
        self.port = self.market.tracker_port
        self.running = {}

    def dataDir(self, name):
        return os.path.join(self.folder, name)

    def start(self, name, *args):
        self.running[name] = self.market.startNode(name, *args, "--data-dir",
                                                    self.dataDir(name))
        return nodeId(self.running[name], TIMEOUT)

    def killAndRestart(self, name):
        """kill -9 one daemon and start it again with the same command;
        return once it is back (registered, or listening)."""
        if name == "tracker":
            kill(self.tracker)
            self.tracker = self.market.start("tracker", [
                "bazaar-tracker", "--listen", f"tcp:{self.port}:interface=127.0.0.1",
                "--data-dir", self.dataDir("tracker-data")])
            self.tracker.waitFor(rf"tracker listening on [^\s:]+:{self.port}\b",
                                  TIMEOUT)
            return
        daemon = self.running[name]
        kill(daemon)
        self.running[name] = self.market.start(name, daemon.args)
        nodeId(self.running[name], SLOW)

    def test_randomKillsWhileTrading(self):
        rng = random.Random(13)
        ids = {name: self.start(name, "--role", "seller", "--sell", stock)
               for name, stock in self.SELLERS.items()}
        for name in self.BUYERS:
            ids[name] = self.start(name, "--role", "buyer", "--want", "apple",
                                   "--quantity", str(self.WANTED))
        # Mid-trade: the seller of buyer1's first apple goes first.
        sold = self.running["buyer1"].waitFor(r"bought apple(?: x\d+)? from (\w+)",
                                              SLOW)[1]
        self.killAndRestart({shortId(ids[name]): name for name in self.SELLERS}[sold])
        victims = list(self.SELLERS) + list(self.BUYERS) + ["tracker"]
        rng.shuffle(victims)
        for name in victims:
            self.killAndRestart(name)
        for name in self.BUYERS:
            self.running[name].waitFor(
                rf"all wants met: {self.WANTED} in the bag", SLOW)
        self.market.stop()

        books = {name: ledger(self.dataDir(name)) for name in ids}
        sales = {}
        for name in self.SELLERS:
            for sale in books[name]["sales"]:
                self.assertNotIn(sale["buy_id"], sales, "sold twice")
                sales[sale["buy_id"]] = (wireId(ids[name]), sale["buyer"])
            stock = int(self.SELLERS[name].split("=")[1])
            self.assertEqual(books[name]["inventory"],
                             {"apple": stock - units(books[name]["sales"])})
            self.assertEqual(books[name]["node_id"], wireId(ids[name]))
        bagged = {}
        for name in self.BUYERS:
            bag = books[name]["bag"]
            self.assertEqual(units(bag), self.WANTED, f"{name} holds {units(bag)}")
            for purchase in bag:
                bagged[purchase["buy_id"]] = (purchase["seller"], wireId(ids[name]))
        self.assertEqual(bagged, sales)
