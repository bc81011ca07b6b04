"""
End to end: nothing a seller holds is lost across restarts and restocks
(issue 35).  A seller that shares files with ``--data-dir`` brings them
back as files, not as counted stock; a seller that shares files and is
restocked shows the restocked items in every view and offers all it
holds after a restart, without warning that ``--sell`` differs.

Every wait is on a log line or a command, bounded by a timeout.
"""

import json
import os
import random
import re
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import nodeAddress, runCommand, short, startMarket, waitSharing
from twisted_bazaar.testing.daemons import LOOPBACK_LISTEN

TIMEOUT = 30.0
#: What a seller must not log after a restart that changed nothing.
MISTAKEN = r"--sell already offers|differs from the stock|no longer|Traceback"


def command(name, *args):
    script = str(Path(sys.executable).with_name(name))
    return runCommand([script, *args], capture_output=True, text=True,
                      timeout=2 * TIMEOUT)


class SellerGoodsLiveTests(SynchronousTestCase):
    def setUp(self):
        self.market, _ = startMarket(self, TIMEOUT)
        self.tracker = f"127.0.0.1:{self.market.tracker_port}"
        self.shared = self.folder("shared")
        self.data = os.path.join(self.market.cwd, "seller-data")
        self.content = random.Random(35).randbytes(300 * 1024)
        with open(os.path.join(self.shared, "photo.bin"), "wb") as f:
            f.write(self.content)

    def folder(self, name):
        path = os.path.join(self.market.cwd, name)
        os.makedirs(path)
        return path

    def startSeller(self, name, *sell):
        """A seller sharing photo.bin with the data dir; (daemon, port)
        once it shares the file and the tracker introduces it."""
        seller = self.market.startNode(name, "--role", "seller", *sell, "--share",
                                       self.shared, "--data-dir", self.data)
        ident, port = nodeAddress(seller, TIMEOUT)
        waitSharing(seller, "photo.bin", TIMEOUT)
        self.market.tracker.waitFor(
            rf"node {short(ident)} listens at \S+:{port} as it said", TIMEOUT)
        return seller, port

    def restart(self, seller, name, *sell):
        seller.terminate()
        seller.finish()
        self.assertTrue(seller.exitedCleanly(), seller.tail())
        return self.startSeller(name, *sell)

    def state(self, port):
        result = command("bazaar", "--json", "node", f"127.0.0.1:{port}")
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    def ledger(self):
        result = command("bazaar-ledger", "--json", self.data)
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    def buy(self, item, *args):
        result = command("bazaar", "--tracker", self.tracker, "buy", item, "--listen",
                         LOOPBACK_LISTEN, "--timeout", str(TIMEOUT), *args)
        self.assertEqual((result.returncode, result.stderr), (0, ""), result.stdout)
        return result.stdout

    def test_sharedFilesStayFilesAcrossARestart(self):
        """--share and --data-dir without --sell, stopped with SIGTERM and
        started again: the file is still a file (no counted stock, no
        warning), and a buy of it fetches its bytes."""
        seller, _ = self.startSeller("seller")
        seller, port = self.restart(seller, "seller again")
        self.assertEqual([m.string for m in seller.matches(MISTAKEN)], [])
        state = self.state(port)
        self.assertEqual(state["stock"], {})
        self.assertEqual([entry["name"] for entry in state["files"]], ["photo.bin"])
        self.assertEqual(self.ledger()["inventory"], {})

        downloads = self.folder("dl")
        self.assertIn("bought photo.bin from node", self.buy("photo.bin", "--downloads",
                                                              downloads))
        with open(os.path.join(downloads, "photo.bin"), "rb") as f:
            self.assertEqual(f.read(), self.content)
        seller.waitFor(r"sold photo\.bin to \w+ \(a copy of a shared file\)", TIMEOUT)
        self.assertEqual(seller.problems(), [])

    def test_restockedItemsShownAndKeptBesideSharedFiles(self):
        """A restock of a seller that shares files: the restocked item is
        in bazaar node and bazaar list, the other items stay; after a
        restart with the same --sell everything held is offered, with no
        warning, and the restocked item sells."""
        seller, port = self.startSeller("seller", "--sell", "apple=1")
        done = command("bazaar", "restock", "--data-dir", self.data, "plum=1")
        self.assertEqual((done.returncode, done.stderr), (0, ""))
        self.assertEqual(self.state(port)["stock"], {"apple": 1, "plum": 1})
        listed = command("bazaar", "--tracker", self.tracker, "--json", "list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        listing = json.loads(listed.stdout)
        self.assertEqual({item: entry["units"] for item, entry in listing["items"].items()},
                         {"apple": 1, "plum": 1})
        self.assertEqual([entry["name"] for entry in listing["files"]], ["photo.bin"])

        seller, port = self.restart(seller, "seller again", "--sell", "apple=1")
        self.assertEqual([m.string for m in seller.matches(MISTAKEN)], [])
        self.assertEqual(self.state(port)["stock"], {"apple": 1, "plum": 1})
        self.assertRegex(self.buy("plum"), r"^bought plum from node \w+ \(1 of 1\)$")
        self.assertRegex(self.buy("apple"), r"^bought apple from node \w+ \(1 of 1\)$")
        seller.waitFor(re.escape("sold apple to ") + r"\w+ \(0 left\)", TIMEOUT)
        self.assertEqual(self.ledger()["inventory"], {"apple": 0, "plum": 0})
        self.assertEqual(seller.problems(), [])
