"""
Tests for twisted_bazaar.tap.exitstatus: a daemon that cannot do its job
says why in one line and exits non-zero.
"""

import io
import sys

from twisted.internet.error import ReactorNotRunning
from twisted.logger import Logger, LogLevel, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.tap.exitstatus import ExitStatus, showStartFailure, showStartFailures


class _Reactor:
    def __init__(self, running):
        self.running = running
        self.stops = 0
        self.whenRunning = []

    def stop(self):
        self.stops += 1

    def callWhenRunning(self, function, *args):
        self.whenRunning.append((function, args))


class ExitStatusTests(SynchronousTestCase):
    def make(self, running, nodaemon=True, config=None):
        self.reactor = _Reactor(running)
        self.exits = []
        self.atExit = []
        self.events = []
        self.stderr = io.StringIO()
        status = ExitStatus(self.reactor, "twistd bazaar-node", nodaemon,
                            exit=self.exits.append, atExit=self.atExit.append,
                            twistdConfig=config, stderr=self.stderr)
        status.log = Logger(observer=self.events.append)
        return status

    def runUp(self):
        """The reactor starts: run what waited for it."""
        self.reactor.running = True
        for function, args in self.reactor.whenRunning:
            function(*args)

    def test_beforeTheReactorRuns(self):
        """While twistd starts its services, with -n: the line, whole, on
        the real stderr (not into twistd's log on stdout, where twistd
        points sys.stderr); nothing raised; the reactor stopped as soon
        as it runs, and the status 1 given at exit."""
        status = self.make(running=False)
        status.fail("node cannot listen on tcp:7700: address in use")
        self.assertEqual(self.stderr.getvalue(), "twistd bazaar-node: error: node "
                         "cannot listen on tcp:7700: address in use\n")
        self.assertEqual((status.code, self.events, self.reactor.stops), (1, [], 0))
        self.runUp()
        self.assertEqual(self.reactor.stops, 1)
        [end] = self.atExit
        self.assertEqual(self.exits, [])
        end()
        self.assertEqual(self.exits, [1])

    def test_insideAnErrbackBeforeTheReactorRuns(self):
        """Told inside a Deferred's errback while twistd starts (issue 96
        H1: a WebSocket port taken): the Deferred has nothing to swallow;
        the daemon still stops, with the status, and what the start made
        is undone at exit, not while it runs."""
        from twisted.internet import defer

        status = self.make(running=False)
        undone = []
        status.undoOnFailedStart(lambda: undone.append(list(self.exits)))
        listening = defer.Deferred()
        listening.addErrback(lambda reason: status.fail(reason.getErrorMessage()))
        listening.errback(OSError("--ws-port 9: address in use"))
        self.assertIsNone(self.successResultOf(listening))
        self.assertEqual(undone, [])
        self.runUp()
        self.assertEqual((self.reactor.stops, undone), (1, []))
        [end] = self.atExit
        end()
        self.assertEqual((undone, self.exits), ([[]], [1]))

    def test_ourTextLoggerIsTheTerminal(self):
        """With -n and the daemons' own text logger (twistd keeps the
        function itself), the log is the terminal: the line is on stderr
        only, once."""
        from twisted_bazaar.tap.logformat import textLogger

        for logger in (textLogger, "twisted_bazaar.tap.logformat.textLogger"):
            status = self.make(running=False, config={"logger": logger})
            status.fail("why")
            self.assertEqual(self.events, [])

    def test_logFileToo(self):
        """With -n and a log file, the line is in the log as well."""
        status = self.make(running=False, config={"logfile": "node.log"})
        status.fail("why")
        self.assertEqual(self.stderr.getvalue(), "twistd bazaar-node: error: why\n")
        self.assertEqual([formatEvent(e) for e in self.events],
                         ["twistd bazaar-node: error: why"])

    def test_beforeTheReactorRunsInTheBackground(self):
        """A daemon in the background: the line on the stderr it was
        started with, and in its log; the exit status is 1."""
        status = self.make(running=False, nodaemon=False)
        status.fail("why")
        self.assertEqual(self.stderr.getvalue(), "twistd bazaar-node: error: why\n")
        [event] = self.events
        self.assertEqual(event["log_level"], LogLevel.critical)
        self.assertEqual(formatEvent(event), "twistd bazaar-node: error: why")
        self.atExit[0]()
        self.assertEqual(self.exits, [1])

    def test_runningLetsGoOfStderrInTheBackground(self):
        """Once the reactor runs, a daemon in the background closes its
        copy of the stderr it was started with; later failures are
        logged only."""
        status = self.make(running=True, nodaemon=False)
        status.running()
        self.assertTrue(self.stderr.closed)
        status.fail("later")
        self.assertEqual([formatEvent(e) for e in self.events],
                         ["twistd bazaar-node: error: later"])

    def test_whileRunning(self):
        """Logged, the reactor stopped, and the status given at exit."""
        status = self.make(running=True)
        status.fail("lost it", code=3)
        self.assertEqual(self.stderr.getvalue(), "twistd bazaar-node: error: lost it\n")
        self.assertEqual(self.events, [])
        self.assertEqual(self.reactor.stops, 1)
        self.assertEqual(self.exits, [])
        [end] = self.atExit
        end()
        self.assertEqual(self.exits, [3])

    def test_whileStopping(self):
        """A failure while the reactor stops already (the store's writer
        lost on the way down): the line, and the status at exit, without
        a second stop (which Twisted refuses)."""
        status = self.make(running=True)

        def stopped():
            raise ReactorNotRunning()

        self.reactor.stop = stopped
        status.fail("lost it")
        self.assertEqual(self.stderr.getvalue(), "twistd bazaar-node: error: lost it\n")
        [end] = self.atExit
        end()
        self.assertEqual(self.exits, [1])

    def test_aFailedStartUndoesWhatItMade(self):
        """What the start made (the tracker's new key folder) is undone
        at exit when it failed before the reactor ran, once; a failure
        once it runs keeps it (a node's store may hold sales by then)."""
        status = self.make(running=False)
        undone = []
        status.undoOnFailedStart(lambda: undone.append("made"))
        status.fail("port taken")
        self.assertEqual(undone, [])
        self.atExit[0]()
        self.assertEqual(undone, ["made"])
        status = self.make(running=True)
        status.undoOnFailedStart(lambda: undone.append("kept"))
        status.fail("lost it")
        self.atExit[0]()
        self.assertEqual((undone, self.exits), (["made"], [1]))

    def test_whenStartedRunsOnlyAfterAStart(self):
        """What marks the start done (the tracker's hold on its state
        directory as one it runs on) runs when the reactor runs, once;
        never after a failed start."""
        started = []
        status = self.make(running=False)
        status.whenStarted(lambda: started.append("ran"))
        status.running()
        status.running()
        self.assertEqual(started, ["ran"])
        status = self.make(running=False)
        status.whenStarted(lambda: started.append("failed"))
        status.fail("port taken")
        status.running()
        self.assertEqual(started, ["ran"])

    def test_aRefusalUndoesAtOnce(self):
        """Refused while twistd builds the service (nothing started), what
        it made is undone before the SystemExit is raised."""
        status = self.make(running=False)
        undone = []
        status.undoOnFailedStart(lambda: undone.append("made"))
        error = status.refusal("--metrics: bad endpoint: x")
        self.assertEqual((undone, error.code),
                         (["made"], "twistd bazaar-node: error: --metrics: bad endpoint: x"))

    def test_aRefusalIsNoLogLine(self):
        """A refusal comes before twistd starts the log (running.md, Exit
        status: a start refused while the daemon is built writes no log
        file): its line is the SystemExit's alone, for twistd to print on
        stderr, in the background or with a log file too."""
        for nodaemon in (True, False):
            status = self.make(running=False, nodaemon=nodaemon,
                               config={"logfile": "node.log"})
            error = status.refusal("--data-dir d is in use by another node")
            self.assertEqual((error.code, self.events, self.stderr.getvalue()),
                             ("twistd bazaar-node: error: --data-dir d is in use by "
                              "another node", [], ""))

    def test_warning(self):
        """A warning at start: its line on stderr, not logged when the log
        is the same terminal; logged when it is a file; no status."""
        status = self.make(running=False, config={"logger": "twisted_bazaar.tap."
                                                  "logformat.textLogger"})
        status.warn("no UDP reach check")
        self.assertEqual(self.stderr.getvalue(),
                         "twistd bazaar-node: warning: no UDP reach check\n")
        self.assertEqual((self.events, status.code, self.atExit), ([], 0, []))
        status = self.make(running=False, config={"logfile": "node.log"})
        status.warn("no UDP reach check")
        self.assertEqual([formatEvent(e) for e in self.events],
                         ["twistd bazaar-node: warning: no UDP reach check"])

    def test_aWarningOfAFailedStartIsNotSaid(self):
        """What a service found as it started is said once the start is
        done, and never if it fails: a tracker whose --listen port is taken says only that,
        not also that its default UDP port is taken (issue 96 LOW), with
        -n (where the error came first) and in the background."""
        for nodaemon in (True, False):
            status = self.make(running=False, nodaemon=nodaemon)
            self.stderr.close = lambda: None  # read after running() lets go of it
            status.fail("tracker cannot listen on tcp:7700: address in use")
            status.warnOnceStarted("no UDP reach check: cannot listen on UDP port 7700")
            status.running()
            self.assertNotIn("warning", self.stderr.getvalue())
            self.assertEqual([e for e in self.events if "warning" in formatEvent(e)], [])
        status = self.make(running=False)
        status.warnOnceStarted("no UDP reach check")
        self.assertEqual(self.stderr.getvalue(), "")
        status.running()
        self.assertEqual(self.stderr.getvalue(),
                         "twistd bazaar-node: warning: no UDP reach check\n")

    def test_firstFailureWins(self):
        status = self.make(running=True)
        status.fail("first")
        status.fail("second", code=5)
        self.assertEqual((status.code, self.stderr.getvalue().count("\n"),
                          self.reactor.stops, len(self.atExit)), (1, 1, 1, 1))


    def test_interrupted(self):
        """A signal while the daemon is built: what it made is undone, one
        line says so, and the exit is the signal's status, as a shell
        shows after a clean stop by it."""
        status = self.make(False)
        undone = []
        status.undoOnFailedStart(lambda: undone.append("made"))
        exit = status.interrupted(2, "made its key")
        self.assertEqual((exit.code, undone, self.stderr.getvalue()), (
            130, ["made"], "twistd bazaar-node: stopped by SIGINT while it made its "
            "key; nothing it made is left\n"))
        self.assertEqual(status.interrupted(15, "x").code, 143)


