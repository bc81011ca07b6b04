"""
Tests for twisted_bazaar.roles.files.download: a whole, verified file that
cannot be put in place (its downloads folder made unwritable as it
finished) keeps its part file, so the next run puts it there without a
piece fetched, its seller online or gone.  In a L{Market} (the in-memory
network, a fake clock); the refusal is the test's (C{os.link} patched).
"""

import errno
import os

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import downloads
from tests.files.helpers import fileId
from tests.roles.files.helpers import TransferWatch, runUntil, songMarket

PIECE = 4096


class UnplacedTests(SynchronousTestCase):
    def setUp(self):
        songMarket(self, PIECE)
        self.watch = TransferWatch(self)

        self.refused = True
        link = os.link

        def refused(source, target, **kwargs):
            if self.refused:
                raise PermissionError(errno.EACCES, "Permission denied")
            return link(source, target, **kwargs)

        self.patch(downloads.os, "link", refused)

    def test_theWholeFileIsKept(self):
        """The link into the folder is refused: the download fails saying
        which folder and that the file is kept, and its part file is
        there whole (before, it was removed: 'cannot put song.ogg in
        place: Permission denied', every verified byte gone)."""
        runUntil(self.market, lambda: "song.ogg" in self.fetcher.failed, 10)
        why = str(self.fetcher.failed["song.ogg"])
        self.assertIn(f"cannot put song.ogg in place: the downloads folder "
                      f"{self.downloads} cannot be written (Permission denied); the "
                      "whole file is kept in .bazaar-downloads", why)
        private = os.path.join(self.downloads, downloads.PRIVATE)
        [part] = [name for name in os.listdir(private) if name.endswith(".part")]
        with open(os.path.join(private, part), "rb") as f:
            self.assertEqual(fileId(f.read(), PIECE), fileId(self.data, PIECE))
        self.assertFalse(os.path.exists(os.path.join(self.downloads, "song.ogg")))

    def test_theNextRunPutsItInPlace(self):
        """Once the folder takes it, the next buyer on that folder (the
        same command run again: no bag, its offers record says what was
        paid for) puts the kept file in place with no piece fetched."""
        runUntil(self.market, lambda: "song.ogg" in self.fetcher.failed, 10)
        self.refused, asked = False, len(self.watch.asked)
        again = self.market.addNode(discovery="flood", buyer={
            "wants": ["song.ogg"], "downloads": self.downloads})
        fetcher = self.market.role(again, "buyer").fetcher
        self.assertTrue(runUntil(self.market, lambda: "song.ogg" in fetcher.fetched, 10))
        with open(os.path.join(self.downloads, "song.ogg"), "rb") as f:
            self.assertEqual(fileId(f.read(), PIECE), fileId(self.data, PIECE))
        self.assertEqual(len(self.watch.asked), asked)
        self.assertTrue(self.watch.saying("every piece on disk already"))
