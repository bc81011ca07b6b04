"""
The one connector every dialler of a node goes through: it dials a peer
directly, or, for a peer that advertises a relay (it cannot be dialled:
docs/protocol.md §5a), opens a circuit to it through that relay, by the
peer's id, and runs the encrypted channel end to end inside it
(L{openCircuit}, which a status client uses too).

It dials what it is told: which relay may be dialled for a peer (the
one the tracker names) is its dialer's to decide
(L{twisted_bazaar.core.dialer.Dialer}), from the node's book of paths.
"""

from twisted.internet.address import IPv4Address
from zope.interface import implementer

from twisted_bazaar.net.connector import IConnector
from twisted_bazaar.net.encrypted import HANDSHAKE_TIMEOUT, EncryptedProtocol
from twisted_bazaar.traversal.circuit import CircuitEnd
from twisted_bazaar.traversal.messages import NODE, RelayConnect
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


@implementer(IConnector)
class RelayedConnector:
    """
    Wraps a node's connector (its TCP one, or an in-memory network's):
    L{connect} without a relay is the wrapped connector's own, and so are
    L{listen}, L{channel} and L{peerLog}; with one, a circuit through it.

    @ivar connector: the wrapped connector.
    """

    __slots__ = ("connector", "clock")

    def __init__(self, connector, clock):
        self.connector = connector
        self.clock = clock

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
                purpose=NODE):
        """
        Connect protocol to the peer at host:port, or with ``relay``
        (``HOST:PORT``), through that relay to node ``target``'s port for
        ``purpose`` (host:port then the peer's address as its inner
        transport names it).  A Deferred firing with protocol once it is
        connected (through a relay: once the circuit is open), or failing
        with why.

        @param expected: the key (32 raw bytes) the peer must prove in the
            channel's handshake (the inner one, through a relay), or None.
        """
        connector = self.connector
        if relay is None:
            if expected is None:
                return connector.connect(host, port, protocol)
            return connector.connect(host, port, protocol, expected=expected)
        peer = IPv4Address("TCP", host, port) if host and port else None
        return openCircuit(connector.connect, relay, target, purpose, protocol,
                           self.clock, connector.channel, expected, connector.peerLog, peer)
