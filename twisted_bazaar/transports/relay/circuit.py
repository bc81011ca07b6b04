"""
One end of a relayed circuit, at a dialler or at the node it reaches
(docs/protocol.md §5a): a connection to the relay, under its own
encrypted channel with the relay, that says one message
(``relayConnect`` or ``relayAccept``), reads netstrings until the relay's
``relayOpen`` (or its refusal), and from then on carries raw bytes: the
inner connection between the two ends, with an encrypted channel of its
own that the relay cannot read or pose as either end of.

Bytes that arrive in the same read as ``relayOpen`` belong to the inner
connection and go to it.  The inner protocol sees a transport
(L{CircuitTransport}) whose writes, close and producer go to the
connection to the relay.
"""

from twisted.internet import defer
from twisted.internet.error import ConnectionClosed
from twisted.internet.interfaces import IPushProducer, ITCPTransport, ITransport
from zope.interface import implementer

from twisted_bazaar.net.reconnect import inWords
from twisted_bazaar import wire
from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.forwarding import declaredBy, forward
from twisted_bazaar.base.lan import peerHost
from twisted_bazaar.net.capabilities import IRelayedTransport, conformThrough
from twisted_bazaar.net.framed import FramedProtocol
from twisted_bazaar.transports.relay.messages import FRAME_LIMIT, RelayOpen

#: Seconds a relay may take to open a circuit once asked (it waits up to
#: its own accept timeout, 10 s, for the node to accept).
OPEN_TIMEOUT = 15.0


class CircuitRefused(ConnectionClosed):
    """The relay did not open the circuit: why."""

    def __str__(self):
        return self.args[0]


class CircuitEnd(FramedProtocol):
    """
    One end's connection to a relay: it sends ``first``, and on
    ``relayOpen`` turns raw (L{FramedProtocol.setRawMode}) and connects the inner protocol that ``inner(transport)``
    returns (the protocol the dialler wants connected, or the node's
    acceptor, each under its inner channel) to a L{CircuitTransport}.

    @ivar opened: a Deferred that fires with the inner protocol once the
        circuit is open, or fails with L{CircuitRefused} (the relay's
        refusal, a close, a timeout); cancelling it closes the connection.
    """

    MAX_LENGTH = FRAME_LIMIT

    def __init__(self, first, inner, clock, peer, timeout=OPEN_TIMEOUT, seen=""):
        """
        @param first: the message that asks for the circuit.
        @param inner: called with the L{CircuitTransport} once the
            circuit is open; returns the protocol to connect to it.
        @param peer: the inner transport's C{getPeer}: the other end's
            address as far as this end knows it.
        @param seen: where the relay saw the other end's connection come
            from, as far as this end knows it before ``relayOpen`` (whose
            ``host`` says it): "" if not.
        """
        self.first = first
        self.seen = seen
        self.inner = inner
        self.clock = clock
        self.peer = peer
        self.timeout = timeout
        self.protocol = None
        self._timer = None
        self.opened = defer.Deferred(lambda d: self._abort())

    def connectionMade(self):
        self._timer = self.clock.callLater(self.timeout, self._refused,
                                           f"the relay opened no circuit within "
                                           f"{self.timeout:g} s")
        self.sendString(wire.encode(self.first))

    def rawDataReceived(self, data):
        if self.protocol is not None:
            self.protocol.dataReceived(data)

    def brokenFrame(self, reason):
        self._refused(f"the relay broke the framing: {reason}")

    def stringReceived(self, payload):
        try:
            message = wire.decode(payload)
        except wire.ProtocolError as e:
            self._refused(f"the relay sent what does not decode: {e}")
            return
        taken = _TAKES.get(type(message))
        if taken is None:
            self._refused(f"the relay sent {message.TYPE}, not relayOpen")
        else:
            taken(self, message)

    def _opened(self, message):
        self.seen = message.host or self.seen
        # What follows (in this read too) is the inner connection's.
        self.setRawMode()
        self._open()

    def _refusedBy(self, error):
        self._refused(f"the relay refused the circuit: {error.code}: {error.info}")

    def _open(self):
        self._cancelTimer()
        transport = CircuitTransport(self, self.peer)
        protocol = self.inner(transport)
        if protocol is None:
            self._refused("this end refused the circuit's connection")
            return
        self.protocol = protocol
        protocol.makeConnection(transport)
        self.opened.callback(protocol)

    def _refused(self, why):
        self.readNoMore()
        self._cancelTimer()
        if not self.opened.called:
            self.opened.errback(CircuitRefused(why))
        self.transport.abortConnection()

    def _abort(self):
        self.readNoMore()
        self._cancelTimer()
        self.transport.abortConnection()

    def _cancelTimer(self):
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()

    def connectionLost(self, reason):
        self._cancelTimer()
        if self.protocol is not None:
            self.protocol.connectionLost(reason)
        elif not self.opened.called:
            self.opened.errback(CircuitRefused(
                f"the relay closed the connection before the circuit opened: "
                f"{inWords(reason)}"))


