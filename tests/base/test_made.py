"""Tests for twisted_bazaar.base.made: what a start made is known to be
its own, and a failed start removes that and nothing else."""

import os
import shutil
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base import made as module
from twisted_bazaar.base.made import SharedFolder, makeFolders, unmake


def _touch(path):
    with open(path, "w") as f:
        f.write("x")


class MakeFoldersTests(SynchronousTestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-made-")
        self.addCleanup(shutil.rmtree, self.folder)

    def test_theFoldersMade(self):
        """The folders it made, outermost first; unmake removes them."""
        data = os.path.join(self.folder, "a", "data")
        made = makeFolders(data)
        self.assertEqual(made, [os.path.dirname(data), data])
        self.assertEqual(makeFolders(data), [])
        unmake(made)
        self.assertEqual(os.listdir(self.folder), [])

    def test_oneMadeMeanwhileIsNotItsOwn(self):
        """A folder another process made between the look and the mkdir
        (EEXIST) is not counted as made here."""
        data = os.path.join(self.folder, "a", "data")
        mkdir = os.mkdir

        def another(path, mode=0o777):
            if path == os.path.dirname(data):
                mkdir(path, mode)  # the other process, first
            mkdir(path, mode)

        self.patch(module.os, "mkdir", another)
        self.assertEqual(makeFolders(data), [data])

    def test_aFileInItsPlace(self):
        path = os.path.join(self.folder, "file")
        _touch(path)
        self.assertRaises(FileExistsError, makeFolders, path)

    def test_unmakeLeavesWhatIsNotEmpty(self):
        """A folder made that now holds what another made stays."""
        data = os.path.join(self.folder, "data")
        made = makeFolders(data)
        _touch(os.path.join(data, "theirs"))
        unmake(made)
        self.assertEqual(os.listdir(data), ["theirs"])


class SharedFolderTests(SynchronousTestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-made-")
        self.addCleanup(shutil.rmtree, self.folder)
        self.state = os.path.join(self.folder, "twisted-bazaar", "tracker-7700")
        self.waits = []

    def held(self):
        folder = SharedFolder(self.state, sleep=self.waits.append, mark="tracker.key")
        folder.take()
        self.addCleanup(folder.undo)
        return folder

    def test_aloneItRemovesWhatItMade(self):
        first = self.held()
        key = os.path.join(self.state, "tracker.key")
        _touch(key)
        first.made.append(key)
        first.undo()
        self.assertEqual(os.listdir(self.folder), [])

    def test_anotherHoldingItKeepsEverything(self):
        """Issue 96 M6: what one made stays while another holds it."""
        first, second = self.held(), self.held()
        self.assertEqual(second.made, [])
        key = os.path.join(self.state, "tracker.key")
        _touch(key)
        first.made.append(key)
        first.undo()
        self.assertEqual(os.listdir(self.state), ["tracker.key"])
        self.assertAlmostEqual(sum(self.waits), module.PATIENCE)

    def test_oneRunningOnItKeepsEverythingAtOnce(self):
        """The other has started and runs on the folder (holds the mark):
        a failed start leaves what it made without waiting."""
        first, second = self.held(), self.held()
        key = os.path.join(self.state, "tracker.key")
        _touch(key)
        first.made.append(key)
        second.running()
        first.undo()
        self.assertEqual((os.listdir(self.state), self.waits), (["tracker.key"], []))

    def test_aSlowStartIsWaitedFor(self):
        """The other is still starting (a loaded machine): a failed start
        waits for it; when it fails too and lets go, what the first made
        goes, however long it took short of PATIENCE."""
        first, second = self.held(), self.held()
        key = os.path.join(self.state, "tracker.key")
        _touch(key)
        first.made.append(key)

        def secondFailsLate(seconds):
            self.waits.append(seconds)
            if len(self.waits) == 100:  # 5 s: longer than a start here
                second.undo()

        first._sleep = secondFailsLate
        first.undo()
        self.assertEqual((os.listdir(self.folder), len(self.waits)), ([], 100))

    def test_theFoldersOneMadeHoldTheOthersKey(self):
        """Two failed starts: the first made the folders, the second the
        key in them.  The first gets the folder while the second, trying
        for it too, holds it not: its folders cannot go yet, so it lets
        go and tries again once the second has removed its key; nothing
        is left (CI at load: an empty state directory was)."""
        import fcntl

        first, second = self.held(), self.held()
        key = os.path.join(self.state, "tracker.key")
        _touch(key)
        second.made.append(key)
        fcntl.flock(second._fd, fcntl.LOCK_UN)  # its own try let go of it

        def secondUndoesMeanwhile(seconds):
            self.waits.append(seconds)
            second.undo()

        first._sleep = secondUndoesMeanwhile
        first.undo()
        self.assertEqual((os.listdir(self.folder), len(self.waits)), ([], 1))

    def test_twoFailingAtOnceWaitForEachOther(self):
        """Both fail: the first to try lets go of its hold as it tries, so
        the other gets the folder (it made nothing, removes nothing); the
        first's next try gets it, and removes what it made."""
        first, second = self.held(), self.held()
        key = os.path.join(self.state, "tracker.key")
        _touch(key)
        first.made.append(key)
        tries = []

        def secondEndsMeanwhile(seconds):
            tries.append(seconds)
            if len(tries) == 1:
                second.undo()

        first._sleep = secondEndsMeanwhile
        first.undo()
        self.assertEqual(len(tries), 1)
        self.assertEqual(os.listdir(self.folder), [])

    def test_twoRacingEachMadeSomeFolders(self):
        """Two starts racing: one made the outer folder, the other the one
        in it (issue 96 M6, seen 1 run in 5): the last to undo removes
        both once empty, though it made only one."""
        other = os.path.dirname(self.state)
        mkdir = os.mkdir

        def raced(path, mode=0o777):
            if path == other:
                mkdir(path, mode)  # the other start, first
                raise FileExistsError(path)
            mkdir(path, mode)

        self.patch(module.os, "mkdir", raced)
        folder = self.held()
        self.assertEqual(folder.made, [self.state])
        folder.undo()
        self.assertEqual(os.listdir(self.folder), [])

    def test_removedWhileTakenIsMadeAnew(self):
        """A folder removed by another's failed start between the mkdir
        and the lock is made again, and counted as made here."""
        os.makedirs(self.state)
        flock = module.fcntl.flock
        removed = []

        def afterTheOthersUndo(fd, how):
            if not removed:
                removed.append(True)
                os.rmdir(self.state)
            flock(fd, how)

        self.patch(module.fcntl, "flock", afterTheOthersUndo)
        folder = self.held()
        self.assertEqual(folder.made, [self.state])
        self.assertTrue(os.path.isdir(self.state))

    def test_aFolderThatCannotBeMadeSaysWhy(self):
        """mkdir's ENOENT at every attempt is no race (a parent removed
        meanwhile is made again at the next): a path under /proc, say.
        Its own error is raised, not 'made and removed again'."""

        def cannot(path, mode):
            raise FileNotFoundError(2, "No such file or directory", path)

        self.patch(module, "makeFolders", cannot)
        folder = SharedFolder(self.state, sleep=self.waits.append, mark="tracker.key")
        error = self.assertRaises(FileNotFoundError, folder.take)
        self.assertEqual(str(error), f"[Errno 2] No such file or directory: '{self.state}'")

    def test_aFileSystemWithoutLocks(self):
        """Where flock is refused (ENOLCK), the folder is taken as if alone,
        and a failed start removes what it made, as before locks."""
        flock = module.fcntl.flock

        def noLocks(fd, how):
            raise OSError(37, "No locks available")

        self.patch(module.fcntl, "flock", noLocks)
        folder = self.held()
        self.assertEqual(folder.made, [os.path.dirname(self.state), self.state])
        folder.undo()
        self.assertEqual(os.listdir(self.folder), [])
        self.patch(module.fcntl, "flock", flock)

    def test_undoTwice(self):
        folder = self.held()
        folder.undo()
        folder.undo()
        self.assertFalse(os.path.exists(self.state))

    def test_oneRunsOnItAlone(self):
        """Issue 96: two trackers given one --data-dir both ran on it, one
        key between them.  One that runs holds the mark alone: another
        finds it (runsElsewhere) before it starts, and one that got past
        that at the same moment cannot run on it too (running is False);
        once the first stops, another may."""
        first, second = self.held(), self.held()
        _touch(os.path.join(self.state, "tracker.key"))
        self.assertFalse(second.runsElsewhere())
        self.assertTrue(first.running())
        self.addCleanup(first.stopped)
        self.assertTrue(second.runsElsewhere())
        self.assertFalse(second.running())
        first.stopped()
        self.assertFalse(second.runsElsewhere())
        self.assertTrue(second.running())
        second.stopped()
