"""
Tests for twisted_bazaar.roles.files.fetch: a seller edits the shared
file a buyer is fetching.  The download of the old content gives up
(no seller of it left), the buyer buys the new content under the name,
and once that is in place the old content's part file, with its
verified pieces, goes: kept, it stayed for good, since a restart fetches
only a name's latest purchase (a new user's 200 MB file edited
mid-fetch left 87 MB behind, issue 96's round 7).  In a L{Market} (the
in-memory network, a fake clock).
"""

import os
import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import hashing
from twisted_bazaar.files.downloads import PRIVATE, partName
from twisted_bazaar.testing import Market, MemoryNetwork
from tests.files.helpers import fileId, scratchDir, writeFile
from tests.roles.files.helpers import TransferWatch, runUntil

PIECE = 4096
GIVE_UP = 20.0


class AbandonedContentTests(SynchronousTestCase):
    def setUp(self):
        self.patch(hashing, "MIN_PIECE", PIECE)
        self.old = random.Random(7).randbytes(16 * PIECE)
        self.new = random.Random(8).randbytes(16 * PIECE)
        self.market = Market(MemoryNetwork(rng=random.Random(1),
                                           latency=(0.005, 0.005)), seed=2)
        self.folder = scratchDir(self)
        writeFile(self.folder, "song.ogg", self.old)
        self.market.addNode(seller={"stock": {}, "share": self.folder,
                                    "transfer_rate": 2 * PIECE})
        self.downloads = scratchDir(self)
        self.watch = TransferWatch(self)

    def fetching(self):
        """A buyer of song.ogg, 4 pieces into its download: its fetcher."""
        node = self.market.addNode(buyer={"wants": ["song.ogg"],
                                          "downloads": self.downloads,
                                          "download_give_up": GIVE_UP})
        fetcher = self.market.role(node, "buyer").fetcher
        runUntil(self.market, lambda: fetcher.downloads and fetcher.downloads[
            "song.ogg"].have >= 4 * PIECE, 30)
        return fetcher

    def test_oldPartFileGoesOnceTheNewIsInPlace(self):
        fetcher = self.fetching()
        old = os.path.join(self.downloads, PRIVATE,
                           partName("song.ogg", fileId(self.old, PIECE)))
        self.assertTrue(os.path.exists(old))
        writeFile(self.folder, "song.ogg", self.new)
        runUntil(self.market, lambda: "song.ogg" in fetcher.fetched, GIVE_UP + 60)
        with open(os.path.join(self.downloads, "song.ogg"), "rb") as f:
            self.assertEqual(fileId(f.read(), PIECE), fileId(self.new, PIECE))
        self.assertNotEqual(self.watch.saying("buying it from the sellers of other "
                                              "content"), [])
        self.assertEqual(os.listdir(os.path.join(self.downloads, PRIVATE)), [])
        [line] = self.watch.saying("removed the part file")
        self.assertEqual(line, f"song.ogg: removed the part file of content id "
                               f"{fileId(self.old, PIECE)}, given up on for the content "
                               "in place")

    def test_nofileFromTheOnlySellerEndsItAtOnce(self):
        """The only seller of the content being fetched rewrote its file
        and answers ``nofile``: the download waited out
        --download-give-up (20 s here) for a seller that said it has
        nothing.  It ends at once, saying why, and the want buys the new
        content."""
        fetcher = self.fetching()
        # Replaced, as an editor saves: pieces read from the old file
        # stay its own, and the seller answers nofile once it sees.
        writeFile(self.folder, "song.new", self.new)
        os.replace(os.path.join(self.folder, "song.new"),
                   os.path.join(self.folder, "song.ogg"))
        rewritten = self.market.clock.seconds()
        runUntil(self.market, lambda: self.watch.saying("buying it from the sellers"),
                 GIVE_UP + 60)
        self.assertLess(self.market.clock.seconds() - rewritten, GIVE_UP / 4)
        [line] = self.watch.saying("buying it from the sellers")
        self.assertIn("no longer shares it (nofile), and no other seller of it is "
                      "known; buying it from the sellers of other content", line)
        runUntil(self.market, lambda: "song.ogg" in fetcher.fetched, GIVE_UP + 60)
