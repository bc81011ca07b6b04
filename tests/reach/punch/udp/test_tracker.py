"""
Tests for L{twisted_bazaar.reach.punch.udp.tracker}: a node's ``udpcheck``,
its probe datagrams and the tracker's ``udpreach`` and refusals, between
two nodes in memory (L{tests.reach.punch.helpers}).
"""

from twisted.logger import capturedLogs

from twisted_bazaar import wire
from twisted_bazaar.reach.punch.udp.mapping import (
    CHECK_TIMEOUT,
    FRESH,
    RATE_PAUSE,
    RATE_REFUSALS,
    REFUSED_PAUSE,
)
from twisted_bazaar.reach.reachable.reachability import PRIVATE, PUBLIC, Reachability
from twisted_bazaar.testing.udpnat import PORT_RESTRICTED
from twisted_bazaar.wire.udpreach import (
    NO_UDP_PORTS,
    UdpCheck,
    UdpProbe,
    UdpPunchAsk,
    UdpReached,
)

from tests.reach.punch.helpers import HOME, Side, TRACKER_PORTS, UdpPunchingTestCase


class CheckTests(UdpPunchingTestCase):
    def test_checkedOnARelayedLink(self):
        """A relayed link has each side check its UDP mapping: the two
        probe datagrams go from its QUIC socket to the tracker's two
        ports, and the udpreach is kept as its mapping."""
        self.checked()
        for name, side in (("a", self.a), ("b", self.b)):
            mine = side.punching.check.mine
            self.assertEqual((mine.host, mine.kind), (HOME[name][1], "easy"))
        self.assertTrue(self.a.punching.check.fresh())

    def test_checkedOnceDialled(self):
        """A node that serves QUIC (its udpPort) and that the tracker
        found it can dial checks its UDP mapping then, relayed link or
        not (the tracker names its QUIC port once it saw it); a node the
        tracker cannot dial, or that serves no QUIC, does not."""
        side = Side(self.network, "a", self.alice, self.bob, False, PORT_RESTRICTED)
        side.membership.take()
        events = side.node.events
        events.reachChanged(Reachability(PUBLIC, "198.51.100.7", 9000), 40000)
        self.assertEqual(side.membership.take(), [])
        side.node.udpPort = 4433
        events.reachChanged(Reachability(PRIVATE, "198.51.100.7", 9000), 40000)
        self.assertEqual(side.membership.take(), [])
        events.reachChanged(Reachability(PUBLIC, "198.51.100.7", 9000), 40000)
        self.assertEqual([type(m) for m in side.membership.take()], [UdpCheck])

    def test_notAskedAgainWhileFresh(self):
        """A second relayed link within FRESH seconds asks no check; one
        after asks again."""
        self.checked()
        self.a.linkUp()
        self.assertEqual(self.a.membership.take(), [])
        self.clock.advance(FRESH)
        self.a.linkUp()
        self.assertEqual([type(m) for m in self.a.membership.take()], [UdpCheck])

    def test_nothingSeen(self):
        """A udpreach that saw nothing (UDP blocked) gives up the punch
        that waited for it."""
        self.sides()
        self.b.membership.take()
        self.tcpFailed()
        self.assertTrue(self.a.punching.waitsFor(self.bob.id))
        self.a.membership.take()
        self.a.membership.hear(UdpReached("", 0, 0))
        self.assertFalse(self.a.punching.waitsFor(self.bob.id))
        self.assertEqual(self.a.released, [self.bob.id])

    def test_checkRefused(self):
        """An error{noudp} answering the check (a tracker without UDP
        ports) gives up the punch that waited for it."""
        self.sides()
        self.tcpFailed()
        self.a.membership.take()
        self.a.membership.hear(wire.Error("noudp", NO_UDP_PORTS))
        self.assertFalse(self.a.punching.waitsFor(self.bob.id))
        self.assertEqual(self.a.released, [self.bob.id])
        # Asked again only REFUSED_PAUSE later: not at every relayed link.
        self.clock.advance(REFUSED_PAUSE - 1)
        self.a.linkUp()
        self.assertEqual(self.a.membership.take(), [])
        self.clock.advance(1)
        self.a.linkUp()
        self.assertEqual([type(m) for m in self.a.membership.take()], [UdpCheck])


    def test_refusedForTheRate(self):
        """A check refused for the tracker's rate (its address group asked
        more than 1 a second): the punch waiting for it waits on, the
        check is asked again RATE_PAUSE s later, and the punch asked once
        it is answered."""
        self.sides()
        self.tcpFailed()
        self.a.membership.take()
        self.a.membership.hear(wire.Error(
            "noudp", "your address group asked more than 1 udpcheck a second"))
        self.assertTrue(self.a.punching.waitsFor(self.bob.id))
        self.assertEqual(self.a.released, [])
        self.clock.advance(RATE_PAUSE)
        self.check(self.a, 11)
        self.assertEqual(self.a.membership.take(), [UdpPunchAsk(self.bob.id)])

    def test_aRefusalForTheRateIsRoutineWhileAskedAgain(self):
        """A check refused for the tracker's rate, asked again by itself,
        is routine (its line a debug one, L{SessionParts.routine}), up
        to RATE_REFUSALS in a row; the next, taken as a tracker without
        UDP, and a refusal of a tracker without UDP ports, are not."""
        rate = wire.Error("noudp", "your address group asked more than 1 udpcheck a second")
        self.sides()
        self.tcpFailed()
        parts = self.a.membership.parts
        routine = []
        for _ in range(RATE_REFUSALS + 1):
            [check] = self.a.membership.take()
            self.assertEqual(type(check), UdpCheck)
            routine.append(parts.routine(rate))
            self.a.membership.hear(rate)
            self.clock.advance(RATE_PAUSE)
        self.assertEqual(routine, [True] * RATE_REFUSALS + [False])
        self.assertFalse(parts.routine(wire.Error("noudp", NO_UDP_PORTS)))

    def test_refusedBeforeThePunch(self):
        """A check refused when the relayed link came: the TCP punch that
        fails later has no UDP punch waiting on a check that will not
        come: given up at once, saying why."""
        self.sides()
        self.a.membership.take()
        self.a.membership.hear(wire.Error("noudp", NO_UDP_PORTS))
        with capturedLogs() as events:
            self.tcpFailed()
        self.assertFalse(self.a.punching.waitsFor(self.bob.id))
        self.assertEqual(self.a.released, [self.bob.id])
        self.assertEqual(self.a.membership.take(), [])
        [why] = [event["why"] for event in events if "why" in event]
        self.assertIn("refused its check, in the last 300 s", why)

    def test_probeNotAskedFor(self):
        """A udpprobe the node did not ask for (a tracker that sends them
        again and again) makes it send no datagram: two go for each
        udpcheck it sent, no more."""
        self.checked()
        before = self.network.sent
        for token in range(20, 30):
            self.a.membership.hear(UdpProbe(token, *TRACKER_PORTS))
        self.elapse(0.05)
        self.assertEqual(self.network.sent, before)

    def test_reachNotAskedFor(self):
        """A udpreach with no check of this node's under way (a tracker
        that sends them at will) changes nothing and logs nothing: a line
        for each before, its mapping taken as this node's."""
        self.checked()
        mine = self.a.punching.check.mine
        with capturedLogs() as events:
            for port in range(40000, 40010):
                self.a.membership.hear(UdpReached("192.0.2.99", port, port + 100))
            self.a.membership.hear(UdpReached("", 0, 0))
        self.assertEqual(self.a.punching.check.mine, mine)
        self.assertEqual(events, [])

    def test_checkUnanswered(self):
        """A check the tracker never answers: after CHECK_TIMEOUT the
        punch waiting for it is given up."""
        self.sides()
        self.tcpFailed()
        self.assertTrue(self.a.punching.waitsFor(self.bob.id))
        self.clock.advance(CHECK_TIMEOUT)
        self.assertFalse(self.a.punching.waitsFor(self.bob.id))
        self.assertEqual(self.a.released, [self.bob.id])
        self.assertNoTimers()
