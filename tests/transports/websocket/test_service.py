"""
A daemon's WebSocket port as a service (listened on at start, logged,
closed at stop; a port that cannot listen ends the daemon saying why);
a node's, made before the node and served on it once built.
"""

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.transports.interface import ITransport
from twisted_bazaar.transports.path import CONFIGURED, Path
from twisted_bazaar.transports.websocket import WEBSOCKET
from twisted_bazaar.transports.websocket.service import (
    NodeWebSocket, WebSocketService, trackerService)
from twisted_bazaar.transports.websocket.transport import RELAY


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


class Node:
    """What a node's WebSocket uses of the node: the book of its
    whereabouts, the factories it serves."""

    transferFactory = None

    def __init__(self):
        self.whereabouts = self
        self.book = Book()


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
        node = Node()
        service = self.make(None).serve(node)
        self.assertIsInstance(service, WebSocketService)
        self.assertEqual(node.book.added,
                         [(0x1234, Path(WEBSOCKET, "192.0.2.9", 80, word=CONFIGURED))])

    def test_withoutAPortItListensOnNone(self):
        service = self.make(None).serve(Node())
        service.startService()
        self.assertIsNone(service.port)
        service.stopService()


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
