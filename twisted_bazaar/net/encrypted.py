"""
The encrypted channel on Twisted: a protocol that runs a
L{twisted_bazaar.channel.session.Session} on a TCP connection and gives the
protocol it wraps a transport of plaintext, as C{twisted.protocols.tls}
does for TLS.

A link, a tracker connection or a file transfer never reads a byte that
was not sealed by the peer whose key (if it has one) the channel proved,
L{EncryptedProtocol.peerKey}, and writes nothing that is not sealed.  A peer that does not finish the handshake
within the timeout, or breaks the channel, is dropped with one log line.
"""

from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import (
    IConsumer,
    IHandshakeListener,
    IPushProducer,
    ISSLTransport,
    IStreamClientEndpoint,
    IStreamServerEndpoint,
    ITCPTransport,
    ITransport,
)
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure
from zope.interface import implementer

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.forwarding import declaredBy, forward
from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.net.capabilities import (
    IChannelProtocol,
    IHeldWrites,
    ISecureTransport,
    conformThrough,
)
from twisted_bazaar.channel.session import ChannelError, Session, UpgradeRequired
from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.base.lan import peerHost
from twisted_bazaar.net.sendnow import sendNow
from twisted_bazaar.net.tlsexpiry import expirySaid

#: Seconds the channel's handshake may take, by default (the links'
#: own --handshake-timeout, which covers the rest of their handshake).
HANDSHAKE_TIMEOUT = 10.0
#: Seconds a connection closed before its channel is up may still take to
#: finish the handshake, so that what was written (a refusal) is sent.
CLOSE_GRACE = 1.0


#: Why an opener's connection ended when its peer closed it before the
#: channel was up: what answered was stopping, would not take this
#: connection (a peer that refuses one says why once it is up), or does not
#: speak the channel.
CLOSED_IN_HANDSHAKE = ("the peer closed the connection during the channel's "
                       "handshake: it was stopping, would not take this connection, "
                       "or does not speak the encrypted channel")

#: The same, under TLS whose own handshake never ended: no TLS answered.
CLOSED_BEFORE_TLS = ("the peer closed the connection before the TLS handshake ended: "
                     "it would not take this connection, or its port speaks no TLS "
                     "(another transport's port, such as a transport plugin's, closes "
                     "so: it is reached by that transport's address, not tls:)")


def _noTlsAnswered(transport):
    """Whether transport is TLS whose handshake got no certificate from the
    peer: what a port that speaks no TLS and drops what it cannot read (a
    transport plugin's port) leaves, where a TLS port that closed after its
    handshake (a tracker stopping) sent one."""
    return (ISSLTransport.providedBy(transport)
            and transport.getPeerCertificate() is None)


class ChannelFailed(ConnectionLost):
    """The channel failed (its handshake, or a message): the reason."""

    #: Whether trying again cannot cure it (L{KeyRefused}).
    lasting = False

    def __str__(self):
        return self.args[0]


class KeyRefused(ChannelFailed):
    """The peer did not prove the key pinned for it: trying again will not
    cure that (an operator's mistake, or an impostor at its address)."""

    lasting = True


#: Why a TLS certificate without a subjectAltName is refused: Twisted
#: checks a host's name only against that extension, and, finding none,
#: logs a traceback and takes the certificate unchecked.
NO_SUBJECT_ALT_NAME = (
    "its TLS certificate names no host (no subjectAltName), so its name or "
    "address cannot be checked: make the certificate with one (openssl req "
    "... -addext subjectAltName=DNS:HOST, or IP:ADDRESS)")


def twistedsNoHostTraceback(event):
    """Whether a log event is Twisted's own traceback for a peer's
    certificate that names no host (service_identity's CertificateError,
    logged critical from inside its verify callback): an opener then
    refuses that certificate saying why in one line
    (L{NO_SUBJECT_ALT_NAME}), so a log leaves the traceback out."""
    failure = event.get("log_failure")
    return (event.get("log_namespace") == "twisted.internet._sslverify"
            and failure is not None
            and failure.check("service_identity.exceptions.CertificateError") is not None
            and "subjectAltName" in str(failure.value))


