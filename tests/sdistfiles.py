"""
The files of the project's tree a clone holds, as the sdist's tests
compare them: every file under the root but those .gitignore names (and
git's own, and .ci/, which runs on a clone, not an sdist).
"""

import fnmatch
import os
import subprocess

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


def trackedFiles():
    """The files git tracks, as paths from the root, where the tree is a
    repository (None where it is not: an unpacked sdist, a tarball): so
    that what a developer's tools leave in it, ignored by a .gitignore of
    their own (lint-imports' .import_linter_cache/) or not yet added, is
    not taken for part of the project."""
    if not os.path.exists(os.path.join(ROOT, ".git")):
        return None
    listed = subprocess.run(["git", "-C", ROOT, "ls-files"], capture_output=True,
                            text=True, check=True).stdout.split("\n")
    return {path for path in listed if path and path.split("/")[0] not in LEFT_OUT}


def treeFiles():
    """Every file of the tree a clone holds, as paths from the root."""
    tracked = trackedFiles()
    if tracked is not None:
        return tracked
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
