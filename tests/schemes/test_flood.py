"""
Tests of twisted_bazaar.discovery.flood, and of what the discovery package
itself provides (the plugins, the default scheme).

Flooding moved behind IDiscovery without a change of behaviour: a search
is answered by every shop that offers, replies are collected for a window,
and offers come out shortest path first.  Node 1 is the one under test;
node 2 is a relay, node 9 a far buyer or seller.
"""

from twisted.internet.address import IPv4Address
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from twisted_bazaar.daemon.build import plugScheme
from twisted_bazaar.schemes.flood import messages as floodmsg
from twisted_bazaar import wire
from twisted_bazaar.core.market import IDiscovery, Offer, discoveryOf
from twisted_bazaar.daemon.registry import buildScheme, discoveryPlugins
from twisted_bazaar.schemes import IDiscoveryPlugin
from twisted_bazaar.schemes.flood.discovery import FloodDiscovery
from twisted_bazaar.cli.buy import schemeSettings
from twisted_bazaar.schemes.index.node import IndexDiscovery
from twisted_bazaar.roles.seller import Seller

from tests.schemes import FindEvents, StaticShop
from tests import records
from tests.helpers import (flooded, NODE_HOST, NODE_PORT, countedCalls, feed, linkPeer,
                           makeNode, sent)

WINDOW = 1.0


class DiscoveryPackageTests(SynchronousTestCase):
    """The schemes are plugins, and flood is what a node gets by default."""

    def test_plugins(self):
        plugins = discoveryPlugins()
        self.assertEqual(sorted(plugins), ["chord", "flood", "index", "superpeer"])
        for name, plugin in plugins.items():
            verifyObject(IDiscoveryPlugin, plugin)
            node = makeNode(1)
            scheme = buildScheme(node, name)
            self.assertIs(node.discovery, scheme)
            self.assertEqual(scheme.name, name)
            verifyObject(IDiscovery, scheme)
        self.assertIsInstance(buildScheme(makeNode(1), "flood"), FloodDiscovery)
        self.assertIsInstance(buildScheme(makeNode(1), "index"), IndexDiscovery)

    def test_noSchemeIsAWiringMistake(self):
        """Nothing attaches a scheme behind its builder's back: a role on
        a node without one is refused, naming the fix."""
        node = makeNode(1)
        error = self.assertRaises(RuntimeError, discoveryOf, node)
        self.assertIn("buildScheme", str(error))
        self.assertRaises(RuntimeError, Seller, node, {"apple": 1})
        self.assertIsNone(node.discovery)

    def test_chosenSchemeIsKept(self):
        node = makeNode(1)
        scheme = plugScheme(node, IndexDiscovery(node))
        self.assertIs(discoveryOf(node), scheme)
        Seller(node, {"apple": 1})
        self.assertIs(node.discovery, scheme)

    def test_options(self):
        """The flood scheme brings --ttl, --seen-limit and --settle, with
        defaults; a client of daemons (``bazaar buy``) settles."""
        plugin = discoveryPlugins()["flood"]
        self.assertEqual([option.name for option in plugin.options],
                         ["ttl", "seen-limit", "settle"])
        scheme = buildScheme(makeNode(1), "flood", ttl=3, seen_limit=100)
        self.assertEqual((scheme.ttl, scheme.router.seen_limit, scheme.settle),
                         (3, 100, 0.0))
        self.assertFalse(hasattr(scheme, "__dict__"),
                         "a simulated node's discovery keeps its fields in slots")
        self.assertEqual(schemeSettings("flood"),
                         {"ttl": wire.DEFAULT_TTL, "seen_limit": 10_000, "settle": 0.1})


