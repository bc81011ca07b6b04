"""
Tests for L{twisted_bazaar.net.link}: framing, decoding, keepalive and the
limits one connection enforces on its peer.

Each test drives a real L{Link} over a C{StringTransport} on a C{task.Clock},
with a stub owner that records what the link hands on.
"""

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IReactorFDSet
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import LegacyLogObserverWrapper, Logger, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import directlyProvides

from tests.helpers import RecordingOwner
from twisted_bazaar.schemes.flood import messages as floodmsg
from twisted_bazaar.wire import trade
from twisted_bazaar import wire
from twisted_bazaar.net.link import ERROR_WINDOW, FLUSH_BYTES, Link, LinkSettings
from twisted_bazaar.net.recent import RecentMessages


class CountingTransport(StringTransport):
    """A StringTransport that counts loseConnection calls."""

    closes = 0

    def loseConnection(self):
        self.closes += 1
        super().loseConnection()


def frame(payload):
    """One netstring around C{payload}."""
    return b"%d:%s," % (len(payload), payload)


def sentMessages(transport):
    """Decode every netstring written to C{transport}, checking the framing
    by hand rather than with the code under test."""
    data, messages = transport.value(), []
    while data:
        length, colon, rest = data.partition(b":")
        size = int(length)
        if not colon or rest[size:size + 1] != b",":
            raise AssertionError(f"bad netstring written: {data!r}")
        messages.append(wire.decode(rest[:size]))
        data = rest[size + 1:]
    return messages


class LinkTestCase(SynchronousTestCase):
    """Sets up a connected inbound link; tests tune its settings first."""

    def connect(self, **settings):
        """Connect a fresh link with the given L{LinkSettings} values."""
        self.clock = Clock()
        self.owner = RecordingOwner()
        self.transport = CountingTransport()
        self.events = []
        self.link = Link(self.owner, self.clock, LinkSettings(**settings), True)
        self.patch(Link, "log", Logger(observer=self.events.append))
        self.link.makeConnection(self.transport)
        return self.link

    def receive(self, message):
        """The peer sends one valid message."""
        self.link.dataReceived(frame(wire.encode(message)))

    def sent(self):
        """The messages the link has written so far."""
        return sentMessages(self.transport)


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


