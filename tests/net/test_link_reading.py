"""
Tests for L{twisted_bazaar.net.link}'s reading: framing, decoding, the error
budget, rate limits and pings, on what a link's peer sends.

Each test drives a real L{Link} over a C{StringTransport} on a C{task.Clock},
with a stub owner that records what the link hands on.
"""

from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure

from twisted_bazaar import wire
from twisted_bazaar.net.link import ERROR_WINDOW, TokenBucket
from tests.net.links import LinkTestCase, frame


class ReceiveTests(LinkTestCase):
    """Complete netstrings become messages for the owner."""

    def test_linkMade(self):
        """Connecting tells the owner, and the link starts unidentified."""
        link = self.connect()
        self.assertEqual(self.owner.made, [link])
        self.assertIsNone(link.peer_id)
        self.assertTrue(link.inbound)

    def test_messageHandedOn(self):
        """A valid message reaches the owner decoded, and nothing is sent."""
        self.connect()
        self.receive(wire.ThisIsMe(4, 9000, "10.0.0.2"))
        self.assertEqual(self.owner.messages, [wire.ThisIsMe(4, 9000, "10.0.0.2")])
        self.assertEqual(self.transport.value(), b"")

    def test_splitAndJoinedFrames(self):
        """Framing is independent of how TCP cuts the bytes: a frame split
        byte by byte arrives whole, and two frames in one chunk are both
        processed (the pong is swallowed by the link)."""
        self.connect()
        for byte in frame(wire.encode(wire.Dc())):
            self.link.dataReceived(bytes([byte]))
        self.link.dataReceived(frame(wire.encode(wire.NodeReq()))
                               + frame(wire.encode(wire.Pong(1))))
        self.assertEqual(self.owner.messages, [wire.Dc(), wire.NodeReq()])

    def test_seldomThingsWhenNeeded(self):
        """A link makes room for its peer's errors, its drops and its
        pings' pongs only once it has one of them."""
        self.connect()
        self.receive(wire.NodeReq())
        self.assertIsNone(self.link._seldom)
        self.assertEqual(self.link.dropped, {})
        self.link.protocolError("wtf", "a bad message")
        self.assertEqual(len(self.link._seldom.errors), 1)

    def test_bufferOnlyWithinAFrame(self):
        """A link keeps no buffer between whole frames (most links of a
        large simulation never hold a partial one), one while a frame is
        cut, and none again once it is whole."""
        self.connect()
        self.assertIsNone(self.link._partial)
        framed = frame(wire.encode(wire.Dc()))
        self.link.dataReceived(framed)
        self.assertIsNone(self.link._partial)
        self.link.dataReceived(framed[:3])
        buffer, needed = self.link._partial
        self.assertEqual(bytes(buffer), framed[:3])
        self.assertEqual(needed, len(framed))
        self.link.dataReceived(framed[3:])
        self.assertIsNone(self.link._partial)
        self.assertEqual(self.owner.messages, [wire.Dc(), wire.Dc()])

    def test_frameAtLimit(self):
        """A payload of exactly frame_limit bytes is accepted."""
        self.connect(frame_limit=100)
        head, tail = b'{"type":"dc","pad":"', b'"}'
        self.link.dataReceived(frame(head + b"x" * (100 - len(head) - len(tail)) + tail))
        self.assertEqual(self.owner.messages, [wire.Dc()])
        self.assertFalse(self.transport.disconnecting)


