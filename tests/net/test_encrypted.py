"""
Tests for L{twisted_bazaar.net.encrypted}: the channel as a Twisted
protocol wrapper, over in-memory connections (twisted.test.iosim) and a
fake clock.
"""

import socket

from twisted.internet.address import IPv4Address
from twisted.internet import tcp
from twisted.internet.interfaces import IReadWriteDescriptor, ISSLTransport, ISystemHandle
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.python.failure import Failure
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.test.iosim import connectedServerAndClient
from twisted.logger import Logger, capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import alsoProvides, implementer
from zope.interface.verify import verifyClass

from twisted_bazaar.base.logthrottle import PEER_BURST, PeerLog

from twisted_bazaar.files.server import socketOf
from twisted_bazaar.identity.keys import Identity, decode
from twisted_bazaar.channel.session import REFUSAL, ChannelKey
from twisted_bazaar.net.capabilities import IBulkTransport, IChannelProtocol
from twisted_bazaar.net.pin import KeyPin
from twisted_bazaar.net.reconnect import tlsReasons
from twisted_bazaar.net.encrypted import (
    CLOSE_GRACE,
    CLOSED_BEFORE_TLS,
    CLOSED_IN_HANDSHAKE,
    NO_SUBJECT_ALT_NAME,
    ChannelFailed,
    KeyRefused,
    EncryptedFactory,
    EncryptedProtocol,
    twistedsNoHostTraceback,
)


class Recorder(Protocol):
    """Keeps what it reads; writes what it is told to when connected."""

    def __init__(self, greeting=b"", refuse=False):
        self.greeting = greeting
        self.refuse = refuse
        self.received = b""
        self.lost = None

    def connectionMade(self):
        if self.greeting:
            self.transport.write(self.greeting)
        if self.refuse:
            self.transport.loseConnection()

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        self.lost = reason


def encryptedPair(clock, server_identity=None, client_identity=None, **server_kwargs):
    server_key = ChannelKey.generate(server_identity)
    client_key = ChannelKey.generate(client_identity)
    servers = []

    def serverProtocol():
        factory = Factory.forProtocol(lambda: Recorder(**server_kwargs))
        wrapper = EncryptedFactory(factory, server_key, clock).buildProtocol(None)
        servers.append(wrapper)
        return wrapper

    def clientProtocol():
        return EncryptedProtocol(Recorder(greeting=b"3:hi!,"), client_key, True, clock)

    client, server, pump = connectedServerAndClient(serverProtocol, clientProtocol)
    return client, server, pump


def certificate(names):
    """A self-signed certificate (pyOpenSSL's X509) for 127.0.0.1, with a
    subjectAltName naming it, or (names False) with its common name alone."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from OpenSSL import crypto

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(key.public_key()).serial_number(1)
               .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return crypto.X509.from_cryptography(builder.sign(key, hashes.SHA256()))


def sslverifyEvents(*errors):
    """The events Twisted's TLS verify callback logs for each error
    raised in it (as C{twisted.internet._sslverify} logs them: critical,
    with the failure)."""
    events = []
    log = Logger(namespace="twisted.internet._sslverify", observer=events.append)
    for error in errors:
        log.failure("while verifying certificate", Failure(error))
    return events


def noHostError():
    """service_identity's error for a certificate without subjectAltName."""
    from service_identity.exceptions import CertificateError

    return CertificateError("Certificate does not contain any `subjectAltName`s.")


class NoHostTracebackTests(SynchronousTestCase):
    def test_twistedsTracebackForNoHost(self):
        """Twisted's own traceback for a certificate naming no host is
        told apart (a log leaves it out: the opener's line says it, issue
        96), and not any other failure it logs there, nor one elsewhere."""
        from service_identity.exceptions import CertificateError

        noHost, other = sslverifyEvents(noHostError(), CertificateError("other"))
        self.assertTrue(twistedsNoHostTraceback(noHost))
        self.assertFalse(twistedsNoHostTraceback(other))
        self.assertFalse(twistedsNoHostTraceback(dict(noHost, log_namespace="elsewhere")))
        self.assertFalse(twistedsNoHostTraceback({"log_namespace": noHost["log_namespace"]}))


