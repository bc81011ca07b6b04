"""
A punch's dial on the in-memory network (L{twisted_bazaar.testing.punchdial}):
two dials that cross through routers that keep ports meet in one
connection; a symmetric router, a public host that has not dialled, or a
dial given up meet nothing.
"""

import random

from twisted.internet import defer, error, task
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.testing import MemoryNetwork
from twisted_bazaar.testing.memory import stepClock
from twisted_bazaar.testing.nat import SYMMETRIC, Homes, Router
from twisted_bazaar.testing.punchdial import SimultaneousOpens, synTimes

#: One-way latency of every write and SYN.
LATENCY = 0.02


class _Kept(Protocol):
    """Keeps what it is told."""

    def __init__(self):
        self.data = b""

    def dataReceived(self, data):
        self.data += data


class SynTimesTests(SynchronousTestCase):
    def test_linuxRetries(self):
        """A SYN at once, then 1 s and 3 s later (the retransmission
        timeout doubled), none at or after the dial's timeout."""
        self.assertEqual(synTimes(5.0), [0.0, 1.0, 3.0])
        self.assertEqual(synTimes(3.0), [0.0, 1.0])
        self.assertEqual(synTimes(8.0), [0.0, 1.0, 3.0, 7.0])


class SimultaneousOpenTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.network = MemoryNetwork(self.clock, latency=(LATENCY, LATENCY))
        self.homes = self.network.homes = Homes(random.Random(1))
        self.homes.place("a", Router("pub-a"))
        self.homes.place("b", Router("pub-b"))
        self.opens = SimultaneousOpens(self.network)

    def dial(self, host, local_port, target, opener=True):
        protocol = _Kept()
        d = self.opens.dialer(host).dial(local_port, *target, protocol, opener, b"k" * 32)
        return protocol, d

    def elapse(self, seconds, step=0.005):
        """Let seconds pass, in steps (a task.Clock runs a call scheduled
        while it advances at the time it advanced to), each also to a timer
        due a rounding after it (at an epoch the steps' sum falls short)."""
        end = self.clock.seconds() + seconds
        while self.clock.seconds() < end - 1e-9:
            stepClock(self.clock, min(step, end - self.clock.seconds()))

    def assertNothingLeft(self):
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.opens._dials, {})

    def test_crossingDialsMeet(self):
        """Two homes whose routers keep ports dial each other's public
        address from the ports they named: the SYN that arrives second
        meets the other dial, and one connection is up at both ends,
        each seen at the other's router with its own port; what one end
        writes reaches the other."""
        one, d1 = self.dial("a", 25000, ("pub-b", 26000))
        self.elapse(0.01)
        two, d2 = self.dial("b", 26000, ("pub-a", 25000), opener=False)
        self.elapse(LATENCY - 0.01)
        self.assertIs(self.successResultOf(d1), one)
        self.assertIs(self.successResultOf(d2), two)
        self.assertEqual((one.transport.getPeer().host, one.transport.getPeer().port),
                         ("pub-b", 26000))
        self.assertEqual((two.transport.getPeer().host, two.transport.getPeer().port),
                         ("pub-a", 25000))
        self.assertTrue(one.transport.punched)
        self.assertEqual(len(self.network.connections), 1)
        self.assertNothingLeft()
        one.transport.write(b"hello")
        self.elapse(LATENCY)
        self.assertEqual(two.data, b"hello")
        self.assertEqual(self.opens.counts["connected"], 1)

    def test_earlySynDroppedLaterOneMeets(self):
        """The first dial's SYN reaches a router whose host has not
        dialled yet and is dropped; the other's, sent later, meets it."""
        one, d1 = self.dial("a", 25000, ("pub-b", 26000))
        self.elapse(0.5)
        self.assertEqual(self.opens.counts["dropped"], 1)
        self.assertNoResult(d1)
        two, d2 = self.dial("b", 26000, ("pub-a", 25000), opener=False)
        self.elapse(LATENCY)
        self.assertIs(self.successResultOf(d1), one)
        self.assertIs(self.successResultOf(d2), two)
        self.assertNothingLeft()

    def test_symmetricRouterMeetsNothing(self):
        """A symmetric router sends the dial from a port of its own: the
        other side's SYNs aim at the port named and are dropped, its own
        come from where the other side did not aim; both dials time out
        after 5 s, with every SYN (three each) dropped."""
        self.homes.place("b", Router("pub-b", SYMMETRIC))
        _, d1 = self.dial("a", 25000, ("pub-b", 26000))
        _, d2 = self.dial("b", 26000, ("pub-a", 25000), opener=False)
        self.elapse(4.98)
        self.assertNoResult(d1)
        self.elapse(0.03)
        self.failureResultOf(d1, error.TimeoutError)
        self.failureResultOf(d2, error.TimeoutError)
        self.assertEqual(self.network.connections, [])
        self.assertEqual((self.opens.counts["syns"], self.opens.counts["dropped"]),
                         (6, 6))
        self.assertNothingLeft()

    def test_publicHostResetsAnEarlySyn(self):
        """A public host that has not dialled back answers a SYN with a
        reset: the dial fails at once, refused; the public host's own
        dial, later, finds no mapping left at the router and times out."""
        _, d1 = self.dial("a", 25000, ("pub", 26000))
        self.elapse(2 * LATENCY)
        failure = self.failureResultOf(d1, error.ConnectionRefusedError)
        self.assertIn("reset", failure.getErrorMessage())
        _, d2 = self.dial("pub", 26000, ("pub-a", 25000), opener=False)
        self.elapse(5.01)
        self.failureResultOf(d2, error.TimeoutError)
        self.assertNothingLeft()

    def test_resetDialMeetsNothing(self):
        """A dial whose SYN was reset meets nothing while the reset is on
        its way back: a SYN that overtakes it is dropped at the router."""
        _, d1 = self.dial("a", 25000, ("pub", 26000))
        self.elapse(LATENCY + 0.005)
        self.network.latency = (0.001, 0.001)
        _, d2 = self.dial("pub", 26000, ("pub-a", 25000), opener=False)
        self.elapse(0.002)
        self.assertEqual(self.opens.counts["dropped"], 1)
        self.elapse(LATENCY)
        self.failureResultOf(d1, error.ConnectionRefusedError)
        self.elapse(5.01)
        self.failureResultOf(d2, error.TimeoutError)
        self.assertEqual(self.network.connections, [])

    def test_publicHostThatDialledFirstMeets(self):
        """A public host that dialled first has its SYN dropped at the
        home's router, and the home's SYN meets its dial."""
        public, d1 = self.dial("pub", 26000, ("pub-a", 25000))
        self.elapse(0.1)
        home, d2 = self.dial("a", 25000, ("pub", 26000), opener=False)
        self.elapse(LATENCY)
        self.assertIs(self.successResultOf(d1), public)
        self.assertIs(self.successResultOf(d2), home)
        self.assertEqual(home.transport.getPeer().host, "pub")
        self.assertNothingLeft()

    def test_cancelledDialMeetsNothing(self):
        """A dial cancelled is over: its timers stop, and a SYN aimed at
        it later is dropped."""
        _, d1 = self.dial("a", 25000, ("pub-b", 26000))
        d1.cancel()
        self.failureResultOf(d1, defer.CancelledError)
        self.assertNothingLeft()
        _, d2 = self.dial("b", 26000, ("pub-a", 25000), opener=False)
        self.elapse(5.01)
        self.failureResultOf(d2, error.TimeoutError)
        self.assertEqual(self.network.connections, [])

    def test_stopCancelsEveryTimer(self):
        """A network's run that ends (L{SimultaneousOpens.stop}) leaves no
        timer of its dials: neither those under way (their SYNs, their
        timeouts) nor a reset on its way back; their Deferreds wait."""
        _, under_way = self.dial("a", 25000, ("pub-b", 26000))
        _, reset = self.dial("b", 26000, ("pub", 27000))
        self.elapse(LATENCY + 0.005)  # b's SYN reset: on its way back
        self.assertNoResult(reset)
        self.opens.stop()
        self.assertNothingLeft()
        self.assertNoResult(under_way)
        self.assertNoResult(reset)