#: What a circuit's transport passes on to the connection to the relay.
_FORWARDED = declaredBy(ITCPTransport)


@implementer(ITransport, IPushProducer, IRelayedTransport)
class CircuitTransport:
    """
    The inner connection's transport: what it writes goes to the relay
    (sealed by the connection's channel with the relay, around the inner
    channel's own sealing), as do its close and its producer; its peer is
    the other end's address as far as this end knows it; the rest of the
    transport's interface is the relay connection's.
    """

    def __init__(self, end, peer):
        self.end = end
        self.peer = peer

    def __getattr__(self, name):
        # Reached only for what this class does not define: the rest of a
        # TCP transport's interface (L{_FORWARDED}), the connection to the
        # relay's.  Nothing else: not a dunder (C{__conform__} above all),
        # not a capability of the connection to the relay (its channel's
        # key, its C{writeLater}), which are not this one's.
        if name in ("end", "peer"):
            raise AttributeError(name)
        return forward(self, self.end.transport, name, _FORWARDED)

    @property
    def disconnecting(self):
        """Whether the connection to the relay is closing."""
        return self.end.transport.disconnecting

    def __conform__(self, interface):
        # A capability of the path (the socket's sizes, L{IBulkTransport})
        # is the relay connection's; no other is (its channel's key).
        return conformThrough(self, self.end.transport, interface)

    def write(self, data):
        self.end.transport.write(data)

    def writeSequence(self, data):
        self.end.transport.writeSequence(data)

    def loseConnection(self):
        self.end.transport.loseConnection()

    def abortConnection(self):
        self.end.transport.abortConnection()

    def getPeer(self):
        return self.peer

    @property
    def relayAt(self):
        """The relay's ``HOST:PORT``, where this end's connection to it
        goes (L{getPeer} is the other end's address)."""
        transport = self.end.transport
        host = peerHost(transport)
        return hostPort(host, transport.getPeer().port) if host else ""

    @property
    def relayedFrom(self):
        """Where the relay saw the other end's connection come from ("" if
        it did not say): the host a hole punch over this circuit dials."""
        return self.end.seen

    def getHost(self):
        return self.end.transport.getHost()

    def registerProducer(self, producer, streaming):
        self.end.transport.registerProducer(producer, streaming)

    def unregisterProducer(self):
        self.end.transport.unregisterProducer()

    def pauseProducing(self):
        self.end.transport.pauseProducing()

    def resumeProducing(self):
        self.end.transport.resumeProducing()

    def stopProducing(self):
        self.end.transport.loseConnection()


#: What a circuit's end takes from the relay before it opens: message
#: class -> function(end, message); any other refuses the circuit.
_TAKES = {RelayOpen: CircuitEnd._opened, wire.Error: CircuitEnd._refusedBy}
