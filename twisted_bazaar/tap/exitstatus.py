"""
How a daemon that cannot do its job ends: one line saying why, on the
stderr of whoever started it, and a non-zero exit status, so that scripts
and service managers see failure.

twistd has no way for a service to choose the exit status: after its
reactor stops it exits 0 (or re-raises the signal that stopped it).  And
once it logs, twistd points C{sys.stderr} into the log (with ``-n``,
stdout), and a daemon in the background has its stderr on /dev/null.  So:

- the line is written to the stderr the daemon was started with: with
  ``-n``, C{sys.__stderr__}; in the background, a copy of it taken before
  twistd forks (L{exitStatusFor} runs in ``makeService``), kept until the
  reactor runs.  It is logged too, unless the log is twistd's text log on
  the same terminal, where it would show twice;
- every failure takes one path (L{ExitStatus.fail}), wherever it is
  told (a service's C{startService}, a Deferred's errback, where a
  C{SystemExit} would be swallowed and the daemon would run on): it
  stops the reactor (as soon as it runs, when it does not yet), so every
  service that started stops in order, and ends the process with the
  status at interpreter exit, after twistd has cleaned up (its pid
  file).  A daemon in the background that fails before its reactor runs
  tells the twistd process waiting in the foreground, through twistd's
  status pipe, at exit (its ports closed, what it made removed): that
  process prints the line, as text (L{showStartFailure}; twistd's own
  would print a bytes literal of its first 100 bytes), and exits 1;
- a failure before the reactor runs is a failed start: at exit, once the
  services have stopped (a node's store closed), what the start made and
  knows it made is removed (L{ExitStatus.undoOnFailedStart}), and
  nothing else.  A failure once the reactor runs keeps the state.
"""

import atexit
import os
import signal
import sys

from twisted.internet.error import ReactorNotRunning
from twisted.python.util import untilConcludes

from twisted.logger import Logger

from twisted_bazaar.tap.logformat import textOnTerminal


#: Most bytes of a failure sent through twistd's status pipe: within
#: PIPE_BUF (4096 on Linux; 512 at least, by POSIX), so that they arrive
#: in the one read of the waiting process.
_STATUS_BYTES = 512


