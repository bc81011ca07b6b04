"""
The files the docs name exist: a module moved or renamed (net/noise.py
became channel/noise.py; tests moved into folders mirroring the
packages) fails here rather than leaving a reader looking for it.
"""

import re
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["README.md"] + sorted(str(path.relative_to(ROOT))
                              for path in (ROOT / "docs").glob("*.md"))
#: A path in code quotes: folders, then a file of a kind the project keeps.
PATH = re.compile(r"(?<![\w./~-])((?:[\w.-]+/)+[\w.-]+\.(?:py|md|json|toml|yml|png|csv))\b")
#: A placeholder in a path (DOWNLOADS/NAME.json, docs/scale/SCHEME-N.json).
PLACEHOLDER = re.compile(r"[A-Z]{2,}|/nN/")
#: Files the docs name that a command writes, not kept in the repository.
WRITTEN = {"benchmarks/results/latest.json"}


def namedPaths(text):
    """The repository paths named in code quotes of a doc's text."""
    for code in re.findall(r"`([^`\n]+)`", text):
        for path in PATH.findall(code):
            if not PLACEHOLDER.search(path) and path not in WRITTEN:
                yield path


def exists(path):
    """Whether path is a file or folder of the repository, from its root,
    its package or docs/ (the docs name package modules without
    twisted_bazaar/)."""
    return any((base / path).exists()
               for base in (ROOT, ROOT / "twisted_bazaar", ROOT / "docs"))


def moduleNames(text):
    """Bare module names (`link.py`) in code quotes."""
    return set(re.findall(r"`([a-z_]+\.py)`", text))


class DocPathTests(SynchronousTestCase):
    def test_everyPathNamedExists(self):
        missing = [f"{doc}: {path}" for doc in DOCS
                   for path in sorted(set(namedPaths((ROOT / doc).read_text("utf-8"))))
                   if not exists(path)]
        self.assertEqual(missing, [])

    def test_architectureModulesAreInTheirPackage(self):
        """A module architecture.md names by its bare name in a package's
        row of the layers table, or in "net/, room by room", is a module
        of that package (or of a package inside it)."""
        text = (ROOT / "docs" / "architecture.md").read_text("utf-8")
        places = [(match[1], match[2])
                  for match in re.finditer(r"^\| `([a-z_]+)/` \|(.*)$", text, re.M)]
        self.assertGreater(len(places), 15)
        places.append(("net", text.split("### `net/`, room by room")[1].split("\n### ")[0]))
        missing = [f"{package}/: {name}" for package, part in places
                   for name in sorted(moduleNames(part))
                   if not list((ROOT / "twisted_bazaar" / package).rglob(name))]
        self.assertEqual(missing, [])

    def test_aMissingPathIsCaught(self):
        """The checks can fail: a path or module that is not there is
        told apart from one that is."""
        self.assertEqual(list(namedPaths("see `net/noise.py` and `OUT/NAME.json`")),
                         ["net/noise.py"])
        self.assertFalse(exists("net/noise.py"))
        self.assertTrue(exists("channel/noise.py"))
        self.assertEqual(moduleNames("`noise.py` (`Noise`)"), {"noise.py"})


def testNames():
    """The test methods and functions the repository's tests define, and
    its test modules' names (test_seedNN, made per seed, as its pattern)."""
    names = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        names.add(path.stem)
        names.update(re.findall(r"def (test_\w+)", path.read_text("utf-8")))
    return names


class DocTestNameTests(SynchronousTestCase):
    """A doc that cites a test by name (reliability.md gives each defence's
    test) cites one that exists: a test renamed or removed fails here,
    rather than sending a reader to look for it."""

    def test_everyTestNamedExists(self):
        known = testNames()
        self.assertGreater(len(known), 1000)
        missing = []
        for doc in DOCS:
            text = (ROOT / doc).read_text("utf-8")
            # README.md's example defines a test of its own, which
            # tests/test_readme.py runs.
            defined = set(re.findall(r"def (test_\w+)", text))
            missing += [f"{doc}: {name}" for name in sorted(set(re.findall(r"\btest_\w+", text)))
                        if name not in known | defined
                        and not re.fullmatch(r"test_seed\d\d", name)]
        self.assertEqual(missing, [])
