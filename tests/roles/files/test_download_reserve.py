"""
Disk reserved in step with verified bytes (the sixteenth round of
docs/reliability.md): a stranger's made-up file of a size of its choosing,
whose first piece it serves, and nothing after it, had the buyer reserve
the whole size once that piece checked out, so one piece held the disk
that size.  In a L{Market} (the in-memory network, a fake clock).
"""

import errno
import os
import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import hashing, server
from twisted_bazaar.files.downloads import PRIVATE, partName
from twisted_bazaar.files.messages import Get
from twisted_bazaar.testing import Market, MemoryNetwork
from tests.files.helpers import fileId, scratchDir, writeFile
from tests.roles.files.helpers import TransferWatch, runUntil

PIECE = 4096
PIECES = 1024


class ReserveInStepTests(SynchronousTestCase):
    def setUp(self):
        self.patch(hashing, "MIN_PIECE", PIECE)
        self.data = random.Random(3).randbytes(PIECES * PIECE)
        self.market = Market(MemoryNetwork(rng=random.Random(1),
                                           latency=(0.005, 0.005)), seed=2)
        folder = scratchDir(self)
        writeFile(folder, "song.ogg", self.data)
        self.market.addNode(seller={"stock": {}, "share": folder})
        self.market.run(2)
        self.downloads = scratchDir(self)
        self.part = os.path.join(self.downloads, PRIVATE,
                                 partName("song.ogg", fileId(self.data, PIECE)))

    def buy(self):
        node = self.market.addNode(buyer={"wants": ["song.ogg"],
                                          "downloads": self.downloads})
        return self.market.role(node, "buyer").fetcher

    def test_onePieceReservesLittle(self):
        """The seller serves the first piece alone (every later range asked
        is left unanswered): the part file holds twice that piece, not
        the file's PIECES (the whole file before)."""
        send, slot = server._ANSWERS[Get]

        def firstOnly(transfer, request, path, digest):
            if request.offset == 0:
                send(transfer, request, path, digest)

        self.patch(server, "_ANSWERS", {**server._ANSWERS, Get: (firstOnly, slot)})
        fetcher = self.buy()
        self.assertTrue(runUntil(self.market, lambda: "song.ogg" in fetcher.downloads
                                 and fetcher.downloads["song.ogg"].watch.have, 10))
        self.assertEqual(fetcher.downloads["song.ogg"].watch.have, PIECE)
        allocated = os.stat(self.part).st_blocks * 512
        self.assertLessEqual(allocated, 2 * PIECE)

    def test_theWholeFileComes(self):
        """An honest seller's file comes whole, the room growing with it."""
        fetcher = self.buy()
        self.assertTrue(runUntil(self.market, lambda: os.path.exists(
            os.path.join(self.downloads, "song.ogg")), 60))
        with open(os.path.join(self.downloads, "song.ogg"), "rb") as f:
            self.assertEqual(f.read(), self.data)
        self.assertEqual(fetcher.downloads, {})

    def test_aFullDiskIsFoundBeforeItFills(self):
        """A disk with room for a third of the file: the download fails for
        want of room once its reservation passes that, having written
        less than the room there is, and leaves no part file."""
        room = PIECES * PIECE // 3
        fallocate = os.posix_fallocate

        def roomOnly(fd, offset, length):
            if offset + length > room:
                raise OSError(errno.ENOSPC, "No space left on device")
            fallocate(fd, offset, length)

        self.patch(os, "posix_fallocate", roomOnly)
        watch = TransferWatch(self)
        fetcher = self.buy()
        self.assertTrue(runUntil(self.market, lambda: watch.saying("no space left"), 60))
        self.assertLess(watch.written, room)
        self.assertFalse(os.path.exists(os.path.join(self.downloads, "song.ogg")))
        self.assertFalse(fetcher.downloads)
