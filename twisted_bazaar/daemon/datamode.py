"""
Who may read a node's data dir: its ledger (``bazaar.sqlite``: what the
node bought and sold, from whom) is its operator's, as its key is
(L{twisted_bazaar.identity.keys.Identity.read} refuses a key others may
read).  A ledger left open to others by an earlier version (sqlite made it
0666 less the umask) is made its owner's only at start, and said; a data
dir others may write in is said, not changed (it may be a folder its owner
shares on purpose, a home directory).  One others may only read (mkdir's
0755) is no fault, and said nothing of at each start: what it holds is
its owner's alone, and its names are the same in every node's.
"""

import os
import stat

from twisted_bazaar.store import DB_NAME

#: The ledger's files: the database, and sqlite's write-ahead log and its
#: index, which hold its latest writes.
LEDGER_FILES = (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm")


def _mode(path):
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None


def keptToItsOwner(directory):
    """
    Make the ledger's files in ``directory`` their owner's only, where
    others could read or write them.

    @return: a line for each thing done or found, for the log.
    @raise OSError: if a file cannot be changed.
    """
    lines = []
    for name in LEDGER_FILES:
        path = os.path.join(directory, name)
        mode = _mode(path)
        if mode is not None and mode & 0o077:
            os.chmod(path, mode & 0o700)
            lines.append(f"{path} could be read by others than its owner (mode "
                         f"{mode:04o}): made {mode & 0o700:04o}; it says what this node "
                         "bought and sold, and from whom")
    mode = _mode(directory)
    if mode is not None and mode & 0o022 and not mode & stat.S_ISVTX:
        lines.append(f"data dir {directory} can be written in by others than its owner "
                     f"(mode {mode:04o}): they could replace or remove its files, its "
                     f"key and ledger among them; chmod 700 {directory} if it is this "
                     "node's alone")
    return lines
