"""
What code a process runs, in one line: twisted-bazaar's version, a digest
of its modules' source, and Python's minor version.  A sharded run's
client pickles its objects to workers that run them with their own code:
a worker of another commit, on which ``--shards`` started, failed far
into the run or not at all, so the client asks each worker this first
(L{twisted_bazaar.cli.simshards}).
"""

import functools
import hashlib
import os
import sys
from importlib import metadata

#: The package whose modules are read: this module's.
PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@functools.lru_cache(maxsize=None)
def codeId():
    """This process's code, as C{twisted-bazaar 0.1.0 (code 1a2b3c4d5e6f),
    Python 3.11}: the digest of every module's path and bytes, read once."""
    try:
        version = metadata.version("twisted-bazaar")
    except metadata.PackageNotFoundError:
        version = "(no metadata)"
    return (f"twisted-bazaar {version} (code {digestOf(PACKAGE)}), "
            f"Python {sys.version_info[0]}.{sys.version_info[1]}")


def shardCode():
    """
    L{codeId}, once this process has imported what a shard runs, or it
    and the module it could not import: a worker without one of
    twisted-bazaar's requirements could not read its shard's task and
    left, and the run asked whether twisted-bazaar was installed there.
    """
    try:
        import twisted_bazaar.sim.shard  # noqa: F401
    except ImportError as e:
        return f"{codeId()}, which cannot import {e.name or 'a module'} ({e})"
    return codeId()


def digestOf(package):
    """The first 12 hex digits of the SHA-256 of each module's path in
    package and its bytes, in the order of their paths."""
    digest = hashlib.sha256()
    for folder, folders, files in os.walk(package):
        folders.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                digest.update(os.path.relpath(path, package).encode() + b"\0")
                with open(path, "rb") as f:
                    digest.update(f.read())
    return digest.hexdigest()[:12]
