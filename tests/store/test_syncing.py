"""
Tests for L{twisted_bazaar.store.syncing}: the sync of a store's WAL,
and of its folder the first time a WAL file is met.
"""

import os
import shutil
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.store.syncing import walSync


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
