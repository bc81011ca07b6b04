"""
Tests of L{twisted_bazaar.net.overlay}: the link table of one node, seen from
the node whose peers are StringTransports.  connectTo, the table's views,
idle direct links and shutdown (the handshake: tests/net/test_greeting.py;
which links it takes and keeps: tests/net/test_admission.py).
"""

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionRefusedError
from twisted.logger import capturedLogs, formatEvent
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.net.overlay import (
    DIRECT,
    OVERLAY,
    NotConnected,
    Overlay,
    Unreachable,
)
from twisted_bazaar.transports.relay.circuit import CircuitRefused
from twisted_bazaar.wire import trade
from twisted_bazaar.testing.linking import linkAt

from tests import records
from tests.helpers import (
    NODE_HOST,
    _keyedHello,
    NODE_PORT,
    closeLink,
    codes,
    feed,
    linkPeer,
    makeNode,
    openLink,
    Recorder,
    sent,
)

ME = wire.ThisIsMe(1, NODE_PORT, NODE_HOST)


class ConnectToTests(SynchronousTestCase):
    def setUp(self):
        self.node = makeNode(1)

    def test_connectFiresWithPeerId(self):
        """connectTo fires with the peer's id once the handshake is done."""
        d = linkAt(self.node, "10.0.0.7", 5007)
        [(host, port, _, _)] = self.node.connector.requests
        self.assertEqual((host, port), ("10.0.0.7", 5007))
        link = self.node.connector.connectLast()
        self.assertNoResult(d)
        self.assertEqual(sent(link), [ME])
        feed(link, wire.ThisIsMe(7, 5007))
        self.assertEqual(self.successResultOf(d), 7)
        self.assertEqual(self.node.links, {7: link})

    def test_connectFailure(self):
        """A connection that cannot be made fails with NotConnected and
        frees its slot."""
        d = linkAt(self.node, "10.0.0.7", 5007)
        self.node.connector.failLast(ConnectionRefusedError())
        self.failureResultOf(d, NotConnected)
        self.assertEqual(self.node.overlay.pending, {})

    def test_aLinkUpIsReached(self):
        """A link that comes up tells the node its peer is reachable (the
        book's note that nothing listened there goes: tests/reach/
        test_book.py), whoever dialled."""
        d = linkAt(self.node, "10.0.0.7", 5007, 7)
        self.node.connector.failLast(ConnectionRefusedError())
        self.failureResultOf(d, Unreachable)
        self.assertTrue(self.node.unreachable(7))
        self.assertFalse(self.node.unreachable(8))
        link = openLink(self.node)
        feed(link, wire.ThisIsMe(7, 5008))
        self.assertIn(7, self.node.links)
        self.assertFalse(self.node.unreachable(7))

    def test_relayRefusedIsNotUnreachable(self):
        """A relay that refuses the circuit (all its circuits taken) says
        nothing of whether the peer listens: the connect fails, but not
        as Unreachable (a buyer goes along the offer's path, a scheme
        keeps the peer), and the peer is not remembered as unreachable;
        nothing listening is Unreachable."""
        d = linkAt(self.node, "10.0.0.7", 5007, 7)
        self.node.connector.failLast(CircuitRefused(
            "the relay refused the circuit: noslots: all 256 circuits are taken"))
        failure = self.failureResultOf(d, NotConnected)
        self.assertFalse(failure.check(Unreachable))
        self.assertFalse(self.node.unreachable(7))
        self.assertEqual(self.node.overlay.pending, {})
        d = linkAt(self.node, "10.0.0.7", 5007, 7)
        self.node.connector.failLast(ConnectionRefusedError())
        self.failureResultOf(d, Unreachable)

    def test_refusedHandshake(self):
        """A peer that closes before saying thisisme fails the connect."""
        d = linkAt(self.node, "10.0.0.7", 5007)
        link = self.node.connector.connectLast()
        feed(link, wire.Error("noslots", "full"))
        closeLink(link)
        self.failureResultOf(d, NotConnected)
        self.assertEqual(self.node.overlay.pending, {})

    def test_alreadyLinked(self):
        """No second connection to a peer this node is linked to."""
        linkPeer(self.node, 7)
        self.assertEqual(self.successResultOf(linkAt(self.node, "h", 1, 7)), 7)
        self.assertEqual(self.node.connector.requests, [])

    def test_noIdNoConnect(self):
        """An unregistered node cannot link: its peers would refuse it."""
        node = makeNode(None)
        self.failureResultOf(linkAt(node, "10.0.0.7", 5007), NotConnected)
        self.assertEqual(node.connector.requests, [])

    def test_noConnectAfterShutdown(self):
        """A node that is shutting down opens no new link: connectTo fails
        at once with NotConnected and asks the connector for nothing (it
        used to connect, and the link was only hung up once made)."""
        self.node.shutdown()
        self.failureResultOf(linkAt(self.node, "10.0.0.7", 5007), NotConnected)
        self.failureResultOf(linkAt(self.node, "10.0.0.7", 5007, 7), NotConnected)
        self.assertEqual(self.node.connector.requests, [])

    def test_purposeOfTheLink(self):
        """connectTo opens an overlay link unless told otherwise; a direct
        link names its purpose in this node's thisisme."""
        overlay = linkAt(self.node, "10.0.0.7", 5007)
        link = self.node.connector.connectLast()
        self.assertEqual(sent(link), [ME])
        feed(link, wire.ThisIsMe(7, 5007))
        self.assertEqual(self.successResultOf(overlay), 7)
        self.assertEqual(link.purpose, OVERLAY)
        direct = linkAt(self.node, "10.0.0.8", 5008, 8, DIRECT)
        link = self.node.connector.connectLast()
        self.assertEqual(sent(link), [wire.ThisIsMe(1, NODE_PORT, NODE_HOST,
                                                    purpose=DIRECT)])
        feed(link, wire.ThisIsMe(8, 5008))
        self.assertEqual(self.successResultOf(direct), 8)
        self.assertEqual(link.purpose, DIRECT)

    def test_cancel(self):
        """Cancelling connectTo abandons the connection and frees its slot."""
        d = linkAt(self.node, "10.0.0.7", 5007)
        d.cancel()
        self.failureResultOf(d)
        self.assertEqual(self.node.overlay.pending, {})


