"""
Tests for twisted_bazaar.store.lock: one node per data dir.
"""

import os
import shutil
import stat
import subprocess
import sys
import tempfile

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.store import StoreError
from twisted_bazaar.store.lock import LOCK_NAME, PATIENCE, DataDirLock


class DataDirLockTests(SynchronousTestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-lock-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.directory = os.path.join(self.folder, "data")
        #: The clock a lock waits on (its wait advances it: no sleep).
        self.clock = Clock()

    def lock(self):
        lock = DataDirLock(self.directory, self.clock.seconds, self.clock.advance)
        self.addCleanup(lock.release)
        return lock

    def stamped(self):
        with open(os.path.join(self.directory, LOCK_NAME)) as f:
            return f.read()

    def test_acquireCreatesTheDirAndWritesThePid(self):
        """The pid, and ``starting`` after it until the start succeeded."""
        lock = self.lock()
        lock.acquire()
        self.assertEqual(self.stamped(), f"{os.getpid()} starting\n")
        lock.started()
        self.assertEqual(self.stamped(), f"{os.getpid()}\n")

    def test_aNewDataDirIsItsOwnersOnly(self):
        """Made 0700 (it was 0777 less the umask: 0755, every local user
        could read the ledger); one that exists keeps its mode."""
        first = self.lock()
        first.acquire()
        self.assertEqual(stat.S_IMODE(os.stat(self.directory).st_mode), 0o700)
        os.chmod(self.directory, 0o750)
        first.release()
        self.lock().acquire()
        self.assertEqual(stat.S_IMODE(os.stat(self.directory).st_mode), 0o750)

    def test_secondHolderRefusedWithThePid(self):
        """A holder that runs: refused at once."""
        first = self.lock()
        first.acquire()
        first.started()
        error = self.assertRaises(StoreError, self.lock().acquire)
        self.assertEqual(str(error), f"data dir {self.directory} is in use by "
                         f"another node (pid {os.getpid()}); give each node its "
                         "own --data-dir")
        self.assertEqual(self.clock.seconds(), 0)

    def test_aStartingHolderThatFailsIsWaitedFor(self):
        """Two nodes started at once on a new data dir, the first failing
        (its port taken): it removes the folder it made and lets the lock
        go within the wait, and the second takes it, the folder its own
        (both ended with status 1, the second refused with the pid of one
        that was ending)."""
        first = self.lock()
        first.acquire()

        def failed():
            first.undo()
            first.release()

        self.clock.callLater(1.5, failed)
        second = self.lock()
        second.acquire()
        self.assertEqual(self.stamped(), f"{os.getpid()} starting\n")
        self.assertEqual(second.made(), [self.directory,
                                         os.path.join(self.directory, LOCK_NAME)])
        self.assertLess(self.clock.seconds(), 2)

    def test_aHolderStillStartingIsSaidSo(self):
        """One still starting when the wait ends: named, and said so."""
        self.lock().acquire()
        error = self.assertRaises(StoreError, self.lock().acquire)
        self.assertEqual(str(error), f"data dir {self.directory} is in use by "
                         f"another node (pid {os.getpid()}, still starting after "
                         "10 s); give each node its own --data-dir")
        self.assertGreaterEqual(self.clock.seconds(), PATIENCE)
        self.assertLess(self.clock.seconds(), PATIENCE + 1)

    def test_refusedByAnotherProcess(self):
        """The lock holds across processes; the holder is named."""
        child = subprocess.Popen(
            [sys.executable, "-c",
             "import sys, time; from twisted_bazaar.store.lock import DataDirLock; "
             f"DataDirLock({self.directory!r}).acquire(); print('held', flush=True); "
             "sys.stdin.read()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(child.wait, 30)
        self.addCleanup(child.stdin.close)
        self.assertEqual(child.stdout.readline(), "held\n")
        error = self.assertRaises(StoreError, self.lock().acquire)
        self.assertIn(f"(pid {child.pid}, still starting after 10 s)", str(error))
        child.stdin.close()
        child.wait(30)
        # Released when the holder exits, however it exits.
        self.lock().acquire()

    def test_releaseLetsAnotherIn(self):
        first = self.lock()
        first.acquire()
        first.release()
        self.lock().acquire()

    def test_unusableDirectory(self):
        path = os.path.join(self.folder, "file")
        with open(path, "w"):
            pass
        lock = DataDirLock(os.path.join(path, "data"))
        error = self.assertRaises(StoreError, lock.acquire)
        self.assertEqual(str(error), f"cannot use data dir {path}/data: "
                                     "Not a directory")


class MadeTests(SynchronousTestCase):
    """What a node made in its data dir, known by its lock."""

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-lock-")
        self.addCleanup(shutil.rmtree, self.folder, True)

    def touch(self, *names):
        for name in names:
            with open(os.path.join(self.folder, "data", name), "w") as f:
                f.write("x")

    def test_aNewDataDirGoesWhole(self):
        data = os.path.join(self.folder, "data")
        lock = DataDirLock(data)
        lock.acquire()
        self.addCleanup(lock.release)
        self.touch("node.key", "bazaar.sqlite")
        self.assertEqual(lock.made(), [data, os.path.join(data, LOCK_NAME)] + [
            os.path.join(data, name) for name in ("bazaar.sqlite", "node.key")])
        lock.undo()
        self.assertEqual(os.listdir(self.folder), [])

    def test_whatWasThereStays(self):
        """In a data dir that was there (its lock file too), only what is
        new since the lock was taken goes."""
        data = os.path.join(self.folder, "data")
        os.mkdir(data)
        self.touch("node.key", LOCK_NAME)
        lock = DataDirLock(data)
        lock.acquire()
        self.addCleanup(lock.release)
        self.touch("bazaar.sqlite")
        lock.undo()
        self.assertEqual(sorted(os.listdir(data)), [LOCK_NAME, "node.key"])

    def test_nothingBeforeItIsHeld(self):
        lock = DataDirLock(os.path.join(self.folder, "data"))
        self.assertEqual(lock.made(), [])
