"""
End to end over WebSocket, in network namespaces
(L{twisted_bazaar.testing.netns}): a buyer on a host whose firewall
(iptables in its namespace) lets out only TCP to ports 80 and 443, and
takes in nothing it did not open, joins a market whose tracker listens
for WebSocket on 80, and a public node and a seller on 443; it buys an
item and a file from the seller, and the logs say WebSocket carried
them.  Named only the public node, it buys along the offer's path
through it.  ``bazaar buy`` there buys the same way, given the same
options.  And the red team at the tracker's WebSocket port: plain
HTTP, garbage, a text and an oversized message, each refused with a
line and a closed connection; a node that dials the plain TCP port as
WebSocket says why it cannot reach the tracker.

It needs root, ``ip`` and ``iptables``; without them it is skipped with
the reason.  Every namespace goes when the test ends, passed or not.
"""

import hashlib
import json
import re
import sys
from pathlib import Path

from twisted_bazaar.testing.daemons import LISTENING_EVENT, TERMINATED, nodeId
from twisted_bazaar.testing.httponly import dropped, leaks, wall
from twisted_bazaar.wire.ids import wireId
from tests.e2e.helpers import (
    BED_TRACKER_PORT,
    HomeMarketCase,
    runCommand,
    short,
    waitBought,
    waitDownloaded,
    waitSharing,
    waitSold,
)

TIMEOUT = 30.0
#: The option of a daemon that relays for nobody.
NO_RELAY = ("--relay-reservations", "0")
#: What the buyer's dialer logs when WebSocket carried a connection.
REACHED = r"reached node {id} over websocket at {host}:443 \((?P<purpose>\w+)\)"


#: What the red team sends a WebSocket port, one connection each.
PROBE_NAMES = ("plain HTTP", "garbage", "a text message", "an oversized message")
#: Sends each probe, prints the start of the answer and whether the
#: connection was closed (within 15 s).
PROBES = """
import base64, os, socket, struct, sys
host, port = sys.argv[1], int(sys.argv[2])
def upgrade():
    key = base64.b64encode(os.urandom(16)).decode()
    return ("GET / HTTP/1.1\\r\\nHost: " + host + "\\r\\nUpgrade: websocket\\r\\n"
            "Connection: Upgrade\\r\\nSec-WebSocket-Key: " + key + "\\r\\n"
            "Sec-WebSocket-Version: 13\\r\\nSec-WebSocket-Protocol: bazaar\\r\\n\\r\\n"
            ).encode()
def frame(opcode, payload):
    size = len(payload)
    head = bytes([0x80 | opcode])
    head += bytes([0x80 | 127]) + struct.pack("!Q", size) if size > 65535 else (
        bytes([0x80 | 126]) + struct.pack("!H", size) if size > 125 else bytes([0x80 | size]))
    return head + bytes(4) + payload
probes = [b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n", b"\\x16\\x03\\x01" + os.urandom(300),
          upgrade() + frame(1, b"hello"), upgrade() + frame(2, bytes(70000))]
for probe in probes:
    s = socket.create_connection((host, port), timeout=15)
    s.sendall(probe)
    got = b""
    try:
        while True:
            more = s.recv(65536)
            if not more:
                break
            got += more
        end = "closed"
    except socket.timeout:
        end = "open"
    except ConnectionResetError:
        end = "closed"
    print(repr(got[:12])[2:-1], end)
"""


class HttpOnlyHomeCase(HomeMarketCase):
    """A market whose tracker and public nodes are on the public net, and
    a host, ``walled``, behind the firewall of an HTTP(S)-only network
    (L{twisted_bazaar.testing.httponly.FIREWALL})."""

    folder_prefix = "bazaar-ws-"

    def setUp(self):
        super().setUp()
        self.public_host = self.bed.public("public")
        self.seller_host = self.bed.public("seller")
        self.walled = self.bed.public("walled")
        wall(self.walled)

    def publicSeller(self, *more, tracker=()):
        """The tracker on WebSocket port 80 (with the options ``tracker``
        adds) and a public seller of 2 apple (and what ``more`` adds) on
        WebSocket port 443: (the tracker, the seller, its id)."""
        tracker = self.startTracker(TIMEOUT, "--ws-port", "80", *tracker)
        self.wsListening(tracker, 80)
        seller = self.node("seller", self.seller_host, "--role", "seller", "--sell",
                           "apple=2", *more, "--ws-port", "443")
        seller_id = nodeId(seller, TIMEOUT)
        self.wsListening(seller, 443)
        return tracker, seller, seller_id

    def wsListening(self, daemon, port):
        daemon.waitForEvent(LISTENING_EVENT, TIMEOUT, what="websocket", host="0.0.0.0",
                            port=port)

    def stopCleanly(self):
        codes = self.market.stop()
        self.assertEqual(set(codes.values()), {TERMINATED}, codes)
        for daemon in self.market.daemons:
            self.assertEqual(daemon.problems(), [], daemon.name)

    def onlyHttpLeft(self):
        """Every connection the walled host holds is to port 80 or 443,
        and what else it tried was dropped by its firewall: the number of
        packets dropped (tries, not leaks)."""
        self.assertEqual(leaks(self.walled), [])
        return dropped(self.walled)


