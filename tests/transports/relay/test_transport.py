"""
Tests of L{twisted_bazaar.transports.relay.transport}: a circuit through
the relay a path names, to the node and for the purpose the options
name, its relay reached by the transport of direct paths; and the
circuit opened end to end on a memory network.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.transports.relay.helpers import (
    NODE_ID,
    RELAY,
    RELAY_HOST,
    RELAY_PORT,
    Bed,
    Collect,
    RecordingTransport,
)
from twisted_bazaar.transports.interface import DialOptions, ITransport
from twisted_bazaar.transports.path import DIRECT, LAN, NAMED, RELAYED, Path
from twisted_bazaar.transports.relay.circuit import CircuitEnd
from twisted_bazaar.transports.relay.messages import FILES, RelayConnect
from twisted_bazaar.transports.relay.transport import RelayTransport

THROUGH = Path(RELAYED, "192.168.1.2", 9001, RELAY, NAMED)


class RelayTransportTests(SynchronousTestCase):
    def setUp(self):
        self.direct = RecordingTransport(DIRECT)
        self.relay = RelayTransport(self.direct, Clock())

    def test_isATransport(self):
        self.assertTrue(verifyObject(ITransport, self.relay))
        self.assertEqual(self.relay.kind, RELAYED)

    def test_dialsOnlyRelayedPathsWithARelay(self):
        self.assertTrue(self.relay.canDial(THROUGH))
        self.assertFalse(self.relay.canDial(Path(RELAYED, "192.168.1.2", 9001)))
        self.assertFalse(self.relay.canDial(Path(LAN, "192.168.1.2", 9001)))

    def test_itsRelayByTheDirectTransport(self):
        """The circuit's end is dialled to the relay by the transport of
        direct paths (its carrier), asking the relay for the node and the
        purpose the options name."""
        self.relay.dial(THROUGH, None, Collect, DialOptions(target=NODE_ID, purpose=FILES))
        [dial] = self.direct.dials
        self.assertEqual((dial.host, dial.port, dial.relay), (RELAY_HOST, RELAY_PORT, None))
        self.assertIsInstance(dial.protocol, CircuitEnd)
        self.assertEqual(dial.protocol.first, RelayConnect(NODE_ID, FILES))

    def test_relayFailedIsTheDialsFailure(self):
        """The relay not reached: the dial fails with why."""
        d = self.relay.dial(THROUGH, None, Collect, DialOptions(target=NODE_ID))
        self.direct.dials[0].deferred.errback(ConnectionRefusedError("refused"))
        self.assertEqual(self.failureResultOf(d, ConnectionRefusedError).getErrorMessage(),
                         "refused")

    def test_listensNowhere(self):
        """A node is reached through a relay by its reservation: the
        transport listens nowhere, and says so."""
        failure = self.failureResultOf(self.relay.listen(object()), NotImplementedError)
        self.assertIn("reservation", failure.getErrorMessage())


class CircuitTests(SynchronousTestCase):
    def test_circuitOpensEndToEnd(self):
        """Through the transports over a connector, a dial through a relay
        opens the circuit to the node and its inner channel proves the
        node's key (what the dialer, the probe and a tracker's check rely
        on)."""
        bed = Bed()
        results = bed.dial(Collect())
        bed.run()
        [incoming] = bed.told
        bed.accept(incoming)
        bed.run()
        [protocol] = results
        self.assertIsInstance(protocol, Collect)
