"""
A deterministic datagram network for QUIC's unit tests: endpoints
attached at (host, port), each datagram delivered after a fixed latency
on a L{task.Clock}, or dropped by a rule the test sets; its routes' MTU
what the test says (unknown by default), and a datagram past the path's
MTU sent in fragments, as the kernel sends one from a QUIC socket
(L{twisted_bazaar.transports.quic.pathmtu.fragmentPastPath}).
"""

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.error import InvalidAddressError
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock

from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.identity.keys import decode
from twisted_bazaar.transports.quic.connector import LINKS, QuicConnector
from twisted_bazaar.transports.quic.endpoint import QuicEndpoint

from tests import records

#: Seconds a datagram takes between two endpoints.
LATENCY = 0.005


class FakeDatagramTransport:
    """What a listening UDP port gives its protocol: write and getHost."""

    def __init__(self, network, addr):
        self.network = network
        self.addr = addr

    def write(self, data, addr):
        if (":" in addr[0]) != (":" in self.addr[0]):
            # As Twisted's UDP port: a socket of one family writes to no
            # address of the other.
            raise InvalidAddressError(addr[0], "an address of the other family")
        if self.network.pathMtu is not None and len(data) + 28 > self.network.pathMtu:
            self.network.fragmented += 1
        self.network.send(self.addr, addr, bytes(data))

    def getHost(self):
        return (IPv6Address if ":" in self.addr[0] else IPv4Address)("UDP", *self.addr)


class FakeNetwork:
    """
    @ivar sent: every datagram sent, (source, destination, bytes).
    @ivar drop: a rule ``drop(source, destination, data)``: true drops it.
    @ivar mtu: the MTU the endpoints' route lookups give (None: unknown).
    @ivar pathMtu: the MTU of the paths themselves, past which a datagram
        goes in fragments (None: any size goes whole).
    @ivar fragmented: how many datagrams went in fragments.
    """

    def __init__(self, clock=None, mtu=None):
        self.clock = clock if clock is not None else Clock()
        self.endpoints = {}
        self.sent = []
        self.drop = lambda source, destination, data: False
        self.mtu = mtu
        self.pathMtu = None
        self.fragmented = 0

    def routeMtu(self, host):
        return self.mtu

    def endpoint(self, host, port=4433, retry=True):
        endpoint = QuicEndpoint(self.clock, retry=retry, routeMtu=self.routeMtu)
        self.attach(endpoint, host, port)
        return endpoint

    def attach(self, protocol, host, port):
        self.endpoints[(host, port)] = protocol
        protocol.makeConnection(FakeDatagramTransport(self, (host, port)))

    def send(self, source, destination, data):
        self.sent.append((source, destination, data))
        if self.drop(source, destination, data):
            return
        self.clock.callLater(LATENCY, self._deliver, source, destination, data)

    def _deliver(self, source, destination, data):
        endpoint = self.endpoints.get(destination)
        if endpoint is not None:
            endpoint.datagramReceived(data, source)

    def run(self, seconds=1.0, step=LATENCY):
        """Advance the clock by ``seconds``, a step at a time."""
        for _ in range(int(round(seconds / step))):
            self.clock.advance(step)


def channelKey(seed):
    """A node's channel key, for the identity drawn from seed."""
    return ChannelKey.generate(records.identity(seed))


class Recorder(Protocol):
    """A protocol that keeps what it reads and how it ended."""

    def __init__(self):
        self.got = []
        self.lost = None
        self.made = False

    def connectionMade(self):
        self.made = True

    def dataReceived(self, data):
        self.got.append(data)

    def connectionLost(self, reason):
        self.lost = reason

    def received(self):
        return b"".join(self.got)


def served(endpoint, seed, service=LINKS):
    """Serve service on endpoint as the node of seed's key: the list of
    the protocols its accepted streams were connected to."""
    accepted = []

    def build():
        accepted.append(Recorder())
        return accepted[-1]

    QuicConnector(endpoint, channelKey(seed), service).listen(Factory.forProtocol(build))
    return accepted


def dialled(endpoint, seed, host, expected_seed, port=4433, service=LINKS):
    """Dial host's service from endpoint as seed's node, expecting the key
    of expected_seed's: (the protocol, the list the dial's result goes in)."""
    protocol = Recorder()
    expected = None if expected_seed is None else decode(records.identity(expected_seed).key)
    d = QuicConnector(endpoint, channelKey(seed), service).connect(host, port, protocol,
                                                                   expected=expected)
    result = []
    d.addBoth(result.append)
    return protocol, result