class BackgroundTests(SynchronousTestCase):
    """A daemon in the background tells the twistd waiting in the
    foreground why it failed, through twistd's status pipe, once it has
    stopped (its pid file is twistd's to remove, once the reactor has
    run)."""

    def test_statusPipe(self):
        import os

        read, write = os.pipe()
        self.addCleanup(os.close, read)
        config = {"statusPipe": write}
        stderr = io.StringIO()
        ends = []
        status = ExitStatus(_Reactor(False), "twistd bazaar-node", nodaemon=False,
                            atExit=ends.append, exit=lambda code: None,
                            twistdConfig=config, stderr=stderr)
        status.log = Logger(observer=lambda event: None)
        status.fail("x" * 200)
        # twistd writes no "0" to it.
        self.assertNotIn("statusPipe", config)
        # Told once the daemon has stopped, at exit: its ports closed, what
        # it made removed, before the twistd in the foreground returns.
        os.set_blocking(read, False)
        self.assertRaises(BlockingIOError, os.read, read, 1000)
        [end] = ends
        end()
        message = os.read(read, 1000)
        self.assertEqual(message, b"1 twistd bazaar-node: error: " + b"x" * 200)
        # The process in the foreground prints it: not twice.
        self.assertEqual(stderr.getvalue(), "")


