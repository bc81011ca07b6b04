"""
The sync that makes a SQLite store's committed writes durable, apart
from its commits: the store's writer process
(L{twisted_bazaar.store.writer}) commits with ``synchronous=NORMAL``
(the commit returns once its frames are in the WAL, as consistent as
with FULL but not yet durable) and syncs the WAL once for every batch of
commits, which is what FULL's sync inside each commit gave, once for
many (docs/benchmarks.md, "Where a purchase's time goes").
"""

import os


def walSync(path):
    """
    The sync of a SQLite database at ``path`` in WAL mode: its WAL's data
    to the disk (``fdatasync``, as SQLite's own sync), and the folder the
    first time the WAL file is met, so that its name is on disk too.
    Without a WAL (the last connection closed it, checkpointed), the
    database file itself.
    """
    folder = os.path.dirname(path) or "."
    synced = {}

    def sync():
        try:
            fd = os.open(path + "-wal", os.O_RDONLY)
        except FileNotFoundError:
            fd = os.open(path, os.O_RDONLY)
        try:
            os.fdatasync(fd)
            inode = os.fstat(fd).st_ino
        finally:
            os.close(fd)
        if synced.get("inode") != inode:
            fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            synced["inode"] = inode

    return sync
