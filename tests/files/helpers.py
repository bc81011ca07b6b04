"""Helpers for the file tests: folders of real files, a listener that
records what it is told."""

import os
import shutil
import tempfile


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