class HandshakeTimeoutTests(LinkTestCase):
    """A peer that never introduces itself is dropped."""

    def test_timeout(self):
        """After handshake_timeout the peer gets error{notim}, then the link
        closes."""
        self.connect(handshake_timeout=10)
        self.clock.advance(9.9)
        self.assertEqual(self.transport.value(), b"")
        self.clock.advance(0.1)
        self.assertEqual(self.sent(), [wire.Error("notim", "no thisisme within 10 s")])
        self.assertTrue(self.transport.disconnecting)

    def test_identifiedInTime(self):
        """identified() before the deadline cancels the timeout."""
        link = self.connect(handshake_timeout=10, ping_interval=0)
        self.clock.advance(9)
        link.identified(3)
        self.assertEqual(link.peer_id, 3)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(100)
        self.assertEqual(self.transport.value(), b"")
        self.assertFalse(self.transport.disconnecting)

    def test_disabled(self):
        """A handshake_timeout of 0 sets no timer."""
        self.connect(handshake_timeout=0)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class KeepaliveTests(LinkTestCase):
    """An identified link pings a quiet peer and drops a silent one."""

    def connectIdentified(self):
        link = self.connect(ping_interval=10, handshake_timeout=5)
        link.identified(2)
        return link

    def test_pingsAfterSilence(self):
        """Each interval of silence sends a ping with a fresh nonce; three
        intervals of silence close the link without another ping."""
        self.connectIdentified()
        self.clock.advance(9.9)
        self.assertEqual(self.transport.value(), b"")
        self.clock.advance(0.1)
        self.assertEqual(self.sent(), [wire.Ping(1)])
        self.clock.advance(10)
        self.assertEqual(self.sent(), [wire.Ping(1), wire.Ping(2)])
        self.assertFalse(self.transport.disconnecting)
        self.clock.advance(10)
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(self.sent(), [wire.Ping(1), wire.Ping(2)])

    def test_pongsKeepOpen(self):
        """A peer that answers every ping stays connected."""
        self.connectIdentified()
        for nonce in range(1, 11):
            self.clock.advance(10)
            self.receive(wire.Pong(nonce))
        self.assertFalse(self.transport.disconnecting)
        self.assertEqual(self.sent(), [wire.Ping(n) for n in range(1, 11)])

    def test_trafficMeansNoPing(self):
        """A peer heard from within every interval is never pinged."""
        self.connectIdentified()
        for _ in range(10):
            self.clock.advance(5)
            self.receive(wire.Dc())
        self.assertEqual(self.transport.value(), b"")
        self.assertFalse(self.transport.disconnecting)

    def test_identifiedAgainKeepsTheCheck(self):
        """Identified a second time, a link keeps its keepalive check where
        it was (only the handshake's deadline is cancelled by it): the
        peer silent since the first is pinged on time."""
        link = self.connectIdentified()
        self.clock.advance(6)
        link.identified(2)
        self.clock.advance(4)
        self.assertEqual(self.sent(), [wire.Ping(1)])
        self.assertFalse(self.transport.disconnecting)

    def test_notBeforeIdentified(self):
        """Keepalive starts with identification, not with the connection."""
        self.connect(ping_interval=10, handshake_timeout=0)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class SendTests(LinkTestCase):
    """Sending frames messages and respects the frame limit."""

    def test_send(self):
        self.connect()
        self.link.send(trade.Buy(1, "apple", (1, 2)))
        self.assertEqual(self.transport.value(),
                         frame(b'{"type":"buy","id":1,"item":"apple","path":["1","2"]}'))

    def test_overFrameLimit(self):
        """A message one byte over the frame limit is not written at all,
        and the refusal is logged as an error; one at the limit is sent."""
        message = floodmsg.Search(1, "apple", (1,), 7)
        size = len(wire.encode(message))
        self.connect(frame_limit=size - 1)
        self.link.send(message)
        self.assertEqual(self.transport.value(), b"")
        self.assertEqual([e["log_level"].name for e in self.events], ["error"])
        self.connect(frame_limit=size)
        self.link.send(message)
        self.assertEqual(self.sent(), [message])


class CloseTests(LinkTestCase):
    """Closing is idempotent, and a closed link sends nothing more."""

    def test_closeIdempotent(self):
        self.connect()
        self.link.close("done")
        self.link.close("again")
        self.assertEqual(self.transport.closes, 1)
        self.assertTrue(self.link.closing)

    def test_sendAfterCloseDropped(self):
        self.connect()
        self.link.close()
        self.link.send(wire.Dc())
        self.assertEqual(self.transport.value(), b"")

    def test_disconnectSaysDc(self):
        """disconnect() sends dc and then closes, once however often it is
        called."""
        self.connect()
        self.link.disconnect("leaving")
        self.assertEqual(self.sent(), [wire.Dc()])
        self.assertTrue(self.transport.disconnecting)
        self.link.disconnect("leaving")
        self.link.close()
        self.assertEqual(self.sent(), [wire.Dc()])
        self.assertEqual(self.transport.closes, 1)

    def test_refuse(self):
        """refuse() answers with the given error, then closes."""
        self.connect()
        self.link.refuse("noslots", "full")
        self.assertEqual(self.sent(), [wire.Error("noslots", "full")])
        self.assertTrue(self.transport.disconnecting)

    def test_receiveAfterCloseIgnored(self):
        """Bytes still in flight after close() are not handed on."""
        self.connect()
        self.link.close()
        self.receive(wire.Dc())
        self.assertEqual(self.owner.messages, [])


class TLSLikeTransport(StringTransport):
    """
    Closes like Twisted's TLS transport: loseConnection while a producer
    is registered waits until the producer is unregistered, and only then
    does the connection go.
    """

    def __init__(self):
        super().__init__()
        self.gone = False

    def loseConnection(self):
        self.disconnecting = True
        if self.producer is None:
            self.gone = True

    def unregisterProducer(self):
        super().unregisterProducer()
        if self.disconnecting:
            self.gone = True