class WrapperTests(SynchronousTestCase):

    def test_roundTrip(self):
        """What the client wrote before the channel was up reaches the
        server's protocol once it is; each side knows the other's key."""
        clock = Clock()
        alice, bob = Identity.generate(), Identity.generate()
        client, server, pump = encryptedPair(clock, bob, alice, greeting=b"2:ok,")
        pump.flush()
        self.assertEqual(server.wrapped.received, b"3:hi!,")
        self.assertEqual(client.wrapped.received, b"2:ok,")
        self.assertEqual(server.peerKey, decode(alice.key))
        self.assertEqual(client.peerKey, decode(bob.key))
        client.wrapped.transport.write(b"x" * 70000)
        pump.flush()
        self.assertEqual(server.wrapped.received[6:], b"x" * 70000)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_theWrappedProtocolIsToldTheChannelIsUp(self):
        """Once, when the handshake is done, with its hash to sign: what
        it writes then (an operator's thisisme, proving the node's key on
        this channel) reaches the other side after what was written
        before."""
        clock = Clock()
        told = []

        @implementer(IChannelProtocol)
        class Operator(Recorder):
            def channelUp(self):
                told.append(self.transport.handshakeHash)
                self.transport.write(b"5:proof,")

        def serverProtocol():
            factory = Factory.forProtocol(Recorder)
            return EncryptedFactory(factory, ChannelKey.generate(), clock).buildProtocol(None)

        def clientProtocol():
            return EncryptedProtocol(Operator(greeting=b"3:hi!,"), ChannelKey.generate(),
                                     True, clock)

        client, server, pump = connectedServerAndClient(serverProtocol, clientProtocol)
        pump.flush()
        self.assertEqual(told, [client.handshakeHash])
        self.assertEqual(len(told[0]), 32)
        self.assertEqual(server.wrapped.received, b"3:hi!,5:proof,")

    def test_nothingInClear(self):
        """No byte the protocols wrote crosses the wire as written."""
        clock = Clock()
        client, server, pump = encryptedPair(clock, greeting=b"6:secret,")
        wire = []
        original = pump.clientIO.write

        def tap(data):
            wire.append(data)
            return original(data)
        pump.clientIO.write = tap
        pump.flush()
        client.wrapped.transport.write(b"7:bazaars,")
        pump.flush()
        self.assertNotIn(b"bazaars", b"".join(wire))
        self.assertEqual(server.wrapped.received, b"3:hi!,7:bazaars,")

    def test_refusalReachesThePeer(self):
        """A protocol that writes a refusal and closes at once: the channel
        finishes its handshake, sends the refusal sealed, then closes."""
        clock = Clock()
        client, server, pump = encryptedPair(clock, greeting=b"4:full,", refuse=True)
        pump.flush()
        self.assertEqual(client.wrapped.received, b"4:full,")
        self.assertTrue(server.transport.disconnecting)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_upAndWhyItFailed(self):
        """What a channel shows of its state (a punched connection's
        proving reads it): up once established, until it is lost; why this
        side failed it, once it did, and whether that was its handshake's
        timeout (a QUIC dial over a punched path takes it for silence)."""
        clock = Clock()
        client, server, pump = encryptedPair(clock)
        pump.flush()
        self.assertTrue(client.up)
        self.assertIsNone(client.failedWhy)
        client.connectionLost(Failure(ConnectionDone()))
        self.assertFalse(client.up)
        self.assertFalse(client.timedOut)
        protocol = EncryptedProtocol(Recorder(), ChannelKey.generate(), False, clock,
                                     timeout=5.0)
        protocol.makeConnection(StringTransport())
        self.assertFalse(protocol.up)
        clock.advance(4.9)
        self.assertFalse(protocol.timedOut)
        clock.advance(0.1)
        self.assertFalse(protocol.up)
        self.assertEqual(protocol.failedWhy, "no channel handshake within 5 s")
        self.assertTrue(protocol.timedOut)

    def test_logPrefixIsTheCarriedProtocols(self):
        """Twisted names a connection's log lines by its protocol's
        logPrefix: the channel gives the carried protocol's (issue 96: lines
        came as ``[Encrypted,client]``), or its class's name."""

        class Named(Recorder):
            def logPrefix(self):
                return "Link"

        clock = Clock()
        named = EncryptedProtocol(Named(), ChannelKey.generate(), True, clock)
        self.assertEqual(named.logPrefix(), "Link")
        plain = EncryptedProtocol(Recorder(), ChannelKey.generate(), True, clock)
        self.assertEqual(plain.logPrefix(), "Recorder")

    def test_plaintextPeerRefused(self):
        """A peer that speaks netstrings gets the channel's refusal, in
        plaintext, and the connection closes; the protocol reads nothing."""
        clock = Clock()
        wrapped = Recorder()
        protocol = EncryptedProtocol(wrapped, ChannelKey.generate(), False, clock)
        transport = StringTransport()
        protocol.makeConnection(transport)
        protocol.dataReceived(b'20:{"type":"thisisme"},')
        self.assertEqual(transport.value(), REFUSAL)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(wrapped.received, b"")

    def test_stalledHandshake(self):
        """A peer that never finishes the handshake is dropped after the
        timeout; a protocol that closes before the channel is up waits at
        most CLOSE_GRACE."""
        clock = Clock()
        protocol = EncryptedProtocol(Recorder(), ChannelKey.generate(), False, clock,
                                     timeout=5.0)
        transport = StringTransport()
        protocol.makeConnection(transport)
        clock.advance(4.9)
        self.assertFalse(transport.disconnecting)
        clock.advance(0.2)
        self.assertTrue(transport.disconnecting)
        refusing = EncryptedProtocol(Recorder(refuse=True), ChannelKey.generate(), False,
                                     clock)
        transport = StringTransport()
        refusing.makeConnection(transport)
        clock.advance(CLOSE_GRACE)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_peerClosesDuringTheHandshake(self):
        """An opener whose peer closes before the channel is up (it does
        not speak the channel) is told so, not that the connection closed
        cleanly; its own protocol closing is no such reason."""
        clock = Clock()
        wrapped = Recorder()
        protocol = EncryptedProtocol(wrapped, ChannelKey.generate(), True, clock)
        protocol.makeConnection(StringTransport())
        protocol.connectionLost(Failure(ConnectionDone()))
        wrapped.lost.trap(ChannelFailed)
        self.assertEqual(str(wrapped.lost.value), CLOSED_IN_HANDSHAKE)
        # A peer stopping closes so too: said first, not "does not speak
        # the encrypted channel" alone, which a stopping super-peer was.
        self.assertIn("handshake: it was stopping, would not take this connection, "
                      "or does not speak", CLOSED_IN_HANDSHAKE)
        self.assertEqual(clock.getDelayedCalls(), [])
        wrapped = Recorder()
        protocol = EncryptedProtocol(wrapped, ChannelKey.generate(), True, clock)
        protocol.makeConnection(StringTransport())
        protocol.abortConnection()
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertIsNone(wrapped.lost.check(ChannelFailed))

    def test_noTlsAnswered(self):
        """Under TLS, a peer that closed before its TLS handshake ended
        (no certificate came: a WebSocket port reached with tls: drops the
        ClientHello) is said to speak no TLS, not to have refused the
        channel; one that sent its certificate and then closed (a tracker
        stopping) is said as before."""
        for certificate, said in ((None, CLOSED_BEFORE_TLS), (object(), CLOSED_IN_HANDSHAKE)):
            wrapped = Recorder()
            protocol = EncryptedProtocol(wrapped, ChannelKey.generate(), True, Clock())
            transport = StringTransport()
            alsoProvides(transport, ISSLTransport)
            transport.getPeerCertificate = lambda certificate=certificate: certificate
            protocol.makeConnection(transport)
            protocol.connectionLost(Failure(ConnectionLost()))
            wrapped.lost.trap(ChannelFailed)
            self.assertEqual(str(wrapped.lost.value), said)
        self.assertIn("it is reached by that transport's address, not tls:)",
                      CLOSED_BEFORE_TLS)

    def test_anUpgradeRequiredNamesTheAddressDialled(self):
        """An opener answered HTTP 426 says the answer's reason phrase,
        HOST:PORT in it naming the address it dialled (issue 96: a
        WebSocket port's answer)."""
        wrapped = Recorder()
        protocol = EncryptedProtocol(wrapped, ChannelKey.generate(), True, Clock())
        transport = StringTransport(peerAddress=IPv4Address("TCP", "10.0.0.1", 8080))
        protocol.makeConnection(transport)
        protocol.dataReceived(b"HTTP/1.1 426 reached at x:HOST:PORT\r\n\r\n")
        self.assertTrue(transport.disconnecting)
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(str(wrapped.lost.value), "the peer answered in HTTP, not the "
                         "encrypted channel: 426 reached at x:10.0.0.1:8080")

    def test_aReasonOfItsOwnIsKept(self):
        """A connection lost during the handshake for a reason other than
        a TCP close (TLS refusing the peer's certificate, under the
        channel) is told that reason."""
        wrapped = Recorder()
        protocol = EncryptedProtocol(wrapped, ChannelKey.generate(), True, Clock())
        protocol.makeConnection(StringTransport())
        protocol.connectionLost(Failure(ValueError("certificate verify failed")))
        self.assertEqual(str(wrapped.lost.value), "certificate verify failed")

    def test_anExpiredCertificateIsSaidExpired(self):
        """A TLS handshake refused under the channel for an expired
        certificate (OpenSSL says only "certificate verify failed") is
        told with when the certificate the peer sent expired."""
        from OpenSSL import SSL

        class Expired:
            def has_expired(self):
                return True

            def get_notAfter(self):
                return b"20261129150000Z"

        class Handle:
            def get_peer_cert_chain(self):
                return [Expired()]

        transport = StringTransport()
        transport.getHandle = Handle
        wrapped = Recorder()
        protocol = EncryptedProtocol(wrapped, ChannelKey.generate(), True, Clock())
        protocol.makeConnection(transport)
        protocol.connectionLost(Failure(SSL.Error(
            [("SSL routines", "", "certificate verify failed")])))
        self.assertIsInstance(wrapped.lost.value, SSL.Error)
        self.assertEqual(tlsReasons(wrapped.lost.value), "certificate verify failed; "
                         "its certificate expired on 2026-11-29 15:00:00 UTC")

    def test_aLostTCPTransportIsNotAskedForItsHandle(self):
        """A channel lost after a plain TCP close, whose transport has no
        handle any more (Twisted's C{tcp.Client} deletes its socket before
        C{connectionLost}, so C{getHandle} raises), tells the layer above
        that it was lost.  The expiry check asked for the handle first,
        raised, and the layer above never heard: a buyer sent SIGTERM after
        its download ran on for good (callcount transfer)."""

        class Closed(StringTransport):
            def getHandle(self):
                raise AttributeError("'Client' object has no attribute 'socket'")

        wrapped = Recorder()
        protocol = EncryptedProtocol(wrapped, ChannelKey.generate(), False, Clock())
        protocol.makeConnection(Closed())
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertIsInstance(wrapped.lost.value, ConnectionDone)

    def test_aCertificateNamingNoHostIsRefused(self):
        """An opener over TLS (a tls: tracker) whose peer's certificate has
        no subjectAltName refuses it, saying why: Twisted checks a name
        only against that extension, and finding none it printed a
        traceback and took the certificate unchecked (new user: a
        certificate made with openssl req -subj /CN=HOST); one with the
        extension goes on, as does a connection without TLS."""
        for names, refused in ((False, True), (True, False), (None, False)):
            wrapped = Recorder()
            protocol = EncryptedProtocol(wrapped, ChannelKey.generate(), True, Clock())
            transport = StringTransport()
            transport.getPeerCertificate = lambda: (
                None if names is None else certificate(names))
            protocol.makeConnection(transport)
            protocol.handshakeCompleted()
            self.assertEqual(transport.disconnecting, refused, names)
            if refused:
                protocol.connectionLost(Failure(ConnectionDone()))
                self.assertEqual(str(wrapped.lost.value), NO_SUBJECT_ALT_NAME)
                self.assertIn("no subjectAltName", NO_SUBJECT_ALT_NAME)

    def test_bulkSizesAreTheSockets(self):
        """What a bulk reader or writer sets as its transport's read and
        send sizes is the TCP transport's (IBulkTransport answered by the
        one under the channel); a transport without them has none through
        the channel either."""
        protocol = EncryptedProtocol(Recorder(), ChannelKey.generate(), True, Clock())
        transport = StringTransport()
        transport.bufferSize, transport.SEND_LIMIT = 65536, 128 * 1024
        alsoProvides(transport, IBulkTransport)
        protocol.makeConnection(transport)
        self.assertIs(IBulkTransport(protocol), transport)
        bare = EncryptedProtocol(Recorder(), ChannelKey.generate(), True, Clock())
        bare.makeConnection(StringTransport())
        self.assertIsNone(IBulkTransport(bare, None))

    def test_aTCPTransportIsBulk(self):
        """Twisted's TCP transport is declared to have both sizes."""
        verifyClass(IBulkTransport, tcp.Connection)
        self.assertTrue(IBulkTransport.implementedBy(tcp.Server))

    def test_noSendfile(self):
        """Bytes may never go around the channel (sendfile), though the
        TCP transport under it would allow it."""

        @implementer(ISystemHandle, IReadWriteDescriptor)
        class SocketTransport(StringTransport):
            def __init__(self, sock):
                super().__init__()
                self.sock = sock

            def getHandle(self):
                return self.sock

        with socket.socket() as sock:
            transport = SocketTransport(sock)
            self.assertIs(socketOf(transport), sock)
            protocol = EncryptedProtocol(Recorder(), ChannelKey.generate(), True, Clock())
            protocol.makeConnection(transport)
            self.assertIsNone(socketOf(protocol))


