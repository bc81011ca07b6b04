"""
End to end, over loopback: a market trading while its tracker is killed
(``kill -9``) and started again exactly as the README starts it (no
``--data-dir``: its key kept in its default state directory), three
times, at moments of the trade.  Issue 57 found 7 of 9 wants unmet with
stock left in such a run, when a restarted tracker had a new key that
every node refused.  Now every want is met, the only stock left is of
the item nobody wanted, and every book agrees (``bazaar-ledger
--json``): nothing sold twice, every sale in exactly one bag.

The nodes keep their state (and the tracker's key they met first) in
``--data-dir``, as a user's long-running sellers and buyers would.  The
tracker's port is a free one rather than 7700, so that the test runs
beside a market already there.  Every wait is on a log line, bounded.
"""

import os
import shutil
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import freePort, kill, listeningPort, waitWantsMet
from tests.e2e.test_crash_restart import ledger, units
from twisted_bazaar.testing.daemons import JSON, LiveMarket, nodeId, waitUntil
from twisted_bazaar.wire.ids import shortId, wireId

#: Seconds any one expected log line may take.
TIMEOUT = 30.0
#: Seconds for what waits on backoff: a buyer searching again (up to 30 s
#: between searches) or a node reconnecting to its tracker (up to 30 s).
SLOW = 90.0
#: Every wanted item's units, all told, are what the buyers want of it:
#: so a market that clears leaves only the figs, which nobody wants.
SELLERS = {"seller1": ("apple=2", "pear=1", "fig=1"),
           "seller2": ("pear=2", "plum=1"),
           "seller3": ("apple=1", "plum=2", "fig=1")}
WANTS = ("apple", "pear", "plum")
BUYERS = ("buyer1", "buyer2", "buyer3")
BOUGHT = r"bought (?:apple|pear|plum)(?: x\d+)? from "


class TrackerRestartedAsTheReadmeStartsItTests(SynchronousTestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-chaos-tracker-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.market = LiveMarket(self.folder, logFormat=JSON)
        self.addCleanup(self.market.stop)
        self.port = freePort()
        self.trackers = []
        self.startTracker()

    def startTracker(self):
        """The README's ``twistd -n bazaar-tracker``, on this test's port,
        once it has started (it listens, and says its key)."""
        tracker = self.market.start(f"tracker {len(self.trackers) + 1}", [
            "bazaar-tracker", "--listen", f"tcp:{self.port}:interface=127.0.0.1"])
        listeningPort(tracker, "tracker", TIMEOUT, port=self.port)
        # Its key's line: said once its start has succeeded.
        tracker.waitFor(r"the tracker's key is ", TIMEOUT)
        self.trackers.append(tracker)
        return tracker

    def restartTracker(self):
        kill(self.trackers[-1])
        return self.startTracker()

    def node(self, name, *args):
        daemon = self.market.start(name, [
            "bazaar-node", "--tracker", f"127.0.0.1:{self.port}", "--listen",
            "tcp:0:interface=127.0.0.1", "--data-dir",
            os.path.join(self.folder, name), *args])
        return daemon, nodeId(daemon, TIMEOUT)

    def sales(self, daemons):
        return sum(len(daemon.matches(BOUGHT)) for daemon in daemons)

    def test_everyWantMetOnlyUnwantedStockLeft(self):
        nodes, ids = {}, {}
        for name, stock in SELLERS.items():
            sells = [arg for item in stock for arg in ("--sell", item)]
            nodes[name], ids[name] = self.node(name, "--role", "seller", *sells)
        buyers = []
        for name in BUYERS:
            wants = [arg for item in WANTS for arg in ("--want", item)]
            nodes[name], ids[name] = self.node(name, "--role", "buyer", *wants)
            buyers.append(nodes[name])
        # Mid-trade: once the first purchase is made...
        waitUntil(buyers, lambda: self.sales(buyers) >= 1, SLOW, what="a first purchase")
        tracker = self.restartTracker()
        # ...once a node has come back to the restarted tracker, before
        # the others have...
        tracker.waitFor(r"node \w+ joined from ", SLOW)
        tracker = self.restartTracker()
        # ...and once a few more purchases are made.
        waitUntil(buyers, lambda: self.sales(buyers) >= 4, SLOW, what="four purchases")
        tracker = self.restartTracker()
        for daemon in buyers:
            waitWantsMet(daemon, SLOW, bag=len(WANTS))
        for name in nodes:
            tracker.waitFor(rf"node {shortId(ids[name])} joined from ", SLOW)
        for daemon in nodes.values():
            self.assertEqual(daemon.matches(r"the tracker proved "), [],
                             daemon.name)
            self.assertEqual(daemon.problems(), [], daemon.tail())
        keys = {daemon.matches(r"the tracker's key is (\S+) ")[0][1]
                for daemon in self.trackers}
        self.assertEqual(len(keys), 1, keys)
        self.market.stop()

        books = {name: ledger(os.path.join(self.folder, name)) for name in nodes}
        sold, left = {}, {}
        for name, stock in SELLERS.items():
            for sale in books[name]["sales"]:
                self.assertNotIn(sale["buy_id"], sold, "sold twice")
                sold[sale["buy_id"]] = (wireId(ids[name]), sale["buyer"], sale["item"],
                                        sale["units"])
            for item, count in books[name]["inventory"].items():
                left[item] = left.get(item, 0) + count
        self.assertEqual({item: n for item, n in left.items() if n}, {"fig": 2})
        bagged = {}
        for name in BUYERS:
            bag = books[name]["bag"]
            self.assertEqual(sorted(p["item"] for p in bag for _ in range(p["units"])),
                             sorted(WANTS), name)
            for purchase in bag:
                bagged[purchase["buy_id"]] = (purchase["seller"], wireId(ids[name]),
                                              purchase["item"], purchase["units"])
        self.assertEqual(bagged, sold)
        self.assertEqual(sum(units(books[name]["bag"]) for name in BUYERS),
                         len(BUYERS) * len(WANTS))
