"""
The files of the project's tree a clone holds, as the sdist's tests
compare them: every file under the root but those .gitignore names (and
git's own, and .ci/, which runs on a clone, not an sdist).
"""

import fnmatch
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Top-level names left out of the comparison, and why: what a clone has
#: that the sdist leaves out (git's own, and CI's entry point, which runs
#: on a clone), and the sdist's own metadata, made as it is packed (its
#: unpacked folder holds it).  .gitignore is shipped: these tests read it
#: in the unpacked folder too.
LEFT_OUT = {".git": "git's", ".ci": "CI's, run on a clone",
            "PKG-INFO": "the sdist's metadata"}


def _ignorePatterns():
    with open(os.path.join(ROOT, ".gitignore"), encoding="utf-8") as f:
        lines = [line.strip() for line in f]
    return [line.rstrip("/") for line in lines if line and not line.startswith("#")]


def ignored(relpath, patterns=None):
    """Whether .gitignore names relpath: a pattern of one name matches
    any of its parts, one with a slash the path from the root."""
    patterns = _ignorePatterns() if patterns is None else patterns
    parts = relpath.split("/")
    for pattern in patterns:
        if "/" in pattern:
            if relpath == pattern or relpath.startswith(pattern + "/"):
                return True
        elif any(fnmatch.fnmatch(part, pattern) for part in parts):
            return True
    return False


def treeFiles():
    """Every file of the tree a clone holds, as paths from the root."""
    patterns = _ignorePatterns()
    found = set()
    for folder, folders, files in os.walk(ROOT):
        rel = os.path.relpath(folder, ROOT)
        rel = "" if rel == "." else rel + "/"
        folders[:] = [name for name in folders
                      if not (rel == "" and name in LEFT_OUT)
                      and not ignored(rel + name, patterns)]
        found.update(rel + name for name in files
                     if not (rel == "" and name in LEFT_OUT)
                     and not ignored(rel + name, patterns))
    return found
