"""
End to end: whom a transfer connection reached (docs/protocol.md §19).

A seller advertises the host 127.0.0.2, where an on-path attacker sits:
it passes the seller's node port through byte for byte (so the tracker's
address check, the buyer's link and its buy reach the real seller), and
at the seller's transfer port it ends the encrypted channel itself, with
a key of its own, and relays the plaintext to the seller's real port on
127.0.0.1.  Were the buyer to take any key there, the proxy would read
every request and every byte of the file, and the buyer would log
"content id verified".  It takes only the key of the seller's signed record:
it refuses the proxy before sending anything, and gets nothing from it.
"""

import os
import random
import socket
import threading

from twisted.trial.unittest import SynchronousTestCase

from tests.contract.channel import ChannelBroken, accept_channel, connect
from tests.e2e.helpers import freePort, short, startMarket, waitSharing
from tests.e2e.test_raw_client import Keys
from twisted_bazaar.testing.daemons import nodeId

#: Seconds any one expected log line may take.
TIMEOUT = 30.0
#: Where the seller says it is, and the attacker listens.
ADVERTISED = "127.0.0.2"


class _Proxy:
    """The attacker at ADVERTISED: two listening sockets, on the port
    numbers the seller listens at on 127.0.0.1.  Ports the kernel would
    not pick (L{freePort}): one it picked for this socket was free on
    127.0.0.1 only until the seller came to listen there, seconds later,
    and at load another process's connection took it meanwhile."""

    def __init__(self):
        self.keys = Keys()
        self.node = socket.create_server((ADVERTISED, freePort()))
        self.transfer = socket.create_server((ADVERTISED, freePort()))
        self.sockets = [self.node, self.transfer]
        #: The plaintext buyers sent on the transfer port.
        self.plain = bytearray()
        #: Transfer connections accepted.
        self.accepted = 0

    @property
    def nodePort(self):
        return self.node.getsockname()[1]

    @property
    def transferPort(self):
        return self.transfer.getsockname()[1]

    def start(self):
        for listener, serve in ((self.node, self._passBytes),
                                (self.transfer, self._endTheChannel)):
            threading.Thread(target=self._accept, args=(listener, serve),
                             daemon=True).start()

    def close(self):
        for sock in self.sockets:
            sock.close()

    def _accept(self, listener, serve):
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            self.sockets.append(conn)
            threading.Thread(target=self._serve, args=(serve, conn), daemon=True).start()

    @staticmethod
    def _serve(serve, conn):
        try:
            serve(conn)
        except (OSError, ChannelBroken):
            conn.close()

    def _passBytes(self, conn):
        seller = socket.create_connection(("127.0.0.1", self.nodePort))
        self.sockets.append(seller)
        threading.Thread(target=self._pipe, args=(seller, conn), daemon=True).start()
        self._pipe(conn, seller)

    def _endTheChannel(self, conn):
        self.accepted += 1
        buyer = accept_channel(conn, self.keys.private)
        seller = connect(("127.0.0.1", self.transferPort), self.keys.private)
        self.sockets.append(seller)
        threading.Thread(target=self._pipe, args=(seller, buyer), daemon=True).start()
        self._pipe(buyer, seller, self.plain)

    @staticmethod
    def _pipe(source, sink, seen=None):
        try:
            while data := source.recv(65536):
                if seen is not None:
                    seen += data
                sink.sendall(data)
        except (OSError, ChannelBroken):
            pass
        sink.close()


class TransferProxyTests(SynchronousTestCase):

    def test_theBuyerRefusesAProxyAtTheTransferPort(self):
        market, _ = startMarket(self, TIMEOUT)
        proxy = _Proxy()
        self.addCleanup(proxy.close)
        shared = os.path.join(market.cwd, "shared")
        os.mkdir(shared)
        with open(os.path.join(shared, "song.bin"), "wb") as f:
            f.write(random.Random(4).randbytes(3 * 1024 * 1024))
        proxy.start()
        # The seller listens on 127.0.0.1 at the proxy's port numbers, and
        # says it is at ADVERTISED.
        seller = market.startNode(
            "seller", "--role", "seller", "--share", shared,
            "--listen", f"tcp:{proxy.nodePort}:interface=127.0.0.1",
            "--transfer-port", str(proxy.transferPort), "--host", ADVERTISED)
        seller_id = nodeId(seller, TIMEOUT)
        waitSharing(seller, "song.bin", TIMEOUT)
        market.waitIntroduced(seller_id, TIMEOUT)
        downloads = os.path.join(market.cwd, "downloads")
        os.mkdir(downloads)
        buyer = market.startNode("buyer", "--role", "buyer", "--want", "song.bin",
                                 "--downloads", downloads, "--download-give-up", "5",
                                 "--exit-when-done")
        buyer.waitFor(rf"bought song\.bin from {short(seller_id)}", TIMEOUT)
        pinned = rf"the peer proved key {proxy.keys.key}, not the pinned \S+"
        buyer.waitFor(rf"closing connection with {ADVERTISED}:{proxy.transferPort}: "
                      + pinned, TIMEOUT)
        buyer.waitFor(rf"seller {short(seller_id)} could not describe song\.bin: the "
                      r"channel failed: " + pinned, TIMEOUT)
        buyer.waitFor(r"cannot download song\.bin: no piece came for 5 s", TIMEOUT)
        self.assertEqual(buyer.process.wait(TIMEOUT), 3)
        # The proxy was dialled, and read nothing: the buyer closed the
        # channel before its last handshake message.
        self.assertGreater(proxy.accepted, 0)
        self.assertEqual(bytes(proxy.plain), b"")
        self.assertEqual(buyer.matches(r"content id verified"), [])
        self.assertFalse(os.path.exists(os.path.join(downloads, "song.bin")))
        self.assertEqual(buyer.problems(), [], buyer.tail(80))
