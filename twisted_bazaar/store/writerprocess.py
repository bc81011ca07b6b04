"""
A daemon's side of the store's writer process
(L{twisted_bazaar.store.writer}): it starts the process on the reactor it
is given, hands it each write, and fires each write's Deferred once the
process says the write is on disk.

The daemon's process then runs one Python thread, the reactor's: its
ledger's writes and syncs take no GIL from it (docs/benchmarks.md, "The
ledger's writes in a process of their own").  Handing a write over is
one pickle and one ``write`` to a pipe; its answer comes back as the
reactor reads the pipe, a batch of answers a read
(L{twisted_bazaar.base.childprocess}).
"""

import os

from twisted_bazaar.base.childprocess import ChildProcess
from twisted_bazaar.store.records import StoreError, WriterGone


class WriterProcess(ChildProcess):
    """
    The writer process of one SQLite store: L{write} hands it a write;
    L{stop} closes its database and ends it.

    If the process ends before it is asked to (killed, its database
    broke, a sync failed), or cannot start, every write waiting fails with
    a L{WriterGone} saying so, and every later one too: nothing is
    promised that is not on disk.  ``onEnded`` is told why, once.
    """

    def __init__(self, reactor, path, busy_timeout, onEnded=None):
        # The database's absolute path among its arguments: ``ps`` shows
        # whose writer it is.
        ChildProcess.__init__(
            self, reactor, "twisted_bazaar.store.writer",
            [os.path.abspath(path), repr(busy_timeout)],
            "the store's writer process", StoreError, "the store is closed",
            gone=WriterGone, onEnded=onEnded)
        self.path = path
        self.busy_timeout = busy_timeout

    def write(self, what, statements):
        """
        Have the process run statements as one transaction (see
        L{twisted_bazaar.store.sqlite._transaction}) and sync it.

        @return: a Deferred firing with None once it is on disk, or
            failing with L{StoreError}("what: why").
        """
        return self.ask(what, statements)
