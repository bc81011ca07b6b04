"""
How one download's pieces are put together into a verified file, with
the hashing and the disk work off the reactor thread.

A piece's bytes go through a L{PieceSink}: written at their place in the
part file as they come (on the reactor: a C{pwrite} into the page cache
costs little), and hashed from memory on a worker thread, a batch of
L{BATCH} bytes at a time, while the rest of the piece is still coming.
Once the piece's last batch is hashed it is right or wrong; nothing is
read back from disk for it.

That is the only pass over the bytes: the piece hashes were checked
against the file's identity (the root of their tree, see
L{twisted_bazaar.files.tree}) before any piece was asked for, so once
every piece matches, the whole file is proven.  An L{Assembly} keeps the
set of verified pieces and starts the writeback of verified bytes every
L{WRITEBACK} bytes (every L{LAST_WRITEBACK} bytes near the end), so that
once the last piece is in, what is left before the file can be placed is
a short fsync; once synced, those bytes leave the page cache
(L{twisted_bazaar.files.downloads.dropCached}), so the download's next
writes take the same pages again.

Its blocking work goes through a runner (L{Hasher.run}): worker threads
in a daemon, inline on a fake clock (tests, the simulator).  When more
than L{BACKLOG} bytes wait for the workers, every transfer connection
feeding the assembly stops reading until half of them are hashed, so a
buyer whose workers fall behind does not fill its memory.
"""

import collections
import hashlib

from twisted.internet import defer
from twisted.python.failure import Failure

#: Verified bytes after which their writeback is started (if none is
#: running): about a second of a fast disk, a few of a slow one.
WRITEBACK = 64 * 1024 * 1024
#: The same once fewer than WRITEBACK bytes are left to verify: the
#: fsync before the file is placed, which the download waits for, then
#: has at most about this much left to write.
LAST_WRITEBACK = 16 * 1024 * 1024
#: Bytes of a piece handed to a worker thread at a time.
BATCH = 1024 * 1024
#: Most bytes waiting for the workers before the transfers pause.
BACKLOG = 8 * 1024 * 1024


def hashBatch(digest, buffers):
    """Feed ``buffers`` to ``digest``, in order.  Blocking (hashlib lets
    other threads run meanwhile)."""
    for buffer in buffers:
        digest.update(buffer)


def joinedRanges(ranges):
    """(offset, length) ranges, sorted, with those that touch joined."""
    joined = []
    for offset, length in sorted(ranges):
        if joined and joined[-1][0] + joined[-1][1] == offset:
            joined[-1] = (joined[-1][0], joined[-1][1] + length)
        else:
            joined.append((offset, length))
    return joined


class PieceSink:
    """
    One piece's bytes, as one transfer brings them: each written to the
    part file at once, and hashed in batches on a worker.  Its producer
    (the transfer's C{IPushProducer}) is paused while the workers are
    behind.

    Its verdict (L{checked}) is known once every byte has come and is
    hashed.
    """

    def __init__(self, assembly, piece, producer=None):
        self.assembly = assembly
        self.piece = piece
        self.position, self.left = assembly.pieceRange(piece)
        self.producer = producer
        #: True or False (does the piece match its hash?), or the Failure
        #: that stopped the hash, once known.
        self._result = None
        self._waiter = None
        self._digest = hashlib.sha256()
        self._batch = []
        self._batchBytes = 0
        self._queued = collections.deque()
        self._running = None
        self.abandoned = False

    def write(self, data):
        """Write ``data`` (a read-only buffer this keeps until it is
        hashed) at its place; raise L{DownloadError} if the disk refuses.
        """
        self.assembly.part.writeAt(data, self.position)
        self.assembly.received(len(data))
        self.position += len(data)
        self.left -= len(data)
        self._batch.append(data)
        self._batchBytes += len(data)
        if self._batchBytes >= BATCH or not self.left:
            batch, size = self._batch, self._batchBytes
            self._batch, self._batchBytes = [], 0
            self._queued.append((batch, size))
            self.assembly.queued(size)
            self._next()

    def _next(self):
        if self._running is not None or self.abandoned:
            return
        if self._queued:
            batch, size = self._queued.popleft()
            d = self._running = self.assembly.job(hashBatch, self._digest, batch)
            d.addCallbacks(self._hashed, self._broken, callbackArgs=(size,),
                           errbackArgs=(size,))
        elif not self.left and self._result is None:
            right = self._digest.digest() == self.assembly.pieces[self.piece]
            if right:
                self.assembly.verifiedPiece(self.piece)
            self.assembly.done(self)
            self._decided(right)

    def _decided(self, result):
        self._result = result
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            if isinstance(result, Failure):
                waiter.errback(result)
            else:
                waiter.callback(result)

    def checked(self):
        """
        @return: a Deferred firing with True or False once every byte of the
            piece has come and is hashed (does it match the piece's hash?),
            or failing with what stopped the hash.
        """
        if self._result is None and not self.left:
            # A piece of no bytes (a file of none) has no write to decide
            # it: its verdict is the hash of nothing, known now.
            self._next()
        if self._result is None:
            self._waiter = defer.Deferred()
            return self._waiter
        if isinstance(self._result, Failure):
            return defer.fail(self._result)
        return defer.succeed(self._result)

    def _hashed(self, _, size):
        self._running = None
        self.assembly.hashed(size)
        self._next()

    def _broken(self, reason, size):
        self._running = None
        self.assembly.hashed(size)
        self._drop()
        if not self.abandoned:
            self._decided(reason)

    def moveTo(self, producer):
        """The rest of the piece comes from another transfer (the first
        one's connection closed): its producer is paused while the
        workers are behind."""
        self.producer = producer
        self.assembly.moved(producer)

    def abandon(self):
        """The transfer of this piece failed: forget its bytes (a job under
        way finishes; its result is dropped)."""
        if not self.abandoned:
            self.abandoned = True
            self._drop()

    def _drop(self):
        for _, size in self._queued:
            self.assembly.hashed(size)
        self._queued.clear()
        self._batch = None
        self.assembly.done(self)


