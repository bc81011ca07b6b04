"""
Tests for L{twisted_bazaar.testing.stopping}, the plugin that stops the
suite on Ctrl-C or SIGTERM: which processes it finds below the suite, what
it signals and when, and what it leaves behind (nothing).  No signal is
sent here: the handler is called as the interpreter would call it, with
fake kills and a fake timer.  tests/e2e/test_suite_stops_live.py sends
real signals to a real pytest.
"""

import os
import shutil
import signal
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.testing import stopping


def writeProc(root, pid, ppid, comm="python"):
    folder = os.path.join(root, str(pid))
    os.makedirs(folder)
    with open(os.path.join(folder, "stat"), "wb") as stat:
        stat.write(f"{pid} ({comm}) S {ppid} {pid} {pid} 0 -1".encode())


class DescendantsTests(SynchronousTestCase):
    def setUp(self):
        self.proc = tempfile.mkdtemp(prefix="proc-")
        self.addCleanup(shutil.rmtree, self.proc, True)

    def test_childrenAndTheirChildren(self):
        """Children, grandchildren (a daemon in a session of its own is
        still its parent's child), and no process of another tree."""
        writeProc(self.proc, 10, 1)
        writeProc(self.proc, 11, 10, "twistd")
        writeProc(self.proc, 12, 11, "ip")
        writeProc(self.proc, 13, 10)
        writeProc(self.proc, 20, 1)
        writeProc(self.proc, 21, 20)
        self.assertEqual(sorted(stopping.descendants(10, self.proc)), [11, 12, 13])

    def test_aCommandNameWithParenthesesAndSpaces(self):
        """The name between parentheses may hold ') 1 (': the fields are
        read after the last parenthesis."""
        writeProc(self.proc, 11, 10, "a) 1 (b")
        self.assertEqual(stopping.descendants(10, self.proc), [11])

    def test_entriesThatAreNotProcessesOrVanished(self):
        """Folders not named by a number, and a process gone between the
        listing and the read (no stat file), are left out."""
        os.makedirs(os.path.join(self.proc, "self"))
        os.makedirs(os.path.join(self.proc, "14"))
        writeProc(self.proc, 11, 10)
        self.assertEqual(stopping.descendants(10, self.proc), [11])

    def test_theRealProcTable(self):
        """This process is below its parent in the machine's own table."""
        self.assertIn(os.getpid(), stopping.descendants(os.getppid()))


class FakeTimer:
    def __init__(self, delay, call):
        self.delay = delay
        self.call = call
        self.started = False
        self.cancelled = False
        self.daemon = False

    def start(self):
        self.started = True

    def cancel(self):
        self.cancelled = True


