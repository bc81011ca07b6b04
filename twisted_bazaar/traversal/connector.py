"""
The one connector every dialler of a node goes through: it dials a peer
directly, or, for a peer that advertises a relay (it cannot be dialled:
docs/protocol.md §5a), opens a circuit to it through that relay, by the
peer's id, and runs the encrypted channel end to end inside it.
"""

from twisted.internet.address import IPv4Address

from twisted_bazaar.net.encrypted import EncryptedProtocol
from twisted_bazaar.traversal.circuit import CircuitEnd
from twisted_bazaar.traversal.messages import NODE, RelayConnect
from twisted_bazaar.wire.core import splitRelay


class RelayedConnector:
    """
    Wraps a node's connector (its TCP one, or an in-memory network's):
    L{connect} without a relay is the wrapped connector's own; the rest
    of its interface (L{listen}, its attributes) is the wrapped one's.

    @ivar connector: the wrapped connector.
    """

    __slots__ = ("connector", "clock")

    def __init__(self, connector, clock):
        self.connector = connector
        self.clock = clock

    def __getattr__(self, name):
        return getattr(self.connector, name)

    def listen(self, factory, port=0):
        return self.connector.listen(factory, port)

    def connect(self, host, port, protocol, expected=None, relay=None, target=None,
                purpose=NODE):
        """
        Connect protocol to the peer at host:port, or with ``relay``
        (``HOST:PORT``), through that relay to node ``target``'s port for
        ``purpose``.  A Deferred firing with protocol once it is connected
        (through a relay: once the circuit is open), or failing with why.

        @param expected: the key (32 raw bytes) the peer must prove in the
            channel's handshake (the inner one, through a relay), or None.
        """
        if relay is None:
            if expected is None:
                return self.connector.connect(host, port, protocol)
            return self.connector.connect(host, port, protocol, expected=expected)
        relay_host, relay_port = splitRelay(relay)
        channel = getattr(self.connector, "channel", None)
        clock = self.clock

        def inner(transport):
            if channel is None:
                return protocol
            return EncryptedProtocol(protocol, channel, True, clock,
                                     peerLog=getattr(self.connector, "peerLog", None),
                                     expected=expected)

        peer = IPv4Address("TCP", host or relay_host, port or relay_port)
        end = CircuitEnd(RelayConnect(target, purpose), inner, clock, peer)
        d = self.connector.connect(relay_host, relay_port, end)
        d.addCallback(lambda _: end.opened)
        return d.addCallback(lambda _: protocol)
