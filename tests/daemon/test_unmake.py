"""Tests for twisted_bazaar.daemon.unmake: what a failed start made is
removed, and nothing that was there before it."""

import os
import shutil
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.daemon.unmake import MadeIn, missingFolders


def _touch(path):
    with open(path, "w") as f:
        f.write("x")


class MadeInTests(SynchronousTestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-unmake-")
        self.addCleanup(shutil.rmtree, self.folder)

    def test_aNewFolderGoesWhole(self):
        """A folder the start made (and its missing parents) goes, with
        every file made in it."""
        data = os.path.join(self.folder, "a", "data")
        made = MadeIn(data)
        self.assertEqual(missingFolders(data), [os.path.dirname(data), data])
        os.makedirs(data)
        for name in ("lock", "node.key", "bazaar.sqlite"):
            _touch(os.path.join(data, name))
        self.assertEqual(made.made(), [os.path.dirname(data), data] + [
            os.path.join(data, name) for name in ("bazaar.sqlite", "lock", "node.key")])
        made.undo()
        self.assertEqual(os.listdir(self.folder), [])

    def test_whatWasThereStays(self):
        """In a folder that was there, only the entries made since go: the
        folder and what it held stay, and a folder made that is not empty
        stays too."""
        _touch(os.path.join(self.folder, "node.key"))
        made = MadeIn(self.folder)
        _touch(os.path.join(self.folder, "lock"))
        os.mkdir(os.path.join(self.folder, "sub"))
        _touch(os.path.join(self.folder, "sub", "kept"))
        made.undo()
        self.assertEqual(sorted(os.listdir(self.folder)), ["node.key", "sub"])

    def test_noFolder(self):
        """Without a folder (a node without --data-dir) nothing is made."""
        made = MadeIn(None)
        self.assertEqual(made.made(), [])
        made.undo()

    def test_aFileInItsPlace(self):
        """A path that is a file, not a folder: nothing is the start's."""
        path = os.path.join(self.folder, "file")
        _touch(path)
        made = MadeIn(path)
        self.assertEqual(made.made(), [])
        made.undo()
        self.assertTrue(os.path.exists(path))
