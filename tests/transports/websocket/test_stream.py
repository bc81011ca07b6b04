"""
The byte stream over WebSocket binary messages, both ends joined in
memory: bytes either way, a clean close, and the red team's bad input
(text messages, oversized messages and handshakes, an unknown resource,
a client that speaks no WebSocket, a server that speaks none, silence),
each a clear refusal and a closed connection.
"""

import struct

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionAborted, ConnectionDone, ConnectionLost
from twisted.logger import Logger, LogLevel, formatEvent
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import RecordingOwner
from twisted.internet.task import Clock
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.net.link import Link, LinkSettings
from twisted_bazaar.transports.websocket.limits import (
    CLOSE_SECONDS, HANDSHAKE_BYTES, HANDSHAKE_SECONDS, MESSAGE_BYTES, OPENING)
from twisted_bazaar.transports.websocket import stream
from twisted_bazaar.transports.websocket.stream import WebSocketFailed

from tests.transports.websocket.helpers import Joined, Recorders


def opened(testCase, joined, resource="/"):
    """A client connected through WebSocket: (client, server, pump)."""
    d, pump, _ = joined.connect(resource=resource)
    client = testCase.successResultOf(d)
    return client, joined.servers.built[-1], pump


#: A client's opening handshake (RFC 6455 4.1), offering bazaar.
REQUEST = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
           b"Sec-WebSocket-Protocol: bazaar\r\n\r\n")


def frame(opcode, payload):
    """A client's frame (masked with a zero key, as RFC 6455 allows)."""
    header = bytes([0x80 | opcode])
    size = len(payload)
    if size < 126:
        header += bytes([0x80 | size])
    elif size < 65536:
        header += bytes([0x80 | 126]) + struct.pack("!H", size)
    else:
        header += bytes([0x80 | 127]) + struct.pack("!Q", size)
    return header + b"\0\0\0\0" + payload


class Raw(StringTransport):
    """A TCP transport that keeps what is written and whether it was
    aborted."""

    aborted = False

    def unregisterProducer(self):
        self.producer = None

    def abortConnection(self):
        self.aborted = True


def accepted(joined):
    """A server protocol of joined's, on a L{Raw} transport."""
    server = joined.reactor.tcpServers[-1][1].buildProtocol(None)
    transport = Raw()
    server.makeConnection(transport)
    return server, transport


class StreamTests(SynchronousTestCase):

    def test_bytesBothWays(self):
        joined = Joined()
        client, server, pump = opened(self, joined)
        self.assertTrue(server.made)
        client.transport.write(b"x" * 200_000)
        server.transport.writeSequence([b"ab", b"cd"])
        pump.flush()
        self.assertEqual(server.received, b"x" * 200_000)
        self.assertEqual(client.received, b"abcd")

    def test_aWriteIsSplitIntoMessagesOfTheBound(self):
        joined = Joined()
        client, server, pump = opened(self, joined)
        sent = []
        client.transport.websocket.sendMessage = lambda data, isBinary: sent.append(
            (len(data), isBinary))
        client.transport.write(b"y" * (2 * MESSAGE_BYTES.default + 1))
        self.assertEqual(sent, [(MESSAGE_BYTES.default, True)] * 2 + [(1, True)])

    def test_closeIsClean(self):
        joined = Joined()
        client, server, pump = opened(self, joined)
        client.transport.loseConnection()
        pump.flush()
        pump.flush()
        self.assertIsInstance(client.lost.value, ConnectionDone)
        self.assertIsInstance(server.lost.value, ConnectionDone)
        self.assertEqual(joined.refusals, [])
        self.assertEqual(joined.reactor.getDelayedCalls(), [])

    def test_writesAfterCloseAreDropped(self):
        joined = Joined()
        client, server, pump = opened(self, joined)
        client.transport.loseConnection()
        client.transport.write(b"late")
        pump.flush()
        self.assertEqual(server.received, b"")

    def test_aPeerThatDoesNotCloseIsDropped(self):
        joined = Joined()
        client, server, pump = opened(self, joined)
        client.transport.loseConnection()
        # The server's answer never arrives.
        joined.reactor.advance(CLOSE_SECONDS.default)
        pump.flush()
        self.assertIsNotNone(client.lost)