class ShowStartFailureTests(SynchronousTestCase):
    """The twistd process in the foreground prints its daemon's failure to
    start as text, its last line, and exits 1; 0 when it started."""

    def waitFor(self, sent):
        import os

        read, write = os.pipe()
        self.addCleanup(os.close, read)
        os.write(write, sent)
        os.close(write)
        err = io.StringIO()
        self.patch(sys, "__stderr__", err)
        return showStartFailure(None, read), err.getvalue()

    def test_started(self):
        self.assertEqual(self.waitFor(b"0"), (0, ""))

    def test_failedWithTheReason(self):
        line = ("twistd bazaar-tracker: error: tracker cannot listen on tcp:7700: "
                "port 7700 is in use (another program, or another daemon, listens "
                "there) (über)")
        self.assertEqual(self.waitFor(b"1 " + line.encode()), (1, line + "\n"))

    def test_twistdsOwnFailure(self):
        """An exception twistd sent itself is shown as text too."""
        self.assertEqual(self.waitFor(b"1 RuntimeError: boom"),
                         (1, "RuntimeError: boom\n"))

    def test_installed(self):
        from twisted.scripts._twistd_unix import UnixApplicationRunner

        self.patch(UnixApplicationRunner, "_waitForStart",
                   UnixApplicationRunner._waitForStart)
        showStartFailures()
        self.assertIs(UnixApplicationRunner._waitForStart, showStartFailure)
