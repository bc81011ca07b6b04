"""
End to end, a tracker behind a port forward, in network namespaces
(L{twisted_bazaar.testing.netns}): the tracker at home, its router
forwarding its --listen and --relay-port ports to it (DNAT), started
with ``--host`` and the router's public address; a seller at another
home, which the tracker cannot dial, and a public buyer that neither
punches nor relays.  The seller holds its reservation at the tracker's
relay at the router's public address, and the buyer buys through it.
Without ``--host`` the tracker named its relay at its own private
address, which the seller refused (``error{wtf}``) and no node outside
could dial.

It needs root, ``ip`` and ``iptables``; without them it is skipped with
the reason.  Every namespace goes when the test ends, passed or not.
"""

import os
import re
import shutil
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.testing.daemons import (
    JSON,
    LISTENING_EVENT,
    TERMINATED,
    LiveMarket,
    nodeId,
)
from tests.e2e.helpers import netBed, short, waitBought, waitSold

TIMEOUT = 30.0
#: Seconds the buyer is waited for to buy through the relay: a generous
#: bound for a loaded machine (the goal is that it goes through).
RELAYED_BUY = 60.0
TRACKER_PORT = 7700
RELAY_PORT = 7702


class ForwardedTrackerTests(SynchronousTestCase):
    def setUp(self):
        self.bed = netBed(self)
        self.tracker_home = self.bed.home("trk", forward=(TRACKER_PORT, RELAY_PORT))
        self.seller_home = self.bed.home("homea")
        self.buyer_host = self.bed.public("buyer")
        folder = tempfile.mkdtemp(prefix="bazaar-forwarded-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(self.market.stop)

    def node(self, name, host, *options):
        public = self.tracker_home.public_address
        return self.market.start(name, [
            "bazaar-node", "--tracker", f"tcp:{public}:{TRACKER_PORT}", *options],
            wrapper=host.wrapper)

    def startTracker(self, *options):
        tracker = self.market.start("tracker", [
            "bazaar-tracker", "--listen", f"tcp:{TRACKER_PORT}", "--relay-port",
            str(RELAY_PORT), "--no-udp", *options],
            wrapper=self.tracker_home.host.wrapper)
        tracker.waitForEvent(LISTENING_EVENT, TIMEOUT, what="tracker", host="0.0.0.0",
                             port=TRACKER_PORT)
        return tracker

    def test_relayedThroughTheForwardedRelay(self):
        public = self.tracker_home.public_address
        tracker = self.startTracker("--host", public)
        seller = self.node("seller", self.seller_home.host, "--role", "seller",
                           "--sell", "plum=1", "--no-port-mapping")
        seller_id = nodeId(seller, TIMEOUT)
        relay = re.escape(f"{public}:{RELAY_PORT}")
        seller.waitFor(rf"holds a reservation at the relay at {relay}", TIMEOUT)
        tracker.waitFor(rf"node {short(seller_id)} holds a reservation at this "
                        rf"tracker's relay: introducing it through {relay}", TIMEOUT)
        buyer = self.node("buyer", self.buyer_host, "--host", self.buyer_host.address,
                          "--no-punch", "--no-quic", "--relay-reservations", "0",
                          "--role", "buyer", "--want", "plum")
        buyer_id = nodeId(buyer, TIMEOUT)
        waitBought(buyer, "plum", RELAYED_BUY, seller=seller_id, n=1, q=1)
        waitSold(seller, "plum", TIMEOUT, buyer=buyer_id, left=0)
        self.assertEqual(tracker.matches("says wtf"), [])
        codes = self.market.stop()
        self.assertEqual(set(codes.values()), {TERMINATED}, codes)
        for daemon in self.market.daemons:
            self.assertEqual(daemon.problems(), [], daemon.name)

    def test_withoutHostTheTrackerSaysWhy(self):
        """Without --host the tracker names its relay at its private
        address: the seller at home refuses it, and the tracker says so
        once, as a warning naming --host."""
        tracker = self.startTracker()
        seller = self.node("seller", self.seller_home.host, "--role", "seller",
                           "--sell", "plum=1", "--no-port-mapping")
        seller_id = nodeId(seller, TIMEOUT)
        tracker.waitFor(rf"node {short(seller_id)} .*refused this tracker's relay "
                        r"\(relayReserved names 192\.168\.\d+\.2:7702: .*--host", TIMEOUT)
        self.assertEqual(seller.matches("holds a reservation at the relay"), [])