class BrokenFramingTests(LinkTestCase):
    """A broken netstring closes the link: the stream cannot be resynced."""

    def assertClosedSilently(self, *chunks):
        """Feeding C{chunks} closes the link without answering or handing
        anything to the owner."""
        self.connect(frame_limit=100)
        for chunk in chunks:
            self.link.dataReceived(chunk)
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(self.transport.value(), b"")
        self.assertEqual(self.owner.messages, [])

    def test_garbage(self):
        """Bytes that are no netstring at all, like a stray HTTP client's."""
        self.assertClosedSilently(b"GET / HTTP/1.1\r\n\r\n")

    def test_nonDigitLength(self):
        """The length must be decimal digits."""
        self.assertClosedSilently(b"1a:" + b'{"type":"dc"},')

    def test_leadingZero(self):
        """netstrings forbid leading zeros in the length."""
        self.assertClosedSilently(b"013:" + b'{"type":"dc"},')

    def test_missingComma(self):
        """The payload must be followed by a comma."""
        self.assertClosedSilently(b'13:{"type":"dc"}.')

    def test_lengthOverLimit(self):
        """An over-long frame is refused as soon as its length is read,
        before any of its payload arrives."""
        self.assertClosedSilently(b"101:")

    def test_longLengthWithoutColon(self):
        """A length prefix already too big is refused before its colon."""
        self.assertClosedSilently(b"9999999")

    def test_partialFrameThenGarbage(self):
        """A frame that starts well but whose end is garbage."""
        self.assertClosedSilently(b'13:{"type"', b':"dc"}garbage')

    def test_bytesAfterBreakIgnored(self):
        """Once the framing broke, later frames are not decoded: neither
        those in the same chunk nor those arriving afterwards."""
        dc = frame(wire.encode(wire.Dc()))
        self.assertClosedSilently(b"x" + dc, dc)

    def test_framesBeforeBreakDelivered(self):
        """Frames that completed before the break still reach the owner."""
        self.connect()
        self.link.dataReceived(frame(wire.encode(wire.Dc())) + b"garbage")
        self.assertEqual(self.owner.messages, [wire.Dc()])
        self.assertTrue(self.transport.disconnecting)

    def test_logged(self):
        """The break is logged as a warning that names the peer, not as a
        traceback."""
        self.assertClosedSilently(b"garbage")
        self.assertEqual(
            [(e["log_level"].name, e["log_format"]) for e in self.events],
            [("warn", "broken netstring from {peer}: {reason}")],
        )
        self.assertNotIn("log_failure", self.events[0])


class UndecodableTests(LinkTestCase):
    """A well-framed payload that is not a valid message is answered with
    error{wtf}; once the handshake is done the link stays up, before it
    the link closes (docs/protocol.md §14)."""

    def connect(self, **settings):
        """A link whose handshake is done (its peer is node 7)."""
        link = super().connect(**settings)
        self.link.identified(7)
        return link

    def test_beforeTheHandshakeTheLinkCloses(self):
        super().connect()
        self.link.dataReceived(frame(b'{"type":"hello"}'))
        self.assertEqual(self.sent(), [wire.Error("wtf", "unknown message type 'hello'")])
        self.assertTrue(self.transport.disconnecting)

    def test_invalidJSON(self):
        self.connect()
        self.link.dataReceived(frame(b"{not json"))
        [error] = self.sent()
        self.assertEqual(error.code, "wtf")
        self.assertTrue(error.info.startswith("invalid JSON: "), error.info)
        self.assertFalse(self.transport.disconnecting)
        self.assertEqual(self.owner.messages, [])

    def test_unknownType(self):
        self.connect()
        self.link.dataReceived(frame(b'{"type":"hello"}'))
        self.assertEqual(self.sent(), [wire.Error("wtf", "unknown message type 'hello'")])
        self.assertFalse(self.transport.disconnecting)

    def test_linkSurvives(self):
        """A valid message after a bad one is still handed on."""
        self.connect()
        self.link.dataReceived(frame(b"[]") + frame(wire.encode(wire.Dc())))
        self.assertEqual(self.sent(),
                         [wire.Error("wtf", "a message must be a JSON object")])
        self.assertEqual(self.owner.messages, [wire.Dc()])

    def test_brokenErrorNotAnswered(self):
        """An undecodable error is dropped unanswered: errors are never
        answered with errors."""
        self.connect()
        self.link.dataReceived(frame(b'{"type":"error","code":"oops","info":"x"}'))
        self.assertEqual(self.transport.value(), b"")
        self.assertFalse(self.transport.disconnecting)
        self.assertEqual(self.owner.messages, [])

    def test_validErrorHandedOn(self):
        """A valid error is the owner's business, not answered by the link."""
        self.connect()
        self.receive(wire.Error("noslots", "full"))
        self.assertEqual(self.owner.messages, [wire.Error("noslots", "full")])
        self.assertEqual(self.transport.value(), b"")


