"""
The reservation service (L{twisted_bazaar.reach.reachable.reserving}): a node its
tracker finds private reserves at a relay, through its tracker session.
"""

import random
import sys

from twisted.internet.testing import StringTransport

from tests.core.test_membership import MembershipCase, reach
from twisted_bazaar.daemon.build import plugReservations
from twisted_bazaar.identity.keys import Identity


class RelayReservationTests(MembershipCase):
    """
    A node with a key that its tracker cannot dial asks for a reservation
    at the tracker's relay, advertises the relay once it holds one, and
    accepts the circuits the relay announces on a connection of its own.
    """

    RELAY = "192.0.2.1:7701"

    def setUp(self):
        super().setUp()
        self.node.identity = Identity.fromRandom(random.Random(3))
        self.service = plugReservations(self.node)
        self.register()

    def reserve(self):
        self.tracker.say(reach(False))
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserve"}])
        self.tracker.say({"type": "relayReserved", "relay": self.RELAY})

    def test_holdsNothingMadeForTheNode(self):
        """Before the node is first found private, its service holds the
        node and nothing made for it (a bound method was 64 bytes each
        simulated node): its home is made then, of the node."""
        service = self.service
        # Its fields are slots (no dict): every slot's value, but the
        # empty tuple of no ways out, one object for all.
        self.assertFalse(hasattr(service, "__dict__"))
        values = [getattr(service, name) for cls in type(service).__mro__
                  for name in getattr(cls, "__slots__", ())]
        held = [value for value in values
                if value is not None and value is not self.node and value != ()]
        self.assertEqual([sys.getsizeof(value) for value in held
                          if not isinstance(value, (bool, str, int))], [])
        self.assertIsNone(service.reservation)
        self.tracker.say(reach(False))
        self.assertIs(service.reservation.home.identity, self.node.identity)

    def test_aSourceOfTheDialers(self):
        """Made, the reservation is one of the node's dialer's sources of
        paths, which it announces the relay held through (the node
        advertises it); it punches none, so the dialer does not punch."""
        self.assertIsNone(self.node.dialer._sources)
        self.reserve()
        self.assertEqual(list(self.node.dialer.sources), [self.service.reservation])
        self.assertFalse(self.node.dialer.punches)
        self.clock.advance(0)
        self.assertEqual(self.node.relay, self.RELAY)

    def test_privateAsksOnce(self):
        """Told it is not reachable, it asks once per tracker connection;
        a public node never asks."""
        self.tracker.say(reach(True))
        self.assertEqual(self.tracker.heard(), [])
        self.tracker.say(reach(False))
        self.tracker.say(reach(False))
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserve"}])

    def test_reservedIsAdvertised(self):
        """Once held, the node's relay is the relay's address, and its
        parts are told to advertise it."""
        self.assertIsNone(self.node.relay)
        self.reserve()
        self.assertEqual(self.node.relay, self.RELAY)
        self.assertIn(("relayChanged",), self.recorder.events)

    def test_lostWithTheTracker(self):
        """The reservation goes with the tracker connection: the node
        advertises no relay, and its parts are told."""
        self.reserve()
        del self.recorder.events[:]
        self.tracker.link.transport.loseConnection()
        self.assertIsNone(self.node.relay)
        self.assertEqual(self.recorder.events.count(("relayChanged",)), 1)

    def test_incomingAccepted(self):
        """A circuit announced is accepted on a new connection to the
        relay, whose first message names the circuit."""
        self.reserve()
        self.tracker.say({"type": "relayIncoming", "circuit": "tok", "purpose": "node",
                          "host": "198.51.100.7", "port": 5000})
        [request] = self.node.connector.requests
        self.assertEqual((request.host, request.port), ("192.0.2.1", 7701))
        transport = StringTransport()
        request.link.makeConnection(transport)
        self.assertEqual(transport.value(), b'38:{"type":"relayAccept","circuit":"tok"},')

    def test_incomingUnasked(self):
        """A relayIncoming to a node that holds no reservation is refused,
        and nothing is dialled."""
        self.tracker.say({"type": "relayIncoming", "circuit": "tok", "purpose": "node",
                          "host": "198.51.100.7", "port": 5000})
        [error] = self.tracker.heard()
        self.assertEqual(error["code"], "wtf")
        self.assertEqual(self.node.connector.requests, [])

    def test_trackersRelayVouched(self):
        """The relay where the tracker holds the reservation is the
        tracker's own (its session vouches for it, for any peer) until the
        tracker connection goes."""
        self.assertFalse(self.membership.isTrackerRelay(self.RELAY))
        self.reserve()
        self.assertTrue(self.membership.isTrackerRelay(self.RELAY))
        self.assertTrue(self.node.whereabouts.book.vouches(self.RELAY, 0x78))
        self.tracker.link.transport.loseConnection()
        self.assertFalse(self.membership.isTrackerRelay(self.RELAY))

    def test_theTrackersRelayOnlyAtItsOwnHost(self):
        """
        A tracker (a lying one among several) says it holds the
        reservation at "its own relay" at another host than the one the
        node's tracker connection reaches: a victim's SSH port.  Before,
        the node advertised it, vouched for it to every dial of its own,
        and connected there at each circuit the tracker announced.  Now
        refused with why (``error{wtf}``): no relay advertised or
        vouched, and a circuit announced dials nothing.
        """
        self.tracker.say(reach(False))
        self.tracker.heard()
        self.tracker.say({"type": "relayReserved", "relay": "203.0.113.66:22"})
        [error] = self.tracker.heard()
        self.assertEqual((error["type"], error["code"]), ("error", "wtf"))
        self.assertIn("this tracker's own relay is at the host this node connected to",
                      error["info"])
        self.assertIsNone(self.node.relay)
        self.assertFalse(self.membership.isTrackerRelay("203.0.113.66:22"))
        self.tracker.say({"type": "relayIncoming", "circuit": "tok", "purpose": "node",
                          "host": "198.51.100.7", "port": 5000})
        self.assertEqual(self.node.connector.requests, [])
        # Its own host, as an IPv6 socket names an IPv4 address, is its own.
        self.tracker.say({"type": "relayReserved", "relay": "[::ffff:192.0.2.1]:7701"})
        self.assertEqual(self.node.relay, "[::ffff:192.0.2.1]:7701")

    def test_relayMessagesRefusedUntilAsked(self):
        """Until the node asked for a reservation, the tracker's relay
        messages are refused as any message nobody takes."""
        self.tracker.say({"type": "relayReserved", "relay": self.RELAY})
        [error] = self.tracker.heard()
        self.assertEqual(error["code"], "wtf")
        self.assertIsNone(self.node.relay)

    def test_stoppedServiceLetsGo(self):
        """Stopping the service ends the reservation: no relay advertised,
        nothing left scheduled (its retry at the tracker's relay)."""
        self.reserve()
        self.assertNotEqual(self.clock.getDelayedCalls(), [])
        self.service.stopService()
        self.assertIsNone(self.node.relay)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_publicLetsGo(self):
        """Found public after it reserved (its router maps its port since,
        and the tracker's check reached it there: reach/reachable/portmapping.py), the
        node lets go of its reservation: it advertises no relay, and a
        later private reach asks anew.  On the code before it kept the
        relay, and buyers went on dialling it there."""
        self.reserve()
        del self.recorder.events[:]
        self.tracker.say(reach(True))
        self.assertIsNone(self.node.relay)
        self.assertEqual(self.recorder.events.count(("relayChanged",)), 1)
        self.tracker.say(reach(False))
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserve"}])


class WithoutTheServiceTests(MembershipCase):
    """A node whose builder gave it no reservation service reserves
    nowhere: the tracker session only tells the node's parts."""

    def test_privateAsksNothing(self):
        self.node.identity = Identity.fromRandom(random.Random(3))
        self.register()
        self.tracker.say(reach(False))
        self.assertEqual(self.tracker.heard(), [])


class KeylessTests(MembershipCase):
    def test_keylessAsksNothing(self):
        """A node without a key reserves nowhere (no relay would hold
        it)."""
        plugReservations(self.node)
        self.register()
        self.tracker.say(reach(False))
        self.assertEqual(self.tracker.heard(), [])

