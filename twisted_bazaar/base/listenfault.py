"""
Why a port could not listen, in words: for a UNIX socket (``unix:PATH``)
Twisted's own reason is the lock file it tried to make beside the path
(``[Errno 2] No such file or directory: '17049' -> b'/run/x.sock.lock'``),
which names neither the path given nor its folder; L{listenFault} says
what is wrong with the folder instead.
"""

import errno
import os

#: The end Twisted gives the lock file beside a UNIX socket's path.
_LOCK = ".lock"


def listenFault(error):
    """
    The reason ``error`` (what an endpoint's ``listen`` failed with) says,
    in one line: for a UNIX socket's lock file, what is wrong with the
    socket's folder; else the error's own words.
    """
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
