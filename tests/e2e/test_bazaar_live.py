"""
End to end: the ``bazaar`` command against live daemons: ``status``,
``list`` and ``node``, in text and ``--json``, and its errors.
"""

import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import (
    runCommand,
    startCommand,
    startMarket,
    startSeller,
    waitWantsMet,
)
from twisted_bazaar.wire.ids import wireId
from twisted_bazaar.testing.daemons import JSON, LOOPBACK_LISTEN, LiveMarket, nodeId

TIMEOUT = 30.0
#: The bound on one command: well past the longest --timeout given it
#: (TIMEOUT), with room for its start-up on a loaded machine (at load 17,
#: a `buy --timeout 30` bounded by 30 s itself was cut short).
COMMAND_TIMEOUT = 4 * TIMEOUT
#: The --timeout of a buy that finds nothing: it waits it out whole.
NOTHING_ON_SALE = 15


def bazaar(*args):
    script = str(Path(sys.executable).with_name("bazaar"))
    return runCommand([script, *args], capture_output=True, text=True,
                      timeout=COMMAND_TIMEOUT)


class BazaarLiveTests(SynchronousTestCase):
    def setUp(self):
        folder = tempfile.mkdtemp(prefix="bazaar-cli-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(self.market.stop)
        self.market.startTracker(timeout=TIMEOUT)
        self.tracker = f"127.0.0.1:{self.market.tracker_port}"
        self.seller = self.market.startNode("seller", "--role", "seller", "--sell",
                                             "apple=3", "--sell", "pear=1")
        self.seller_id = wireId(nodeId(self.seller, TIMEOUT))
        self.buyer = self.market.startNode("buyer", "--role", "buyer", "--want",
                                            "apple")
        self.buyer_id = wireId(nodeId(self.buyer, TIMEOUT))
        waitWantsMet(self.buyer, TIMEOUT)
        self.seller_port = int(self.seller.waitFor(
            r"node listening on [^:]+:(\d+)", TIMEOUT)[1])

    def run_ok(self, *args):
        result = bazaar("--tracker", self.tracker, *args)
        self.assertEqual((result.returncode, result.stderr), (0, ""), result.stdout)
        return result.stdout

    def test_status(self):
        obj = json.loads(self.run_ok("--json", "status"))
        self.assertEqual(obj["total"], 2)
        self.assertEqual(sorted((n["id"], n["scheme"]) for n in obj["nodes"]),
                         sorted([(self.seller_id, "flood"), (self.buyer_id, "flood")]))
        [seller] = [n for n in obj["nodes"] if n["id"] == self.seller_id]
        self.assertEqual((seller["host"], seller["port"]),
                         ("127.0.0.1", self.seller_port))
        text = self.run_ok("status")
        self.assertEqual(text.splitlines()[0], "2 live nodes")
        self.assertIn(f"node {self.seller_id[:8]:>10}  127.0.0.1:{self.seller_port}  flood",
                      text)

    def test_node(self):
        """Anyone is told a node's public facts (the operator's view is in
        test_status_privacy_live)."""
        obj = json.loads(self.run_ok("--json", "node", f"127.0.0.1:{self.seller_port}"))
        self.assertEqual((obj["id"], obj["scheme"], obj["stock"], obj["operator"]),
                         (self.seller_id, "flood", {"apple": 2, "pear": 1}, False))
        self.assertIn(self.buyer_id, [link["id"] for link in obj["links"]])
        self.assertNotIn("recent", obj)
        text = self.run_ok("node", f"127.0.0.1:{self.seller_port}")
        self.assertIn("stock: apple 2, pear 1", text)
        self.assertIn("withheld (its operator's", text)
        buyer_port = int(self.buyer.waitFor(r"node listening on [^:]+:(\d+)")[1])
        buyer = json.loads(self.run_ok("--json", "node", f"127.0.0.1:{buyer_port}"))
        self.assertEqual((buyer["stock"], buyer["operator"]), ({}, False))
        self.assertNotIn("bag", buyer)

    def test_list(self):
        obj = json.loads(self.run_ok("--json", "list"))
        self.assertEqual(obj["items"], {"apple": {"units": 2, "sellers": [self.seller_id]},
                                        "pear": {"units": 1, "sellers": [self.seller_id]}})
        self.assertEqual((obj["index"], obj["unreachable"]), ({}, []))
        self.assertIn("  apple: 2 units, sellers: ", self.run_ok("list"))

    def test_everyAddressForm(self):
        """The tracker and a node are reached at every form of address the
        docs show: HOST:PORT and client endpoint strings; a daemon takes
        HOST:PORT for its --tracker too."""
        port = self.market.tracker_port
        for tracker in (f"127.0.0.1:{port}", f"tcp:127.0.0.1:{port}",
                        f"tcp:host=127.0.0.1:port={port}"):
            result = bazaar("--tracker", tracker, "--json", "status")
            self.assertEqual((result.returncode, result.stderr), (0, ""), tracker)
            self.assertEqual(json.loads(result.stdout)["total"], 2)
        for node in (f"tcp:127.0.0.1:{self.seller_port}",
                     f"tcp:host=127.0.0.1:port={self.seller_port}"):
            obj = json.loads(self.run_ok("--json", "node", node))
            self.assertEqual(obj["id"], self.seller_id)
        plain = self.market.start("plain", [
            "bazaar-node", "--tracker", f"127.0.0.1:{port}", "--listen",
            LOOPBACK_LISTEN, "--role", "buyer", "--want", "pear"])
        plain.waitFor(r"bought pear from", TIMEOUT)

    def test_buy(self):
        """bazaar buy buys, prints the purchase, and exits 0; the seller's
        stock shows it."""
        obj = json.loads(self.run_ok("buy", "apple", "--quantity", "2", "--timeout",
                                     str(TIMEOUT), "--listen", LOOPBACK_LISTEN,
                                     "--json"))
        self.assertEqual((obj["item"], obj["quantity"]), ("apple", 2))
        self.assertEqual([(p["seller"], p["units"]) for p in obj["purchases"]],
                         [(self.seller_id, 2)])
        self.assertNotIn(obj["node"], (self.seller_id, self.buyer_id))
        state = json.loads(self.run_ok("--json", "node",
                                       f"127.0.0.1:{self.seller_port}"))
        self.assertEqual(state["stock"], {"apple": 0, "pear": 1})
        text = self.run_ok("buy", "pear", "--timeout", str(TIMEOUT), "--listen",
                           LOOPBACK_LISTEN)
        self.assertEqual(text, f"bought pear from node {self.seller_id[:8]} (1 of 1)\n")

    def test_buyNothingOnSale(self):
        """Nobody sells it: exit 1 with the reason at the deadline (of
        NOTHING_ON_SALE seconds: at 4, a buy at -n 8 beside 25 busy
        processes could not register in time, and said so instead)."""
        result = bazaar("--tracker", self.tracker, "buy", "plum", "--timeout",
                        str(NOTHING_ON_SALE), "--listen", LOOPBACK_LISTEN)
        self.assertEqual((result.returncode, result.stdout), (1, ""))
        # First said (off a terminal too) once a search finds nothing.
        self.assertRegex(result.stderr, r"^bazaar: no seller offers plum now \(sold out, "
                                        r"or not sold here: a search found nothing\); "
                                        r"searching again for up to \d+ s \(--timeout\), "
                                        r"Ctrl-C to stop\n")
        self.assertRegex(result.stderr, r"\nbazaar: error: bought 0 of 1 plum within "
                                        rf"{NOTHING_ON_SALE} s: no seller offered it \(\d+ "
                                        r"search(es)? found nothing\)\n$")

    def test_exitWhenDone(self):
        """A buyer daemon with --exit-when-done stops once it has bought,
        and exits 0."""
        leaving = self.market.startNode("leaving", "--role", "buyer", "--want",
                                        "pear", "--exit-when-done")
        self.assertEqual(leaving.finish(TIMEOUT), 0, leaving.tail())
        self.assertTrue(leaving.matches(r"node \w+ stopping: all wants met"))
        self.assertTrue(leaving.matches(r"Server Shut Down\."))
        self.assertEqual(leaving.problems(), [])


class NoMarketTests(SynchronousTestCase):
    """Errors that need no node, or no market at all: no seller or buyer is
    started for them (each daemon is some 0.5 CPU-s to start)."""

    def test_unreachable(self):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        result = bazaar("--timeout", "5", "node", f"127.0.0.1:{port}")
        self.assertEqual(result.returncode, 1)
        self.assertTrue(re.fullmatch(rf"bazaar: error: cannot reach 127\.0\.0\.1:{port}: "
                                     r".*refused.*\n", result.stderr), result.stderr)
        self.assertEqual(result.stdout, "")
        result = bazaar("node", "nowhere")
        self.assertEqual(result.returncode, 2)
        self.assertIn("wants HOST:PORT or an endpoint such as tcp:HOST:PORT, not "
                      "'nowhere'", result.stderr)

    def test_whatIsAtThePort(self):
        """A relay's port given for the tracker, or the tracker's for a
        node: bazaar says what is there, in one line, exit 1."""
        market, tracker = startMarket(self, TIMEOUT)
        address = f"127.0.0.1:{market.tracker_port}"
        relay = int(tracker.waitFor(r"relay listening on [^:]+:(\d+)", TIMEOUT)[1])
        for args in (["status"], ["buy", "apple", "--timeout", "5"]):
            result = bazaar("--tracker", f"127.0.0.1:{relay}", *args)
            self.assertEqual((result.returncode, result.stdout), (1, ""), args)
            self.assertEqual(result.stderr, (
                f"bazaar: error: 127.0.0.1:{relay} is a relay's port (a relay only "
                "carries circuits between nodes), not the tracker's: the tracker's own "
                "port is the one its log says it listens on (tracker listening on "
                "HOST:PORT; 7700 by default)\n"), args)
        result = bazaar("--tracker", address, "node", address)
        self.assertEqual((result.returncode, result.stderr), (1, (
            f"bazaar: error: {address} is the tracker's port, not a node's: bazaar "
            "status lists the nodes and where they listen\n")))


class BuyJoinsTheSchemeTests(SynchronousTestCase):
    """bazaar buy without --discovery joins the scheme the market runs,
    and names the --discovery to give when one was given wrong."""

    def test_indexMarket(self):
        market, _ = startMarket(self, TIMEOUT)
        _, seller, _ = startSeller(market, "apple=2", TIMEOUT, "--discovery", "index")
        tracker = f"127.0.0.1:{market.tracker_port}"
        result = bazaar("--tracker", tracker, "buy", "apple", "--timeout",
                        str(TIMEOUT), "--listen", LOOPBACK_LISTEN)
        self.assertEqual((result.returncode, result.stderr), (0, ""), result.stdout)
        self.assertEqual(result.stdout, f"bought apple from node {seller[:8]} (1 of 1)\n")
        result = bazaar("--tracker", tracker, "buy", "apple", "--discovery", "flood",
                        "--listen", LOOPBACK_LISTEN)
        self.assertEqual((result.returncode, result.stdout), (1, ""))
        self.assertEqual(result.stderr, "bazaar: error: no live node runs the flood "
                         "scheme; the market's nodes run index (1 node): give "
                         "--discovery index\n")


class ConcurrentStatusLiveTests(SynchronousTestCase):
    """
    Eight ``bazaar status`` at once from one machine: the tracker answers
    an address group 2 ``members`` a second, in bursts of 4, and dropped
    the rest unsaid, so 5 of 8 failed after 10 s ("no answer").  Those
    past the rate are now answered ``busy`` with when to ask again, and
    every one is answered within its --timeout.
    """

    def test_eightAtOnce(self):
        folder = tempfile.mkdtemp(prefix="bazaar-cli-")
        self.addCleanup(shutil.rmtree, folder, True)
        market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(market.stop)
        market.startTracker(timeout=TIMEOUT)
        script = str(Path(sys.executable).with_name("bazaar"))
        runs = [startCommand([script, "--tracker", f"127.0.0.1:{market.tracker_port}",
                              "--timeout", "10", "--json", "status"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(8)]
        for run in runs:
            self.addCleanup(run.kill)
        results = [run.communicate(timeout=COMMAND_TIMEOUT) + (run.returncode,)
                   for run in runs]
        self.assertEqual([(code, err) for _, err, code in results], [(0, "")] * 8)
        self.assertEqual({json.loads(out)["total"] for out, _, _ in results}, {0})
