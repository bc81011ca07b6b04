"""
What a daemon's start made on disk, known to be its own, so that a start
that fails removes it again and nothing else: never a folder or file that
was there before, nor one another process made or uses meanwhile (two
trackers started at once on one state directory; issue 96, M6).

Each thing is made so that the making says whose it is: a folder by
C{mkdir} (EEXIST: another's), a file by a link that fails when the name
is taken (L{twisted_bazaar.identity.keys.Identity.inDirectory}).  A folder
several processes may use at once is held with a shared C{flock} while
used (L{SharedFolder}): what one made is removed only when it is alone,
and a start that fails waits for those still starting, never for one
that runs on it (L{SharedFolder.running}).
"""

import errno
import fcntl
import os
import time

#: Times a folder is made again when another process removed it (or its
#: parent) while this one made it.
_ATTEMPTS = 20
#: Seconds a failed start waits for the others holding its folder, still
#: starting, to let go of it (another failed start ending too) or to run
#: on it, and between its tries: only a start that hangs takes them all.
PATIENCE, _STEP = 30.0, 0.05


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
    waits, then finds the folder gone, and makes it anew.  A process that
    has started holds its C{mark} file too, alone (L{running}): one that
    fails beside it leaves everything at once, and waits only for starts
    still under way, however slow (a loaded machine); one that starts
    beside it is refused (L{runsElsewhere}).

    @ivar made: the paths this process made there, in the order made
        (L{makeFolders}'s, then what its caller adds).
    """

    def __init__(self, directory, mode=0o700, sleep=time.sleep, mark=None):
        """
        @param sleep: waits a number of seconds (L{undo}'s tries).
        @param mark: the name of a file in the folder that a process
            running on it holds (L{running}); None: any holder may run on.
        """
        self.directory = directory
        self.mode = mode
        self._sleep = sleep
        self._mark = mark
        #: The mark's descriptor, held while this process runs on it.
        self._running = None
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
        gone = None
        for _ in range(_ATTEMPTS):
            made = []
            missing = missingFolders(self.directory)
            try:
                made = makeFolders(self.directory, self.mode)
                fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
            except FileNotFoundError as e:
                # A parent removed by a failed start meanwhile (made again
                # at the next attempt), or a place where no folder can be
                # made (under /proc): at every attempt, that.
                gone = e if gone is not False else False
                continue
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
            gone = False
        if gone:
            raise gone
        raise OSError(errno.EAGAIN, "made and removed again by other processes, "
                      f"{_ATTEMPTS} times", self.directory)

    def running(self):
        """
        This process has started and runs on the folder: it holds the
        C{mark} file with an exclusive lock until it ends, so that a start
        that fails beside it knows at once to leave what it made, and one
        more process cannot run on it too (L{runsElsewhere}).

        @return: False if another process runs on it already (two started
            at the same moment, each past L{runsElsewhere}); else True.
        """
        if self._mark is None or self._running is not None:
            return True
        try:
            fd = os.open(os.path.join(self.directory, self._mark), os.O_RDONLY)
        except OSError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except OSError:
            os.close(fd)
            return True  # a file system without locks: as if alone
        self._running = fd
        return True

    def stopped(self):
        """This process no longer runs on the folder (its reactor has
        stopped): it lets go of the C{mark} (L{running}), so that another
        may run on it; an undo still to come keeps its hold on the folder."""
        fd, self._running = self._running, None
        if fd is not None:
            os.close(fd)

    def runsElsewhere(self):
        """Whether another process runs on the folder (holds its mark:
        L{running}): a start that finds one refuses to run beside it.
        Asked before this one runs (its own hold would count)."""
        return self._othersRun()

    def _othersRun(self):
        """Whether another process runs on the folder (holds the mark)."""
        return self._mark is not None and heldElsewhere(
            os.path.join(self.directory, self._mark), fcntl.LOCK_EX)

    def undo(self):
        """
        Remove what this process made, once no other holds the folder;
        if one runs on it (L{running}), or one still holds it after
        L{PATIENCE} seconds (a start that hangs), leave it all.  Lets go
        of it.

        Two starts that fail at once wait for each other: a try that
        fails lets go of this one's own hold (C{flock} converts a lock by
        removing it first), so the other's next try gets it.  Each may
        have made some of the folders and the other the key in them: one
        whose folders still hold the other's lets go and tries again,
        until the other has removed its own.
        """
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            for _ in range(round(PATIENCE / _STEP)):
                if not self.made:
                    return
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    if self._othersRun():
                        return
                    self._sleep(_STEP)
                    continue
                except OSError:
                    unmake(self.made)  # a file system without locks: once
                    self.made = []
                    return
                self._unmakeAlone()
                if self.made:
                    # Another start's file in a folder this one made: it
                    # removes it as it ends (it holds the folder no more,
                    # trying for it too); then this one's folders go.
                    fcntl.flock(fd, fcntl.LOCK_UN)
                    self._sleep(_STEP)
        finally:
            os.close(fd)

    def _unmakeAlone(self):
        """Under the exclusive lock: remove what this process made; what
        is left (a folder holding another's file) stays in C{made}."""
        unmake(self.made)
        # A parent a start racing this one made (each made some of them)
        # is no one's state once empty: one that is about to make a
        # folder in it finds it gone, and makes it again.
        for folder in reversed(self._missing):
            try:
                os.rmdir(folder)
            except OSError:
                pass
        self.made = [path for path in self.made if os.path.lexists(path)]


def heldElsewhere(path, lock, unknown=False):
    """Whether another process holds a C{flock} on the file ``path`` that
    keeps this one from taking ``lock`` (C{LOCK_SH} or C{LOCK_EX}), asked
    without keeping it; a missing file is held by no one.

    @param unknown: the answer where locks cannot be had at all."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, lock | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return unknown  # a file system without locks
    finally:
        os.close(fd)
    return False


def _same(fd, path):
    """Whether ``path`` still names the folder open as ``fd``."""
    try:
        there = os.stat(path)
    except OSError:
        return False
    held = os.fstat(fd)
    return (there.st_dev, there.st_ino) == (held.st_dev, held.st_ino)
