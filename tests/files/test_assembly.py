"""Tests for L{twisted_bazaar.files.assembly}: L{PieceSink} and L{Assembly}."""

import errno
import hashlib
import os

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import assembly
from twisted_bazaar.files.assembly import Assembly, joinedRanges
from twisted_bazaar.files.downloads import DownloadError, PartFile
from tests.files.helpers import Jobs, fileId, scratchDir

PIECE = 10
DATA = bytes(range(45))
SHA = fileId(DATA, PIECE)
PIECES = tuple(hashlib.sha256(DATA[i:i + PIECE]).digest()
               for i in range(0, len(DATA), PIECE))


class Producer:
    """A transfer, as the sinks see it: paused and resumed."""

    def __init__(self):
        self.paused = False
        self.calls = []

    def pauseProducing(self):
        self.paused = True
        self.calls.append("pause")

    def resumeProducing(self):
        self.paused = False
        self.calls.append("resume")


class AssemblyTests(SynchronousTestCase):
    def setUp(self):
        self.part = PartFile(scratchDir(self), "f", SHA, len(DATA))
        self.part.open()
        self.addCleanup(self.part.close)
        self.jobs = Jobs()
        self.assembly = Assembly(self.part, PIECE, PIECES, self.jobs.run)

    def feed(self, piece, data=None, step=PIECE, producer=None):
        """Give a sink for piece all its bytes, ``step`` at a time."""
        offset = piece * PIECE
        data = data or DATA[offset:offset + PIECE]
        sink = self.assembly.sink(piece, producer)
        for start in range(0, len(data), step):
            sink.write(memoryview(data)[start:start + step])
        return sink

    def verdict(self, piece, data=None):
        """Feed the piece and hash it: does it match?"""
        sink = self.feed(piece, data)
        self.jobs.runFirst("hashBatch")
        return self.successResultOf(sink.checked())

    def onDisk(self):
        with open(self.part.path, "rb") as f:
            return f.read()

    def test_pieceChecksAgainstItsHash(self):
        self.assertTrue(self.verdict(0))
        self.assertFalse(self.verdict(1, b"x" * PIECE))
        self.assertEqual(self.assembly.verified, {0})

    def test_bytesWrittenAsTheyCome(self):
        """Each buffer is on disk as soon as it is given, before any hash."""
        self.feed(1, step=3)
        self.assertEqual(self.onDisk()[PIECE:2 * PIECE], DATA[PIECE:2 * PIECE])

    def test_hashedInBatchesOneAtATime(self):
        """A piece is hashed a batch at a time, in order, one job after
        another; its verdict waits for the last."""
        self.patch(assembly, "BATCH", 4)
        sink = self.feed(0, step=2)
        self.assertEqual(self.jobs.names(), ["hashBatch"])
        checked = sink.checked()
        self.jobs.runFirst("hashBatch")
        self.assertEqual(self.jobs.names(), ["hashBatch"])
        self.jobs.runFirst("hashBatch")
        self.assertNoResult(checked)
        self.jobs.runFirst("hashBatch")
        self.assertTrue(self.successResultOf(checked))
        self.assertEqual(self.assembly.backlog, 0)

    def test_verdictKnownBeforeItIsAsked(self):
        sink = self.feed(0)
        self.jobs.runAll()
        self.assertTrue(self.successResultOf(sink.checked()))

    def test_pieceOfNoBytes(self):
        """The one piece of an empty file gets no write: its verdict (the
        hash of nothing) is known as soon as it is asked.  Before, it was
        never known, and an empty file bought stalled until its download
        gave up."""
        part = PartFile(scratchDir(self), "empty", fileId(b"", PIECE), 0)
        part.open()
        self.addCleanup(part.close)
        empty = Assembly(part, PIECE, (hashlib.sha256(b"").digest(),), self.jobs.run)
        self.assertEqual(empty.pieceRange(0), (0, 0))
        self.assertTrue(self.successResultOf(empty.sink(0).checked()))
        self.assertEqual(empty.verified, {0})
        wrong = Assembly(part, PIECE, (bytes(32),), self.jobs.run)
        self.assertFalse(self.successResultOf(wrong.sink(0).checked()))

    def test_diskErrorFromAWrite(self):
        """A write the disk refuses raises, for the transfer to fail."""
        def full(fd, data, offset):
            raise OSError(errno.ENOSPC, "No space left on device")

        self.patch(os, "pwrite", full)
        sink = self.assembly.sink(0)
        error = self.assertRaises(DownloadError, sink.write, DATA[:PIECE])
        self.assertIn("no space left in the downloads folder", str(error))

    def test_writebackEveryFewVerifiedBytes(self):
        self.patch(assembly, "WRITEBACK", 2 * PIECE)
        self.patch(assembly, "LAST_WRITEBACK", 2 * PIECE)
        self.verdict(0)
        self.assertNotIn("writeback", self.jobs.names())
        self.verdict(1)
        self.assertEqual(self.jobs.names().count("writeback"), 1)
        self.verdict(2)
        self.verdict(3)
        # One at a time: the next waits for the one under way.
        self.assertEqual(self.jobs.names().count("writeback"), 1)
        self.jobs.runFirst("writeback")
        self.verdict(4)
        self.assertEqual(self.jobs.names().count("writeback"), 1)

    def test_writebackMoreOftenNearTheEnd(self):
        """Once fewer than WRITEBACK bytes are left to verify, a writeback
        starts every LAST_WRITEBACK bytes, so that the last fsync has
        little to write."""
        self.patch(assembly, "WRITEBACK", 3 * PIECE)
        self.patch(assembly, "LAST_WRITEBACK", PIECE)
        self.verdict(0)
        self.assertEqual(self.assembly.missing, len(DATA) - PIECE)
        self.assertNotIn("writeback", self.jobs.names())
        self.verdict(1)
        self.assertEqual(self.jobs.names().count("writeback"), 1)
        self.jobs.runFirst("writeback")
        self.verdict(2)
        self.assertEqual(self.jobs.names().count("writeback"), 1)

    def test_missingCountsThePiecesOnDisk(self):
        """At a resume, the pieces found on disk are not missing."""
        resumed = Assembly(self.part, PIECE, PIECES, self.jobs.run, have={0, 4})
        self.assertEqual(resumed.missing, len(DATA) - PIECE - 5)

    def test_writebackDropsTheVerifiedPieces(self):
        """Each writeback is given the pieces verified since the last one
        (joined where they touch), to drop from the page cache once
        synced; none of them twice, and no piece not verified."""
        self.patch(assembly, "WRITEBACK", PIECE + 5)
        self.patch(assembly, "LAST_WRITEBACK", PIECE + 5)
        self.verdict(1)
        self.verdict(0)
        self.assertFalse(self.verdict(2, b"x" * PIECE))
        self.verdict(3)
        self.assertEqual([args for _, function, args in self.jobs.waiting
                          if function.__name__ == "writeback"],
                         [([(0, 2 * PIECE)],)])
        self.jobs.runFirst("writeback")
        self.verdict(4)
        self.assertEqual([args for _, function, args in self.jobs.waiting
                          if function.__name__ == "writeback"],
                         [([(3 * PIECE, PIECE + 5)],)])

    def test_backlogPausesTheTransfers(self):
        """Past L{BACKLOG} bytes waiting for the workers, every transfer
        feeding a sink stops reading, a new one too; all go on once half
        of the backlog is hashed, even one whose piece is done."""
        self.patch(assembly, "BATCH", 5)
        self.patch(assembly, "BACKLOG", 12)
        first, second, third = Producer(), Producer(), Producer()
        one = self.feed(0, producer=first)
        self.assertEqual((self.assembly.backlog, first.calls), (10, []))
        self.feed(1, step=5, producer=second)
        self.assertEqual(self.assembly.backlog, 20)
        self.assertEqual((first.calls, second.calls), (["pause"], ["pause"]))
        self.feed(2, step=5, producer=third)
        self.assertEqual(third.calls, ["pause"])
        self.jobs.runFirst("hashBatch")
        self.assertTrue(self.successResultOf(one.checked()))
        for backlog in (15, 10):
            self.jobs.runFirst("hashBatch")
            self.assertEqual(self.assembly.backlog, backlog)
            self.assertEqual(first.calls, ["pause"])
        self.jobs.runFirst("hashBatch")
        self.assertEqual(self.assembly.backlog, 5)
        for producer in (first, second, third):
            self.assertEqual(producer.calls, ["pause", "resume"])

    def test_abandonedSinkForgetsItsBytes(self):
        """A transfer that failed leaves no backlog, no verdict and nothing
        in the hash; a job under way finishes unheard."""
        self.patch(assembly, "BATCH", 4)
        sink = self.feed(0, data=DATA[:8], step=4)
        self.assertEqual(self.assembly.backlog, 8)
        sink.abandon()
        self.assertEqual(self.assembly.backlog, 4)
        self.jobs.runAll()
        self.assertEqual(self.assembly.backlog, 0)
        self.assertNoResult(sink.checked())
        self.assertEqual(self.assembly.verified, set())
        self.assertTrue(self.verdict(0))

    def test_eachByteHashedOnce(self):
        """Pieces verified in any order are all the work there is: no job
        but their hashes runs, each byte hashed once, and nothing is read
        back for a whole-file hash (the pieces' hashes prove the file)."""
        self.patch(assembly, "BATCH", 4)
        ran = []
        run = self.jobs.run

        def recording(function, *args):
            hashed = sum(map(len, args[1])) if function is assembly.hashBatch else 0
            ran.append((function.__name__, hashed))
            return run(function, *args)

        self.assembly.run = recording
        for piece in (3, 0, 4, 2, 1):
            self.feed(piece, step=3)
            self.jobs.runAll()
        self.assertEqual(self.assembly.verified, {0, 1, 2, 3, 4})
        self.assertEqual({name for name, _ in ran}, {"hashBatch"})
        self.assertEqual(sum(size for _, size in ran), len(DATA))

    def test_stopDropsTheJobs(self):
        sink = self.feed(0)
        checked = sink.checked()
        self.assembly.stop()
        self.assertNoResult(checked)
        self.assertEqual(self.assembly._jobs, set())
        self.assertEqual(self.assembly.backlog, 0)


class JoinedRangesTests(SynchronousTestCase):
    def test_sortedAndJoinedWhereTheyTouch(self):
        self.assertEqual(joinedRanges([(30, 10), (0, 10), (10, 5), (50, 1), (40, 2)]),
                         [(0, 15), (30, 12), (50, 1)])

    def test_none(self):
        self.assertEqual(joinedRanges([]), [])