class TLSCloseTests(SynchronousTestCase):
    """A link over TLS closes: it stops producing before it hangs up."""

    def test_closeOverTLS(self):
        transport = TLSLikeTransport()
        link = Link(RecordingOwner(), Clock(), LinkSettings(), True)
        link.makeConnection(transport)
        self.assertIs(transport.producer, link)
        link.close("stopping")
        self.assertTrue(transport.gone)


class RetireTests(LinkTestCase):
    """A retired link (the loser of a duplicate) says dc and closes, but
    keeps handing on what the peer had already sent."""

    def test_retireSaysDcAndCloses(self):
        self.connect()
        self.link.identified(2)
        self.link.retire("replaced")
        self.assertEqual(self.sent(), [wire.Dc()])
        self.assertTrue(self.transport.disconnecting)
        self.assertTrue(self.link.closing)
        self.assertFalse(self.link.deaf)

    def test_stillHandsOnWhatArrives(self):
        """Messages in flight still reach the owner; nothing is sent back,
        not even a pong."""
        self.connect()
        self.link.identified(2)
        self.link.retire("replaced")
        self.transport.clear()
        buy = trade.Buy(1, "apple", (2, 1))
        self.receive(buy)
        self.receive(wire.Ping(3))
        self.assertEqual(self.owner.messages, [buy])
        self.assertEqual(self.transport.value(), b"")

    def test_deafOnceGone(self):
        """Once the connection is lost, nothing more is handed on."""
        self.connect()
        self.link.retire("replaced")
        self.link.connectionLost(Failure(ConnectionDone()))
        self.receive(trade.Buy(1, "apple", (2, 1)))
        self.assertEqual(self.owner.messages, [])

    def test_closedIsNotRetired(self):
        """close() stays deaf: only retire keeps listening."""
        self.connect()
        self.link.close()
        self.assertTrue(self.link.deaf)


