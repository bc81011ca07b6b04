"""
Tests for twisted_bazaar.roles.files.download: two buyers given one
downloads folder, buying the same file.  Before, both wrote the one part
file at once, and the second to finish failed, `cannot put song.ogg in
place: No such file or directory` (exit 3 with --exit-when-done), the
first having put the file in place (a new user's two buyers, issue 96's
round 7).  Now the second waits for the first: one fetch, both wants met.
In a L{Market} (the in-memory network, a fake clock).
"""

import os
import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import hashing
from twisted_bazaar.files.downloads import PRIVATE
from twisted_bazaar.roles.files import download as downloadmodule
from twisted_bazaar.testing import Market, MemoryNetwork
from tests.files.helpers import fileId, scratchDir, writeFile
from tests.roles.files.helpers import TransferWatch, runUntil

PIECE = 4096


class SharedFolderTests(SynchronousTestCase):
    def setUp(self):
        self.patch(hashing, "MIN_PIECE", PIECE)
        self.data = random.Random(5).randbytes(16 * PIECE)
        self.market = Market(MemoryNetwork(rng=random.Random(1),
                                           latency=(0.01, 0.01)), seed=2)
        folder = scratchDir(self)
        writeFile(folder, "song.ogg", self.data)
        # A piece a second: the first buyer fetches for longer than a stall.
        self.market.addNode(discovery="flood", seller={"stock": {}, "share": folder,
                                                       "transfer_rate": PIECE})
        self.downloads = scratchDir(self)
        self.watch = TransferWatch(self)

    def buyer(self):
        node = self.market.addNode(discovery="flood", buyer={
            "wants": ["song.ogg"], "downloads": self.downloads})
        return self.market.role(node, "buyer")

    def test_secondWaitsForTheFirst(self):
        """Both wants are met with the one file in place, fetched once:
        the second buyer says it waits, then that the other fetched it."""
        buyers = [self.buyer(), self.buyer()]

        def met():
            return all(buyer.fetcher.settled() and not buyer.fetcher.failed
                       and ("song.ogg" in buyer.fetcher.fetched
                            or "song.ogg" in buyer.fetcher.present)
                       for buyer in buyers)

        runUntil(self.market, met, 60)
        fetchers = [buyer.fetcher for buyer in buyers]
        self.assertEqual([fetcher.failed for fetcher in fetchers], [{}, {}])
        self.assertEqual(self.watch.saying("cannot download"), [])
        path = os.path.join(self.downloads, "song.ogg")
        [fetched] = [f for f in fetchers if "song.ogg" in f.fetched]
        [waited] = [f for f in fetchers if "song.ogg" in f.present]
        self.assertEqual(fetched.fetched["song.ogg"][0], path)
        self.assertEqual(waited.present["song.ogg"], path)
        with open(path, "rb") as f:
            self.assertEqual(fileId(f.read(), PIECE), fileId(self.data, PIECE))
        self.assertEqual(self.watch.written, len(self.data))
        self.assertEqual(sorted(os.listdir(self.downloads)), [PRIVATE, "song.ogg"])
        self.assertEqual(os.listdir(os.path.join(self.downloads, PRIVATE)), [])
        [waiting] = self.watch.saying("waiting for it")
        self.assertIn("song.ogg: another buyer is fetching song.ogg into", waiting)
        [line] = self.watch.saying("another buyer fetched it into this folder")
        self.assertIn(f"song.ogg is in place already ({path}, content id", line)

    def takeOver(self):
        """Two buyers; the one fetching stops 12 pieces in, and the other
        takes its part file over: (the other's fetcher, the bytes the
        first had)."""
        buyers = [self.buyer(), self.buyer()]
        runUntil(self.market, lambda: self.watch.saying("waiting for it"), 30)
        [holder] = [buyer for buyer in buyers
                    if buyer.fetcher.downloads["song.ogg"].inPlaceBy is None]
        [waiter] = [buyer for buyer in buyers if buyer is not holder]
        held = holder.fetcher.downloads["song.ogg"]
        runUntil(self.market, lambda: held.have >= 12 * PIECE, 60)
        have = held.have
        self.assertLess(0, have)
        self.assertLess(have, len(self.data))
        held.stop()
        runUntil(self.market, lambda: "song.ogg" in waiter.fetcher.fetched, 60)
        return waiter.fetcher, have

    def test_aLargePartFileCheckedIsSaid(self):
        """A resumed download reads its part file back against the piece
        hashes before it fetches: 30 s for 5 GB, said by no line.  From
        SAY_HASHING bytes (1 GiB; here 12 pieces) it is said, with how
        many bytes."""
        self.patch(downloadmodule, "SAY_HASHING", 12 * PIECE)
        self.takeOver()
        # The first buyer reserved twice its verified bytes: the part file
        # holds them, read back whole.
        [line] = self.watch.saying("its part file holds")
        self.assertEqual(line, f"song.ogg: checking the {len(self.data)} bytes its part "
                         "file holds against the file's piece hashes: fetching resumes once "
                         "they are read")

    def test_takesOverWhenTheFirstStops(self):
        """The buyer fetching stops mid-file, 12 s on: the one waiting
        takes the part file, resumes its verified pieces, and finishes."""
        fetcher, have = self.takeOver()
        path, served = fetcher.fetched["song.ogg"]
        with open(path, "rb") as f:
            self.assertEqual(fileId(f.read(), PIECE), fileId(self.data, PIECE))
        self.assertEqual(sum(served.values()), 16 - have // PIECE)
        self.assertEqual(len(self.watch.saying("resuming the download of song.ogg")), 1)
        # Its patience and stall count from when it took the part file,
        # not from its wait's start: it said no stall as it resumed.
        self.assertEqual(self.watch.saying("stalled"), [])
