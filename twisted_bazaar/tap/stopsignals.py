"""
A daemon stopped by a signal stops once, and in order: a second SIGTERM
(or Ctrl-C) while it stops is told in one line, and changes nothing; one
that comes while it starts stops it as one that comes once it runs.

The reactor's own handler of SIGTERM and SIGINT calls C{reactor.stop},
which raises C{ReactorNotRunning} once the reactor is stopping, and that
is logged as an unhandled error.  L{stopOnce} puts a handler in front of
the reactor's, once it runs: the first signal (or a stop by any other
means before it) is the reactor's to handle; any after that is only
logged.

The reactor puts its handlers in place only when it runs; twistd starts
the services (the ports listen, the daemon says so) before that.  A
SIGTERM in between took the default action: the process ended at once,
with no stop line, no ``Server Shut Down.``, its pid file left behind.
Under twistd, L{stopOnce} handles the stop signals from the daemon's own
start as the reactor will (L{StopOnce.installEarly}).

Before the reactor runs, a daemon that builds its service for a while (a
chord node making the key its ring's puzzle asks, seconds at 16 bits) is
stopped by the same signals through L{interruptible}: they raise
L{StartInterrupted} where it is, so that what the start made is removed
on the way out and the daemon ends in one line rather than a traceback
(SIGINT) or at once, its new data dir left holding a lock (SIGTERM).
"""

import contextlib
import signal
import time

from twisted.logger import Logger

from twisted_bazaar.base.heldsignals import handledBy

#: The signals that stop a daemon.
STOPPING = (signal.SIGTERM, signal.SIGINT)
#: Seconds between two looks at whether a signal came, while a start is
#: held (L{holdStart}).
HOLD_STEP = 0.02


class StopOnce:
    """
    The handler in front of the reactor's, for each of L{STOPPING} that
    the reactor handles.

    @ivar stopping: the daemon is stopping (a signal came, or the reactor
        began its shutdown).
    """

    log = Logger()

    def __init__(self, reactor, signals=signal):
        """
        @param signals: what sets and reads the handlers (L{signal}).
        """
        self.reactor = reactor
        self.signals = signals
        self.stopping = False
        self._handlers = {}

    def installEarly(self):
        """
        Before the reactor runs (as the daemon is made, before any of its
        services starts): a stop signal is handled as the reactor's own
        handler will once it runs (logged, the reactor stopped as soon as
        it runs, the process ended with the signal), rather than by the
        default action, which ends the process in the middle of its
        start.  A signal the process was told to ignore stays ignored, as
        the reactor leaves it (a SIGINT of a daemon started with ``&``).
        """
        reactor = self.reactor
        for signum, default, handler in (
                (signal.SIGTERM, signal.SIG_DFL, reactor.sigTerm),
                (signal.SIGINT, signal.default_int_handler, reactor.sigInt)):
            if self.signals.getsignal(signum) == default:
                self._handlers[signum] = handler
                self.signals.signal(signum, self._received)

    def install(self):
        """Put this in front of the handlers there now (the reactor's,
        once it runs), and note a shutdown begun by other means."""
        for signum in STOPPING:
            handler = self.signals.getsignal(signum)
            if handler == self._received:
                # Ours from the start (L{installEarly}): the reactor leaves
                # a SIGINT handler that is not Python's own in place.
                continue
            if callable(handler):
                self._handlers[signum] = handler
                self.signals.signal(signum, self._received)
        # A hang-up (the terminal of `twistd -n` closed) ended the daemon
        # at once, as kill -9 does: no dc to its links.  It stops in
        # order, as for SIGTERM; one ignored (nohup) stays ignored.
        if (signal.SIGTERM in self._handlers
                and self.signals.getsignal(signal.SIGHUP) == signal.SIG_DFL):
            self._handlers[signal.SIGHUP] = self._hungUp
            self.signals.signal(signal.SIGHUP, self._received)
        self.reactor.addSystemEventTrigger("before", "shutdown", self._shuttingDown)

    def _hungUp(self, signum, frame):
        """Stop by the reactor's own SIGTERM handler, told the signal that
        came: twistd then ends the process by it (status 129 in a shell)."""
        self.log.info("received SIGHUP: stopping, as for SIGTERM")
        self._handlers[signal.SIGTERM](signum, frame)

    def _shuttingDown(self):
        self.stopping = True

    def _received(self, signum, frame):
        if self.stopping:
            self.log.info("received {name} again: already stopping",
                          name=signal.Signals(signum).name)
            return
        self.stopping = True
        self._handlers[signum](signum, frame)


def stopOnce(reactor, early=False):
    """
    Have the daemon on this reactor stop once (L{StopOnce}), from when it
    runs (when the reactor has put its own handlers in place).

    @param early: the daemon runs under twistd, whose signal handlers
        are this process's: stop signals are handled from now on
        (L{StopOnce.installEarly}), not only once the reactor runs.
    @return: the L{StopOnce}.
    """
    stopper = StopOnce(reactor)
    if early:
        stopper.installEarly()
    reactor.callWhenRunning(stopper.install)
    return stopper


def holdStart(reactor, seconds, stopper, clock=time.monotonic, wait=time.sleep):
    """
    Hold the daemon ``seconds`` once its services have started (its ports
    listen), before its reactor runs (``--start-delay``: a test's moment
    to send a signal then); a stop signal (``stopper``'s) ends the hold.
    """
    if not seconds:
        return

    def hold():
        end = clock() + seconds
        while not stopper.stopping and clock() < end:
            wait(min(HOLD_STEP, max(0.0, end - clock())))
    # Called as the reactor begins to run, before it puts its signal
    # handlers in place.
    reactor.addSystemEventTrigger("before", "startup", hold)


class StartInterrupted(BaseException):
    """One of L{STOPPING} came while the daemon was being built.

    @ivar signum: which.
    """

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def interruptible(signals=signal):
    """
    Within it, each of L{STOPPING} raises L{StartInterrupted}; after it,
    the handlers are as they were.  A signal ignored (as a shell's
    background job starts with SIGINT) stays ignored.

    @param signals: what sets and reads the handlers (L{signal}).
    """

    def interrupt(signum, frame):
        raise StartInterrupted(signum)

    with handledBy(interrupt, STOPPING, signals):
        yield
