"""Helpers for the file tests: folders of real files, a listener that
records what it is told, a runner of file work that waits for the test,
and a file's identity computed as docs/protocol.md §19 defines it."""

import hashlib
import os
import shutil
import struct
import tempfile

from twisted.internet import defer

#: docs/protocol.md §19: the piece size is 1 MiB, doubled until the file
#: has at most 4096 pieces.
MIB = 1024 * 1024


def _subtree(leaves):
    """The root over a power-of-two number of leaves."""
    if len(leaves) == 1:
        return leaves[0]
    half = len(leaves) // 2
    return hashlib.sha256(_subtree(leaves[:half]) + _subtree(leaves[half:])).digest()


def fileId(data, piece=None):
    """
    The identity (``sha256``) of a file holding ``data``, written from the
    definition in docs/protocol.md §19 ("A file's identity"), not from the
    code: the SHA-256 of each piece are the leaves, padded with 32 zero
    bytes to a power of two, each node the SHA-256 of its two children;
    the identity is the SHA-256 of ``bazaar-file:``, the size and the
    piece size (8 bytes each, big-endian) and the root.  ``piece`` is the
    piece size, by the protocol's rule unless given (tests that shrink
    pieces give theirs).
    """
    if piece is None:
        piece = MIB
        while -(-len(data) // piece) > 4096:
            piece *= 2
    leaves = [hashlib.sha256(data[i:i + piece]).digest()
              for i in range(0, len(data), piece)] or [hashlib.sha256(b"").digest()]
    width = 1
    while width < len(leaves):
        width *= 2
    root = _subtree(leaves + [bytes(32)] * (width - len(leaves)))
    return hashlib.sha256(b"bazaar-file:" + struct.pack(">QQ", len(data), piece)
                          + root).hexdigest()


def writeFile(folder, name, data):
    """Write data to folder/name (the whole file at once); its path."""
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def touch(path, ns):
    """Set a file's modification time (nanoseconds), as a later write would."""
    os.utime(path, ns=(ns, ns))


class Recorder:
    """A shared folder listener that records its calls."""

    def __init__(self):
        self.events = []

    def fileAdded(self, name, digest):
        self.events.append(("added", name, digest.sha256))

    def fileRemoved(self, name, digest):
        self.events.append(("removed", name, digest.sha256))


def scratchDir(test):
    """A fresh temporary folder, removed after the test."""
    folder = tempfile.mkdtemp(prefix="bazaar-files-")
    test.addCleanup(shutil.rmtree, folder, True)
    return folder


class Jobs:
    """A runner whose jobs wait until the test runs them, as worker threads
    would, in any order: a hasher (L{Hasher}'s C{run} and C{stopping})
    whose reads end when the test says."""

    stopping = None

    def __init__(self):
        self.waiting = []
        #: How many jobs were given.
        self.begun = 0

    def run(self, function, *args):
        d = defer.Deferred()
        self.waiting.append((d, function, args))
        self.begun += 1
        return d

    def names(self):
        return [function.__name__ for _, function, _ in self.waiting]

    def runFirst(self, name):
        """Run the first waiting job of function ``name``."""
        index = self.names().index(name)
        d, function, args = self.waiting.pop(index)
        try:
            result = function(*args)
        except Exception as e:
            d.errback(e)
        else:
            d.callback(result)

    def runAll(self):
        while self.waiting:
            self.runFirst(self.names()[0])
