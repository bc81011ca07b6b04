"""
Tests for L{twisted_bazaar.base.childprocess}: what a daemon's helper
process is asked before its reactor runs waits for it, and a process
that cannot be started fails every request, saying why.  (Its requests
and answers: tests/store/test_writerprocess.py, through the writer.)
"""

import pickle
import signal

from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.internet.task import Clock
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.childloop import PARENTS_SIGNALS
from twisted_bazaar.base.childprocess import ChildProcess
from twisted_bazaar.base.pipeframes import Frames, frame


class HelperError(Exception):
    pass


class FakeProcess:
    def __init__(self):
        self.written = b""
        self.stdinClosed = False
        self.signals = []

    def write(self, data):
        self.written += data

    def closeStdin(self):
        self.stdinClosed = True

    def signalProcess(self, name):
        self.signals.append(name)


class FakeReactor(Clock):
    """Runs what waits for it when told to; spawns a L{FakeProcess}, or
    refuses to (``refusal``)."""

    def __init__(self):
        Clock.__init__(self)
        self.running = False
        self.waiting = []
        self.spawned = []
        self.refusal = None
        #: This thread's blocked signals as each spawn was asked for.
        self.masks = []

    def callWhenRunning(self, f):
        if self.running:
            f()
        else:
            self.waiting.append(f)

    def run(self):
        self.running = True
        for f in self.waiting:
            f()

    def spawnProcess(self, protocol, executable, args, env, childFDs):
        self.masks.append(signal.pthread_sigmask(signal.SIG_BLOCK, []))
        if self.refusal is not None:
            raise self.refusal
        self.spawned.append(args)
        protocol.makeConnection(FakeProcess())


def helper(reactor):
    return ChildProcess(reactor, "some.module", ["an-arg"], "the helper", HelperError,
                        "the helper is stopped")


def sent(child):
    return [pickle.loads(p) for p in Frames().feed(child.transport.written)]


class StartTests(SynchronousTestCase):
    def test_startedOnceTheReactorRuns(self):
        """Built before the reactor runs (twistd forks a daemon after it
        is built): spawned only when it runs, with the requests asked
        before, in order."""
        reactor = FakeReactor()
        child = helper(reactor)
        child.start()
        asked = child.ask("first", 1)
        self.assertEqual(reactor.spawned, [])
        reactor.run()
        self.assertEqual(reactor.spawned[0][1:4], ["-m", "some.module", "an-arg"])
        self.assertEqual(sent(child), [(1, "first", 1)])
        child.childDataReceived(1, frame([(1, None)]))
        self.assertIsNone(self.successResultOf(asked))

    def test_bornWithItsParentsSignalsBlocked(self):
        """
        The helper is spawned with the signals its parent handles blocked
        (a process inherits the mask), until its loop ignores them: a
        Ctrl-C to the process group while its interpreter started ended
        it with KeyboardInterrupt.  The parent's mask is as it was after,
        whether the spawn worked or not.
        """
        before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
        for refusal in (None, OSError("no such file")):
            reactor = FakeReactor()
            reactor.refusal = refusal
            reactor.running = True
            try:
                helper(reactor).start()
            except OSError:
                pass
            self.assertTrue(set(PARENTS_SIGNALS) <= reactor.masks[0], reactor.masks)
            self.assertEqual(signal.pthread_sigmask(signal.SIG_BLOCK, []), before)

    def test_stoppedBeforeItRan(self):
        """Stopped before the reactor ran: it still runs what it was
        handed, then ends."""
        reactor = FakeReactor()
        child = helper(reactor)
        child.start()
        asked = child.ask("first", 1)
        stopped = child.stop()
        reactor.run()
        self.assertEqual(sent(child), [(1, "first", 1), (2, None, None)])
        self.assertTrue(child.transport.stdinClosed)
        child.childDataReceived(1, frame([(1, None)]) + frame(None))
        child.processEnded(Failure(ProcessDone(0)))
        self.assertIsNone(self.successResultOf(asked))
        self.successResultOf(stopped)

    def test_cannotStartLater(self):
        """Refused once the reactor runs: every request fails, saying why,
        and it is logged."""
        reactor = FakeReactor()
        reactor.refusal = OSError(11, "Resource temporarily unavailable")
        child = helper(reactor)
        child.start()
        asked = child.ask("first", 1)
        reactor.run()
        why = "cannot start the helper: [Errno 11] Resource temporarily unavailable"
        self.assertEqual(str(self.failureResultOf(asked, HelperError).value), f"first: {why}")
        self.assertEqual(str(self.failureResultOf(child.ask("later", 2), HelperError).value),
                         f"later: {why}")
        self.assertEqual(child.failed, why)

    def test_cannotStartNow(self):
        """Refused while the reactor runs: L{start} raises it."""
        reactor = FakeReactor()
        reactor.running = True
        reactor.refusal = OSError(11, "Resource temporarily unavailable")
        self.assertRaises(OSError, helper(reactor).start)


