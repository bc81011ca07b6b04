"""
Tests for twisted_bazaar.roles.files.download: a download that completes
while another seller has not yet described the file.  Its connection is
closed by this node (the file is whole), which is no failure of that
seller's: nothing is said of it, and it is not counted as failed.  In a
L{Market} (the in-memory network, a fake clock); which seller hears
nothing is the test's word (L{TransferClient.dataReceived} patched).
"""

import os
import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import hashing
from twisted_bazaar.files.client import TransferClient
from twisted_bazaar.testing import Market, MemoryNetwork
from tests.files.helpers import fileId, scratchDir, writeFile
from tests.roles.files.helpers import TransferWatch

PIECE = 4096


class CompletedWhileDescribingTests(SynchronousTestCase):
    def setUp(self):
        self.patch(hashing, "MIN_PIECE", PIECE)
        self.data = random.Random(5).randbytes(8 * PIECE)
        self.market = Market(MemoryNetwork(rng=random.Random(1),
                                           latency=(0.01, 0.01)), seed=2)
        self.sellers = []
        for _ in range(2):
            folder = scratchDir(self)
            writeFile(folder, "song.ogg", self.data)
            self.sellers.append(self.market.addNode(discovery="flood", seller={
                "stock": {}, "share": folder}))
        self.downloads = scratchDir(self)
        buyer = self.market.addNode(discovery="flood", buyer={
            "wants": ["song.ogg"], "downloads": self.downloads})
        self.fetcher = self.market.role(buyer, "buyer").fetcher
        #: The buyer's first transfer connection hears nothing.
        self.clients = []
        made, received = TransferClient.connectionMade, TransferClient.dataReceived

        def connectionMade(client):
            self.clients.append(client)
            return made(client)

        def dataReceived(client, data):
            if client is not self.clients[0]:
                return received(client, data)

        self.patch(TransferClient, "connectionMade", connectionMade)
        self.patch(TransferClient, "dataReceived", dataReceived)
        self.watch = TransferWatch(self)

    def test_theSilentSellerIsNotBlamed(self):
        """The first seller's connection hears nothing; the other's
        describes the file and it comes whole before the first stalls:
        the first's connection is closed with the download, and no line
        says it 'could not describe' the file (it said 'the seller hung
        up: Connection was aborted locally', this node's own close)."""
        for _ in range(100):
            if "song.ogg" in self.fetcher.fetched:
                break
            self.market.run(0.05)
        self.assertIn("song.ogg", self.fetcher.fetched)
        with open(os.path.join(self.downloads, "song.ogg"), "rb") as f:
            self.assertEqual(fileId(f.read(), PIECE), fileId(self.data, PIECE))
        self.assertEqual(len(self.clients), 2)
        self.assertTrue(self.clients[0].closed)
        self.assertEqual(self.watch.saying("could not describe"), [])
