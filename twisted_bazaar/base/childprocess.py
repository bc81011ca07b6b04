"""
A daemon's side of a helper process of its own (the store's writer,
L{twisted_bazaar.store.writerprocess}).  Work handed to such a
process runs beside the reactor's thread, on the machine's other core,
and takes no GIL from it (docs/benchmarks.md, "The ledger's writes in a
process of their own").

The two speak frames of L{twisted_bazaar.base.pipeframes} over the
child's standard input and output:

  - parent to child: ``(number, what, request)``, numbered from 1;
    ``(number, None, None)``: finish what was handed over and end;
  - child to parent: a list of answers, each ``(number, error)``: error
    None once the request is done, else the reason it failed; or None as
    the child's last frame.

The child's loop is L{twisted_bazaar.base.childloop}.
"""

import os
import pickle
import signal
import sys

from twisted.internet import defer
from twisted.internet.error import ProcessExitedAlready
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger

from twisted_bazaar.base.childloop import PARENTS_SIGNALS
from twisted_bazaar.base.pipeframes import Frames, frame


#: Seconds a helper asked to end, with no request that carries anything
#: unanswered (an empty one only asks whether it runs), may take before it
#: is killed: it holds nothing of ours, and one still starting (its
#: interpreter loading: 25 s and more on a machine at load 40, s57-soak)
#: held its daemon's SIGTERM that long, or for ever if it never ran.
STOP_GRACE = 2.0


