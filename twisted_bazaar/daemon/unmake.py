"""
What a daemon's start made on disk, removed again when the start fails:
a daemon that could not start (its port taken, say) leaves behind no
folder or file it made for a run that never was, and never one that was
there before it.
"""

import os


def missingFolders(directory):
    """The folders of ``directory`` that do not exist yet, the outermost
    first: what making it (with its parents) makes."""
    missing, folder = [], os.path.abspath(directory)
    while not os.path.lexists(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    return list(reversed(missing))


def unmake(made):
    """Remove the paths a start made (the last first): each file, then
    each folder, if empty; what cannot be removed stays."""
    for path in reversed(made):
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                os.rmdir(path)
            else:
                os.unlink(path)
        except OSError:
            pass


class MadeIn:
    """
    What a start makes in one directory, found by difference: the folders
    missing before it, and every entry of the directory that was not
    there before it (a node's lock, key, pins and store, whose makers
    each keep their own names).  Taken before the start touches the
    directory.
    """

    def __init__(self, directory):
        """@param directory: the folder, or None (no folder: nothing made)."""
        self.directory = directory
        if directory is None:
            self._before = None
            return
        self._missing = missingFolders(directory)
        try:
            self._before = set(os.listdir(directory)) if not self._missing else set()
        except OSError:
            self._before = None  # not a folder we can read: nothing is ours

    def made(self):
        """The paths made since, in the order to make them (folders first)."""
        if self._before is None:
            return []
        try:
            now = os.listdir(self.directory)
        except OSError:
            return []
        new = sorted(set(now) - self._before)
        return [folder for folder in self._missing if os.path.isdir(folder)] + [
            os.path.join(self.directory, name) for name in new]

    def undo(self):
        """Remove what the start made (L{unmake})."""
        unmake(self.made())