class HostCheckTests(SynchronousTestCase):
    """The check every HTTP port of the daemons makes
    (L{twisted_bazaar.base.httphosts}), made of each opening handshake
    before its resource is asked: a page cannot open a WebSocket port."""

    def refused(self, request):
        joined = Joined()
        server, transport = accepted(joined)
        server.dataReceived(request)
        server.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(joined.servers.built, [])
        return transport.value().split(b"\r\n")[0].decode("utf-8"), joined.refusals

    def test_aRebindingNameIsRefused(self):
        status, refusals = self.refused(REQUEST.replace(b"Host: 127.0.0.1",
                                                        b"Host: evil.example:80"))
        # (The memory reactor's port says it is bound to 0.0.0.0.)
        self.assertTrue(status.startswith("HTTP/1.1 421 this WebSocket port answers to "
                                          "127.0.0.1, ::1, localhost or any of this "
                                          "machine's addresses, not to Host "
                                          "'evil.example:80'"), status)
        self.assertIn("DNS rebinding", refusals[0])

    def test_anOriginIsRefused(self):
        """Any Origin, this port's own too: every browser sends one (a
        sandboxed page's ``null`` autobahn refuses itself, 400)."""
        for origin in (b"http://127.0.0.1:4321", b"http://evil.example"):
            status, refusals = self.refused(REQUEST.replace(
                b"\r\n\r\n", b"\r\nOrigin: " + origin + b"\r\n\r\n"))
            self.assertTrue(status.startswith("HTTP/1.1 403 this WebSocket port takes no "
                                              "upgrade a page asks for"), status)
            self.assertIn("Origin", refusals[0])

    def test_aDraftsOriginDoesNotStandInForIt(self):
        """A request of a draft's version, whose page would name itself in
        Sec-WebSocket-Origin, is refused: only RFC 6455 is spoken."""
        status, _ = self.refused(REQUEST.replace(
            b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Version: 8").replace(
            b"\r\n\r\n", b"\r\nSec-WebSocket-Origin: http://evil.example\r\n\r\n"))
        self.assertTrue(status.startswith("HTTP/1.1 400"), status)

    def test_whatNoBrowserSendsIsRefused(self):
        status, _ = self.refused(REQUEST.replace(b"Host: 127.0.0.1",
                                                 b"Host: evil.example@127.0.0.1"))
        self.assertTrue(status.startswith("HTTP/1.1 400 Host"), status)

    def test_theProjectsClientSendsNoOriginAndIsServed(self):
        """The daemons' own client names the port as dialled (an address
        served) and sends no Origin: it opens."""
        joined = Joined()
        d, pump, _ = joined.connect()
        self.successResultOf(d)
        request = joined.servers.built[0].transport.websocket.http_request_data
        self.assertIn(b"Host: 127.0.0.1:4321\r\n", request)
        self.assertNotIn(b"origin:", request.lower())

    def test_anIPv6AddressIsNamedInBrackets(self):
        """A client that dials an IPv6 address names it ``[V6]:PORT`` in
        its Host: autobahn's own ``::1:4321`` every server refuses, 400,
        and no ``ws:`` address at an IPv6 host opened."""
        joined = Joined()
        d, pump, _ = joined.connect(host="::1")
        self.successResultOf(d)
        request = joined.servers.built[0].transport.websocket.http_request_data
        self.assertIn(b"Host: [::1]:4321\r\n", request)
        self.assertEqual(joined.refusals, [])

    def test_anOperatorsNameIsServed(self):
        joined = Joined()
        joined.names.names.add("market.example")
        server, transport = accepted(joined)
        server.dataReceived(REQUEST.replace(b"Host: 127.0.0.1", b"Host: market.example"))
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 101"), transport.value())


class Unread(Raw):
    """A TCP transport whose peer never reads: what is written stays, and
    past Twisted's buffer size it pauses its streaming producer, as a
    reactor's transport does, never to resume it."""

    bufferSize = 65536
    paused = False
    # What a reactor's transport buffers, as it keeps it (all of it not
    # yet handed to its buffer proper).
    dataBuffer = b""
    offset = 0

    @property
    def _tempDataLen(self):
        return len(self.value())

    def write(self, data):
        super().write(data)
        if (self.producer is not None and self.streaming and not self.paused
                and len(self.value()) > self.bufferSize):
            self.paused = True
            self.producer.pauseProducing()