class FloodSellingTests(SynchronousTestCase):
    """A search that reaches node 1 is answered by each shop that offers."""

    def setUp(self):
        self.node = makeNode(1)
        self.flood = plugScheme(self.node, FloodDiscovery(self.node))
        self.relay = linkPeer(self.node, 2)

    def search(self, search_id=100, item="apple", buyer=9):
        """A search from buyer through the relay; what the relay got back."""
        feed(self.relay, floodmsg.Search(search_id, item, (buyer, 2), 5))
        return sent(self.relay)

    def reply(self, path, search_id=100, item="apple"):
        return floodmsg.Reply(search_id, item, path, 1, NODE_HOST, NODE_PORT)

    def test_replyAlongReversePath(self):
        shop = StaticShop(apple=1)
        self.flood.advertise(shop)
        self.assertEqual(self.search(), [self.reply((1, 2, 9))])
        self.assertEqual(shop.asked, [("apple", 9)])

    def test_replyDirectWhenLinkedToBuyer(self):
        self.flood.advertise(StaticShop(apple=1))
        buyer = linkPeer(self.node, 9)
        self.assertEqual(self.search(), [])
        self.assertEqual(sent(buyer), [self.reply((1, 9))])

    def test_shopThatRefusesGetsNoReply(self):
        shop = StaticShop(pear=1)
        self.flood.advertise(shop)
        self.assertEqual(self.search(), [])
        self.assertEqual(shop.asked, [("apple", 9)])

    def test_noShopNoReply(self):
        self.assertEqual(self.search(), [])

    def test_oneReplyPerOfferingShop(self):
        first, refusing, second = StaticShop(apple=1), StaticShop(), StaticShop(apple=3)
        for shop in (first, refusing, second):
            self.flood.advertise(shop)
        self.assertEqual(self.search(), [self.reply((1, 2, 9))] * 2)
        for shop in (first, refusing, second):
            self.assertEqual(shop.asked, [("apple", 9)])

    def test_stockChangesSayNothing(self):
        """Flooding has nobody to tell: the next search asks the shop."""
        shop = StaticShop(apple=1)
        self.flood.advertise(shop)
        self.flood.stockChanged("apple", 0)
        self.flood.stockChanged("pear", 4)
        self.assertEqual(sent(self.relay), [])

    def test_sellerReservesThroughFlood(self):
        """The seller role still holds a unit per buyer that searched, as
        far as its limits allow: of its 3 apples, one is held for the
        first buyer; the second buyer's search is answered unheld.  With
        one apple left, held, only its buyer is answered."""
        seller = Seller(flooded(self.node), {"apple": 3})
        self.assertEqual(self.search(100, buyer=9), [self.reply((1, 2, 9), 100)])
        self.assertEqual(self.search(101, buyer=8), [self.reply((1, 2, 8), 101)])
        self.assertEqual(seller.free("apple"), 2)
        seller.stock["apple"] = 1
        self.assertEqual(self.search(102, buyer=8), [])
        self.assertEqual(self.search(103, buyer=9), [self.reply((1, 2, 9), 103)])


