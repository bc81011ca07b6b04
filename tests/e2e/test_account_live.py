"""
End to end, issue 34: what strangers make a live tracker hold is charged
to their address groups (twisted_bazaar/net/account.py), so a node or a
viewer of another group still gets in.  The attackers are this test,
with plain sockets bound to loopback addresses of other /16s than the
daemons' 127.0.0.1.

Every wait is bounded: on a log line with a timeout, or on a socket with
one; nothing sleeps.
"""

import json
import select
import shutil
import socket
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import listeningPort
from twisted_bazaar.testing.daemons import (
    JSON,
    LOOPBACK_LISTEN,
    TRACKER_LISTENING,
    LiveMarket,
    nodeId,
)
from twisted_bazaar.web.resources import GROUP_CONNECTIONS
from twisted_bazaar.web.stream import GROUP_STREAMS, MAX_STREAMS

from tests.contract.channel import ChannelBroken, open_channel
from tests.e2e.test_raw_client import netstring

#: Seconds any one expected log line, or socket read, may take.
TIMEOUT = 30.0
#: The open-file limit the tracker runs with: the one of issue 34.
OPEN_FILES = 1024


def connectFrom(host, port):
    sock = socket.socket()
    sock.settimeout(TIMEOUT)
    sock.bind((host, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def firstAnswer(sock):
    """The first message the tracker sends (None if it closes first)."""
    data = b""
    while True:
        head, colon, rest = data.partition(b":")
        if colon and len(rest) > int(head):
            return json.loads(rest[:int(head)])
        try:
            chunk = sock.recv(4096)
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        data += chunk


def registerGroup(group, port, sockets, count=256, refused=ChannelBroken):
    """Register ``count`` keyless port-0 nodes (by default 256, the most
    one group may hold) from the /16 127.GROUP, one after the other, each
    socket kept open in ``sockets``; the tracker's answers counted by kind
    (``(type, code)``, None for a connection refused before its channel
    was up: ``refused`` raised)."""
    answers = Counter()
    for n in range(count):
        tcp = connectFrom(f"127.{group}.{n // 250}.{n % 250 + 1}", port)
        sockets.append(tcp)
        try:
            sock = open_channel(tcp)
        except refused:
            answers[None] += 1
            continue
        sock.sendall(netstring(json.dumps(
            {"type": "thisisme", "id": "", "port": 0, "host": ""}).encode()))
        answer = firstAnswer(sock)
        answers[answer and (answer["type"], answer.get("code"))] += 1
    return answers


def registerGroups(case, port, groups=4, **kwargs):
    """L{registerGroup} for the /16s 127.1 to 127.GROUPS at once, each
    from a thread of its own, as that many attackers would (one loop over
    them all waited on the tracker's turn at each handshake: a minute at
    load for 1,024); the sockets are closed when ``case`` ends.  The
    answers of all the groups, counted by kind."""
    held = {group: [] for group in range(1, groups + 1)}
    for sockets in held.values():
        case.addCleanup(closeAll, sockets)
    with ThreadPoolExecutor(groups) as pool:
        futures = [pool.submit(registerGroup, group, port, sockets, **kwargs)
                   for group, sockets in held.items()]
        return sum((future.result() for future in futures), Counter())


def closeAll(sockets):
    for sock in sockets:
        sock.close()


class AccountLiveTests(SynchronousTestCase):
    def setUp(self):
        folder = tempfile.mkdtemp(prefix="bazaar-e2e-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(self.market.stop)
        self.sockets = ExitStack()
        self.addCleanup(self.sockets.close)
        self.clock = time.monotonic

    def startTracker(self, *args):
        """The tracker, run with OPEN_FILES descriptors (``prlimit``)."""
        market = self.market
        tracker = market.start("tracker", ["bazaar-tracker", "--listen", LOOPBACK_LISTEN,
                                           *args],
                               wrapper=("prlimit", f"--nofile={OPEN_FILES}:{OPEN_FILES}",
                                        "--"))
        listening = tracker.waitFor(TRACKER_LISTENING, TIMEOUT)
        market.tracker_port = int(listening["port"])
        market.tracker = tracker
        return tracker

    def test_registrationsLeaveRoomForANode(self):
        """
        Issue 34, "Descriptors": about 1,000 keyless port-0 registrations
        from four /16s filled the tracker's 1,024 descriptors, and no node
        registered for 25 s.  Here four /16s register 256 nodes each (the
        most one group may hold); the tracker keeps only what its
        descriptors allow, refusing the rest, and a node of another group
        still registers.
        """
        # These clients answer no ping: a registration must not end for
        # that while the 1,024 channel handshakes go on.  No group opens
        # more than one connection at a time, far below its connection
        # rate and its pending connections.
        tracker = self.startTracker("--ping-interval", "600")
        port = self.market.tracker_port
        answers = registerGroups(self, port)
        node = self.market.startNode("node", "--role", "buyer", "--want", "apple")
        nodeId(node, TIMEOUT)
        registered = answers.get(("thisisyou", None), 0)
        self.assertGreater(registered, 256)
        self.assertLess(registered, OPEN_FILES - 256)
        self.assertGreater(answers.get(("error", "noslots"), 0), 0)
        self.assertNotIn("Too many open files", "\n".join(tracker.lines))

    def test_unreadStreamsLeaveRoomForAViewer(self):
        """
        Issue 34, "Web view memory": 64 event streams opened and never read
        refused every other viewer.  One address group now holds at most
        its share of the streams, and a viewer of another group gets its
        picture.
        """
        tracker = self.startTracker("--web", "tcp:0")
        web = listeningPort(tracker, "web view", TIMEOUT)
        request = b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        statuses = []
        for n in range(MAX_STREAMS):
            sock = self.sockets.enter_context(connectFrom("127.9.0.1", web))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            try:
                sock.sendall(request)
                statuses.append(sock.recv(12)[9:12])
            except ConnectionResetError:
                statuses.append(b"")
        # Its group's share of the port's connections (issue 72): past it
        # the rest are closed at once, and of those taken, its share of
        # the streams are streams and the others are told 503.
        self.assertEqual(statuses.count(b"200"), GROUP_STREAMS)
        self.assertEqual(statuses.count(b"503"), GROUP_CONNECTIONS - GROUP_STREAMS)
        self.assertEqual(statuses.count(b""), MAX_STREAMS - GROUP_CONNECTIONS)
        viewer = self.sockets.enter_context(connectFrom("127.0.0.1", web))
        viewer.sendall(request)
        seen = b""
        while b"event: market" not in seen:
            chunk = viewer.recv(65536)
            self.assertTrue(chunk, seen)
            seen += chunk
        self.assertTrue(seen.startswith(b"HTTP/1.1 200"), seen[:200])

    def test_tricklingConnectionsToTheWebPortHoldNoDescriptors(self):
        """
        Issue 72: 1,010 connections from one address to the tracker's
        --web port, each sending a byte every 20 s, held all 1,024
        descriptors (Twisted's timeout starts again with each byte).
        Now one address group holds its share of the port's connections
        (the rest are closed at once), those are closed 10 s after they
        opened however they trickle, and a node registers meanwhile.
        """
        tracker = self.startTracker("--web", "tcp:0")
        web = listeningPort(tracker, "web view", TIMEOUT)
        held = []
        for n in range(3 * GROUP_CONNECTIONS):
            sock = self.sockets.enter_context(connectFrom("127.9.0.1", web))
            sock.sendall(b"G")
            held.append(sock)
        node = self.market.startNode("node", "--role", "buyer", "--want", "apple")
        nodeId(node, TIMEOUT)
        # Those closed at once, and those the deadline closed, while
        # each still open is sent a byte a second.
        openAt = {sock: True for sock in held}
        deadline = self.clock() + TIMEOUT
        closedEarly = None
        while any(openAt.values()) and self.clock() < deadline:
            for sock in [sock for sock, open_ in openAt.items() if open_]:
                try:
                    sock.sendall(b"E")
                    sock.setblocking(False)
                    gone = sock.recv(1) == b""
                except BlockingIOError:
                    gone = False
                except OSError:
                    gone = True
                finally:
                    sock.setblocking(True)
                if gone:
                    openAt[sock] = False
            if closedEarly is None:
                closedEarly = sum(not open_ for open_ in openAt.values())
            # A close makes a socket readable; else a byte a second.
            select.select([sock for sock, open_ in openAt.items() if open_], [], [], 1.0)
        self.assertEqual(sum(openAt.values()), 0, "trickling connections still open")
        self.assertGreaterEqual(closedEarly, 2 * GROUP_CONNECTIONS)
