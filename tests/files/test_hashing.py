"""Tests for L{twisted_bazaar.files.hashing}."""

import hashlib
import os
import threading

from twisted.internet import task
from twisted.internet.interfaces import IReactorThreads
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import directlyProvides

from twisted_bazaar.files import hashing
from twisted_bazaar.files.hashing import (
    MIN_PIECE,
    Hasher,
    digestFile,
    hashRange,
    pieceCount,
    pieceSize,
)
from tests.files.helpers import fileId, scratchDir, touch, writeFile
from tests.helpers import failIfHung


class PieceTests(SynchronousTestCase):
    def test_pieceSizeKeepsPiecesFew(self):
        self.assertEqual(pieceSize(0), MIN_PIECE)
        self.assertEqual(pieceSize(MIN_PIECE * hashing.MAX_PIECES), MIN_PIECE)
        self.assertEqual(pieceSize(MIN_PIECE * hashing.MAX_PIECES + 1), 2 * MIN_PIECE)

    def test_pieceCount(self):
        self.assertEqual(pieceCount(0, 10), 1)
        self.assertEqual(pieceCount(10, 10), 1)
        self.assertEqual(pieceCount(11, 10), 2)


class DigestTests(SynchronousTestCase):
    def setUp(self):
        self.folder = scratchDir(self)
        self.patch(hashing, "MIN_PIECE", 16)

    def test_identityAndPieces(self):
        data = bytes(range(40))
        digest = digestFile(writeFile(self.folder, "f", data))
        self.assertEqual(digest.size, 40)
        self.assertEqual(digest.sha256, fileId(data, 16))
        self.assertEqual(digest.piece_size, 16)
        self.assertEqual(digest.pieces, tuple(hashlib.sha256(data[i:i + 16]).digest()
                                              for i in (0, 16, 32)))
        self.assertEqual(digest.pieceRange(2), (32, 8))

    def test_onePassOverTheFile(self):
        """The seller reads each byte once, and hashes it once (for its
        piece): the identity is computed from the piece hashes alone."""
        data = bytes(range(40))
        path = writeFile(self.folder, "f", data)
        hashed = []
        real = hashlib.sha256

        class Counting:
            def __init__(self, data=b""):
                self.inner = real(data)
                hashed.append(len(data))

            def update(self, data):
                self.inner.update(data)
                hashed.append(len(data))

            def __getattr__(self, name):
                return getattr(self.inner, name)

        self.patch(hashlib, "sha256", Counting)
        read = []
        realRead = os.read
        self.patch(os, "read", lambda fd, n: read.append(realRead(fd, n)) or read[-1])
        digest = digestFile(path)
        self.assertEqual(b"".join(read), data)
        # Every byte of the file once, then 64-byte hashes of hashes and
        # the 60-byte identity.
        self.assertEqual(sum(n for n in hashed if n not in (64, 60)), len(data))
        self.assertEqual(digest.sha256, fileId(data, 16))

    def test_emptyFileHasOnePiece(self):
        digest = digestFile(writeFile(self.folder, "f", b""))
        self.assertEqual(digest.pieces, (hashlib.sha256(b"").digest(),))
        self.assertEqual(digest.sha256, fileId(b"", 16))

    def test_notARegularFile(self):
        self.assertRaises(hashing.FileChanged, digestFile, self.folder)

    def test_aFifoIsNoRegularFile(self):
        """A FIFO no program writes to (put in place of a shared file) is
        refused at once: the hasher's thread waited in open() for ever."""
        path = os.path.join(self.folder, "fifo")
        os.mkfifo(path)
        failIfHung(self, "digestFile on a FIFO")
        self.assertRaises(hashing.FileChanged, digestFile, path)

    def test_symlinkRefused(self):
        target = writeFile(self.folder, "f", b"x")
        link = os.path.join(self.folder, "l")
        os.symlink(target, link)
        self.assertRaises(OSError, digestFile, link)

    def test_stoppingEndsTheRead(self):
        """A hasher that stops ends a file's read at its next chunk: its
        pool's stop waits for the thread, and a seller stopped while it
        hashed a file of 5 GB took 11 s to exit, not the 2 s promised."""
        self.patch(hashing, "READ_SIZE", 4)
        path = writeFile(self.folder, "f", bytes(40))
        stopping = threading.Event()
        reads, stopped = [], []
        realRead = os.read

        def read(fd, n):
            reads.append(n)
            if len(reads) == 2 and not stopped:
                stopped.append(stopping.set())
            return realRead(fd, n)

        self.patch(os, "read", read)
        error = self.assertRaises(hashing.HashingStopped, digestFile, path, stopping)
        self.assertEqual(len(reads), 2)
        self.assertIn("stopped after 8 of 40 bytes", str(error))
        del reads[:]
        stopping.clear()
        self.assertEqual(digestFile(path, stopping).sha256, fileId(bytes(40), 16))
        self.assertEqual(len(reads), 11)

    def test_hashRange(self):
        path = writeFile(self.folder, "f", b"abcdef")
        self.assertEqual(hashRange(path, 2, 3), hashlib.sha256(b"cde").digest())
        self.assertEqual(hashRange(path, 4, 10), hashlib.sha256(b"ef").digest())


class HasherTests(SynchronousTestCase):
    def test_inlineOnAPlainClock(self):
        hasher = Hasher(task.Clock())
        self.assertIsNone(hasher.pool)
        self.assertEqual(self.successResultOf(hasher.run(lambda a: a + 1, 1)), 2)

    def test_threadPoolOnAReactor(self):
        reactor = task.Clock()
        directlyProvides(reactor, IReactorThreads)
        hasher = Hasher(reactor)
        self.assertIsNotNone(hasher.pool)
        self.failureResultOf(hasher.run(len, b""), RuntimeError)
        hasher.startService()
        self.assertTrue(hasher.pool.started)
        self.assertFalse(hasher.stopping.is_set())
        hasher.stopService()
        self.assertFalse(hasher.pool.started)
        self.assertTrue(hasher.stopping.is_set())


class ContentIdsTests(SynchronousTestCase):
    """What a buyer read of a file is read again only once it changed, and
    only the newest files are remembered."""

    def setUp(self):
        self.folder = scratchDir(self)
        self.reads = []

        def counting(path):
            self.reads.append(os.path.basename(path))
            return hashing.digestFile(path)

        self.ids = hashing.ContentIds(digest=counting, most=2)

    def test_readOnceUntilChanged(self):
        path = writeFile(self.folder, "a", b"one")
        first = self.ids.of(path)
        self.assertEqual(self.ids.of(path), first)
        self.assertEqual(self.reads, ["a"])
        writeFile(self.folder, "a", b"two")
        touch(path, os.stat(path).st_mtime_ns + 10**9)  # a write a tick later
        self.assertNotEqual(self.ids.of(path), first)
        self.assertEqual(self.reads, ["a", "a"])

    def test_theOldestGoes(self):
        paths = [writeFile(self.folder, name, name.encode()) for name in "abc"]
        for path in paths:
            self.ids.of(path)
        self.ids.of(paths[2])
        self.ids.of(paths[0])
        self.assertEqual(self.reads, ["a", "b", "c", "a"])
