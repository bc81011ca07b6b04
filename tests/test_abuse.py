"""
Attacks on trading (issue 13), each on the in-memory network with a fake
clock: what one attacking node can do to an honest buyer, and the bound
within which the honest buyer still buys.
"""

import random

import attr
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    WiredLink,
    clockStartMs,
    feed,
    flooded,
    linkPeer,
    makeNode,
    provenLink,
    sent,
)
from twisted_bazaar.daemon.build import plugScheme
from twisted_bazaar.wire.ids import wireId
from twisted_bazaar import wire
from twisted_bazaar.net.eviction import GRACE
from twisted_bazaar.identity.keys import Identity, signedBy
from twisted_bazaar.net.limits import BURST_FACTOR, DEFAULT_SEARCH_RATE
from twisted_bazaar.net.link import Link, LinkSettings
from twisted_bazaar.core.node import Node, NodeConfig
from twisted_bazaar.net.overlay import OverlayFactory
from twisted_bazaar.net.opening import NotConnected
from twisted_bazaar.roles.buyer import Buyer
from twisted_bazaar.roles.seller import RESERVED_SHARE, Seller
from twisted_bazaar.wire.trade import Ask, Buy, BuyOK
from twisted_bazaar.schemes.flood.discovery import OFFERS_PER_LINK, FloodDiscovery
from twisted_bazaar.schemes.flood.messages import Reply, Search
from twisted_bazaar.testing import Market, MemoryConnector
from twisted_bazaar.testing.market import NodeClock
from twisted_bazaar.tracker import DEFAULT_TRACKER_PORT
from twisted_bazaar.testing.linking import linkAt

#: Virtual seconds for the overlay to form.
SETTLE = 10
#: The bound within which an honest buyer must still buy.
BOUND = 10
#: A buy's lifetime (ms), and when the buys made up here expire: counted
#: from where the fake clocks start.
LIFETIME = 300_000
EXPIRES = clockStartMs() + LIFETIME


class _AttackCase(SynchronousTestCase):
    """A seller, an attacking node linked to it and to the buyer, and the
    buyer, all neighbours of each other."""

    STOCK = 4

    def setUp(self):
        self.market = Market(seed=13)
        self.seller = self.market.addNode(seller={"stock": {"apple": self.STOCK}})
        self.attacker = self.market.addNode()
        self.market.run(SETTLE)

    def addBuyer(self):
        buyer = self.market.addNode(buyer={"wants": ["apple"]})
        self.market.run(0.5)
        return buyer

    def boughtWithin(self, buyer, seconds, everySecond=lambda: None):
        """Run until buyer's want is met, at most seconds; return how long
        it took (None if it never was)."""
        role = self.market.role(buyer, "buyer")
        for tenth in range(int(seconds * 10)):
            if role.satisfied:
                return tenth / 10
            if tenth % 10 == 0:
                everySecond()
            self.market.run(0.1)
        return None