class StopperTests(SynchronousTestCase):
    def setUp(self):
        self.kills = []
        self.timers = []
        self.below = [101, 102]

        def makeTimer(delay, call):
            self.timers.append(FakeTimer(delay, call))
            return self.timers[-1]

        self.removed = []
        self.stopper = stopping.Stopper(
            kill=lambda pids, signum: self.kills.append((list(pids), signum)),
            find=lambda pid: self.below, makeTimer=makeTimer,
            removeNamespaces=self.removed.append)
        self.stopper.start()
        self.addCleanup(self.stopper.finish)

    def test_scratchFolderForEveryTemporaryFile(self):
        """tempfile's folders, and the daemons' TMPDIR, are inside the
        run's own folder, which the session's end removes."""
        scratch = self.stopper.scratch
        self.assertTrue(os.path.basename(scratch).startswith(stopping.SCRATCH_PREFIX))
        made = tempfile.mkdtemp(prefix="bazaar-e2e-")
        self.assertEqual(os.path.dirname(made), scratch)
        self.assertEqual(os.environ["TMPDIR"], scratch)
        self.assertFalse(self.stopper.finish())
        self.assertFalse(os.path.exists(scratch))
        self.assertNotEqual(tempfile.gettempdir(), scratch)
        self.assertNotEqual(os.environ.get("TMPDIR"), scratch)

    def test_takesBothSignalsAndGivesThemBack(self):
        for signum in stopping.STOPPING:
            self.assertEqual(signal.getsignal(signum), self.stopper.onSignal)
        self.stopper.finish()
        for signum in stopping.STOPPING:
            self.assertNotEqual(signal.getsignal(signum), self.stopper.onSignal)

    def test_takenAgainAfterTheReactorTookSigterm(self):
        """The reactor's start puts its own SIGTERM handler in; taking the
        signals again keeps the handler to give back at the end."""
        before = self.stopper._previous[signal.SIGTERM]
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        self.stopper.takeSignals()
        self.assertEqual(signal.getsignal(signal.SIGTERM), self.stopper.onSignal)
        self.stopper.finish()
        self.assertEqual(signal.getsignal(signal.SIGTERM), before)

    def test_firstSignalInterruptsAndStopsTheProcesses(self):
        """The first signal sends SIGTERM to every process below the
        suite, sets a timer that kills what is left, and raises
        KeyboardInterrupt in the test at hand; the session's end kills
        what still runs and says the run was stopped."""
        self.assertRaises(KeyboardInterrupt, self.stopper.onSignal, signal.SIGTERM, None)
        self.assertEqual(self.kills, [([101, 102], signal.SIGTERM)])
        [timer] = self.timers
        self.assertEqual((timer.delay, timer.started, timer.daemon),
                         (stopping.GRACE, True, True))
        self.below = [102]
        timer.call()
        self.assertEqual(self.kills[-1], ([102], signal.SIGKILL))
        self.assertTrue(self.stopper.finish())
        self.assertTrue(timer.cancelled)
        self.assertEqual(self.kills[-1], ([102], signal.SIGKILL))

    def test_secondSignalEndsTheRunAtOnce(self):
        """A second signal kills everything below and exits with 128 plus
        the signal, removing the scratch folder first."""
        exits = []
        self.patch(os, "_exit", exits.append)
        scratch = self.stopper.scratch
        self.assertRaises(KeyboardInterrupt, self.stopper.onSignal, signal.SIGINT, None)
        self.stopper.onSignal(signal.SIGINT, None)
        self.assertEqual(self.kills[-1], ([101, 102], signal.SIGKILL))
        self.assertEqual(exits, [128 + signal.SIGINT])
        self.assertFalse(os.path.exists(scratch))


    def test_theEndRemovesTheNamespacesOfEveryProcessSeen(self):
        """A stopped run's end removes the network namespaces left by the
        processes found below it once told (a worker killed before its
        cleanups), and its own."""
        self.assertRaises(KeyboardInterrupt, self.stopper.onSignal, signal.SIGTERM, None)
        self.below = [102, 103]
        self.timers[0].call()
        self.assertTrue(self.stopper.finish())
        self.assertEqual(self.removed, [{os.getpid(), 101, 102, 103}])

    def test_aRunNotStoppedRemovesNoNamespace(self):
        self.assertFalse(self.stopper.finish())
        self.assertEqual(self.removed, [])

    def test_aWorkerLeavesTheSecondSignalToItsController(self):
        """In a worker of a parallel run, a second signal (the controller's
        SIGTERM after a Ctrl-C that reached both) changes nothing: the
        worker goes on stopping, and removes no namespace (its controller
        does)."""
        exits = []
        self.patch(os, "_exit", exits.append)
        self.stopper.worker = True
        self.assertRaises(KeyboardInterrupt, self.stopper.onSignal, signal.SIGINT, None)
        self.stopper.onSignal(signal.SIGTERM, None)
        self.assertEqual((self.kills, exits), ([([101, 102], signal.SIGTERM)], []))
        self.assertTrue(self.stopper.finish())
        self.assertEqual(self.removed, [])

    def test_aWorkerEndsDeafToSigint(self):
        """A worker's session over, SIGINT is ignored: execnet sends its
        worker SIGINT itself when it has not ended 5 s after its controller
        closed it, and Python's handler, given back, raised
        KeyboardInterrupt in hypothesis's gc callback (CI's unraisable
        warning).  The controller gets its handler back."""
        self.addCleanup(signal.signal, signal.SIGINT, signal.getsignal(signal.SIGINT))
        self.stopper.worker = True
        self.stopper.finish()
        self.assertIs(signal.getsignal(signal.SIGINT), signal.SIG_IGN)
        self.stopper.worker = False
        signal.signal(signal.SIGINT, signal.default_int_handler)
        self.stopper.start()
        self.stopper.finish()
        self.assertIs(signal.getsignal(signal.SIGINT), signal.default_int_handler)


class SuiteTests(SynchronousTestCase):
    def test_thisSuiteRunsUnderThePlugin(self):
        """tests/conftest.py loads the plugin: this very run makes its
        temporary files in the run's scratch folder and stops when told."""
        scratch = stopping._stopper.scratch
        self.assertIsNotNone(scratch)
        self.assertEqual(tempfile.gettempdir(), scratch)
        self.assertEqual(signal.getsignal(signal.SIGINT), stopping._stopper.onSignal)


class InterruptedPhaseTests(SynchronousTestCase):
    """A test's phase once the run is told to stop ends in
    KeyboardInterrupt, however the test ended: pytest then stops and
    calls the run interrupted, not failed."""

    def setUp(self):
        self.patch(stopping._stopper, "told", [])

    def ended(self, outcome):
        phase = stopping._interrupted()
        next(phase)
        try:
            if isinstance(outcome, BaseException):
                phase.throw(outcome)
            else:
                phase.send(outcome)
        except StopIteration as stopped:
            return stopped.value

    def test_notToldAsItEnded(self):
        self.assertEqual(self.ended("passed"), "passed")
        self.assertRaises(SystemExit, self.ended, SystemExit(1))

    def test_aSystemExitOnceTold(self):
        """bazaar-sim sweep exits 1 on KeyboardInterrupt."""
        stopping._stopper.told.append(signal.SIGINT)
        self.assertRaises(KeyboardInterrupt, self.ended, SystemExit(1))
        self.assertRaises(KeyboardInterrupt, self.ended, AssertionError("late"))

    def test_aPassOnceTold(self):
        stopping._stopper.told.append(signal.SIGTERM)
        self.assertRaises(KeyboardInterrupt, self.ended, None)
