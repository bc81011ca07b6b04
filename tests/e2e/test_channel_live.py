"""
End to end: the encrypted channel (docs/protocol.md §2.1) against what
an attacker on the path sees and does (issue 37).

- A capture of every loopback packet while a buyer daemon buys an item
  and a file from a seller daemon holds neither the item's name nor any
  16 bytes of the file in a row (AF_PACKET on ``lo``: root only, skipped
  otherwise).
- A proxy on the path between a raw client (tests/contract/channel.py)
  and a live seller flips a bit of, drops, or injects a frame before the
  client's signed buy: the seller closes the link, sells nothing, and
  still sells to an honest client afterwards.
"""

import os
import re
import shutil
import socket
import struct
import tempfile
import threading
import time

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.e2e.helpers import (
    servingPort,
    short,
    startMarket,
    waitDownloaded,
    waitSharing,
    waitSold,
)
from tests.e2e.test_bazaar_live import bazaar
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.testing.daemons import JSON, NODE_READY_EVENT, LiveMarket, nodeId
from tests.e2e.test_raw_client import TIMEOUT, _TradeCase, newId

#: The item and the file's name: text that must never be seen on the wire.
ITEM = "quincemarmalade"
FILE = "ledger-secret.bin"
FILE_SIZE = 256 * 1024
#: Runs of this many bytes of the file must not appear in the capture.
RUN = 16
#: The capture socket's receive buffer, in bytes.
CAPTURE_BUFFER = 64 * 1024 * 1024
#: Linux's SO_RCVBUFFORCE (root may pass net.core.rmem_max); the
#: socket module names it only on some builds.
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
#: Linux's packet socket level and its counters (struct tpacket_stats).
SOL_PACKET, PACKET_STATISTICS = 263, 6


class Capture:
    """Every frame seen on the loopback interface, from a thread."""

    def __init__(self):
        try:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                                      socket.ntohs(0x0003))
            self.sock.bind(("lo", 0))
        except (AttributeError, PermissionError, OSError) as e:
            raise SkipTest(f"no packet capture on lo here: {e}")
        # The kernel drops what this thread has not read once the
        # socket's buffer is full, as it will be on a loaded machine: a
        # buffer that holds the whole trade (about 1 MB of packets, each
        # seen going out and coming in) loses none of it.
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, CAPTURE_BUFFER)
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, CAPTURE_BUFFER)
        self.sock.settimeout(0.2)
        self.frames = []
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                self.frames.append(self.sock.recv(70000))
            except socket.timeout:
                continue
            except OSError:
                return

    def stop(self, ports=None):
        """Stop capturing: the frames seen, joined, and how many packets
        the kernel dropped for want of room in the buffer.  Given
        ``ports``, only the TCP frames to or from one of them: loopback
        carries every process's traffic, and another test or benchmark
        on the machine may send what this one must not see."""
        self.running = False
        self.thread.join(5)
        try:
            _, dropped = struct.unpack("II", self.sock.getsockopt(
                SOL_PACKET, PACKET_STATISTICS, 8))
        except OSError:
            dropped = None
        self.sock.close()
        frames = self.frames
        if ports is not None:
            frames = [frame for frame in frames if tcpPorts(frame) & ports]
        return b"".join(frames), dropped


