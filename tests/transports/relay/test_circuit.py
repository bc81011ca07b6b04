"""
A circuit's end: it asks, and once the relay opens the circuit, the
bytes after ``relayOpen`` (in the same read too) are the inner
connection's; a refusal or a close before that fails it with the reason.
"""

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import alsoProvides

from twisted_bazaar import wire
from twisted_bazaar.net.capabilities import IBulkTransport, ISecureTransport
from twisted_bazaar.testing.memory import MemoryConnector
from twisted_bazaar.net.link import Link, LinkSettings
from twisted_bazaar.transports.relay.circuit import CircuitEnd, CircuitRefused, CircuitTransport
from twisted_bazaar.transports.interface import DialOptions
from twisted_bazaar.transports.path import NAMED, RELAYED, Path
from twisted_bazaar.transports.table import overConnector
from twisted_bazaar.transports.relay.messages import RelayAccept, RelayConnect, RelayOpen
from twisted_bazaar.wire.framing import frame

from tests.helpers import RecordingOwner
from tests.transports.relay.helpers import (
    NODE_ID,
    RELAY,
    RELAY_HOST,
    RELAY_PORT,
    Bed,
    Collect,
)

PEER = IPv4Address("TCP", "10.1.0.5", 4000)


def ended(inner=None):
    clock = Clock()
    protocol = inner or Collect()
    end = CircuitEnd(RelayConnect(NODE_ID, "node"), lambda t: protocol, clock, PEER)
    transport = StringTransport()
    end.makeConnection(transport)
    results = []
    end.opened.addBoth(results.append)
    return clock, end, transport, protocol, results


class CircuitEndTests(SynchronousTestCase):
    def test_asks(self):
        """Its first bytes are the message that asks for the circuit."""
        _, _, transport, _, _ = ended()
        self.assertEqual(transport.value(),
                         frame(wire.encode(RelayConnect(NODE_ID, "node"))))

    def test_leftoverGoesInside(self):
        """Bytes in the same read as relayOpen go to the inner protocol,
        and everything after; its transport's peer is the one given."""
        _, end, transport, protocol, results = ended()
        end.dataReceived(frame(wire.encode(RelayOpen()))[:5])
        self.assertEqual(results, [])
        end.dataReceived(frame(wire.encode(RelayOpen()))[5:] + b"inner bytes")
        end.dataReceived(b" and more")
        self.assertEqual(results, [protocol])
        self.assertEqual(protocol.received, b"inner bytes and more")
        self.assertEqual(protocol.transport.getPeer(), PEER)
        self.assertEqual(protocol.transport.relayedFrom, "")
        protocol.transport.write(b"out")
        self.assertTrue(transport.value().endswith(b"out"))

    def test_relayAtIsTheRelaysAddress(self):
        """The inner transport's relay is where the connection to the
        relay goes, not the other end's address (getPeer): a relayed
        link's log lines named the peer's own address as its relay's
        ("no hole punched to node 97d45959 (through the relay at
        10.157.0.103:37651)", that node's router; issue 96, s57-user2)."""
        clock = Clock()
        protocol = Collect()
        end = CircuitEnd(RelayConnect(NODE_ID, "node"), lambda t: protocol, clock, PEER)
        end.makeConnection(StringTransport(
            peerAddress=IPv4Address("TCP", "192.0.2.50", 7702)))
        end.dataReceived(frame(wire.encode(RelayOpen())))
        self.assertEqual(protocol.transport.getPeer(), PEER)
        self.assertEqual(protocol.transport.relayAt, "192.0.2.50:7702")

    def test_aLinkOverItNamesTheRelay(self):
        """A link over the circuit names the relay in its lines, not the
        other end's own address (L{Link.describe})."""
        clock = Clock()
        end = CircuitEnd(RelayConnect(NODE_ID, "node"), lambda t: None, clock, PEER)
        end.makeConnection(StringTransport(
            peerAddress=IPv4Address("TCP", "192.0.2.50", 7702)))
        link = Link(RecordingOwner(), clock, LinkSettings(), inbound=False)
        link.makeConnection(CircuitTransport(end, end.peer))
        link.identified(7)
        self.assertEqual(link.describe(), "node 7 (through the relay at 192.0.2.50:7702)")

    def test_bulkSizesAreTheRelayConnections(self):
        """The read and send sizes a bulk reader or sender sets through
        the inner transport (IBulkTransport) are the connection to the
        relay's; a relay connection without them gives none."""
        _, end, transport, protocol, _ = ended()
        end.dataReceived(frame(wire.encode(RelayOpen())))
        self.assertIsNone(IBulkTransport(protocol.transport, None))
        # Its channel's key, say, is no capability of the path.
        alsoProvides(transport, IBulkTransport, ISecureTransport)
        self.assertIs(IBulkTransport(protocol.transport), transport)
        self.assertIsNone(ISecureTransport(protocol.transport, None))

    def test_refusal(self):
        """The relay's error fails it with the relay's reason, and the
        connection is closed."""
        _, end, transport, protocol, results = ended()
        end.dataReceived(frame(wire.encode(wire.Error("norelay", "no such node"))))
        [failure] = results
        failure.trap(CircuitRefused)
        self.assertEqual(failure.getErrorMessage(),
                         "the relay refused the circuit: norelay: no such node")
        self.assertTrue(transport.disconnected)
        self.assertIsNone(protocol.transport)

    def test_timeout(self):
        """A relay that says nothing: it fails after the timeout, and its
        timer is gone."""
        clock, end, transport, _, results = ended()
        clock.advance(15)
        self.assertIn("opened no circuit within 15 s", results[0].getErrorMessage())
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_brokenFrame(self):
        """A relay that breaks the framing fails it."""
        _, end, transport, _, results = ended()
        end.dataReceived(b"x:")
        self.assertIn("broke the framing", results[0].getErrorMessage())

    def test_closedBeforeOpen(self):
        """A close before relayOpen fails it; the inner protocol never
        connects."""
        clock, end, transport, protocol, results = ended()
        end.connectionLost(Failure(ConnectionDone()))
        self.assertIn("closed the connection before the circuit opened",
                      results[0].getErrorMessage())
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_lostAfterOpen(self):
        """Once open, the connection's loss is the inner protocol's."""
        _, end, _, protocol, _ = ended()
        end.dataReceived(frame(wire.encode(RelayOpen())))
        end.connectionLost(Failure(ConnectionDone()))
        self.assertIsNotNone(protocol.lost)


