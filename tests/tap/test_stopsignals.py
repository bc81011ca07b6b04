"""
Tests for twisted_bazaar.tap.stopsignals: a second SIGTERM while a daemon
stops is harmless.
"""

import signal

from twisted.internet.error import ReactorNotRunning
from twisted.logger import Logger, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.tap.stopsignals import (
    HOLD_STEP,
    StartInterrupted,
    StopOnce,
    holdStart,
    interruptible,
    stopOnce,
)


class _Reactor:
    """Stops as Twisted's reactor does: the second stop raises."""

    def __init__(self):
        self.stops = 0
        self.triggers = []
        self.whenRunning = []

    def stop(self):
        if self.stops:
            raise ReactorNotRunning("Can't stop reactor that isn't running.")
        self.stops += 1

    def addSystemEventTrigger(self, phase, event, function):
        self.triggers.append((phase, event, function))

    def callWhenRunning(self, function):
        self.whenRunning.append(function)


class _Signals:
    """The signal module's handlers, in a dict: the reactor's handle
    SIGTERM and SIGINT by stopping it, as Twisted's sigTerm does."""

    def __init__(self, reactor):
        #: The signal each stop of the reactor's handlers was told.
        self.stoppedBy = []

        def stop(signum, frame):
            self.stoppedBy.append(signum)
            reactor.stop()

        self.handlers = {signal.SIGTERM: stop, signal.SIGINT: stop,
                         signal.SIGHUP: signal.SIG_DFL}

    def getsignal(self, signum):
        return self.handlers[signum]

    def signal(self, signum, handler):
        self.handlers[signum] = handler


class StopOnceTests(SynchronousTestCase):
    def setUp(self):
        self.reactor = _Reactor()
        self.signals = _Signals(self.reactor)
        self.events = []
        self.stopper = StopOnce(self.reactor, self.signals)
        self.stopper.log = Logger(observer=self.events.append)
        self.stopper.install()

    def deliver(self, signum):
        self.signals.handlers[signum](signum, None)

    def test_secondSignalIsHarmless(self):
        """The first SIGTERM stops the reactor; a second (or a Ctrl-C
        after it) raises nothing, and is told in one line."""
        self.deliver(signal.SIGTERM)
        self.assertEqual(self.reactor.stops, 1)
        self.deliver(signal.SIGTERM)
        self.deliver(signal.SIGINT)
        self.assertEqual(self.reactor.stops, 1)
        self.assertEqual([formatEvent(event) for event in self.events],
                         ["received SIGTERM again: already stopping",
                          "received SIGINT again: already stopping"])

    def test_signalAfterAnotherStop(self):
        """A daemon stopping for another reason (a failure) is not stopped
        again by a signal."""
        self.reactor.stop()
        [(phase, event, shuttingDown)] = self.reactor.triggers
        self.assertEqual((phase, event), ("before", "shutdown"))
        shuttingDown()
        self.deliver(signal.SIGTERM)
        self.assertEqual(len(self.events), 1)

    def test_hangUpStopsInOrder(self):
        """SIGHUP (the terminal of twistd -n closed) ended the daemon at
        once, with no dc to its links (the fifth new user): it stops the
        reactor, which twistd ends by that signal, once; a second is
        harmless."""
        self.deliver(signal.SIGHUP)
        self.assertEqual((self.reactor.stops, self.signals.stoppedBy),
                         (1, [signal.SIGHUP]))
        self.deliver(signal.SIGHUP)
        self.assertEqual(self.reactor.stops, 1)
        self.assertEqual([formatEvent(event) for event in self.events],
                         ["received SIGHUP: stopping, as for SIGTERM",
                          "received SIGHUP again: already stopping"])

    def test_anIgnoredHangUpStaysIgnored(self):
        """Under nohup, SIGHUP is ignored, and stays so."""
        signals = _Signals(self.reactor)
        signals.handlers[signal.SIGHUP] = signal.SIG_IGN
        StopOnce(self.reactor, signals).install()
        self.assertEqual(signals.handlers[signal.SIGHUP], signal.SIG_IGN)

    def test_installedOnceTheReactorRuns(self):
        """The reactor puts its handlers in place when it runs: this goes
        in front of them then."""
        reactor = _Reactor()
        stopOnce(reactor)
        [install] = reactor.whenRunning
        self.assertIsInstance(install.__self__, StopOnce)
        self.assertEqual(install.__func__, StopOnce.install)


class _TwistedReactor(_Reactor):
    """As L{_Reactor}, with Twisted's handlers of a stop signal: logged,
    and the stop made once the reactor runs (here, recorded)."""

    def __init__(self):
        super().__init__()
        self.told = []

    def sigTerm(self, signum, frame=None):
        self.told.append(signal.SIGTERM)

    def sigInt(self, signum, frame=None):
        self.told.append(signal.SIGINT)


class _ProcessSignals(_Signals):
    """A process's handlers before its reactor runs: Python's own."""

    def __init__(self):
        self.handlers = {signal.SIGTERM: signal.SIG_DFL,
                         signal.SIGINT: signal.default_int_handler,
                         signal.SIGHUP: signal.SIG_DFL}