class _Links(Factory):
    """Builds a node's L{Link} for each connection, keeping it."""

    def __init__(self, clock, settings):
        self.clock = clock
        self.settings = settings
        self.built = []

    def buildProtocol(self, addr):
        link = Link(RecordingOwner(), self.clock, self.settings, True)
        self.built.append(link)
        return link


#: A client's ping of the most a control frame carries.
PING = frame(0x9, b"p" * 125)


class PongTests(SynchronousTestCase):
    """
    A peer that pings and does not read (issue 93): each pong is a frame
    this end writes of its own, which the link never wrote.  It is
    charged to the link's account of what waits for the peer, so the
    peer is dropped once its link's write limit is full; a protocol with
    no such account has no pong queued past a message's worth unsent.
    """

    def serve(self, factory):
        joined = Joined(resources={"/": factory})
        server = joined.reactor.tcpServers[-1][1].buildProtocol(
            IPv4Address("TCP", "198.51.100.7", 5000))
        transport = Unread()
        server.makeConnection(transport)
        server.dataReceived(REQUEST)
        self.assertIn(b" 101 ", transport.value())
        return joined, server, transport

    def test_aLinksPeerThatPingsAndDoesNotReadIsDropped(self):
        settings = LinkSettings(write_limit=256 * 1024)
        links = _Links(Clock(), settings)
        joined, server, transport = self.serve(links)
        for _ in range(20_000):
            if transport.aborted:
                break
            server.dataReceived(PING)
        self.assertTrue(transport.aborted)
        self.assertTrue(links.built[0].closing)
        # What the peer left unread: the buffer that paused the link, and
        # the write limit's worth of pongs, no more.
        self.assertLess(len(transport.value()),
                        Unread.bufferSize + settings.write_limit + len(PING))
        self.assertGreater(len(transport.value()), settings.write_limit)
        server.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(settings.unsent.used, 0)

    def test_thePongsAreChargedToTheProcesssAccount(self):
        settings = LinkSettings(write_limit=1024 * 1024)
        links = _Links(Clock(), settings)
        joined, server, transport = self.serve(links)
        for _ in range(2_000):
            server.dataReceived(PING)
        self.assertTrue(transport.paused)
        self.assertGreater(settings.unsent.held(groupOf(links.built[0])),
                           len(transport.value()) - Unread.bufferSize - len(PING))

    def test_aProtocolWithNoAccountQueuesNoMoreThanAMessage(self):
        joined, server, transport = self.serve(Recorders())
        for _ in range(20_000):
            server.dataReceived(PING)
        self.assertFalse(transport.aborted)
        self.assertLess(len(transport.value()), MESSAGE_BYTES.default + 2 * len(PING))
        self.assertGreaterEqual(len(transport.value()), MESSAGE_BYTES.default)

    def test_aReadingPeerHasItsPongs(self):
        joined = Joined()
        client, server, pump = opened(self, joined)
        pongs = []
        client.transport.websocket.onPong = pongs.append
        for n in range(3):
            client.transport.websocket.sendPing(b"%d" % n)
        pump.flush()
        pump.flush()
        self.assertEqual(pongs, [b"0", b"1", b"2"])


class PeerDroppedTests(SynchronousTestCase):
    """
    A connection the peer drops without a closing handshake (its dial
    lost the race of --ws-peer beside TCP and was aborted, or it went)
    is no refusal of this end's: it was said at info, "websocket: closed a
    connection from HOST: connection was closed uncleanly (peer dropped
    the TCP connection ...)", once a race; now one debug line.
    """

    def setUp(self):
        self.events = []
        self.patch(stream, "_log", Logger(observer=self.events.append))
        self.joined = Joined()
        self.server, self.transport = accepted(self.joined)

    def assertDropped(self):
        self.server.connectionLost(Failure(ConnectionLost()))
        self.assertEqual(self.joined.refusals, [])
        [event] = self.events
        self.assertEqual(event["log_level"], LogLevel.debug)
        self.assertIn("dropped its connection", formatEvent(event))

    def test_duringTheOpeningHandshake(self):
        self.server.dataReceived(REQUEST[:40])
        self.assertDropped()

    def test_aRefusalStaysOne(self):
        """What this end refused is still said as a refusal."""
        self.server.dataReceived(REQUEST.replace(b"Host: 127.0.0.1", b"Host: evil.example"))
        self.server.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(len(self.joined.refusals), 1)


