"""
The connector every dial of the product goes through
(L{RelayedConnector}): it connects along a path by the transport of its
kind (L{twisted_bazaar.transports.pathtransport}): directly, by the
connector it wraps (L{DirectTransport}), or through a relay, opening a
circuit to the node by its id and running the encrypted channel end to
end inside it (L{RelayTransport}, L{openCircuit}, which a status
client uses too).

It dials what it is told: which relay may be dialled for a peer (the
one the tracker names) is its dialer's to decide
(L{twisted_bazaar.reach.dialer.Dialer}), from the node's book of paths.
"""

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from zope.interface import implementer
from zope.interface.verify import verifyObject

from twisted_bazaar.transports.connector import IConnector
from twisted_bazaar.net.encrypted import HANDSHAKE_TIMEOUT, EncryptedProtocol
from twisted_bazaar.transports.relay.circuit import CircuitEnd
from twisted_bazaar.transports.pathtransport import DIRECT, RELAYED, IPathTransport
from twisted_bazaar.transports.relay.messages import NODE, RelayConnect
from twisted_bazaar.wire.core import splitRelay


def openCircuit(connectRelay, relay, target, purpose, protocol, clock, channel=None,
                expected=None, peerLog=None, peer=None, timeout=HANDSHAKE_TIMEOUT,
                pin=None):
    """
    Connect protocol to node ``target``'s port for ``purpose`` through the
    relay at ``relay`` (``HOST:PORT``): ``connectRelay(host, port, end)``
    connects the circuit's end to the relay (under a channel with it) and
    returns a Deferred.  Inside, the protocol runs under an encrypted
    channel of its own with the node (none without ``channel``: the
    in-memory network's), which must prove ``expected`` if given.

    @param peer: the inner transport's C{getPeer} (the node's advertised
        address); the relay's if None.
    @param pin: in place of ``expected``, the inner channel's key pin
        (see L{EncryptedProtocol}): told the key once proven.
    @return: a Deferred firing with protocol once the circuit is open, or
        failing with why not.
    """
    relay_host, relay_port = splitRelay(relay)

    def inner(transport):
        if channel is None:
            return protocol
        return EncryptedProtocol(protocol, channel, True, clock, timeout, peerLog=peerLog,
                                 expected=expected, pin=pin)

    end = CircuitEnd(RelayConnect(target, purpose), inner, clock,
                     peer or IPv4Address("TCP", relay_host, relay_port))
    d = connectRelay(relay_host, relay_port, end)
    d.addCallback(lambda _: end.opened)
    return d.addCallback(lambda _: protocol)


@implementer(IPathTransport)
class DirectTransport:
    """At an address, by the connector the table wraps (TCP under the
    channel, or the memory network's)."""

    kind = DIRECT

    def connect(self, transports, host, port, protocol, expected=None, relay=None,
                target=None, purpose=NODE, pin=None):
        if pin is not None:
            return defer.fail(ValueError(f"{host}:{port}: a direct dial checks a key "
                                         "it expects, never a pin"))
        connector = transports.connector
        if expected is None:
            return connector.connect(host, port, protocol)
        return connector.connect(host, port, protocol, expected=expected)


@implementer(IPathTransport)
class RelayTransport:
    """Through a relay (L{openCircuit}), the relay dialled by the table's
    own L{DIRECT} transport: a transport that replaces it reaches the
    relay too."""

    kind = RELAYED

    def connect(self, transports, host, port, protocol, expected=None, relay=None,
                target=None, purpose=NODE, pin=None):
        peer = IPv4Address("TCP", host, port) if host and port else None
        return openCircuit(transports.connect, relay, target, purpose, protocol,
                           transports.clock, transports.channel, expected,
                           transports.peerLog, peer, pin=pin)


#: The transports every table starts with, shared until one is added to
#: (a node of a simulation of a million holds none of its own).
TRANSPORTS = {DIRECT: DirectTransport(), RELAYED: RelayTransport()}


@implementer(IConnector)
class RelayedConnector:
    """
    Wraps a connector (a node's or a tracker's TCP one, or an in-memory
    network's) with the table of transports, one a kind of path
    (L{TRANSPORTS} until one is L{add}ed): L{connect} goes by the
    transport of its path's kind; L{listen}, L{channel}, L{peerLog} are
    the wrapped connector's own.

    @ivar connector: the wrapped connector.
    @ivar clock: the clock its channels and circuits time out by.
    """

    __slots__ = ("connector", "clock", "_kinds")

    def __init__(self, connector, clock):
        self.connector = connector
        self.clock = clock
        self._kinds = TRANSPORTS

    def add(self, transport):
        """Connect along the paths of transport's kind (an
        L{IPathTransport}) by it from now on, in place of the one
        before."""
        verifyObject(IPathTransport, transport)
        self._kinds = {**self._kinds, transport.kind: transport}

    @property
    def channel(self):
        """The wrapped connector's channel key (None: plain)."""
        return self.connector.channel

    @property
    def addressed(self):
        """Whether the wrapped connector's hosts are addresses (or names
        DNS resolves)."""
        return self.connector.addressed

    @property
    def peerLog(self):
        """The wrapped connector's log of failed channels, or None."""
        return self.connector.peerLog

    def listen(self, factory, port=0):
        return self.connector.listen(factory, port)

    def resolve(self, name, port):
        return self.connector.resolve(name, port)

    def connect(self, host, port, protocol, expected=None, relay=None, target=None,
                purpose=NODE, pin=None):
        """
        Connect protocol to the peer at host:port (a L{DIRECT} path), or
        with ``relay`` (``HOST:PORT``), through that relay to node
        ``target``'s port for ``purpose`` (a L{RELAYED} one), by the
        transport of that kind: see L{IPathTransport.connect}.
        """
        transport = self._kinds[DIRECT if relay is None else RELAYED]
        return transport.connect(self, host, port, protocol, expected=expected,
                                 relay=relay, target=target, purpose=purpose, pin=pin)
