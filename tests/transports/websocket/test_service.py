"""
A daemon's WebSocket port as a service (listened on at start, logged,
closed at stop; a port that cannot listen ends the daemon saying why);
a node's, made before the node and served on it once built.
"""

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from twisted_bazaar.base.httphosts import ServedNames
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.transports.interface import ITransport
from twisted_bazaar.transports.path import CONFIGURED, Path
from twisted_bazaar.transports.websocket import WEBSOCKET, WHAT
from twisted_bazaar.transports.websocket.stream import StreamServerFactory
from twisted_bazaar.transports.websocket.service import (
    NodeWebSocket, WebSocketService, trackerService)
from twisted_bazaar.transports.websocket.endpoints import ROOT
from twisted_bazaar.transports.websocket.transport import FILES, RELAY

#: A client's opening handshake (RFC 6455 4.1) for a resource, offering
#: bazaar.
_REQUEST = (b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: bazaar\r\n\r\n")


class Port:
    def __init__(self):
        self.stopped = False

    def getHost(self):
        return IPv4Address("TCP", "0.0.0.0", 443)


class Transport:
    def __init__(self, listening):
        self.listening = listening
        self.stopped = False

    def stopListening(self):
        self.stopped = True


class ServiceTests(SynchronousTestCase):

    def test_listensAndStops(self):
        transport = Transport(defer.succeed(Port()))
        failures = []
        service = WebSocketService(transport, lambda t: t.listening, failures.append,
                                   "--ws-port 443")
        service.startService()
        self.assertIsNotNone(service.port)
        service.stopService()
        self.assertTrue(transport.stopped)
        self.assertEqual(failures, [])

    def test_aPortThatCannotListenEndsTheDaemon(self):
        transport = Transport(defer.fail(OSError("Address already in use")))
        failures = []
        WebSocketService(transport, lambda t: t.listening, failures.append,
                         "--ws-port 443").startService()
        self.assertEqual(failures, ["websocket cannot listen on --ws-port 443: "
                                    "Address already in use"])



class Book:
    def __init__(self):
        self.added = []

    def add(self, peer_id, path):
        self.added.append((peer_id, path))


class NodeWebSocketTests(SynchronousTestCase):

    def make(self, port):
        return NodeWebSocket(Clock(), ChannelKey.generate(Identity.generate()), None, port,
                             "127.0.0.1", [(0x1234, "192.0.2.9", 80)], [].append)

    def test_itsTransportBeforeTheNode(self):
        """Its transport exists before any node, to be handed to the node's
        dialer at construction."""
        transport = self.make(None).transport
        self.assertTrue(verifyObject(ITransport, transport))
        self.assertEqual(transport.kind, WEBSOCKET)

    def test_servedItWritesTheOperatorsPaths(self):
        book = Book()
        service = self.make(None).serve(book, None, None)
        self.assertIsInstance(service, WebSocketService)
        self.assertEqual(book.added,
                         [(0x1234, Path(WEBSOCKET, "192.0.2.9", 80, word=CONFIGURED))])

    def test_servedItListensWithTheFactoriesGiven(self):
        """Served, it is given what it serves (the factories of the node's
        links and transfers), not the node: each listened on at its
        resource of the one port."""
        listened = []

        class Port:
            def getHost(self):
                return IPv4Address("TCP", "127.0.0.1", 443)

        class Transport:
            def listen(self, factory, resource):
                listened.append((factory, resource))
                return defer.succeed(Port())

            def stopListening(self):
                return None

        websocket = self.make(0)
        websocket.transport = Transport()
        service = websocket.serve(Book(), "links", "transfers")
        service.startService()
        self.assertEqual(listened, [("links", ROOT), ("transfers", FILES)])
        service.stopService()

    def test_withoutAPortItListensOnNone(self):
        service = self.make(None).serve(Book(), None, None)
        service.startService()
        self.assertIsNone(service.port)
        service.stopService()

    def served(self, relay):
        """The resources a node's port serves, given relay (its relay's
        factory, or None), once it listens (on a memory reactor)."""
        made = NodeWebSocket(MemoryReactorClock(), ChannelKey.generate(Identity.generate()),
                             None, 0, "127.0.0.1", [], [].append)
        service = made.serve(Book(), object(), object(), relay)
        service.startService()
        self.addCleanup(service.stopService)
        return service.transport.resources

    def test_itsRelayAtTheRelayResource(self):
        """A node that relays serves its relay at L{RELAY} of its port, beside
        its links and its files: a node at a home that lets only HTTP(S) out
        holds its reservation there."""
        relay = object()
        resources = self.served(relay)
        self.assertEqual(sorted(resources), ["/", "/files", RELAY])
        self.assertIs(resources[RELAY].wrappedFactory, relay)

    def test_noRelayNoResource(self):
        """A node that relays for nobody serves no L{RELAY}."""
        self.assertEqual(sorted(self.served(None)), ["/", "/files"])


class TrackerServiceTests(SynchronousTestCase):

    def listened(self, relay):
        """The resources a tracker's port serves, given relay (a factory or
        None), once it listens (on a memory reactor)."""
        service = trackerService(MemoryReactorClock(), Identity.generate(), object(), None, 0,
                                 "127.0.0.1", [].append, relay=relay)
        service.startService()
        self.addCleanup(service.stopService)
        return service.transport.resources

    def test_itsRelayAtTheRelayResource(self):
        """With the tracker's relay, its port serves the relay at
        L{RELAY} beside the tracker at the root: a node that reaches the
        tracker there alone accepts its circuits there."""
        relay = object()
        resources = self.listened(relay)
        self.assertEqual(sorted(resources), ["/", RELAY])
        self.assertIs(resources[RELAY].wrappedFactory, relay)

    def test_noRelayNoResource(self):
        self.assertEqual(sorted(self.listened(None)), ["/"])

    def test_itsPortAdvertised(self):
        """The port names itself once it listens (at no host: the tracker's
        relay, served there, names it at its own host), not before."""
        service = trackerService(MemoryReactorClock(), Identity.generate(), object(), None,
                                 8080, "127.0.0.1", [].append, relay=object())
        self.assertIsNone(service.advertised())
        service.startService()
        self.addCleanup(service.stopService)
        self.assertEqual(service.advertised(), Path(WEBSOCKET, port=8080))


class _Raw(StringTransport):
    """A TCP transport that keeps what is written (autobahn unregisters
    its producer whether or not one was registered)."""

    def unregisterProducer(self):
        self.producer = None

    def abortConnection(self):
        self.loseConnection()


class RelayOverWebSocketTests(SynchronousTestCase):
    """(Issue 93, the eighth round: the tracker's relay served on its
    WebSocket port at L{RELAY}.)  A stranger's openings of the relay over
    WebSocket are charged to the very rate of the relay's own port: one
    bucket per relay however it is reached, so the WebSocket port is no
    way round ``--connection-rate``."""

    RATE = 100

    def setUp(self):
        from twisted_bazaar.base.logthrottle import PeerLog
        from twisted_bazaar.transports.relay.relay import Relay
        self.clock = Clock()
        self.relay = Relay(self.clock, PeerLog(self.clock), connection_rate=self.RATE)
        self.factory = StreamServerFactory(
            self.clock, {RELAY: self.relay.factory()}, ServedNames(what=WHAT))

    def upgrade(self, host, port):
        """An opening handshake for L{RELAY} from host:port: the status
        line of the answer."""
        protocol = self.factory.buildProtocol(IPv4Address("TCP", host, port))
        transport = _Raw(peerAddress=IPv4Address("TCP", host, port))
        protocol.makeConnection(transport)
        protocol.dataReceived(_REQUEST % RELAY.encode("ascii"))
        status = transport.value().split(b"\r\n")[0].decode("utf-8")
        protocol.connectionLost(Failure(ConnectionDone()))
        return status

    def test_theRelaysRateHoldsOverWebSocket(self):
        """A burst of the rate's worth from one /16 opens; the next is
        refused 503, and so is the same group's next connection to the
        relay's TCP port; another group still opens."""
        statuses = [self.upgrade("198.51.100.7", 1000 + n) for n in range(self.RATE + 1)]
        self.assertEqual(
            [status.split()[1] for status in statuses], ["101"] * self.RATE + ["503"])
        self.assertIsNone(self.relay.factory().buildProtocol(
            IPv4Address("TCP", "198.51.7.7", 5000)))
        self.assertTrue(self.upgrade("203.0.113.9", 1000).startswith("HTTP/1.1 101"))

    def test_theTrackersRelayAndItsRateAreServed(self):
        """The daemon serves at L{RELAY} the factory of its own relay,
        the one its relay port serves, whose rate is its
        ``--connection-rate``: the wiring under the test above."""
        from twisted_bazaar.tap.tracker import Options, makeService
        options = Options()
        options.parseOptions(["--no-udp", "--listen", "tcp:0", "--relay-port", "0",
                              "--ws-port", "0", "--connection-rate", "5"])
        parent = makeService(options, reactor=MemoryReactorClock())
        [tracker] = [child.tracker for child in parent if hasattr(child, "tracker")]
        [websocket] = [child for child in parent if isinstance(child, WebSocketService)]
        websocket.startService()
        self.addCleanup(websocket.stopService)
        served = websocket.transport.resources[RELAY].wrappedFactory
        self.assertIs(served.relay, tracker.relay)
        self.assertEqual(tracker.relay.rates.rate, 5)
