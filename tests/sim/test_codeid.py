"""
Tests for L{twisted_bazaar.sim.codeid}: what code a sharded run's client
and each of its workers run, compared before any shard starts.
"""

import os
import sys
from importlib import metadata

from twisted_bazaar.sim import codeid


def tree(root, files):
    """A package of files ({path: bytes}) under root; root."""
    for path, data in files.items():
        os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
        with open(os.path.join(root, path), "wb") as f:
            f.write(data)
    return str(root)


def test_aByteChangesTheDigest(tmp_path):
    """Two trees of the same modules have one digest; a byte of a module,
    or a module moved, gives another; what is not a module is not read."""
    files = {"__init__.py": b"", "sim/shard.py": b"A = 1\n"}
    same = codeid.digestOf(tree(tmp_path / "a", files))
    assert same == codeid.digestOf(tree(tmp_path / "b", {
        **files, "sim/__pycache__/shard.cpython-311.pyc": b"x", "notes.txt": b"y"}))
    assert same != codeid.digestOf(tree(tmp_path / "c", {**files, "sim/shard.py": b"A = 2\n"}))
    assert same != codeid.digestOf(tree(tmp_path / "d", {
        "__init__.py": b"", "cli/shard.py": b"A = 1\n"}))
    assert len(same) == 12


def test_thisProcess():
    """This process's line names the version, its modules' digest and
    Python's minor version."""
    assert codeid.codeId() == (
        f"twisted-bazaar {metadata.version('twisted-bazaar')} (code "
        f"{codeid.digestOf(codeid.PACKAGE)}), "
        f"Python {sys.version_info[0]}.{sys.version_info[1]}")


def test_aShardsModulesImported(monkeypatch):
    """A worker that cannot import what a shard runs (one of
    twisted-bazaar's requirements missing) says which module, beside its
    code; one that can, its code alone."""
    assert codeid.shardCode() == codeid.codeId()
    monkeypatch.setitem(sys.modules, "twisted_bazaar.sim.shard", None)
    assert codeid.shardCode().startswith(
        f"{codeid.codeId()}, which cannot import twisted_bazaar.sim.shard (")