class EarlyTests(SynchronousTestCase):
    """A stop signal while the daemon starts, before its reactor runs."""

    def setUp(self):
        self.reactor = _TwistedReactor()
        self.signals = _ProcessSignals()
        self.events = []
        self.stopper = StopOnce(self.reactor, self.signals)
        self.stopper.log = Logger(observer=self.events.append)

    def deliver(self, signum):
        self.signals.handlers[signum](signum, None)

    def test_handledAsTheReactorWill(self):
        """SIGTERM before the reactor runs is Twisted's handler's (it
        stops the reactor as it runs), not the default action."""
        self.stopper.installEarly()
        self.deliver(signal.SIGTERM)
        self.assertEqual(self.reactor.told, [signal.SIGTERM])
        self.assertTrue(self.stopper.stopping)
        self.deliver(signal.SIGINT)
        self.assertEqual(self.reactor.told, [signal.SIGTERM])
        self.assertEqual([formatEvent(event) for event in self.events],
                         ["received SIGINT again: already stopping"])

    def test_sigintBeforeTheReactorRuns(self):
        self.stopper.installEarly()
        self.deliver(signal.SIGINT)
        self.assertEqual(self.reactor.told, [signal.SIGINT])

    def test_thenTheReactorsOwn(self):
        """Once the reactor runs, its SIGTERM handler replaces the early
        one (a SIGINT handler not Python's own it leaves): this goes in
        front of it, once, and a signal is still handled once."""
        self.stopper.installEarly()
        reactorsOwn = []
        self.signals.handlers[signal.SIGTERM] = lambda signum, frame: reactorsOwn.append(
            signum)
        self.stopper.install()
        self.deliver(signal.SIGTERM)
        self.deliver(signal.SIGINT)
        self.assertEqual((reactorsOwn, self.reactor.told), ([signal.SIGTERM], []))
        self.assertEqual(len(self.events), 1)

    def test_ignoredStaysIgnored(self):
        """A signal the process ignores (a SIGINT of a daemon started
        with ``&``) stays ignored, as the reactor leaves it."""
        self.signals.handlers[signal.SIGINT] = signal.SIG_IGN
        self.stopper.installEarly()
        self.assertIs(self.signals.handlers[signal.SIGINT], signal.SIG_IGN)

    def test_onlyUnderTwistd(self):
        """stopOnce handles signals early only when told (under twistd):
        a test's daemon leaves its process's handlers alone."""
        before = signal.getsignal(signal.SIGTERM)
        stopper = stopOnce(self.reactor)
        self.assertIs(signal.getsignal(signal.SIGTERM), before)
        self.assertEqual(self.reactor.whenRunning, [stopper.install])


class HoldStartTests(SynchronousTestCase):
    """--start-delay: held once the ports listen, before the reactor runs."""

    def setUp(self):
        self.reactor = _Reactor()
        self.stopper = StopOnce(self.reactor, _Signals(self.reactor))
        self.now = [0.0]
        self.waits = []

    def wait(self, seconds):
        self.waits.append(seconds)
        self.now[0] += seconds

    def hold(self, seconds):
        holdStart(self.reactor, seconds, self.stopper, clock=lambda: self.now[0],
                  wait=self.wait)

    def test_heldBeforeTheReactorRuns(self):
        self.hold(1.0)
        [(phase, event, hold)] = self.reactor.triggers
        self.assertEqual((phase, event), ("before", "startup"))
        hold()
        self.assertAlmostEqual(self.now[0], 1.0)
        self.assertEqual(max(self.waits), HOLD_STEP)

    def test_aSignalEndsIt(self):
        """A stop signal (the stopper stopping) ends the hold at its next
        look."""
        def wait(seconds):
            self.now[0] += seconds
            if self.now[0] >= 0.1:
                self.stopper.stopping = True
        holdStart(self.reactor, 600.0, self.stopper, clock=lambda: self.now[0],
                  wait=wait)
        [(_, _, hold)] = self.reactor.triggers
        hold()
        self.assertLess(self.now[0], 0.1 + HOLD_STEP + 1e-9)

    def test_noDelayNoHold(self):
        self.hold(0)
        self.assertEqual(self.reactor.triggers, [])


class InterruptibleTests(SynchronousTestCase):
    def setUp(self):
        self.signals = _Signals(_Reactor())
        self.before = dict(self.signals.handlers)

    def test_aSignalWithinRaises(self):
        """Within it, SIGTERM (or SIGINT) raises StartInterrupted, naming
        it; the handlers are put back on the way out."""
        with self.assertRaises(StartInterrupted) as caught:
            with interruptible(self.signals):
                self.signals.handlers[signal.SIGTERM](signal.SIGTERM, None)
        self.assertEqual(caught.exception.signum, signal.SIGTERM)
        self.assertEqual(self.signals.handlers, self.before)

    def test_anIgnoredSignalStaysIgnored(self):
        """A shell's background job starts with SIGINT ignored: it stays
        so within, while SIGTERM still interrupts."""
        self.signals.handlers[signal.SIGINT] = signal.SIG_IGN
        with interruptible(self.signals):
            self.assertEqual(self.signals.handlers[signal.SIGINT], signal.SIG_IGN)
            self.assertRaises(StartInterrupted, self.signals.handlers[signal.SIGTERM],
                              signal.SIGTERM, None)
