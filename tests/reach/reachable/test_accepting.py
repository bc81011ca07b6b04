"""
Tests for L{twisted_bazaar.reach.reachable.accepting}: a circuit a relay
announces is accepted at that relay, on a connection of its own asking
for that circuit, never at the host the message names; one the node
cannot take is declined, saying why, and opens nothing.  (Its bounds:
tests/reach/reachable/test_incoming.py.)
"""

import random

from twisted.internet.error import ConnectError, ConnectionDone
from twisted.internet.testing import StringTransport, StringTransportWithDisconnection
from twisted.logger import capturedLogs, formatEvent
from twisted.python.failure import Failure

from tests.core.test_membership import MembershipCase, reach
from tests.helpers import WiredLink
from tests.reach.reachable.test_reservation import RELAY, PeerReservationCase
from tests.transports.recording import Recording
from twisted_bazaar import wire
from twisted_bazaar.core.membership import Membership
from twisted_bazaar.daemon.build import plugReservations, relayHome
from twisted_bazaar.daemon.registry import transportPlugins
from twisted_bazaar.tap.shortfall import wayOut
from twisted_bazaar.identity.keys import Identity, decode
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.reach.reachable.accepting import CircuitAccepting
from twisted_bazaar.reach.reachable.advertising import ADVERTISE_INTERVAL
from twisted_bazaar.reach.reachable.reservation import UNOPENED_AFTER
from twisted_bazaar.testing.capabilities import secured
from twisted_bazaar.transports.path import CONFIGURED, DIRECT, Path
from twisted_bazaar.transports.relay.messages import RELAY as RELAY_PURPOSE
from twisted_bazaar.transports.relay.messages import (
    RelayAccept,
    RelayIncoming,
    RelayOpen,
    RelayReserved,
)
from twisted_bazaar.transports.table import Transports
from twisted_bazaar.transports.websocket import WEBSOCKET
from twisted_bazaar.wire.framing import frame


class CircuitAcceptingTests(PeerReservationCase):
    def test_incomingDialsTheRelayHeld(self):
        """A circuit announced on the reservation's connection is accepted
        at the relay held: never at the host the message names."""
        hold, _ = self.held()
        hold.dataReceived(frame(wire.encode(RelayReserved(RELAY))))
        hold.dataReceived(frame(wire.encode(RelayIncoming("tok", "node", "6.6.6.6",
                                                          22))))
        request = self.node.connector.requests[-1]
        self.assertEqual((request.host, request.port), ("192.0.2.50", 7702))

    def test_acceptedAtTheRelay(self):
        """Accepted: None, and one connection to the relay, which asks it
        for the circuit announced."""
        accepting = CircuitAccepting(relayHome(self.node))
        asked = len(self.node.connector.requests)
        self.assertIsNone(accepting.accept(RelayIncoming("tok", "node", "6.6.6.6", 22),
                                           RELAY))
        [request] = self.node.connector.requests[asked:]
        self.assertEqual((request.host, request.port), ("192.0.2.50", 7702))
        self.assertEqual(request.link.first, RelayAccept("tok"))

    def test_dialsUnderWayGivenUpSayingNothing(self):
        """Stopped (its reservation gone: the node stops), a dial to the
        relay still under way is given up, says nothing, and counts as no
        failure to reach the relay; the accept's place is free again."""
        told = []
        accepting = CircuitAccepting(relayHome(self.node), failed=told.append)
        accepting.accept(RelayIncoming("tok", "node", "6.6.6.6", 22), RELAY)
        request = self.node.connector.requests[-1]
        self.assertEqual(accepting.accepts.account.used, 1)
        with capturedLogs() as events:
            accepting.stop()
        self.assertTrue(request.deferred.called)
        self.assertEqual([formatEvent(event) for event in events], [])
        self.assertEqual(told, [])
        self.assertEqual(accepting.accepts.account.used, 0)

    def test_aPurposeTheNodeTakesNotIsDeclined(self):
        """A circuit for the file transfers of a node that shares none is
        declined: why, said in the log, and nothing opened."""
        accepting = CircuitAccepting(relayHome(self.node))
        asked = len(self.node.connector.requests)
        with capturedLogs() as events:
            why = accepting.accept(RelayIncoming("tok", "files", "6.6.6.6", 22), RELAY)
        self.assertEqual(why, "this node takes none")
        self.assertEqual(self.node.connector.requests[asked:], [])
        self.assertIn(f"declined a relayed circuit from 6.6.6.6 for files (the relay "
                      f"at {RELAY} says): this node takes none",
                      [formatEvent(event) for event in events])


WAY = Path(WEBSOCKET, "192.0.2.1", 80, word=CONFIGURED)
TRACKERS_RELAY = "192.0.2.1:7701"
#: The key the tracker's channel proves (its relay's: the same).
TRACKERS_KEY = decode(Identity.fromRandom(random.Random(9)).key)


