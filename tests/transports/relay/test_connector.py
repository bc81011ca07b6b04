"""
The table of transports every dial goes through (L{RelayedConnector}): a
path is connected along by the transport of its kind, and a transport
added for a kind is the one called, a circuit's hop to its relay
included.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.exceptions import Invalid

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
from twisted_bazaar.transports import path
from twisted_bazaar.transports.relay.circuit import CircuitEnd
from twisted_bazaar.transports.relay.connector import TRANSPORTS, RelayedConnector
from twisted_bazaar.transports.relay.messages import FILES, RelayConnect
from twisted_bazaar.transports.pathtransport import DIRECT, RELAYED

KEY = b"k" * 32


class TableTests(SynchronousTestCase):
    def setUp(self):
        self.connector = FakeConnector()
        self.transports = RelayedConnector(self.connector, Clock())

    def test_directByItsTransport(self):
        """A dial at an address goes to the transport added for the
        direct kind, told the key expected; nothing reaches the
        connector under it."""
        direct = RecordingTransport(DIRECT)
        self.transports.add(direct)
        protocol = Collect()
        d = self.transports.connect("198.51.100.7", 4001, protocol, expected=KEY)
        [dial] = direct.dials
        self.assertEqual((dial.host, dial.port, dial.protocol, dial.expected, dial.relay),
                         ("198.51.100.7", 4001, protocol, KEY, None))
        self.assertIs(d, dial.deferred)
        self.assertEqual(self.connector.requests, [])

    def test_relayedByItsTransport(self):
        """A dial through a relay goes to the transport added for the
        relayed kind, with the node, the purpose and the pin."""
        relayed = RecordingTransport(RELAYED)
        self.transports.add(relayed)
        pin = object()
        self.transports.connect("", 0, Collect(), relay=RELAY, target=NODE_ID,
                                purpose=FILES, pin=pin)
        [dial] = relayed.dials
        self.assertEqual((dial.relay, dial.target, dial.purpose, dial.pin),
                         (RELAY, NODE_ID, FILES, pin))
        self.assertEqual(self.connector.requests, [])

    def test_circuitReachesItsRelayByTheDirectTransport(self):
        """The circuit transport dials its relay by the table's direct
        transport: one added in place of the connector's reaches the
        relay, asking it for the node."""
        direct = RecordingTransport(DIRECT)
        self.transports.add(direct)
        self.transports.connect("192.168.1.2", 9001, Collect(), relay=RELAY,
                                target=NODE_ID)
        [dial] = direct.dials
        self.assertEqual((dial.host, dial.port), (RELAY_HOST, RELAY_PORT))
        self.assertIsInstance(dial.protocol, CircuitEnd)
        self.assertEqual(dial.protocol.first, RelayConnect(NODE_ID, "node"))

    def test_byDefaultTheConnectorsOwn(self):
        """With nothing added, a direct dial is the wrapped connector's,
        the key expected passed on."""
        protocol = Collect()
        self.transports.connect("198.51.100.7", 4001, protocol, expected=KEY)
        [request] = self.connector.requests
        self.assertEqual((request.host, request.port, request.link),
                         ("198.51.100.7", 4001, protocol))
        self.assertEqual(self.connector.expected, [KEY])

    def test_directTakesNoPin(self):
        """A pin is a circuit's inner channel's: a direct dial given one
        fails, saying so, and dials nothing."""
        failure = self.failureResultOf(self.transports.connect(
            "198.51.100.7", 4001, Collect(), pin=object()))
        self.assertIn("never a pin", failure.getErrorMessage())
        self.assertEqual(self.connector.requests, [])

    def test_sharedUntilAdded(self):
        """Every table shares the default transports (no memory a node)
        until a transport is added to one; the others keep theirs."""
        other = RelayedConnector(FakeConnector(), Clock())
        self.assertIs(self.transports._kinds, TRANSPORTS)
        self.transports.add(RecordingTransport(DIRECT))
        self.assertIs(other._kinds, TRANSPORTS)
        self.assertIsNot(TRANSPORTS[DIRECT], self.transports._kinds[DIRECT])

    def test_addsOnlyATransport(self):
        """What provides no path transport is refused as it is added."""
        self.assertRaises(Invalid, self.transports.add, Collect())

    def test_kindsAreTheBooks(self):
        """The table's kinds are the book's names of those kinds of path."""
        self.assertEqual((DIRECT, RELAYED), (path.DIRECT, path.RELAYED))


class CircuitTests(SynchronousTestCase):
    def test_circuitOpensEndToEnd(self):
        """Through the default transports, a dial through a relay opens
        the circuit to the node and its inner channel proves the node's
        key (what the dialer, the probe and a super-peer's check rely
        on)."""
        bed = Bed()
        results = bed.dial(Collect())
        bed.run()
        [incoming] = bed.told
        bed.accept(incoming)
        bed.run()
        [protocol] = results
        self.assertIsInstance(protocol, Collect)
