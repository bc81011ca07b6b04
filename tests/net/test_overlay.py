"""
Tests of L{twisted_bazaar.net.overlay}: the link table of one node, seen from
the node whose peers are StringTransports: a link up tells the node its
peer is reachable, and idle direct links close (opening a link:
tests/net/test_opening.py; its views: test_linkviews.py; shutdown:
test_closing.py; the handshake: test_greeting.py; which links it takes
and keeps: test_admission.py).
"""

from twisted.internet.error import ConnectionRefusedError
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.net.overlay import DIRECT, OVERLAY
from twisted_bazaar.net.opening import Unreachable
from twisted_bazaar.wire import trade
from twisted_bazaar.testing.linking import linkAt

from tests.helpers import closeLink, feed, linkPeer, makeNode, openLink, sent

class ReachedTests(SynchronousTestCase):
    def setUp(self):
        self.node = makeNode(1)

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
        """A neighbour wanted where only a direct link is: a link of its
        own is opened, which the peer admits as an overlay link (before,
        the direct link was taken as one here alone, and the peer answered
        each search on it 'search does not travel on this link'); the
        duplicate rule keeps one link, an overlay link, never closed when
        idle, and the scheme is told of a new neighbour."""
        added = []

        class Added(NodeObserver):
            def linkAdded(self, peer_id):
                added.append(peer_id)

        self.node.events.addObserver(Added())
        direct = linkPeer(self.node, 9, purpose=DIRECT)
        d = linkAt(self.node, "h", 1, 9)
        self.assertNoResult(d)
        self.assertEqual(direct.purpose, DIRECT)
        link = self.node.connector.connectLast()
        hello = sent(link)[0]
        self.assertEqual((type(hello), hello.purpose), (wire.ThisIsMe, None))
        feed(link, wire.ThisIsMe(9, 5009))
        self.assertEqual(self.successResultOf(d), 9)
        kept = self.node.links[9]
        self.assertEqual(kept.purpose, OVERLAY)
        # Told of the direct link, then of the neighbour.
        self.assertEqual(added, [9, 9])
        self.keepAnswering([kept], 5 * self.IDLE)
        self.assertFalse(kept.transport.disconnecting)
