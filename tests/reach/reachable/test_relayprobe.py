"""A node's probe of the relay that holds its reservation: it dials
itself through the relay, and passes only once the circuit's inner
channel proves its own key; and its probes one after another
(L{RelayProbing}), a relay that fails one left."""

from types import SimpleNamespace

from twisted.internet.error import ConnectionDone, ConnectionRefusedError
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import FakeConnector, dialerOf
from tests.reach.reachable.test_reservation import RELAY as HELD
from tests.reach.reachable.test_reservation import PeerReservationCase
from tests.transports.relay.helpers import (
    NODE_ID,
    RELAY,
    RELAY_HOST,
    RELAY_PORT,
    Bed,
    Collect,
    RecordingTransport,
)
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.identity.keys import Identity, decode
from twisted_bazaar.net.connections import DEFAULT_CONNECTION_RATE
from twisted_bazaar.net.encrypted import EncryptedProtocol
from twisted_bazaar.transports.relay.circuit import CircuitEnd
from twisted_bazaar.transports.table import Transports, overConnector
from twisted_bazaar.reach.reachable.incoming import ACCEPT_RATE
from twisted_bazaar import wire
from twisted_bazaar.transports.relay.messages import (
    RelayAccept,
    RelayConnect,
    RelayIncoming,
    RelayOpen,
    RelayReserved,
)
from twisted_bazaar.transports.path import RELAYED
from twisted_bazaar.reach.reachable.relayprobe import (
    PROBE_AGAIN,
    PROBE_INTERVAL,
    RelayProbe,
)
from twisted_bazaar.wire.framing import frame


class _Ended(Protocol):
    """An accept whose circuit is gone: closed once connected."""

    def connectionMade(self):
        self.transport.loseConnection()


def probing(node):
    """What a probe uses of a stand-in node (L{RelayHome}'s dialer, id and
    key pair)."""
    return SimpleNamespace(dialer=node.dialer, ownId=lambda: node.id,
                           identity=node.identity)


class ProbeTests(SynchronousTestCase):
    def probe(self, bed):
        """The node of bed probes the relay: what the probe reported."""
        node = SimpleNamespace(id=NODE_ID, identity=bed.node.identity, clock=bed.clock,
                               links={})
        node.dialer = dialerOf(node, bed.node, overConnector(bed.node, bed.clock))
        reported = []
        probe = RelayProbe(probing(node), RELAY, reported.append)
        bed.run()
        return probe, reported

    def test_passes(self):
        """The relay announces the circuit to the node, which accepts it;
        the inner channel proves the node's own key: passed, and the
        probe's circuit is closed."""
        bed = Bed()
        _, reported = self.probe(bed)
        [incoming] = bed.told
        self.assertEqual(incoming.purpose, "node")
        bed.accept(incoming)
        bed.run()
        self.assertEqual(reported, [None])
        self.assertEqual(bed.relay.circuits.used, 0)

    def test_circuitNeverAccepted(self):
        """A relay that keeps the reservation and carries nothing (here,
        the node never hears of the circuit): failed, once, with the
        relay's reason."""
        bed = Bed()
        _, reported = self.probe(bed)
        bed.run(30)
        [why] = reported
        self.assertIn("did not accept the circuit", why)

    def test_noReservation(self):
        """A relay that holds no reservation for the node refuses the
        circuit: failed."""
        _, reported = self.probe(Bed(reserve=False))
        [why] = reported
        self.assertIn("holds no reservation", why)

    def test_anotherKeyAnswers(self):
        """The circuit reaches another key than the node's own (a relay
        that answers in its place): failed."""
        bed = Bed()
        _, reported = self.probe(bed)
        [incoming] = bed.told
        impostor = ChannelKey.generate(None)
        end = CircuitEnd(RelayAccept(incoming.circuit),
                         lambda t: EncryptedProtocol(Collect(), impostor, False, bed.clock),
                         bed.clock, None)
        bed.network.connect(RELAY_HOST, RELAY_PORT, end, from_host="192.168.1.2")
        bed.run()
        [why] = reported
        self.assertIn("another key than this node's own", why)

    def accepted(self, count):
        """A relay with the default connection rate per address group, to
        which the node makes ``count`` connections in the second after the
        relay announces its probe's circuit (accepts of circuits a stranger
        opens and drops meanwhile, each ended at once): what its probe
        reported, the probe's circuit accepted next."""
        bed = Bed(connection_rate=DEFAULT_CONNECTION_RATE)
        node = SimpleNamespace(id=NODE_ID, identity=bed.node.identity, clock=bed.clock,
                               links={})
        node.dialer = dialerOf(node, bed.node, overConnector(bed.node, bed.clock))
        reported = []
        RelayProbe(probing(node), RELAY, reported.append)
        bed.run(0.05)
        [incoming] = bed.told
        for _ in range(count):
            bed.run(1 / count)
            bed.network.connect(RELAY_HOST, RELAY_PORT, _Ended(),
                                from_host="192.168.1.2").addErrback(lambda _: None)
            bed.clock.advance(0)
        # The probe's accept at the same moment as the last of them.
        def inner(transport):
            return EncryptedProtocol(Collect(), bed.node.channel, False, bed.clock)

        accept = CircuitEnd(RelayAccept(incoming.circuit), inner, bed.clock, None)
        bed.network.connect(RELAY_HOST, RELAY_PORT, accept, from_host="192.168.1.2"
                            ).addErrback(lambda _: None)
        bed.clock.advance(0)
        bed.run(30)
        return reported

    def test_ownRateAtTheRelay(self):
        """Three strangers' groups open 300 circuits through the relay in
        a second (each group within the relay's rate) and drop them: a
        node that accepted each (as it did) made 300 connections to the
        relay, past its own group's rate there, and the relay refused
        its accept of its own probe's circuit: the probe failed, and the
        node left an honest relay.  Within what the node now accepts in
        a second from one relay (ACCEPT_RATE, in bursts of twice that),
        its probe passes."""
        [why] = self.accepted(300)
        self.assertIsNotNone(why)
        self.assertEqual(self.accepted(int(3 * ACCEPT_RATE)), [None])

    def test_cancelled(self):
        """A probe cancelled reports nothing, and leaves no circuit."""
        bed = Bed()
        probe, reported = self.probe(bed)
        probe.cancel()
        bed.run(30)
        self.assertEqual(reported, [])
        self.assertEqual(bed.relay.circuits.used, 0)


