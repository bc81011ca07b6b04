"""
Tests for twisted_bazaar.base.listenfault: a UNIX socket's folder, not
Twisted's lock file, named when a port cannot listen.
"""

import errno
import os

from twisted.internet.error import CannotListenError
from twisted.python.lockfile import FilesystemLock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base import listenfault
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

    def test_anIpPortInTheProjectsWords(self):
        """Not Twisted's "Couldn't listen on any:7700: [Errno 98] Address
        already in use." (--ws-port and --transfer-port said it whole): the
        port, where, and why, as the user can act on it."""
        def fault(interface, port, code, words):
            return listenFault(CannotListenError(interface, port, OSError(code, words)))
        self.assertEqual(fault("127.0.0.1", 8080, errno.EADDRINUSE, "Address already in use"),
                         "port 8080 of 127.0.0.1 is in use (another program, or another "
                         "daemon, listens there)")
        self.assertEqual(fault("", 7700, errno.EADDRINUSE, "Address already in use"),
                         "port 7700 is in use (another program, or another daemon, "
                         "listens there)")
        self.assertEqual(fault("", 80, errno.EACCES, "Permission denied"),
                         "port 80 is below 1024, which only root (or a program given "
                         "CAP_NET_BIND_SERVICE) may listen on")
        self.assertEqual(fault("192.0.2.1", 7700, errno.EADDRNOTAVAIL,
                               "Cannot assign requested address"),
                         "192.0.2.1 is not an address of this machine (port 7700)")
        self.assertEqual(fault("any", 7700, errno.EMFILE, "Too many open files"),
                         "port 7700: Too many open files")
        self.assertEqual(listenFault(CannotListenError("h", 5, "address in use")),
                         "port 5 of h: address in use")

    def test_aPortThisDaemonHoldsItself(self):
        """A port in use by this very process (one port under two of a
        daemon's options, --listen tcp:9000 --ws-port 9000) is said so, not
        as another program's, which the user would look for in vain; TCP
        or UDP as the port was."""
        asked = []

        def holds(port, udp=False):
            asked.append((port, udp))
            return port == 9000
        self.patch(listenfault, "holds", holds)

        def inUse(port, **kwargs):
            return listenFault(CannotListenError("", port, OSError(
                errno.EADDRINUSE, "Address already in use")), **kwargs)
        self.assertEqual(inUse(9000), "port 9000 is in use by this daemon itself: two "
                         "of its options name it (give each its own port)")
        self.assertEqual(inUse(9001), "port 9001 is in use (another program, or another "
                         "daemon, listens there)")
        inUse(9000, udp=True)
        self.assertEqual(asked, [(9000, False), (9001, False), (9000, True)])

    def test_anyOtherReasonAsItIs(self):
        self.assertEqual(listenFault(OSError(errno.ENOENT, "gone", "a", None, "b")),
                         "[Errno 2] gone: 'a' -> 'b'")
