"""
Tests for L{twisted_bazaar.base.heldsignals}.
"""

import signal

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.heldsignals import heldSignals


class FakeSignals:
    """Handlers by signal, as L{signal} keeps them; a raise calls the
    handler there then (noted in C{raised})."""

    def __init__(self, handlers):
        self.handlers = dict(handlers)
        self.raised = []

    def getsignal(self, signum):
        return self.handlers.get(signum)

    def signal(self, signum, handler):
        self.handlers[signum] = handler

    def raise_signal(self, signum):
        self.raised.append(signum)
        handler = self.handlers[signum]
        if callable(handler):
            handler(signum, None)

    def deliver(self, signum):
        """A signal from outside."""
        handler = self.handlers[signum]
        if callable(handler):
            handler(signum, None)


class HeldSignalsTests(SynchronousTestCase):
    def test_aSignalWithinReachesItsHandlerAfter(self):
        """A Ctrl-C within (where every exception was swallowed) reaches
        its own handler once, after the block, the handlers restored;
        twice within is raised once."""
        got = []

        def own(signum, frame):
            got.append(signum)

        signals = FakeSignals({signal.SIGINT: own, signal.SIGTERM: signal.SIG_DFL})
        with heldSignals(signals):
            try:
                signals.deliver(signal.SIGINT)
                signals.deliver(signal.SIGINT)
            except BaseException:  # as getPlugins does
                pass
            self.assertEqual(got, [])
        self.assertEqual((got, signals.raised), ([signal.SIGINT], [signal.SIGINT]))
        self.assertEqual(signals.handlers, {signal.SIGINT: own,
                                            signal.SIGTERM: signal.SIG_DFL})

    def test_noSignalNothingRaised(self):
        signals = FakeSignals({signal.SIGINT: signal.default_int_handler,
                               signal.SIGTERM: signal.SIG_DFL})
        with heldSignals(signals):
            pass
        self.assertEqual(signals.raised, [])

    def test_anIgnoredSignalStaysIgnored(self):
        """A SIGINT ignored (a shell's background job) is left alone."""
        signals = FakeSignals({signal.SIGINT: signal.SIG_IGN,
                               signal.SIGTERM: signal.SIG_DFL})
        with heldSignals(signals):
            self.assertEqual(signals.handlers[signal.SIGINT], signal.SIG_IGN)
        self.assertEqual(signals.raised, [])

    def test_heldOnRaise(self):
        """The block ending in an exception still restores the handlers
        and raises what came."""
        signals = FakeSignals({signal.SIGINT: signal.default_int_handler,
                               signal.SIGTERM: signal.SIG_DFL})
        with self.assertRaises(KeyError):
            with heldSignals(signals):
                signals.deliver(signal.SIGTERM)
                raise KeyError("x")
        self.assertEqual(signals.raised, [signal.SIGTERM])
        self.assertEqual(signals.handlers[signal.SIGTERM], signal.SIG_DFL)
