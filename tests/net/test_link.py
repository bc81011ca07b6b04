"""
Tests for L{twisted_bazaar.net.link}: a link's life (closed, retired,
lost), its timers (L{twisted_bazaar.net.keepalive}), how it names its peer
in the log and what the links of one owner share.

Each test drives a real L{Link} over a C{StringTransport} on a C{task.Clock},
with a stub owner that records what the link hands on.
"""

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionAborted, ConnectionDone
from twisted.internet.interfaces import ILoggingContext, IProtocol, IPushProducer
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import LegacyLogObserverWrapper, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import RecordingOwner
from twisted_bazaar.testing.capabilities import relayed
from twisted_bazaar.wire import trade
from twisted_bazaar import wire
from twisted_bazaar.net.link import ClosedHere, Link, LinkContext, LinkSettings, OwnContext
from twisted_bazaar.net.timers import deadlinesFor
from twisted_bazaar.net.recent import RecentMessages
from tests.net.links import LinkTestCase, sentMessages
from twisted_bazaar.net.capabilities import IChannelProtocol, IQueuedBeside, ISecureTransport
from zope.interface import implementer


@implementer(ISecureTransport)
class _SecureTransport(StringTransport):
    """A connection under an encrypted channel whose handshake is not done
    (no hash yet) until a test gives it one."""

    peerKey = None
    handshakeHash = None


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

    def test_timeoutOfALinkItOpened(self):
        """A link this side opened waits for its owner's answer (a
        node's tracker session: thisisyou), and the refusal names it;
        one whose owner names none waits for the peer's thisisme."""
        self.connect(inbound=False, handshake_timeout=10)
        self.owner.awaits = "thisisyou"
        self.clock.advance(10)
        self.assertEqual(self.sent(), [wire.Error("notim", "no thisisyou within 10 s")])
        self.connect(inbound=False, handshake_timeout=10)
        self.clock.advance(10)
        self.assertEqual(self.sent(), [wire.Error("notim", "no thisisme within 10 s")])

    def test_timeoutBeforeTheChannelIsUp(self):
        """Over an encrypted channel whose handshake is not done, the link
        waited for that handshake, and its refusal says so."""
        secure = _SecureTransport()
        self.clock = Clock()
        link = Link(RecordingOwner(), self.clock, LinkSettings(handshake_timeout=4), False)
        link.makeConnection(secure)
        self.clock.advance(4)
        self.assertEqual(sentMessages(secure),
                         [wire.Error("notim", "no channel handshake within 4 s")])
        secure = _SecureTransport()
        secure.handshakeHash = b"h" * 32
        link = Link(RecordingOwner(), self.clock, LinkSettings(handshake_timeout=4), True)
        link.makeConnection(secure)
        self.clock.advance(4)
        self.assertEqual(sentMessages(secure),
                         [wire.Error("notim", "no thisisme within 4 s")])

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
        intervals of silence drop the link without another ping: aborted,
        nothing more flushed to a peer that reads nothing."""
        self.connectIdentified()
        self.clock.advance(9.9)
        self.assertEqual(self.transport.value(), b"")
        self.clock.advance(0.1)
        self.assertEqual(self.sent(), [wire.Ping(1)])
        self.clock.advance(10)
        self.assertEqual(self.sent(), [wire.Ping(1), wire.Ping(2)])
        self.assertFalse(self.transport.disconnecting)
        self.assertFalse(self.transport.disconnected)
        self.clock.advance(10)
        self.assertTrue(self.transport.disconnecting)
        self.assertTrue(self.transport.disconnected)
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
        link.setIdleTimeout(idle)
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

    def test_timeoutTakenBack(self):
        """An idle timeout set back to None (a link given a purpose
        without one) is gone: the link says so, and is not closed for
        it."""
        link = self.connectIdle(idle=30)
        self.assertEqual(link.idle_timeout, 30)
        link.setIdleTimeout(None)
        self.assertIsNone(link.idle_timeout)
        self.clock.advance(10_000)
        self.assertFalse(self.transport.disconnecting)

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

    def test_aCloseOfItsOwnIsToldSo(self):
        """A link this side closed (a dc, a peer cut off), whose
        connection then closes cleanly, tells its owner so
        (L{ClosedHere}): a tracker's session said Twisted's "Connection
        was closed cleanly", which reads as the tracker's doing; a clean
        close the peer made, or any other reason, is told as it is."""
        link = self.connect()
        link.close("tracker said dc", routine=True)
        link.connectionLost(Failure(ConnectionDone()))
        [told] = self.owner.lost
        self.assertIsNotNone(told.check(ClosedHere))
        self.assertIsNotNone(told.check(ConnectionDone))
        self.assertEqual(told.getErrorMessage(), "this side closed the connection")
        for reason in (Failure(ConnectionDone()), Failure(ConnectionDone("said"))):
            self.owner.lost.clear()
            link = self.connect()
            if reason.value.args:
                link.close("closing")
            link.connectionLost(reason)
            self.assertEqual(self.owner.lost, [reason])

    def test_aCutSaysWhy(self):
        """A link this side dropped (a peer silent too long), whose
        connection is then aborted, tells its owner why: a tracker's
        session said only "this node cut the connection"."""
        link = self.connect()
        link.drop("silent for 30 s")
        link.connectionLost(Failure(ConnectionAborted()))
        [told] = self.owner.lost
        self.assertIsNotNone(told.check(ConnectionAborted))
        self.assertEqual(told.getErrorMessage(),
                         "this node cut the connection (silent for 30 s)")

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

    def test_overARelaysCircuit(self):
        """A relayed link's address is its relay's: said so, the peer
        named by id (the punch's lines, "no hole punched to node 7 at
        10.0.0.9:4242", named the relay's address as the peer's)."""
        link = Link(RecordingOwner(), Clock(), LinkSettings(), inbound=True)
        link.makeConnection(relayed(StringTransport(
            peerAddress=IPv4Address("TCP", "10.0.0.9", 4242)), "198.51.100.7"))
        link.identified(7)
        self.assertEqual(link.describe(), "node 7 (through the relay at 10.0.0.9:4242)")


class DirectionTests(SynchronousTestCase):
    """Either end of a link, whoever opened it, reads, logs and provides
    what any link does, and is one class: a subclass for inbound ends
    (8 bytes a link end less, tried twice) made every attribute read of
    a link's code see two classes, which CPython 3.11 does not
    specialize (reads of a link's slots took twice as long)."""

    def test_direction(self):
        for inbound in (True, False):
            link = Link(RecordingOwner(), Clock(), LinkSettings(), inbound=inbound)
            self.assertIs(link.inbound, inbound)
            self.assertIsInstance(link, Link)
            self.assertEqual(link.logPrefix(), "Link")

    def test_logsAsALink(self):
        """An inbound link's lines are in Link's namespace, as an outbound
        one's ([Link#info] in a daemon's log), its source the link."""
        for inbound in (True, False):
            link = Link(RecordingOwner(), Clock(), LinkSettings(), inbound=inbound)
            self.assertEqual(link.log.namespace, "twisted_bazaar.net.link.Link")
            self.assertIs(link.log.source, link)

    def test_providesWhatALinkProvides(self):
        """Either end provides what the transports ask a protocol for (an
        encrypted channel asks for IChannelProtocol, a relay for
        IQueuedBeside): 409a428f put its logger's class between Link and
        its @implementer, and a daemon answered no inbound link."""
        for inbound in (True, False):
            link = Link(RecordingOwner(), Clock(), LinkSettings(), inbound=inbound)
            for interface in (IProtocol, ILoggingContext, IPushProducer,
                              IChannelProtocol, IQueuedBeside):
                self.assertTrue(interface.providedBy(link), interface)

    def test_oneClass(self):
        inbound = Link(RecordingOwner(), Clock(), LinkSettings(), True)
        outbound = Link(RecordingOwner(), Clock(), LinkSettings(), False)
        self.assertIs(type(inbound), Link)
        self.assertIs(type(outbound), Link)

    def test_directionASlot(self):
        """Whether the peer opened it is a slot of its own: as the low bit
        of its pings' count (8 bytes a link end less, the fifteenth round)
        it was a property, which the greeting and admission read about
        nine times for each link end's handshake: 0.3 % more of a
        handshake's instructions (benchmarks.callcount handshake)."""
        self.assertIn("inbound", Link.__slots__)
        for inbound in (True, False):
            link = Link(RecordingOwner(), Clock(), LinkSettings(), inbound)
            self.assertEqual([link.nextNonce() for _ in range(3)], [1, 2, 3])
            self.assertIs(link.inbound, inbound)


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


class OwnContextTests(SynchronousTestCase):
    """An owner of one link at a time (a node's tracker session) is its
    link's context itself: what the link reads of a context is the
    owner's, as a L{LinkContext} of it would hold."""

    def owner(self, clock, settings):

        class Session(OwnContext):
            __slots__ = ("clock", "timers", "linkSettings", "node")

        session = Session()
        session.clock, session.timers = clock, deadlinesFor(clock)
        session.linkSettings, session.node = settings, object()
        return session

    def test_itsLinksContext(self):
        clock, settings = Clock(), LinkSettings()
        owner = self.owner(clock, settings)
        link = Link(owner, clock, settings, False)
        self.assertIs(link._context, owner)
        plain = LinkContext(owner, clock, settings, None)
        self.assertEqual(
            (link.owner, link.clock, link.settings, link.timers),
            (owner, clock, settings, plain.timers))
        for field in ("stats", "batch", "recent", "peer_log"):
            self.assertEqual(getattr(owner, field), getattr(plain, field), field)

    def test_whatItCountsAndBatches(self):
        """Its sends counted in the dict its settings give its node, and
        batched as its clock says (a reactor's: coalesced)."""

        class Counting(LinkSettings):
            __slots__ = ("counts",)

            def statsOf(self, owner):
                return self.counts.get(owner.node, self.stats)

        settings = Counting()
        owner = self.owner(Clock(), settings)
        settings.counts = {owner.node: {}}
        self.assertIs(owner.stats, settings.counts[owner.node])
        self.assertIsNone(owner.batch)
        settings.coalesce = True
        self.assertIs(owner.batch, settings.writes)


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