class NormalCloseTests(SynchronousTestCase):
    """
    A connection closed by its closing handshake, by either end, ended
    normally (issue 93: it was said at info as a refusal, "closed a
    connection from ...: Connection was aborted locally", the TCP drop
    that follows a server's closing handshake, and its carried protocol
    was told it failed): one debug line says so, the carried protocol is
    told the connection is done, and no refusal is said.
    """

    CLOSE = frame(0x8, struct.pack("!H", 1000))

    def setUp(self):
        self.events = []
        self.patch(stream, "_log", Logger(observer=self.events.append))
        self.joined = Joined()
        self.server, self.transport = accepted(self.joined)
        self.server.dataReceived(REQUEST)
        self.carried = self.joined.servers.built[0]

    def lines(self):
        return [formatEvent(event) for event in self.events]

    def assertNormal(self, by):
        # A server that began the closing handshake drops TCP (aborts)
        # once it is done; one answering it closes TCP.
        self.server.connectionLost(Failure(ConnectionAborted() if self.transport.aborted
                                           else ConnectionDone()))
        self.assertEqual(self.joined.refusals, [])
        self.assertIsInstance(self.carried.lost.value, ConnectionDone)
        [line] = self.lines()
        self.assertIn(f"closed normally, closed by {by}", line)
        self.assertEqual(self.events[0]["log_level"], LogLevel.debug)

    def test_closedByThePeer(self):
        self.server.dataReceived(self.CLOSE)
        self.assertNormal("the peer")

    def test_closedByThisEnd(self):
        self.carried.transport.loseConnection()
        self.server.dataReceived(self.CLOSE)
        self.assertTrue(self.transport.aborted)
        self.assertNormal("this end")

    def test_aRefusalKeepsItsLine(self):
        self.server.dataReceived(frame(0x1, b"text"))
        self.server.connectionLost(Failure(ConnectionAborted()))
        self.assertIn("text message", self.joined.refusals[0])
        self.assertIsInstance(self.carried.lost.value, WebSocketFailed)
        self.assertEqual(self.lines(), [])

    def test_aDroppedConnectionIsNoNormalClose(self):
        """The carried protocol is told it failed; that the peer dropped
        it is no refusal (PeerDroppedTests), said at debug."""
        self.server.connectionLost(Failure(ConnectionLost()))
        self.assertIsInstance(self.carried.lost.value, WebSocketFailed)
        self.assertEqual(self.joined.refusals, [])
        [line] = self.lines()
        self.assertIn("dropped its connection", line)
        self.assertEqual(self.events[0]["log_level"], LogLevel.debug)