def namesNoHost(certificate):
    """Whether a peer's certificate (pyOpenSSL's X509) has no
    subjectAltName extension."""
    # cryptography comes with pyOpenSSL (the tls extra): imported only
    # once a TLS handshake is done.
    from cryptography import x509

    try:
        certificate.to_cryptography().extensions.get_extension_for_class(
            x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return True
    return False


@implementer(ITransport, ISecureTransport, IHeldWrites, IHandshakeListener)
class EncryptedProtocol(Protocol):
    """
    One connection's channel, and the transport of the protocol it wraps.

    The wrapped protocol is connected at once, when TCP connects, so that
    whatever it counts a connection against (slots, an address group's
    handshakes in progress) counts this one from its first moment, and its
    own handshake timeout covers the channel's.  What it writes before the
    channel is up waits, and goes out sealed once it is; what it reads
    comes only from the channel.  Everything of the transport interface
    that the channel does not change (C{getPeer}, C{getHost}, producers)
    is the TCP transport's, and so is every capability (an interface of
    L{twisted_bazaar.net.capabilities}, or a relayed circuit's) it does
    not provide itself (C{__conform__}).

    @ivar wrapped: the protocol that reads and writes plaintext.
    @ivar session: the channel's L{Session}.
    """

    log = Logger()

    def __init__(self, wrapped, key, initiator, clock, timeout=HANDSHAKE_TIMEOUT,
                 peerLog=None, expected=None, pin=None):
        """
        @param peerLog: the L{PeerLog} its lines go through (so that a peer
            can make only so many of them); straight to the log if None.
        @param expected: the key the peer must prove (see L{Session}).
        @param pin: in place of C{expected}, a
            L{twisted_bazaar.net.pin.KeyPin}: the key it holds now is the
            one the peer must prove, its words say why another is refused,
            and it is told the key proven once the handshake is done.
        """
        self.wrapped = wrapped
        self.pin = pin
        if pin is not None:
            self.session = Session(initiator, key, expected=pin.key,
                                   refusal=pin.refused)
        else:
            self.session = Session(initiator, key, expected=expected)
        self.clock = clock
        self.timeout = timeout
        self.peerLog = peerLog
        self._timer = None
        self._early = []
        self._closeWhenUp = False
        self._broken = False
        self._why = None
        #: The failure a lost connection ends with once it failed
        #: (L{ChannelFailed}, or L{KeyRefused}).
        self._failed = ChannelFailed
        #: Whether its handshake timed out: nothing (or too little) came
        #: from the peer within C{timeout} seconds.
        self.timedOut = False

    def __getattr__(self, name):
        # Reached only for what this class does not define: the rest of
        # the transport's interface (L{_FORWARDED}), and nothing else: not
        # a dunder (zope.interface asks an instance for __provides__,
        # which must not be the transport's), not a capability the TCP
        # transport has (its socket's handle, read through an interface).
        return forward(self, self.__dict__.get("transport"), name, _FORWARDED)

    @property
    def disconnecting(self):
        """Whether the TCP connection under the channel is closing (what
        a reactor's transport says; a file's seller reads it)."""
        return self.transport.disconnecting

    def __conform__(self, interface):
        return conformThrough(self, self.__dict__.get("transport"), interface)

    @property
    def up(self):
        """Whether the channel is established and neither side broke it
        (nor was the connection under it lost)."""
        return self.session.established and not self._broken

    @property
    def failedWhy(self):
        """Why this side failed the channel (what it told the peer), or
        None: a connection lost after that ends with L{ChannelFailed} of
        it."""
        return self._why

    @property
    def peerKey(self):
        """The peer's Ed25519 key (32 raw bytes) the channel proved, or
        None (a keyless peer, or a handshake not done)."""
        return self.session.peerKey

    @property
    def handshakeHash(self):
        """The channel's handshake hash (32 bytes), unique to this
        connection, or None before the handshake is done."""
        return self.session.handshakeHash

    def getHandle(self):
        """Not a socket: bytes sent around this transport would go out
        unencrypted (see L{twisted_bazaar.files.server.socketOf})."""
        return self.session

    def logPrefix(self):
        """The carried protocol's (a link's, a transfer's): Twisted names a
        connection's log lines by it (``[Link,client]``), and what a line
        is about is what the channel carries, not the channel (issue 96:
        lines came as ``[Encrypted,client]``)."""
        wrapped = self.wrapped
        prefix = getattr(wrapped, "logPrefix", None)
        return prefix() if prefix is not None else wrapped.__class__.__name__

    # -- the TCP side ---------------------------------------------------------

    def connectionMade(self):
        self._timer = self.clock.callLater(self.timeout, self._tooSlow)
        first = self.session.start()
        if first:
            self.transport.write(first)
        self.wrapped.makeConnection(self)

    def handshakeCompleted(self):
        """A TLS handshake under the channel is done (a tls: tracker): an
        opener refuses a certificate that names no host, whose name
        Twisted did not check (L{NO_SUBJECT_ALT_NAME})."""
        certificate = self.transport.getPeerCertificate()
        if self.session.initiator and certificate is not None and namesNoHost(
                certificate):
            self._fail(NO_SUBJECT_ALT_NAME)

    def dataReceived(self, data):
        if self._broken:
            return
        session = self.session
        up = session.established
        try:
            reply, plain = session.receive(data)
        except UpgradeRequired as e:
            peer = self.transport.getPeer()
            self._fail(e.at(peerHost(self.transport) or "HOST", getattr(peer, "port", "PORT")))
            return
        except ChannelError as e:
            if e.lasting:
                self._failed = KeyRefused
            self._fail(e.reason, e.reply)
            return
        if reply:
            self.transport.write(reply)
        if not up and session.established:
            self._cancelTimer()
            if self.pin is not None:
                self.pin.proved(session.peerKey)
            early, self._early = self._early, None
            if early:
                self.transport.write(session.seal(b"".join(early)))
            if self._closeWhenUp:
                self.transport.loseConnection()
            else:
                if IChannelProtocol.providedBy(self.wrapped):
                    self.wrapped.channelUp()
        if plain:
            self.wrapped.dataReceived(plain)

    def connectionLost(self, reason=Failure(ConnectionDone())):
        # Neither side broke the channel, and it never came up: the peer
        # closed the connection during the handshake.
        closedInHandshake = not self._broken and not self.session.established
        self._broken = True
        self._cancelTimer()
        if self._why is not None:
            # What the layer above tells (a lost tracker, a failed
            # question) is why the channel failed, not how TCP ended.
            reason = Failure(self._failed(self._why))
        elif (closedInHandshake and self.session.initiator
              and reason.check(ConnectionDone, ConnectionLost)):
            # A TCP close; a reason of its own (a TLS certificate refused,
            # under the channel) is kept as it is.
            reason = Failure(ChannelFailed(
                CLOSED_BEFORE_TLS if _noTlsAnswered(self.transport) else CLOSED_IN_HANDSHAKE))
        else:
            reason = expirySaid(reason, self.transport)
        self.wrapped.connectionLost(reason)

    def _tooSlow(self):
        self._timer = None
        self.timedOut = True
        self._fail("no channel handshake within {:g} s".format(self.timeout))

    def _fail(self, reason, reply=b""):
        self._broken = True
        self._why = reason
        self._cancelTimer()
        if self.pin is None:
            self._say(reason)
        # else a pinned peer's connection (a tracker's, dialled again and
        # again): the protocol it carries is told why (L{ChannelFailed}),
        # and its owner says it, once an attempt (a node's tracker client,
        # in its retry line; a command, in its error).
        if reply:
            self.transport.write(reply)
            self.transport.loseConnection()
        else:
            self.transport.abortConnection()

    def _say(self, reason):
        """The channel's one line of why it failed."""
        peer = self.transport.getPeer()
        host = peerHost(self.transport) or "?"
        port = getattr(peer, "port", "?")
        fields = dict(host=host, port=port, where=hostPort(host, port), reason=reason)
        line = "closing connection with {where}: {reason}"
        if self.peerLog is None:
            self.log.info(line, **fields)
        else:
            self.peerLog.emit(self.log, LogLevel.info, addressGroup(host), line, **fields)

    def _cancelTimer(self):
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()

    # -- the wrapped protocol's transport -------------------------------------

    def write(self, data):
        if self._broken:
            return
        if self._early is not None:
            self._early.append(bytes(data))
        else:
            sendNow(self.transport, self.session.seal(data))

    def writeLater(self, data):
        """As L{write}, but left to the transport's buffer, never sent at
        once: for a link in the middle of a burst, whose next frames
        follow on this turn (L{twisted_bazaar.net.link.Link.flushWrites})."""
        if self._broken:
            return
        if self._early is not None:
            self._early.append(bytes(data))
        else:
            self.transport.write(self.session.seal(data))

    def writeSequence(self, data):
        self.write(b"".join(data))

    def switchCipher(self, name, last=b""):
        """
        Seal and open the transport messages after the last one opened,
        and after C{last} (written first, sealed with the old cipher),
        with the cipher function C{name} (see L{Session.switchCipher}).

        @return: True if switched; False if the peer sent on after the
            switch's message, or the switch is not allowed: the
            connection is then dropped with one log line, C{last} unsent.
        """
        if self._broken:
            return False
        try:
            sealed = self.session.switchCipher(name, last)
        except ChannelError as e:
            self._fail(e.reason)
            return False
        if sealed:
            self.transport.write(sealed)
        return True

    def loseConnection(self):
        """Close once what was written is sent: a close before the channel
        is up waits for it (what was written then, a refusal say, reaches
        the peer) for at most L{CLOSE_GRACE} seconds."""
        if self._broken:
            return
        if self.session.established:
            self.transport.loseConnection()
            return
        if not self._closeWhenUp:
            self._closeWhenUp = True
            self._cancelTimer()
            self._timer = self.clock.callLater(
                min(CLOSE_GRACE, self.timeout), self._fail,
                "closed before the channel's handshake was done")

    def abortConnection(self):
        self._broken = True
        self._cancelTimer()
        self.transport.abortConnection()


#: What the channel's transport passes on to the TCP transport under it:
#: the rest of a TCP transport's interface and of a producer's and a
#: consumer's (C{registerProducer}), as Twisted declares them.
_FORWARDED = declaredBy(ITCPTransport, IConsumer, IPushProducer)


class EncryptedFactory(Factory):
    """
    A factory whose connections run the channel before the wrapped
    factory's protocol sees them (the acceptor's side, or every
    connection of a client factory).
    """

    noisy = False

    def __init__(self, wrappedFactory, key, clock, initiator=False,
                 timeout=HANDSHAKE_TIMEOUT, peerLog=None, expected=None, pin=None):
        self.wrappedFactory = wrappedFactory
        self.key = key
        self.clock = clock
        self.initiator = initiator
        self.timeout = timeout
        self.peerLog = peerLog
        self.expected = expected
        self.pin = pin

    def logPrefix(self):
        """The wrapped factory's: log lines name what listens."""
        wrapped = self.wrappedFactory
        prefix = getattr(wrapped, "logPrefix", None)
        return prefix() if prefix is not None else wrapped.__class__.__name__

    def doStart(self):
        self.wrappedFactory.doStart()

    def doStop(self):
        self.wrappedFactory.doStop()

    def buildProtocol(self, addr):
        wrapped = self.wrappedFactory.buildProtocol(addr)
        if wrapped is None:
            return None
        protocol = EncryptedProtocol(wrapped, self.key, self.initiator, self.clock,
                                     self.timeout, self.peerLog, self.expected, self.pin)
        protocol.factory = self
        return protocol


class _EncryptedEndpoint:
    """What both ends' endpoints hold: the endpoint they wrap, the
    process's L{ChannelKey}, the clock of the handshake timeout, and the
    L{PeerLog} of the connections' failures (shared with the process's
    other endpoints if given; one of its own otherwise); and, for a
    client, the key its peer must prove (C{expected}: a seller's, or a
    tracker pinned by a user's --tracker-key) or what holds it (C{pin}, a
    L{twisted_bazaar.net.pin.KeyPin}: the node's tracker,
    known from its first contact on)."""

    def __init__(self, endpoint, key, clock, timeout=HANDSHAKE_TIMEOUT, peerLog=None,
                 expected=None, pin=None):
        self.endpoint = endpoint
        self.key = key
        self.clock = clock
        self.timeout = timeout
        self.peerLog = peerLog if peerLog is not None else PeerLog(clock)
        self.expected = expected
        self.pin = pin

    def _wrapping(self, factory, initiator):
        return EncryptedFactory(factory, self.key, self.clock, initiator, self.timeout,
                                self.peerLog, self.expected if initiator else None,
                                self.pin if initiator else None)


@implementer(IStreamClientEndpoint)
class EncryptedClientEndpoint(_EncryptedEndpoint):
    """
    An endpoint whose connections run the channel, as the opener, under
    the protocol a factory builds (as C{wrapClientTLS} does for TLS).  The
    Deferred of L{connect} fires with that protocol, when TCP connects.
    """

    def connect(self, factory):
        d = self.endpoint.connect(self._wrapping(factory, True))
        return d.addCallback(lambda protocol: protocol.wrapped)


@implementer(IStreamServerEndpoint)
class EncryptedServerEndpoint(_EncryptedEndpoint):
    """An endpoint whose accepted connections run the channel, as the
    acceptor, under the protocol a factory builds."""

    def listen(self, factory):
        return self.endpoint.listen(self._wrapping(factory, False))