class PinnedKeyTests(SynchronousTestCase):

    def test_anotherKeyIsWhyTheConnectionIsLost(self):
        """A client pinned to another key than the server proves: the
        connection closes, and its protocol is told why (not how TCP
        ended), having read nothing and sent nothing in clear."""
        clock = Clock()
        server_key = ChannelKey.generate(Identity.generate())
        pinned = Identity.generate()
        factory = Factory.forProtocol(lambda: Recorder(greeting=b"2:ok,"))
        servers = []

        def serverProtocol():
            wrapper = EncryptedFactory(factory, server_key, clock).buildProtocol(None)
            servers.append(wrapper)
            return wrapper

        def clientProtocol():
            return EncryptedProtocol(Recorder(greeting=b"3:hi!,"), ChannelKey.generate(),
                                     True, clock, expected=decode(pinned.key))

        with capturedLogs() as events:
            client, server, pump = connectedServerAndClient(serverProtocol,
                                                            clientProtocol)
            pump.flush()
        self.assertEqual(client.wrapped.received, b"")
        self.assertEqual(server.wrapped.received, b"")
        self.assertIn(f"not the pinned {pinned.key}",
                      client.wrapped.lost.getErrorMessage())
        self.assertTrue(any(f"not the pinned {pinned.key}" in formatEvent(event)
                            for event in events))