class ExitStatus:
    """
    The exit status of one daemon process; the first failure wins.

    @ivar code: 0 until L{fail} is called.
    """

    log = Logger()

    def __init__(self, reactor, prog, nodaemon=True, exit=os._exit,
                 atExit=atexit.register, twistdConfig=None, stderr=None):
        """
        @param prog: the daemon's name, which starts the line
            (``twistd bazaar-node``).
        @param nodaemon: False when twistd forks into the background.
        @param exit: ends the process with a status (L{os._exit}).
        @param atExit: registers a function to run at interpreter exit.
        @param twistdConfig: twistd's own options: where it logs, and the
            status pipe of a daemon in the background (``statusPipe``).
        @param stderr: the stream the line goes to (None: only the log).
        """
        self.reactor = reactor
        self.prog = prog
        self.nodaemon = nodaemon
        self.code = 0
        self._exit = exit
        self._atExit = atExit
        self._twistdConfig = twistdConfig
        self.stderr = stderr
        #: The log is text on the terminal, beside stderr.
        self._logOnTerminal = nodaemon and textOnTerminal(twistdConfig or {})
        #: What undoes what the start made, run if it fails (L{undoOnFailedStart}).
        self._undo = []
        #: What marks the start done, run once the reactor runs unless it
        #: failed (L{whenStarted}).
        self._started = []
        #: The daemon failed before its reactor ran (L{fail}).
        self.startFailed = False
        #: Warnings told while the daemon starts, said once it has started
        #: (L{warnOnceStarted}).
        self._warnings = []
        #: (twistd's status pipe, the line) to tell the twistd process in
        #: the foreground at exit (L{_holdParent}), or None.
        self._parent = None

    def undoOnFailedStart(self, undo):
        """Have ``undo`` run if the start fails (L{fail} before the
        reactor runs, or L{refusal}): a failed start leaves nothing
        behind that it made for a run (the tracker's new state
        directory, a node's new data dir).  After a failed start it runs
        at exit, once the services have stopped (a node's store closed)."""
        self._undo.append(undo)

    def whenStarted(self, started):
        """Have ``started`` run once the reactor runs, if the start did
        not fail (every port listening): the tracker then marks its state
        directory as one it runs on."""
        self._started.append(started)

    def refusal(self, why):
        """The start is refused while twistd builds the service (before
        any service starts): undo what it made (L{undoOnFailedStart}),
        and the C{SystemExit} to raise, its one line saying why."""
        self._undoMade()
        return SystemExit(self.line(why))

    def interrupted(self, signum, doing):
        """A signal stopped the daemon while it was ``doing`` something
        before it started (making its key): undo what it made, say so in
        one line, and the C{SystemExit} to raise, of the status a shell
        gives a command that signal stopped (130 for SIGINT, 143 for
        SIGTERM), as after a clean stop."""
        self._undoMade()
        line = (f"{self.prog}: stopped by {signal.Signals(signum).name} while it "
                f"{doing}; nothing it made is left")
        if not self._say(line):
            self.log.warn("{line}", line=line)
        return SystemExit(128 + signum)

    def line(self, why):
        return f"{self.prog}: error: {why}"

    def fail(self, why, code=1):
        """
        The daemon cannot go on: say why, stop the reactor, and make the
        process exit with ``code`` once it has stopped.  Never raises, so
        it may be told anywhere (inside a Deferred's errback too).  Told
        before the reactor runs (a port taken as twistd starts the
        services), the start failed: the reactor is stopped as soon as it
        runs, and what the start made is undone at exit.
        """
        if self.code:
            return
        self.code = code
        line = self.line(why)
        running = getattr(self.reactor, "running", False)
        # A daemon still starting in the background tells the line to the
        # twistd process in the foreground, which prints it (at exit).
        toldParent = not running and not self.nodaemon and self._holdParent(line)
        if toldParent or not self._say(line) or not self._logOnTerminal:
            self.log.critical("{line}", line=line)
        self.startFailed = not running
        self._atExit(self._end)
        if running:
            self._stop()
        else:
            self.reactor.callWhenRunning(self._stop)

    def warn(self, why):
        """The daemon starts, but short of something it was meant to do:
        the line (``PROG: warning: WHY``) on the stderr it was started
        with, as L{fail}'s (a daemon in the background still holds it
        until its reactor runs), and in the log unless that is the same
        terminal."""
        self._warn(f"{self.prog}: warning: {why}")

    def warnOnceStarted(self, why):
        """L{warn}, of what a service found as it started: told before the
        start is done, it is said once it is (L{running}), and not at all
        if the start fails, which says only why it failed (a tracker whose
        --listen port is taken by another tracker finds its default UDP
        port taken too, by the same one)."""
        if getattr(self.reactor, "running", False):
            self.warn(why)
        else:
            self._warnings.append(f"{self.prog}: warning: {why}")

    def _warn(self, line):
        if not self._say(line) or not self._logOnTerminal:
            self.log.warn("{line}", line=line)

    def _stop(self):
        try:
            self.reactor.stop()
        except ReactorNotRunning:
            pass  # a failure on the way down: the reactor is stopping already

    def _say(self, line):
        """Write the line to stderr; True if it got there."""
        if self.stderr is None:
            return False
        try:
            self.stderr.write(line + "\n")
            self.stderr.flush()
        except (OSError, ValueError):
            return False
        return True

    def running(self):
        """The reactor runs, so the daemon has started: a daemon in the
        background lets go of the stderr it was started with (a caller
        waiting for that stream to close, as a pipe, sees it close);
        unless its start failed, the warnings its services found as they
        started are said (L{warnOnceStarted}) and what marks it started runs (L{whenStarted})."""
        started, self._started = self._started, []
        warnings, self._warnings = self._warnings, []
        if not self.startFailed:
            for line in warnings:
                self._warn(line)
            for f in started:
                f()
        if not self.nodaemon and self.stderr is not None:
            stderr, self.stderr = self.stderr, None
            try:
                stderr.close()
            except OSError:
                pass

    def _holdParent(self, line):
        """Keep the twistd process waiting in the foreground for a daemon
        in the background waiting, until this one has stopped and undone
        what it made (L{_tellParent}, at exit): taken from twistd, its
        status pipe gets no "started" from it.  True if held."""
        config = self._twistdConfig
        pipe = None if config is None else config.pop("statusPipe", None)
        if pipe is None:
            return False
        self._parent = (pipe, line)
        return True

    def _tellParent(self):
        """Tell the twistd process waiting in the foreground that the
        daemon failed, and the line saying why, through twistd's status
        pipe (L{showStartFailure} prints it, and exits 1): once the
        daemon has let go of its ports and removed what it made, so that
        a script that starts it again finds them free."""
        if self._parent is None:
            return
        (pipe, line), self._parent = self._parent, None
        # One write of at most PIPE_BUF bytes arrives whole, in one read.
        message = f"1 {line}".encode("utf-8", "backslashreplace")[:_STATUS_BYTES]
        try:
            os.write(pipe, message)
            os.close(pipe)
        except OSError:
            pass

    def _undoMade(self):
        undo, self._undo = self._undo, []
        for f in undo:
            f()

    def _end(self):
        """At exit: after a failed start, undo what it made; then exit
        with the status."""
        if self.startFailed:
            self._undoMade()
        self._tellParent()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        self._exit(self.code)


def showStartFailure(runner, readPipe):
    """
    In place of twistd's C{UnixApplicationRunner._waitForStart}: the
    twistd process in the foreground waits for its daemon to start, and,
    when it did not, prints the reason it sent as text (twistd's prints a
    bytes literal, then points at the log), and returns the status 1.
    """
    data = untilConcludes(os.read, readPipe, _STATUS_BYTES)
    if data == b"0":
        return 0
    why = data[2:].decode("utf-8", "replace").strip()
    untilConcludes(sys.__stderr__.write,
                   (why or "the daemon ended before it started: see its log") + "\n")
    return 1


def showStartFailures():
    """Have twistd's process in the foreground print a daemon's failure
    to start as text (L{showStartFailure}); before twistd forks."""
    try:
        from twisted.scripts._twistd_unix import UnixApplicationRunner
    except ImportError:  # not on Unix: no daemon in the background
        return
    UnixApplicationRunner._waitForStart = showStartFailure