class ThroughTheTransportsTests(SynchronousTestCase):
    def test_dialledByTheRelayedTransport(self):
        """The probe is a dial of the node's dialer (L{Dialer.toRelay}), by
        its transport of the relayed kind, for a circuit through the relay
        to the node itself, its inner channel pinned to the node's own
        key; its failure is the probe's."""
        clock = Clock()
        relayed = RecordingTransport(RELAYED)
        connector = FakeConnector()
        identity = Identity.generate()
        node = SimpleNamespace(id=NODE_ID, identity=identity, clock=clock)
        node.dialer = dialerOf(node, connector, Transports([relayed]))
        reported = []
        probe = RelayProbe(probing(node), RELAY, reported.append)
        [dial] = relayed.dials
        self.assertEqual((dial.relay, dial.target, dial.purpose, dial.protocol),
                         (RELAY, NODE_ID, "node", probe))
        self.assertEqual((dial.pin.key, dial.expected), (decode(identity.key), None))
        self.assertEqual(connector.requests, [])
        dial.deferred.errback(ConnectionRefusedError("no route"))
        [why] = reported
        # In the project's words (net/reconnect.inWords), not Twisted's.
        self.assertEqual(why, "nothing listens there (connection refused)")


class RelayProbingTests(PeerReservationCase):
    """Holding a public node's relay, the node dials itself through it
    (L{RelayProbing}), then and now and then: a relay that carries no
    circuit to it loses it (issue 55: a relay held homes and dropped their
    circuits); driven through the node's reservation."""

    def probed(self):
        """Held: the probe's connection to the relay, up."""
        hold, transport = self.held()
        hold.dataReceived(frame(wire.encode(RelayReserved(HELD))))
        self.tracker.heard()
        request = self.node.connector.requests[-1]
        self.assertEqual((request.host, request.port), ("192.0.2.50", 7702))
        probe = StringTransport()
        request.link.makeConnection(probe)
        request.deferred.callback(request.link)
        self.assertEqual(probe.value(), frame(wire.encode(
            RelayConnect(self.node.id, "node"))))
        return hold, transport, request.link

    def nextProbe(self, after):
        """``after`` seconds on, the node's next probe: one more dial of
        the relay, connected; its link."""
        asked = len(self.node.connector.requests)
        self.clock.advance(after)
        self.assertEqual(len(self.node.connector.requests), asked + 1)
        request = self.node.connector.requests[-1]
        request.link.makeConnection(StringTransport())
        request.deferred.callback(request.link)
        return request.link

    def test_failedProbeLeaves(self):
        """The relay refuses the node's circuit to itself: the node leaves
        it, says why, and asks the tracker for another."""
        hold, transport, end = self.probed()
        with capturedLogs() as events:
            end.dataReceived(frame(wire.encode(wire.Error("norelay", "dropped"))))
            self.assertTrue(transport.disconnecting or transport.disconnected)
            hold.connectionLost(Failure(ConnectionDone()))
        self.assertIsNone(self.node.relay)
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserve"}])
        self.assertTrue(any("a circuit to this node through it did not open"
                            in formatEvent(e) for e in events))

    def test_crowdedProbeKeepsTheRelay(self):
        """A stranger opens circuits to the node through its honest relay
        as the node probes it, past what the node accepts at once: the
        node declines some, its probe's circuit may be among them, and
        the relay says the probe's circuit was not accepted.  The node
        used to leave the relay (and, probed again, the next); now a
        failed probe while it declined circuits from that relay is no
        word on the relay: it keeps it, says so, and probes again
        PROBE_INTERVAL later."""
        hold, transport, end = self.probed()
        with capturedLogs() as events:
            for i in range(40):
                hold.dataReceived(frame(wire.encode(RelayIncoming(
                    f"c{i}", "node", "198.51.100.7", 5000 + i))))
            end.dataReceived(frame(wire.encode(wire.Error(
                "norelay", "the circuit closed: node did not accept the circuit "
                "within 10 s"))))
        self.assertFalse(transport.disconnecting or transport.disconnected)
        self.assertEqual(self.node.relay, HELD)
        self.assertEqual(self.tracker.heard(), [])
        lines = [formatEvent(e) for e in events]
        self.assertTrue(any(line.startswith(f"kept the relay at {HELD}: its probe "
                                            "failed") for line in lines), lines)
        # The next probe fails with nothing declined meanwhile: the node
        # leaves.
        self.nextProbe(PROBE_INTERVAL).dataReceived(frame(wire.encode(wire.Error("norelay", "dropped"))))
        self.assertTrue(transport.disconnecting or transport.disconnected)

    def test_aRelayDroppingEveryCircuitCannotExcuseEachProbe(self):
        """
        The relay drops every circuit, the node's probes' too, and at each
        probe announces 40 circuits, so that the node declines some.  On
        the code before, each failed probe was excused: the node kept the
        relay for an hour (12 probes, 12 excused), out of reach through
        it.  Now one failure is excused in a row, the next probe comes
        PROBE_AGAIN later, and its failure leaves the relay, whatever the
        node declined.
        """
        hold, transport, end = self.probed()
        excused = 0
        with capturedLogs():
            for probe in range(12):
                for i in range(40):
                    hold.dataReceived(frame(wire.encode(RelayIncoming(
                        f"c{probe}-{i}", "node", "198.51.100.7", 5000 + i))))
                end.dataReceived(frame(wire.encode(wire.Error(
                    "norelay", "the circuit closed: dropped"))))
                if transport.disconnecting or transport.disconnected:
                    break
                excused += 1
                end = self.nextProbe(PROBE_INTERVAL)
        self.assertEqual(excused, 1)
        self.assertTrue(transport.disconnecting or transport.disconnected)
        with capturedLogs() as events:
            hold.connectionLost(Failure(ConnectionDone()))
        self.assertIsNone(self.node.relay)
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserve"}])
        self.assertTrue(any("and the probe before failed too" in formatEvent(e)
                            for e in events))

    def test_anExcusedProbeIsFollowedSoon(self):
        """After a failure excused, the next probe comes PROBE_AGAIN later,
        not PROBE_INTERVAL; one that passes makes the next failure
        excusable again."""
        hold, transport, end = self.probed()
        for i in range(40):
            hold.dataReceived(frame(wire.encode(RelayIncoming(
                f"c{i}", "node", "198.51.100.7", 5000 + i))))
        end.dataReceived(frame(wire.encode(wire.Error("norelay", "dropped"))))
        self.nextProbe(PROBE_AGAIN).dataReceived(
            frame(wire.encode(RelayOpen("203.0.113.9"))))
        self.assertEqual(self.node.relay, HELD)
        end = self.nextProbe(PROBE_INTERVAL)
        for i in range(40):
            hold.dataReceived(frame(wire.encode(RelayIncoming(
                f"d{i}", "node", "198.51.100.7", 5000 + i))))
        end.dataReceived(frame(wire.encode(wire.Error("norelay", "dropped"))))
        self.assertFalse(transport.disconnecting or transport.disconnected)

    def test_passedProbeRepeats(self):
        """The circuit opens: the node keeps the relay, and probes it again
        PROBE_INTERVAL later; leaving the tracker ends the probing."""
        hold, transport, end = self.probed()
        end.dataReceived(frame(wire.encode(RelayOpen("203.0.113.9"))))
        self.assertFalse(transport.disconnecting or transport.disconnected)
        self.assertEqual(self.node.relay, HELD)
        asked = len(self.node.connector.requests)
        self.clock.advance(PROBE_INTERVAL)
        self.assertEqual(len(self.node.connector.requests), asked + 1)
        self.tracker.link.transport.loseConnection()
        self.assertEqual(self.clock.getDelayedCalls(), [])
