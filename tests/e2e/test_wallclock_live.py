"""
End to end: a wall clock stepped back 600 s, then forward 600 s,
mid-market (NTP, a VM resumed, ``date -s``), under libfaketime: the
daemons' timers run on the monotonic clock, so buys go on at their pace
and no link is cut as silent; a buy's signed expiry is still checked by
the seller's wall clock (docs/protocol.md §11, "Expiry").

Each daemon reads its wall clock's offset from a file of its own
(``FAKETIME_TIMESTAMP_FILE``), which the test rewrites to step it; its
monotonic clock is the machine's (``DONT_FAKE_MONOTONIC``), as a real
step leaves it.
"""

import glob
import os
import shutil
import tempfile

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.e2e.helpers import nodeId
from twisted_bazaar.testing.daemons import JSON, LiveMarket

#: Seconds any one expected log line may take.
TIMEOUT = 60.0


def libfaketime():
    """libfaketime's multithreaded library, or None (not installed)."""
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1"))
    return found[0] if found else None


class SteppedWallClockTests(SynchronousTestCase):
    def setUp(self):
        self.library = libfaketime()
        if self.library is None:
            raise SkipTest("needs libfaketime (apt-get install faketime)")

    def clockOf(self, folder, name, offset):
        """The wrapper that runs a daemon on a wall clock of its own, at
        ``offset`` (``+0``, ``-600``...), and the file that steps it."""
        path = os.path.join(folder, f"{name}.faketime")
        self.step(path, offset)
        return path, ("env", f"LD_PRELOAD={self.library}",
                      f"FAKETIME_TIMESTAMP_FILE={path}", "FAKETIME_NO_CACHE=1",
                      "DONT_FAKE_MONOTONIC=1")

    def step(self, path, offset):
        with open(path + ".new", "w") as f:
            f.write(offset + "\n")
        os.replace(path + ".new", path)

    def test_stepsBackAndForward(self):
        folder = tempfile.mkdtemp(prefix="bazaar-e2e-")
        self.addCleanup(shutil.rmtree, folder, True)
        market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(market.stop)
        clocks = {}
        clocks["tracker"], wrapper = self.clockOf(folder, "tracker", "+0")
        market.startTracker("tracker", TIMEOUT, wrapper=wrapper)

        def start(name, offset, *args):
            clocks[name], wrapper = self.clockOf(folder, name, offset)
            return market.startNode(name, *args, wrapper=wrapper)

        seller = start("seller", "+0", "--role", "seller", "--sell", "apple=5")
        nodeId(seller, TIMEOUT)
        buyer = start("buyer", "+0", "--role", "buyer", "--want", "apple",
                      "--want", "pear", "--want", "plum")
        buyer.waitFor(r"bought apple from \S+ \(1 of 1\)", TIMEOUT)

        # Every wall clock 600 s back: the next buy comes at its pace
        # (a timer that read the wall would wait 600 s more).
        for name in ("tracker", "seller", "buyer"):
            self.step(clocks[name], "-600")
        start("pears", "-600", "--role", "seller", "--sell", "pear=5")
        buyer.waitFor(r"bought pear from \S+ \(1 of 1\)", TIMEOUT)

        # And 600 s forward: no link cut as silent (30 s without a word,
        # by default; a timer that read the wall clock would find every
        # link silent for 600 s).  A seller started now whose wall clock
        # then steps 700 s back refuses the buy by it (its timers' clock
        # would take it): the clocks are apart.
        for name in ("tracker", "seller", "buyer", "pears"):
            self.step(clocks[name], "+0")
        plums = start("plums", "+0", "--role", "seller", "--sell", "plum=5")
        nodeId(plums, TIMEOUT)
        self.step(clocks["plums"], "-700")
        buyer.waitFor(r"seller \S+'s clock is behind this node's by about 7\d\d s",
                      TIMEOUT)
        for daemon in market.daemons:
            self.assertFalse(daemon.ended, daemon.tail())
            self.assertEqual([line for line in daemon.lines if "silent for" in line], [],
                             daemon.name)
        self.assertFalse([line for line in buyer.lines if "bought plum" in line])
