"""
One node per data dir: an advisory lock on ``DIR/lock``.

Two nodes on one data dir would share an id and a ledger, so the second
is refused, with the pid of the node that holds the lock.  The lock is a
C{flock} on an open file: the kernel drops it when the holder exits,
however it exits (``kill -9`` included), so a crashed node never leaves a
stale lock behind.  A C{flock} is shared with a child across C{fork}, so
it survives twistd's daemonizing; L{DataDirLock.stamp} then writes the
daemon's own pid.  The lock knows what its node made in the folder
(L{DataDirLock.made}): the folder and lock file if its C{mkdir} and
C{O_EXCL} made them, and what is new since it held the lock, when no
other node can write there.
"""

import fcntl
import os

from twisted_bazaar.base.made import makeFolders, unmake
from twisted_bazaar.store.records import StoreError

#: The lock file's name inside a data dir.
LOCK_NAME = "lock"


class DataDirLock:
    """
    The lock of one data dir, held from L{acquire} until L{release} (or
    the end of the process).
    """

    def __init__(self, directory):
        self.directory = directory
        self.path = os.path.join(directory, LOCK_NAME)
        self._fd = None
        #: The folders and lock file made by L{acquire}; the folder's
        #: entries once it held the lock (None: not held yet).
        self._made = []
        self._before = None

    def acquire(self):
        """
        Take the lock, creating the directory if need be.

        @raise StoreError: when another process holds it (naming its pid),
            or the directory cannot be used.
        """
        try:
            # A new data dir is its owner's only: its ledger says what the
            # node bought and sold, and from whom (one that exists keeps
            # the mode its owner gave it).
            folders = makeFolders(self.directory, 0o700)
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
                lock = [self.path]
            except FileExistsError:
                fd = os.open(self.path, os.O_RDWR)
                lock = []
        except OSError as e:
            raise StoreError(f"cannot use data dir {self.directory}: "
                             f"{e.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _readPid(fd)
            os.close(fd)
            who = f"pid {holder}" if holder else "another process"
            raise StoreError(f"data dir {self.directory} is in use by another "
                             f"node ({who}); give each node its own "
                             "--data-dir") from None
        self._fd = fd
        # Held: from here on, what is new in the folder is this node's.
        self._made = folders + lock
        self._before = set(os.listdir(self.directory))
        self.stamp()

    def made(self):
        """What this node made since it took the lock, in the order to
        make it: the folder if it was new, the lock file if new, and
        every entry that was not there (its key, pins, store)."""
        if self._before is None:
            return []
        try:
            now = os.listdir(self.directory)
        except OSError:
            return list(self._made)
        new = sorted(set(now) - self._before)
        return self._made + [os.path.join(self.directory, name) for name in new]

    def undo(self):
        """Remove what this node made (L{made}), while it holds the lock:
        a failed start leaves nothing of its own, and nothing else."""
        unmake(self.made())

    def stamp(self):
        """Write this process's pid into the lock file."""
        if self._fd is None:
            return
        data = f"{os.getpid()}\n".encode("ascii")
        try:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, data, 0)
        except OSError:
            pass  # the pid is a courtesy; the lock is what counts

    def release(self):
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def _readPid(fd):
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