class HoardingTests(_AttackCase):
    """
    One link sends searches under made-up buyer ids, again and again, to
    hold every unit: the seller holds at most half its stock for them,
    and the honest buyer buys a unit that is offered unheld.
    """

    def test_madeUpBuyersCannotHoard(self):
        seller = self.market.role(self.seller, "seller")
        link = self.attacker.links[self.seller.id]
        names = iter(range(10**6, 2 * 10**6))

        def hoard():
            for _ in range(50):
                fake = next(names)
                link.send(Search(fake, "apple", (fake, self.attacker.id), 1))

        for _ in range(5):
            hoard()
            self.market.run(1)
        held = self.STOCK - seller.free("apple")
        self.assertEqual(held, max(1, self.STOCK // 4))
        self.assertLessEqual(len(seller.leases), self.STOCK // RESERVED_SHARE)
        took = self.boughtWithin(self.addBuyer(), BOUND, hoard)
        self.assertIsNotNone(took, "the honest buyer did not buy")
        self.assertLessEqual(len(seller.leases), self.STOCK // RESERVED_SHARE)


class ForgedOfferTests(SynchronousTestCase):
    """
    A neighbour of the buyer (node 2) answers its search at once with
    forged offers: one hop in the real seller's name (as if it were
    seller 6), two hops in seller 6's name through itself, and a made-up
    seller's, none with an address, and would swallow the buys.  The real
    offer of seller 6 comes over relay 3, with its address.
    """

    def test_forgedOffersLose(self):
        node = makeNode(1)
        attacker, relay = linkPeer(node, 2), linkPeer(node, 3)
        buyer = Buyer(flooded(node), ["apple"], search_window=1.0, buy_timeout=2.0)
        buyer.linkAdded(2)
        [search] = sent(attacker)
        sent(relay)
        feed(attacker, Reply(search.id, "apple", (6, 1), 6, "", 0),
             Reply(search.id, "apple", (6, 2, 1), 6, "", 0),
             Reply(search.id, "apple", (42, 2, 1), 42, "", 0))
        self.assertEqual([m.code for m in sent(attacker)], ["wrongway"])
        feed(relay, Reply(search.id, "apple", (6, 7, 3, 1), 6, "10.0.0.6", 6006))
        node.clock.advance(1.0)
        self.assertEqual([request[:2] for request in node.connector.requests],
                         [("10.0.0.6", 6006)])
        self.assertEqual((sent(attacker), sent(relay)), ([], []))
        seller = node.connector.connectLast()
        feed(seller, wire.ThisIsMe(6, 6006, "10.0.0.6"))
        [_, buy] = sent(seller)
        feed(seller, BuyOK(buy.id, "apple", (6, 1)))
        self.assertTrue(buyer.satisfied)
        self.assertEqual([p.seller for p in buyer.bag], [6])


class ReplyFloodTests(SynchronousTestCase):
    """A neighbour floods the buyer's search with replies: the search
    keeps OFFERS_PER_LINK of them, and the real offer too."""

    def test_offersBoundedPerLink(self):
        node = makeNode(1)
        attacker, relay = linkPeer(node, 2), linkPeer(node, 3)
        found = []
        discovery = plugScheme(node, FloodDiscovery(node))
        discovery.find("apple", 1.0).addCallback(found.append)
        [search] = sent(attacker)
        feed(attacker, *[Reply(search.id, "apple", (seller, 2, 1), seller, "", 0)
                         for seller in range(100, 1100)])
        feed(relay, Reply(search.id, "apple", (6, 3, 1), 6, "10.0.0.6", 6006))
        node.clock.advance(1.0)
        [offers] = found
        self.assertEqual(len(offers), OFFERS_PER_LINK + 1)
        self.assertIn(6, [offer.seller for offer in offers])


class SlotExhaustionTests(SynchronousTestCase):
    """
    Sixteen connections from other local addresses take every slot of a
    seller (8 overlay, 8 direct) and keep reconnecting.  A newcomer evicts
    the newest attacker past its grace period; the honest buyer, once it
    bought, is a proven trading partner and is never evicted.
    """

    def setUp(self):
        self.node = makeNode(1)
        plugScheme(self.node, FloodDiscovery(self.node))
        self.seller = Seller(flooded(self.node), {"apple": 5})
        self.factory = OverlayFactory(self.node)
        self.attackers = iter(range(100, 10_000))

    def connect(self, host, peer_id, purpose=None):
        peer = WiredLink(self.factory, host, 40000)
        peer.say({"type": "thisisme", "id": wireId(peer_id), "port": 0, "host": "",
                  **({"purpose": purpose} if purpose else {})})
        return peer

    def attack(self, count):
        peers = []
        for _ in range(count):
            n = next(self.attackers)
            purpose = "direct" if n % 2 else None
            peers.append(self.connect(f"127.0.{n // 250}.{n % 250}", n, purpose))
        return peers

    def test_honestBuyerGetsInAndStays(self):
        first = self.attack(16)
        self.assertEqual(self.node.linkCount(), 16)
        self.assertTrue(all(not peer.closed for peer in first))
        self.node.clock.advance(GRACE)
        buyer = self.connect("127.0.0.1", 7, "direct")
        self.assertEqual([m["type"] for m in buyer.heard()], ["thisisme"])
        self.assertIn(7, self.node.links)
        buy = {"type": "buy", "id": 77, "item": "apple", "path": ["7", "1"],
               "expires": int(self.node.clock.seconds() * 1000) + LIFETIME}
        buyer.say(buy)
        [ok] = buyer.heard()
        self.assertEqual((ok["type"], ok["id"]), ("buyOK", 77))
        for _ in range(5):
            self.node.clock.advance(GRACE)
            self.attack(16)
            self.assertIn(7, self.node.links)
            self.assertFalse(buyer.closed)
            self.assertLessEqual(self.node.linkCount(), self.node.overlay.capacity())
            # Trade keeps a direct link from closing when idle.
            buyer.say(buy)
            self.assertEqual([m["type"] for m in buyer.heard()], ["buyOK"])
        self.assertEqual(self.seller.stock, {"apple": 4})


class _Registrant:
    """Owner of a raw tracker connection that registers a made-up node and
    stays registered (answering the tracker's pings)."""

    def __init__(self, port, host):
        self.hello = wire.ThisIsMe(-1, port, host)

    def linkMade(self, link):
        link.send(self.hello)

    def messageReceived(self, link, message):
        if type(message) is wire.ThisIsYou:
            link.identified("tracker")

    def linkLost(self, link, reason):
        pass


class TrackerPoisoningTests(_AttackCase):
    """
    Two hundred registrations advertise addresses where no node of theirs
    listens: dead ports, and the tracker's own.  The tracker checks each
    address before it introduces anyone there, so the honest buyer is
    only ever introduced to real nodes, and buys within the bound.
    """

    def test_uncheckedAddressesNeverIntroduced(self):
        network = self.market.network
        fakes = []
        for n in range(200):
            host, port = ("tracker", DEFAULT_TRACKER_PORT) if n % 2 else ("node1", 9)
            link = Link(_Registrant(port, host), network.clock, LinkSettings(), False)
            network.connect("tracker", DEFAULT_TRACKER_PORT, link, from_host=f"poison{n}")
            fakes.append(link)
        self.market.run(1)
        registry = self.market.tracker.registry
        self.assertEqual(len(registry), 202)
        real = {self.seller.id, self.attacker.id}
        self.assertEqual(set(registry.members()), real)
        buyer = self.addBuyer()
        took = self.boughtWithin(buyer, BOUND)
        self.assertIsNotNone(took, "the honest buyer did not buy")
        self.assertEqual(set(registry.members()), real | {buyer.id})
        self.assertTrue(all(link.peer_id == "tracker" for link in fakes))


class SignedTradeTests(SynchronousTestCase):
    """
    Nodes with keys sign reply, buy, ask, buyOK, soldout and unsold, and
    take them only signed by their author: a relay can neither forge nor
    alter them.
    """

    def setUp(self):
        self.seller_key = Identity.fromRandom(random.Random(1))
        self.buyer_key = Identity.fromRandom(random.Random(2))
        self.mallory = Identity.fromRandom(random.Random(3))

    def sellerNode(self):
        node = makeNode(self.seller_key.id, identity=self.seller_key)
        relay = linkPeer(node, 5)
        seller = Seller(flooded(node), {"apple": 2})
        return node, relay, seller

    def test_sellerSellsOnlySignedBuys(self):
        node, relay, seller = self.sellerNode()
        me, buyer = self.seller_key.id, self.buyer_key.id
        buy = Buy(70, "apple", (buyer, 5, me), expires=EXPIRES)
        unsigned, mallorys = buy, self.mallory.signed(buy)
        altered = attr.evolve(self.buyer_key.signed(buy), id=72)
        feed(relay, unsigned, mallorys, altered)
        self.assertEqual((sent(relay), seller.ledger), ([], {}))
        feed(relay, self.buyer_key.signed(buy))
        [ok] = sent(relay)
        self.assertEqual((type(ok), ok.id, ok.path, ok.buyer_key),
                         (BuyOK, 70, (me, 5, buyer), self.buyer_key.key))
        self.assertTrue(signedBy(ok, me))
        feed(relay, self.buyer_key.signed(Ask(71, "apple", (buyer, 5, me),
                                              expires=EXPIRES)))
        [unsold] = sent(relay)
        self.assertEqual(unsold.code, "unsold")
        self.assertTrue(signedBy(unsold, me))

    def test_buyerTrustsOnlyTheSeller(self):
        """Offers and answers not signed by the seller they name are
        ignored: the buyer buys from the signed offer, and only the
        seller's own buyOK fills its bag."""
        node = makeNode(self.buyer_key.id, identity=self.buyer_key)
        relay = linkPeer(node, 5)
        plugScheme(node, FloodDiscovery(node))
        buyer = Buyer(flooded(node), ["apple"], search_window=1.0)
        buyer.linkAdded(5)
        [search] = sent(relay)
        me, seller = self.buyer_key.id, self.seller_key.id
        offer = Reply(search.id, "apple", (seller, 5, me), seller, "", 0)
        feed(relay, offer, self.mallory.signed(offer),
             attr.evolve(self.seller_key.signed(offer), path=(seller, 5, me, 9)))
        node.clock.advance(1.0)
        self.assertEqual(sent(relay), [])
        feed(relay, self.seller_key.signed(
            Reply(search.id + 1, "apple", (seller, 5, me), seller, "", 0)))
        node.clock.advance(30)
        [search] = [m for m in sent(relay) if type(m) is Search]
        feed(relay, self.seller_key.signed(attr.evolve(offer, id=search.id)))
        node.clock.advance(1.0)
        [buy] = sent(relay)
        self.assertTrue(signedBy(buy, me))
        ok = BuyOK(buy.id, "apple", (seller, 5, me), buyer_key=self.buyer_key.key)
        feed(relay, ok, self.mallory.signed(ok))
        self.assertEqual(buyer.bag, [])
        feed(relay, self.seller_key.signed(ok))
        self.assertEqual([p.seller for p in buyer.bag], [seller])

    def test_directFromAProvenAuthor(self):
        """A buy straight from its buyer, on a link where the buyer proved
        its key, needs no signature check (no relay stood in between), but
        must name the buyer's key, which its buyOK names in turn; on a
        link where it did not, it needs its signature."""
        node, relay, seller = self.sellerNode()
        me, buyer = self.seller_key.id, self.buyer_key.id
        link = provenLink(node, self.buyer_key)
        feed(link, Buy(79, "apple", (buyer, me), expires=EXPIRES),
             Buy(79, "apple", (buyer, me), expires=EXPIRES, key=self.mallory.key))
        self.assertEqual(sent(link), [])
        feed(link, Buy(80, "apple", (buyer, me), expires=EXPIRES, key=self.buyer_key.key))
        [ok] = sent(link)
        self.assertEqual((ok.id, ok.buyer_key), (80, self.buyer_key.key))
        keyless = linkPeer(node, 6)
        feed(keyless, Buy(81, "apple", (6, me), expires=EXPIRES))
        self.assertEqual((sent(keyless), list(seller.ledger)),
                         ([], [(self.buyer_key.key, 80)]))


class BuyFloodTests(SynchronousTestCase):
    """
    A stranger linked straight to a seller sends buys of an item it never
    stocked, each with a fresh id, as fast as its link carries them: each
    is closed on the seller's store and answered ``soldout``, signed.
    Unrated, one link's flood kept a live seller's core busy (18,660
    closes in 5 s, 1.65 CPU-s) and its honest buyers' buys waiting 20
    times longer (docs/reliability.md, "The seventeenth round"); a buy is
    held to the link's search rate as an ``ask`` is.
    """

    def test_buysOfOneLinkAreRated(self):
        seller_key, stranger = (Identity.fromRandom(random.Random(n)) for n in (1, 4))
        node = makeNode(seller_key.id, identity=seller_key)
        seller = Seller(flooded(node), {"apple": 2})
        link = provenLink(node, stranger)
        burst = int(DEFAULT_SEARCH_RATE * BURST_FACTOR)
        feed(link, *(Buy(n, "pear", (stranger.id, seller_key.id), expires=EXPIRES,
                         key=stranger.key) for n in range(1, 1001)))
        self.assertEqual(len(seller.closes.closed), burst)
        self.assertEqual({m.code for m in sent(link)}, {"soldout"})
        node.clock.advance(1.0)
        feed(link, *(Buy(n, "pear", (stranger.id, seller_key.id), expires=EXPIRES,
                         key=stranger.key) for n in range(2001, 3001)))
        self.assertEqual(len(seller.closes.closed), burst + int(DEFAULT_SEARCH_RATE))
        honest = Identity.fromRandom(random.Random(2))
        other = provenLink(node, honest, host="10.1.0.7")
        feed(other, Buy(9, "apple", (honest.id, seller_key.id), expires=EXPIRES,
                        key=honest.key))
        [ok] = sent(other)
        self.assertEqual((type(ok), ok.id), (BuyOK, 9))


class ImpostorTests(_AttackCase):
    """
    A node without the victims' keys claims the buyer's id at the seller
    and the seller's id at the buyer, again and again.  Neither honest
    link is replaced, and the purchase goes through, to the real buyer.
    """

    def test_claimedIdsChangeNothing(self):
        buyer = self.addBuyer()
        network = self.market.network
        claims, refused = [], []

        def claim(victim, target):
            impostor = Node(NodeClock(network.clock), random.Random(len(claims)),
                            MemoryConnector(network, f"evil{len(claims)}"),
                            NodeConfig())
            impostor.setAddress(f"evil{len(claims)}", 0)
            impostor.setId(victim.id)
            d = linkAt(impostor, target.host, target.port)
            d.addErrback(lambda reason: refused.append(reason.check(NotConnected)))
            claims.append(d)

        self.market.run(0.1)
        for _ in range(3):
            claim(buyer, self.seller)
            claim(self.seller, buyer)
            self.market.run(0.2)
        took = self.boughtWithin(buyer, BOUND)
        self.assertIsNotNone(took, "the honest buyer did not buy")
        self.assertEqual(refused, [NotConnected] * len(claims))
        [purchase] = self.market.role(buyer, "buyer").bag
        self.assertEqual(purchase.seller, self.seller.id)
        [sale] = self.market.role(self.seller, "seller").ledger.values()
        self.assertEqual(sale.buyer, buyer.id)
        self.assertIn(self.seller.overlay.linkTo(buyer.id), self.seller.overlay.greeter.keyed())
        self.assertIn(buyer.overlay.linkTo(self.seller.id), buyer.overlay.greeter.keyed())


class RefusingSellerTests(_AttackCase):
    """
    The attacker is a real keyed node: it offers apples in its own name,
    signed, one hop from the buyer, and then reads every buy and ask and
    answers none (its links still answer pings).  The honest buyer gives
    up on it as soon as the pings show it read them, buys from the honest
    seller within the bound, and holds exactly what it wanted, even when
    the attacker answers late.  The buyer is made to try the attacker's
    offer first, as an attacker that won the order would have it.
    """

    def setUp(self):
        self.market = Market(seed=13)
        self.seller = self.market.addNode(seller={"stock": {"apple": self.STOCK}})
        self.attacker = self.market.addNode(seller={"stock": {"apple": 100}})
        self.swallowed = []
        answering = self.market.role(self.attacker, "seller").answering
        answering.sell = answering.answerAsk = lambda message, link: self.swallowed.append(
            message)
        self.market.run(SETTLE)

    def test_refusingSellerCannotHoldTheBuyerBack(self):
        buyer = self.addBuyer()
        role = self.market.role(buyer, "buyer")
        role.order = lambda offers, order=role.order: sorted(
            order(offers), key=lambda offer: offer.seller != self.attacker.id)
        took = self.boughtWithin(buyer, BOUND)
        self.assertIsNotNone(took, "the honest buyer did not buy within the bound")
        kinds = [type(message) for message in self.swallowed]
        self.assertIn(Buy, kinds)
        self.assertIn(Ask, kinds)
        [purchase] = role.bag
        self.assertEqual(purchase.seller, self.seller.id)
        [refused] = {message.id for message in self.swallowed}
        self.attacker.route(self.attacker.identity.signed(
            BuyOK(refused, "apple", (self.attacker.id, buyer.id))))
        self.market.run(60)
        self.assertEqual([p.seller for p in role.bag], [self.seller.id])
        self.assertEqual(role.unresolved, {})
        self.assertEqual(buyer.store.pending(), [])
