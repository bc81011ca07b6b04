"""
The store's writer process: a daemon's SQLite writes, and the syncs that
make them durable, in a process of their own
(L{twisted_bazaar.store.writerprocess} starts it and speaks to it).

A thread of the daemon's own would share its GIL: every statement the
writer runs releases the GIL and takes it back, and each time the
reactor's thread, wanting it back after a ``recv`` or a ``send``, waited
for the writer's next release (about one thread switch a purchase on a
busy durable seller: docs/benchmarks.md, "The ledger's writes in a
process of their own").  Here the writes have a GIL of their own.

The loop, L{serve}: take every request the pipe holds (at least one),
run each as one transaction (with ``synchronous=NORMAL``: the commit
returns once its frames are in the WAL), then sync the WAL once for all
of them (``fdatasync``), and only then say how each went.  So a request
is answered done only once a sync started after its commit has returned
(what ``synchronous=FULL`` gives), and the requests that come while one
batch syncs are committed together and covered by the next sync: a group
commit as large as the load.  A sync that fails leaves writes that may
or may not be on disk: that batch fails, and the process ends once it
has answered it (status 1, the reason on its stderr), so that nothing
written after it is promised either: its parent fails every later
request, and its daemon ends (L{twisted_bazaar.store.writerprocess}).
Before each batch it looks at its database's path: a file moved or
deleted (with its data dir) fails the batch and ends it likewise.

Requests and answers are frames of a 4-byte big-endian length and a
pickle (the two ends are one program: the parent started this one):

  - parent to child: ``(number, what, statements)``, a write (see
    L{twisted_bazaar.store.sqlite._transaction}); ``(number, None,
    None)``: close the database and end;
  - child to parent: a list of ``(number, error)`` for a batch, error
    None when the write is on disk, else its reason (a L{StoreError}'s
    text).

Run as ``python -m twisted_bazaar.store.writer PATH BUSY_TIMEOUT
PARENT_PID``: it reads its standard input and answers on its standard
output, and ends when told to, when its input ends, or, killed by the
kernel, as soon as its parent ends
(L{twisted_bazaar.base.childloop.dieWithParent}).
"""

import sqlite3
import sys

from twisted_bazaar.base import childloop
from twisted_bazaar.base.samefile import fileIdentity
from twisted_bazaar.store.records import StoreError
from twisted_bazaar.store.sqlite import _transaction
from twisted_bazaar.store.syncing import walSync


def connect(path, busy_timeout):
    """The writer's connection: WAL, each commit synced by L{serve}."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def runBatch(db, sync, requests, gone=lambda: None):
    """
    Run a batch of write requests, then one sync for those committed.

    @param sync: the function that syncs the WAL (raising on failure).
    @param gone: asked first: why the database is no longer the file it
        opened (moved or deleted with its data dir), or None.  Then every
        write fails, and the batch as a failed sync does: a write to a
        file no path names would be answered done and lost.
    @return: ((number, error) a request, the reason the sync (or the
        file) failed or None, whether a close was asked for).
    """
    outcomes, committed, closing, failed = [], [], False, gone()
    for number, what, statements in requests:
        if what is None:
            closing = True
            continue
        if failed is not None:
            outcomes.append((number, f"{what}: {failed}"))
            continue
        try:
            _transaction(db, what, statements)
        except StoreError as e:
            outcomes.append((number, str(e)))
        else:
            committed.append((number, what))
    if committed:
        try:
            sync()
        except OSError as e:
            failed = f"the disk did not sync: {e}"
            outcomes += [(number, f"{what}: {failed}") for number, what in committed]
        else:
            outcomes += [(number, None) for number, _ in committed]
    outcomes.sort()
    return outcomes, failed, closing


def serve(path, busy_timeout, read_fd=0, write_fd=1):
    """The writer's loop (see the module docstring), until a close, the
    end of its input, or a failed sync (then it raises C{OSError}, why)."""
    db = connect(path, busy_timeout)
    sync = walSync(path)
    failed = None
    opened = fileIdentity(path)

    def gone():
        now = fileIdentity(path)
        if now == opened:
            return None
        return (f"{path} was moved or deleted" if now is None
                else f"{path} was replaced by another file")

    def handle(requests):
        nonlocal failed
        outcomes, failed, closing = runBatch(db, sync, requests, gone)
        return outcomes, closing or failed is not None

    def finish():
        db.close()
        if failed is not None:
            raise OSError(failed)

    childloop.serve(handle, read_fd, write_fd, finish=finish)


def main(argv=None):
    path, busy_timeout, parent = (argv if argv is not None else sys.argv[1:])
    childloop.childMain(parent, lambda: serve(path, float(busy_timeout)),
                        (OSError, sqlite3.Error), "its database or disk failed")


if __name__ == "__main__":
    main()
