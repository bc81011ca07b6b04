"""
Tests for L{twisted_bazaar.sim.plot}: drawing a chord experiment's figure
from the JSON of its runs.
"""

import io
import json
import os
import shutil
import sys
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.sim import plot


def result(seed, *sizes, experiment="pathlength"):
    """A path-length result with a row for each size."""
    return {"experiment": experiment, "seed": seed, "settings": {},
            "rows": [{"nodes": n, "goal_mean": 1.0, "failed": 0,
                      "hops": {"mean": 0.5, "p1": 0, "p50": 1, "p99": 1}}
                     for n in sizes]}


class MergedTests(SynchronousTestCase):
    def test_rowsTogetherInOrder(self):
        """The rows of every run, ordered by size."""
        both = plot.merged([result(1, 64, 256), result(1, 128)])
        self.assertEqual([row["nodes"] for row in both["rows"]], [64, 128, 256])
        self.assertEqual(both["seed"], 1)

    def test_otherSeedRefused(self):
        """Runs of other seeds (or experiments) are not one figure."""
        self.assertRaises(ValueError, plot.merged, [result(1, 64), result(2, 128)])
        self.assertRaises(ValueError, plot.merged,
                          [result(1, 64), result(1, 64, experiment="churn")])


class MainTests(SynchronousTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.stderr = io.StringIO()
        self.patch(sys, "stderr", self.stderr)
        self.patch(sys, "stdout", io.StringIO())

    def write(self, name, content):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        return path

    def refused(self, argv):
        with self.assertRaises(SystemExit) as caught:
            plot.main(argv)
        self.assertEqual(caught.exception.code, 2)
        return self.stderr.getvalue().splitlines()[-1]

    def test_withoutMatplotlib(self):
        """Without matplotlib it says what to install."""
        missing = object()
        saved = sys.modules.get("matplotlib", missing)
        sys.modules["matplotlib"] = None

        def restore():
            if saved is missing:
                del sys.modules["matplotlib"]
            else:
                sys.modules["matplotlib"] = saved

        self.addCleanup(restore)
        line = self.refused([os.path.join(self.dir, "p.png"),
                             self.write("a.json", result(1, 64))])
        self.assertEqual(line, "python -m twisted_bazaar.sim.plot: error: drawing "
                               "needs matplotlib: pip install 'twisted-bazaar[plot]'")

    def test_badFiles(self):
        """A file that is missing, or not an experiment's JSON, is named."""
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise self.skipTest("matplotlib is not installed") from None
        out = os.path.join(self.dir, "p.png")
        missing = os.path.join(self.dir, "missing.json")
        self.assertIn(f"cannot read {missing}", self.refused([out, missing]))
        bad = self.write("bad.json", "[1, 2]")
        self.assertIn(f"{bad} is not the --json of a chord experiment",
                      self.refused([out, bad]))
        self.assertIn("different experiments or seeds", self.refused(
            [out, self.write("a.json", result(1, 64)),
             self.write("b.json", result(2, 128))]))

    def test_draws(self):
        """Two runs' files make one PNG."""
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise self.skipTest("matplotlib is not installed") from None
        out = os.path.join(self.dir, "p.png")
        plot.main([out, self.write("a.json", result(1, 64, 256)),
                   self.write("b.json", result(1, 128))])
        with open(out, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