class RefusalTests(SynchronousTestCase):

    def test_textMessageClosesTheConnection(self):
        joined = Joined()
        client, server, pump = opened(self, joined)
        client.transport.websocket.sendMessage(b"hello", isBinary=False)
        pump.flush()
        pump.flush()
        self.assertIsInstance(server.lost.value, WebSocketFailed)
        self.assertIn("text message", str(server.lost.value))
        self.assertEqual(server.received, b"")
        self.assertIsNotNone(client.lost)

    def test_oversizedMessageClosesTheConnection(self):
        joined = Joined()
        client, server, pump = opened(self, joined)
        # Past what autobahn would send: the frame written raw.
        client.transport.websocket.transport.write(
            frame(0x2, b"z" * (MESSAGE_BYTES.default + 1)))
        pump.flush()
        pump.flush()
        self.assertEqual(server.received, b"")
        self.assertIsInstance(server.lost.value, WebSocketFailed)
        self.assertIn("exceeds payload limit", str(server.lost.value))

    def test_unmaskedClientFrameClosesTheConnection(self):
        joined = Joined()
        client, server, pump = opened(self, joined)
        # A client's frame must be masked (RFC 6455 5.3): this one is not.
        client.transport.websocket.transport.write(b"\x82\x05hello")
        pump.flush()
        pump.flush()
        self.assertEqual(server.received, b"")
        self.assertIsInstance(server.lost.value, WebSocketFailed)
        self.assertIn("unmasked", str(server.lost.value))

    def test_badOpcodeClosesTheConnection(self):
        joined = Joined()
        client, server, pump = opened(self, joined)
        client.transport.websocket.transport.write(frame(0x3, b"?"))
        pump.flush()
        pump.flush()
        self.assertIsInstance(server.lost.value, WebSocketFailed)
        self.assertIn("opcode", str(server.lost.value))
        self.assertIn("opcode", joined.refusals[0])

    def test_unknownResourceIsRefused(self):
        joined = Joined()
        d, pump, factory = joined.connect(resource="/nowhere")
        pump.flush()
        why = self.failureResultOf(d, WebSocketFailed)
        self.assertIn("404", str(why.value))
        self.assertEqual(joined.servers.built, [])
        self.assertEqual(factory.built[0].lost, None)
        self.assertIn("no WebSocket resource '/nowhere'", joined.refusals[0])

    def test_noSubprotocolIsRefused(self):
        joined = Joined()
        server, transport = accepted(joined)
        server.dataReceived(REQUEST.replace(b"Sec-WebSocket-Protocol: bazaar\r\n", b""))
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 400"), transport.value())
        self.assertEqual(joined.servers.built, [])

    def test_serviceRefusingIsRefused(self):
        class NoOne(Factory):
            def buildProtocol(self, addr):
                return None

        joined = Joined(resources={"/": NoOne()})
        d, pump, _ = joined.connect()
        self.assertIn("503", str(self.failureResultOf(d, WebSocketFailed).value))

    def test_notWebSocketIsRefused(self):
        joined = Joined()
        server, transport = accepted(joined)
        server.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertIn(b"HTTP/1.1 426", transport.value())
        server.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(len(joined.refusals), 1)

    def test_garbageIsRefusedAtOnce(self):
        joined = Joined()
        server, transport = accepted(joined)
        server.dataReceived(b"\x16\x03\x01")
        self.assertTrue(transport.aborted)
        server.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(joined.refusals,
                         ["no WebSocket request: it does not begin with GET"])

    def test_aWholeHeadNotGetIsRefusedAtOnce(self):
        """Bytes that do not begin with GET are dropped unanswered even
        when they come with a head's end in one read (issue 96's third
        pass: ``HELLO world`` and a blank line, in one segment, was
        answered autobahn's 400, where docs/protocol.md §2.4 says closed
        at once)."""
        joined = Joined()
        server, transport = accepted(joined)
        server.dataReceived(b"HELLO world\r\n\r\n")
        self.assertTrue(transport.aborted)
        self.assertEqual(transport.value(), b"")
        server.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(joined.refusals,
                         ["no WebSocket request: it does not begin with GET"])

    def test_theChannelsFirstMessageIsAnswered426(self):
        """A client that took the port for a plain one (its first bytes
        the encrypted channel's message 1) is answered HTTP 426 and the
        connection closed in order, so that its opener says to reach the
        port with ws: (issue 96: it was dropped, and its user told at best
        to try tls:); other bytes are still dropped at once."""
        from twisted_bazaar.channel.session import ChannelKey, Session, UpgradeRequired

        joined = Joined()
        server, transport = accepted(joined)
        opener = Session(True, ChannelKey.generate())
        server.dataReceived(opener.start())
        self.assertFalse(transport.aborted)
        self.assertTrue(transport.disconnecting)
        self.assertIn(b"\r\nUpgrade: websocket\r\n", transport.value())
        with self.assertRaises(UpgradeRequired) as caught:
            opener.receive(transport.value())
        self.assertEqual(caught.exception.at("10.0.0.1", 80),
                         "the peer answered in HTTP, not the encrypted channel: 426 this "
                         "port speaks WebSocket, reached at ws:10.0.0.1:80")
        server.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(joined.refusals, [
            "no WebSocket request: the encrypted channel's first message, from a "
            "client that took this port for a plain TCP one (answered 426)"])

    def test_aRequestArrivingByteByByte(self):
        joined = Joined()
        server, transport = accepted(joined)
        for byte in b"GET / HTTP/1.1\r\n":
            server.dataReceived(bytes([byte]))
        self.assertFalse(transport.aborted)

    def test_framesInTheHandshakesSegmentAreNoHandshake(self):
        """A client's first frames may come in the same read as its
        request: they count against the message bound, not the
        handshake's."""
        joined = Joined()
        server, transport = accepted(joined)
        server.dataReceived(REQUEST + frame(0x2, b"w" * 20_000))
        self.assertFalse(transport.aborted)
        self.assertEqual(joined.servers.built[0].received, b"w" * 20_000)

    def test_breachThenTheCarriedAbortsKeepsTheBreach(self):
        joined = Joined()
        server, transport = accepted(joined)
        server.dataReceived(REQUEST + frame(0x1, b"text"))
        joined.servers.built[0].transport.abortConnection()
        self.assertTrue(transport.aborted)
        server.connectionLost(Failure(ConnectionDone()))
        self.assertIn("text message", joined.refusals[-1])

    def test_aBreachWithAPeerThatDoesNotCloseIsDropped(self):
        joined = Joined()
        server, transport = accepted(joined)
        server.dataReceived(REQUEST + frame(0x1, b"text"))
        self.assertIn(b"101", transport.value())
        self.assertFalse(transport.aborted)
        joined.reactor.advance(CLOSE_SECONDS.default)
        self.assertTrue(transport.aborted)

    def test_oversizedHandshakeIsRefused(self):
        joined = Joined()
        server, transport = accepted(joined)
        server.dataReceived(b"GET / HTTP/1.1\r\nX: " + b"a" * HANDSHAKE_BYTES.default)
        self.assertTrue(transport.aborted)
        server.connectionLost(Failure(ConnectionDone()))
        self.assertIn(f"exceeds {HANDSHAKE_BYTES.default} bytes", joined.refusals[0])

    def test_silentServerTimesOut(self):
        joined = Joined()
        # A TCP server that never answers the WebSocket request.
        joined.reactor.tcpServers[-1] = joined.reactor.tcpServers[-1][:1] + (
            Factory.forProtocol(Protocol),) + joined.reactor.tcpServers[-1][2:]
        d = joined.client().connect(Recorders())
        pump = joined.completer.succeedOnce()
        pump.flush()
        self.assertNoResult(d)
        joined.reactor.advance(HANDSHAKE_SECONDS.default)
        pump.flush()
        why = self.failureResultOf(d, WebSocketFailed)
        self.assertIn("opening handshake took more than", str(why.value))

    def test_serverSpeakingNoWebSocket(self):
        class Chatty(Protocol):
            def dataReceived(self, data):
                self.transport.write(b"+OK not a web server\r\n\r\n")

        joined = Joined()
        joined.reactor.tcpServers[-1] = joined.reactor.tcpServers[-1][:1] + (
            Factory.forProtocol(Chatty),) + joined.reactor.tcpServers[-1][2:]
        d = joined.client().connect(Recorders())
        pump = joined.completer.succeedOnce()
        pump.flush()
        why = self.failureResultOf(d, WebSocketFailed)
        self.assertIn("ws://127.0.0.1:4321/", str(why.value))
        self.assertIn("127.0.0.1:4321 answered, but not as a WebSocket port (its answer "
                      "is no HTTP): is 4321 its --ws-port?", str(why.value))

    def answeredBy(self, protocol):
        """Why a client fails at a TCP port served by ``protocol``."""
        joined = Joined()
        joined.reactor.tcpServers[-1] = joined.reactor.tcpServers[-1][:1] + (
            Factory.forProtocol(protocol),) + joined.reactor.tcpServers[-1][2:]
        d = joined.client().connect(Recorders())
        pump = joined.completer.succeedOnce()
        pump.flush()
        return self.failureResultOf(d, WebSocketFailed).value

    def test_aPortThatDropsTheRequestIsNoWebSocketPort(self):
        """The tracker's --listen port drops an HTTP request unanswered."""
        class Dropping(Protocol):
            def dataReceived(self, data):
                self.transport.loseConnection()

        why = self.answeredBy(Dropping)
        self.assertIn("127.0.0.1:4321 answered, but not as a WebSocket port (it closed "
                      "the connection without an answer): is 4321 its --ws-port?", str(why))
        self.assertTrue(why.saysWayOut)

    def test_aWebServersAnswerIsNoWebSocketPort(self):
        for status in (b"200 OK", b"404 Not Found"):
            class Web(Protocol):
                def dataReceived(self, data):
                    self.transport.write(b"HTTP/1.1 " + status + b"\r\n\r\n")
                    self.transport.loseConnection()

            self.assertIn(f"answered, but not as a WebSocket port (it answered HTTP "
                          f"{status.decode()}): is 4321 its --ws-port?",
                          str(self.answeredBy(Web)))

    def test_aWebSocketPortsRefusalIsNoWrongPort(self):
        joined = Joined()
        d, pump, _ = joined.connect(resource="/nowhere")
        pump.flush()
        why = self.failureResultOf(d, WebSocketFailed).value
        self.assertIn("no WebSocket resource '/nowhere'", str(why))
        self.assertNotIn("not as a WebSocket port", str(why))
        self.assertFalse(why.saysWayOut)

    def test_cancelBeforeOpen(self):
        joined = Joined()
        d = joined.client().connect(Recorders())
        d.cancel()
        self.failureResultOf(d)
        self.assertTrue(joined.reactor.connectors[0].stoppedConnecting)