class TrackerWayCase(MembershipCase):
    """A node at home, its reservation at its tracker's relay; its ways to
    its tracker's relay ``ways`` (L{Membership.trackerWay})."""

    ways = ()

    def makeTransports(self):
        self.direct, self.websocket = Recording(DIRECT), Recording(WEBSOCKET)
        return Transports([self.direct, self.websocket])

    def makeMembership(self):
        return Membership(self.node, ways=self.ways)

    def connectTracker(self):
        """The tracker's connection, its channel proving the tracker's key."""
        return WiredLink(self.membership.factory, "192.0.2.1", 7700,
                         transport=lambda **kw: secured(
                             StringTransportWithDisconnection(**kw), TRACKERS_KEY))

    def setUp(self):
        super().setUp()
        self.node.identity = Identity.fromRandom(random.Random(3))
        # The ways out the daemon names (its transport plugins': a relay
        # over WebSocket, --ws-peer).
        self.reservations = plugReservations(self.node,
                                             wayOut(transportPlugins().values()))
        self.register()
        self.tracker.say(reach(False))
        self.tracker.heard()
        with capturedLogs() as events:
            self.tracker.say({"type": "relayReserved", "relay": TRACKERS_RELAY})
        self.reserved = [formatEvent(event) for event in events]


class TrackerWayTests(TrackerWayCase):
    """A node that reaches its tracker by a transport that serves the
    tracker's relay too (WebSocket, from a home that lets only HTTP(S)
    out) accepts the circuits of its reservation there, through its
    dialer, not at the relay's own TCP port."""

    ways = (WAY,)

    def announce(self, circuit="tok", dialler="6.6.6.6"):
        """The tracker's relay announces a circuit: what the node logged."""
        with capturedLogs() as events:
            self.tracker.say({"type": "relayIncoming", "circuit": circuit,
                              "purpose": "node", "host": dialler, "port": 22})
        return [formatEvent(event) for event in events]

    def open(self, end):
        """The circuit's end hears the relay open it: what the node logged."""
        end.makeConnection(StringTransport())
        with capturedLogs() as events:
            end.dataReceived(frame(wire.encode(RelayOpen("6.6.6.6"))))
        return [formatEvent(event) for event in events]

    def test_reachableOnlyOnceACircuitOpened(self):
        """Reserved, the node says it holds a reservation, not that it is
        reachable; it says it is reachable through the relay once a
        circuit there opened, once; a circuit that failed says nothing of
        the kind."""
        reachable = (f"reachable through the relay at {TRACKERS_RELAY}: a circuit "
                     "through it opened")
        self.assertNotIn(reachable, self.announce())
        failed = self.websocket.built[0]
        failed.makeConnection(StringTransport())
        with capturedLogs() as events:
            failed.connectionLost(Failure(ConnectionDone("gone")))
        lines = [formatEvent(event) for event in events]
        self.assertIn("a relayed circuit from 6.6.6.6 did not open", " ".join(lines))
        self.assertNotIn(reachable, lines)
        self.announce("tok2")
        self.assertEqual(self.open(self.websocket.built[-1]).count(reachable), 1)
        self.announce("tok3")
        self.assertNotIn(reachable, self.open(self.websocket.built[-1]))

    def test_reachableSaidOnlyAfterHolds(self):
        """A relay held while the advertising pace waits (a second relay
        within ADVERTISE_INTERVAL): a circuit that opens there meanwhile
        has the node say it is reachable through it only after it said it
        holds a reservation there, when the pace's round comes."""
        other = "192.0.2.1:7702"
        reachable = (f"reachable through the relay at {other}: a circuit "
                     "through it opened")
        holds = f"holds a reservation at the relay at {other}: "
        self.reservations.reservation._ask()
        with capturedLogs() as events:
            self.tracker.say({"type": "relayReserved", "relay": other})
            self.announce()
            self.open(self.websocket.built[-1])
            self.clock.advance(ADVERTISE_INTERVAL)
        lines = [formatEvent(event) for event in events]
        said = [line for line in lines if line.startswith(holds) or line == reachable]
        self.assertEqual([line == reachable for line in said], [False, True], lines)

    def unreached(self, circuit):
        """A circuit announced for which the node cannot reach the relay
        (its dial fails): what the node logged."""
        self.websocket.refusing = ConnectError(string="dropped")
        try:
            return self.announce(circuit)
        finally:
            self.websocket.refusing = None

    def end(self, circuit):
        """A circuit announced whose connection to the relay is lost
        before it opens (the relay, or its dialler, ended it): what the
        node logged (each from a dialler of its own group: within the
        diallers' rate)."""
        self.announce(circuit, f"6.{len(self.websocket.dials)}.6.6")
        end = self.websocket.built[-1]
        end.makeConnection(StringTransport())
        with capturedLogs() as events:
            end.connectionLost(Failure(ConnectionDone("gone")))
        return [formatEvent(event) for event in events]

    def test_circuitsThatNeverOpenAreTold(self):
        """The UNOPENED_AFTER-th circuit announced at the relay held that
        the node could not reach it for, none opened, has the node say
        so and tell its parts, once; one opening takes it back, and
        failures after that count no more."""
        told = []

        class Heard(NodeObserver):
            def relayCircuits(self, relay, why):
                told.append((relay, why))

        self.node.addObserver(Heard())
        why = ("this node could not reach it for the 3 circuits announced there, none "
               "opened")
        # It names the way out: a relay over another transport (the
        # transport plugins' words: WebSocket, --ws-peer).
        ways = self.reservations.wayOut
        self.assertTrue(ways)
        said = (f"no circuit through the relay at {TRACKERS_RELAY} opens ({why}): a "
                "shared file bought here could not be delivered, so none is sold until "
                f"one opens: {'; '.join(ways)}")
        self.assertEqual(UNOPENED_AFTER, 3)
        for n in (1, 2):
            self.assertNotIn(said, self.unreached(f"tok{n}"))
        self.assertEqual(told, [])
        self.assertIn(said, self.unreached("tok3"))
        self.assertNotIn(said, self.unreached("tok4"))
        self.assertEqual(told, [(TRACKERS_RELAY, why)])
        self.announce("tok5")
        self.open(self.websocket.built[-1])
        self.assertEqual(told[1:], [(TRACKERS_RELAY, None)])
        for n in range(6, 10):
            self.unreached(f"tok{n}")
        self.assertEqual(len(told), 2)

    def test_circuitsEndedCountNothing(self):
        """Circuits whose connection to the relay came up and then ended
        (the relay, or a dialler that gave up, ended them) say nothing of
        the way to the relay: however many, the node tells nothing; its
        own dials that fail after them do."""
        told = []

        class Heard(NodeObserver):
            def relayCircuits(self, relay, why):
                told.append(why)

        self.node.addObserver(Heard())
        for n in range(2 * UNOPENED_AFTER):
            self.end(f"tok{n}")
        self.assertEqual(told, [])
        for n in range(UNOPENED_AFTER):
            self.unreached(f"dropped{n}")
        self.assertEqual(len(told), 1)

    def test_aNewRelayTakesTheWordBack(self):
        """The relay that no circuit opened at let go (the tracker
        connection lost), the word is taken back."""
        told = []

        class Heard(NodeObserver):
            def relayCircuits(self, relay, why):
                told.append((relay, why is None))

        self.node.addObserver(Heard())
        for n in range(UNOPENED_AFTER):
            self.unreached(f"tok{n}")
        self.reservations.reservation.lost()
        self.assertEqual(told, [(TRACKERS_RELAY, False), (TRACKERS_RELAY, True)])

    def test_acceptedTheWayTheTrackerIsReached(self):
        self.tracker.say({"type": "relayIncoming", "circuit": "tok", "purpose": "node",
                          "host": "6.6.6.6", "port": 22})
        [(path, key, options)] = self.websocket.dials
        self.assertEqual((path, options.purpose), (WAY, RELAY_PURPOSE))
        self.assertEqual(self.direct.dials, [])
        # (Issue 93's ninth round.)  The tracker's key, as its channel
        # proved it, is expected of its relay: an impostor at the relay's
        # address is refused in the handshake, before this node proves
        # its own key to it.
        self.assertEqual(key, TRACKERS_KEY)


class NoTrackerWayTests(TrackerWayCase):
    def test_atTheRelaysPort(self):
        """Without a way (a tracker reached over TCP), at the relay's port
        the tracker named, as ever."""
        self.tracker.say({"type": "relayIncoming", "circuit": "tok", "purpose": "node",
                          "host": "6.6.6.6", "port": 22})
        [(path, key, _)] = self.direct.dials
        self.assertEqual((path.kind, path.host, path.port), (DIRECT, "192.0.2.1", 7701))
        self.assertEqual(key, TRACKERS_KEY)

    def test_reservedIsNotReachable(self):
        """Held, the reservation is said as such: not as reachable."""
        self.assertIn(f"holds a reservation at the relay at {TRACKERS_RELAY}: nodes that "
                      "cannot dial this node open circuits to it there (reachable "
                      "through it once one opens)", self.reserved)
        self.assertFalse([line for line in self.reserved if "reachable through" in line
                          and "once one opens" not in line])
        self.assertEqual(self.websocket.dials, [])
