"""
End to end over WebSocket, in network namespaces
(L{twisted_bazaar.testing.netns}): a buyer on a host whose firewall
(iptables in its namespace) lets out only TCP to ports 80 and 443, and
takes in nothing it did not open, joins a market whose tracker listens
for WebSocket on 80, and a public node and a seller on 443; it buys an
item and a file from the seller, and the logs say WebSocket carried
them.

It needs root, ``ip`` and ``iptables``; without them it is skipped with
the reason.  Every namespace goes when the test ends, passed or not.
"""

import hashlib
import re
import subprocess

from twisted_bazaar.testing.daemons import LISTENING_EVENT, TERMINATED, nodeId
from twisted_bazaar.wire.ids import wireId
from tests.e2e.helpers import (
    HomeMarketCase,
    short,
    waitBought,
    waitDownloaded,
    waitSharing,
    waitSold,
)

TIMEOUT = 30.0
#: What the buyer's dialer logs when WebSocket carried a connection.
REACHED = r"reached node {id} over WebSocket at {host}:443 \((?P<purpose>\w+)\)"
#: The firewall of an HTTP(S)-only network: out, TCP to 80 and 443 and
#: what answers a connection made; in, only what answers one.
FIREWALL = [
    ["-P", "OUTPUT", "DROP"],
    ["-A", "OUTPUT", "-o", "lo", "-j", "ACCEPT"],
    ["-A", "OUTPUT", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
    ["-A", "OUTPUT", "-p", "tcp", "-m", "multiport", "--dports", "80,443", "-j", "ACCEPT"],
    ["-P", "INPUT", "DROP"],
    ["-A", "INPUT", "-i", "lo", "-j", "ACCEPT"],
    ["-A", "INPUT", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
]


class WebSocketOnlyTests(HomeMarketCase):
    folder_prefix = "bazaar-ws-"

    def setUp(self):
        super().setUp()
        self.public_host = self.bed.public("public")
        self.seller_host = self.bed.public("seller")
        self.walled = self.bed.public("walled")
        for rule in FIREWALL:
            subprocess.run([*self.walled.wrapper, "iptables", *rule], check=True,
                           capture_output=True, timeout=60)

    def wsListening(self, daemon, port):
        daemon.waitForEvent(LISTENING_EVENT, TIMEOUT, what="websocket", host="0.0.0.0",
                            port=port)

    def test_buyAnItemAndAFileOverWebSocketOnly(self):
        tracker = self.startTracker(TIMEOUT, "--ws-port", "80")
        self.wsListening(tracker, 80)
        shared, content = self.shareFile("song.ogg", 2 * 2**20)
        seller = self.node("seller", self.seller_host, "--role", "seller", "--sell",
                           "apple=2", "--share", shared, "--ws-port", "443")
        seller_id = nodeId(seller, TIMEOUT)
        self.wsListening(seller, 443)
        waitSharing(seller, "song.ogg", TIMEOUT)
        public = self.node("public", self.public_host, "--ws-port", "443")
        public_id = nodeId(public, TIMEOUT)
        self.wsListening(public, 443)
        downloads = self.folder("downloads")
        buyer = self.market.start("buyer", [
            "bazaar-node", "--tracker", f"ws:{self.tracker_host.address}:80",
            "--role", "buyer", "--want", "apple", "--want", "song.ogg",
            "--downloads", downloads,
            "--ws-peer", f"{wireId(seller_id)}={self.seller_host.address}:443",
            "--ws-peer", f"{wireId(public_id)}={self.public_host.address}:443"],
            wrapper=self.walled.wrapper)
        buyer_id = nodeId(buyer, TIMEOUT)
        # The tracker saw it come over WebSocket, from its own address.
        tracker.waitFor(rf"node {short(buyer_id)} joined from "
                        rf"{re.escape(self.walled.address)}:", TIMEOUT)
        waitBought(buyer, "apple", TIMEOUT, seller=seller_id, n=1, q=1)
        waitSold(seller, "apple", TIMEOUT, buyer=buyer_id, left=1)
        got = waitDownloaded(buyer, "song.ogg", TIMEOUT)
        with open(got["path"], "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).digest(),
                             hashlib.sha256(content).digest())
        # The file came over WebSocket from the seller's port 443.
        reached = REACHED.format(id=short(seller_id),
                                 host=re.escape(self.seller_host.address))
        self.assertIn("files", [m["purpose"] for m in buyer.matches(reached)])
        # Every connection the buyer holds is to port 80 or 443: no byte
        # went any other way.
        for local, peer in self.established(self.walled):
            self.assertIn(peer.rsplit(":", 1)[1], {"80", "443"}, (local, peer))
        # And the other ways were tried and dropped by the firewall.
        counts = subprocess.run([*self.walled.wrapper, "iptables", "-L", "OUTPUT", "-v",
                                 "-x", "-n"], capture_output=True, text=True, check=True,
                                timeout=60).stdout
        dropped = int(re.search(r"policy DROP (\d+) packets", counts).group(1))
        self.assertGreater(dropped, 0, counts)
        self.stopCleanly()

    def test_buyThroughThePublicNodeAlone(self):
        """Named only the public node's WebSocket address, the buyer links
        to it alone, and buys from a seller it cannot reach along the
        offer's path through it."""
        tracker = self.startTracker(TIMEOUT, "--ws-port", "80")
        self.wsListening(tracker, 80)
        seller = self.node("seller", self.seller_host, "--role", "seller", "--sell",
                           "apple=2")
        seller_id = nodeId(seller, TIMEOUT)
        public = self.node("public", self.public_host, "--ws-port", "443")
        public_id = nodeId(public, TIMEOUT)
        self.wsListening(public, 443)
        buyer = self.market.start("buyer", [
            "bazaar-node", "--tracker", f"ws:{self.tracker_host.address}:80",
            "--role", "buyer", "--want", "apple",
            "--ws-peer", f"{wireId(public_id)}={self.public_host.address}:443"],
            wrapper=self.walled.wrapper)
        buyer_id = nodeId(buyer, TIMEOUT)
        waitBought(buyer, "apple", TIMEOUT, seller=seller_id, n=1, q=1)
        waitSold(seller, "apple", TIMEOUT, buyer=buyer_id, left=1)
        reached = REACHED.format(id=short(public_id),
                                 host=re.escape(self.public_host.address))
        self.assertIn("overlay", [m["purpose"] for m in buyer.matches(reached)])
        self.assertEqual(buyer.matches(rf"reached node {short(seller_id)}"), [])
        for local, peer in self.established(self.walled):
            self.assertIn(peer.rsplit(":", 1)[1], {"80", "443"}, (local, peer))
        self.stopCleanly()

    def stopCleanly(self):
        codes = self.market.stop()
        self.assertEqual(set(codes.values()), {TERMINATED}, codes)
        for daemon in self.market.daemons:
            self.assertEqual(daemon.problems(), [], daemon.name)
