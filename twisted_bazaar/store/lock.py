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

Two nodes started at once on one data dir: the first may be failing (its
port taken) and about to give the folder up.  So the lock file says
``PID starting`` until its holder's start has succeeded
(L{DataDirLock.started}), and a node that finds it so waits up to
L{PATIENCE} seconds for it, on the clock it is given, and takes the lock
if it is let go; a holder that runs, or one still starting after that,
is named and the node refused.
"""

import fcntl
import os
import time

from twisted_bazaar.base.made import makeFolders, unmake
from twisted_bazaar.store.records import StoreError

#: The lock file's name inside a data dir.
LOCK_NAME = "lock"

#: Seconds a node waits for a holder that is still starting to give the
#: data dir up (its start failing), and how often it tries again.
PATIENCE = 10.0
RETRY = 0.1
#: The word after the pid while the holder starts.
STARTING = "starting"


class _Held(Exception):
    """The lock is another's: its pid (or None), and whether it says it
    is starting."""

    def __init__(self, pid, starting):
        super().__init__(pid, starting)
        self.pid = pid
        self.starting = starting


class DataDirLock:
    """
    The lock of one data dir, held from L{acquire} until L{release} (or
    the end of the process).
    """

    def __init__(self, directory, seconds=time.monotonic, wait=time.sleep):
        """
        @param seconds: the clock a wait for a starting holder is timed on.
        @param wait: blocks for so many seconds (it runs before any
            reactor does).
        """
        self.directory = directory
        self._seconds = seconds
        self._wait = wait
        self.path = os.path.join(directory, LOCK_NAME)
        self._fd = None
        #: The folders and lock file made by L{acquire}; the folder's
        #: entries once it held the lock (None: not held yet).
        self._made = []
        self._before = None

    def acquire(self, patience=PATIENCE):
        """
        Take the lock, creating the directory if need be; while another
        holds it and says it is starting, try again for up to
        ``patience`` seconds.

        @raise StoreError: when another process holds it (naming its pid,
            and whether it was still starting), or the directory cannot
            be used.
        """
        deadline = self._seconds() + patience
        waited = False
        while True:
            try:
                return self._take()
            except _Held as held:
                if not held.starting or self._seconds() >= deadline:
                    who = f"pid {held.pid}" if held.pid else "another process"
                    if held.starting:
                        who += f", still starting after {patience:g} s"
                    raise StoreError(f"data dir {self.directory} is in use by another "
                                     f"node ({who}); give each node its own "
                                     "--data-dir") from None
                waited = True
            except StoreError:
                # A holder that gave up removes the folder it made: one
                # gone while it was looked at is tried again.
                if (not waited or os.path.exists(self.directory)
                        or self._seconds() >= deadline):
                    raise
            self._wait(RETRY)

    def _take(self):
        """One try at the lock (L{acquire})."""
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
            holder = _readStamp(fd)
            os.close(fd)
            raise _Held(*holder) from None
        self._fd = fd
        # Held: from here on, what is new in the folder is this node's.
        self._made = folders + lock
        self._before = set(os.listdir(self.directory))
        self.stamp(starting=True)

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

    def stamp(self, starting=True):
        """Write this process's pid into the lock file, and ``starting``
        after it while its start has not succeeded."""
        if self._fd is None:
            return
        data = f"{os.getpid()}{' ' + STARTING if starting else ''}\n".encode("ascii")
        try:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, data, 0)
        except OSError:
            pass  # the pid is a courtesy; the lock is what counts

    def started(self):
        """The holder's start has succeeded: a node that finds the lock
        held is refused at once."""
        self.stamp(starting=False)

    def release(self):
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def _readStamp(fd):
    """The holder's pid (None if unreadable) and whether it says it is
    starting."""
    try:
        words = os.pread(fd, 32, 0).decode("ascii", "replace").split()
    except OSError:
        return None, False
    pid = int(words[0]) if words and words[0].isdigit() else None
    return pid, words[1:] == [STARTING]
