"""Tests for L{twisted_bazaar.sim.files}: small files, virtual time."""

import contextlib
import io
import os
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import hashing
from twisted_bazaar.sim import files

SIZE = 16 * 64 * 1024


class FileSimTests(SynchronousTestCase):
    def setUp(self):
        self.patch(hashing, "MIN_PIECE", 64 * 1024)

    def test_moreSellersFetchFaster(self):
        one, two = files.series([1, 2], False, SIZE, 1.0, [1], "flood")
        self.assertEqual((one["completed"], two["completed"]), (1, 1))
        # 1 MiB at 1 MiB/s from one seller: a second and a little more.
        self.assertGreater(one["mean_seconds"], 1.0)
        self.assertLess(two["mean_seconds"], 0.75 * one["mean_seconds"])
        self.assertEqual(one["pieces_from_honest"], 16)

    def test_corruptingSellersCostNothingInTheFile(self):
        [row] = files.series([5], True, SIZE, 1.0, [1, 2], "index")
        self.assertEqual((row["corrupting"], row["completed"]), (1, 2))
        self.assertEqual(row["pieces_from_corrupting"], 0)
        self.assertEqual(row["pieces_from_honest"], 32)

    def test_superPeerLeavesFetch(self):
        """The sellers and the buyer are leaves of the super-peers the
        tool starts first."""
        [row] = files.series([2], False, SIZE, 1.0, [1], "superpeer")
        self.assertEqual((row["completed"], row["sellers_used"]), (1, 2))
        self.assertEqual(row["pieces_from_honest"], 16)

    def test_chordRingFetches(self):
        """A ring of one seller and the buyer fetches too: the buyer's
        find starts when it takes its place, after its only link."""
        one, two = files.series([1, 2], False, SIZE, 1.0, [1], "chord")
        self.assertEqual((one["completed"], two["completed"]), (1, 1))
        self.assertEqual((one["sellers_used"], two["sellers_used"]), (1, 2))
        self.assertEqual((one["pieces_from_honest"], two["pieces_from_honest"]), (16, 16))

    def test_badArguments(self):
        for argv in (["--sellers", "a,b"], ["--mib", "0"], ["--runs", "0"],
                     ["--discovery", "gossip"]):
            self.assertRaises(SystemExit, files.parseArgs, argv)

    def test_badArgumentsInTheProjectsWords(self):
        """As the project's commands say theirs: the reason in one line with
        the option's bound, then where help is, exit 2, no usage synopsis
        (it printed argparse's synopsis and "invalid int value: 'x'"), and
        a --json it cannot write said before any run, not as a traceback
        after them all."""
        def refused(argv):
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                error = self.assertRaises(SystemExit, files.parseArgs, argv)
            self.assertEqual(error.code, 2)
            return err.getvalue().splitlines()

        prog = "python -m twisted_bazaar.sim.files"
        self.assertEqual(refused(["--mib", "x"]), [
            f"{prog}: error: argument --mib: wants a whole number at least 1, not 'x'",
            f"see {prog} --help"])
        self.assertEqual(refused(["--sel", "3"])[0], f"{prog}: error: unrecognized "
                         "arguments: --sel 3 (did you mean --sellers?)")
        folder = tempfile.mkdtemp()
        self.addCleanup(os.rmdir, folder)
        missing = os.path.join(folder, "no", "f.json")
        # In bazaar-sim's words (tests/cli/test_sim.py).
        self.assertEqual(refused(["--json", missing])[0], f"{prog}: error: --json: "
                         f"cannot write {missing}: its folder {os.path.dirname(missing)} "
                         "does not exist")
        self.assertEqual(refused(["--json", folder])[0], f"{prog}: error: --json: "
                         f"cannot write {folder}: it is a folder")

