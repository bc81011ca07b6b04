"""
Content hashes of files: the SHA-256 of each piece and the file's
identity, the root of the hash tree over them (L{twisted_bazaar.files.tree}),
taken off the reactor thread in one read pass.

A L{FileDigest} describes one file's content.  L{digestFile} computes it
(blocking: it reads the whole file), so callers run it through a
L{Hasher}, which owns a thread pool (in a daemon) or runs it inline (on a
fake clock, in tests and the simulator, where there is no thread to wait
for).
"""

import hashlib
import os
import stat
import threading

import attr
from twisted.application.service import Service
from twisted.internet import defer, threads
from twisted.internet.interfaces import IReactorThreads
from twisted.python.threadpool import ThreadPool

from twisted_bazaar.files.tree import identityOf, treeRoot

#: Smallest piece; a file is cut in pieces of this size or a larger power
#: of two, so that it has at most MAX_PIECES pieces.
MIN_PIECE = 1024 * 1024
MAX_PIECES = 4096
#: Bytes read at a time while hashing.
READ_SIZE = 256 * 1024


class FileChanged(Exception):
    """The file changed (or went) while it was being read."""


class HashingStopped(Exception):
    """The file was not read to its end: its hasher stopped meanwhile."""


def pieceSize(size):
    """The piece size for a file of ``size`` bytes."""
    piece = MIN_PIECE
    while piece * MAX_PIECES < size:
        piece *= 2
    return piece


def pieceCount(size, piece):
    """How many pieces a file of ``size`` bytes has (at least one)."""
    return max(1, -(-size // piece))


def statKey(st):
    """What tells one version of a file from another: size, modification
    time, inode and device."""
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


@attr.s(frozen=True, auto_attribs=True)
class FileDigest:
    """
    One file's content: its size, its identity (C{sha256}, hex: see
    L{twisted_bazaar.files.tree}), its piece size, the SHA-256 of each
    piece (raw 32-byte digests, in order) and the root of their tree.

    @ivar key: the L{statKey} of the version that was hashed.
    """

    size: int
    sha256: str
    piece_size: int
    pieces: tuple
    root: bytes
    key: tuple = ()

    def pieceRange(self, index):
        """(offset, length) of piece ``index``."""
        offset = index * self.piece_size
        return offset, min(self.piece_size, self.size - offset)


def digestFile(path, stopping=None):
    """
    Read the regular file at ``path`` once and describe its content.
    Blocking: run it through a L{Hasher}.

    @param stopping: a C{threading.Event} (L{Hasher.stopping}); once set,
        the read ends where it is, so that a daemon's stop does not wait
        for the rest of a file of gigabytes.
    @raise FileChanged: if it is not a regular file, or was modified while
        it was read.
    @raise HashingStopped: if stopping was set before the end.
    @raise OSError: if it cannot be read.
    """
    # Without waiting: a FIFO in the file's place would hold the thread.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise FileChanged(f"{path} is not a regular file")
        size = before.st_size
        piece = pieceSize(size)
        pieces = []
        current = hashlib.sha256()
        filled = total = 0
        while True:
            if stopping is not None and stopping.is_set():
                raise HashingStopped(f"{path}: stopped after {total} of {size} bytes")
            data = os.read(fd, min(READ_SIZE, piece - filled))
            if not data:
                break
            total += len(data)
            current.update(data)
            filled += len(data)
            if filled == piece:
                pieces.append(current.digest())
                current, filled = hashlib.sha256(), 0
        if filled or not pieces:
            pieces.append(current.digest())
        after = os.fstat(fd)
        if (total != size or statKey(after) != statKey(before)
                or os.stat(path).st_ino != after.st_ino):
            raise FileChanged(f"{path} changed while it was read")
    finally:
        os.close(fd)
    root = treeRoot(pieces)
    return FileDigest(size, identityOf(size, piece, root), piece, tuple(pieces), root,
                      statKey(before))


class ContentIds:
    """
    The content ids of the files a buyer looked at, by path and the
    version (L{statKey}) that was read: a file of the size an offer names
    but of other bytes is looked at again at each search of its want, and
    is read again only once it changed.  Bounded (the oldest go first);
    safe to use from the hasher's threads.
    """

    def __init__(self, digest=None, most=64):
        """
        @param digest: reads a file (L{digestFile}'s signature; a counting
            one in tests).
        @param most: how many files are remembered.
        """
        self._digest = digest
        self._most = most
        self._ids = {}
        self._lock = threading.Lock()

    def of(self, path):
        """The content id of the file at path, read only if this version
        of it was not read before.  Blocking.

        @raise FileChanged: as L{digestFile}.
        @raise OSError: as L{digestFile}.
        """
        key = statKey(os.lstat(path))
        with self._lock:
            known = self._ids.get(path)
        if known is not None and known[0] == key:
            return known[1]
        digest = (self._digest or digestFile)(path)
        with self._lock:
            self._ids.pop(path, None)
            self._ids[path] = (digest.key, digest.sha256)
            while len(self._ids) > self._most:
                del self._ids[next(iter(self._ids))]
        return digest.sha256


def hashRange(path, offset, length):
    """SHA-256 (raw digest) of ``length`` bytes of ``path`` at ``offset``;
    fewer bytes on disk give the hash of what is there.  Blocking."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(offset)
        while length > 0:
            data = f.read(min(READ_SIZE, length))
            if not data:
                break
            digest.update(data)
            length -= len(data)
    return digest.digest()


class Hasher(Service):
    """
    Runs blocking file work (hashing, fsync) away from the reactor.

    Given a reactor that runs threads, it owns a thread pool, started and
    stopped with the service; given a plain clock (tests, the simulator),
    it runs the work inline, at once.
    """

    def __init__(self, reactor, threads=2):
        self.reactor = reactor
        #: Set as the service stops: work that reads a whole file
        #: (L{digestFile}) ends at its next read, not at the file's end,
        #: since stopping the pool waits for its threads.
        self.stopping = threading.Event()
        self.pool = None
        if IReactorThreads.providedBy(reactor):
            self.pool = ThreadPool(minthreads=0, maxthreads=threads,
                                   name="bazaar-files")

    def startService(self):
        super().startService()
        if self.pool is not None:
            self.pool.start()

    def stopService(self):
        super().stopService()
        self.stopping.set()
        if self.pool is not None and self.pool.started:
            self.pool.stop()

    def run(self, function, *args):
        """A Deferred of ``function(*args)``, run off the reactor thread."""
        if self.pool is None:
            return defer.maybeDeferred(function, *args)
        if not self.pool.started:
            return defer.fail(RuntimeError("the file worker threads are stopped"))
        return threads.deferToThreadPool(self.reactor, self.pool, function, *args)
