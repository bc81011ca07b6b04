"""
A WebSocket server and client joined in memory (Twisted's memory reactor,
a clock too, and its connection completer): no socket, no wall clock.
"""

from twisted.internet.endpoints import TCP4ClientEndpoint, TCP4ServerEndpoint
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock
from twisted.test.iosim import ConnectionCompleter

from twisted_bazaar.base.httphosts import ServedNames
from twisted_bazaar.transports.websocket import WHAT
from twisted_bazaar.transports.websocket.endpoints import (
    WebSocketClientEndpoint, WebSocketServerEndpoint)

PORT = 4321


class Recorder(Protocol):
    """Keeps what it reads and why its connection ended."""

    def __init__(self):
        self.received = b""
        self.lost = None
        self.made = False

    def connectionMade(self):
        self.made = True

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        self.lost = reason


class Recorders(Factory):
    """Builds L{Recorder}s, keeping each."""

    def __init__(self):
        self.built = []

    def buildProtocol(self, addr):
        protocol = Recorder()
        protocol.factory = self
        self.built.append(protocol)
        return protocol


class Joined:
    """A memory reactor with a WebSocket server listening on it
    (``resources``: path -> factory), and a way to complete connections
    to it."""

    def __init__(self, resources=None):
        self.reactor = MemoryReactorClock()
        self.refusals = []
        self.servers = Recorders()
        self.completer = ConnectionCompleter(self.reactor)
        self.names = ServedNames(what=WHAT)
        server = WebSocketServerEndpoint(self.reactor, TCP4ServerEndpoint(
            self.reactor, PORT, interface="127.0.0.1"),
                                         self.names,
                                         refused=lambda addr, why: self.refusals.append(why))
        if resources is not None:
            server.resource = None
        self.listening = server.listen(self.servers)
        if resources is not None:
            # The factory the server endpoint made, serving each resource.
            factory = self.reactor.tcpServers[-1][1]
            factory.resources = resources

    def client(self, resource="/", host="127.0.0.1"):
        return WebSocketClientEndpoint(
            self.reactor, TCP4ClientEndpoint(self.reactor, host, PORT),
            host, PORT, resource)

    def connect(self, factory=None, resource="/", host="127.0.0.1"):
        """Connect a client (a L{Recorders}' protocol by default) to
        ``host``, as dialled (the server answers to every loopback
        address): (the Deferred of the connection, the pump, the client
        factory)."""
        factory = factory if factory is not None else Recorders()
        d = self.client(resource, host).connect(factory)
        pump = self.completer.succeedOnce()
        pump.flush()
        return d, pump, factory