class FloodFindingTests(SynchronousTestCase):
    """Node 1 looks for offers: one flooded search, a window of replies."""

    def setUp(self):
        self.node = makeNode(1)
        self.clock = self.node.clock
        self.flood = plugScheme(self.node, FloodDiscovery(self.node))
        self.events = FindEvents(self.node)

    def results(self, d):
        found = []
        d.addCallback(found.append)
        return found

    def startFind(self, *peers, item="apple"):
        """Link the peers and find item; (search id, results, links)."""
        links = [linkPeer(self.node, peer) for peer in peers]
        found = self.results(self.flood.find(item, WINDOW))
        searches = [sent(link) for link in links]
        [[search]] = searches[:1]
        for other in searches[1:]:
            self.assertEqual(other, [search])
        return search, found, links

    def test_cannotFindWithoutLinks(self):
        self.assertFalse(self.flood.canFind())
        linkPeer(self.node, 2)
        self.assertTrue(self.flood.canFind())

    def test_noLinksNoOffersAtOnce(self):
        found = self.results(self.flood.find("apple", WINDOW))
        self.assertEqual(found, [[]])
        self.assertEqual(self.events.events, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_searchFloodedToEveryLink(self):
        search, found, _ = self.startFind(2, 3, 4)
        self.assertEqual(search, floodmsg.Search(search.id, "apple", (1,), wire.DEFAULT_TTL))
        self.assertEqual(found, [])
        self.assertEqual(self.events.events, [("findStarted", "apple")])

    def test_offersAfterWindowShortestFirst(self):
        search, found, [relay, near] = self.startFind(2, 5)
        relay.transport.peerAddr = IPv4Address("TCP", "198.51.100.2", 5000)
        near.transport.peerAddr = IPv4Address("TCP", "203.0.113.5", 5000)
        feed(relay, floodmsg.Reply(search.id, "apple", (7, 4, 2, 1), 7, "far.example", 7007))
        feed(near, floodmsg.Reply(search.id, "apple", (5, 1), 5, "near.example", 5005))
        feed(relay, floodmsg.Reply(search.id, "apple", (6, 2, 1), 6, "", 0))
        self.clock.advance(WINDOW - 0.01)
        self.assertEqual(found, [])
        self.clock.advance(0.01)
        offers = [Offer(5, (1, 5), "near.example", 5005), Offer(6, (1, 2, 6), "", 0),
                  Offer(7, (1, 2, 4, 7), "far.example", 7007)]
        self.assertEqual(found, [offers])
        self.assertEqual(self.events.events,
                         [("findStarted", "apple"), ("offersFound", "apple", offers)])
        # Each names the group of the link whose reply named its host.
        self.assertEqual([offer.namedBy for offer in found[0]],
                         ["203.0.0.0/16", "198.51.0.0/16", "198.51.0.0/16"])

    def test_windowWithNoReply(self):
        _, found, _ = self.startFind(2)
        self.clock.advance(WINDOW)
        self.assertEqual(found, [[]])

    def test_repliesToOtherSearchesOrItemsIgnored(self):
        search, found, [relay] = self.startFind(2)
        feed(relay, floodmsg.Reply(search.id + 1, "apple", (6, 2, 1), 6, "", 0))
        feed(relay, floodmsg.Reply(search.id, "pear", (6, 2, 1), 6, "", 0))
        self.clock.advance(WINDOW)
        self.assertEqual(found, [[]])

    def test_lateReplyIgnored(self):
        search, found, [relay] = self.startFind(2)
        self.clock.advance(WINDOW)
        feed(relay, floodmsg.Reply(search.id, "apple", (6, 2, 1), 6, "", 0))
        self.assertEqual(found, [[]])

    def test_settledAfterTheFirstOffer(self):
        """``bazaar buy`` of a housemate's file waited its whole second's
        window for offers, the one it had coming in milliseconds: a search
        of a node that settles closes that long past its first offer,
        with the offers in hand, and no sooner than it would have."""
        self.flood.settle = 0.1
        search, found, [near, relay] = self.startFind(5, 2)
        self.clock.advance(0.05)
        feed(near, floodmsg.Reply(search.id, "apple", (5, 1), 5, "", 0))
        self.clock.advance(0.05)
        feed(relay, floodmsg.Reply(search.id, "apple", (6, 2, 1), 6, "", 0))
        self.clock.advance(0.049)
        self.assertEqual(found, [])
        self.clock.advance(0.001)
        self.assertEqual(found, [[Offer(5, (1, 5)), Offer(6, (1, 2, 6))]])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        search, found, [near, _] = self.startFind(5, 2)
        self.clock.advance(WINDOW - 0.05)
        feed(near, floodmsg.Reply(search.id, "apple", (5, 1), 5, "", 0))
        self.clock.advance(0.05)
        self.assertEqual(found, [[Offer(5, (1, 5))]], "the window, not later")

    def test_eachFindItsOwnSearch(self):
        first, found_first, [relay] = self.startFind(2)
        found_second = self.results(self.flood.find("apple", WINDOW))
        [second] = sent(relay)
        self.assertNotEqual(second.id, first.id)
        feed(relay, floodmsg.Reply(second.id, "apple", (6, 2, 1), 6, "", 0))
        self.clock.advance(WINDOW)
        self.assertEqual(found_first, [[]])
        self.assertEqual(found_second, [[Offer(6, (1, 2, 6))]])



class UnsignedOfferLinesTests(SynchronousTestCase):
    """
    A buyer with a key ignores offers not signed by their sellers, and the
    lines it writes about them go through its peer log: whoever floods it
    with unsigned replies gets at most 5 logged per 10 s, the rest summed
    up in one line.
    """

    def test_linesBounded(self):
        me = records.identity(41)
        node = makeNode(me.id, identity=me)
        flood = plugScheme(node, FloodDiscovery(node))
        relay = linkPeer(node, 2)
        flood.find("apple", 20.0)
        [search] = sent(relay)
        with capturedLogs() as events:
            for n in range(2000):
                feed(relay, floodmsg.Reply(search.id, "apple", (6, 2, me.id), 6, "", 0))
                node.clock.advance(0.004)
            node.clock.advance(2.5)
        lines = [formatEvent(event) for event in events]
        ignored = [line for line in lines if line.startswith("ignoring an offer")]
        self.assertEqual(len(ignored), 5)
        self.assertIn("ignoring an offer from node 2 at 10.0.0.99:50000 not signed by "
                      "seller 6", ignored)
        # The search checks CHECKED_PER_LINK of the link's replies, the rest
        # are dropped unchecked and unsaid.
        self.assertIn("59 more lines like 'ignoring an offer from {peer} not signed "
                      "by seller {seller}' from 10.0.0.0/16 in the last 10 s, not logged", lines)
        self.assertEqual(len(lines), 6)


class RepliesCheckedTests(SynchronousTestCase):
    """
    A neighbour on a search's way replays one reply, signed by another key
    than its own, for as long as the search's window lasts: each was a
    signature check (the buyer trusts no reply relayed by another node
    unchecked), for a few hundred bytes sent again.  A search checks at
    most CHECKED_PER_LINK replies that came over one link, valid or not
    (docs/reliability.md, "The fourteenth round").
    """

    def test_repliesCheckedPerLinkAreBounded(self):
        from twisted_bazaar.identity import keys
        from twisted_bazaar.schemes.flood.discovery import CHECKED_PER_LINK, OFFERS_PER_LINK
        me, seller, near = records.identity(41), records.identity(42), records.identity(43)
        node = makeNode(me.id, identity=me)
        flood = plugScheme(node, FloodDiscovery(node))
        replayer, honest = linkPeer(node, 2), linkPeer(node, near, source="10.1.0.9")
        found = []
        flood.find("apple", 1.0).addCallback(found.append)
        [search] = sent(replayer)
        sent(honest)
        checks = countedCalls(self, keys, "verify")
        replayed = seller.signed(floodmsg.Reply(search.id, "apple", (seller.id, 2, me.id),
                                              seller.id, "seller.example", 7007))
        for _ in range(2000):
            feed(replayer, replayed)
        self.assertLessEqual(len(checks), CHECKED_PER_LINK)
        self.assertGreaterEqual(CHECKED_PER_LINK, OFFERS_PER_LINK)
        feed(honest, floodmsg.Reply(search.id, "apple", (near.id, me.id), near.id, "", 0))
        node.clock.advance(1.0)
        [offers] = found
        self.assertIn(near.id, [offer.seller for offer in offers])
