"""
The encrypted channel over QUIC streams (L{QuicConnector}): what the
dialer's QUIC transport dials through, an L{IConnector} as the TCP one
is.  Each stream runs the channel of docs/protocol.md §2.1 from its first
byte, exactly as a TCP connection does, so the key a peer proves is
checked as on TCP and every layer above (links, transfers, relays) runs
over it unchanged; QUIC's own TLS proves nothing (see
L{twisted_bazaar.transports.quic.stack}).

A node serves its services on one UDP port, each named by the ALPN a
dialler asks for (L{LINKS}, L{FILES}): one port for all of them, as a
punch through a NAT wants.
"""

from twisted.internet import defer
from twisted.internet.error import ConnectError
from twisted.internet.abstract import isIPAddress, isIPv6Address
from twisted.python.failure import Failure
from zope.interface import implementer

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.transports.connector import IConnector
from twisted_bazaar.net.encrypted import ChannelFailed, EncryptedFactory, EncryptedProtocol
from twisted_bazaar.transports.quic.errors import QuicSilent

__all__ = ["QuicConnector", "LINKS", "FILES", "SERVICES"]

#: The ALPN of a node's links (the overlay's port, protocol.md §2).
LINKS = "bazaar-link/1"
#: The ALPN of a seller's file transfers (its transfer port, §8).
FILES = "bazaar-files/1"
SERVICES = (LINKS, FILES)


@implementer(IConnector)
class QuicConnector:
    """
    Dials and serves one service over a node's L{QuicEndpoint
    <twisted_bazaar.transports.quic.endpoint.QuicEndpoint>}, every stream under
    the channel of the node's L{ChannelKey
    <twisted_bazaar.channel.session.ChannelKey>}.
    """

    addressed = True

    def __init__(self, endpoint, channel, service=LINKS, peerLog=None):
        self.endpoint = endpoint
        self.channel = channel
        self.service = service
        self.peerLog = peerLog if peerLog is not None else PeerLog(endpoint.clock)

    def connect(self, host, port, protocol, expected=None, proven=False):
        """
        Connect protocol to the service at host:port (an IP address) over a
        new QUIC connection's stream, under the channel, the peer proving
        ``expected`` (32 raw bytes) if given; a Deferred firing with
        protocol once QUIC's handshake is done (the channel's follows on
        the stream), or failing with
        L{twisted_bazaar.transports.quic.connection.QuicUnanswered}.

        @param proven: fire only once the channel is up too (a punched
            path's dial, as a punched TCP connection's is proven:
            L{twisted_bazaar.transports.tcp.fromport}), failing with
            L{QuicSilent} if its handshake timed out (the path carried
            QUIC's handshake and then nothing: the routers forgot it), or
            with the channel's failure.
        """
        if not (isIPAddress(host) or isIPv6Address(host)):
            return defer.fail(ConnectError(string=f"{host}: QUIC dials an IP address, "
                                                  "not a name"))
        if proven:
            sealed = _Proven(protocol, self.channel, True, self.endpoint.clock,
                             peerLog=self.peerLog, expected=expected)
        else:
            sealed = EncryptedProtocol(protocol, self.channel, True, self.endpoint.clock,
                                       peerLog=self.peerLog, expected=expected)
        d = self.endpoint.connect(host, port, self.service, sealed)
        if proven:
            return sealed.proving(d, hostPort(host, port))
        return d.addCallback(lambda _: protocol)

    def listen(self, factory, port=0):
        """Serve factory's protocols on the endpoint's port (``port`` is
        not used: one UDP port serves every service), each under the
        channel as its acceptor."""
        self.endpoint.serve(self.service, EncryptedFactory(
            factory, self.channel, self.endpoint.clock, peerLog=self.peerLog))
        return defer.succeed(self.endpoint.transport)

    def resolve(self, name, port):
        return defer.fail(ConnectError(string="QUIC dials IP addresses only"))


class _Proven(EncryptedProtocol):
    """A dialled channel whose dial waits for it to come up: the
    Deferred of L{proving} fires with the wrapped protocol once the peer
    proved its key, or fails with why the channel never came up."""

    done = None
    _where = None

    def proving(self, dialled, where):
        """The Deferred of a dial whose QUIC part is ``dialled`` (to
        ``where``, host:port): see the class.  Cancelling it gives up the
        dial, or the channel once QUIC is up."""
        self._where = where
        self.done = defer.Deferred(lambda _: self._cancel(dialled))
        dialled.addCallbacks(self._quicUp, self._settle)
        return self.done

    def _quicUp(self, _):
        if self.up:
            self._settle(self.wrapped)

    def _cancel(self, dialled):
        # Given up: it fails as cancelled, whatever the abort says.
        self.done = None
        if not dialled.called:
            dialled.cancel()
        elif self.transport is not None:
            self.transport.abortConnection()

    def dataReceived(self, data):
        super().dataReceived(data)
        if self.up:
            self._settle(self.wrapped)

    def connectionLost(self, reason):
        super().connectionLost(reason)
        if self.timedOut:
            reason = Failure(QuicSilent(string=f"no QUIC answer from {self._where} after "
                                               f"its handshake: {self.failedWhy}"))
        elif self.failedWhy is not None:
            reason = Failure(ChannelFailed(self.failedWhy))
        self._settle(reason)

    def _settle(self, result):
        """Fire the dial's Deferred with result (a Failure: fail it), once."""
        done, self.done = self.done, None
        if done is None or done.called:
            return
        if isinstance(result, Failure):
            done.errback(result)
        else:
            done.callback(result)
