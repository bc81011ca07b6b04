"""
End to end, issue 93 (the seventh round, docs/reliability.md): the red
team's attacks on a live tracker's WebSocket port, on loopback.  The
attackers are this test's plain sockets: what a browser's page sends
(a rebinding name, an ``Origin``), and a peer that pings and never
reads.

Every wait is bounded: on a log line, or on a socket with a timeout;
nothing sleeps.
"""

import base64
import json
import os
import shutil
import socket
import tempfile
from contextlib import ExitStack

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.testing.daemons import (
    JSON, LISTENING_EVENT, LOOPBACK_LISTEN, TRACKER_LISTENING, LiveMarket)

from tests.contract.channel import ChannelBroken, open_channel
from tests.e2e.test_account_live import connectFrom, firstAnswer, registerGroups
from tests.e2e.test_raw_client import netstring

#: Seconds any one expected log line, or socket read, may take.
TIMEOUT = 30.0
#: The open-file limit of the descriptors' attack (issue 93's).
OPEN_FILES = 512


def upgrade(host, *more):
    """A WebSocket opening handshake offering bazaar, naming ``host``,
    with ``more`` header lines."""
    key = base64.b64encode(os.urandom(16))
    lines = [b"GET / HTTP/1.1", b"Host: " + host, b"Upgrade: websocket",
             b"Connection: Upgrade", b"Sec-WebSocket-Key: " + key,
             b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Protocol: bazaar", *more]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def ping(payload):
    """A client's ping frame (masked with a zero key, as RFC 6455 allows)."""
    return bytes([0x89, 0x80 | len(payload)]) + bytes(4) + payload


def statusLine(sock):
    """The first line the server answers (b"" if it closes first)."""
    got = b""
    while b"\r\n" not in got:
        more = sock.recv(4096)
        if not more:
            break
        got += more
    return got.split(b"\r\n")[0]


class WebSocketAttackTests(SynchronousTestCase):
    def setUp(self):
        folder = tempfile.mkdtemp(prefix="bazaar-e2e-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(self.market.stop)

    def startTracker(self, *args):
        """The tracker, with its WebSocket port on loopback: its port."""
        tracker = self.market.startTracker("tracker", TIMEOUT, "--ws-port", "0", *args)
        listening = tracker.waitForEvent(LISTENING_EVENT, TIMEOUT, what="websocket")
        return tracker, int(listening["port"])

    def connect(self, port):
        sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.addCleanup(sock.close)
        return sock

    def answer(self, port, request):
        sock = self.connect(port)
        sock.sendall(request)
        return statusLine(sock).decode("latin-1")

    def test_noPageOpensTheWebSocketPort(self):
        """
        A page whose name rebinds to 127.0.0.1 names itself in ``Host``:
        refused 421; a page under any name sends ``Origin``: refused 403.
        The daemons' own clients send neither: 101 (the same request,
        ``Host`` the address).
        """
        _, port = self.startTracker()
        here = b"127.0.0.1:%d" % (port,)
        self.assertRegex(self.answer(port, upgrade(b"evil.example:%d" % (port,))),
                         r"^HTTP/1.1 421 this WebSocket port answers to .*, not to Host "
                         r"'evil.example:\d+'")
        for origin in (b"http://evil.example", b"http://" + here):
            self.assertRegex(self.answer(port, upgrade(here, b"Origin: " + origin)),
                             r"^HTTP/1.1 403 this WebSocket port takes no upgrade a "
                             r"page asks for")
        self.assertEqual(self.answer(port, upgrade(here)),
                         "HTTP/1.1 101 Switching Protocols")

    def test_pingsNeverReadAreCharged(self):
        """
        A peer that opens a WebSocket to the tracker, never reads, and
        pings: each pong waits for it in the link's account (1 MiB, the
        write limit), and it is dropped once that is full, having made
        the tracker hold about that; it sent 16 MiB of pings before
        the fix, each answered into the tracker's memory.
        """
        tracker, port = self.startTracker("--handshake-timeout", "300")
        sock = socket.socket()
        self.addCleanup(sock.close)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(TIMEOUT)
        sock.connect(("127.0.0.1", port))
        sock.sendall(upgrade(b"127.0.0.1:%d" % (port,)))
        self.assertEqual(statusLine(sock), b"HTTP/1.1 101 Switching Protocols")
        pings = ping(b"p" * 125) * 1024
        sent = 0
        try:
            while sent < 16 * 2**20:
                sock.sendall(pings)
                sent += len(pings)
        except (ConnectionResetError, BrokenPipeError):
            pass
        self.assertLess(sent, 16 * 2**20)
        tracker.waitFor(r"is not reading: over 1048576 bytes waiting; dropping the link",
                        TIMEOUT)

    def register(self, host, port, timeout=TIMEOUT):
        """A keyless port-0 registration from host: the tracker's answer
        ((type, code)), or None: refused before the channel was up."""
        tcp = self.sockets.enter_context(connectFrom(host, port))
        tcp.settimeout(timeout)
        try:
            sock = open_channel(tcp)
        except (ChannelBroken, OSError):
            return None
        sock.sendall(netstring(json.dumps(
            {"type": "thisisme", "id": "", "port": 0, "host": ""}).encode()))
        answer = firstAnswer(sock)
        return answer and (answer["type"], answer.get("code"))

    def test_silentOpeningsLeaveANodeItsDescriptor(self):
        """
        Issue 93: with ``ulimit -n`` 512, registrations up to what the
        tracker keeps, then 256 silent WebSocket openings (8 from each of
        32 /16s, inside the port's own account) held every descriptor,
        and a node could not register.  Now the openings are counted out
        of the registrations the tracker keeps: a node of another /16
        registers at once, among them.
        """
        self.sockets = ExitStack()
        self.addCleanup(self.sockets.close)
        tracker = self.market.start(
            "tracker", ["bazaar-tracker", "--listen", LOOPBACK_LISTEN, "--ws-port", "0",
                        "--ping-interval", "600", "--relay-reservations", "0",
                        "--pending-limit", "16"],
            wrapper=("prlimit", f"--nofile={OPEN_FILES}:{OPEN_FILES}", "--"))
        port = int(tracker.waitFor(TRACKER_LISTENING, TIMEOUT)["port"])
        ws = int(tracker.waitForEvent(LISTENING_EVENT, TIMEOUT, what="websocket")["port"])
        answers = registerGroups(self, port, count=120, refused=(ChannelBroken, OSError))
        self.assertGreater(answers.get(("thisisyou", None), 0), 100, answers)
        for group in range(1, 33):
            for n in range(8):
                sock = self.sockets.enter_context(connectFrom(f"127.{100 + group}.0.{n + 1}",
                                                              ws))
                sock.sendall(b"GET / HTTP/1.1\r\n")
        self.assertEqual(self.register("127.0.0.1", port, timeout=5.0),
                         ("thisisyou", None))
        self.assertNotIn("Too many open files", "\n".join(tracker.lines))
