"""
Tests for L{twisted_bazaar.store.syncing}: a write is done only once a
sync started after it committed has returned; syncs overlap up to their
limit; a failed sync fails every write from then on.
"""

import os
import shutil
import tempfile

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.store import StoreError
from twisted_bazaar.store.syncing import Syncs, walSync


class HeldExecutor:
    """Runs nothing until the test says: each sync asked for waits."""

    def __init__(self):
        self.held = []
        self.stopped = False

    def submit(self, function, *args):
        d = defer.Deferred()
        self.held.append(d)
        return d

    def stop(self):
        self.stopped = True
        return defer.succeed(None)

    def finish(self, index=0, failure=None):
        d = self.held.pop(index)
        if failure is None:
            d.callback(None)
        else:
            d.errback(failure)


class SyncsTests(SynchronousTestCase):
    def setUp(self):
        self.executor = HeldExecutor()
        self.syncs = Syncs(self.executor, sync=None, limit=2)

    def test_doneOnceSynced(self):
        """A committed write is done, with its result, once its sync
        returns, not before."""
        d = self.syncs.durable("first")
        self.assertNoResult(d)
        self.assertEqual(len(self.executor.held), 1)
        self.executor.finish()
        self.assertEqual(self.successResultOf(d), "first")

    def test_writeDuringSyncWaitsForTheNext(self):
        """A write committed while a sync runs is not covered by it: it
        waits for a sync started after it (the second, which starts at
        once, up to the limit)."""
        first = self.syncs.durable(1)
        second = self.syncs.durable(2)
        self.assertEqual(len(self.executor.held), 2)
        self.executor.finish(0)
        self.successResultOf(first)
        self.assertNoResult(second)
        self.executor.finish(0)
        self.successResultOf(second)

    def test_limit(self):
        """No more syncs run at once than the limit; the writes committed
        meanwhile share the next, which starts once one returns."""
        ds = [self.syncs.durable(n) for n in range(5)]
        self.assertEqual(len(self.executor.held), 2)
        self.executor.finish(0)
        self.assertEqual(len(self.executor.held), 2)
        self.assertEqual([d.called for d in ds], [True, False, False, False, False])
        self.executor.finish(0)
        self.assertEqual([d.called for d in ds], [True, True, False, False, False])
        self.executor.finish(0)
        self.assertEqual([self.successResultOf(d) for d in ds], list(range(5)))
        self.assertEqual(self.executor.held, [])

    def test_laterSyncCoversEarlierWrites(self):
        """A sync that returns before an earlier one covers the writes
        before it too, and they are done in order."""
        done = []
        for n in range(2):
            self.syncs.durable(n).addCallback(done.append)
        self.executor.finish(1)
        self.assertEqual(done, [0, 1])
        self.executor.finish(0)
        self.assertEqual(done, [0, 1])

    def test_failedSyncFailsEverything(self):
        """A sync that fails fails the writes waiting, and every write
        from then on, saying why."""
        first = self.syncs.durable(1)
        second = self.syncs.durable(2)
        self.executor.finish(0, OSError(5, "Input/output error"))
        for d in (first, second, self.syncs.durable(3)):
            reason = self.failureResultOf(d, StoreError).getErrorMessage()
            self.assertIn("the disk did not sync", reason)
            self.assertIn("Input/output error", reason)
        self.executor.finish(0)
        self.assertIsNotNone(self.syncs.failed)

    def test_stopWaitsForSyncs(self):
        """stop stops the executor once no write waits for a sync."""
        d = self.syncs.durable(1)
        stopped = self.syncs.stop()
        self.assertNoResult(stopped)
        self.assertFalse(self.executor.stopped)
        self.executor.finish()
        self.successResultOf(d)
        self.successResultOf(stopped)
        self.assertTrue(self.executor.stopped)


class WalSyncTests(SynchronousTestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-sync-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.path = os.path.join(self.folder, "bazaar.sqlite")
        for name in (self.path, self.path + "-wal"):
            with open(name, "wb") as f:
                f.write(b"x")
        self.synced = []
        real = (os.fdatasync, os.fsync)
        self.patch(os, "fdatasync", lambda fd: self.synced.append(
            ("data", os.fstat(fd).st_ino)) or real[0](fd))
        self.patch(os, "fsync", lambda fd: self.synced.append(
            ("all", os.fstat(fd).st_ino)) or real[1](fd))

    def inode(self, name):
        return os.stat(name).st_ino

    def test_walThenFolderOnce(self):
        """The WAL's data is synced each time; the folder the first time
        a WAL file is met (a new one: its name), not after."""
        sync = walSync(self.path)
        sync()
        sync()
        wal, folder = self.inode(self.path + "-wal"), self.inode(self.folder)
        self.assertEqual(self.synced, [("data", wal), ("all", folder), ("data", wal)])
        # Another WAL file (made before the last goes: another inode).
        with open(self.path + "-new", "wb") as f:
            f.write(b"y")
        os.replace(self.path + "-new", self.path + "-wal")
        self.synced.clear()
        sync()
        self.assertEqual(self.synced, [("data", self.inode(self.path + "-wal")),
                                       ("all", folder)])

    def test_withoutWal(self):
        """Without a WAL (checkpointed and closed), the database file."""
        os.unlink(self.path + "-wal")
        walSync(self.path)()
        self.assertEqual(self.synced[0], ("data", self.inode(self.path)))
