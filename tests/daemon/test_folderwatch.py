"""
Tests for twisted_bazaar.daemon.folderwatch: a daemon's state folder
moved, deleted or replaced while it runs is told once, on a
L{task.Clock}; a folder left alone never is, and the watch's timer ends
with it.
"""

import os
import shutil
import tempfile

from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.daemon.folderwatch import EVERY, FolderWatch


class FolderWatchTests(SynchronousTestCase):
    def setUp(self):
        self.parent = tempfile.mkdtemp(prefix="bazaar-folderwatch-")
        self.addCleanup(shutil.rmtree, self.parent, True)
        self.folder = os.path.join(self.parent, "state")
        os.mkdir(self.folder)
        self.clock = task.Clock()
        self.told = []
        self.watch = FolderWatch(self.clock, self.folder, self.told.append)
        self.watch.startService()
        self.addCleanup(lambda: self.watch.running and self.watch.stopService())

    def test_leftAloneNothingIsTold(self):
        self.clock.pump([EVERY] * 20)
        self.assertEqual(self.told, [])
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)

    def test_moved(self):
        """Moved away (renamed): told within a look, once, and no more
        looks after it."""
        os.rename(self.folder, self.folder + ".old")
        self.clock.advance(EVERY)
        self.assertEqual(self.told,
                         ["the folder was moved or deleted while the daemon ran"])
        self.clock.pump([EVERY] * 4)
        self.assertEqual(len(self.told), 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_deleted(self):
        shutil.rmtree(self.folder)
        self.clock.advance(EVERY)
        self.assertEqual(self.told,
                         ["the folder was moved or deleted while the daemon ran"])

    def test_replaced(self):
        """Moved away and a new empty folder made at its path: that is not
        the daemon's state either."""
        os.rename(self.folder, self.folder + ".old")
        os.mkdir(self.folder)
        self.clock.advance(EVERY)
        self.assertEqual(self.told, [
            "the folder was replaced by another while the daemon ran (moved or "
            "deleted, and made again)"])

    def test_stopCancelsItsTimer(self):
        self.watch.stopService()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        shutil.rmtree(self.folder)
        self.clock.advance(EVERY * 4)
        self.assertEqual(self.told, [])

    def test_withinASecond(self):
        self.clock.advance(EVERY * 0.9)
        shutil.rmtree(self.folder)
        self.clock.advance(EVERY)
        self.assertLessEqual(self.clock.seconds(), 1.0)
        self.assertEqual(len(self.told), 1)


class FilesInTheFolderTests(SynchronousTestCase):
    """A file in the folder (a node's lock) is looked at after it: one
    removed while the folder stays is told to its own onGone; the folder
    gone is told once, as the folder's, not again as its file's."""

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-folderwatch-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.lock = os.path.join(self.folder, "lock")
        open(self.lock, "w").close()
        self.clock = task.Clock()
        self.told = []
        self.watch = FolderWatch(
            self.clock, self.folder, lambda why: self.told.append(("folder", why)),
            files=[(self.lock, "its lock file",
                    lambda why: self.told.append(("lock", why)))])
        self.watch.startService()
        self.addCleanup(lambda: self.watch.running and self.watch.stopService())

    def test_aFileRemoved(self):
        os.remove(self.lock)
        self.clock.pump([EVERY] * 3)
        self.assertEqual(self.told, [
            ("lock", "its lock file was moved or deleted while the daemon ran")])

    def test_theFolderGoneIsTheFolders(self):
        shutil.rmtree(self.folder)
        self.clock.pump([EVERY] * 3)
        self.assertEqual(self.told, [
            ("folder", "the folder was moved or deleted while the daemon ran")])
