"""Tests for a node's punch that learns its peer's router is on its
segment (L{twisted_bazaar.reach.punch.udp.runs.Runs}'s sounding answered,
or the peer's ``udppunchnear``), through in-memory routers."""

from twisted.logger import capturedLogs, formatEvent

from twisted_bazaar.reach.punch.udp import plan as udppunch
from twisted_bazaar.reach.punch.udp.plan import HARD_SOCKETS
from twisted_bazaar.reach.punch.udp.runs import UNLINKED
from twisted_bazaar.testing.udpnat import RANDOM
from twisted_bazaar.wire.udpreach import UdpPunchNear

from tests.reach.punch.helpers import HOME, UdpPunchingTestCase


class NearTests(UdpPunchingTestCase):
    def setUp(self):
        super().setUp()
        self.checked(kind_a=RANDOM)
        self.tcpFailed()
        self.go()
        self.clock.advance(0)

    def plan(self, side):
        return side.punching.table.get(side.peer.id).punch.plan

    def test_sounded(self):
        """Each side's punch sounds the peer's seen host and port at the
        go, and holds the relayed download meanwhile."""
        [sounding] = self.a.soundings
        self.assertEqual((sounding.host, sounding.port),
                         (HOME["b"][1], self.reach["b"].seen_port))
        self.assertEqual(len(self.b.soundings), 1)
        self.assertTrue(self.a.punching.runs(self.bob.id))

    def test_answeredFromThePeer(self):
        """A's sounding answered from B's host: A's punch goes patient, says
        so, tells B through the tracker, and holds no relayed download."""
        with capturedLogs() as events:
            self.a.soundings[0].answered(HOME["b"][1])
        self.assertEqual(self.plan(self.a).strategy, "patient-birthday-sockets")
        self.assertEqual(self.a.membership.take(), [UdpPunchNear(self.bob.id, 77)])
        self.assertFalse(self.a.punching.runs(self.bob.id))
        [line] = [formatEvent(event) for event in events if "patient" in formatEvent(event)]
        self.assertIn("goes patient, the two routers on one segment: its router answered "
                      f"this node's sounding (ICMP 3/3 from {HOME['b'][1]}) "
                      "(patient-birthday-sockets, ", line)
        # The sounding's one datagram, and nothing else yet.
        self.assertEqual(self.b.punching.table.get(self.alice.id).punch.acks, 0)

    def metAt(self):
        """Seconds from now until both sides have their path (stepping up
        to 60 s), or None."""
        for step in range(6000):
            if all(side.punching.table.get(side.peer.id).path is not None
                   for side in (self.a, self.b)):
                return step * 0.01
            self.elapse(0.01)
        return None

    def test_toldByThePeer(self):
        """B told (the tracker passes A's udppunchnear) goes patient too,
        the opener (the easy side of a birthday punch), and says so back;
        another nonce, or a punch met, is not turned.  A, the waiting
        side, tries at B's word: where the routers keep nothing of what
        came unasked (a rule that rejects it answers the sounding as a
        plain router does), the two meet within 3 s of it (the patient
        plan alone waited 32 s)."""
        self.b.membership.hear(UdpPunchNear(self.alice.id, 78))
        self.assertEqual(self.plan(self.b).strategy, "birthday-probes")
        self.a.soundings[0].answered(HOME["b"][1])
        self.assertEqual(self.a.membership.take(), [UdpPunchNear(self.bob.id, 77)])
        with capturedLogs() as events:
            self.b.membership.hear(UdpPunchNear(self.alice.id, 77))
        self.assertEqual(self.plan(self.b).strategy, "patient-birthday-probes")
        self.assertIn("goes patient, the two routers on one segment: it says so",
                      "".join(formatEvent(event) for event in events))
        self.assertEqual(self.b.membership.take(), [UdpPunchNear(self.alice.id, 77)])
        self.elapse(0.1)
        self.a.membership.hear(UdpPunchNear(self.bob.id, 77))
        self.assertLess(self.metAt(), 3.0)

    def test_answeredFromElsewhere(self):
        """An answer from another host (a router between): the plan runs
        on, nothing told."""
        self.a.soundings[0].answered("192.0.2.254", 11, 0)
        self.assertEqual(self.plan(self.a).strategy, "birthday-sockets")
        self.assertEqual(self.a.membership.take(), [])

    def test_soundingStoppedWithItsRun(self):
        """The run met or ended: its sounding is stopped."""
        self.elapse(udppunch.TIMEOUT + udppunch.SOUND + 0.1)
        self.assertTrue(self.a.soundings[0].stopped)
        self.assertTrue(self.b.soundings[0].stopped)

    def linkGone(self, side):
        peer = side.peer.id
        del side.node.links[peer]
        side.node.events.linkRemoved(peer)

    def test_aPatientPunchEndsWithItsLink(self):
        """The link a patient punch was taken on closes (its peer exited,
        a buyer daemon done): the punch ends 2 s later, its sockets
        closed, said; one whose link comes again within the 2 s runs on
        (two nodes that linked each other at once)."""
        self.a.soundings[0].answered(HOME["b"][1])
        self.b.membership.hear(UdpPunchNear(self.alice.id, 77))
        self.linkGone(self.a)
        self.linkGone(self.b)
        self.b.linkUp()
        with capturedLogs() as events:
            self.clock.advance(UNLINKED)
        self.assertIsNone(self.a.punching.table.get(self.bob.id))
        self.assertEqual(len(self.a.sockets.closed), HARD_SOCKETS - 1)
        self.assertIn("its link closed, and no other came within 2 s: the patient punch "
                      "ends, its sockets closed",
                      "".join(formatEvent(event) for event in events))
        self.assertIsNotNone(self.b.punching.table.get(self.alice.id))


class KeptTests(UdpPunchingTestCase):
    """The same punch between routers that keep an entry for what came
    unasked (plain MASQUERADE)."""

    def setUp(self):
        super().setUp()
        self.checked(kind_a=RANDOM, kept=True)
        self.tcpFailed()
        self.go()
        self.clock.advance(0)

    metAt = NearTests.metAt

    def test_aPlainRouterWaits(self):
        """Routers that keep an entry for what came unasked (plain
        MASQUERADE): the waiting side's try, at its opener's word, meets
        nothing (its mapping moved for the pairs the opener's probes
        hold), and the two meet once its late rounds go, L{OUTLAST} s
        after its try."""
        self.a.soundings[0].answered(HOME["b"][1])
        self.b.membership.hear(UdpPunchNear(self.alice.id, 77))
        self.a.membership.hear(UdpPunchNear(self.bob.id, 77))
        met = self.metAt()
        self.assertGreater(met, udppunch.OUTLAST)
        self.assertLess(met, udppunch.OUTLAST + 5)
