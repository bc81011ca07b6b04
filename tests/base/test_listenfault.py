"""
Tests for twisted_bazaar.base.listenfault: a UNIX socket's folder, not
Twisted's lock file, named when a port cannot listen.
"""

import errno
import os

from twisted.internet.error import CannotListenError
from twisted.python.lockfile import FilesystemLock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.listenfault import listenFault
from tests.files.helpers import scratchDir


def _lockError(path):
    """What the reactor's listenUNIX raises for path: its lock file's."""
    try:
        FilesystemLock(os.fsencode(path) + b".lock").lock()
    except OSError as e:
        return e
    raise AssertionError(f"{path}'s lock was taken")


class ListenFaultTests(SynchronousTestCase):
    def setUp(self):
        self.folder = scratchDir(self)

    def test_aFolderMissing(self):
        missing = os.path.join(self.folder, "no", "such")
        self.assertEqual(listenFault(_lockError(f"{missing}/x.sock")),
                         f"its folder {missing} does not exist (make it first)")

    def test_aFileForAFolder(self):
        afile = os.path.join(self.folder, "a-file")
        open(afile, "w").close()
        self.assertEqual(listenFault(_lockError(f"{afile}/x.sock")),
                         f"{afile}, its folder, is not a folder")

    def test_aFolderItCannotWriteIn(self):
        error = OSError(errno.EACCES, "Permission denied", "17049", None,
                                b"/run/x.sock.lock")
        self.assertEqual(listenFault(error),
                         "cannot write in its folder /run (Permission denied)")

    def test_anyOtherReasonAsItIs(self):
        taken = CannotListenError("127.0.0.1", 8080,
                                  OSError(errno.EADDRINUSE, "Address already in use"))
        self.assertEqual(listenFault(taken), str(taken))
        self.assertEqual(listenFault(OSError(errno.ENOENT, "gone", "a", None, "b")),
                         "[Errno 2] gone: 'a' -> 'b'")
