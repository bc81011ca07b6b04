"""
A node's reservations, driven through its tracker session: at the public
node's relay its tracker names (held on a connection of its own, to the
key the tracker named), back to the tracker when that relay goes, off
the tracker's relay once a public one has room (the offer of a public
node's relay: tests/reach/reachable/test_offering.py).
"""

import random
import socket

from twisted.internet.error import ConnectionDone, ConnectionRefusedError
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs, formatEvent
from twisted.python.failure import Failure

from tests.core.test_membership import MembershipCase, reach
from tests.net.test_tcpkeepalive import TcpTransport, wrapping
from tests.transports.recording import Recording
from tests.helpers import FakeConnector
from tests.transports.relay.helpers import RecordingTransport
from twisted_bazaar import wire
from twisted_bazaar.core.membership import Membership
from twisted_bazaar.daemon.build import plugReservations
from twisted_bazaar.identity.keys import Identity, decode
from twisted_bazaar.testing.capabilities import secured
from twisted_bazaar.transports.relay.messages import RELAY as RELAY_PURPOSE
from twisted_bazaar.transports.relay.messages import (
    RelayAccept,
    RelayConnect,
    RelayIncoming,
    RelayOpen,
    RelayReserved,
)
from twisted_bazaar.reach.reachable.advertising import (
    ADVERTISE_CALM,
    ADVERTISE_INTERVAL,
    ADVERTISE_MAX,
)
from twisted_bazaar.transports.path import CONFIGURED, DIRECT, RELAYED, Path
from twisted_bazaar.transports.table import Transports
from twisted_bazaar.transports.websocket import WEBSOCKET
from twisted_bazaar.reach.reachable.reservation import RESERVE_TIMEOUT, RETRY_FIRST, PeerHold
from twisted_bazaar.wire.framing import frame
from twisted_bazaar.wire.ids import wireId

RELAY = "192.0.2.50:7702"


class PeerReservationCase(MembershipCase):
    """A node with a key, registered, that a public node's relay will
    hold."""

    def setUp(self):
        super().setUp()
        self.node.identity = Identity.fromRandom(random.Random(3))
        self.relaying = Identity.fromRandom(random.Random(4))
        self.service = plugReservations(self.node)
        self.register()

    def named(self):
        """Found private, the node asks; the tracker names the public
        node's relay: the connection the node opens to it."""
        self.tracker.say(reach(False))
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserve"}])
        self.tracker.say({"type": "relayAt", "id": wireId(self.relaying.id),
                          "relay": RELAY})
        [request] = self.node.connector.requests
        self.assertEqual((request.host, request.port), ("192.0.2.50", 7702))
        return request

    def held(self, key=None):
        """The relay's connection comes up, its channel proving ``key``
        (the named node's by default), and the relay holds the
        reservation: the connection's transport."""
        request = self.named()
        transport = StringTransport()
        secured(transport, decode(self.relaying.key) if key is None else key)
        request.link.makeConnection(transport)
        request.deferred.callback(request.link)
        return request.link, transport

    def passProbe(self):
        """The probe under way (the last connection the node asked for)
        comes up, and its circuit opens: it passes."""
        request = self.node.connector.requests[-1]
        request.link.makeConnection(StringTransport())
        request.deferred.callback(request.link)
        request.link.dataReceived(frame(wire.encode(RelayOpen("203.0.113.9"))))


