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
from zope.interface import implementer

from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.transports.connector import IConnector
from twisted_bazaar.net.encrypted import EncryptedFactory, EncryptedProtocol

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

    def connect(self, host, port, protocol, expected=None):
        """
        Connect protocol to the service at host:port (an IP address) over a
        new QUIC connection's stream, under the channel, the peer proving
        ``expected`` (32 raw bytes) if given; a Deferred firing with
        protocol once QUIC's handshake is done (the channel's follows on
        the stream), or failing with
        L{twisted_bazaar.transports.quic.connection.QuicUnanswered}.
        """
        if not (isIPAddress(host) or isIPv6Address(host)):
            return defer.fail(ConnectError(string=f"{host}: QUIC dials an IP address, "
                                                  "not a name"))
        sealed = EncryptedProtocol(protocol, self.channel, True, self.endpoint.clock,
                                   peerLog=self.peerLog, expected=expected)
        d = self.endpoint.connect(host, port, self.service, sealed)
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
