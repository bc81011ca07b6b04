"""
Whether a path still names the file or folder a process opened: a
daemon's state moved or deleted under it, or another put in its place,
is no longer its own (L{twisted_bazaar.daemon.folderwatch}, the store's
writer).
"""

import os


def fileIdentity(path):
    """What makes ``path`` the same file or folder from one look to the
    next (its device and inode: one moved away and another made in its
    place is not the same), or None where nothing is there."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino
