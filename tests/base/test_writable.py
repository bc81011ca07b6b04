"""
Tests for L{twisted_bazaar.base.writable}: one wording of why an output
file cannot be written, for bazaar-sim and sim.files alike.
"""

import os
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.writable import whyNotWritable


class WhyNotWritableTests(SynchronousTestCase):

    def setUp(self):
        self.folder = tempfile.mkdtemp()
        self.addCleanup(os.rmdir, self.folder)

    def test_writable(self):
        """A file that can be written: None, and no .part is left."""
        self.assertIsNone(whyNotWritable(os.path.join(self.folder, "m.json")))
        self.assertEqual(os.listdir(self.folder), [])

    def test_aFolder(self):
        self.assertEqual(whyNotWritable(self.folder), "it is a folder")

    def test_aMissingFolder(self):
        missing = os.path.join(self.folder, "no", "m.json")
        self.assertEqual(whyNotWritable(missing),
                         f"its folder {os.path.join(self.folder, 'no')} does not exist")
