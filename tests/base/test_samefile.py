"""
Tests for twisted_bazaar.base.samefile: a path names the same file or
folder until it is moved, deleted or replaced.
"""

import os
import shutil
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.samefile import fileIdentity


class FileIdentityTests(SynchronousTestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-samefile-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.path = os.path.join(self.folder, "ledger")
        with open(self.path, "w") as f:
            f.write("x")

    def test_theSameWhileLeftAlone(self):
        before = fileIdentity(self.path)
        with open(self.path, "a") as f:
            f.write("more")
        self.assertEqual(fileIdentity(self.path), before)

    def test_noneOnceGone(self):
        os.rename(self.path, self.path + ".moved")
        self.assertIsNone(fileIdentity(self.path))

    def test_anotherInItsPlace(self):
        before = fileIdentity(self.path)
        keep = self.path + ".moved"
        os.rename(self.path, keep)  # kept: its inode is not reused
        with open(self.path, "w") as f:
            f.write("x")
        self.assertNotEqual(fileIdentity(self.path), before)
