"""A relay and two ends on an in-memory network, for the relay's tests."""

import attr

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.protocol import Protocol
from zope.interface import implementer

from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.identity.keys import Identity, decode
from twisted_bazaar.transports.connector import IConnector
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.net.encrypted import EncryptedProtocol
from twisted_bazaar.testing.memory import MemoryConnector, MemoryNetwork
from twisted_bazaar.transports.relay.circuit import CircuitEnd
from twisted_bazaar.transports.interface import NO_OPTIONS, DialOptions, ITransport
from twisted_bazaar.transports.path import NAMED, RELAYED, Path
from twisted_bazaar.transports.relay.limits import RelayLimits
from twisted_bazaar.transports.relay.messages import RelayAccept
from twisted_bazaar.transports.relay.relay import Relay
from twisted_bazaar.transports.table import overConnector

RELAY_HOST = "10.9.0.1"
RELAY_PORT = 7000
RELAY = f"{RELAY_HOST}:{RELAY_PORT}"
NODE_ID = 77


@attr.s
class Dial:
    """One dial a L{RecordingTransport} was asked for, and its Deferred."""

    host = attr.ib()
    port = attr.ib()
    protocol = attr.ib()
    expected = attr.ib()
    relay = attr.ib()
    target = attr.ib()
    purpose = attr.ib()
    pin = attr.ib()
    deferred = attr.ib()


@implementer(ITransport)
class RecordingTransport:
    """A transport of a kind (as a test says) that records each dial
    (L{dials}, each a L{Dial}) and leaves the test to end it: the one a
    table of transports holding it must call for its kind."""

    def __init__(self, kind):
        self.kind = kind
        self.dials = []

    def canDial(self, path):
        return True

    def dial(self, path, expectedKey, protocolFactory, options=None):
        options = NO_OPTIONS if options is None else options
        d = defer.Deferred()
        self.dials.append(Dial(path.host, path.port, protocolFactory(), expectedKey,
                               path.relay, options.target, options.purpose, options.pin,
                               d))
        return d

    def listen(self, factory):
        return defer.Deferred()


class Collect(Protocol):
    """Keeps what it reads, and why it lost its connection."""

    def __init__(self):
        self.received = b""
        self.lost = None

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        self.lost = reason


@implementer(IConnector)
class ChannelConnector(MemoryConnector):
    """A memory connector whose process has a channel key: what the
    relayed connector seals the inner channel with."""

    def __init__(self, network, host, identity=None):
        super().__init__(network, host)
        self.identity = identity or Identity.generate()
        self.channel = ChannelKey.generate(self.identity)
        self.peerLog = None


class Bed:
    """A relay on a memory network with a reservation for NODE_ID, a
    dialler and the node, each with an inner channel key."""

    def __init__(self, limits=RelayLimits(), reserve=True, connection_rate=0):
        self.network = MemoryNetwork()
        self.clock = self.network.clock
        self.relay = Relay(self.clock, PeerLog(self.clock), limits, connection_rate)
        self.network.listen(self.relay.factory(), RELAY_HOST, RELAY_PORT)
        self.relay.port = RELAY_PORT
        self.told = []
        self.node = ChannelConnector(self.network, "192.168.1.2")
        self.dialler = overConnector(ChannelConnector(self.network, "10.1.0.5"),
                                     self.clock)
        self.accepted = []
        if reserve:
            self.relay.reserve(NODE_ID, "192.168", self.told.append, "key", RELAY_HOST)

    def dial(self, protocol, expected=None, target=NODE_ID, dialler=None):
        d = (dialler or self.dialler).dial(
            Path(RELAYED, "192.168.1.2", 9001, RELAY, NAMED),
            decode(self.node.identity.key) if expected is None else expected,
            lambda: protocol, DialOptions(target=target))
        results = []
        d.addBoth(results.append)
        return results

    def accept(self, incoming, protocol=None):
        """The node accepts the circuit announced: its inner channel's
        acceptor, under protocol (a L{Collect})."""
        protocol = protocol or Collect()
        self.accepted.append(protocol)

        def inner(transport):
            return EncryptedProtocol(protocol, self.node.channel, False, self.clock)

        peer = IPv4Address("TCP", incoming.host, incoming.port)
        end = CircuitEnd(RelayAccept(incoming.circuit), inner, self.clock, peer)
        self.network.connect(RELAY_HOST, RELAY_PORT, end, from_host="192.168.1.2")
        return end

    def run(self, seconds=1.0):
        self.network.run(seconds)
