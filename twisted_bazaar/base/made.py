"""
What a daemon's start made on disk, known to be its own, so that a start
that fails removes it again and nothing else: never a folder or file that
was there before, nor one another process made or uses meanwhile (two
trackers started at once on one state directory; issue 96, M6).

Each thing is made so that the making says whose it is: a folder by
C{mkdir} (EEXIST: another's), a file by a link that fails when the name
is taken (L{twisted_bazaar.identity.keys.Identity.inDirectory}).  A folder
several processes may use at once is held with a shared C{flock} while
used (L{SharedFolder}): what one made is removed only when it is alone.
"""

import errno
import fcntl
import os
import time

#: Times a folder is made again when another process removed it (or its
#: parent) while this one made it.
_ATTEMPTS = 20
#: Seconds a failed start waits for the others holding its folder to let
#: go of it (another failed start, ending too), and between its tries.
PATIENCE, _STEP = 2.0, 0.05


def makeFolders(directory, mode=0o700):
    """
    Make ``directory`` and its missing parents, one at a time, as
    C{os.makedirs} does.

    @return: the folders this call made, the outermost first: one that
        exists already (made meanwhile by another process too) is not.
    @raise OSError: when one cannot be made.
    """
    made = []
    for folder in missingFolders(directory):
        try:
            os.mkdir(folder, mode)
        except FileExistsError:
            continue
        made.append(folder)
    if not os.path.isdir(directory):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), directory)
    return made


def missingFolders(directory):
    """The folders of ``directory`` that do not exist yet, the outermost
    first: what making it (with its parents) would make."""
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


class SharedFolder:
    """
    A folder this process uses, made if missing, and held with a shared
    C{flock} on the folder itself until the process ends: a start that
    fails removes what it made there (L{undo}) only when no other process
    holds it, under an exclusive lock, so that one starting meanwhile
    waits, then finds the folder gone, and makes it anew.

    @ivar made: the paths this process made there, in the order made
        (L{makeFolders}'s, then what its caller adds).
    """

    def __init__(self, directory, mode=0o700, sleep=time.sleep):
        """@param sleep: waits a number of seconds (L{undo}'s tries)."""
        self.directory = directory
        self.mode = mode
        self._sleep = sleep
        self.made = []
        #: The folders missing when it looked: those another start made
        #: meanwhile (a race of two) go too, if empty, with its own.
        self._missing = []
        self._fd = None

    def take(self):
        """
        Make the folder (with its parents) if missing and hold it.

        @raise OSError: when it cannot be made or opened.
        """
        for _ in range(_ATTEMPTS):
            made = []
            missing = missingFolders(self.directory)
            try:
                made = makeFolders(self.directory, self.mode)
                fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
            except FileNotFoundError:
                continue  # a parent removed by a failed start meanwhile
            except OSError:
                unmake(made)
                raise
            try:
                # Blocks only while another process removes what it made.
                fcntl.flock(fd, fcntl.LOCK_SH)
            except BlockingIOError:
                raise
            except OSError:
                pass  # a file system without locks: as if alone (undo)
            if _same(fd, self.directory):
                self._fd = fd
                self.made = made
                self._missing = missing
                return
            os.close(fd)  # removed while this one waited: make it anew
        raise OSError(errno.EAGAIN, "made and removed again by other processes, "
                      f"{_ATTEMPTS} times", self.directory)

    def undo(self):
        """
        Remove what this process made, once no other holds the folder;
        if one still does after L{PATIENCE} seconds (a tracker that runs
        on it), leave it all.  Lets go of it.

        Two starts that fail at once wait for each other: a try that
        fails lets go of this one's own hold (C{flock} converts a lock by
        removing it first), so the other's next try gets it.
        """
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if not self.made:
            os.close(fd)
            return
        try:
            for _ in range(round(PATIENCE / _STEP)):
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    self._sleep(_STEP)
                    continue
                except OSError:
                    pass  # a file system without locks: what it made goes
                unmake(self.made)
                # A parent a start racing this one made (each made some of
                # them) is no one's state once empty: one that is about to
                # make a folder in it finds it gone, and makes it again.
                for folder in reversed(self._missing):
                    try:
                        os.rmdir(folder)
                    except OSError:
                        pass
                self.made = []
                return
        finally:
            os.close(fd)


def _same(fd, path):
    """Whether ``path`` still names the folder open as ``fd``."""
    try:
        there = os.stat(path)
    except OSError:
        return False
    held = os.fstat(fd)
    return (there.st_dev, there.st_ino) == (held.st_dev, held.st_ino)