def tcpPorts(frame):
    """The source and destination ports of an IPv4 TCP frame as captured
    on lo (an Ethernet header of 14 bytes first), or an empty set."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return set()
    start = 14 + (frame[14] & 0x0F) * 4
    if len(frame) < start + 4:
        return set()
    return set(struct.unpack("!HH", frame[start:start + 4]))


def listeningPort(daemon):
    """The port a node daemon said it listens on."""
    return daemon.waitForEvent(NODE_READY_EVENT, TIMEOUT)["port"]


class CaptureTests(SynchronousTestCase):

    def test_tradeOfAnItemAndAFileNamesNeither(self):
        capture = Capture()
        self.addCleanup(capture.stop)
        market, tracker = startMarket(self, TIMEOUT)
        scratch = tempfile.mkdtemp(prefix="bazaar-channel-")
        self.addCleanup(shutil.rmtree, scratch, True)
        folder = os.path.join(scratch, "shared")
        os.mkdir(folder)
        data = os.urandom(FILE_SIZE)
        with open(os.path.join(folder, FILE), "wb") as f:
            f.write(data)
        downloads = os.path.join(scratch, "downloads")
        os.mkdir(downloads)
        seller = market.startNode("seller", "--role", "seller", "--sell", f"{ITEM}=1",
                                  "--share", folder)
        waitSharing(seller, FILE, TIMEOUT)
        ports = {market.tracker_port, listeningPort(seller),
                 servingPort(seller, TIMEOUT)}
        buyer = market.startNode("buyer", "--role", "buyer", "--want", ITEM,
                                 "--want", FILE, "--downloads", downloads)
        ports.add(listeningPort(buyer))
        buyer.waitFor(rf"bought {ITEM} from", TIMEOUT)
        waitDownloaded(buyer, FILE, TIMEOUT)
        with open(os.path.join(downloads, FILE), "rb") as f:
            self.assertEqual(f.read(), data)
        wire, dropped = capture.stop(ports)
        # The capture saw the trade: at least the file's bytes, sealed.
        self.assertGreater(len(wire), FILE_SIZE,
                           f"the capture lost {dropped} packets for want of room")
        for secret in (ITEM.encode(), FILE.encode(), b"quince", b'"type":"buy"'):
            self.assertNotIn(secret, wire)
        runs = {data[i:i + RUN] for i in range(0, FILE_SIZE - RUN + 1)}
        seen = [i for i in range(len(wire) - RUN + 1) if wire[i:i + RUN] in runs]
        self.assertEqual(seen, [], "bytes of the file crossed the wire in clear")


class OnPathProxy:
    """
    Forwards one client's connection to a port, both ways, parsing the
    client's side into the channel's length-prefixed messages, and doing
    ``mutation`` (flip, drop, inject) to the client's message number
    ``at`` (0: handshake message 1, 1: message 3, 2...: transport).
    """

    def __init__(self, port, mutation, at):
        self.port, self.mutation, self.at = port, mutation, at
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.address = self.listener.getsockname()[1]
        self.done = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        client, _ = self.listener.accept()
        server = socket.create_connection(("127.0.0.1", self.port))
        threading.Thread(target=self._pump, args=(server, client), daemon=True).start()
        self._frames(client, server)

    def _pump(self, source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        self.done.set()
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _frames(self, source, sink):
        buffer, number = b"", 0
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                buffer += data
                while len(buffer) >= 2 and len(buffer) >= 2 + struct.unpack(
                        ">H", buffer[:2])[0]:
                    size = struct.unpack(">H", buffer[:2])[0]
                    frame, buffer = buffer[:2 + size], buffer[2 + size:]
                    if number == self.at and self.mutation == "flip":
                        frame = frame[:-1] + bytes([frame[-1] ^ 1])
                    elif number == self.at and self.mutation == "inject":
                        sink.sendall(struct.pack(">H", 40) + os.urandom(40))
                    if not (number == self.at and self.mutation == "drop"):
                        sink.sendall(frame)
                    number += 1
        except OSError:
            pass

    def close(self):
        self.listener.close()


class OnPathTests(_TradeCase):
    """A link through a proxy that breaks the channel: closed, nothing
    sold on its word."""

    def attempt(self, mutation):
        # The client's messages on the link: handshake 1 and 3, then
        # thisisme (2), proof (3), and the buy (4).
        proxy = OnPathProxy(self.seller_port, mutation, at=4)
        self.addCleanup(proxy.close)
        link = self.handshake(self.me, proxy.address)
        keys = self.keys[self.me]
        buy = keys.signed("buy", id=newId(), item="apple", path=[self.me, self.seller_id],
                          expires=int((time.time() + 60) * 1000))
        link.sendObject(buy)
        # A dropped frame is noticed at the next one.
        link.send("ping", nonce=1)
        self.assertEqual(link.outcome(), "closed")
        self.seller.waitFor(r"closing connection with 127\.0\.0\.1:\d+: a message "
                            r"does not decrypt", TIMEOUT)

    def test_flippedDroppedOrInjectedFrameClosesTheLink(self):
        for mutation in ("flip", "drop", "inject"):
            self.attempt(mutation)
        self.assertEqual(self.seller.matches(r"sold apple"), [])
        # A link without the proxy (its newer link took the old one's
        # place, and each broken one closed) still buys.
        self.link = self.handshake(self.me)
        self.assertEqual(self.buy(newId())["type"], "buyOK")
        waitSold(self.seller, "apple", TIMEOUT, buyer=self.me, left=1)


class TrackerPinTests(SynchronousTestCase):
    """A tracker that keeps its key in --data-dir, and the nodes and
    ``bazaar`` commands that pin it (--tracker-key): whoever answers at
    the tracker's address without its key is told nothing."""

    def test_onlyThePinnedTrackerIsSpokenTo(self):
        folder = tempfile.mkdtemp(prefix="bazaar-pin-")
        self.addCleanup(shutil.rmtree, folder, True)
        market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(market.stop)
        keys = os.path.join(folder, "tracker-data")
        tracker = market.startTracker("tracker", TIMEOUT, "--data-dir", keys)
        key = tracker.waitFor(r"the tracker's key is (?P<key>[A-Za-z0-9_-]{43})",
                              TIMEOUT)["key"]
        self.assertTrue(os.path.exists(os.path.join(keys, "tracker.key")))
        pinned = market.startNode("pinned", "--tracker-key", key)
        nodeId(pinned, TIMEOUT)
        other = Identity.generate().key
        wrong = market.startNode("wrong", "--tracker-key", other)
        wrong.waitFor(rf"the tracker proved {key[:8]}…, not {other[:8]}…, the key "
                      r"pinned by --tracker-key", TIMEOUT)
        self.assertFalse(wrong.matches("registered with the tracker"))
        address = f"127.0.0.1:{market.tracker_port}"
        status = bazaar("status", "--tracker", address, "--tracker-key", other)
        self.assertEqual(status.returncode, 1)
        # As the node says it, and running.md's commands section (webguard's
        # pin for the commands).
        self.assertIn(f"did not answer as the tracker: the tracker proved {key[:8]}…, "
                      f"not {other[:8]}…, the key pinned by --tracker-key", status.stderr)
        self.assertEqual(bazaar("status", "--tracker", address, "--tracker-key",
                                key).returncode, 0)

    def test_theFirstKeyIsKept(self):
        """A node with --data-dir and no pin keeps the first key its
        tracker proves: a tracker at the same address with another key (a
        restart with another --data-dir) is refused, with what to do, said
        once an attempt, in the retry's line."""
        folder = tempfile.mkdtemp(prefix="bazaar-pin-")
        self.addCleanup(shutil.rmtree, folder, True)
        market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(market.stop)
        logged = r"the tracker's key is (?P<key>[A-Za-z0-9_-]{43})"
        first = market.startTracker("tracker", TIMEOUT)
        key = first.waitFor(logged, TIMEOUT)["key"]
        data = os.path.join(folder, "node-data")
        node = market.startNode("node", "--data-dir", data)
        node_id = nodeId(node, TIMEOUT)
        known = os.path.join(data, "known_tracker")
        node.waitFor(rf"the tracker's key is {key}, from its first contact; another "
                     rf"key there is refused from now on \(kept in {re.escape(known)}\)",
                     TIMEOUT)
        with open(known) as f:
            self.assertEqual(f.read(), key + "\n")
        first.terminate()
        first.finish()
        second = market.start("tracker 2", [
            "bazaar-tracker", "--listen", f"tcp:{market.tracker_port}:interface=127.0.0.1",
            "--data-dir", os.path.join(folder, "another-key")])
        other = second.waitFor(logged, TIMEOUT)["key"]
        node.waitFor(rf"lost the tracker at 127\.0\.0\.1:{market.tracker_port}: "
                     rf"the tracker proved {re.escape(other[:8])}…, not "
                     rf"{re.escape(key[:8])}…, the key it proved on first contact "
                     rf"\(remembered in {re.escape(known)}\); refused before this node "
                     rf"said anything\. If its key changed on purpose, or this node "
                     r"moved to another tracker \(its data dir keeps the key of the "
                     rf"first tracker it reached\), remove "
                     rf"{re.escape(known)} or pass --tracker-key with the key the "
                     r"tracker logs when it starts; trying again in", TIMEOUT)
        node.waitFor(r"lost the tracker at .*, for the same reason as before; "
                     r"trying again in", TIMEOUT)
        # A key that does not match will not cure itself: a warning the
        # first time, the retries after it at info (issue 96).
        levels = [(event["log_level"].name, "the tracker proved" in event["why"])
                  for event in node.eventsMatching("{why}; trying again in",
                                                   why=lambda why: "tracker proved" in why
                                                   or "same reason" in why)]
        self.assertEqual(levels[:2], [("warn", True), ("info", False)], node.tail())
        # One line an attempt, the retry's: neither the channel nor the
        # key's check says the refusal too (issue 96).
        said = [match.string for match in node.matches(r"the tracker proved ")]
        self.assertTrue(said, node.tail())
        self.assertEqual([line for line in said if "lost the tracker at" not in line],
                         [], node.tail())
        self.assertEqual(node.matches(r"closing connection with 127\.0\.0\.1:"
                                      rf"{market.tracker_port}\b"), [], node.tail())
        self.assertEqual(second.matches(rf"node {short(node_id)} joined"), [])
        self.assertEqual(len(node.matches(r"registered with the tracker")), 1)
        self.assertEqual(node.problems(), [])
