"""
End to end: ``bazaar buy`` in a chord market of real ``twistd`` daemons
on loopback, run again and again.

Each run's key is fresh, not made to solve the ring's puzzle, so the
buyer is a client off the ring at a random place: on a ring of two, one
run in several (5 of 18 when measured) has its place between the item's
key and the node that holds it, where it took the holder's answers for a node's on the way,
ignored them, and bought nothing.  Twelve runs in a row, back to back,
all buy; each waits on the command's exit, bounded by its --timeout.
"""

import shutil
import sys
import tempfile
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import runCommand, short
from tests.e2e.test_chord_live import predecessorOf
from twisted_bazaar.testing.daemons import (
    JSON,
    LOOPBACK_LISTEN,
    LiveMarket,
    nodeId,
    waitUntil,
)

#: Seconds any one expected log line, or one purchase, may take.
TIMEOUT = 30.0
#: Purchases in a row.
RUNS = 12


class ChordOneShotBuyTests(SynchronousTestCase):
    def setUp(self):
        folder = tempfile.mkdtemp(prefix="bazaar-chordbuy-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(self.market.stop)
        self.market.startTracker(timeout=TIMEOUT)

    def test_everyRunBuys(self):
        """A tracker and two chord sellers with the daemons' defaults (40
        apples, 40 pears); once each has stored its record and the ring has
        closed, ``bazaar buy`` twelve times, an apple and a pear by turns:
        every run buys from the item's seller and exits 0."""
        sellers = {item: self.market.startNode(f"seller-{item}", "--discovery",
                                                "chord", "--role", "seller",
                                                "--sell", f"{item}=40")
                   for item in ("apple", "pear")}
        ids = {item: short(nodeId(daemon, TIMEOUT)) for item, daemon in sellers.items()}
        for item, daemon in sellers.items():
            daemon.waitFor(rf"stored {item} at node \w+", TIMEOUT)
        waitUntil(list(sellers.values()),
                  lambda: all(predecessorOf(daemon) for daemon in sellers.values()),
                  TIMEOUT, what="both sellers' predecessors")
        script = str(Path(sys.executable).with_name("bazaar"))
        tracker = f"127.0.0.1:{self.market.tracker_port}"
        outcomes = []
        for run in range(RUNS):
            item = ("apple", "pear")[run % 2]
            result = runCommand(
                [script, "--tracker", tracker, "buy", item, "--timeout", str(TIMEOUT),
                 "--listen", LOOPBACK_LISTEN],
                capture_output=True, text=True, timeout=TIMEOUT + 30)
            # A search that found nothing yet is said on stderr, and the
            # buyer searches again: what counts is that every run buys.
            notices = [line for line in result.stderr.splitlines()
                       if not line.startswith(f"bazaar: no seller offers {item} now")]
            outcomes.append((result.returncode, result.stdout, notices))
        self.assertEqual(outcomes, [
            (0, f"bought {item} from node {ids[item]} (1 of 1)\n", [])
            for item in ("apple", "pear") * (RUNS // 2)])
        waitUntil(list(sellers.values()),
                  lambda: all(len(daemon.matches(rf"sold {item} to \w+")) == RUNS // 2
                              for item, daemon in sellers.items()),
                  TIMEOUT, what=f"{RUNS // 2} sales by each seller")
