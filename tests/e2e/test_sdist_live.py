"""
The sdist's real file list, as setuptools makes it for MANIFEST.in (its
egg_info step, in a folder of its own: about 2 s): every file of the
tree a clone holds, and nothing git ignores (a compiled module, a plugin
cache, benchmark results).  Before MANIFEST.in it held 462 files of the
tree's 1,311: no docs, and of tests/ only the top-level test_*.py.
"""

import os
import subprocess
import sys
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from tests.sdistfiles import ROOT, ignored, treeFiles


def sdistFiles():
    """The files setuptools' sdist would hold, from its SOURCES.txt."""
    with tempfile.TemporaryDirectory() as base:
        subprocess.run([sys.executable, "setup.py", "-q", "egg_info", "--egg-base", base],
                       cwd=ROOT, check=True, capture_output=True, timeout=120)
        [info] = [name for name in os.listdir(base) if name.endswith(".egg-info")]
        with open(os.path.join(base, info, "SOURCES.txt"), encoding="utf-8") as f:
            return {line.strip() for line in f if line.strip()}


class SdistTests(SynchronousTestCase):
    def test_theTreeWhole(self):
        shipped = sdistFiles()
        self.assertEqual(sorted(treeFiles() - shipped), [])
        made = {name for name in shipped if ".egg-info/" in name}
        self.assertEqual(sorted(name for name in shipped - made if ignored(name)), [])
