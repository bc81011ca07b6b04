"""
A circuit through a relay as a transport (L{RelayTransport}): it opens a
circuit to a node by its id through the relay a path names, the relay
dialled by the transport that carries direct paths (TCP, or whatever
replaces it), and runs the encrypted channel end to end inside it
(L{openCircuit}, which a reserved node's accepts and the relay probe
use too).

It dials what it is told: which relay may be dialled for a peer (the
one the tracker names) is its dialer's to decide
(L{twisted_bazaar.reach.dialer.Dialer}), from the node's book of paths.
"""

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectError
from zope.interface import implementer

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.net.reconnect import inWords
from twisted_bazaar.net.encrypted import HANDSHAKE_TIMEOUT, EncryptedProtocol
from twisted_bazaar.transports.interface import NO_OPTIONS, ITransport
from twisted_bazaar.transports.path import DIRECT, NAMED, RELAYED, Path
from twisted_bazaar.transports.relay.circuit import CircuitEnd
from twisted_bazaar.transports.relay.messages import RelayConnect
from twisted_bazaar.wire.core import splitRelay

__all__ = ["RelayTransport", "openCircuit", "inTurn"]


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


def inTurn(ways, attempt, whys=()):
    """
    C{attempt(way)} for the first of ways (to a relay: None its own port,
    else a path to its service), the next after one that failed: a
    Deferred of the first that did not, or failing with why each did not
    (why alone, for one way).  Cancelled, it tries no more.
    """
    way, more = ways[0], ways[1:]

    def failed(reason):
        if reason.check(defer.CancelledError) or not (more or whys):
            return reason
        why = inWords(reason)
        said = whys + (why if way is None else
                       f"over {way.kind} at {hostPort(way.host, way.port)}: {why}",)
        if not more:
            raise ConnectError(string="; ".join(said))
        return inTurn(more, attempt, said)

    return attempt(way).addErrback(failed)


@implementer(ITransport)
class RelayTransport:
    """
    Through the relay a path names (L{openCircuit}) to the node the
    options name (L{DialOptions.target
    <twisted_bazaar.transports.interface.DialOptions>}), for their
    purpose; the relay dialled by ``carrier``, the transport of direct
    paths.

    @ivar clock: what its channels and circuits time out by.
    @ivar channel: the channel key the inner channel runs under (None:
        plain, the memory network's).
    @ivar peerLog: where the lines of inner channels that failed go, or
        None.
    """

    kind = RELAYED
    __slots__ = ("carrier", "clock", "channel", "peerLog")

    def __init__(self, carrier, clock, channel=None, peerLog=None):
        self.carrier = carrier
        self.clock = clock
        self.channel = channel
        self.peerLog = peerLog

    def canDial(self, path):
        return path.kind == RELAYED and path.relay is not None

    def dial(self, path, expectedKey, protocolFactory, options=None):
        return self.dialAlong(self._toRelay, path, expectedKey, protocolFactory, options)

    def dialAlong(self, toRelay, path, expectedKey, protocolFactory, options=None):
        """As L{dial}, the circuit's end connected to the relay by
        C{toRelay(host, port, end)}: along one of its ways (a transport
        plugin's port, where a firewall lets only HTTP(S) out) rather
        than at its port by the carrier."""
        options = NO_OPTIONS if options is None else options
        peer = IPv4Address("TCP", path.host, path.port) if path.host and path.port else None
        return openCircuit(toRelay, path.relay, options.target, options.purpose,
                           protocolFactory(), self.clock, self.channel, expectedKey,
                           self.peerLog, peer, pin=options.pin)

    def _toRelay(self, host, port, end):
        """The circuit's end, connected to its relay by the carrier."""
        return self.carrier.dial(Path(DIRECT, host, port, word=NAMED), None, lambda: end)

    def listen(self, factory):
        return defer.fail(NotImplementedError(
            "a node is reached through a relay by its reservation there "
            "(twisted_bazaar.reach.reachable.reservation), not by a listening port"))