class ThroughTheTransportsTests(PeerReservationCase):
    """A node's dials to the relay its tracker named go through its
    dialer (L{Dialer.toRelay}), by its transport of the direct kind, as
    every dial of the node."""

    def makeTransports(self):
        """The node's transports: one recording the direct kind's dials in
        place of the one over its connector, and one the relayed kind's
        (the relay probe's, left pending)."""
        self.direct = RecordingTransport(DIRECT)
        return Transports([self.direct, RecordingTransport(RELAYED)])

    def byTheDirectTransport(self):
        return self.direct

    def test_holdDialledByTheDirectTransport(self):
        """The reservation's connection to the relay named is the direct
        transport's dial, at the relay's address; the connector under it
        dials nothing."""
        direct = self.byTheDirectTransport()
        self.tracker.say(reach(False))
        self.tracker.heard()
        self.tracker.say({"type": "relayAt", "id": wireId(self.relaying.id),
                          "relay": RELAY})
        [dial] = direct.dials
        self.assertEqual((dial.host, dial.port, dial.relay), ("192.0.2.50", 7702, None))
        self.assertIsInstance(dial.protocol, PeerHold)
        self.assertEqual(self.node.connector.requests, [])
        # A key of the node the tracker named is expected in the channel's
        # handshake: an impostor at its address hears no proof of this
        # node's key (issue 93's ninth round).
        self.assertEqual(dial.expected, self.relaying.id)

    def test_acceptDialledByTheDirectTransport(self):
        """A circuit the relay held announces is accepted on the direct
        transport's dial to that relay, asking for that circuit."""
        direct = self.byTheDirectTransport()
        self.tracker.say(reach(False))
        self.tracker.heard()
        self.tracker.say({"type": "relayAt", "id": wireId(self.relaying.id),
                          "relay": RELAY})
        [held] = direct.dials
        transport = StringTransport()
        secured(transport, decode(self.relaying.key))
        held.protocol.makeConnection(transport)
        held.deferred.callback(held.protocol)
        held.protocol.dataReceived(frame(wire.encode(RelayReserved(RELAY))))
        held.protocol.dataReceived(frame(wire.encode(RelayIncoming("tok", "node", "6.6.6.6",
                                                                   22))))
        [_, dial] = direct.dials
        self.assertEqual((dial.host, dial.port), ("192.0.2.50", 7702))
        self.assertEqual(dial.protocol.first, RelayAccept("tok"))
        self.assertEqual(self.node.connector.requests, [])
        # (Issue 93's ninth round.)  The key the reservation's channel
        # proved (the named node's) is expected of the accept's: an
        # impostor at the relay's address is refused in the handshake,
        # before this node proves its key to it or asks for the circuit.
        self.assertEqual(dial.expected, decode(self.relaying.key))


