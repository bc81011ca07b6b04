"""Tests for L{twisted_bazaar.files.assembly.Assembly}."""

import hashlib

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import assembly
from twisted_bazaar.files.assembly import Assembly
from twisted_bazaar.files.downloads import DownloadError, PartFile
from tests.files.helpers import scratchDir

PIECE = 10
DATA = bytes(range(45))
SHA = hashlib.sha256(DATA).hexdigest()
PIECES = tuple(hashlib.sha256(DATA[i:i + PIECE]).digest()
               for i in range(0, len(DATA), PIECE))


class Jobs:
    """A runner whose jobs wait until the test runs them, as worker threads
    would, in any order."""

    def __init__(self):
        self.waiting = []

    def run(self, function, *args):
        d = defer.Deferred()
        self.waiting.append((d, function, args))
        return d

    def names(self):
        return [function.__name__ for _, function, _ in self.waiting]

    def runFirst(self, name):
        """Run the first waiting job of function ``name``."""
        index = self.names().index(name)
        d, function, args = self.waiting.pop(index)
        try:
            result = function(*args)
        except Exception as e:
            d.errback(e)
        else:
            d.callback(result)

    def runAll(self):
        while self.waiting:
            self.runFirst(self.names()[0])


class AssemblyTests(SynchronousTestCase):
    def setUp(self):
        self.part = PartFile(scratchDir(self), "f", SHA, len(DATA))
        self.part.open()
        self.addCleanup(self.part.close)
        self.jobs = Jobs()
        self.assembly = Assembly(self.part, PIECE, PIECES, self.jobs.run)

    def write(self, piece, data=None):
        offset = piece * PIECE
        self.part.sink(offset).write(data or DATA[offset:offset + PIECE])

    def check(self, piece):
        d = self.assembly.check(piece)
        self.jobs.runFirst("hashPiece")
        return self.successResultOf(d)

    def test_pieceChecksAgainstItsHash(self):
        self.write(0)
        self.write(1, b"x" * PIECE)
        self.assertTrue(self.check(0))
        self.assertFalse(self.check(1))
        self.assertEqual(self.assembly.verified, {0})

    def test_wholeHashFollowsTheVerifiedPrefix(self):
        """Pieces verified out of order join the whole-file hash once the
        ones before them are in; a wrong piece never does."""
        for piece in range(5):
            self.write(piece)
        self.write(1, b"x" * PIECE)
        for piece in (2, 1, 4):
            self.check(piece)
        self.assertEqual(self.jobs.names(), [])
        self.assertTrue(self.check(0))
        self.jobs.runFirst("extend")
        self.assertEqual(self.assembly.prefix.hashed, PIECE)
        self.write(1)
        self.assertTrue(self.check(1))
        self.assertTrue(self.check(3))
        finished = self.assembly.finish()
        self.assertNoResult(finished)
        self.jobs.runAll()
        self.assertEqual(self.successResultOf(finished), SHA)

    def test_oneExtendAtATime(self):
        """The hash takes its bytes in order: the prefix grows by one job
        after another, never two at once."""
        for piece in range(5):
            self.write(piece)
        self.check(0)
        self.check(1)
        self.assertEqual(self.jobs.names(), ["extend"])
        self.jobs.runFirst("extend")
        self.assertEqual(self.assembly.prefix.hashed, PIECE)
        self.assertEqual(self.jobs.names(), ["extend"])
        self.jobs.runFirst("extend")
        self.assertEqual(self.assembly.prefix.hashed, 2 * PIECE)

    def test_resumedPiecesAreHashedIn(self):
        for piece in range(5):
            self.write(piece)
        resumed = Assembly(self.part, PIECE, PIECES, self.jobs.run, have=[0, 1, 2, 3])
        self.jobs.runAll()
        self.assertEqual(resumed.prefix.hashed, 4 * PIECE)
        finished = resumed.finish()
        resumed.check(4)
        self.jobs.runAll()
        self.assertEqual(self.successResultOf(finished), SHA)

    def test_wholeFileMismatchIsReported(self):
        """Pieces that match a wrong description still give the hash of
        what is on disk, which the caller compares with the offer's."""
        wrong = DATA[::-1]
        pieces = tuple(hashlib.sha256(wrong[i:i + PIECE]).digest()
                       for i in range(0, len(wrong), PIECE))
        self.part.sink(0).write(wrong)
        liar = Assembly(self.part, PIECE, pieces, defer.maybeDeferred)
        for piece in range(5):
            self.assertTrue(self.successResultOf(liar.check(piece)))
        self.assertEqual(self.successResultOf(liar.finish()),
                         hashlib.sha256(wrong).hexdigest())

    def test_unreadablePartFileFailsTheFinish(self):
        self.write(0)
        self.check(0)
        self.part.discard()
        finished = self.assembly.finish()
        self.jobs.runFirst("extend")
        self.failureResultOf(finished, DownloadError)

    def test_writebackEveryFewVerifiedBytes(self):
        self.patch(assembly, "WRITEBACK", 2 * PIECE)
        for piece in range(5):
            self.write(piece)
        self.check(0)
        self.assertNotIn("writeback", self.jobs.names())
        self.check(1)
        self.assertEqual(self.jobs.names().count("writeback"), 1)
        self.check(2)
        self.check(3)
        # One at a time: the next waits for the one under way.
        self.assertEqual(self.jobs.names().count("writeback"), 1)
        self.jobs.runFirst("writeback")
        self.check(4)
        self.assertEqual(self.jobs.names().count("writeback"), 1)

    def test_stopDropsTheJobs(self):
        self.write(0)
        checked = self.assembly.check(0)
        finished = self.assembly.finish()
        self.assembly.stop()
        self.failureResultOf(checked, defer.CancelledError)
        self.failureResultOf(finished, defer.CancelledError)
        self.assertEqual(self.assembly._jobs, set())