class TableTests(SynchronousTestCase):
    """What the table says of the links it holds."""

    def test_closedLinkForgetsAddress(self):
        """A peer's address is kept while it is linked, not after: a node
        that sees many peers come and go does not grow without bound."""
        node = makeNode(1)
        link = linkPeer(node, 7, port=5007)
        self.assertEqual(node.overlay.addresses[7][1], 5007)
        closeLink(link)
        self.assertEqual(node.overlay.addresses, {})

    def test_linksByPurpose(self):
        """What a view reads (the metrics' links by purpose): established
        links of each purpose, 0 for a purpose the node takes but has
        none of; links in their handshake do not count."""
        node = makeNode(1, max_connections=2, direct_slots=1)
        node.addPurpose("status", 2)
        self.assertEqual(node.linksByPurpose(), {OVERLAY: 0, DIRECT: 0, "status": 0})
        linkPeer(node, 7), linkPeer(node, 9, purpose=DIRECT)
        openLink(node)
        self.assertEqual(node.linksByPurpose(), {OVERLAY: 1, DIRECT: 1, "status": 0})
        self.assertEqual((node.slotsFor(OVERLAY), node.slotsFor("chord")), (2, 0))


class DirectIdleTests(SynchronousTestCase):
    """
    A direct link (a buyer's link to a seller) is closed politely after
    config.direct_idle seconds without a trade message; pings and pongs
    keep a link alive but are not trade.  Overlay links are never closed
    for idleness.
    """

    IDLE = 30.0
    INTERVAL = 10.0

    def setUp(self):
        self.node = makeNode(1, direct_idle=self.IDLE,
                             link=LinkSettings(ping_interval=self.INTERVAL))
        self.clock = self.node.clock

    def keepAnswering(self, links, seconds):
        """Advance the clock a ping interval at a time; each peer answers
        the node's ping and pings it too, so no link falls silent."""
        for _ in range(int(seconds // self.INTERVAL)):
            self.clock.advance(self.INTERVAL)
            for link in links:
                if link.transport.disconnecting:
                    continue
                for message in sent(link):
                    if type(message) is wire.Ping:
                        feed(link, wire.Pong(message.nonce))
                feed(link, wire.Ping(99))
                self.assertEqual(sent(link), [wire.Pong(99)])

    def test_directLinkClosedWhenIdle(self):
        """An inbound direct link hears dc and is closed after direct_idle
        seconds of pings only; the overlay link beside it stays."""
        overlay = linkPeer(self.node, 2)
        direct = linkPeer(self.node, 9, purpose=DIRECT)
        self.assertEqual(direct.idle_timeout, self.IDLE)
        self.assertIsNone(overlay.idle_timeout)
        self.keepAnswering([overlay, direct], self.IDLE - self.INTERVAL)
        self.assertFalse(direct.transport.disconnecting)
        self.clock.advance(self.INTERVAL)
        self.assertEqual(sent(direct)[-1:], [wire.Dc()])
        self.assertTrue(direct.transport.disconnecting)
        closeLink(direct)
        self.assertEqual(list(self.node.links), [2])
        self.keepAnswering([overlay], 10 * self.IDLE)
        self.assertFalse(overlay.transport.disconnecting)
        self.assertEqual(list(self.node.links), [2])

    def test_outboundDirectLinkClosedWhenIdle(self):
        """A direct link this node opened is closed the same way."""
        d = linkAt(self.node, "10.0.0.9", 5009, 9, DIRECT)
        link = self.node.connector.connectLast()
        feed(link, wire.ThisIsMe(9, 5009))
        self.assertEqual(self.successResultOf(d), 9)
        sent(link)
        self.keepAnswering([link], self.IDLE - self.INTERVAL)
        self.assertFalse(link.transport.disconnecting)
        self.clock.advance(self.INTERVAL)
        self.assertEqual(sent(link)[-1:], [wire.Dc()])
        self.assertTrue(link.transport.disconnecting)

    def test_tradeKeepsADirectLinkOpen(self):
        """A trade message on a direct link starts its idle time over: it
        is closed direct_idle seconds after the last one, not the first."""
        direct = linkPeer(self.node, 9, purpose=DIRECT)
        self.keepAnswering([direct], self.IDLE - self.INTERVAL)
        feed(direct, trade.Buy(5, "apple", (9, 1)))
        self.keepAnswering([direct], self.IDLE - self.INTERVAL)
        self.assertFalse(direct.transport.disconnecting)
        self.clock.advance(self.INTERVAL)
        self.assertEqual(sent(direct)[-1:], [wire.Dc()])
        self.assertTrue(direct.transport.disconnecting)

    def test_directBecomesOverlay(self):
        """A direct link the node then wants as an overlay link is reused
        and no longer closed when idle."""
        direct = linkPeer(self.node, 9, purpose=DIRECT)
        self.assertEqual(self.successResultOf(linkAt(self.node, "h", 1, 9)), 9)
        self.assertEqual(self.node.connector.requests, [])
        self.assertEqual(direct.purpose, OVERLAY)
        self.keepAnswering([direct], 5 * self.IDLE)
        self.assertFalse(direct.transport.disconnecting)




class ShutdownTests(SynchronousTestCase):
    def test_dcOnEveryLink(self):
        """shutdown says dc on established and pending links and closes
        them; whenClosed fires once the last one is gone."""
        node = makeNode(1)
        recorder = Recorder()
        node.addObserver(recorder)
        links = [linkPeer(node, 2), linkPeer(node, 3), openLink(node)]
        node.shutdown()
        self.assertEqual([sent(link) for link in links], [[wire.Dc()]] * 3)
        self.assertTrue(all(link.transport.disconnecting for link in links))
        self.assertEqual(recorder.events[-1], ("nodeStopping",))
        closed = node.whenClosed()
        for link in links:
            self.assertNoResult(closed)
            closeLink(link)
        self.assertIsNone(self.successResultOf(closed))

    def test_noLinks(self):
        """A node with no links is closed at once."""
        node = makeNode(1)
        node.shutdown()
        self.assertIsNone(self.successResultOf(node.whenClosed()))

    def test_refuseWhileStopping(self):
        """A stopping node takes no new peers."""
        node = makeNode(1)
        node.shutdown()
        link = openLink(node)
        self.assertEqual(codes(sent(link)), ["noslots"])
        self.assertTrue(link.transport.disconnecting)

    def test_connectInFlight(self):
        """A link still being connected when the node stops does not stop
        the others from hearing dc, nor keep whenClosed from firing."""
        node = makeNode(1)
        connecting = linkAt(node, "10.0.0.7", 5007)
        link = linkPeer(node, 2)
        node.shutdown()
        self.assertEqual(sent(link), [wire.Dc()])
        closed = node.whenClosed()
        closeLink(link)
        self.assertNoResult(closed)
        node.connector.failLast(ConnectionRefusedError())
        self.failureResultOf(connecting, NotConnected)
        self.assertIsNone(self.successResultOf(closed))

    def test_connectCompletesAfterShutdown(self):
        """A connection that completes after shutdown is hung up at once,
        without a handshake."""
        node = makeNode(1)
        connecting = linkAt(node, "10.0.0.7", 5007)
        node.shutdown()
        closed = node.whenClosed()
        link = node.connector.connectLast()
        self.assertEqual(sent(link), [])
        self.assertTrue(link.transport.disconnecting)
        closeLink(link)
        self.failureResultOf(connecting, NotConnected)
        self.assertIsNone(self.successResultOf(closed))


class PunchedLinkTests(SynchronousTestCase):
    """A link for a punched connection, and the word that a newer link
    replaced a peer's (L{Overlay.punchedLink}, the node's C{linkReplaced}
    event)."""

    def test_directionAndPurposeOfTheShared(self):
        node = makeNode(1)
        for inbound, purpose in ((True, OVERLAY), (False, DIRECT)):
            shared = linkPeer(node, 7 if inbound else 8, inbound=inbound,
                              purpose=purpose)
            link = node.overlay.punchedLink(shared)
            self.assertEqual((link.inbound, link.purpose), (inbound, purpose))
            self.assertIsNone(link.transport)

    def test_aFullNodeEvictsNobodyForIt(self):
        """
        A full node at home, its inbound links all through one relay (its
        relay's address group): a stranger linked through that relay
        punches, and the punched connection, from the stranger's own
        address, takes the place of the stranger's relayed link.  It
        needs no slot of its own: no honest link is evicted for it, and
        it is not refused for a full node.  Before, the node evicted the
        newest honest link of the relay's group for each punch (one a
        punch, the stranger's slot left as it was), or, with every link
        protected, refused the punched link of an honest peer.
        """
        node = makeNode(1, max_connections=3, direct_slots=0)
        stranger, honest = records.identity(5), [records.identity(6),
                                                 records.identity(7)]
        shared = linkPeer(node, stranger)
        linked = []
        for each in honest:
            node.clock.advance(60)
            linked.append(linkPeer(node, each))
        node.clock.advance(3600)
        self.assertEqual(node.overlay.linkCount(), node.overlay.capacity())
        with capturedLogs() as events:
            punched = node.overlay.punchedLink(shared)
            punched.makeConnection(StringTransport(
                peerAddress=IPv4Address("TCP", "203.0.113.5", 41000)))
            _keyedHello(node, punched, stranger, 5000, "", None, True)
        self.assertEqual([link.closing for link in linked], [False, False])
        self.assertEqual([formatEvent(e) for e in events if "evicting" in formatEvent(e)],
                         [])
        self.assertIs(node.links[stranger.id], punched)
        self.assertTrue(shared.closing)
        self.assertEqual(node.overlay.linkCount(), node.overlay.capacity())

    def test_aPunchedLinkWhoseSharedLinkIsGoneEvicts(self):
        """A punched connection whose shared link closed meanwhile takes
        a slot of its own: a full node makes room for it as for any."""
        node = makeNode(1, max_connections=2, direct_slots=0)
        linkPeer(node, records.identity(6))
        shared = linkPeer(node, records.identity(5))
        node.clock.advance(3600)
        punched = node.overlay.punchedLink(shared)
        closeLink(shared)
        linkPeer(node, records.identity(7))
        node.clock.advance(3600)
        with capturedLogs() as events:
            punched.makeConnection(StringTransport(
                peerAddress=IPv4Address("TCP", "203.0.113.5", 41000)))
        self.assertEqual(len([e for e in events if "evicting" in formatEvent(e)]), 1)

    def test_linkReplaced(self):
        """The node's observers are told once a newer link takes a peer's
        link's place, not for a first link."""
        node = makeNode(1)
        replaced = []

        class Watch(NodeObserver):
            linkReplaced = staticmethod(replaced.append)

        node.addObserver(Watch())
        linkPeer(node, 7)
        self.assertEqual(replaced, [])
        linkPeer(node, 7)
        self.assertEqual(replaced, [7])


class DialFailureTests(SynchronousTestCase):
    """What a failed dial says of the peer: a refusal, that it is out of
    reach; an answer then a close (a relay refusing the circuit), only
    that no link came up."""

    def test_refusedIsUnreachable(self):
        from twisted.internet.error import ConnectionRefusedError
        from twisted.python.failure import Failure

        from twisted_bazaar.net.overlay import Unreachable, dialFailure
        failure = dialFailure(Failure(ConnectionRefusedError()), "h", 9)
        self.assertIsInstance(failure, Unreachable)
        self.assertTrue(str(failure).startswith("h:9: "))

    def test_closedIsOnlyNotConnected(self):
        from twisted.internet.error import ConnectionClosed
        from twisted.python.failure import Failure

        from twisted_bazaar.net.overlay import NotConnected, Unreachable, dialFailure
        failure = dialFailure(Failure(ConnectionClosed("relay said no")), "h", 9)
        self.assertIsInstance(failure, NotConnected)
        self.assertNotIsInstance(failure, Unreachable)