class Assembly:
    """
    The verified pieces of one L{PartFile} under one description.

    @ivar verified: the pieces found right.
    """

    def __init__(self, part, piece_size, pieces, run, have=(), received=None):
        """
        @param pieces: the raw SHA-256 of each piece, in order, already
            checked against the file's identity.
        @param run: runs a blocking function and returns a Deferred of its
            result (L{Hasher.run}).
        @param have: pieces already verified (found on disk at a resume).
        @param received: called with the length of every write of a
            piece's bytes, as they come (the download's progress), or None.
        """
        self.part = part
        self.piece_size = piece_size
        self.pieces = pieces
        self.run = run
        self.received = received or (lambda length: None)
        self.verified = set(have)
        #: Bytes not yet verified.
        self.missing = part.size - sum(self.pieceRange(piece)[1] for piece in have)
        #: Bytes handed to the workers and not yet hashed.
        self.backlog = 0
        self._sinks = set()
        #: The transfers paused for the backlog (None: not paused).
        self._paused = None
        self._writing = None
        self._unsynced = 0
        #: (offset, length) of the pieces verified since the writeback
        #: under way started, or the last one.
        self._unsyncedRanges = []
        self._jobs = set()
        self.stopped = False

    def pieceRange(self, piece):
        """(offset, length) of ``piece``."""
        offset = piece * self.piece_size
        return offset, min(self.piece_size, self.part.size - offset)

    def job(self, function, *args):
        """Run function off the reactor; the Deferred is kept until it fires
        (to be cancelled by L{stop})."""
        d = self.run(function, *args)
        self._jobs.add(d)

        def done(result):
            self._jobs.discard(d)
            return result

        return d.addBoth(done)

    # -- pieces -------------------------------------------------------------------

    def sink(self, piece, producer=None):
        """
        A L{PieceSink} for one transfer of ``piece``.

        @param producer: the transfer's C{IPushProducer}, paused while the
            workers are behind.
        """
        sink = PieceSink(self, piece, producer)
        self._sinks.add(sink)
        if self._paused is not None:
            self._pause(producer)
        return sink

    def moved(self, producer):
        """A sink's bytes come from ``producer`` now: paused if the
        transfers are."""
        if self._paused is not None:
            self._pause(producer)

    def _pause(self, producer):
        if producer is not None and producer not in self._paused:
            self._paused.add(producer)
            producer.pauseProducing()

    def queued(self, size):
        """``size`` more bytes wait for a worker."""
        self.backlog += size
        if self.backlog > BACKLOG and self._paused is None:
            self._paused = set()
            for each in self._sinks:
                self._pause(each.producer)

    def hashed(self, size):
        """``size`` bytes waiting for a worker are done with."""
        self.backlog -= size
        if self._paused is not None and self.backlog <= BACKLOG // 2:
            paused, self._paused = self._paused, None
            for producer in paused:
                producer.resumeProducing()

    def done(self, sink):
        """``sink`` takes no more bytes."""
        self._sinks.discard(sink)

    def verifiedPiece(self, piece):
        """``piece`` matched its hash; the writeback follows."""
        if self.stopped:
            return
        self.verified.add(piece)
        offset, length = self.pieceRange(piece)
        self.missing -= length
        self._unsynced += length
        self._unsyncedRanges.append((offset, length))
        self._writeback()

    def _writeback(self):
        every = WRITEBACK if self.missing >= WRITEBACK else LAST_WRITEBACK
        if self._writing is not None or self._unsynced < every or self.stopped:
            return
        done = joinedRanges(self._unsyncedRanges)
        self._unsynced, self._unsyncedRanges = 0, []
        d = self._writing = self.job(self.part.writeback, done)

        def written(result):
            self._writing = None
            return result

        # A failed writeback changes nothing: the fsync before the file
        # is placed reports the disk's error, if it lasts.
        d.addBoth(written).addErrback(lambda _: None)

    def stop(self):
        """Forget the jobs under way (the worker threads finish them; their
        results are dropped)."""
        self.stopped = True
        for sink in list(self._sinks):
            sink.abandon()
        jobs, self._jobs = self._jobs, set()
        for d in jobs:
            d.cancel()