class IdleTimeoutTests(LinkTestCase):
    """A link with an idle_timeout says dc and closes once that long goes
    by without a trade message either way; pings and pongs are not
    trade."""

    def connectIdle(self, idle=30, **settings):
        settings.setdefault("ping_interval", 0)
        link = self.connect(handshake_timeout=0, **settings)
        link.idle_timeout = idle
        link.identified(2)
        return link

    def test_closedWhenIdle(self):
        self.connectIdle()
        self.clock.advance(29.9)
        self.assertFalse(self.transport.disconnecting)
        self.clock.advance(0.1)
        self.assertEqual(self.sent(), [wire.Dc()])
        self.assertTrue(self.transport.disconnecting)

    def test_pingsAreNotTrade(self):
        """A peer that pings (and is answered) is still idle."""
        self.connectIdle()
        for nonce in range(1, 4):
            self.clock.advance(9.5)
            self.receive(wire.Ping(nonce))
            self.receive(wire.Pong(nonce))
        self.clock.advance(30 - 3 * 9.5)
        self.assertEqual(self.sent(), [wire.Pong(1), wire.Pong(2), wire.Pong(3),
                                       wire.Dc()])
        self.assertTrue(self.transport.disconnecting)

    def test_keepaliveStillRuns(self):
        """With a ping interval too, the link pings a quiet peer and is
        closed when idle, whichever comes first."""
        self.connectIdle(ping_interval=10)
        self.clock.advance(10)
        self.assertEqual(self.sent(), [wire.Ping(1)])
        self.receive(wire.Pong(1))
        self.clock.advance(10)
        self.receive(wire.Pong(2))
        self.assertFalse(self.transport.disconnecting)
        self.clock.advance(10)
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(self.sent()[-1], wire.Dc())

    def wait(self, seconds, step=0.5):
        """Let time pass in small steps, as a reactor's would."""
        for _ in range(int(seconds / step)):
            self.clock.advance(step)

    def test_tradeEitherWayResets(self):
        """A trade message received, or sent, starts the idle time over:
        the link closes idle_timeout after the last one, not later."""
        self.connectIdle()
        self.wait(20)
        self.receive(trade.Buy(1, "apple", (2, 1)))
        self.wait(20)
        self.assertFalse(self.transport.disconnecting)
        self.link.send(trade.BuyOK(1, "apple", (1, 2)))
        self.wait(29.5)
        self.assertFalse(self.transport.disconnecting)
        self.wait(0.5)
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(self.sent()[-1], wire.Dc())

    def test_closedOnTimeWithPings(self):
        """With a ping interval that does not divide the idle timeout, the
        link still closes when its idle time runs out."""
        self.connectIdle(idle=25, ping_interval=10)
        self.wait(7)
        self.receive(trade.Buy(1, "apple", (2, 1)))
        for nonce in range(1, 4):
            self.wait(8)
            self.receive(wire.Ping(nonce))
        self.wait(0.5)
        self.assertFalse(self.transport.disconnecting)
        self.wait(0.5)
        self.assertTrue(self.transport.disconnecting)

    def test_noTimeoutNoClose(self):
        """Without an idle timeout a quiet link is never closed for it."""
        self.connect(ping_interval=0, handshake_timeout=0)
        self.link.identified(2)
        self.clock.advance(10_000)
        self.assertFalse(self.transport.disconnecting)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class ConnectionLostTests(LinkTestCase):
    """Losing the connection tells the owner and leaves no timer behind."""

    def test_pendingTimersCancelled(self):
        """A link lost before identification (handshake timer) or after it
        (keepalive timer) leaves the clock empty, and the owner hears of it
        with the reason."""
        for identify in (False, True):
            link = self.connect(handshake_timeout=10, ping_interval=10)
            if identify:
                link.identified(1)
            self.assertEqual(len(self.clock.getDelayedCalls()), 1)
            reason = Failure(ConnectionDone())
            link.connectionLost(reason)
            self.assertEqual(self.clock.getDelayedCalls(), [])
            self.assertEqual(self.owner.lost, [reason])

    def test_nothingSentAfterLoss(self):
        self.connect()
        self.link.connectionLost(Failure(ConnectionDone()))
        self.link.send(wire.Dc())
        self.assertEqual(self.transport.value(), b"")


class VerboseTests(LinkTestCase):
    """--verbose shows the traffic both ways."""

    def test_trafficLogged(self):
        self.connect(verbose=True)
        self.link.identified(2)
        self.receive(wire.Ping(8))
        self.assertEqual(
            [e["frame"] for e in self.events],
            ['{"type":"ping","nonce":8}', '{"type":"pong","nonce":8}'],
        )

    def test_trafficSurvivesLegacyLogging(self):
        """
        Under twistd every event also passes through Twisted's legacy
        logging, which replaces a C{message} field that is not a tuple
        with C{()}: the lines show the frame all the same.
        """
        self.connect(verbose=True)
        self.link.identified(2)
        self.receive(wire.Ping(8))
        legacy = LegacyLogObserverWrapper(lambda eventDict: None)
        for event in self.events:
            legacy(event)
        self.assertEqual(
            [formatEvent(e).rsplit(" ", 1)[1] for e in self.events],
            ['{"type":"ping","nonce":8}', '{"type":"pong","nonce":8}'],
        )

    def test_quietByDefault(self):
        self.connect()
        self.link.identified(2)
        self.receive(wire.Ping(8))
        self.assertEqual(self.events, [])


class DescribeTests(SynchronousTestCase):
    """How a link names its peer in log lines."""

    def test_names(self):
        link = Link(RecordingOwner(), Clock(), LinkSettings(), inbound=True)
        link.makeConnection(StringTransport(
            peerAddress=IPv4Address("TCP", "10.0.0.9", 4242)))
        self.assertEqual(link.describe(), "10.0.0.9:4242")
        link.identified(7)
        self.assertEqual(link.describe(), "node 7 at 10.0.0.9:4242")
        link.identified("tracker")
        self.assertEqual(link.describe(), "tracker at 10.0.0.9:4242")