class OneSidedDialTests(SynchronousTestCase):
    """A dial from local port 0 (the dialer's LAN way's, of a peer's
    local address) and a punch within one home."""

    def setUp(self):
        self.clock = task.Clock()
        self.network = MemoryNetwork(self.clock)
        self.homes = self.network.homes = Homes(random.Random(1))
        home = Router("pub-a")
        self.homes.place("a", home, "192.168.0.2")
        self.homes.place("b", home, "192.168.0.3")
        self.opens = SimultaneousOpens(self.network)

    def test_fromPortZeroConnects(self):
        """From port 0 a dial is an ordinary connect: it reaches what
        listens at a housemate's local address, over the LAN."""
        self.network.listen(Factory.forProtocol(_Kept), "b", 41000)
        protocol = _Kept()
        d = self.opens.dialer("a").dial(0, "192.168.0.3", 41000, protocol, True,
                                        b"k" * 32)
        self.clock.advance(0)
        self.assertIs(self.successResultOf(d), protocol)
        self.assertTrue(protocol.transport.lan)

    def test_noPunchWithinOneHome(self):
        """Two hosts of one home punching at their router's public address
        meet nothing: the router does not hairpin."""
        _, d1 = self.dialFrom("a", 25000, ("pub-a", 26000))
        _, d2 = self.dialFrom("b", 26000, ("pub-a", 25000))
        self.clock.pump([0.5] * 20)
        self.failureResultOf(d1, error.TimeoutError)
        self.failureResultOf(d2, error.TimeoutError)
        self.assertEqual(self.opens.counts["connected"], 0)

    def dialFrom(self, host, local_port, target):
        protocol = _Kept()
        return protocol, self.opens.dialer(host).dial(local_port, *target, protocol,
                                                      True, b"k" * 32)