class WebSocketOnlyTests(HttpOnlyHomeCase):

    def test_buyAnItemAndAFileOverWebSocketOnly(self):
        shared, content = self.shareFile("song.ogg", 2 * 2**20)
        tracker, seller, seller_id = self.publicSeller("--share", shared)
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
        # Every connection the buyer holds is to port 80 or 443 (no byte
        # went any other way), and the other ways were tried and dropped
        # by the firewall.
        self.assertGreater(self.onlyHttpLeft(), 0)
        self.stopCleanly()

    def test_buyThroughThePublicNodeAlone(self):
        """Named only the public node's WebSocket address, the buyer links
        to it alone, and buys from a seller it cannot reach along the
        offer's path through it.  No relay holds the buyer (NO_RELAY): its
        own dial is what is tested, not a link a node opens to it through
        a relay it holds over WebSocket."""
        tracker = self.startTracker(TIMEOUT, "--ws-port", "80", *NO_RELAY)
        self.wsListening(tracker, 80)
        seller = self.node("seller", self.seller_host, "--role", "seller", "--sell",
                           "apple=2")
        seller_id = nodeId(seller, TIMEOUT)
        public = self.node("public", self.public_host, "--ws-port", "443", *NO_RELAY)
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

    def test_reachesTheSellerTheTrackerNamed(self):
        """Named no --ws-peer, the buyer (WebSocket on: --ws-port) learns
        the seller's WebSocket port from the tracker, which the seller
        told it in its thisisme, and reaches the seller there, the way
        its firewall lets out (docs/protocol.md §2.4).  No relay holds the
        buyer (NO_RELAY): else the seller may link to it first, through
        the relay the buyer holds over WebSocket, and the buyer never
        dials."""
        _, seller, seller_id = self.publicSeller(*NO_RELAY, tracker=NO_RELAY)
        buyer = self.market.start("buyer", [
            "bazaar-node", "--tracker", f"ws:{self.tracker_host.address}:80",
            "--role", "buyer", "--want", "apple", "--ws-port", "443"],
            wrapper=self.walled.wrapper)
        buyer_id = nodeId(buyer, TIMEOUT)
        waitBought(buyer, "apple", TIMEOUT, seller=seller_id, n=1, q=1)
        waitSold(seller, "apple", TIMEOUT, buyer=buyer_id, left=1)
        reached = REACHED.format(id=short(seller_id),
                                 host=re.escape(self.seller_host.address))
        self.assertNotEqual(buyer.matches(reached), [])
        for local, peer in self.established(self.walled):
            self.assertIn(peer.rsplit(":", 1)[1], {"80", "443"}, (local, peer))
        self.stopCleanly()

    def test_bazaarBuyOverWebSocketOnly(self):
        """`bazaar buy` behind the firewall, given the tracker's WebSocket
        endpoint and the seller's with --ws-peer, as the daemon is, buys
        from the seller and exits 0."""
        _, seller, seller_id = self.publicSeller()
        done = runCommand(
            [*self.walled.wrapper, str(Path(sys.executable).with_name("bazaar")),
             "--json", "--tracker", f"ws:{self.tracker_host.address}:80", "buy", "apple",
             "--ws-peer", f"{wireId(seller_id)}={self.seller_host.address}:443"],
            capture_output=True, text=True, timeout=4 * TIMEOUT)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        bought = json.loads(done.stdout)
        self.assertEqual([(each["seller"], each["units"]) for each in bought["purchases"]],
                         [(wireId(seller_id), 1)])
        waitSold(seller, "apple", TIMEOUT, buyer=bought["node"], left=1)
        self.stopCleanly()

    def test_badInputAtTheWebSocketPort(self):
        """What is no WebSocket of ours, sent to the tracker's WebSocket
        port, is refused with a line and a closed connection; a node
        sent to the tracker's plain TCP port as if it were WebSocket says
        why it cannot reach it; no traceback anywhere."""
        tracker = self.startTracker(TIMEOUT, "--ws-port", "80")
        self.wsListening(tracker, 80)
        answers = runCommand(
            [*self.walled.wrapper, sys.executable, "-c", PROBES,
             self.tracker_host.address, "80"],
            capture_output=True, text=True, timeout=120, check=True).stdout.splitlines()
        self.assertEqual(len(answers), len(PROBE_NAMES), answers)
        for name, answer in zip(PROBE_NAMES, answers):
            # Each ended with the connection closed by the tracker.
            self.assertTrue(answer.endswith("closed"), (name, answer))
        self.assertTrue(answers[0].startswith("HTTP/1.1 4"), answers[0])
        tracker.waitFor(r"websocket: closed a connection from "
                        rf"{re.escape(self.walled.address)}: .*text message", TIMEOUT)
        tracker.waitFor(r"websocket: closed a connection from .*exceeds payload limit",
                        TIMEOUT)
        tracker.waitFor(r"websocket: closed a connection from .*does not begin with GET",
                        TIMEOUT)
        # Each said once, through the peer log: none of autobahn's own.
        self.assertEqual(tracker.matches(r"autobahn"), [])
        wrong = self.market.start("wrong", [
            "bazaar-node", "--tracker", f"ws:{self.tracker_host.address}:{BED_TRACKER_PORT}"],
            wrapper=self.seller_host.wrapper)
        wrong.waitFor(r"cannot reach the tracker at .*: WebSocket to ws://.*answered, but "
                      rf"not as a WebSocket port \(.*\): is {BED_TRACKER_PORT} its --ws-port\?;",
                      TIMEOUT)
        # Said once: the next try's line is short.
        wrong.waitFor(rf"cannot reach the tracker at ws:.*:{BED_TRACKER_PORT}, for the same "
                      r"reason as before; trying again in", TIMEOUT)
        self.stopCleanly()

