"""
End to end: the daemons' log lines as a user reads them: the tracker
retry line (whom, why, a rounded delay, and none during shutdown),
``--log-format json``, and a healthy market's log without alarming or
cryptic lines.
"""

import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import freePort, runCommand
from twisted_bazaar.testing.daemons import LOOPBACK_LISTEN, LiveMarket

TIMEOUT = 30.0


class LogTests(SynchronousTestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-logs-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.market = LiveMarket(self.folder)
        self.addCleanup(self.market.stop)

    def test_trackerRetryLine(self):
        # A port nothing listens on.
        port = freePort()
        node = self.market.start("node", [
            "bazaar-node", "--role", "seller", "--sell", "apple=1",
            "--tracker", f"tcp:127.0.0.1:{port}", "--listen", LOOPBACK_LISTEN])
        pattern = (rf"cannot reach the tracker at 127\.0\.0\.1:{port}: nothing listens "
                   r"there \(connection refused\); trying again in \d+(\.\d)? s$")
        node.waitFor(pattern, TIMEOUT)
        node.waitFor(r"trying again in", TIMEOUT)
        node.terminate()
        node.finish()
        lines = node.lines
        stopping = next(i for i, line in enumerate(lines) if "Received SIGTERM" in line)
        self.assertEqual([line for line in lines[stopping:] if "trying again" in line],
                         [])
        self.assertEqual([line for line in lines if "Scheduling retry" in line], [])
        self.assertEqual(node.problems(), [])

    def test_aTrackerKilledInWords(self):
        """A tracker killed with kill -9 while a node is linked: the node
        said Twisted's "Connection was closed cleanly" (its kernel closes
        the tracker's sockets); it says what happened in the project's
        words, then that nothing listens there."""
        tracker = self.market.startTracker("tracker", TIMEOUT)
        node = self.market.startNode("node", "--role", "seller", "--sell", "apple=1")
        node.waitFor(r"registered with the tracker as node ", TIMEOUT)
        tracker.process.kill()
        tracker.finish()
        at = rf"the tracker at 127\.0\.0\.1:{self.market.tracker_port}"
        # Its kernel closes its sockets: cleanly, or with a reset when a
        # message of the node's was still unread there.
        node.waitFor(rf"\[Reconnector#info\] lost {at}: (it closed the connection \(it "
                     r"stopped, restarted or crashed\)|the connection broke \(it "
                     r"crashed, or the network failed\)); trying again in ", TIMEOUT)
        node.waitFor(rf"cannot reach {at}: nothing listens there \(connection "
                     r"refused\); trying again in ", TIMEOUT)
        self.assertEqual(node.matches(r"closed cleanly|refused by other side"), [],
                         node.tail())
        self.assertEqual(node.problems(), [], node.tail())

    def test_jsonLogFormat(self):
        tracker = self.market.start("tracker", ["bazaar-tracker", "--log-format", "json",
                                                "--listen", LOOPBACK_LISTEN])
        match = tracker.waitFor(r'"log_text": "tracker listening on [^"]+:(\d+)"',
                                 TIMEOUT)
        self.market.tracker_port = int(match[1])
        node = self.market.startNode("seller", "--role", "seller", "--sell",
                                      "apple=1", "--log-format", "json")
        node.waitFor(r"registered with the tracker as node \w+", TIMEOUT)
        tracker.waitFor(r"joined from", TIMEOUT)
        codes = self.market.stop()
        self.assertEqual(sorted(codes), ["seller", "tracker"])
        for daemon in (tracker, node):
            events = [json.loads(line) for line in daemon.lines]
            texts = [event["log_text"] for event in events]
            self.assertTrue(all(isinstance(event["log_time"], float)
                                for event in events))
            self.assertIn("Server Shut Down.", texts)
        [joined] = [event for event in (json.loads(line) for line in tracker.lines)
                    if event.get("log_format", "").startswith("node {id} joined")]
        self.assertTrue(re.fullmatch(r"node [0-9a-f]{8} joined from 127\.0\.0\.1:\d+ "
                                     r"\(1 live\)", joined["log_text"]), joined["log_text"])
        self.assertEqual(joined["log_level"]["name"], "info")
        # The line shows the node's id short; the event carries it whole,
        # as the wire writes it.
        self.assertRegex(joined["id"], r"\A[0-9a-f]{32}\Z")
        self.assertEqual(joined["log_text"].split()[1], joined["id"][:8])

    def test_healthyMarketReads(self):
        """In a healthy market the log says what happened in a user's
        words: short source names, no alarming close lines (they are
        debug), no status client shown as a node, no peer as "?", and
        none of Twisted's lines of the daemons' ports, the node's control
        socket among them (its own lines say them, issue 96)."""
        self.market.startTracker(timeout=TIMEOUT)
        # A data dir: the seller listens on its control socket too.
        seller = self.market.startNode("seller", "--role", "seller", "--sell", "apple=3",
                                       "--data-dir", str(Path(self.folder, "seller-state")))
        port = int(seller.waitFor(r"node listening on [^:]+:(\d+)", TIMEOUT)[1])
        buyer = self.market.startNode("buyer", "--role", "buyer", "--want", "apple")
        buyer.waitFor(r"all wants met", TIMEOUT)
        script = str(Path(sys.executable).with_name("bazaar"))
        shown = runCommand([script, "node", f"127.0.0.1:{port}"], capture_output=True,
                           text=True, timeout=TIMEOUT)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertNotIn("?", shown.stdout)
        self.market.stop()
        lines = [line for daemon in self.market.daemons for line in daemon.lines]
        self.assertTrue(any("[Seller#info] sold apple to" in line for line in lines))
        for alarming in ("[twisted_bazaar.", "#debug]", "address checked",
                         "told the checker who listens here", "(status)", "said dc",
                         " starting on ", " Closed)"):
            self.assertEqual([line for line in lines if alarming in line], [], alarming)

    def test_verboseShowsDebug(self):
        self.market.startTracker(timeout=TIMEOUT)
        seller = self.market.startNode("seller", "--role", "seller", "--sell", "apple=1",
                                       "--verbose")
        seller.waitFor(r"\[Link#debug\] closing link to \S+: told the checker who "
                       r"listens here", TIMEOUT)
