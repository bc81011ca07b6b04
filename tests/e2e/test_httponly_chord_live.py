"""
A chord ring reached from an HTTP-only home (docs/running.md, "A home
that lets only HTTP(S) out"), in network namespaces: every node runs
``--discovery chord``; a seller at a home behind a NAT router is held at
a public node's relay, whose WebSocket port is 443.  The tracker's
``chordNearIs`` names that seller to the walled buyer with its relay's
address alone; a dial of it through that relay asks the tracker first
(``whereis``), whose answer names the relay's WebSocket port
(docs/protocol.md §20; the dial itself is shown in
tests/reach/test_dialer.py, ChordNamedRelayTests).  A public chord
node it names by its host and port alone, which the walled node asks
the tracker about first too, is linked to at its WebSocket port
(PluginWayOutTests there).  Here the ring and
the market work end to end from that home, and nothing but HTTP(S)
leaves it.

It needs root, ``ip`` and ``iptables``; without them it is skipped with
the reason.
"""

import re
import time

from twisted_bazaar.testing.daemons import nodeId, waitUntil
from tests.e2e.helpers import short, waitBought, waitSold
from tests.e2e.test_websocket_live import TIMEOUT, HttpOnlyHomeCase

#: Generous bounds at load.
BOUND = 4 * TIMEOUT

CHORD = ("--discovery", "chord")


def successorsOf(daemon):
    """The successors a chord node logged last (short ids), or []."""
    said = daemon.matches(r"ring neighbours: predecessor \w+, successors \[([^\]]*)\]")
    return re.findall(r"\w+", said[-1][1]) if said else []


class HttpOnlyChordTests(HttpOnlyHomeCase):

    def test_aWalledNodeLinksToAPublicChordNodeOverWebSocket(self):
        """A ring of two: the walled node's successor is the public node,
        which ``chordNearIs`` names by its host and port alone; the walled
        node asks the tracker where it is (``whereis``, docs/protocol.md
        §5 step 5), whose answer names its WebSocket port, and its link
        opens there (its log says so), not at the TCP port its firewall
        drops."""
        tracker = self.startTracker(TIMEOUT, "--ws-port", "80")
        self.wsListening(tracker, 80)
        public = self.node("relay", self.public_host, *CHORD, "--ws-port", "443")
        public_id = nodeId(public, TIMEOUT)
        self.wsListening(public, 443)
        public.waitFor(r"this node is reachable from outside at "
                       rf"{re.escape(self.public_host.address)}:\d+", TIMEOUT)
        walled = self.market.start("walled", [
            "bazaar-node", "--tracker", f"ws:{self.tracker_host.address}:80", *CHORD,
            "--role", "buyer", "--want", "apple"], wrapper=self.walled.wrapper)
        walled.waitFor(rf"reached node {short(public_id)} over websocket at "
                       rf"{re.escape(self.public_host.address)}:443 ", BOUND)
        waitUntil([walled], lambda: successorsOf(walled) == [short(public_id)], BOUND,
                  what="the public node the walled node's successor")
        self.onlyHttpLeft()
        self.stopCleanly()

    def test_aBuyerThereLinksAndBuysFromARelayedFingerByItsRelaysWays(self):
        """The walled buyer buys an apple from the seller held at the
        public node's relay, which its ring names among its successors;
        nothing but HTTP(S) left its home (a try elsewhere is dropped,
        counted, not a leak)."""
        tracker = self.startTracker(TIMEOUT, "--ws-port", "80")
        self.wsListening(tracker, 80)
        public = self.node("relay", self.public_host, *CHORD, "--ws-port", "443",
                           "--relay-rate", "0")
        public_id = nodeId(public, TIMEOUT)
        self.wsListening(public, 443)
        public.waitFor(r"this node is reachable from outside at "
                       rf"{re.escape(self.public_host.address)}:\d+", TIMEOUT)
        seller = self.node("seller", self.bed.home("nat").host, *CHORD, "--role", "seller",
                           "--sell", "apple=2")
        seller_id = nodeId(seller, TIMEOUT)
        seller.waitFor(r"holds a reservation at the relay at "
                       rf"{re.escape(self.public_host.address)}:\d+:", BOUND)
        tracker.waitFor(rf"node {short(seller_id)} holds a reservation at node "
                        rf"{short(public_id)}'s relay", TIMEOUT)
        seller.waitFor(r"stored apple at node \w+", BOUND)
        started = time.monotonic()
        buyer = self.market.start("buyer", [
            "bazaar-node", "--tracker", f"ws:{self.tracker_host.address}:80", *CHORD,
            "--role", "buyer", "--want", "apple"], wrapper=self.walled.wrapper)
        buyer_id = nodeId(buyer, TIMEOUT)
        waitBought(buyer, "apple", BOUND, seller=seller_id, n=1, q=1)
        item = time.monotonic() - started
        waitSold(seller, "apple", TIMEOUT, buyer=buyer_id, left=1)
        waitUntil([buyer], lambda: short(seller_id) in successorsOf(buyer), BOUND,
                  what="the seller among the buyer's successors")
        dropped = self.onlyHttpLeft()
        print(f"\nhttp-only chord buyer, seller at a public node's relay: item in "
              f"{item:.1f} s, {dropped} packets dropped")
        self.stopCleanly()
