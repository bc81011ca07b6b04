"""
The sdist holds the whole project (MANIFEST.in): the sdist of setup.py
alone held the packages, README.md and, by setuptools' default, the
tests/test_*.py files without the rest of tests/ (no conftest.py, no
helpers), so what it shipped of the suite could not run, and no docs,
Makefile, pytest.ini or .importlinter: `make test` and `make demo` could
not run from it.  tests/e2e/test_sdist_live.py checks the sdist's real
file list; this checks MANIFEST.in against the tree's top level.
"""

import os

from twisted.trial.unittest import SynchronousTestCase

from tests.sdistfiles import ROOT, treeFiles

#: What setuptools puts in every sdist of this setup.py by itself
#: (setup.cfg: one it writes there).
BY_ITSELF = {"setup.py", "setup.cfg", "README.md", "MANIFEST.in", "twisted_bazaar",
             "twisted"}


def topLevel():
    """The tree's top-level names a clone holds (L{treeFiles}: git's
    list where there is a repository)."""
    return {path.split("/")[0] for path in treeFiles()}


def manifestNames():
    """The top-level names MANIFEST.in's include and graft lines take."""
    names = set()
    with open(os.path.join(ROOT, "MANIFEST.in"), encoding="utf-8") as f:
        for line in f:
            words = line.split()
            if words and words[0] in ("include", "graft"):
                names.update(word.split("/")[0] for word in words[1:])
    return names


class ManifestTests(SynchronousTestCase):
    def test_everyTopLevelEntryShipped(self):
        """Each file and folder at the tree's top that a clone holds is
        in the sdist: setuptools takes it by itself, or MANIFEST.in names
        it; one added there must be named there (or be ignored by git)."""
        top = topLevel()
        self.assertEqual(sorted(top - BY_ITSELF - manifestNames()), [])

    def test_whatRunsTheSuiteIsNamed(self):
        """What make test and make demo read, named whatever the tree holds."""
        self.assertLessEqual({"Makefile", "pytest.ini", ".importlinter", "mkdocs.yml",
                              ".gitignore", "docs", "tests", "benchmarks"},
                             manifestNames())
