"""
How one download's pieces are put together into a verified file, with
the hashing and the disk work off the reactor thread.

An L{Assembly} checks each piece once all its bytes are written (the
SHA-256 of what is on disk against the description's), feeds the
whole-file SHA-256 as the in-order prefix of verified pieces grows
(L{PrefixDigest}), and starts the writeback of verified bytes every
L{WRITEBACK} bytes, so that once the last piece is in, what is left
before the file can be placed is the hash of that piece and a short
fsync, not a second pass over the whole file.

Its blocking work goes through a runner (L{Hasher.run}): worker threads
in a daemon, inline on a fake clock (tests, the simulator).
"""

from twisted.internet import defer

from twisted_bazaar.files.downloads import PrefixDigest

#: Verified bytes after which their writeback is started (if none is
#: running): about a second of a fast disk, a few of a slow one.
WRITEBACK = 64 * 1024 * 1024


class Assembly:
    """
    The verified pieces of one L{PartFile} under one description.

    @ivar verified: the pieces found right (on disk and in the hash).
    @ivar prefix: the L{PrefixDigest} of the verified prefix.
    """

    def __init__(self, part, piece_size, pieces, run, have=()):
        """
        @param pieces: the raw SHA-256 of each piece, in order.
        @param run: runs a blocking function and returns a Deferred of its
            result (L{Hasher.run}).
        @param have: pieces already verified (found on disk at a resume).
        """
        self.part = part
        self.piece_size = piece_size
        self.pieces = pieces
        self.run = run
        self.verified = set(have)
        self.prefix = PrefixDigest(part.path)
        #: The first piece not yet in the prefix hash (nor being added).
        self._next = 0
        self._extending = None
        self._writing = None
        self._unsynced = 0
        self._failure = None
        self._finished = None
        self._jobs = set()
        self.stopped = False
        self._extend()

    def _range(self, piece):
        offset = piece * self.piece_size
        return offset, min(self.piece_size, self.part.size - offset)

    def _job(self, function, *args):
        """Run function off the reactor; the Deferred is kept until it fires
        (to be cancelled by L{stop})."""
        d = self.run(function, *args)
        self._jobs.add(d)

        def done(result):
            self._jobs.discard(d)
            return result

        return d.addBoth(done)

    # -- pieces -------------------------------------------------------------------

    def check(self, piece):
        """
        Does the piece on disk match its hash?  If so it counts as verified
        (the whole-file hash and the writeback follow it).

        @return: a Deferred firing with True or False, or failing with a
            L{DownloadError} if the part file cannot be read.
        """
        d = self._job(self.part.hashPiece, *self._range(piece))
        return d.addCallback(self._checked, piece)

    def _checked(self, digest, piece):
        if digest != self.pieces[piece]:
            return False
        if not self.stopped:
            self.verified.add(piece)
            self._unsynced += self._range(piece)[1]
            self._extend()
            self._writeback()
        return True

    def _extend(self):
        """Add the verified pieces that follow the prefix to its hash, one
        job at a time (a hash takes its bytes in order)."""
        if self._extending is not None or self.stopped or self._failure is not None:
            return
        end = self._next
        while end in self.verified:
            end += 1
        if end == self._next:
            self._maybeFinished()
            return
        self._next = end
        stop = min(end * self.piece_size, self.part.size)
        d = self._extending = self._job(self.prefix.extend, stop)
        d.addCallbacks(self._extended, self._broken)

    def _extended(self, _):
        self._extending = None
        self._extend()

    def _broken(self, reason):
        self._extending = None
        if not reason.check(defer.CancelledError):
            self._failure = reason
            self._maybeFinished()

    def _writeback(self):
        if self._writing is not None or self._unsynced < WRITEBACK or self.stopped:
            return
        self._unsynced = 0
        d = self._writing = self._job(self.part.writeback)

        def written(result):
            self._writing = None
            return result

        # A failed writeback changes nothing: the fsync before the file
        # is placed reports the disk's error, if it lasts.
        d.addBoth(written).addErrback(lambda _: None)

    # -- the end ----------------------------------------------------------------------

    @property
    def complete(self):
        """Is every piece verified?"""
        return len(self.verified) == len(self.pieces)

    def finish(self):
        """
        @return: a Deferred firing with the SHA-256 (hex) of the whole part
            file once every piece is verified and hashed in, or failing with
            the L{DownloadError} that stopped the hash.
        """
        self._finished = defer.Deferred()
        d = self._finished
        self._maybeFinished()
        return d

    def _maybeFinished(self):
        d = self._finished
        if d is None:
            return
        if self._failure is not None:
            self._finished = None
            d.errback(self._failure)
        elif self._extending is None and self.prefix.hashed == self.part.size and (
                self.complete):
            self._finished = None
            d.callback(self.prefix.hexdigest())

    def stop(self):
        """Forget the jobs under way (the worker threads finish them; their
        results are dropped)."""
        self.stopped = True
        jobs, self._jobs = self._jobs, set()
        for d in jobs:
            d.cancel()
        d, self._finished = self._finished, None
        if d is not None:
            d.cancel()