class PeerReservationTests(PeerReservationCase):
    def test_heldAndTold(self):
        """The node asks with its id, advertises the relay once held, and
        tells the tracker."""
        hold, transport = self.held()
        self.assertEqual(transport.value(), frame(wire.encode(
            wire.decode(b'{"type":"relayReserve","id":"%s"}'
                        % wireId(self.node.id).encode()))))
        self.assertIsNone(self.node.relay)
        hold.dataReceived(frame(wire.encode(RelayReserved(RELAY))))
        self.assertEqual(self.node.relay, RELAY)
        self.assertIn(("relayChanged",), self.recorder.events)
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserved",
                                                 "relay": RELAY}])

    def test_heldConnectionProbedWhenQuiet(self):
        """Only the relay speaks on the connection once held: the TCP
        connection under it is probed after 25 s of quiet, so that a home
        router that forgot it (restarted) is found out.  Before, the node
        stayed unreachable until its next relay probe, up to 300 s, while
        its files sold (issue 96, s57-user2)."""
        request = self.named()
        tcp = TcpTransport(socket.socket())
        self.addCleanup(tcp.handle.close)
        request.link.makeConnection(secured(wrapping(tcp), decode(self.relaying.key)))
        self.assertEqual(tcp.keepalive, 1)

    def test_anotherKeyRefused(self):
        """A relay that proved another key than the named node's is left
        before anything it says is taken, and the node asks the tracker
        again."""
        hold, transport = self.held(key=decode(Identity.generate().key))
        hold.dataReceived(frame(wire.encode(RelayReserved(RELAY))))
        self.assertTrue(transport.disconnecting or transport.disconnected)
        hold.connectionLost(Failure(ConnectionDone()))
        self.assertIsNone(self.node.relay)
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserve"}])

    def test_relayGoes(self):
        """The relay's connection closes: the node advertises no relay,
        and asks the tracker for another."""
        hold, _ = self.held()
        hold.dataReceived(frame(wire.encode(RelayReserved(RELAY))))
        self.tracker.heard()
        del self.recorder.events[:]
        with capturedLogs() as events:
            hold.connectionLost(Failure(ConnectionDone()))
        self.assertIsNone(self.node.relay)
        self.assertEqual(self.recorder.events.count(("relayChanged",)), 1)
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserve"}])
        # Why, in the project's words (issue 96 LOW: it said Twisted's
        # 'Connection was closed cleanly.').
        self.assertIn(f"no reservation at node {wireId(self.relaying.id)}'s relay at "
                      f"{RELAY}: it closed the connection (it stopped, restarted or "
                      "crashed); asking the tracker for another",
                      [formatEvent(event) for event in events])

    def test_refusedByTheTracker(self):
        """The tracker refuses the relay the node holds (it names it no
        more: the relaying node left the tracker in between): the node
        lets that reservation go, advertises no relay, and asks again."""
        hold, transport = self.held()
        hold.dataReceived(frame(wire.encode(RelayReserved(RELAY))))
        self.tracker.heard()
        self.tracker.say({"type": "error", "code": "norelay",
                          "info": f"this tracker named you no relay at {RELAY}"})
        self.assertTrue(transport.disconnecting or transport.disconnected)
        hold.connectionLost(Failure(ConnectionDone()))
        self.assertIsNone(self.node.relay)
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserve"}])

    def test_otherRefusalsKeepTheRelay(self):
        """A tracker's refusal while no public node's relay is held (a
        reservation refused, say) lets go of nothing."""
        self.tracker.say(reach(False))
        self.tracker.heard()
        self.tracker.say({"type": "error", "code": "norelay", "info": "no"})
        self.assertEqual(self.tracker.heard(), [])

    def test_aRefusedAskAwaitsNoAnswer(self):
        """
        The tracker refuses the node's relayReserve (``noslots``: its relay
        is full, or off; ``norelay``): the ask is answered.  A
        relayReserved coming later is one nobody asked for: it used to be
        taken as the answer (the node waited on), and its relay
        advertised.  Now it is dropped, saying so.
        """
        for code in ("noslots", "norelay"):
            self.setUp()
            self.tracker.say(reach(False))
            self.assertEqual(self.tracker.heard(), [{"type": "relayReserve"}])
            self.tracker.say({"type": "error", "code": code,
                              "info": "your address group holds 8 reservations already"})
            with capturedLogs() as events:
                self.tracker.say({"type": "relayReserved", "relay": "192.0.2.1:7701"})
            self.assertIsNone(self.node.relay, code)
            self.assertIn("not taking the tracker's relay at 192.0.2.1:7701: this node "
                          "asked for none", [formatEvent(event) for event in events])

    def test_aRefusedAskIsAskedAgainLater(self):
        """
        A stranger's keys of the node's address group hold its 8 places at
        the tracker's relay as the node asks, and let go a second later.
        On the code before the node never asked again: an hour later it
        held no relay (0 asks more), out of reach for as long as its
        tracker connection lasted.  Now it asks again RETRY_FIRST later,
        doubling while refused, and takes the reservation once one is
        free.
        """
        self.tracker.say(reach(False))
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserve"}])
        asks = []
        for wait in (RETRY_FIRST, 2 * RETRY_FIRST, 4 * RETRY_FIRST):
            self.tracker.say({"type": "error", "code": "noslots",
                              "info": "your address group holds 8 reservations already"})
            self.clock.advance(wait - 0.1)
            self.assertEqual(self.tracker.heard(), [])
            self.clock.advance(0.1)
            asks.append(self.tracker.heard())
        self.assertEqual(asks, [[{"type": "relayReserve"}]] * 3)
        self.tracker.say({"type": "relayReserved", "relay": "192.0.2.1:7701"})
        self.clock.advance(1)
        self.assertEqual(self.node.relay, "192.0.2.1:7701")

    def test_aRefusedAskIsNotAskedForeverAtOnce(self):
        """Refused again and again, the node waits ever longer, up to
        RETRY_MAX: an hour of refusals is 10 asks, not one a refusal at
        once; leaving the tracker ends the wait."""
        self.tracker.say(reach(False))
        self.tracker.heard()
        self.tracker.say({"type": "error", "code": "noslots", "info": "full"})
        asks = 0
        for _ in range(3600):
            if self.tracker.heard():
                asks += 1
                self.tracker.say({"type": "error", "code": "noslots", "info": "full"})
            self.clock.advance(1)
        self.tracker.say({"type": "error", "code": "noslots", "info": "full"})
        self.assertEqual(asks, 10)
        self.tracker.link.transport.loseConnection()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_silentRelayLeftInTime(self):
        """A relay that proves its key and then says nothing to
        relayReserve: the node held no relay, and asked its tracker for
        none, for as long as the relay kept the connection (any public
        node may offer a relay).  Now it leaves it RESERVE_TIMEOUT later,
        saying why, and asks the tracker again; no timer is left."""
        hold, transport = self.held()
        self.tracker.heard()
        self.clock.advance(RESERVE_TIMEOUT - 0.1)
        self.assertFalse(transport.disconnecting or transport.disconnected)
        with capturedLogs() as events:
            self.clock.advance(0.1)
            self.assertTrue(transport.disconnecting or transport.disconnected)
            hold.connectionLost(Failure(ConnectionDone()))
        self.assertIn("the relay did not answer relayReserve within 10 s",
                      " ".join(formatEvent(event) for event in events))
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserve"}])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_answeredRelayKeepsNoTimer(self):
        """A relay that answers in time is kept past RESERVE_TIMEOUT."""
        hold, transport = self.held()
        hold.dataReceived(frame(wire.encode(RelayReserved(RELAY))))
        self.clock.advance(RESERVE_TIMEOUT)
        self.assertFalse(transport.disconnecting or transport.disconnected)
        self.assertEqual(self.node.relay, RELAY)

    def test_refusedByTheRelay(self):
        """The relay's refusal ends the attempt; the node asks again."""
        hold, transport = self.held()
        hold.dataReceived(frame(wire.encode(wire.Error("noslots", "full"))))
        self.assertTrue(transport.disconnecting or transport.disconnected)
        hold.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserve"}])

    def test_movesOffTheTrackersRelay(self):
        """At the tracker's relay, the node asks again RETRY_FIRST later,
        and keeps that relay until it holds the public one."""
        self.tracker.say(reach(False))
        self.tracker.heard()
        self.tracker.say({"type": "relayReserved", "relay": "192.0.2.1:7701"})
        self.clock.advance(RETRY_FIRST)
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserve"}])
        self.tracker.say({"type": "relayAt", "id": wireId(self.relaying.id),
                          "relay": RELAY})
        [request] = self.node.connector.requests
        transport = StringTransport()
        secured(transport, decode(self.relaying.key))
        request.link.makeConnection(transport)
        self.assertEqual(self.node.relay, "192.0.2.1:7701")
        request.link.dataReceived(frame(wire.encode(RelayReserved(RELAY))))
        self.assertEqual(self.node.relay, RELAY)
        # A circuit the tracker's relay still announces is taken there.
        self.tracker.say({"type": "relayIncoming", "circuit": "tok", "purpose": "node",
                          "host": "198.51.100.7", "port": 5000})
        request = self.node.connector.requests[-1]
        self.assertEqual((request.host, request.port), ("192.0.2.1", 7701))

    def test_aTrackerChangingTheRelayHasItAdvertisedAtMostEvery5s(self):
        """A tracker whose relayReserved names another port of its host
        each time the node asks: the node advertises a new relay (each of its parts
        then advertising it again: every item registered again, each
        record signed anew) at most once in ADVERTISE_INTERVAL, the
        latest one; a relay lost is advertised lost at once."""
        self.tracker.say(reach(False))
        self.tracker.heard()
        del self.recorder.events[:]
        for port in range(7701, 7801):
            self.reservedAt(f"192.0.2.1:{port}")
        self.assertEqual(self.recorder.events.count(("relayChanged",)), 1)
        self.assertEqual(self.node.relay, "192.0.2.1:7701")
        self.clock.advance(ADVERTISE_INTERVAL)
        self.assertEqual(self.recorder.events.count(("relayChanged",)), 2)
        self.assertEqual(self.node.relay, "192.0.2.1:7800")
        self.tracker.link.transport.loseConnection()
        self.assertEqual(self.recorder.events.count(("relayChanged",)), 3)
        self.assertIsNone(self.node.relay)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def reservedAt(self, relay):
        """The node asks again (as a relay lost or refused has it do), and
        the tracker answers relayReserved naming relay: a relayReserved is
        taken only as an answer."""
        self.service.reservation._ask()
        self.assertEqual(self.tracker.heard()[-1:], [{"type": "relayReserve"}])
        self.tracker.say({"type": "relayReserved", "relay": relay})

    def alternate(self, seconds, ports=(7701, 7702)):
        """The tracker answers relayReserved once an ADVERTISE_INTERVAL for
        ``seconds``, each naming the other of two ports of its host: how
        many times the node's relay changed meanwhile."""
        del self.recorder.events[:]
        for i in range(round(seconds / ADVERTISE_INTERVAL)):
            self.reservedAt(f"192.0.2.1:{ports[i % 2]}")
            self.clock.advance(ADVERTISE_INTERVAL)
        return self.recorder.events.count(("relayChanged",))

    def test_aTrackerAlternatingTwoRelaysIsAdvertisedLessAndLess(self):
        """A tracker naming one port of its host, then another, once
        every ADVERTISE_INTERVAL, for an hour: each new relay the node
        advertises waits twice as long as the last one did (5, 10, 20 …
        up to ADVERTISE_MAX, 320 s), so 17 rounds of signing every record
        anew, not 720 (the code before: one every 5 s, for as long as the
        tracker liked)."""
        self.tracker.say(reach(False))
        self.tracker.heard()
        self.assertEqual(self.alternate(3600), 17)
        # Past the ramp, one an ADVERTISE_MAX.
        self.assertEqual(self.alternate(16 * ADVERTISE_MAX), 16)

    def test_aTrackerAlternatingHostAndRelayIsAdvertisedLessAndLess(self):
        """
        A lying tracker that names a new host it sees the node at home at
        (reach), then, 2.5 s later, a new port of its own relay
        (relayReserved, answering the node's ask), and so on for an hour:
        the two had paces of their own, neither counting the other's
        rounds, and the node advertised anew (every record signed anew)
        736 times in the hour, its host every 5 s.  Now both share one
        pace (reach/reachable/advertising.py): 16 rounds in the hour.  The
        first host and the first relay are each advertised at once.
        """
        del self.recorder.events[:]
        self.tracker.say(reach(False))
        self.assertEqual(self.recorder.events.count(("relayChanged",)), 1)
        self.tracker.heard()
        self.tracker.say({"type": "relayReserved", "relay": "192.0.2.1:7700"})
        self.assertEqual(self.recorder.events.count(("relayChanged",)), 2)
        del self.recorder.events[:]
        half = ADVERTISE_INTERVAL / 2
        for i in range(round(3600 / ADVERTISE_INTERVAL)):
            self.tracker.say({"type": "reach", "host": "198.51.100.9", "port": 4100,
                              "reachable": False, "seenHost": f"198.51.{i // 250}.{i % 250}",
                              "seenPort": 40123})
            self.clock.advance(half)
            self.reservedAt(f"192.0.2.1:{7701 + i % 2}")
            self.clock.advance(half)
        self.assertEqual(self.recorder.events.count(("relayChanged",)), 16)
        self.tracker.link.transport.loseConnection()
        self.membership.stopService()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_aRelayKeptBringsTheWaitBack(self):
        """A relay kept ADVERTISE_CALM (no new one advertised meanwhile):
        the next is advertised at once, and the wait starts again from
        ADVERTISE_INTERVAL, so that an honest node whose relays changed
        often once is not slow to advertise for good."""
        self.tracker.say(reach(False))
        self.tracker.heard()
        self.alternate(3600)
        # The last one named is advertised within ADVERTISE_MAX, then kept.
        self.clock.advance(ADVERTISE_MAX)
        self.assertEqual(self.node.relay, "192.0.2.1:7702")
        self.clock.advance(ADVERTISE_CALM)
        # At once, 5 s later, then 10 s after that.
        self.assertEqual(self.alternate(3 * ADVERTISE_INTERVAL, (7703, 7704)), 3)
        self.assertEqual(self.node.relay, "192.0.2.1:7703")

    def test_noAskingWhileTrying(self):
        """While a public node's relay is being tried, the node at the
        tracker's relay does not ask again: the tracker's record of the
        relay it named stays the one the node will hold."""
        self.tracker.say(reach(False))
        self.tracker.heard()
        self.tracker.say({"type": "relayReserved", "relay": "192.0.2.1:7701"})
        self.clock.advance(RETRY_FIRST)
        self.tracker.heard()
        self.tracker.say({"type": "relayAt", "id": wireId(self.relaying.id),
                          "relay": RELAY})
        self.tracker.say({"type": "relayReserved", "relay": "192.0.2.1:7701"})
        self.clock.advance(4 * RETRY_FIRST)
        self.assertEqual(self.tracker.heard(), [])

    def test_aTrackerNamingFailingRelaysHasThemDialledEverLessOften(self):
        """
        A lying tracker names a public node's relay after another, each
        at a new address where the dial fails at once, unasked too: the
        node dialled each (100 named in a row, 100 dials; one a second for
        600 s, 600), as fast as its dials failed: a reflector of SYNs at
        any public address the tracker chose.  Now it takes a relayAt only
        as the answer to its relayReserve, and after the second relay in
        a row that failed it waits RETRY_FIRST before it asks again,
        doubling (2 dials of the 100; 8 in the 600 s); the wait goes with
        the tracker connection.
        """
        self.tracker.say(reach(False))
        dials = self.node.connector.requests

        def named(count, every=0.0):
            for i in range(count):
                before = len(dials)
                self.tracker.say({"type": "relayAt", "id": wireId(self.relaying.id),
                                  "relay": f"192.0.2.{i % 250 + 1}:7702"})
                if len(dials) > before:
                    self.node.connector.failLast(ConnectionRefusedError())
                self.clock.advance(every)

        with capturedLogs() as events:
            named(100)
        self.assertEqual(len(dials), 2)
        self.assertIn("not dialling the relay at 192.0.2.3:7702 its tracker named: this "
                      "node asked for none", [formatEvent(event) for event in events])
        named(600, every=1.0)
        self.assertEqual(len(dials), 8)
        self.tracker.link.transport.loseConnection()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_aRelayThatPassesItsProbeEndsTheWait(self):
        """A relay named that holds the node and passes its probe starts
        the count of failures again: its loss has the node ask at once."""
        self.tracker.say(reach(False))
        self.tracker.heard()
        for relay in ("192.0.2.7:7702", "192.0.2.8:7702"):
            self.tracker.say({"type": "relayAt", "id": wireId(self.relaying.id),
                              "relay": relay})
            self.node.connector.failLast(ConnectionRefusedError())
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserve"}])
        self.clock.advance(RETRY_FIRST)
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserve"}])
        self.tracker.say({"type": "relayAt", "id": wireId(self.relaying.id),
                          "relay": RELAY})
        transport = StringTransport()
        secured(transport, decode(self.relaying.key))
        request = self.node.connector.requests[-1]
        hold = request.link
        hold.makeConnection(transport)
        request.deferred.callback(hold)
        hold.dataReceived(frame(wire.encode(RelayReserved(RELAY))))
        self.passProbe()
        self.tracker.heard()
        hold.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserve"}])

    def test_anUnaskedRelayReservedLeavesAWorkingRelay(self):
        """
        Holding a public node's relay that passed its probe, the node is
        sent a relayReserved it did not ask for: it used to switch what it
        advertises to the tracker's relay (never probed; every record
        signed anew) and take circuits there.  Now it takes a
        relayReserved only as the answer to its own relayReserve: the
        relay it holds stays advertised, and one line (charged to the
        tracker) says why.
        """
        hold, _ = self.held()
        hold.dataReceived(frame(wire.encode(RelayReserved(RELAY))))
        self.passProbe()
        self.tracker.heard()
        del self.recorder.events[:]
        with capturedLogs() as events:
            self.tracker.say({"type": "relayReserved", "relay": "192.0.2.1:7701"})
            self.clock.advance(ADVERTISE_INTERVAL)
        self.assertEqual(self.node.relay, RELAY)
        self.assertEqual(self.recorder.events.count(("relayChanged",)), 0)
        self.assertFalse(self.node.membership.isTrackerRelay("192.0.2.1:7701"))
        self.assertIn("not taking the tracker's relay at 192.0.2.1:7701: this node "
                      "asked for none", [formatEvent(event) for event in events])
        self.assertEqual(self.tracker.heard(), [])

    def test_goneWithTheTracker(self):
        """The tracker connection's loss ends the reservation at the
        public relay too, and leaves nothing scheduled."""
        hold, transport = self.held()
        hold.dataReceived(frame(wire.encode(RelayReserved(RELAY))))
        self.tracker.link.transport.loseConnection()
        self.assertIsNone(self.node.relay)
        self.assertTrue(transport.disconnecting or transport.disconnected)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class AddressedConnectorTests(PeerReservationCase):
    """A node whose connector dials addresses (a daemon's TCP one): the
    relays its tracker names are checked before they are dialled."""

    def makeConnector(self):
        connector = FakeConnector()
        connector.addressed = True
        return connector

    def test_aRelayAtAServiceOfItsOwnNetworkIsNotDialled(self):
        """
        A tracker (a lying one among several, or one a stranger on its own
        network offered a relay to from there) names, for a node at home,
        a "public node's relay" at a service of the node's own machine or
        network: the node dials none of them (its dialer checks the relay
        as a host a peer names),
        logs why, and asks the tracker for another each time; a public
        relay is still dialled.  Before, it connected to each, its
        reservation request sent there.
        """
        self.tracker.say(reach(False))
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserve"}])
        with capturedLogs() as events:
            for relay in ("127.0.0.1:6379", "10.0.0.7:8080", "169.254.169.254:80",
                          "relay.attacker.example:7702"):
                self.tracker.say({"type": "relayAt", "id": wireId(self.relaying.id),
                                  "relay": relay})
                self.assertEqual(self.node.connector.requests, [])
                self.assertEqual(self.tracker.heard(), [{"type": "relayReserve"}])
        lines = " ".join(formatEvent(event) for event in events)
        self.assertIn("not dialling the relay at 127.0.0.1:6379 its tracker named: "
                      "127.0.0.1 is a loopback address", lines)
        self.assertIn("no reservation at node", lines)
        self.assertIsNone(self.node.relay)
        self.tracker.say({"type": "relayAt", "id": wireId(self.relaying.id),
                          "relay": RELAY})
        [request] = self.node.connector.requests
        self.assertEqual((request.host, request.port), ("192.0.2.50", 7702))


