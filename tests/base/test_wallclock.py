"""
Tests of L{twisted_bazaar.base.wallclock}: a daemon's timers on the
monotonic clock, its dates on the wall clock.
"""

from twisted.internet import task
from twisted.internet.selectreactor import SelectReactor
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.wallclock import splitClock, wallSeconds
from twisted_bazaar.testing.clocks import SplitClock


class Machine:
    """A machine's two clocks, as fakes: ``wall`` steps, ``monotonic``
    only goes on."""

    def __init__(self):
        self.wall, self.monotonic = 1_700_000_000.0, 5000.0

    def advance(self, seconds):
        self.wall += seconds
        self.monotonic += seconds


class SplitClockTests(SynchronousTestCase):

    def reactor(self, machine):
        reactor = SelectReactor()
        self.addCleanup(reactor.disconnectAll)
        self.addCleanup(reactor.waker.connectionLost, None)
        splitClock(reactor, lambda: machine.monotonic, lambda: machine.wall)
        return reactor

    def test_timersIgnoreWallSteps(self):
        """A timer of a split reactor is due after its delay on the
        monotonic clock: a wall clock stepped back 600 s holds it no
        longer, one stepped forward 600 s fires nothing early; the wall
        clock still reads as stepped."""
        machine = Machine()
        reactor = self.reactor(machine)
        fired = []
        reactor.callLater(10, fired.append, "back")
        machine.wall -= 600
        machine.advance(10)
        reactor.runUntilCurrent()
        self.assertEqual(fired, ["back"])
        reactor.callLater(30, fired.append, "forward")
        machine.wall += 600
        machine.advance(1)
        reactor.runUntilCurrent()
        self.assertEqual(fired, ["back"])
        self.assertAlmostEqual(reactor.timeout(), 29)
        machine.advance(29)
        reactor.runUntilCurrent()
        self.assertEqual(fired, ["back", "forward"])
        self.assertEqual(wallSeconds(reactor), machine.wall)

    def test_secondsAreTheMonotonicClocks(self):
        """The reactor's seconds are the monotonic clock's, its wall clock
        the wall clock's; a second split changes nothing."""
        machine = Machine()
        reactor = self.reactor(machine)
        self.assertEqual((reactor.seconds(), wallSeconds(reactor)),
                         (machine.monotonic, machine.wall))
        splitClock(reactor, lambda: 0.0, lambda: 0.0)
        self.assertEqual((reactor.seconds(), wallSeconds(reactor)),
                         (machine.monotonic, machine.wall))

    def test_notAfterATimer(self):
        """A reactor with a timer already is not split: that timer would
        be due by the other clock."""
        machine = Machine()
        reactor = SelectReactor()
        self.addCleanup(reactor.disconnectAll)
        self.addCleanup(reactor.waker.connectionLost, None)
        call = reactor.callLater(1, lambda: None)
        self.addCleanup(call.cancel)
        self.assertRaises(RuntimeError, splitClock, reactor, lambda: machine.monotonic,
                          lambda: machine.wall)
        self.assertIsNone(getattr(reactor, "wallSeconds", None))

    def test_oneClockIsBoth(self):
        """A clock with no wall clock of its own (the simulator's, the
        unit tests') is its own wall clock."""
        clock = task.Clock()
        clock.advance(42)
        self.assertEqual(wallSeconds(clock), clock.seconds())

    def test_splitFakeClock(self):
        """L{SplitClock}: a wall step moves its wall clock, not its
        timers."""
        clock, fired = SplitClock(), []
        start = clock.seconds()
        clock.callLater(5, fired.append, True)
        clock.stepWall(-600)
        clock.advance(5)
        self.assertEqual((fired, clock.seconds(), wallSeconds(clock)),
                         ([True], start + 5, start - 595))