class ChildProcess(ProcessProtocol):
    """
    One helper process: L{ask} hands it a request, L{stop} ends it.

    If the process ends before it is asked to (killed, or broken), or
    cannot be started once the reactor runs, every request waiting fails
    with a C{gone} error saying so, and every later one too; and that is
    said once: to C{onEnded}, whose owner acts on it (a daemon ends), or
    else as a critical line.

    @ivar name: what the process is, in its failures' reasons ("the
        store's writer process").
    @ivar onEnded: told why, once, when the process is gone for good
        before it was asked to end; or None.
    """

    log = Logger()

    def __init__(self, reactor, module, args, name, error, closed, gone=None,
                 onEnded=None):
        """
        @param module: the child's module, run as ``python -m module``.
        @param args: its arguments (strings), before this process's pid.
        @param error: the exception class of a failed request.
        @param closed: why a request fails once L{stop} was called.
        @param gone: the exception class of a request failed because the
            process is gone for good (C{error} by default).
        """
        self.reactor = reactor
        self.module = module
        self.args = args
        self.name = name
        self.error = error
        self.closed = closed
        self.gone = gone or error
        self.onEnded = onEnded
        self._frames = Frames()
        self._number = 0
        #: number -> (the request's Deferred, what it does)
        self._waiting = {}
        self._failed = None
        self._ended = defer.Deferred()
        self._stopping = False
        self._errors = b""
        #: Frames asked for before the process was started.
        self._unsent = []
        #: Why the process could not be started, once it could not.
        self._cannotStart = None
        #: Inside L{start}, whose caller is told a refusal by its raise.
        self._starting = False
        #: The timer that kills it once asked to end (L{STOP_GRACE}).
        self._overdue = None
        self._killed = False
        #: The numbers of the requests that carry something (not empty).
        self._carrying = set()

    @property
    def failed(self):
        """Why requests fail now (the process ended unasked), or None."""
        return self._failed

    def start(self):
        """
        Start the process once the reactor runs (at once if it does):
        ``python -m module``, its arguments and this process's pid (whose
        end ends it: L{childloop.dieWithParent}), with this process's
        interpreter and module path.  Not before: twistd builds a daemon
        before it forks it into the background, and a child of the
        process that then exits would die with it.  Requests asked before
        wait for it.

        @raise OSError: when the reactor runs and the process cannot be
            started (then, too, every request fails, saying why; that
            raise is the one report of it).
        """
        self._starting = True
        try:
            self.reactor.callWhenRunning(self._spawn)
        finally:
            self._starting = False
        if self._cannotStart is not None:
            raise self._cannotStart

    def _spawn(self):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        # Born with its parent's signals blocked (a process inherits the
        # mask), until it ignores them (L{childloop.childMain}): a Ctrl-C
        # to the process group while it started ended it with
        # KeyboardInterrupt, its node saying its ledger was gone.
        before = signal.pthread_sigmask(signal.SIG_BLOCK, PARENTS_SIGNALS)
        try:
            self.reactor.spawnProcess(
                self, sys.executable,
                [sys.executable, "-m", self.module, *self.args, str(os.getpid())],
                env=env, childFDs={0: "w", 1: "r", 2: "r"})
        except OSError as e:
            self._cannotStart = e
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, before)
        if self._cannotStart is not None:
            self._end(f"cannot start {self.name}: {self._cannotStart}")

    def ask(self, what, request):
        """
        Hand the process a request.

        @param what: what it does, the head of its failure's reason.
        @return: a Deferred firing with None once it is done, or failing
            with C{error}("what: why").
        """
        if self._failed is not None:
            return defer.fail(self.gone(f"{what}: {self._failed}"))
        if self._stopping:
            return defer.fail(self.error(f"{what}: {self.closed}"))
        self._number += 1
        d = defer.Deferred()
        self._waiting[self._number] = (d, what)
        if request:
            self._carrying.add(self._number)
        self._send(frame((self._number, what, request)))
        return d

    def _send(self, data):
        """
        Write data to the process now if its pipe holds nothing unsent,
        else through the transport (which writes once the pipe takes
        more).  Twisted's C{write} only buffers, and its bytes leave on the
        reactor's next turn, through two ``epoll_ctl`` calls and a pass
        through its dispatch, for every request; as
        L{twisted_bazaar.net.sendnow} does for a link's answers.
        """
        if self.transport is None:
            self._unsent.append(data)
            return
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
        Have the process finish every request handed over, then end.

        @return: a Deferred firing once it has ended.
        """
        if not self._stopping and self._failed is None:
            self._stopping = True
            self._number += 1
            self._send(frame((self._number, None, None)))
            if self.transport is not None:
                self.transport.closeStdin()
            self._overdue = self.reactor.callLater(STOP_GRACE, self._kill)
        result = defer.Deferred()
        self._ended.addBoth(_fire, result)
        return result

    def _kill(self):
        """Asked to end L{STOP_GRACE} s ago and not ended: unless a request
        that carries something waits (its work may be on its way to disk),
        it holds nothing of ours, so it is killed, an end as asked."""
        self._overdue = None
        if self.transport is None or not self._carrying.isdisjoint(self._waiting):
            return
        self._killed = True
        try:
            self.transport.signalProcess("KILL")
        except ProcessExitedAlready:
            pass

    # -- ProcessProtocol ----------------------------------------------------------

    def connectionMade(self):
        unsent, self._unsent = self._unsent, []
        for data in unsent:
            self._send(data)
        if self._stopping:
            self.transport.closeStdin()

    def childDataReceived(self, fd, data):
        if fd == 2:
            self._errors = (self._errors + data)[-4096:]
            return
        for payload in self._frames.feed(data):
            answers = pickle.loads(payload)
            if answers is None:
                continue
            waiting = self._waiting
            for number, error in answers:
                d, _ = waiting.pop(number)
                self._carrying.discard(number)
                if error is None:
                    d.callback(None)
                else:
                    d.errback(self.error(error))

    def processEnded(self, reason):
        if self._stopping and (reason.value.exitCode == 0 or self._killed):
            self._end(None)
            return
        said = self._errors.decode("utf-8", "replace").strip().splitlines()
        self._end(f"{self.name} ended: {said[-1] if said else reason.getErrorMessage()}")

    def _end(self, failed):
        """The process is gone (or never came): every request waiting
        fails, and, if it was not asked to end (``failed``, why not),
        every later one; that is said first, once (L{onEnded})."""
        if self._overdue is not None and self._overdue.active():
            self._overdue.cancel()
        self._overdue = None
        error = self.error
        if failed is not None:
            self._failed, error = failed, self.gone
            if not self._starting:  # else L{start} raises it: its one report
                self._say(failed)
        waiting, self._waiting = self._waiting, {}
        self._carrying.clear()
        for d, what in waiting.values():
            d.errback(error(f"{what}: {self._failed or self.closed}"))
        self._ended.callback(None)

    def _say(self, why):
        if self.onEnded is not None:
            self.onEnded(why)
        else:
            self.log.critical("{why}", why=why)


def _fire(result, d):
    d.callback(None)
    return result