#: The relaying node's WebSocket port, as a relayAt names it (at a host
#: other than the relay's, which the node does not dial).
WS_PATHS = [{"kind": "websocket", "host": "198.51.100.99", "port": 443}]
#: That port at the relay's host: where the node dials it.
WS_AT_RELAY = Path(WEBSOCKET, "192.0.2.50", 443)
#: A node's way to its tracker's relay when it reaches its tracker by ws:.
TRACKER_WAY = Path(WEBSOCKET, "192.0.2.1", 80, word=CONFIGURED)


class RelayWaysCase(PeerReservationCase):
    """A node with a transport of TCP and one of WebSocket, each recording
    its dials (each connects at once, unless refusing); it reaches its
    tracker's relay by ``ways`` (L{Membership.trackerWay})."""

    ways = ()

    def makeTransports(self):
        self.direct, self.websocket = Recording(DIRECT), Recording(WEBSOCKET)
        self.relayed = Recording(RELAYED)
        return Transports([self.direct, self.websocket, self.relayed])

    def makeMembership(self):
        return Membership(self.node, ways=self.ways)

    def namedWith(self, paths):
        """Found private, the node asks; the tracker names the public
        node's relay with paths: what the node logged."""
        self.tracker.say(reach(False))
        self.tracker.heard()
        with capturedLogs() as events:
            self.tracker.say({"type": "relayAt", "id": wireId(self.relaying.id),
                              "relay": RELAY, "paths": paths})
        return [formatEvent(event) for event in events]

    def reserve(self, hold):
        """The relay's connection proves the named key and the relay holds
        the reservation."""
        transport = StringTransport()
        secured(transport, decode(self.relaying.key))
        hold.makeConnection(transport)
        hold.dataReceived(frame(wire.encode(RelayReserved(RELAY))))