class KnownKeyTests(SynchronousTestCase):
    """
    A client whose peer's key is held by a L{KeyPin} (a node's tracker):
    the first key proven is taken and kept; from then on, a connection to
    a peer that proves another is refused before the client sends anything.
    """

    def connect(self, pin, server_identity):
        clock = Clock()
        server_key = ChannelKey.generate(server_identity)
        factory = Factory.forProtocol(lambda: Recorder(greeting=b"2:ok,"))

        def serverProtocol():
            return EncryptedFactory(factory, server_key, clock).buildProtocol(None)

        def clientProtocol():
            return EncryptedFactory(Factory.forProtocol(
                lambda: Recorder(greeting=b"3:hi!,")), ChannelKey.generate(), clock,
                initiator=True, pin=pin).buildProtocol(None)

        with capturedLogs() as events:
            client, server, pump = connectedServerAndClient(serverProtocol,
                                                            clientProtocol)
            pump.flush()
        return client, server, [formatEvent(event) for event in events]

    def test_firstContactRemembered(self):
        tracker = Identity.generate()
        kept = []
        pin = KeyPin("the tracker", remember=kept.append, where="DIR/known_tracker")
        client, server, lines = self.connect(pin, tracker)
        self.assertEqual(server.wrapped.received, b"3:hi!,")
        self.assertEqual(pin.key, decode(tracker.key))
        self.assertEqual(kept, [decode(tracker.key)])
        self.assertIn(f"the tracker's key is {tracker.key}, from its first contact; "
                      "another key there is refused from now on (kept in "
                      "DIR/known_tracker)", lines)
        # The same key again: taken, nothing more kept.
        client, server, lines = self.connect(pin, tracker)
        self.assertEqual(server.wrapped.received, b"3:hi!,")
        self.assertEqual(kept, [decode(tracker.key)])

    def test_anotherKeyLaterRefused(self):
        tracker, impostor = Identity.generate(), Identity.generate()
        pin = KeyPin("the tracker", where="DIR/known_tracker",
                     fix="Remove DIR/known_tracker.")
        self.connect(pin, tracker)
        client, server, lines = self.connect(pin, impostor)
        self.assertEqual(server.wrapped.received, b"")
        self.assertEqual(client.wrapped.received, b"")
        why = (f"the tracker proved {impostor.key[:8]}…, not {tracker.key[:8]}…, the "
               "key it proved on first contact (remembered in DIR/known_tracker); "
               "refused before this node said anything. Remove DIR/known_tracker.")
        self.assertEqual(client.wrapped.lost.getErrorMessage(), why)
        # A refusal trying again cannot cure: its owner warns of it.
        self.assertIsNotNone(client.wrapped.lost.check(KeyRefused))
        self.assertTrue(client.wrapped.lost.value.lasting)
        self.assertEqual(pin.key, decode(tracker.key))
        # Its owner (the node's tracker client, a command) says why, once
        # an attempt: neither the channel nor the pin says it too.
        self.assertEqual([line for line in lines if "proved" in line], [])

    def test_aPinnedPeersFailureIsSaidByItsOwner(self):
        """A pinned peer's connection (a tracker's) that fails its channel
        for any reason (an answer in HTTP, a certificate that names no
        host) is not logged by the channel: the failure goes to the
        protocol it carries, whose owner says it once an attempt."""
        pin = KeyPin("the tracker")
        for fail in (
                lambda protocol: protocol.dataReceived(
                    b"HTTP/1.1 426 reached at x:HOST:PORT\r\n\r\n"),
                lambda protocol: protocol.handshakeCompleted()):
            wrapped = Recorder()
            protocol = EncryptedProtocol(wrapped, ChannelKey.generate(), True, Clock(),
                                         pin=pin)
            transport = StringTransport(peerAddress=IPv4Address("TCP", "10.0.0.1", 80))
            transport.getPeerCertificate = lambda: certificate(False)
            with capturedLogs() as events:
                protocol.makeConnection(transport)
                fail(protocol)
                protocol.connectionLost(Failure(ConnectionDone()))
            self.assertTrue(transport.disconnecting)
            self.assertIsNotNone(wrapped.lost.check(ChannelFailed))
            # Not a key refused: one trying again may cure.
            self.assertFalse(wrapped.lost.value.lasting)
            self.assertEqual([formatEvent(event) for event in events], [])

    def test_keylessPeerTeachesNothing(self):
        """A peer that proves no key leaves the pin empty: the next key
        proven is the one."""
        pin = KeyPin("the tracker")
        client, server, lines = self.connect(pin, None)
        self.assertEqual(server.wrapped.received, b"3:hi!,")
        self.assertIsNone(pin.key)


