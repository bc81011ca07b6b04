"""
A daemon's side of the store's writer process
(L{twisted_bazaar.store.writer}): it starts the process on the reactor it
is given, hands it each write, and fires each write's Deferred once the
process says the write is on disk.

The daemon's process then runs one Python thread, the reactor's: its
ledger's writes and syncs take no GIL from it (docs/benchmarks.md, "The
ledger's writes in a process of their own").  Handing a write over is
one pickle and one ``write`` to a pipe; its answer comes back as the
reactor reads the pipe, a batch of answers a read.
"""

import os
import pickle
import sys

from twisted.internet import defer
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger

from twisted_bazaar.store.records import StoreError
from twisted_bazaar.store.pipeframes import Frames, frame


class WriterProcess(ProcessProtocol):
    """
    The writer process of one SQLite store: L{write} hands it a write;
    L{stop} closes its database and ends it.

    If the process ends before it is asked to (killed, or its database
    broke), every write waiting fails with a L{StoreError} saying so, and
    every later one too: nothing is promised that is not on disk.
    """

    log = Logger()

    def __init__(self, reactor, path, busy_timeout):
        self.reactor = reactor
        self.path = path
        self.busy_timeout = busy_timeout
        self._frames = Frames()
        self._number = 0
        #: number -> (the write's Deferred, what it does)
        self._waiting = {}
        self._failed = None
        self._ended = defer.Deferred()
        self._stopping = False
        self._errors = b""

    @property
    def failed(self):
        """Why writes fail now (a L{StoreError}), or None."""
        return self._failed

    def start(self):
        """Start the process: ``python -m twisted_bazaar.store.writer``, the
        database's absolute path (``ps`` shows whose writer it is), the
        busy timeout and this process's pid (whose end ends it), with
        this process's interpreter and module path."""
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self.reactor.spawnProcess(
            self, sys.executable,
            [sys.executable, "-m", "twisted_bazaar.store.writer",
             os.path.abspath(self.path), repr(self.busy_timeout), str(os.getpid())],
            env=env, childFDs={0: "w", 1: "r", 2: "r"})

    def write(self, what, statements):
        """
        Have the process run statements as one transaction (see
        L{twisted_bazaar.store.sqlite._transaction}) and sync it.

        @return: a Deferred firing with None once it is on disk, or
            failing with L{StoreError}("what: why").
        """
        if self._failed is not None:
            return defer.fail(StoreError(f"{what}: {self._failed}"))
        if self._stopping:
            return defer.fail(StoreError(f"{what}: the store is closed"))
        self._number += 1
        d = defer.Deferred()
        self._waiting[self._number] = (d, what)
        self._send(frame((self._number, what, statements)))
        return d

    def _send(self, data):
        """
        Write data to the process now if its pipe holds nothing unsent,
        else through the transport (which writes once the pipe takes
        more).  Twisted's C{write} only buffers, and its bytes leave on the
        reactor's next turn, through two ``epoll_ctl`` calls and a pass
        through its dispatch, for every group commit; as
        L{twisted_bazaar.net.sendnow} does for a link's answers.
        """
        pipe = getattr(self.transport, "pipes", {}).get(0)
        if (pipe is not None and pipe.connected and not pipe.disconnecting
                and not pipe._tempDataLen and pipe.offset == len(pipe.dataBuffer)):
            sent = pipe.writeSomeData(data)
            if type(sent) is int:
                if sent == len(data):
                    return
                data = data[sent:]
        self.transport.write(data)

    def stop(self):
        """
        Close the database once every write handed over is done, and end
        the process.

        @return: a Deferred firing once it has ended.
        """
        if not self._stopping and self._failed is None:
            self._stopping = True
            self._number += 1
            self._send(frame((self._number, None, None)))
            self.transport.closeStdin()
        result = defer.Deferred()
        self._ended.addBoth(_fire, result)
        return result

    # -- ProcessProtocol ----------------------------------------------------------

    def childDataReceived(self, fd, data):
        if fd == 2:
            self._errors = (self._errors + data)[-4096:]
            return
        for payload in self._frames.feed(data):
            outcomes = pickle.loads(payload)
            if outcomes is None:
                continue
            waiting = self._waiting
            for number, error in outcomes:
                d, _ = waiting.pop(number)
                if error is None:
                    d.callback(None)
                else:
                    d.errback(StoreError(error))

    def processEnded(self, reason):
        if not (self._stopping and reason.value.exitCode == 0):
            said = self._errors.decode("utf-8", "replace").strip().splitlines()
            why = said[-1] if said else reason.getErrorMessage()
            self._failed = f"the store's writer process ended: {why}"
            self.log.critical("{why}", why=self._failed)
        waiting, self._waiting = self._waiting, {}
        for d, what in waiting.values():
            d.errback(StoreError(f"{what}: {self._failed or 'the store is closed'}"))
        self._ended.callback(None)


def _fire(result, d):
    d.callback(None)
    return result
