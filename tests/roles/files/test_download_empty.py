"""
Tests for twisted_bazaar.roles.files.download: a file of no bytes, bought
and fetched.  Its one piece is empty, so no byte ever comes to decide it:
before, the buyer logged `stalled, no piece for 10 s` and gave up after
--download-give-up with `no seller offered it` (a new user's `bazaar buy
empty.dat`, issue 96's round 7).  In a L{Market} (the in-memory network,
a fake clock).
"""

import os
import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.testing import Market, MemoryNetwork
from tests.files.helpers import scratchDir, writeFile
from tests.roles.files.helpers import TransferWatch


class EmptyFileTests(SynchronousTestCase):
    def setUp(self):
        self.market = Market(MemoryNetwork(rng=random.Random(1),
                                           latency=(0.01, 0.01)), seed=2)
        folder = scratchDir(self)
        writeFile(folder, "empty.dat", b"")
        self.market.addNode(discovery="flood", seller={"stock": {}, "share": folder})
        self.downloads = scratchDir(self)
        self.watch = TransferWatch(self)

    def buyer(self):
        node = self.market.addNode(discovery="flood", buyer={
            "wants": ["empty.dat"], "downloads": self.downloads})
        return self.market.role(node, "buyer").fetcher

    def runUntil(self, condition, seconds):
        for _ in range(int(seconds / 0.05)):
            if condition():
                return
            self.market.run(0.05)

    def test_fetchedAtOnce(self):
        """The empty file is in place within a second of the purchase,
        with the usual line, and no stall is said."""
        fetcher = self.buyer()
        self.runUntil(lambda: "empty.dat" in fetcher.fetched, 30)
        path = os.path.join(self.downloads, "empty.dat")
        self.assertEqual(fetcher.fetched["empty.dat"][0], path)
        self.assertEqual(os.path.getsize(path), 0)
        [line] = self.watch.saying("downloaded empty.dat")
        self.assertIn("content id verified (1 piece from", line)
        self.assertEqual(self.watch.saying("stalled"), [])
        self.assertEqual(os.listdir(os.path.join(self.downloads, ".bazaar-downloads")),
                         [])