class RelayLeftoverTests(SynchronousTestCase):
    def test_earlyBytesOfTheNode(self):
        """Bytes a node sends in the same write as its relayAccept reach
        the dialler once the circuit opens (a dialler without a channel
        here, so the bytes are plain)."""
        bed = Bed()
        dialler = Collect()
        d = overConnector(MemoryConnector(bed.network, "10.1.0.5"), bed.clock).dial(
            Path(RELAYED, "192.168.1.2", 9001, RELAY, NAMED), None, lambda: dialler,
            DialOptions(target=NODE_ID))
        bed.run()
        [incoming] = bed.told

        class Eager(Collect):
            def connectionMade(self):
                self.transport.write(frame(wire.encode(RelayAccept(incoming.circuit)))
                                     + b"early words")

        node = Eager()
        bed.network.connect(RELAY_HOST, RELAY_PORT, node, from_host="192.168.1.2")
        bed.run()
        self.assertEqual(self.successResultOf(d), dialler)
        self.assertEqual(dialler.received, b"early words")
        self.assertEqual(node.received, frame(wire.encode(RelayOpen("10.1.0.5"))))

    def test_eachEndIsToldWhereTheOtherCameFrom(self):
        """relayOpen names, to each end, the host the relay saw the other
        end's connection come from: the dialler's inner transport says it
        (relayedFrom), the host a punch dials."""
        bed = Bed()
        dialler = Collect()
        overConnector(MemoryConnector(bed.network, "10.1.0.5"), bed.clock).dial(
            Path(RELAYED, "192.168.1.2", 9001, RELAY, NAMED), None, lambda: dialler,
            DialOptions(target=NODE_ID))
        bed.run()
        [incoming] = bed.told
        node = Collect()
        end = CircuitEnd(RelayAccept(incoming.circuit), lambda t: node, bed.clock,
                         PEER, seen=incoming.host)
        bed.network.connect(RELAY_HOST, RELAY_PORT, end, from_host="192.168.1.2")
        bed.run()
        self.assertEqual(dialler.transport.relayedFrom, "192.168.1.2")
        self.assertEqual(node.transport.relayedFrom, "10.1.0.5")
