"""
A seller's connection that closes under a piece after bringing bytes (a
relay's circuit that carried all it may, 16 MiB at a public node's) is
handed over: the seller is asked again at once, on a new connection, for
the rest of the piece only, so no byte is fetched twice and nothing
waits for a search.  One that closes before bringing HANDOVER_BYTES is a
failure, as before.  In a L{Market} (the in-memory network, a fake
clock).
"""

import os
import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import hashing
from twisted_bazaar.files.client import TransferClient
from twisted_bazaar.roles.files import pieces
from twisted_bazaar.testing import Market, MemoryNetwork
from tests.files.helpers import fileId, scratchDir, writeFile
from tests.roles.files.helpers import TransferWatch

PIECE = 4096


class HandoverTests(SynchronousTestCase):
    def setUp(self):
        self.patch(hashing, "MIN_PIECE", PIECE)
        self.patch(pieces, "HANDOVER_BYTES", 8 * PIECE)
        self.data = random.Random(5).randbytes(50 * PIECE + 100)
        self.market = Market(MemoryNetwork(rng=random.Random(1),
                                           latency=(0.01, 0.01)), seed=2)
        folder = scratchDir(self)
        writeFile(folder, "big", self.data)
        self.seller = self.market.addNode(discovery="flood",
                                          seller={"stock": {}, "share": folder})
        self.downloads = scratchDir(self)
        buyer = self.market.addNode(discovery="flood", buyer={
            "wants": ["big"], "downloads": self.downloads})
        self.fetcher = self.market.role(buyer, "buyer").fetcher
        self.watch = TransferWatch(self)

    def hangUpAfter(self, sent):
        """Run until the buyer's transfer connection has brought ``sent``
        bytes, and close it there, as a relay closes a circuit that
        carried all it may (what comes after is never read): the time."""
        dataReceived = TransferClient.dataReceived
        cut = {"left": sent, "at": None, "clients": set()}

        def cutShort(client, data):
            if client in cut["clients"]:
                return
            if cut["at"] is None and len(data) >= cut["left"]:
                cut["at"] = self.market.clock.seconds()
                cut["clients"].add(client)
                dataReceived(client, data[:cut["left"]])
                client.transport.loseConnection()
                return
            if cut["at"] is None:
                cut["left"] -= len(data)
            dataReceived(client, data)

        self.patch(TransferClient, "dataReceived", cutShort)
        for _ in range(10000):
            self.market.run(0.001)
            if cut["at"] is not None:
                return cut["at"]
        self.fail(f"the seller never sent {sent} bytes")

    def runUntilFetched(self, seconds):
        """Run until big is in place: when."""
        for _ in range(int(seconds / 0.01)):
            if "big" in self.fetcher.fetched:
                return self.market.clock.seconds()
            self.market.run(0.01)
        self.fail(f"big not fetched within {seconds:g} s: {self.fetcher.unfinished()}")

    def assertFetched(self):
        with open(os.path.join(self.downloads, "big"), "rb") as f:
            self.assertEqual(fileId(f.read(), PIECE), fileId(self.data, PIECE))

    def test_handedOverWithoutAStallOrAByteTwice(self):
        """Closed in the middle of a piece after 10.5 pieces: the file comes
        whole, every byte fetched once (the piece cut short asked again from
        where it stopped), within a fraction of a second, and the seller is
        not taken for a failed one."""
        closed = self.hangUpAfter(10 * PIECE + PIECE // 2)
        done = self.runUntilFetched(30)
        self.assertFetched()
        self.assertEqual(self.watch.written, len(self.data))
        self.assertTrue(any(offset % PIECE for _, offset, _ in self.watch.asked),
                        self.watch.asked)
        self.assertLess(done - closed, 0.5)
        self.assertEqual(self.watch.saying("did not deliver"), [])
        [line] = self.watch.saying("asking it again at once")
        # Not blamed on a relay: the seller may be reached directly (it
        # was blamed on "a relay's circuit" when a seller killed on a
        # direct link closed it).
        self.assertIn("(it stopped, or a relay's circuit carrying it ran out)", line)

    def test_aSellerThatBringsTooLittleFails(self):
        """Closed before HANDOVER_BYTES came: the seller did not deliver,
        as any connection that fails, and its piece is asked again from
        its start."""
        self.hangUpAfter(PIECE + PIECE // 2)
        self.runUntilFetched(60)
        self.assertFetched()
        self.assertGreater(self.watch.written, len(self.data))
        self.assertNotEqual(self.watch.saying("did not deliver"), [])
        self.assertEqual(self.watch.saying("asking it again at once"), [])

