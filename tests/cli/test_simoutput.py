"""
Tests for L{twisted_bazaar.cli.simoutput}: bazaar-sim's --json and --plot
checked before a run and written whole after it.
"""

import io
import os
import shutil
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.cli import simoutput


class Args:
    """What simoutput reads of a run's flags."""

    def __init__(self, json=None, plot=None):
        self.json = json
        self.plot = plot


class SimOutputTests(SynchronousTestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-simoutput-test-")
        self.addCleanup(shutil.rmtree, self.folder)

    def path(self, name):
        return os.path.join(self.folder, name)

    def test_checkLeavesNothing(self):
        """A writable place is checked with a .part that is removed."""
        self.assertEqual(simoutput.check(Args(self.path("m.json"), self.path("p.png"))),
                         "png")
        self.assertEqual(os.listdir(self.folder), [])

    def test_plotFormatFromSuffix(self):
        self.assertEqual(simoutput.plotFormat("run.SVG"), "svg")
        self.assertRaises(simoutput.OutputError, simoutput.plotFormat, "run.png.txt")

    def test_writeFailsWhole(self):
        """A write that fails leaves the earlier file and no .part, and
        says the file and why in one line."""
        target = self.path("m.json")
        with open(target, "w", encoding="utf-8") as f:
            f.write("earlier")

        def full(part):
            with open(part, "w", encoding="utf-8") as f:
                f.write("half")
            raise OSError(28, "No space left on device")

        error = self.assertRaises(simoutput.OutputError, simoutput.writeWhole, "--json",
                                  target, full)
        self.assertEqual(str(error), f"--json: cannot write {target}: No space left on "
                         "device")
        self.assertEqual(os.listdir(self.folder), ["m.json"])
        with open(target, encoding="utf-8") as f:
            self.assertEqual(f.read(), "earlier")

    def test_savePlotFails(self):
        """A --plot that cannot be written is one line and status 1; the
        --json beside it is written."""
        stdout, stderr = io.StringIO(), io.StringIO()
        target = self.path("p.png")

        def draw(part, fmt):
            self.assertEqual(fmt, "png")
            raise OSError(28, "No space left on device")

        status = simoutput.save(Args(self.path("m.json"), target), {"a": 1}, draw,
                                stdout, stderr)
        self.assertEqual((status, stdout.getvalue()), (1, ""))
        self.assertEqual(stderr.getvalue(), f"bazaar-sim: error: --plot: cannot write "
                         f"{target}: No space left on device\n")
        self.assertEqual(os.listdir(self.folder), ["m.json"])