class RecordingTransport(StringTransport):
    """A StringTransport that records each write and hang-up, in order."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    def write(self, data):
        self.calls.append(("write", data))
        super().write(data)

    def loseConnection(self):
        self.calls.append(("lose", None))
        super().loseConnection()

    def abortConnection(self):
        self.calls.append(("abort", None))
        super().loseConnection()

    def writes(self):
        return [data for call, data in self.calls if call == "write"]


class ActingOwner(RecordingOwner):
    """A link owner that runs ``act(link, message)`` on each message."""

    def __init__(self, act):
        super().__init__()
        self.act = act

    def messageReceived(self, link, message):
        super().messageReceived(link, message)
        self.act(link, message)


class CoalescingTests(SynchronousTestCase):
    """
    With C{coalesce}, what links send while one of them reads a burst
    reaches each transport in one write when the burst is done, in order;
    a hang-up or the write limit still sees every frame.
    """

    def connect(self, act=lambda link, message: None, **settings):
        """A link with its own owner, sharing the settings given (a
        L{LinkSettings}, coalescing, if none)."""
        settings = settings.pop("settings", None) or LinkSettings(
            coalesce=True, ping_rate=1000, **settings)
        link = Link(ActingOwner(act), Clock(), settings, True)
        link.makeConnection(RecordingTransport())
        link.identified(len(link.transport.calls) + 2)
        return link

    def test_burstIsOneWrite(self):
        """Five pings read at once: five pongs, in one write, in order."""
        link = self.connect()
        link.dataReceived(b"".join(frame(wire.encode(wire.Ping(n))) for n in range(5)))
        self.assertEqual(link.transport.writes(), [b"".join(
            frame(wire.encode(wire.Pong(n))) for n in range(5))])

    def test_sendsOutsideABurstGoAtOnce(self):
        """A send that no read is under is written at once."""
        link = self.connect()
        link.send(wire.Ping(1))
        link.send(wire.Ping(2))
        self.assertEqual(len(link.transport.writes()), 2)

    def test_otherLinksWaitForTheBurst(self):
        """Frames one link's read sends on another link reach it when the
        read is done, in one write; nothing is written before."""
        settings = LinkSettings(coalesce=True)
        seen = []
        target = self.connect(settings=settings)

        def relay(link, message):
            target.send(message)
            seen.append(len(target.transport.writes()))

        source = self.connect(relay, settings=settings)
        buys = [trade.Buy(n, "apple", (2, 1, 3)) for n in range(3)]
        source.dataReceived(b"".join(frame(wire.encode(buy)) for buy in buys))
        self.assertEqual(seen, [0, 0, 0])
        self.assertEqual(target.transport.writes(),
                         [b"".join(frame(wire.encode(buy)) for buy in buys)])

    def test_heldBackAtMostFlushBytes(self):
        """A long burst is handed over every FLUSH_BYTES, whole frames
        only, so the transport sees it fill up."""
        link = self.connect()
        pings = [wire.Ping(n) for n in range(1000)]
        link.dataReceived(b"".join(frame(wire.encode(ping)) for ping in pings))
        writes = link.transport.writes()
        self.assertGreater(len(writes), 1)
        for data in writes[:-1]:
            self.assertGreaterEqual(len(data), FLUSH_BYTES)
            self.assertLess(len(data), FLUSH_BYTES + 40)
        self.assertEqual([message.nonce for message in sentMessages(link.transport)],
                         list(range(1000)))

    def test_closeHandsOverFirst(self):
        """A link closed during a burst writes what it holds, then hangs
        up: a refusal's error is not lost."""
        link = self.connect(lambda link, message: link.refuse("wtf", "go away"))
        link.dataReceived(frame(wire.encode(trade.Buy(1, "apple", (2, 1)))))
        self.assertEqual([call for call, _ in link.transport.calls], ["write", "lose"])
        self.assertEqual([(m.code, m.info) for m in sentMessages(link.transport)],
                         [("wtf", "go away")])

    def test_writeLimitCountsHeldFrames(self):
        """A paused link counts what it holds back like what it writes:
        past the write limit it is aborted, and what it held is dropped."""
        link = self.connect(write_limit=200)
        link.pauseProducing()
        pings = b"".join(frame(wire.encode(wire.Ping(n))) for n in range(100))
        link.dataReceived(pings)
        self.assertEqual([call for call, _ in link.transport.calls], ["abort"])
        self.assertTrue(link.closing)

    def test_lostLinkDropsWhatItHeld(self):
        """A connection lost during a burst writes nothing afterwards."""
        link = self.connect(lambda link, message: link.connectionLost(
            Failure(ConnectionDone())))
        burst = [wire.Ping(1), trade.Buy(1, "apple", (2, 1)), wire.Ping(2)]
        link.dataReceived(b"".join(frame(wire.encode(message)) for message in burst))
        self.assertEqual(link.transport.calls, [])
        self.assertEqual(len(link.owner.messages), 1)

    def test_byClock(self):
        """Left to the settings (None), a link coalesces on a reactor with
        file descriptors, not on a plain clock (tests, the simulator)."""
        settings = LinkSettings()
        plain = Link(RecordingOwner(), Clock(), settings, True)
        reactorLike = Clock()
        directlyProvides(reactorLike, IReactorFDSet)
        real = Link(RecordingOwner(), reactorLike, settings, True)
        self.assertIsNone(plain._context.batch)
        self.assertIs(real._context.batch, settings.writes)
        self.assertIsNone(Link(RecordingOwner(), reactorLike, LinkSettings(coalesce=False),
                               True)._context.batch)