class HeldTheWayTheTrackerIsReachedTests(RelayWaysCase):
    """A node that reaches its tracker by WebSocket (where a firewall may
    let only HTTP(S) out) holds its reservation at a public node's relay
    by that node's WebSocket port, and accepts and probes there."""

    ways = (TRACKER_WAY,)

    def test_heldOverWebSocketFirst(self):
        """The relay is dialled at its WebSocket port, at the relay's host
        (not the host the path named), for the relay's service; its TCP
        port is not tried; the named node's key is expected there, as over
        TCP (the ninth round)."""
        lines = self.namedWith(WS_PATHS)
        [(path, key, options)] = self.websocket.dials
        self.assertEqual((path, key, options.purpose),
                         (WS_AT_RELAY, self.relaying.id, RELAY_PURPOSE))
        self.assertEqual(self.direct.dials, [])
        [hold] = self.websocket.built
        self.assertIsInstance(hold, PeerHold)
        self.assertEqual(hold.way, WS_AT_RELAY)
        self.assertIn(f"reached node {wireId(self.relaying.id)}'s relay at {RELAY} over "
                      "websocket at 192.0.2.50:443", lines)

    def test_circuitsAndProbesGoTheSameWay(self):
        """Held there, the relay's probe (a circuit to the node itself) and
        each circuit announced are dialled at that WebSocket port too."""
        self.namedWith(WS_PATHS)
        [hold] = self.websocket.built
        self.reserve(hold)
        hold.dataReceived(frame(wire.encode(RelayIncoming("tok", "node", "6.6.6.6", 22))))
        self.assertEqual(self.direct.dials, [])
        [_, probe, accept] = self.websocket.dials
        self.assertEqual([(path, options.purpose) for path, _, options in (probe, accept)],
                         [(WS_AT_RELAY, RELAY_PURPOSE)] * 2)
        self.assertEqual([end.first for end in self.websocket.built[1:]],
                         [RelayConnect(self.node.id, "node"), RelayAccept("tok")])
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserved", "relay": RELAY}])