class EndedTests(SynchronousTestCase):
    """A process gone for good is said once: to its owner (``onEnded``),
    or else as a critical line; requests fail with the ``gone`` class."""

    class Gone(HelperError):
        pass

    def owned(self, reactor):
        told = []
        child = ChildProcess(reactor, "some.module", [], "the helper", HelperError,
                             "the helper is stopped", gone=self.Gone, onEnded=told.append)
        return child, told

    def test_endedUnaskedTellsItsOwnerOnce(self):
        reactor = FakeReactor()
        child, told = self.owned(reactor)
        child.start()
        reactor.run()
        asked = child.ask("first", 1)
        child.processEnded(Failure(ProcessDone(0)))
        why = ("the helper ended: A process has ended without apparent errors: "
               "process finished with exit code 0.")
        self.assertEqual(told, [why])
        self.failureResultOf(asked, self.Gone)
        self.failureResultOf(child.ask("later", 2), self.Gone)
        self.assertEqual(told, [why])

    def test_cannotStartLaterTellsItsOwner(self):
        reactor = FakeReactor()
        reactor.refusal = OSError(11, "Resource temporarily unavailable")
        child, told = self.owned(reactor)
        child.start()
        reactor.run()
        self.assertEqual(told, ["cannot start the helper: [Errno 11] Resource "
                                "temporarily unavailable"])

    def test_cannotStartNowIsRaisedAlone(self):
        """Refused inside L{start} (the reactor runs): the raise is the one
        report; the owner is not told, nothing is logged."""
        reactor = FakeReactor()
        reactor.running = True
        reactor.refusal = OSError(11, "Resource temporarily unavailable")
        child, told = self.owned(reactor)
        events = []
        child.log = Logger(observer=events.append)
        self.assertRaises(OSError, child.start)
        self.assertEqual((told, events), ([], []))
        self.failureResultOf(child.ask("later", 1), self.Gone)

    def test_askedToEndTellsNobody(self):
        reactor = FakeReactor()
        child, told = self.owned(reactor)
        child.start()
        reactor.run()
        stopped = child.stop()
        child.processEnded(Failure(ProcessDone(0)))
        self.successResultOf(stopped)
        self.assertEqual(told, [])
        self.assertEqual(reactor.getDelayedCalls(), [])

    def test_notEndedInTimeIsKilled(self):
        """
        Asked to end with nothing of ours unanswered, and not ended
        STOP_GRACE s later (its interpreter still loading on a busy
        machine, or stopped): it is killed, an end as asked, so its
        daemon's SIGTERM is not held (s57-soak: a node that took SIGTERM
        as it started stopped 25 s to more than 30 s later, each time its
        writer was still starting).
        """
        from twisted_bazaar.base.childprocess import STOP_GRACE

        reactor = FakeReactor()
        child, told = self.owned(reactor)
        child.start()
        reactor.run()
        # An empty request only asks whether it runs (the store's
        # whenWriting): it holds nothing back.
        probe = child.ask("did it start", [])
        stopped = child.stop()
        reactor.advance(STOP_GRACE - 0.01)
        self.assertEqual(child.transport.signals, [])
        self.assertNoResult(stopped)
        reactor.advance(0.01)
        self.assertEqual(child.transport.signals, ["KILL"])
        child.processEnded(Failure(ProcessTerminated(signal=9)))
        self.successResultOf(stopped)
        self.assertEqual(told, [])
        self.assertEqual(str(self.failureResultOf(probe, HelperError).value),
                         "did it start: the helper is stopped")

    def test_aRequestOutIsWaitedFor(self):
        """A request handed over and not answered is waited for, however
        long: what it writes may be on its way to disk."""
        reactor = FakeReactor()
        child, told = self.owned(reactor)
        child.start()
        reactor.run()
        asked = child.ask("a sale", 1)
        stopped = child.stop()
        reactor.advance(600)
        self.assertEqual(child.transport.signals, [])
        child.childDataReceived(1, frame([(1, None)]) + frame(None))
        child.processEnded(Failure(ProcessDone(0)))
        self.assertIsNone(self.successResultOf(asked))
        self.successResultOf(stopped)
