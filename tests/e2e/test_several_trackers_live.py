"""
End-to-end: a market of two trackers, one killed for good (``kill -9``),
keeps selling (issue 57, "Several trackers").

Every node is started with ``--tracker A --tracker B``: it registers with
A, the first named.  A buyer buys an apple; then A is killed, never to
come back.  Each node fails over to B and registers there (the index
scheme's sellers list their items there again, as after a tracker
restart), and a buyer started after A's death, named A first as the
others, buys within 30 s of the kill.  Run in every scheme: flood, index,
superpeer (a super-peer and leaves) and chord.
"""

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import (
    freePort,
    kill,
    listeningPort,
    runCommand,
    waitBought,
    waitStored,
)
from twisted_bazaar.testing.daemons import (
    JSON,
    LOOPBACK_LISTEN,
    LiveMarket,
    nodeId,
    waitUntil,
)

#: Seconds any one expected log line may take.
TIMEOUT = 30.0
#: Seconds from the first tracker's death to a purchase (issue 57's goal).
WITHIN = 30.0


class TwoTrackers:
    """Two trackers, and nodes of both (a mixin, so that its tests run
    only in a scheme's case)."""

    #: The scheme's flags, for every node.
    scheme = ()
    #: Nodes of the scheme started first, with their flags (name, args).
    infrastructure = ()

    def setUp(self):
        folder = tempfile.mkdtemp(prefix="bazaar-trackers-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(self.market.stop)
        self.ports = [freePort(), freePort()]
        self.trackers = [self.tracker(name, port)
                         for name, port in zip(("tracker A", "tracker B"), self.ports)]

    def tracker(self, name, port):
        daemon = self.market.start(name, ["bazaar-tracker", "--listen",
                                          f"tcp:{port}:interface=127.0.0.1"])
        listeningPort(daemon, "tracker", TIMEOUT, port=port)
        return daemon

    def node(self, name, *args):
        """A node of both trackers, A first; once it is registered."""
        daemon = self.market.start(name, [
            "bazaar-node", "--tracker", f"127.0.0.1:{self.ports[0]}",
            "--tracker", f"127.0.0.1:{self.ports[1]}", "--listen", LOOPBACK_LISTEN,
            *self.scheme, *args])
        nodeId(daemon, TIMEOUT)
        return daemon

    def ready(self, seller):
        """Wait until the seller can be found in its scheme."""


class KilledForGood(TwoTrackers):
    """The first tracker killed for good, in a scheme."""

    def test_theFirstTrackerKilledForGood(self):
        nodes = [self.node(name, *args) for name, args in self.infrastructure]
        seller = self.node("seller", "--role", "seller", "--sell", "apple=5")
        nodes.append(seller)
        self.ready(seller)
        first = self.node("buyer 1", "--role", "buyer", "--want", "apple")
        nodes.append(first)
        waitBought(first, "apple", TIMEOUT, n=1, q=1)
        atB = rf"registered with the tracker as node \S+ \(id \w+\) at 127\.0\.0\.1:{self.ports[1]}"
        self.assertEqual(seller.matches(atB), [])
        kill(self.trackers[0])
        killed = time.monotonic()
        waitUntil(nodes, lambda: all(node.matches(atB) for node in nodes), TIMEOUT,
                  what="every node registered with tracker B")
        second = self.node("buyer 2", "--role", "buyer", "--want", "apple")
        waitBought(second, "apple", WITHIN, n=1, q=1)
        took = time.monotonic() - killed
        self.assertLess(took, WITHIN, f"bought {took:.1f} s after the kill")
        self.assertTrue(second.matches(rf"cannot reach the tracker at 127\.0\.0\.1:"
                                       rf"{self.ports[0]}: .*; trying the tracker at "
                                       rf"127\.0\.0\.1:{self.ports[1]} in "))
        for daemon in nodes + [second, self.trackers[1]]:
            self.assertEqual(daemon.problems(), [], daemon.tail())


class FloodTests(KilledForGood, SynchronousTestCase):
    scheme = ("--discovery", "flood")


class IndexTests(KilledForGood, SynchronousTestCase):
    scheme = ("--discovery", "index")


class SuperpeerTests(KilledForGood, SynchronousTestCase):
    scheme = ("--discovery", "superpeer", "--superpeer-retry", "0.2")
    infrastructure = (("superpeer", ("--super",)),)


class ChordTests(KilledForGood, SynchronousTestCase):
    scheme = ("--discovery", "chord", "--chord-puzzle", "8")
    infrastructure = (("ring node", ()),)

    def ready(self, seller):
        waitStored(seller, "apple", TIMEOUT)


class MoveBackTests(TwoTrackers, SynchronousTestCase):
    """The first tracker killed, then started again with the same command
    (its key kept in its state directory): the nodes, moved to the second
    meanwhile, move back to it, so that a node started then (which
    registers with the first) meets them there and buys.  While the first
    is down, ``bazaar status`` over both names it as not answering and
    counts the second's node.  --retry-max 3
    makes the nodes ask the first every 3 s rather than 30."""

    scheme = ("--discovery", "flood", "--retry-max", "3")

    def test_theFirstTrackerBackTheNodesFollow(self):
        seller = self.node("seller", "--role", "seller", "--sell", "apple=5")
        at = r"registered with the tracker as node \S+ \(id \w+\) at 127\.0\.0\.1:{}"
        atA, atB = (at.format(port) for port in self.ports)
        kill(self.trackers[0])
        seller.waitFor(atB, TIMEOUT)
        self.trackers[1].waitFor(r"node \S+ listens at \S+ as it said", TIMEOUT)
        # bazaar status asks both: the first's failure named, the second's node.
        status = runCommand(
            [str(Path(sys.executable).with_name("bazaar")), "status", "--tracker",
             f"127.0.0.1:{self.ports[0]}", "--tracker", f"127.0.0.1:{self.ports[1]}"],
            capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        self.assertEqual(status.returncode, 0, status.stderr)
        lines = status.stdout.splitlines()
        self.assertTrue(lines[0].startswith(f"tracker 127.0.0.1:{self.ports[0]}: not "
                                            "answered: "), lines)
        self.assertEqual(lines[1:3], [f"tracker 127.0.0.1:{self.ports[1]}: 1 live node",
                                      "1 live node"])
        self.trackers[0] = self.tracker("tracker A again", self.ports[0])
        waitUntil([seller], lambda: len(seller.matches(atA)) == 2, TIMEOUT,
                  what="the seller registered with tracker A again")
        buyer = self.node("buyer", "--role", "buyer", "--want", "apple")
        buyer.waitFor(atA, TIMEOUT)
        waitBought(buyer, "apple", TIMEOUT, n=1, q=1)
        self.assertEqual(len(seller.matches(
            rf"the tracker at 127\.0\.0\.1:{self.ports[0]} takes connections again: "
            rf"moving back to it from the tracker at 127\.0\.0\.1:{self.ports[1]}")), 1)
        # Its own move, not a loss of tracker B.
        self.assertEqual(len(seller.matches(
            rf"left the tracker at 127\.0\.0\.1:{self.ports[1]} to move back; trying "
            rf"the tracker at 127\.0\.0\.1:{self.ports[0]} in ")), 1, seller.tail())
        self.assertEqual(seller.matches(
            rf"lost the tracker at 127\.0\.0\.1:{self.ports[1]}"), [])
        self.assertEqual(seller.matches(r"the tracker proved "), [])
        for daemon in [seller, buyer] + self.trackers:
            self.assertEqual(daemon.problems(), [], daemon.tail())
