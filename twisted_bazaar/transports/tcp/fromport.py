"""
The dial of a punch: a TCP connection from a chosen local port, so that
two nodes that dial each other at once meet in one connection (a TCP
simultaneous open, RFC 5128 §3.4), and the encrypted channel on it, which
must prove the key of the peer the punch is with before this side seals
anything.

Twisted's C{connectTCP} binds a client's socket without C{SO_REUSEADDR}
or C{SO_REUSEPORT}; the connector here sets both before the bind, so a
punch's local port can be bound again at once by the next attempt (its
last connection may linger in TIME_WAIT).  It is driven by the reactor
passed in.
"""

import socket

from twisted.internet import defer, tcp
from twisted.internet.protocol import ClientFactory
from twisted.python.failure import Failure

from twisted_bazaar.base.lan import ipAddress
from twisted_bazaar.net.encrypted import ChannelFailed, EncryptedProtocol

#: Seconds a punch's TCP connection may take to come up, and then its
#: channel's handshake.
DIAL_TIMEOUT = 5.0


class _ReusingClient(tcp.Client):
    """A TCP client whose socket may share its local port."""

    def createInternetSocket(self):
        skt = super().createInternetSocket()
        skt.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        reusePort = getattr(socket, "SO_REUSEPORT", None)
        if reusePort is not None:
            skt.setsockopt(socket.SOL_SOCKET, reusePort, 1)
        return skt


class ReusingConnector(tcp.Connector):
    """A C{tcp.Connector} whose socket sets C{SO_REUSEADDR} and
    C{SO_REUSEPORT} before it binds its local address."""

    def _makeTransport(self):
        return _ReusingClient(self.host, self.port, self.bindAddress, self, self.reactor)


class ProvingProtocol(EncryptedProtocol):
    """The channel of a punched connection: it tells its factory when the
    channel is up (the peer proved the key expected of it: the channel
    fails otherwise), or why the connection ended before."""

    def dataReceived(self, data):
        super().dataReceived(data)
        if self.session.established and not self._broken:
            self.factory.settle(self.wrapped)

    def connectionLost(self, reason):
        super().connectionLost(reason)
        if self._why is not None:
            reason = Failure(ChannelFailed(self._why))
        self.factory.settle(reason)


class _PunchFactory(ClientFactory):
    """The factory of one punch dial: its one connection's channel, and
    the Deferred that says how it went."""

    noisy = False

    def __init__(self, wrapped, channel, clock, opener, expected, timeout, peerLog,
                 done):
        self.wrapped = wrapped
        self.channel = channel
        self.clock = clock
        self.opener = opener
        self.expected = expected
        self.timeout = timeout
        self.peerLog = peerLog
        self.done = done
        self.connection = None

    def buildProtocol(self, addr):
        protocol = ProvingProtocol(self.wrapped, self.channel, self.opener, self.clock,
                                   self.timeout, self.peerLog, self.expected)
        protocol.factory = self
        self.connection = protocol
        return protocol

    def clientConnectionFailed(self, connector, reason):
        self.settle(reason)

    def settle(self, result):
        """Fire the dial's Deferred, once."""
        done, self.done = self.done, None
        if done is None:
            return
        if isinstance(result, Failure):
            done.errback(result)
        else:
            done.callback(result)


class PunchDialer:
    """
    Dials for punches on a reactor, every connection through the encrypted
    channel of the process's key.

    @cvar addressed: its hosts are IP addresses (it dials no name: a punch
        aims only at an address a third party saw,
        L{twisted_bazaar.reach.punch.witness}).
    """

    addressed = True

    def __init__(self, reactor, channel, peerLog, timeout=DIAL_TIMEOUT):
        """
        @param channel: the process's L{twisted_bazaar.channel.session.ChannelKey}.
        @param peerLog: the L{twisted_bazaar.base.logthrottle.PeerLog} the
            lines of failed channels go through.
        """
        self.reactor = reactor
        self.channel = channel
        self.peerLog = peerLog
        self.timeout = timeout

    def dial(self, local_port, host, port, protocol, opener, expected):
        """
        Connect protocol to host:port from ``local_port`` (any interface),
        through the channel: as its opener if ``opener``, else as its
        acceptor (both ends of a simultaneous open called C{connect}; one
        must open the channel), the peer to prove ``expected`` (its
        Ed25519 key, 32 raw bytes).

        @return: a Deferred firing with protocol once the channel is up,
            or failing with why the connection did not come up or was
            lost first (at once for a host that is no IP address: a name
            would be resolved at the dial, to whatever its owner says);
            cancelling it abandons the connection.
        """
        try:
            ipAddress(host)
        except ValueError:
            return defer.fail(ValueError(f"a punch dials only an IP address, not {host!r}"))

        def cancel(_):
            factory.done = None
            if factory.connection is not None:
                factory.connection.abortConnection()
            elif connector.state == "connecting":
                connector.stopConnecting()

        done = defer.Deferred(cancel)
        factory = _PunchFactory(protocol, self.channel, self.reactor, opener, expected,
                                self.timeout, self.peerLog, done)
        connector = ReusingConnector(host, port, factory, self.timeout, ("", local_port),
                                     self.reactor)
        connector.connect()
        return done