class SwitchTests(SynchronousTestCase):
    """L{EncryptedProtocol.switchCipher}: the wrapped protocol switches the
    channel's cipher where its protocol says both ends agree."""

    def test_switched(self):
        clock = Clock()
        client, server, pump = encryptedPair(clock, greeting=b"2:ok,")
        pump.flush()
        self.assertTrue(server.switchCipher("AESGCM", b"4:last,"))
        pump.flush()
        self.assertTrue(client.switchCipher("AESGCM"))
        client.wrapped.transport.write(b"4:fast,")
        server.wrapped.transport.write(b"3:yes,")
        pump.flush()
        self.assertEqual(server.wrapped.received, b"3:hi!,4:fast,")
        self.assertEqual(client.wrapped.received, b"2:ok,4:last,3:yes,")
        self.assertEqual(server.session.cipher, "AESGCM")

    def test_refusedSwitchDropsTheConnection(self):
        """A switch the channel refuses (bytes of a message after the
        switch's) drops the connection with one log line, and the wrapped
        protocol learns why; nothing more is written."""
        clock = Clock()
        client, server, pump = encryptedPair(clock)
        pump.flush()
        sealed = client.session.seal(b"5:more,")
        server.dataReceived(sealed[:4])
        with capturedLogs() as events:
            self.assertFalse(server.switchCipher("AESGCM", b"6:answer,"))
        [line] = [formatEvent(event) for event in events]
        self.assertIn("a transport message came after the one that ended with the "
                      "cipher's switch", line)
        self.assertTrue(server.transport.disconnecting)
        self.assertFalse(server.switchCipher("AESGCM"))
        pump.flush()
        self.assertIn("cipher's switch", server.wrapped.lost.getErrorMessage())
        self.assertEqual(client.wrapped.received, b"")


class RefusalLogTests(SynchronousTestCase):

    def test_linesAPeerCausesAreBounded(self):
        """A hundred plaintext connections from one address group make a
        few refusal lines and a summary, not a hundred lines."""
        clock = Clock()
        factory = EncryptedFactory(Factory.forProtocol(Recorder), ChannelKey.generate(),
                                   clock, peerLog=PeerLog(clock))
        with capturedLogs() as events:
            for n in range(100):
                protocol = factory.buildProtocol(None)
                transport = StringTransport(peerAddress=IPv4Address(
                    "TCP", f"10.1.0.{n + 1}", 4000 + n))
                protocol.makeConnection(transport)
                protocol.dataReceived(b'2:{},')
                self.assertEqual(transport.value(), REFUSAL)
            clock.advance(60)
        lines = [formatEvent(event) for event in events]
        refusals = [line for line in lines if "does not speak" in line]
        self.assertLessEqual(len(refusals), PEER_BURST)
        self.assertTrue(any("more lines like" in line for line in lines), lines)
