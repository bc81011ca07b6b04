"""
A download that starts on a seller's relayed transfer connection moves
to a direct one when a direct link to the seller comes up
(L{twisted_bazaar.roles.files.moves.Moves}): the pieces in flight on the
relayed one are asked again on the direct one, from where they stopped,
the relayed one is closed, and no byte is taken twice.  In a L{Market}
(the in-memory network, a fake clock); which connections run through a
relay is the test's word (L{throughRelay} patched), as is whether the
buyer's link to the seller is direct.
"""

import os
import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import hashing, server
from twisted_bazaar.files.client import TransferClient
from twisted_bazaar.roles.files import moves
from twisted_bazaar.roles.files.moves import Moves
from twisted_bazaar.testing import Market, MemoryNetwork
from tests.files.helpers import fileId, scratchDir, writeFile
from tests.roles.files.helpers import TransferWatch

PIECE = 4096
#: Bytes a second the seller sends: the file takes about 5 s, so a move
#: comes in the middle of a piece.
RATE = 10 * PIECE


class MoveTests(SynchronousTestCase):
    def setUp(self):
        self.patch(hashing, "MIN_PIECE", PIECE)
        # Sent a quarter of a piece at a time: a move comes mid-piece.
        self.patch(server, "CHUNK", PIECE // 4)
        self.data = random.Random(5).randbytes(50 * PIECE + 100)
        self.market = Market(MemoryNetwork(rng=random.Random(1),
                                           latency=(0.01, 0.01)), seed=2)
        folder = scratchDir(self)
        writeFile(folder, "big", self.data)
        seller = self.market.addNode(discovery="flood", seller={
            "stock": {}, "share": folder, "transfer_rate": RATE})
        self.seller = seller
        self.downloads = scratchDir(self)
        buyer = self.market.addNode(discovery="flood", buyer={
            "wants": ["big"], "downloads": self.downloads})
        self.fetcher = self.market.role(buyer, "buyer").fetcher
        #: Whether the buyer's link to the seller is direct now: new
        #: transfer connections are relayed until it is.
        self.direct = False
        #: Transports of the transfer connections made through a relay.
        self.relayedTransports = set()
        #: Whether a new transfer connection is relayed although the link
        #: is direct (the transfer's punch failed).
        self.punchFails = False
        connectionMade = TransferClient.connectionMade

        def made(client):
            if not self.direct or self.punchFails:
                self.relayedTransports.add(client.transport)
            return connectionMade(client)

        self.patch(TransferClient, "connectionMade", made)
        self.patch(moves, "throughRelay",
                   lambda transport: transport in self.relayedTransports)
        self.patch(Moves, "directLink", lambda _, peer_id: self.direct)
        self.watch = TransferWatch(self)

    @property
    def sellerId(self):
        """The seller's id (given by the tracker once it registers)."""
        return self.seller.id

    def download(self):
        return self.fetcher.downloads["big"]

    def runUntil(self, condition, seconds, what):
        for _ in range(int(seconds / 0.01)):
            if condition():
                return self.market.clock.seconds()
            self.market.run(0.01)
        self.fail(f"not {what} within {seconds:g} s: {self.fetcher.unfinished()}")

    def relayedClient(self):
        """Run until the relayed connection has brought a few pieces: it."""
        self.runUntil(lambda: "big" in self.fetcher.downloads
                      and self.download().sellers.clients.get(self.sellerId)
                      and self.download().sellers.clients[self.sellerId].received
                      > 10 * PIECE, 30, "10 pieces on the relay")
        client = self.download().sellers.clients[self.sellerId]
        self.assertIn(client.transport, self.relayedTransports)
        return client

    def directLinkUp(self):
        """The punch replaced the buyer's relayed link to the seller."""
        self.direct = True
        self.fetcher.linkReplaced(self.sellerId)

    def assertFetched(self):
        self.runUntil(lambda: "big" in self.fetcher.fetched, 60, "fetched")
        with open(os.path.join(self.downloads, "big"), "rb") as f:
            self.assertEqual(fileId(f.read(), PIECE), fileId(self.data, PIECE))

    def test_movesMidFile(self):
        """A direct link mid-file: the rest comes on a direct connection,
        the piece under way from where it stopped on the relay; the
        relayed connection is closed and brings nothing after the move;
        every byte is taken once."""
        relayed = self.relayedClient()
        self.directLinkUp()
        self.runUntil(lambda: relayed.closed, 1, "the relayed connection closed")
        broughtOnRelay = relayed.received
        self.assertFetched()
        self.assertEqual(self.watch.written, len(self.data))
        self.assertEqual(relayed.received, broughtOnRelay)
        after = [(offset, length) for client, offset, length in self.watch.asked
                 if client is not relayed]
        self.assertNotEqual(after, [])
        self.assertTrue(all(client.transport not in self.relayedTransports
                            for client, _, _ in self.watch.asked if client is not relayed))
        # The piece under way on the relay, its rest only.
        self.assertTrue(any(offset % PIECE for offset, _ in after), after)
        self.assertEqual(sum(length for _, length in after) + broughtOnRelay,
                         len(self.data))
        [line] = self.watch.saying("moving the rest")
        self.assertIn(f"({broughtOnRelay} bytes came through its relay)", line)
        self.assertEqual(self.watch.saying("did not deliver"), [])
        download = self.fetcher.fetched["big"]
        self.assertEqual(download[1], {self.sellerId: 51})

    def test_relayedAgainStays(self):
        """The dial again comes through the relay too (its punch failed):
        closed at once; the download goes on, whole, on the first one."""
        self.punchFails = True
        relayed = self.relayedClient()
        self.directLinkUp()
        self.assertFetched()
        self.assertEqual(self.watch.written, len(self.data))
        self.assertEqual({client for client, _, _ in self.watch.asked}, {relayed})
        self.assertEqual(self.watch.saying("moving the rest"), [])

    def test_directFailsRightAfter(self):
        """The direct connection drops right after the move: its pieces go
        back to the seller, asked again at once on its next connection
        (relayed, say), nothing taken twice, and no second move."""
        relayed = self.relayedClient()
        self.directLinkUp()
        self.runUntil(lambda: relayed.closed, 1, "the relayed connection closed")
        direct = self.download().sellers.clients[self.sellerId]
        self.direct = False
        direct.transport.loseConnection()
        self.runUntil(lambda: direct.closed, 1, "the direct connection closed")
        self.assertFetched()
        self.assertEqual(self.watch.written, len(self.data))
        clients = list(dict.fromkeys(client for client, _, _ in self.watch.asked))
        self.assertEqual(clients[:2], [relayed, direct])
        self.assertEqual(len(clients), 3)
        self.assertIn(clients[2].transport, self.relayedTransports)
        self.assertEqual(len(self.watch.saying("moving the rest")),
                         1)
        self.assertEqual(self.watch.saying("did not deliver"), [])

    def test_relayedOnlyIsUnchanged(self):
        """No direct link ever: the whole file through the relay."""
        relayed = self.relayedClient()
        self.assertFetched()
        self.assertEqual(self.watch.written, len(self.data))
        self.assertEqual(relayed.received, len(self.data))
        self.assertEqual(self.watch.saying("moving the rest"), [])
