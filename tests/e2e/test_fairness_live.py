"""
End to end, issue 21: one address cannot hold a live seller's transfer
slots, nor write a live tracker's log; nor (found after issue 34) a live
seller's, with buys whose answers find their link closed.  The attacker is this test, with
plain sockets bound to 127.9.0.1 (loopback, another /16 than the
daemons' 127.0.0.1, so another address group).

Every wait is bounded: on a log line with a timeout, or on a socket with
one; nothing sleeps.
"""

import json
import os
import socket
import time
from contextlib import ExitStack

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files.server import DEFAULT_TRANSFER_SLOTS
from twisted_bazaar.net.link import DEFAULT_ERROR_LIMIT

from tests.e2e.helpers import (
    servingPort,
    startMarket,
    startSeller,
    waitDownloaded,
    waitSharing,
)
from tests.e2e.test_files_live import sha256Of, writeRandom
from tests.contract.channel import ChannelBroken, open_channel
from tests.e2e.test_raw_client import linkedStranger, netstring, newId

#: Seconds any one expected log line may take.
TIMEOUT = 30.0
#: Seconds a daemon may take to close a connection it should close.
CLOSE_TIMEOUT = 5.0
#: Where the attacker's connections come from.
ATTACKER = "127.9.0.1"
SIZE = 4 * 1024 * 1024
#: Buys a stranger sends on each link it closes at once.
CLOSED_LINK_BUYS = 1000


def attackerSocket(port, receive_buffer=None):
    """A connection from the attacker's address to a daemon's port, inside
    the encrypted channel (keyless)."""
    sock = socket.socket()
    sock.settimeout(TIMEOUT)
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.bind((ATTACKER, 0))
    sock.connect(("127.0.0.1", port))
    return open_channel(sock)


def request(kind, **fields):
    """One message as the wire frames it."""
    return netstring(json.dumps(dict(fields, type=kind)).encode("utf-8"))


def closedByPeer(sock):
    """Whether the peer closes (or resets) the connection within
    CLOSE_TIMEOUT, whatever it sends first."""
    sock.settimeout(CLOSE_TIMEOUT)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        return False
    return True


class FairnessLiveTests(SynchronousTestCase):
    def setUp(self):
        self.market, self.tracker = startMarket(self, TIMEOUT)
        self.folder = self.market.cwd

    def dir(self, name):
        path = os.path.join(self.folder, name)
        os.makedirs(path)
        return path

    def test_slotsHeldByOneAddressLetAPayingBuyerThrough(self):
        """
        Issue 21: connections from one address held every transfer slot
        of a seller, and a paying buyer got no file.  Here the attacker
        asks the whole file on one slot's worth of connections and never
        reads it, and asks only heads on as many more; a buyer from
        another address buys the file and gets it, whole.
        """
        shared = self.dir("shared")
        sha = writeRandom(os.path.join(shared, "big.bin"), SIZE, 21)
        seller = self.market.startNode("seller", "--role", "seller", "--share", shared)
        waitSharing(seller, "big.bin", TIMEOUT)
        port = servingPort(seller, TIMEOUT)
        with ExitStack() as stack:
            greedy = []
            for _ in range(DEFAULT_TRANSFER_SLOTS):
                sock = stack.enter_context(attackerSocket(port, receive_buffer=4096))
                sock.sendall(request("get", sha256=sha, offset=0, length=SIZE))
                greedy.append(sock)
            for _ in range(DEFAULT_TRANSFER_SLOTS):
                sock = stack.enter_context(attackerSocket(port))
                sock.sendall(request("head", sha256=sha))
                self.assertIn(b'"type":"about"', sock.recv(65536))
            downloads = self.dir("downloads")
            buyer = self.market.startNode("buyer", "--role", "buyer", "--want",
                                          "big.bin", "--downloads", downloads)
            waitDownloaded(buyer, "big.bin", TIMEOUT)
            self.assertEqual(sha256Of(os.path.join(downloads, "big.bin")), sha)
            seller.waitFor(r"evicting a transfer connection from 127\.9\.0\.1: its "
                           r"address group holds the most transfer slots", TIMEOUT)
        for daemon in (seller, buyer):
            self.assertEqual(daemon.problems(), [], daemon.tail())

    def test_errorFloodLeavesTheTrackersLogBounded(self):
        """
        Issue 21: well-formed errors sent before registration were each
        logged: 248 MB sent grew a tracker's log by 255 MB.  Here 300
        connections (those the tracker's --connection-rate lets in) send
        100 errors of 1 KB each (up to 30 MB); each is cut off past the
        error limit, and the tracker's log grows by a few lines and their
        summaries; a node still registers.
        """
        port = self.market.tracker_port
        before = sum(len(line) for line in self.tracker.lines)
        flood = request("error", code="wtf", info="x" * 1000) * 100
        for _ in range(300):
            try:
                sock = attackerSocket(port)
            except (ChannelBroken, ConnectionResetError):
                # Past the tracker's --connection-rate: closed before the
                # channel's handshake.
                continue
            with sock:
                try:
                    sock.sendall(flood)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.assertTrue(closedByPeer(sock), "the tracker kept a connection "
                                "that sent it 100 errors")
        self.tracker.waitFor(r"more lines like '\{peer\} says \{code\}: \{info\}' from "
                             r"127\.9\.0\.0/16 in the last 10 s, not logged", TIMEOUT)
        grown = sum(len(line) for line in self.tracker.lines) - before
        self.assertLess(grown, 64 * 1024, self.tracker.tail())
        closed = self.tracker.matches(rf"closing link to 127\.9\.0\.1:\d+: "
                                      rf"{DEFAULT_ERROR_LIMIT + 1} bad messages")
        self.assertGreaterEqual(len(closed), 1)
        node = self.market.startNode("seller", "--role", "seller", "--sell", "apple=1")
        node.waitForEvent("registered with the tracker as node ", TIMEOUT)
        self.assertEqual(self.tracker.problems(), [], self.tracker.tail())

    def test_answersToAClosedLinkLeaveTheLogBounded(self):
        """
        Found after issue 34's fixes: a keyed stranger linked to a seller
        sends CLOSED_LINK_BUYS signed buys of items nobody sells in one
        write and closes the link at once.  The seller answers each
        (soldout, once the close is on disk) and finds no link to send it
        on.  It logged "cannot send error to node N: no link" for each,
        outside the peer log: 0.29 bytes of log per byte sent, link after
        link.  Now a few such lines are logged and the rest summed up.
        """
        seller, seller_id, port = startSeller(self.market, "apple=1", TIMEOUT)
        before = sum(len(line) for line in seller.lines)
        sent = 0
        for _ in range(3):
            keys, link = linkedStranger(self, self.market.tracker_port, port)
            expires = int((time.time() + 60) * 1000)
            flood = b"".join(netstring(json.dumps(keys.signed(
                "buy", id=newId(), item=f"nothing{n}", path=[keys.id, seller_id],
                expires=expires)).encode("utf-8")) for n in range(CLOSED_LINK_BUYS))
            link.sendRaw(flood)
            sent += len(flood)
            link.close()
        seller.waitFor(r"more lines like 'cannot send \{type\} to node \{next\}: no "
                       r"link' from peers no longer linked in the last 10 s", TIMEOUT)
        grown = sum(len(line) for line in seller.lines) - before
        self.assertLess(grown / sent, 0.01, seller.tail())
        self.assertEqual(seller.problems(), [], seller.tail())
