"""
Why a port could not listen, in words: for a UNIX socket (``unix:PATH``)
Twisted's own reason is the lock file it tried to make beside the path
(``[Errno 2] No such file or directory: '17049' -> b'/run/x.sock.lock'``),
which names neither the path given nor its folder; L{listenFault} says
what is wrong with the folder instead.  For an IP port, Twisted's
``Couldn't listen on any:7700: [Errno 98] Address already in use.`` is
said as what the user can act on: the port taken, a privileged port, an
address not this machine's.
"""

import errno
import os

from twisted.internet.error import CannotListenError

from twisted_bazaar.base.ownports import holds

#: The line a port that listens logs (``where``: L{hostPort
#: <twisted_bazaar.base.address.hostPort>}, ``[::1]:7700`` for IPv6; its
#: ``host`` and ``port`` are the event's fields too).
LISTENING = "{what} listening on {where}"

#: The end Twisted gives the lock file beside a UNIX socket's path.
_LOCK = ".lock"


def listenFault(error, udp=False):
    """
    The reason ``error`` (what an endpoint's ``listen`` failed with) says,
    in one line: for a UNIX socket's lock file, what is wrong with the
    socket's folder; else the error's own words.

    @param udp: the port was a UDP one (a port in use is looked for among
        this process's own of that protocol).
    """
    if isinstance(error, CannotListenError):
        return _portFault(error, udp)
    lock = getattr(error, "filename2", None)
    if isinstance(error, OSError) and lock is not None:
        lock = os.fsdecode(lock)
        if lock.endswith(_LOCK):
            return _folderFault(os.path.dirname(os.path.abspath(lock[:-len(_LOCK)])),
                                error)
    return str(error)


def _folderFault(folder, error):
    if error.errno == errno.ENOENT:
        if not os.path.lexists(folder):
            return f"its folder {folder} does not exist (make it first)"
    if error.errno == errno.ENOTDIR:
        return f"{folder}, its folder, is not a folder"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write in its folder {folder} ({error.strerror})"
    return f"its folder {folder}: {error.strerror}"


def _portFault(error, udp):
    """A CannotListenError in words: its port, where, and why."""
    port, interface = error.port, error.interface
    where = f"port {port}" + (f" of {interface}" if interface not in ("", "any", None)
                              else "")
    cause = error.socketError
    code = getattr(cause, "errno", None)
    if code == errno.EADDRINUSE:
        if isinstance(port, int) and port > 0 and holds(port, udp):
            return (f"{where} is in use by this daemon itself: two of its options name "
                    "it (give each its own port)")
        return f"{where} is in use (another program, or another daemon, listens there)"
    if code in (errno.EACCES, errno.EPERM):
        if isinstance(port, int) and 0 < port < 1024:
            return (f"{where} is below 1024, which only root (or a program given "
                    "CAP_NET_BIND_SERVICE) may listen on")
        return f"{where}: not permitted ({cause.strerror})"
    if code == errno.EADDRNOTAVAIL:
        return f"{interface} is not an address of this machine (port {port})"
    why = getattr(cause, "strerror", None) or str(cause)
    return f"{where}: {why}"
