"""
A daemon's state folder (a node's ``--data-dir``, a tracker's state
directory), watched while the daemon runs: one moved or deleted under it
leaves the daemon with a ledger or a key it can no longer keep (a node's
next sale fails, a buy hangs in doubt; a tracker's next start makes a new
key that every pinned node refuses), so it ends at once, saying which
folder, rather than run on without its state.
"""

import os

from twisted.application.service import Service

from twisted_bazaar.base.samefile import fileIdentity

#: Seconds between two looks at the folder: a daemon stops within about
#: a second of its folder's going.
EVERY = 0.5


class FolderWatch(Service):
    """
    Looks at a folder, then at each of the files in it it is given, every
    L{EVERY} seconds on ``clock`` from its start until its stop (its one
    timer is cancelled then), and tells the first that is no longer the
    one it started with (moved, deleted, or another in its place) why,
    once: the folder's ``onGone``, or the file's own.
    """

    def __init__(self, clock, path, onGone, every=EVERY, files=()):
        """
        @param clock: an L{IReactorTime} (a L{twisted.internet.task.Clock}
            in tests).
        @param path: the folder.
        @param onGone: told the reason, in words, once.
        @param files: (path, name in words, onGone) of files in the folder
            looked at after it (a node's lock, its key): one gone while the
            folder stays is told to its own onGone, which returns True if
            it put the file back (a key written again from memory): then it
            is looked at on as it now is.
        """
        self._clock = clock
        self.path = os.path.abspath(path)
        self._watched = [(self.path, "the folder", onGone)] + [
            (os.path.abspath(file), what, told) for file, what, told in files]
        self._every = every
        self._kept = ()
        self._call = None

    def startService(self):
        Service.startService(self)
        self._kept = [fileIdentity(path) for path, _, _ in self._watched]
        self._call = self._clock.callLater(self._every, self._look)

    def stopService(self):
        if self._call is not None:
            self._call.cancel()
            self._call = None
        return Service.stopService(self)

    def _look(self):
        self._call = None
        for index, ((path, what, onGone), kept) in enumerate(zip(self._watched,
                                                                 self._kept)):
            now = fileIdentity(path)
            if now == kept:
                continue
            if now is None:
                why = f"{what} was moved or deleted while the daemon ran"
            else:
                why = (f"{what} was replaced by another while the daemon ran "
                       "(moved or deleted, and made again)")
            if onGone(why) is not True:
                return
            self._kept[index] = fileIdentity(path)
        self._call = self._clock.callLater(self._every, self._look)
