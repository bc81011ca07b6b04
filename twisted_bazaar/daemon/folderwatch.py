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
    Looks at a folder every L{EVERY} seconds on ``clock`` from its start
    until its stop (its one timer is cancelled then), and tells
    ``onGone(why)`` once if the folder is no longer the one it started
    with: moved, deleted, or another in its place.
    """

    def __init__(self, clock, path, onGone, every=EVERY):
        """
        @param clock: an L{IReactorTime} (a L{twisted.internet.task.Clock}
            in tests).
        @param path: the folder.
        @param onGone: told the reason, in words, once.
        """
        self._clock = clock
        self.path = os.path.abspath(path)
        self._onGone = onGone
        self._every = every
        self._kept = None
        self._call = None

    def startService(self):
        Service.startService(self)
        self._kept = fileIdentity(self.path)
        self._call = self._clock.callLater(self._every, self._look)

    def stopService(self):
        if self._call is not None:
            self._call.cancel()
            self._call = None
        return Service.stopService(self)

    def _look(self):
        self._call = None
        now = fileIdentity(self.path)
        if now == self._kept:
            self._call = self._clock.callLater(self._every, self._look)
        elif now is None:
            self._onGone("the folder was moved or deleted while the daemon ran")
        else:
            self._onGone("the folder was replaced by another while the daemon ran "
                         "(moved or deleted, and made again)")