class LinkContextTests(SynchronousTestCase):
    """The links of one owner share what they hold alike, one object for
    all, as long as it is what each would hold on its own."""

    def setUp(self):
        self.owner = RecordingOwner()
        self.clock = Clock()
        self.settings = LinkSettings()

    def link(self, owner=None, clock=None, settings=None):
        return Link(owner or self.owner, clock or self.clock,
                    settings or self.settings, True)

    def test_shared(self):
        first, second = self.link(), self.link()
        self.assertIs(first._context, second._context)
        self.assertEqual((second.owner, second.clock, second.settings),
                         (self.owner, self.clock, self.settings))

    def test_notShared(self):
        """Another owner, clock or settings: another context."""
        first = self.link()
        for other in (self.link(owner=RecordingOwner()), self.link(clock=Clock()),
                      self.link(settings=LinkSettings())):
            self.assertIsNot(other._context, first._context)

    def test_ownerKeepsRecentLater(self):
        """An owner that starts keeping recent messages after its first
        links were made: its later links note theirs, the earlier do not,
        as when each link read its owner's on its own."""
        before = self.link()
        self.owner.recent = RecentMessages()
        after = self.link()
        self.assertIsNone(before._context.recent)
        self.assertIs(after._context.recent, self.owner.recent)

    def test_ownerWithoutAttributes(self):
        """An owner that takes no attribute still gets its links made,
        each with a context of its own."""

        class Slotted:
            __slots__ = ()

        owner = Slotted()
        first = Link(owner, self.clock, self.settings, True)
        second = Link(owner, self.clock, self.settings, True)
        self.assertIs(first.owner, owner)
        self.assertIsNot(first._context, second._context)


class LinkOwnerTests(SynchronousTestCase):
    """Every kind of link owner says it is one, and has what a link calls."""

    def test_everyOwnerProvidesILinkOwner(self):
        from zope.interface.verify import verifyClass

        from twisted_bazaar.core.membership import Membership
        from twisted_bazaar.net.link import ILinkOwner
        from twisted_bazaar.net.overlay import Overlay
        from twisted_bazaar.status.client import _Asker
        from twisted_bazaar.tracker import Tracker
        from twisted_bazaar.tracker.check import AddressCheck
        from twisted_bazaar.web.watch import _Session

        for owner in (Overlay, Membership, Tracker, AddressCheck, _Asker, _Session):
            self.assertTrue(verifyClass(ILinkOwner, owner), owner)