class HeldOverTcpFirstTests(RelayWaysCase):
    """A node that reaches its tracker over TCP dials the relay's own port
    first, and its other ways after it."""

    def test_overTcpFirst(self):
        self.namedWith(WS_PATHS)
        [(path, _, options)] = self.direct.dials
        self.assertEqual((path.kind, path.host, path.port, options),
                         (DIRECT, "192.0.2.50", 7702, None))
        self.assertEqual(self.websocket.dials, [])
        [hold] = self.direct.built
        self.assertIsNone(hold.way)

    def test_overWebSocketWhenTcpDoesNotPass(self):
        """The relay's port not reached (a firewall dropped it), its
        WebSocket port is: the reservation is held there."""
        self.direct.refusing = ConnectionRefusedError()
        self.namedWith(WS_PATHS)
        [(path, _, options)] = self.websocket.dials
        self.assertEqual((path, options.purpose), (WS_AT_RELAY, RELAY_PURPOSE))
        [hold] = self.websocket.built
        self.reserve(hold)
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserved", "relay": RELAY}])

    def test_noWayPassesEachSaid(self):
        """No way connects (a path no transport here dials is not tried,
        nor a relayed one): the node says why of each, and asks the
        tracker for another."""
        self.direct.refusing = self.websocket.refusing = ConnectionRefusedError()
        lines = self.namedWith(WS_PATHS + [{"kind": "udp", "port": 9002},
                                           {"kind": "relayed", "relay": "192.0.2.51:80"}])
        self.assertEqual(len(self.direct.dials + self.websocket.dials), 2)
        self.assertEqual(self.relayed.dials, [])
        [line] = [line for line in lines if line.startswith("no reservation")]
        self.assertEqual(line, (
            f"no reservation at node {wireId(self.relaying.id)}'s relay at {RELAY}: "
            "cannot connect: nothing listens there (connection refused); over "
            "websocket at 192.0.2.50:443: nothing listens there (connection "
            "refused); asking the tracker for another"))
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserve"}])
