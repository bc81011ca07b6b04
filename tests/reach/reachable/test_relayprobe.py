"""A node's probe of the relay that holds its reservation: it dials
itself through the relay, and passes only once the circuit's inner
channel proves its own key."""

from types import SimpleNamespace

from twisted.internet.error import ConnectionRefusedError
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import FakeConnector
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
from twisted_bazaar.reach.dialer import Dialer
from twisted_bazaar.transports.table import Transports, overConnector
from twisted_bazaar.reach.reachable.incoming import ACCEPT_RATE
from twisted_bazaar.transports.relay.messages import RelayAccept
from twisted_bazaar.transports.path import RELAYED
from twisted_bazaar.reach.reachable.relayprobe import RelayProbe


class _Ended(Protocol):
    """An accept whose circuit is gone: closed once connected."""

    def connectionMade(self):
        self.transport.loseConnection()


class ProbeTests(SynchronousTestCase):
    def probe(self, bed):
        """The node of bed probes the relay: what the probe reported."""
        node = SimpleNamespace(id=NODE_ID, identity=bed.node.identity, clock=bed.clock,
                               dialer=SimpleNamespace(
                                   connector=bed.node,
                                   dialPath=overConnector(bed.node, bed.clock).dial))
        reported = []
        probe = RelayProbe(node, RELAY, reported.append)
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
                               dialer=SimpleNamespace(
                                   connector=bed.node,
                                   dialPath=overConnector(bed.node, bed.clock).dial))
        reported = []
        RelayProbe(node, RELAY, reported.append)
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
        """The probe is a dial of the node's dialer (L{Dialer.dialPath}), by
        its transport of the relayed kind, for a circuit through the relay
        to the node itself, its inner channel pinned to the node's own
        key; its failure is the probe's."""
        clock = Clock()
        relayed = RecordingTransport(RELAYED)
        connector = FakeConnector()
        identity = Identity.generate()
        node = SimpleNamespace(id=NODE_ID, identity=identity, clock=clock)
        node.dialer = Dialer(node, connector, Transports([relayed]))
        reported = []
        probe = RelayProbe(node, RELAY, reported.append)
        [dial] = relayed.dials
        self.assertEqual((dial.relay, dial.target, dial.purpose, dial.protocol),
                         (RELAY, NODE_ID, "node", probe))
        self.assertEqual((dial.pin.key, dial.expected), (decode(identity.key), None))
        self.assertEqual(connector.requests, [])
        dial.deferred.errback(ConnectionRefusedError("no route"))
        [why] = reported
        self.assertIn("no route", why)
