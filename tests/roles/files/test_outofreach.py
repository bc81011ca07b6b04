"""
A buyer whose network lets out only the way it reaches its tracker (a
``ws:`` tracker) buys no file from a seller held at a relay it has no way
of that kind to (L{twisted_bazaar.reach.ways.wayOutTo},
L{twisted_bazaar.roles.files.outofreach.OutOfReach}): the file comes over
a connection of its own, which such a firewall drops.  The tracker and
its answers are fakes, the book a real one on a fake clock.
"""

import random
from types import SimpleNamespace

import attr
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.reach.asking import TrackerGone
from twisted_bazaar.reach.ways import wayOutTo
from twisted_bazaar.roles.files.download import Download
from twisted_bazaar.roles.files.outofreach import MOST_ASKING, OutOfReach
from twisted_bazaar.transports.path import CONFIGURED, NAMED, RELAYED, Path
from twisted_bazaar.testing import Market, MemoryNetwork
from twisted_bazaar.transports.websocket import WEBSOCKET
from twisted_bazaar.wire.ids import shortId
from tests.files.helpers import scratchDir
from tests.helpers import nodeReply
from tests.reach.test_book import TRACKERS, Owner, Tracker, bookOf
from tests.records import offerOf, signed

SELLER = 0x77
#: A public node's relay, where the seller at another home is held.
RELAY = "198.51.100.1:7701"
#: The way this node reaches its tracker: its WebSocket port.
WS_TRACKER = Path(WEBSOCKET, "192.0.2.1", 80, word=CONFIGURED)
FILE = (2**20, "ab" * 32, 9002)


class WsTracker(Tracker):
    """The tracker session of a node that reaches it by ``way`` (None:
    its TCP port)."""

    def __init__(self, way=WS_TRACKER):
        super().__init__()
        self.trackerWay = way


def whereabouts(tracker):
    """What L{wayOutTo} reads of a node: its tracker session, its book."""
    book = bookOf(tracker)
    return SimpleNamespace(tracker=lambda: tracker, book=book)


def relayedReply(ways=()):
    """The tracker's nodereply naming SELLER held at RELAY, with the
    relay's ways besides its port."""
    return wire.NodeReply(SELLER, "203.0.113.7", 9001, (
        Path(RELAYED, relay=RELAY, word=NAMED, ways=ways),))


class WayOutToTests(SynchronousTestCase):

    def test_noRelayNoTrackerByTcpOrTheTrackersRelay(self):
        """A seller that names no relay (its dial asks where it is), a
        node that reaches its tracker by TCP, or the tracker's own relay
        (served the way the tracker is reached): a way."""
        where = whereabouts(WsTracker())
        self.assertIs(wayOutTo(where, SELLER, None), True)
        self.assertIs(wayOutTo(where, SELLER, TRACKERS), True)
        self.assertIs(wayOutTo(whereabouts(WsTracker(None)), SELLER, RELAY), True)
        self.assertIs(wayOutTo(SimpleNamespace(tracker=lambda: None), SELLER, RELAY), True)

    def test_aRelayTheTrackerNamesNoWayOfTheKindTo(self):
        """A public node's relay named with no WebSocket way (it has no
        --ws-port): none; not known yet: None (ask the tracker)."""
        where = whereabouts(WsTracker())
        self.assertIsNone(wayOutTo(where, SELLER, RELAY))
        where.book.trackerNamed(relayedReply())
        self.assertIs(wayOutTo(where, SELLER, RELAY), False)

    def test_aRelayNamedWithAWayOfTheKind(self):
        where = whereabouts(WsTracker())
        where.book.trackerNamed(relayedReply((Path(WEBSOCKET, "198.51.100.1", 443),)))
        self.assertIs(wayOutTo(where, SELLER, RELAY), True)

    def test_aPathOfTheKindToTheSellerOrALocalAddress(self):
        """A WebSocket path to the seller itself (its --ws-peer), or a
        local address of it the tracker names (the same home): a way."""
        where = whereabouts(WsTracker())
        where.book.add(SELLER, Path(WEBSOCKET, "203.0.113.7", 443, word=CONFIGURED))
        self.assertIs(wayOutTo(where, SELLER, RELAY), True)
        where = whereabouts(WsTracker())
        where.book.trackerNamed(nodeReply(SELLER, "203.0.113.7", 9001, relay=RELAY,
                                          lan=("192.168.1.3",)))
        self.assertIs(wayOutTo(where, SELLER, RELAY), True)


