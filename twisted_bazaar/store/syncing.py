"""
Writes made durable by syncs of their own, so that the next write need
not wait for the last one's sync (docs/benchmarks.md, "Where a
purchase's time goes").

With ``synchronous=FULL`` a SQLite commit returns once the WAL is synced
(an ``fdatasync``, about 4 ms on the shared VM where this was measured):
the one writer thread writes nothing meanwhile, and every sale made
meanwhile waits for that commit, then for its own.  With
``synchronous=NORMAL`` the commit returns once its frames are written to
the WAL, as consistent as with FULL (SQLite syncs before each checkpoint,
and the WAL's header when it is reused) but not yet durable.  L{Syncs}
makes it durable: it syncs the WAL on threads of its own and fires each
write's Deferred only once a sync *started after that write committed*
has returned, which is what FULL's sync inside the commit gave.  The next
write commits while the last one's sync runs, and up to L{SYNCS_IN_FLIGHT}
syncs overlap, each covering every write committed before it started.

A sync that fails leaves writes in the WAL that may or may not be on
disk: from then on every write fails, those waiting for a sync included,
so that nothing written after it is promised either (a node answers
nothing it has not written).
"""

import collections
import os

from twisted.internet import defer

from twisted_bazaar.store.records import StoreError

#: Syncs of the WAL running at once, at most: a write committed while
#: they run waits for the next, which starts as soon as one returns.
SYNCS_IN_FLIGHT = 2


class Syncs:
    """
    The syncs that make a store's committed writes durable.

    @ivar limit: the most syncs in flight at once.
    """

    def __init__(self, executor, sync, limit=SYNCS_IN_FLIGHT):
        """
        @param executor: where the syncs run (one thread each, up to
            ``limit``; see L{ThreadExecutor}); its results come back on
            the reactor thread.
        @param sync: the function that syncs (on the executor), raising
            on failure.
        """
        self.executor = executor
        self.limit = limit
        self._sync = sync
        #: Writes committed so far, writes covered by the syncs started,
        #: and by the syncs returned.
        self._committed = self._asked = self._durable = 0
        self._inFlight = 0
        #: (write's number, its Deferred, its result), oldest first.
        self._waiting = collections.deque()
        self._failed = None
        self._stopped = None

    @property
    def failed(self):
        """The L{StoreError} of a failed sync, or None."""
        return self._failed

    def durable(self, result):
        """
        A write has committed (called on the reactor thread, as its
        result comes back from the writer).

        @return: a Deferred firing with result once a sync started after
            now has returned; failing with L{StoreError} if a sync failed.
        """
        if self._failed is not None:
            return defer.fail(self._failed)
        self._committed += 1
        d = defer.Deferred()
        self._waiting.append((self._committed, d, result))
        self._next()
        return d

    def _next(self):
        """Start a sync for the writes no sync covers yet, if one more may
        run now."""
        if self._inFlight >= self.limit or self._asked >= self._committed:
            return
        # Every write counted so far committed before this sync is asked
        # for, so before it starts: it covers them.
        self._asked = covered = self._committed
        self._inFlight += 1
        d = self.executor.submit(self._sync)
        d.addCallbacks(self._synced, self._notSynced, callbackArgs=(covered,))

    def _synced(self, _, covered):
        self._inFlight -= 1
        self._durable = max(self._durable, covered)
        waiting = self._waiting
        while waiting and waiting[0][0] <= self._durable:
            _, d, result = waiting.popleft()
            d.callback(result)
        self._next()
        self._checkStopped()

    def _notSynced(self, reason):
        self._inFlight -= 1
        if self._failed is None:
            self._failed = StoreError(f"the disk did not sync: {reason.getErrorMessage()}")
        waiting, self._waiting = self._waiting, collections.deque()
        for _, d, _ in waiting:
            d.errback(self._failed)
        self._checkStopped()

    def stop(self):
        """
        Stop the executor once every write counted so far is synced (or
        failed).

        @return: a Deferred that fires when the executor is stopped.
        """
        if self._stopped is None:
            self._stopped = defer.Deferred()
            self._checkStopped()
        result = defer.Deferred()
        self._stopped.addBoth(_chain, result)
        return result

    def _checkStopped(self):
        stopped = self._stopped
        if stopped is None or stopped.called or self._inFlight or self._waiting:
            return
        self.executor.stop().chainDeferred(stopped)


def _chain(result, d):
    d.callback(None)
    return result


def walSync(path):
    """
    The sync of a SQLite database at ``path`` in WAL mode: its WAL's data
    to the disk (``fdatasync``, as SQLite's own sync), and the folder the
    first time the WAL file is met, so that its name is on disk too.
    Without a WAL (the last connection closed it, checkpointed), the
    database file itself.
    """
    folder = os.path.dirname(path) or "."
    synced = {}

    def sync():
        try:
            fd = os.open(path + "-wal", os.O_RDONLY)
        except FileNotFoundError:
            fd = os.open(path, os.O_RDONLY)
        try:
            os.fdatasync(fd)
            inode = os.fstat(fd).st_ino
        finally:
            os.close(fd)
        if synced.get("inode") != inode:
            fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            synced["inode"] = inode

    return sync
