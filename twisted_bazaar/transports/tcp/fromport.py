"""
The TCP dial from a chosen local port (L{PunchDialer}), which the TCP
transport makes for the option C{fromPort}
(L{twisted_bazaar.transports.tcp.transport.TcpTransport}): two nodes that
dial each other at once meet in one connection (a TCP simultaneous open,
RFC 5128 §3.4), and the encrypted channel on it must prove the key of the
peer the punch is with before this side seals anything.

Twisted's C{connectTCP} binds a client's socket without C{SO_REUSEADDR}
or C{SO_REUSEPORT}, and its connector is internal: the socket here is
made, given both options, bound and connected (without blocking) by this
module, watched for its connection through the reactor's public
L{IReactorFDSet}, and once connected handed to the reactor
(L{IReactorSocket.adoptStreamConnection}).  A punch's local port can so
be bound again at once by the next attempt (its last connection may
linger in TIME_WAIT).
"""

import errno
import socket

from twisted.internet import defer
from twisted.internet.error import ConnectError, TimeoutError, getConnectError
from twisted.internet.protocol import Factory
from twisted.python.failure import Failure

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.lan import ipAddress
from twisted_bazaar.net.encrypted import ChannelFailed, EncryptedProtocol

#: Seconds a punch's TCP connection may take to come up, and then its
#: channel's handshake.
DIAL_TIMEOUT = 5.0


def reusingSocket(family, local_port):
    """A non-blocking TCP socket of family that may share its local port
    (both options set before it binds), bound to ``local_port`` on any
    interface."""
    skt = socket.socket(family, socket.SOCK_STREAM)
    try:
        skt.setblocking(False)
        skt.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        reusePort = getattr(socket, "SO_REUSEPORT", None)
        if reusePort is not None:
            skt.setsockopt(socket.SOL_SOCKET, reusePort, 1)
        skt.bind(("::" if family == socket.AF_INET6 else "", local_port))
    except OSError:
        skt.close()
        raise
    return skt


class _Connecting:
    """
    A socket's connection under way, watched by the reactor as a writer
    (an C{IWriteDescriptor}): writable, it has connected or failed; its
    Deferred fires with the socket, or fails with why (timed out, by the
    reactor's clock, after ``timeout`` seconds).  Cancelling it closes the
    socket.
    """

    def __init__(self, reactor, skt, timeout):
        self.reactor = reactor
        self.socket = skt
        self.done = defer.Deferred(lambda _: self._end())
        self._timer = reactor.callLater(timeout, self._timedOut)
        reactor.addWriter(self)

    def fileno(self):
        return -1 if self.socket is None else self.socket.fileno()

    def logPrefix(self):
        return "PunchDial"

    def doWrite(self):
        skt = self.socket
        error = skt.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        self._end(keep=not error)
        if error:
            self.done.errback(getConnectError((error, errno.errorcode.get(error, ""))))
        else:
            self.done.callback(skt)

    def connectionLost(self, reason):
        if self.socket is not None:
            self._end()
            self.done.errback(ConnectError(string=reason.getErrorMessage()))

    def _timedOut(self):
        self._timer = None
        self._end()
        self.done.errback(TimeoutError(string="the punch's connection did not come up"))

    def _end(self, keep=False):
        """Stop watching; close the socket unless ``keep``."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self.socket is not None:
            self.reactor.removeWriter(self)
            if not keep:
                self.socket.close()
            self.socket = None


class ProvingProtocol(EncryptedProtocol):
    """The channel of a punched connection: it tells its factory when the
    channel is up (the peer proved the key expected of it: the channel
    fails otherwise), or why the connection ended before."""

    def dataReceived(self, data):
        super().dataReceived(data)
        if self.up:
            self.factory.settle(self.wrapped)

    def connectionLost(self, reason):
        super().connectionLost(reason)
        if self.failedWhy is not None:
            reason = Failure(ChannelFailed(self.failedWhy))
        self.factory.settle(reason)


class _PunchFactory(Factory):
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
            address = ipAddress(host)
        except ValueError:
            return defer.fail(ValueError(f"a punch dials only an IP address, not {host!r}"))
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        host = str(address)
        try:
            skt = reusingSocket(family, local_port)
            err = skt.connect_ex((host, port))
        except OSError as e:
            return defer.fail(ConnectError(string=f"{hostPort(host, port)} from port {local_port}: "
                                                  f"{e.strerror or e}"))
        if err not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
            skt.close()
            return defer.fail(getConnectError((err, errno.errorcode.get(err, ""))))
        connecting = _Connecting(self.reactor, skt, self.timeout)

        def cancel(_):
            factory.done = None
            connecting.done.cancel()
            if factory.connection is not None:
                factory.connection.abortConnection()

        done = defer.Deferred(cancel)
        factory = _PunchFactory(protocol, self.channel, self.reactor, opener, expected,
                                self.timeout, self.peerLog, done)

        def connected(skt):
            try:
                self.reactor.adoptStreamConnection(skt.fileno(), family, factory)
            finally:
                # The reactor holds a duplicate of the socket now.
                skt.close()

        connecting.done.addCallback(connected).addErrback(factory.settle)
        return done