class ErrorLimitTests(LinkTestCase):
    """A peer that keeps sending bad messages is cut off."""

    def connect(self, **settings):
        """A link whose handshake is done (its peer is node 7)."""
        link = super().connect(**settings)
        self.link.identified(7)
        return link

    def sendBad(self, count):
        for _ in range(count):
            self.link.dataReceived(frame(b"bad"))

    def test_overLimitCloses(self):
        """error_limit bad messages are tolerated; one more closes the link,
        after answering it."""
        self.connect(error_limit=3)
        self.sendBad(3)
        self.assertFalse(self.transport.disconnecting)
        self.sendBad(1)
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual([e.code for e in self.sent()], ["wtf"] * 4)

    def test_windowForgets(self):
        """Errors older than the window no longer count."""
        self.connect(error_limit=3, ping_interval=0, handshake_timeout=0)
        self.sendBad(3)
        self.clock.advance(ERROR_WINDOW)
        self.sendBad(3)
        self.assertFalse(self.transport.disconnecting)

    def test_brokenErrorsCount(self):
        """Unanswered broken errors still count toward the limit."""
        self.connect(error_limit=2)
        for _ in range(3):
            self.link.dataReceived(frame(b'{"type":"error"}'))
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(self.transport.value(), b"")


class PingTests(LinkTestCase):
    """The link answers pings itself; neither pings nor pongs reach the
    owner."""

    def test_pingAnswered(self):
        """After identification a ping gets a pong with the same nonce,
        never a ping."""
        self.connect()
        self.link.identified(4)
        self.receive(wire.Ping(-77))
        self.assertEqual(self.sent(), [wire.Pong(-77)])
        self.assertEqual(self.owner.messages, [])
        self.assertFalse(self.transport.disconnecting)

    def test_aPingOnceHoldsNoBucket(self):
        """A link whose peer pinged it once (a simulation's keepalive, a
        ping a run) holds the time of its token, not a bucket (112 bytes
        with its floats, every link end of a flood simulation's); from the
        second ping on, a bucket, and the rate holds."""
        self.connect(ping_rate=1.0, ping_interval=0)
        self.link.identified(4)
        self.clock.advance(60)
        self.receive(wire.Ping(1))
        self.assertEqual(self.link._buckets, {"ping": self.clock.seconds()})
        self.clock.advance(0.5)
        for nonce in (2, 3, 4):
            self.receive(wire.Ping(nonce))
        self.assertEqual([type(message) for message in self.sent()], [wire.Pong] * 2)
        self.assertEqual(self.link.dropped, {"ping": 2})
        self.assertIsInstance(self.link._buckets["ping"], TokenBucket)

    def test_pongSwallowed(self):
        """A pong is not answered and not handed on."""
        self.connect()
        self.link.identified(4)
        self.receive(wire.Pong(1))
        self.assertEqual(self.transport.value(), b"")
        self.assertEqual(self.owner.messages, [])

    def test_pingWaitsForItsPong(self):
        """L{Link.ping} sends a ping with a fresh nonce; its Deferred fires
        on the pong with that nonce only, once."""
        self.connect()
        self.link.identified(4)
        fired = []
        self.link.ping().addCallback(fired.append)
        [ping] = self.sent()
        self.assertEqual(type(ping), wire.Ping)
        self.receive(wire.Pong(ping.nonce + 1))
        self.assertEqual(fired, [])
        self.receive(wire.Pong(ping.nonce))
        self.receive(wire.Pong(ping.nonce))
        self.assertEqual(fired, [None])
        self.assertEqual(self.owner.messages, [])

    def test_pingFailsWhenTheLinkIsLost(self):
        """A ping waiting for its pong fails when the connection goes, and
        one asked for on a closing link fails at once; a cancelled one is
        forgotten."""
        self.connect()
        self.link.identified(4)
        failed = []
        self.link.ping().addErrback(failed.append)
        cancelled = self.link.ping()
        cancelled.addErrback(lambda reason: None)
        cancelled.cancel()
        self.link.connectionLost(Failure(ConnectionDone()))
        [reason] = failed
        self.assertTrue(reason.check(ConnectionDone))
        self.link.ping().addErrback(failed.append)
        self.assertEqual(len(failed), 2)

    def test_pingBeforeIdentified(self):
        """A peer must say thisisme before it may ping: wtf, then close."""
        self.connect()
        self.receive(wire.Ping(5))
        self.assertEqual(self.sent(), [wire.Error("wtf", "say thisisme before ping")])
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(self.owner.messages, [])

    def test_nothingAfterRefusedPing(self):
        """Frames after a ping that closed the link are not handed on."""
        self.connect()
        self.link.dataReceived(frame(wire.encode(wire.Ping(5)))
                               + frame(wire.encode(wire.Dc())))
        self.assertEqual(self.owner.messages, [])