class OutOfReachTests(SynchronousTestCase):

    def setUp(self):
        self.tracker = WsTracker()
        self.where = whereabouts(self.tracker)
        self.reach = OutOfReach(SimpleNamespace(whereabouts=self.where))
        self.offer = attr.evolve(offerOf(signed(5, "b-film.bin", file=FILE)),
                                 seller=SELLER, relay=RELAY)

    def reachable(self, offers):
        with capturedLogs() as events:
            kept = self.reach.reachable(offers)
        return kept, [formatEvent(event) for event in events]

    def test_aSellerHeldAtARelayWithNoWayOfTheKindIsNotBoughtFrom(self):
        """The seller's relay is named with no WebSocket way: its offer
        is left out, said once in an info line."""
        self.where.book.trackerNamed(relayedReply())
        kept, said = self.reachable([self.offer])
        self.assertEqual((kept, self.tracker.asked), ([], []))
        self.assertEqual(said, [
            f"b-film.bin: leaving out seller {shortId(SELLER)} (no buy from it, no bytes "
            "fetched from it): it is held at the relay at 198.51.100.1:7701, which the "
            "tracker names no websocket way to, and this node reaches its tracker by "
            "websocket: its file could not come"])
        self.assertEqual(self.reachable([self.offer]), ([], []))

    def test_aCountedItemIsBoughtAlongItsPath(self):
        """An offer of no file: its buy goes along the offer's path."""
        self.where.book.trackerNamed(relayedReply())
        counted = attr.evolve(self.offer, sha256=None)
        self.assertEqual(self.reachable([counted]), ([counted], []))

    def test_anUnknownSellerIsAskedAboutFirst(self):
        """The tracker's word on the seller is not fresh: it is asked
        where it is, once, and the offer taken once it names a way."""
        self.assertEqual(self.reachable([self.offer]), ([], []))
        self.assertEqual(self.reachable([self.offer]), ([], []))
        [(asked, d)] = self.tracker.asked
        self.assertEqual(asked, SELLER)
        d.callback(relayedReply((Path(WEBSOCKET, "198.51.100.1", 443),)))
        self.assertEqual(self.reachable([self.offer]), ([self.offer], []))
        self.assertEqual(self.reach.asking, {})

    def test_anUnknownSellerTheTrackerNamesNowhere(self):
        """The tracker names the seller nowhere: said, and asked again."""
        self.reachable([self.offer])
        self.tracker.asked.pop()[1].callback(wire.NodeReply(SELLER, "", 0))
        kept, said = self.reachable([self.offer])
        self.assertEqual((kept, len(said), len(self.tracker.asked)), ([], 1, 1))

    def test_theTrackerGoneOrStopped(self):
        """A question the tracker never answered is no error; stopping
        gives up the questions under way."""
        self.reachable([self.offer])
        self.tracker.asked.pop()[1].errback(TrackerGone("lost"))
        self.assertEqual(self.reach.asking, {})
        self.reachable([self.offer])
        [(_, d)] = self.tracker.asked
        self.reach.stop()
        self.assertEqual(self.reach.asking, {})
        self.assertIsNone(self.successResultOf(d))

    def test_questionsAreBounded(self):
        offers = [attr.evolve(self.offer, seller=SELLER + n) for n in range(20)]
        self.reachable(offers)
        self.assertEqual(len(self.tracker.asked), MOST_ASKING)


class BuyerTests(SynchronousTestCase):
    """The buyer role of a node in a L{Market} (in memory, a fake clock)
    whose tracker session is the fake's: the order it tries offers in."""

    def test_theBuyerLeavesOutASellerItCannotFetchFrom(self):
        """Of two sellers of b-film.bin, the one held at a public node's
        relay with no WebSocket way is not tried; the one at the
        tracker's own relay is."""
        market = Market(MemoryNetwork(rng=random.Random(1)), seed=2)
        node = market.addNode(buyer={"wants": ["b-film.bin"],
                                     "downloads": scratchDir(self)})
        self.addCleanup(market.stop, node)
        tracker = WsTracker()
        node.whereabouts.setSession(tracker)
        node.whereabouts.book.trackerNamed(relayedReply())
        far = attr.evolve(offerOf(signed(5, "b-film.bin", file=FILE)), seller=SELLER,
                          relay=RELAY)
        near = attr.evolve(offerOf(signed(6, "b-film.bin", file=FILE)), relay=TRACKERS)
        with capturedLogs():
            self.assertEqual(market.role(node, "buyer").order([far, near]), [near])


class DownloadTests(SynchronousTestCase):
    """A download's own sellers, learnt after the purchase (its next
    searches, a seller named later), pass the same filter."""

    def test_aSellerLearntLaterIsNotFetchedFrom(self):
        """Of two sellers a download learns of, the one held at a public
        node's relay with no WebSocket way is not kept (it was, where
        only the buyer's order left it out); the one at the tracker's own
        relay is."""
        market = Market(MemoryNetwork(rng=random.Random(1)), seed=2)
        node = market.addNode(buyer={"wants": ["b-film.bin"],
                                     "downloads": scratchDir(self)})
        self.addCleanup(market.stop, node)
        node.whereabouts.setSession(WsTracker())
        far = attr.evolve(offerOf(signed(5, "b-film.bin", file=FILE)), relay=RELAY)
        near = attr.evolve(offerOf(signed(6, "b-film.bin", file=FILE)), relay=TRACKERS)
        node.whereabouts.book.trackerNamed(wire.NodeReply(far.seller, "203.0.113.7", 9001, (
            Path(RELAYED, relay=RELAY, word=NAMED),)))
        fetcher = market.role(node, "buyer").fetcher
        download = Download(fetcher, "b-film.bin", FILE[1], FILE[0], near.seller)
        with capturedLogs():
            download.sellers.add([far, near])
        self.assertEqual(list(download.sources), [near.seller])
