"""A node's probe of the relay that holds its reservation: it dials
itself through the relay, and passes only once the circuit's inner
channel proves its own key."""

from types import SimpleNamespace

from twisted.trial.unittest import SynchronousTestCase

from tests.traversal.helpers import NODE_ID, RELAY, RELAY_HOST, RELAY_PORT, Bed, Collect
from twisted_bazaar.net.channel import ChannelKey
from twisted_bazaar.net.encrypted import EncryptedProtocol
from twisted_bazaar.traversal.circuit import CircuitEnd
from twisted_bazaar.traversal.connector import RelayedConnector
from twisted_bazaar.traversal.messages import RelayAccept
from twisted_bazaar.traversal.relayprobe import RelayProbe


class ProbeTests(SynchronousTestCase):
    def probe(self, bed):
        """The node of bed probes the relay: what the probe reported."""
        node = SimpleNamespace(id=NODE_ID, identity=bed.node.identity, clock=bed.clock,
                               connector=RelayedConnector(bed.node, bed.clock))
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

    def test_cancelled(self):
        """A probe cancelled reports nothing, and leaves no circuit."""
        bed = Bed()
        probe, reported = self.probe(bed)
        probe.cancel()
        bed.run(30)
        self.assertEqual(reported, [])
        self.assertEqual(bed.relay.circuits.used, 0)