class OpeningTests(SynchronousTestCase):
    """Connections still in their opening handshake are bounded per
    address group and in all: a silent flood holds no more."""

    def setUp(self):
        self.joined = Joined()
        self.factory = self.joined.reactor.tcpServers[-1][1]

    def open(self, host):
        protocol = self.factory.buildProtocol(IPv4Address("TCP", host, 5000))
        if protocol is not None:
            protocol.makeConnection(Raw())
        return protocol

    def test_aGroupsShare(self):
        silent = [self.open(f"198.51.{n}.1") for n in range(1)] + [
            self.open("198.51.0.2") for _ in range(OPENING.group - 1)]
        self.assertNotIn(None, silent)
        self.assertIsNone(self.open("198.51.0.9"))
        self.assertIn("too many WebSocket connections", self.joined.refusals[-1])
        # Another group still gets in.
        self.assertIsNotNone(self.open("203.0.113.1"))
        # One that ends makes room.
        silent[0].connectionLost(Failure(ConnectionDone()))
        self.assertIsNotNone(self.open("198.51.0.9"))

    def test_aFullPortMakesRoomFromTheHeaviestGroup(self):
        """Full, the port closes the oldest handshake of the group holding
        the most for a newcomer's group: a flood from a few groups never
        shuts another group out."""
        opened = [self.open(f"10.{n // 8}.0.{n % 8}") for n in range(OPENING.default)]
        self.assertNotIn(None, opened)
        newcomer = self.open("192.0.2.1")
        self.assertIsNotNone(newcomer)
        oldest = opened[0]
        self.assertTrue(oldest.transport.aborted)
        self.assertEqual([p for p in opened if p.transport.aborted], [oldest])
        oldest.connectionLost(Failure(ConnectionDone()))
        self.assertIn("to make room for a connection from another address group",
                      self.joined.refusals[-1])
        # A group at its share still waits for its own to end.
        self.assertIsNone(self.open("10.1.0.99"))
        self.assertIn("from its address group (8)", self.joined.refusals[-1])

    def test_aFullPortOfEqualGroupsRefusesTheNewcomer(self):
        """When no group holds more than the newcomer's would, nothing
        gives way: the newcomer is refused."""
        opened = [self.open(f"10.{n}.0.1") for n in range(OPENING.default)]
        self.assertNotIn(None, opened)
        self.assertIsNone(self.open("192.0.2.1"))
        self.assertIn("none of a group holding more", self.joined.refusals[-1])
        self.assertFalse(any(p.transport.aborted for p in opened))

    def test_anOpenConnectionNoLongerCounts(self):
        joined = Joined()
        for _ in range(OPENING.group + 1):
            opened(self, joined)
        self.assertEqual(len(joined.servers.built), OPENING.group + 1)
