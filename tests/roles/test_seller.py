"""
Tests of L{twisted_bazaar.roles.seller}: replies and reservations, buys
sold exactly once, soldout, and the plugin's option checks.

The seller is node 1.  Its buyers (9, 8) reach it through relay node 2
unless a test links them directly.
"""

import random

import attr
from zope.interface import directlyProvides
from twisted.application.service import Service
from twisted.internet import defer, task
from twisted.internet.interfaces import IReactorThreads
from twisted.logger import Logger, LogLevel, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.flood import messages as floodmsg
from twisted_bazaar.wire import trade
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.core.node import Node, NodeConfig
from twisted_bazaar.roles.seller import Sale, Seller, SellerPlugin, parseSell
from twisted_bazaar.roles.files.shop import FILE_UNITS
from twisted_bazaar.roles import seller as seller_module
from twisted_bazaar import wire
from twisted_bazaar.identity.keys import Identity, signedBy
from twisted_bazaar.identity.signer import Signer
from twisted_bazaar.store import Closed, MemoryStore, StoreError, WriterGone

from tests.helpers import (
    flooded,
    NODE_HOST,
    NODE_PORT,
    FakeConnector,
    clockStartMs,
    feed,
    linkPeer,
    makeNode,
    sent,
)

LEASE = 10.0
#: Where the tests' clocks start, in ms; the test buys' lifetime from there.
START, LIFETIME = clockStartMs(), 300_000
#: When the test buys expire, in ms on the tests' clocks.
EXPIRES = START + LIFETIME
#: The latest expiry a close made at the start covers: every buy sellable then.
COVERED = START + int(seller_module.MAX_EXPIRY_AHEAD * 1000)


def offer(search_id, path):
    """The reply node 1 sends for an apple."""
    return floodmsg.Reply(search_id, "apple", path, 1, NODE_HOST, NODE_PORT)


class SellerTests(SynchronousTestCase):
    def setUp(self):
        self.node = makeNode(1)
        self.clock = self.node.clock
        self.relay = linkPeer(self.node, 2)

    def sellerWith(self, **stock):
        return Seller(flooded(self.node), stock, lease=LEASE)

    def search(self, search_id, buyer=9, item="apple"):
        """A search from buyer, via the relay; return what the relay got."""
        feed(self.relay, floodmsg.Search(search_id, item, (buyer, 2), 5))
        return sent(self.relay)

    def buy(self, buy_id, buyer=9, item="apple"):
        """A buy from buyer, via the relay; return what the relay got."""
        feed(self.relay, trade.Buy(buy_id, item, (buyer, 2, 1), expires=EXPIRES))
        return sent(self.relay)

    # -- searches -------------------------------------------------------------

    def test_replyAlongReversedReturnPath(self):
        """A search for an item in stock is answered along its returnPath
        reversed: the seller first, the buyer last."""
        self.sellerWith(apple=3)
        self.assertEqual(self.search(100), [offer(100, (1, 2, 9))])

    def test_replyDirectWhenLinkedToBuyer(self):
        """With a link to the buyer, the reply takes it: path [seller, buyer]."""
        self.sellerWith(apple=3)
        buyer = linkPeer(self.node, 9)
        self.assertEqual(self.search(100), [])
        self.assertEqual(sent(buyer), [offer(100, (1, 9))])

    def test_noReplyWithoutStock(self):
        """Nothing is said for an item not sold here or sold out."""
        self.sellerWith(apple=0)
        self.assertEqual(self.search(100), [])
        self.assertEqual(self.search(101, item="pear"), [])

    def test_reservationHeldForLease(self):
        """A reply holds a unit for the lease, then the unit is free again."""
        seller = self.sellerWith(apple=2)
        self.search(100)
        self.assertEqual(seller.free("apple"), 1)
        self.clock.advance(LEASE - 0.5)
        self.assertEqual(seller.free("apple"), 1)
        self.clock.advance(0.5)
        self.assertEqual(seller.free("apple"), 2)
        self.assertEqual(seller.stock, {"apple": 2})

    def test_secondSearchRefreshes(self):
        """The same buyer searching again is answered again, still holds
        one unit, and its lease starts over."""
        seller = self.sellerWith(apple=2)
        self.search(100)
        self.clock.advance(6)
        self.assertEqual(self.search(101), [offer(101, (1, 2, 9))])
        self.assertEqual(seller.free("apple"), 1)
        self.clock.advance(LEASE - 0.5)
        self.assertEqual(seller.free("apple"), 1)
        self.clock.advance(0.5)
        self.assertEqual(seller.free("apple"), 2)

    def test_reservedUnitForItsBuyerOnly(self):
        """Another buyer gets no reply for a unit reserved for the first
        and cannot buy it, until the lease lapses."""
        seller = self.sellerWith(apple=2)
        self.search(100, buyer=9)
        self.buy(49, buyer=7)
        self.assertEqual((seller.stock["apple"], seller.free("apple")), (1, 0))
        self.assertEqual(self.search(101, buyer=8), [])
        [refused] = self.buy(50, buyer=8)
        self.assertEqual((refused.code, refused.id), ("soldout", 50))
        self.clock.advance(LEASE)
        self.assertEqual(self.search(102, buyer=8), [offer(102, (1, 2, 8))])

    def test_atMostHalfTheStockHeld(self):
        """
        Buyers together hold at most half an item's stock, and those whose
        searches came through one link at most a quarter (at least one):
        the others are offered the rest unheld, and the first buy takes it.
        A last unit is never held.
        """
        seller = self.sellerWith(apple=8, pear=1)
        other = linkPeer(self.node, 3)

        def replies(messages):
            return [m for m in messages if type(m) is floodmsg.Reply]

        for buyer in range(10, 16):
            self.assertEqual(len(replies(self.search(100 + buyer, buyer=buyer))), 1)
        self.assertEqual(seller.free("apple"), 6)
        for buyer in range(20, 26):
            feed(other, floodmsg.Search(100 + buyer, "apple", (buyer, 3), 5))
            self.assertEqual(len(replies(sent(other))), 1)
        self.assertEqual(seller.free("apple"), 4)
        sent(self.relay)
        self.assertEqual(self.buy(50, buyer=30), [trade.BuyOK(50, "apple", (1, 2, 30))])
        self.assertEqual(len(self.search(200, buyer=9, item="pear")), 1)
        self.assertEqual(seller.free("pear"), 1)

    # -- buys -------------------------------------------------------------------

    def test_buyConsumesReservation(self):
        """A buy from the buyer who searched uses its reservation."""
        seller = self.sellerWith(apple=2)
        self.search(100)
        self.clock.advance(3)
        self.assertEqual(self.buy(50), [trade.BuyOK(50, "apple", (1, 2, 9))])
        self.assertEqual((seller.stock["apple"], seller.free("apple")), (1, 1))
        self.assertEqual(seller.ledger, {(None, 50): Sale(50, "apple", 9, START / 1000 + 3.0)})
        self.clock.advance(LEASE)
        self.assertEqual((seller.stock["apple"], seller.free("apple")), (1, 1))

    def test_buyWithoutReservation(self):
        """A buy with no search before it takes free stock."""
        seller = self.sellerWith(apple=2)
        self.assertEqual(self.buy(50), [trade.BuyOK(50, "apple", (1, 2, 9))])
        self.assertEqual(seller.stock, {"apple": 1})

    def test_directBuy(self):
        """A buy on a direct link is answered on it."""
        seller = self.sellerWith(apple=2)
        buyer = linkPeer(self.node, 9)
        feed(buyer, trade.Buy(50, "apple", (9, 1), expires=EXPIRES))
        self.assertEqual(sent(buyer), [trade.BuyOK(50, "apple", (1, 9))])
        self.assertEqual(seller.stock, {"apple": 1})

    def test_repeatedBuyId(self):
        """A buy id seen before gets the same buyOK and no second unit,
        even once the stock is gone."""
        seller = self.sellerWith(apple=1)
        first = self.buy(50)
        self.clock.advance(5)
        self.assertEqual(self.buy(50), first)
        self.assertEqual(first, [trade.BuyOK(50, "apple", (1, 2, 9))])
        self.assertEqual(seller.stock, {"apple": 0})
        self.assertEqual(list(seller.ledger), [(None, 50)])

    def test_soldout(self):
        """With no stock left, a buy gets soldout with its id and a path
        back to the buyer."""
        seller = self.sellerWith(apple=1)
        self.buy(50)
        [refused] = self.buy(51)
        self.assertEqual((refused.code, refused.id, refused.path),
                         ("soldout", 51, (1, 2, 9)))
        self.assertIn("apple", refused.info)
        self.assertEqual(seller.stock, {"apple": 0})
        self.assertNotIn((None, 51), seller.ledger)

    def ask(self, buy_id, buyer=9, item="apple"):
        """An ask from buyer, via the relay; return what the relay got."""
        feed(self.relay, trade.Ask(buy_id, item, (buyer, 2, 1), expires=EXPIRES))
        return sent(self.relay)

    def test_askAboutASale(self):
        """An ask about a buy id sold is answered with its buyOK, and takes
        no unit."""
        seller = self.sellerWith(apple=2)
        [sold] = self.buy(50)
        self.assertEqual(self.ask(50), [sold])
        self.assertEqual(seller.stock, {"apple": 1})

    def test_askNeverSells(self):
        """
        An ask about a buy id never sold sells nothing, though a unit is
        free: the id is closed and ``unsold`` goes back along the path.  A
        buy with that id, arriving late, is then soldout; asking again
        gets the same answer.
        """
        seller = self.sellerWith(apple=2)
        [unsold] = self.ask(60)
        self.assertEqual((unsold.code, unsold.id, unsold.path), ("unsold", 60, (1, 2, 9)))
        self.assertEqual((seller.stock, seller.ledger), ({"apple": 2}, {}))
        self.assertEqual(list(seller.closed), [Closed(None, 60, COVERED)])
        self.assertEqual(self.node.store.closed(), [Closed(None, 60, COVERED)])
        [late] = self.buy(60)
        self.assertEqual((late.code, late.id), ("soldout", 60))
        self.assertEqual(self.ask(60), [unsold])
        self.assertEqual((seller.stock, seller.ledger), ({"apple": 2}, {}))

    def test_closedBuysBounded(self):
        """
        A seller remembers at most closed_limit closed buys that have not
        expired; relayed asks are charged to the relays' share, one
        relay's address group alone a quarter of them: past that, an ask
        that would close another is answered notyet, and nothing is
        closed or sold.  Once the closed buys have
        lapsed (MAX_EXPIRY_AHEAD after they were made, and CLOSED_GRACE),
        they make room.
        """
        seller = Seller(flooded(self.node), {"apple": 2}, lease=LEASE, closed_limit=8)
        for buy_id in (61, 62):
            self.assertEqual([m.code for m in self.ask(buy_id)], ["unsold"])
        [notyet] = self.ask(63)
        self.assertEqual((notyet.code, notyet.id, notyet.path), ("notyet", 63, (1, 2, 9)))
        self.assertIn("your last relay's address group hold 2 closed buys", notyet.info)
        self.assertEqual([m.code for m in self.ask(61)], ["unsold"])
        self.assertEqual([entry.buy_id for entry in seller.closed], [61, 62])
        self.clock.advance(seller_module.MAX_EXPIRY_AHEAD + seller_module.CLOSED_GRACE + 1)
        feed(self.relay, trade.Ask(64, "apple", (9, 2, 1),
                                   expires=LIFETIME + int(self.clock.seconds() * 1000)))
        self.assertEqual([m.code for m in sent(self.relay)], ["unsold"])
        self.assertEqual([entry.buy_id for entry in seller.closed], [64])
        self.assertEqual(self.node.store.closed(), list(seller.closed))
        self.assertEqual(seller.stock, {"apple": 2})

    def test_soldoutClosesTheBuy(self):
        """A buy answered soldout is closed: once a unit is free again (a
        reservation lapsed), the same buy still sells nothing."""
        seller = self.sellerWith(apple=2)
        self.search(100, buyer=8)
        self.buy(49, buyer=7)
        [refused] = self.buy(50)
        self.assertEqual(refused.code, "soldout")
        self.assertEqual(list(seller.closed), [Closed(None, 50, COVERED)])
        self.clock.advance(LEASE)
        self.assertEqual(seller.free("apple"), 1)
        [again] = self.buy(50)
        self.assertEqual((again.code, again.id), ("soldout", 50))
        self.assertEqual(seller.stock, {"apple": 1})

    def test_expiredBuyRefused(self):
        """A buy that has expired by the seller's clock, or names no
        expiry, is refused expired, nothing is sold, and the buy is
        closed: the same id with a later expiry (the buyer's word too)
        sells nothing either."""
        seller = self.sellerWith(apple=2)
        self.clock.advance(LIFETIME / 1000)
        [expired] = self.buy(50)
        self.assertEqual((expired.code, expired.id, expired.path),
                         ("expired", 50, (1, 2, 9)))
        feed(self.relay, trade.Buy(51, "apple", (9, 2, 1)))
        [none] = sent(self.relay)
        self.assertEqual((none.code, none.id), ("expired", 51))
        covered = LIFETIME + COVERED
        self.assertEqual(list(seller.closed), [Closed(None, 50, covered),
                                               Closed(None, 51, covered)])
        feed(self.relay, *(trade.Buy(buy_id, "apple", (9, 2, 1), expires=covered)
                           for buy_id in (50, 51)))
        self.assertEqual([m.code for m in sent(self.relay)], ["soldout", "soldout"])
        self.assertEqual((seller.stock, seller.ledger), ({"apple": 2}, {}))

    def test_expiryTooFarAheadRefused(self):
        """A buy expiring more than MAX_EXPIRY_AHEAD ahead is answered
        notyet and sells nothing; an ask about it too.  Once that much is
        left, it sells."""
        seller = self.sellerWith(apple=2)
        ahead = START + int(seller_module.MAX_EXPIRY_AHEAD * 1000)
        far = trade.Buy(50, "apple", (9, 2, 1), expires=ahead + 1)
        feed(self.relay, far, trade.Ask(50, "apple", (9, 2, 1), expires=ahead + 1))
        self.assertEqual([m.code for m in sent(self.relay)], ["notyet", "notyet"])
        self.assertEqual((seller.stock, seller.ledger, list(seller.closed)),
                         ({"apple": 2}, {}, []))
        self.clock.advance(0.001)
        feed(self.relay, far)
        self.assertEqual([type(m) for m in sent(self.relay)], [trade.BuyOK])

    def test_askAboutAnExpiredBuy(self):
        """An ask that names an expiry already past, or none, is answered
        expired (never sold; a copy of a file sold that long ago would be
        answered for no longer) and closes the buy like any other: the
        ask's expiry is its buyer's word, not the buy's, so a buy of the
        same id that expires later sells nothing either."""
        seller = self.sellerWith(apple=2)
        self.clock.advance(LIFETIME / 1000)
        [expired] = self.ask(60)
        self.assertEqual((expired.code, expired.id), ("expired", 60))
        feed(self.relay, trade.Ask(61, "apple", (9, 2, 1)))
        self.assertEqual([(m.code, m.id) for m in sent(self.relay)], [("expired", 61)])
        self.assertEqual([entry.buy_id for entry in seller.closed], [60, 61])
        later = LIFETIME + COVERED
        feed(self.relay, *(trade.Buy(buy_id, "apple", (9, 2, 1), expires=later)
                           for buy_id in (60, 61)))
        self.assertEqual([m.code for m in sent(self.relay)], ["soldout", "soldout"])
        self.assertEqual((seller.stock, seller.ledger), ({"apple": 2}, {}))

    def test_buyIdPerBuyerKey(self):
        """Buys are known by their buyer's key and id: the same id from two
        buyers is two sales, and each answer names its own buyer's key."""
        node = makeNode(None, identity=Identity.fromRandom(random.Random(5)))
        node.setId(node.identity.id)
        relay = linkPeer(node, 2)
        seller = Seller(flooded(node), {"apple": 3})
        first, second = (Identity.fromRandom(random.Random(n)) for n in (6, 7))
        for buyer in (first, second, first):
            feed(relay, buyer.signed(trade.Buy(50, "apple", (buyer.id, 2, node.id),
                                               expires=EXPIRES)))
        answers = sent(relay)
        self.assertEqual([(a.id, a.buyer_key, a.path[-1]) for a in answers],
                         [(50, first.key, first.id), (50, second.key, second.id),
                          (50, first.key, first.id)])
        self.assertEqual(answers[0], answers[2])
        self.assertEqual(sorted(seller.ledger), sorted([(first.key, 50),
                                                        (second.key, 50)]))
        self.assertEqual(seller.stock, {"apple": 1})

    def closingSeller(self):
        """A seller of one apple whose store answers each write when the
        test says (L{ClosingStore}), and a linked peer: (the store, the
        peer's link, the seller)."""
        store = ClosingStore()
        node = Node(task.Clock(), random.Random(0), FakeConnector(),
                    NodeConfig(link=LinkSettings(ping_interval=0)), store)
        node.setAddress(NODE_HOST, NODE_PORT)
        node.setId(1)
        relay = linkPeer(node, 2)
        return store, relay, Seller(flooded(node), {"apple": 1})

    def test_unsoldOnlyOnceClosed(self):
        """unsold leaves only once the closed id is in the store; a store
        that refuses keeps the id closed in memory and says nothing."""
        store, relay, seller = self.closingSeller()
        feed(relay, trade.Ask(60, "apple", (9, 2, 1), expires=EXPIRES))
        self.assertEqual(sent(relay), [])
        store.waiting.pop(0).callback(None)
        [unsold] = sent(relay)
        self.assertEqual(unsold.code, "unsold")
        feed(relay, trade.Ask(61, "apple", (9, 2, 1), expires=EXPIRES))
        store.waiting.pop(0).errback(StoreError("disk I/O error"))
        self.assertEqual(sent(relay), [])
        self.assertEqual(store.waiting, [])

    def test_aCloseNotWrittenIsWrittenBeforeItsAnswer(self):
        """A close the store refused stays closed in memory (nothing sells
        the buy) but unanswered: the next ask or buy of it writes it
        again, and is answered once that write is on disk.  (A full
        disk showed the second ask answered ``unsold`` at once, a promise
        a restart would have forgotten.)"""
        store, relay, seller = self.closingSeller()
        feed(relay, trade.Ask(61, "apple", (9, 2, 1), expires=EXPIRES))
        store.waiting.pop(0).errback(StoreError("disk I/O error"))
        feed(relay, trade.Ask(61, "apple", (9, 2, 1), expires=EXPIRES))
        self.assertEqual(sent(relay), [])
        store.waiting.pop(0).errback(StoreError("disk I/O error"))
        feed(relay, trade.Buy(61, "apple", (9, 2, 1), expires=EXPIRES))
        self.assertEqual(sent(relay), [])
        store.waiting.pop(0).callback(None)
        self.assertEqual([m.code for m in sent(relay)], ["soldout"])
        self.assertEqual(store.waiting, [])
        self.assertEqual(seller.stock, {"apple": 1})

    def test_aCloseNotWrittenIsSaidInWords(self):
        """A close the store refuses is said at warning level, its count
        in words (it said ``could not close 1 buys``)."""
        store, relay, seller = self.closingSeller()
        events = []
        seller.log = Logger(observer=events.append)
        feed(relay, trade.Ask(61, "apple", (9, 2, 1), expires=EXPIRES))
        store.waiting.pop(0).errback(StoreError("disk I/O error"))
        self.assertEqual([(e["log_level"], formatEvent(e)) for e in events],
                         [(LogLevel.warn, "could not close 1 buy: disk I/O error")])

    def test_soldoutForUnknownItem(self):
        """A buy for an item never stocked is soldout too."""
        self.sellerWith(apple=1)
        [refused] = self.buy(50, item="pear")
        self.assertEqual((refused.code, refused.id), ("soldout", 50))

    def test_stoppingReleasesReservations(self):
        """On shutdown no lease timer is left running."""
        seller = self.sellerWith(apple=1)
        self.search(100)
        self.node.shutdown()
        self.assertEqual(seller.free("apple"), 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class SellerPluginTests(SynchronousTestCase):
    def test_configure(self):
        """--sell flags become the stock; the lease passes through."""
        settings = SellerPlugin().configure(
            {"sell": [("apple", 3), ("pear", 0)], "lease": 4.5})
        self.assertEqual(settings, {"stock": {"apple": 3, "pear": 0}, "lease": 4.5})

    def test_duplicateItem(self):
        """Naming one item twice is an error, not a silent override."""
        self.assertRaises(ValueError, SellerPlugin().configure,
                          {"sell": [("apple", 3), ("apple", 1)], "lease": 10.0})

    def test_nothingToSell(self):
        """A seller needs at least one --sell."""
        self.assertRaises(ValueError, SellerPlugin().configure,
                          {"sell": [], "lease": 10.0})

    def test_build(self):
        """build attaches a Seller with those settings to the node."""
        node = flooded(makeNode(1))
        seller = SellerPlugin().build(node, {"stock": {"apple": 3}, "lease": 4.5})
        self.assertIsInstance(seller, Seller)
        self.assertIn(seller, node.events.observers)
        self.assertEqual((seller.stock, seller.lease), ({"apple": 3}, 4.5))


class ParseSellTests(SynchronousTestCase):
    def test_good(self):
        self.assertEqual(parseSell("apple=5"), ("apple", 5))
        self.assertEqual(parseSell("apple=0"), ("apple", 0))
        self.assertEqual(parseSell("green apple=2"), ("green apple", 2))

    def test_anEqualsSignInTheName(self):
        """The count follows the last ``=``: a seller of ``<img src=x>``
        was refused, "the count of units must be a whole number, not
        'x>=3'", though a buyer's --want takes such a name."""
        self.assertEqual(parseSell("E=mc2 poster=3"), ("E=mc2 poster", 3))
        self.assertEqual(parseSell("<img src=x>=1"), ("<img src=x>", 1))
        self.assertIn("whole number, not 'x'", str(self.assertRaises(
            ValueError, parseSell, "apple=x")))

    def test_composed(self):
        """An item named decomposed (NFD) is sold composed (NFC), the form
        buyers want it in."""
        self.assertEqual(parseSell("cafe\u0301=2"), ("caf\xe9", 2))

    def test_bad(self):
        """Each bad form gets a ValueError that says what is wrong."""
        reasons = {
            "apple": "ITEM=COUNT",
            "=3": "ITEM=COUNT",
            "apple=-1": "negative",
            "apple=x": "whole number",
            "apple=": "whole number",
            "a" * 257 + "=1": f"the item name '{'a' * 39}…' is 257 bytes, longer "
                               "than the 256 bytes a name may hold",
        }
        for text, reason in reasons.items():
            error = self.assertRaises(ValueError, parseSell, text)
            self.assertIn(reason, str(error))

    def test_notUtf8(self):
        """A --sell (or ``bazaar restock`` ITEM=N) that is not UTF-8 is
        refused by its byte, not with Python's "surrogates not allowed"
        (issue 96)."""
        error = self.assertRaises(ValueError, parseSell, "ap\udcffple=3")
        self.assertEqual(str(error), "'ap\\xffple=3' is not UTF-8 text (its byte 3 "
                                     "is 0xff): write the name in UTF-8")

    def test_blanksAroundTheItem(self):
        """A class's TOML, sell = ["apple = 3"], sold "apple " (its blank
        kept), which no buyer of apple found, without a word; now refused
        with the form meant.  A blank inside a name stays."""
        for text in ("apple = 3", " apple=3", "apple\t=3"):
            error = self.assertRaises(ValueError, parseSell, text)
            self.assertIn("begins or ends with a blank, so buyers of apple would "
                          "not find it: write apple=3", str(error))
        self.assertEqual(parseSell("green apple= 3"), ("green apple", 3))
        self.assertIn("ITEM=COUNT", str(self.assertRaises(ValueError, parseSell, " =3")))


class DurableSlowStore(MemoryStore):
    """A store that says it is durable (so the seller group-commits), and
    whose commits wait until the test calls L{finish}."""

    durable = True

    def __init__(self):
        super().__init__()
        self.waiting = []
        self.commits = []

    def commitSales(self, sales, forget_before=None):
        self.commits.append([sale.buy_id for sale in sales])
        d = defer.Deferred()
        self.waiting.append((d, sales, forget_before))
        return d

    def finish(self):
        d, sales, forget_before = self.waiting.pop(0)
        super().commitSales(sales, forget_before).chainDeferred(d)

    def fail(self):
        d = self.waiting.pop(0)[0]
        d.errback(StoreError("the disk is full"))


class CountingStore(MemoryStore):
    """A memory store that records each commit's buy ids."""

    def __init__(self):
        super().__init__()
        self.commits = []

    def commitSales(self, sales, forget_before=None):
        self.commits.append([sale.buy_id for sale in sales])
        return super().commitSales(sales, forget_before)


class HeldExecutor:
    """An executor standing in for a thread: jobs wait until the test
    runs them with L{finish}."""

    def __init__(self):
        self.jobs = []
        self.started = self.stopped = False

    def start(self):
        self.started = True

    def submit(self, function, *args):
        d = defer.Deferred()
        self.jobs.append((d, function, args))
        return d

    def finish(self):
        d, function, args = self.jobs.pop(0)
        defer.maybeDeferred(function, *args).chainDeferred(d)

    def stop(self):
        self.stopped = True
        return defer.succeed(None)


class ClosingStore(MemoryStore):
    """A store whose closeBuys answers when the test fires its Deferred."""

    def __init__(self):
        super().__init__()
        self.waiting = []

    def closeBuys(self, closes, forget_before):
        d = defer.Deferred()
        self.waiting.append(d)
        return d


def slowSeller(case):
    """Give a test case a seller of 5 apples whose commits wait
    (L{DurableSlowStore}): its store, node, clock, a relay linked, and
    the seller."""
    case.store = DurableSlowStore()
    case.node = Node(task.Clock(), random.Random(0), FakeConnector(),
                     NodeConfig(link=LinkSettings(ping_interval=0)), case.store)
    case.node.setAddress(NODE_HOST, NODE_PORT)
    case.node.setId(1)
    case.clock = case.node.clock
    case.relay = linkPeer(case.node, 2)
    case.seller = Seller(flooded(case.node), {"apple": 5}, lease=LEASE)


class SellerStopTests(SynchronousTestCase):
    """stopService: every timer goes, the commit in flight finishes, what
    is unsaved is committed, and only then does its Deferred fire."""

    def setUp(self):
        slowSeller(self)

    def buy(self, buy_id, buyer=9):
        feed(self.relay, trade.Buy(buy_id, "apple", (buyer, 2, 1), expires=EXPIRES))
        return sent(self.relay)

    def test_noTimerLeft(self):
        """Reservations and a pending group commit: stopService cancels
        every call the seller made."""
        feed(self.relay, floodmsg.Search(100, "apple", (9, 2), 5))
        feed(linkPeer(self.node, 3), floodmsg.Search(101, "apple", (8, 3), 5))
        self.buy(50, buyer=7)
        self.assertEqual(len(self.clock.getDelayedCalls()), 3)
        d = self.seller.stopService()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.seller.free("apple"), 4)
        self.assertNoResult(d)
        self.store.finish()
        self.successResultOf(d)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_commitsTheRestAndWaitsForTheCommitsInFlight(self):
        """stopService commits what is unsaved at once (beside the commit
        in flight), and fires once both are done."""
        self.assertEqual(self.buy(50), [])
        self.clock.advance(0)
        self.assertEqual(self.store.commits, [[50]])
        self.assertEqual(self.buy(51), [])
        d = self.seller.stopService()
        self.assertEqual(self.store.commits, [[50], [51]])
        self.assertNoResult(d)
        self.store.finish()
        self.assertEqual(sent(self.relay), [trade.BuyOK(50, "apple", (1, 2, 9))])
        self.assertEqual(self.store.commits, [[50], [51]])
        self.assertNoResult(d)
        self.store.finish()
        self.successResultOf(d)
        self.assertEqual(sent(self.relay), [trade.BuyOK(51, "apple", (1, 2, 9))])
        self.assertEqual(sorted(sale.buy_id for sale in self.store.sales()), [50, 51])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_commitsInFlight(self):
        """Each turn's sales are committed at its end, up to three commits
        at once (COMMITS_IN_FLIGHT: a durable store commits the next while
        the last syncs); the sales of later turns wait for one to finish,
        then go together.  A buyOK leaves once its own commit is done."""
        for buy_id in range(50, 55):
            self.assertEqual(self.buy(buy_id), [])
            self.clock.advance(0)
        self.assertEqual(self.store.commits, [[50], [51], [52]])
        self.store.finish()
        self.assertEqual(sent(self.relay), [trade.BuyOK(50, "apple", (1, 2, 9))])
        self.assertEqual(self.store.commits, [[50], [51], [52], [53, 54]])
        while self.store.waiting:
            self.store.finish()
        self.assertEqual([ok.id for ok in sent(self.relay)], [51, 52, 53, 54])
        self.assertEqual(self.seller.stock, {"apple": 0})

    def test_noNewSaleOnceStopped(self):
        """A buy arriving after stop is not sold (its buyer asks again);
        a search gets no offer; a sold buy id is still answered."""
        self.buy(50)
        self.clock.advance(0)
        self.store.finish()
        sent(self.relay)
        self.successResultOf(self.seller.stopService())
        self.assertEqual(self.buy(51), [])
        feed(self.relay, floodmsg.Search(100, "apple", (9, 2), 5))
        self.assertEqual(sent(self.relay), [])
        self.assertEqual(self.buy(50), [trade.BuyOK(50, "apple", (1, 2, 9))])
        self.assertEqual((self.seller.stock, self.clock.getDelayedCalls()),
                         ({"apple": 4}, []))

    def test_nodeStoppingThenStopServiceTwice(self):
        """node.shutdown() (nodeStopping), then stopService twice: each
        Deferred fires once the commit is done; nothing is left."""
        feed(self.relay, floodmsg.Search(100, "apple", (9, 2), 5))
        self.buy(50, buyer=7)
        self.node.shutdown()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        first, second = self.seller.stopService(), self.seller.stopService()
        self.assertNoResult(first)
        self.store.finish()
        self.successResultOf(first)
        self.successResultOf(second)
        self.successResultOf(self.seller.stopService())
        self.assertEqual(self.store.commits, [[50]])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_isAService(self):
        self.assertIsInstance(self.seller, Service)
        self.seller.startService()
        self.assertTrue(self.seller.running)
        self.successResultOf(self.seller.stopService())
        self.assertFalse(self.seller.running)


class StockAsOnDiskTests(SynchronousTestCase):
    """What the seller shows of its stock (its status, so the web view's
    sales and `bazaar_stock`, and its sale lines' units left) is as its
    store holds it: a sale leaves it once committed, never before."""

    def setUp(self):
        from twisted_bazaar.status.node import NodeStatus

        slowSeller(self)
        self.node.addRole(self.seller)
        self.status = NodeStatus(self.node)
        self.lines = []
        self.seller.log = Logger(observer=lambda e: self.lines.append(formatEvent(e)))

    def buy(self, buy_id, buyer=9):
        feed(self.relay, trade.Buy(buy_id, "apple", (buyer, 2, 1), expires=EXPIRES))
        self.clock.advance(0)

    def shown(self):
        return self.status.state().stock

    def test_soldOnceCommitted(self):
        """A sale whose commit is in flight is no sale yet to whoever
        looks: 5 shown (it was 4, a sale the web view called sold before
        the store had it), 4 once the commit is done."""
        self.buy(50)
        self.assertEqual(self.store.commits, [[50]])
        self.assertEqual(self.shown(), {"apple": 5})
        self.store.finish()
        self.assertEqual(self.shown(), {"apple": 4})

    def test_aFailedCommitWasNeverShownSold(self):
        """The store refuses the sale: it is undone, and what was shown
        never went down (it went 5, 4, 5 before: a sale seen, then units
        from nowhere)."""
        self.buy(50)
        self.assertEqual(self.shown(), {"apple": 5})
        self.store.fail()
        self.assertEqual(self.shown(), {"apple": 5})
        self.assertEqual(self.seller.stock, {"apple": 5})

    def test_aStatusReadMakesNoSaleOfThoseInFlight(self):
        """Each status read (each second of a web view, each scrape) made
        a Sale anew from its ledger row for every sale whose commit was in
        flight, 3 here; now it counts from the rows, and makes none."""
        from twisted_bazaar.store import records

        for buy_id in (50, 51, 52):
            self.buy(buy_id)
        made = []
        real = records.Sale
        self.patch(records, "Sale", lambda *row: made.append(row) or real(*row))
        self.assertEqual(self.seller.stockHeld(), {"apple": 5})
        self.assertEqual(self.status.state().trades, ())
        self.assertEqual(made, [])

    def test_aTradeIsToldOnceCommitted(self):
        """The operator is told a sale (nodestate.trades, whose path the
        web view moves along) once it is on disk, as a buyer tells its
        purchases: told while its commit was in flight before."""
        self.buy(50)
        self.assertEqual(self.status.state().trades, ())
        self.store.finish()
        self.assertEqual([(entry[1], entry[2], entry[4]) for entry in
                          self.status.state().trades], [(50, "apple", (9, 2, 1))])

    def test_aTradeWhoseCommitFailedIsNeverTold(self):
        """A sale undone (its commit failed) is no trade: it stayed in the
        operator's trades before, a sale that never happened."""
        self.buy(50)
        self.store.fail()
        self.assertEqual(self.status.state().trades, ())
        self.buy(51)
        self.store.finish()
        self.assertEqual([entry[1] for entry in self.status.state().trades], [51])

    def test_unitsLeftAfterEachCommit(self):
        """Three commits in flight, done in order: each sale line says what
        is left once it is on disk, 4, 3, 2 (it said 2, 2, 2 before,
        counting the sales still being written as gone)."""
        for buy_id in (50, 51, 52):
            self.buy(buy_id)
        self.assertEqual(self.store.commits, [[50], [51], [52]])
        while self.store.waiting:
            self.store.finish()
        self.assertEqual(self.lines, ["sold apple to 9 (4 left)", "sold apple to 9 (3 left)",
                                      "sold apple to 9 (2 left)"])
        self.assertEqual(self.shown(), {"apple": 2})


class SaleLogTests(SynchronousTestCase):
    """A line per sale while sales are few; under load the rest are summed
    up every interval; --verbose logs each."""

    def setUp(self):
        from twisted.logger import Logger, formatEvent

        self.node = makeNode(1)
        self.clock = self.node.clock
        self.relay = linkPeer(self.node, 2)
        self.lines = []
        self.seller = Seller(flooded(self.node), {"apple": 100, "pear": 100})
        self.seller.log = Logger(observer=lambda e: self.lines.append(formatEvent(e)))

    def sell(self, count, item="apple", first=1):
        for buy_id in range(first, first + count):
            feed(self.relay, trade.Buy(buy_id, item, (9, 2, 1), expires=EXPIRES))

    def test_eachSaleWhileFew(self):
        self.sell(3)
        self.assertEqual(self.lines, ["sold apple to 9 (99 left)",
                                      "sold apple to 9 (98 left)",
                                      "sold apple to 9 (97 left)"])

    def test_summedUpUnderLoad(self):
        self.sell(25)
        self.sell(5, "pear", first=100)
        self.assertEqual(len(self.lines), 10)
        self.assertEqual(self.lines[-1], "sold apple to 9 (90 left)")
        self.clock.advance(10)
        self.assertEqual(self.lines[-1], "sold 20 more units in the last 10 s, not "
                         "logged one by one: apple x15 (75 left), pear x5 (95 left) "
                         "(--verbose logs every sale)")
        self.assertEqual(len(sent(self.relay)), 30)

    def test_verboseLogsEverySale(self):
        from twisted.logger import Logger, formatEvent

        node = makeNode(1)
        node.config.link.verbose = True
        relay = linkPeer(node, 2)
        seller = Seller(flooded(node), {"fig": 50})
        lines = []
        seller.log = Logger(observer=lambda e: lines.append(formatEvent(e)))
        for buy_id in range(1, 31):
            feed(relay, trade.Buy(buy_id, "fig", (9, 2, 1), expires=EXPIRES))
        self.assertEqual(len(lines), 30)
        self.assertEqual(lines[-1], "sold fig to 9 (20 left)")

    def test_stopSumsUpAndLeavesNoTimer(self):
        self.sell(12)
        self.successResultOf(self.seller.stopService())
        self.assertEqual(self.lines[-1], "sold 2 more units in the last 10 s, not "
                         "logged one by one: apple x2 (88 left) (--verbose logs "
                         "every sale)")
        self.assertEqual([call for call in self.clock.getDelayedCalls()
                          if call.func.__self__ is self.seller.saleLog], [])


class DefaultSignerTests(SynchronousTestCase):
    """Where a daemon's seller signs by default: on the reactor's thread,
    each turn's buyOKs under one batch signature, durable or in memory."""

    def seller(self, store):
        clock = task.Clock()
        directlyProvides(clock, IReactorThreads)
        identity = Identity.fromRandom(random.Random(1))
        node = Node(clock, random.Random(0), FakeConnector(),
                    NodeConfig(link=LinkSettings(ping_interval=0)), store,
                    identity=identity)
        return Seller(flooded(node), {"apple": 1}, lease=LEASE)

    def test_inMemoryBatched(self):
        signer = self.seller(MemoryStore()).signer
        self.assertEqual((signer.inline, signer.batched), (True, True))

    def test_durableBatched(self):
        signer = self.seller(DurableSlowStore()).signer
        self.assertEqual((signer.inline, signer.batched), (True, True))


class BatchSignedAnswersTests(SynchronousTestCase):
    """A daemon's seller answers the buys of one turn with buyOKs under
    one batch signature, which the buyer checks one by one; a lone buyOK
    is signed alone."""

    def setUp(self):
        self.identity = Identity.fromRandom(random.Random(1))
        self.buyer = Identity.fromRandom(random.Random(2))
        self.store = DurableSlowStore()
        clock = task.Clock()
        directlyProvides(clock, IReactorThreads)
        self.node = Node(clock, random.Random(0), FakeConnector(),
                         NodeConfig(link=LinkSettings(ping_interval=0)), self.store,
                         identity=self.identity)
        self.node.setAddress(NODE_HOST, NODE_PORT)
        self.node.setId(self.identity.id)
        self.relay = linkPeer(self.node, 2)
        Seller(flooded(self.node), {"apple": 5}, lease=LEASE)

    def buy(self, buy_id):
        feed(self.relay, self.buyer.signed(trade.Buy(
            buy_id, "apple", (self.buyer.id, 2, self.identity.id), expires=EXPIRES)))

    def test_oneSignatureACommit(self):
        """The buyOKs are signed once their commit is back, at the end of
        that turn, under one signature."""
        self.buy(50)
        self.buy(51)
        self.buy(52)
        self.node.clock.advance(0)
        self.assertEqual(self.store.commits, [[50, 51, 52]])
        self.store.finish()
        self.assertEqual(sent(self.relay), [])
        self.node.clock.advance(0)
        answers = sent(self.relay)
        self.assertEqual([a.id for a in answers], [50, 51, 52])
        self.assertEqual(len({a.sig for a in answers}), 1)
        self.assertTrue(all(a.proof and signedBy(a, self.identity.id)
                            and a.buyer_key == self.buyer.key for a in answers))

    def test_repeatedBuysSignedAlone(self):
        """A buy or ask repeated after its sale gets its buyOK signed alone,
        even among others of its turn: its buyer did not take the first
        (a buyer of a version before batch signatures took none signed
        so, and asked again until it gave up on the seller)."""
        self.buy(50)
        self.buy(51)
        self.node.clock.advance(0)
        self.store.finish()
        self.node.clock.advance(0)
        self.assertTrue(all(a.proof for a in sent(self.relay)))
        self.buy(50)
        feed(self.relay, self.buyer.signed(trade.Ask(
            51, "apple", (self.buyer.id, 2, self.identity.id), expires=EXPIRES)))
        self.buy(52)
        self.buy(53)
        self.node.clock.advance(0)
        self.store.finish()
        self.node.clock.advance(0)
        answers = sent(self.relay)
        self.assertEqual([(a.id, a.proof is None) for a in answers],
                         [(50, True), (51, True), (52, False), (53, False)])
        self.assertTrue(all(signedBy(a, self.identity.id) for a in answers))

    def test_loneBuyOKSignedAlone(self):
        self.buy(50)
        self.node.clock.advance(0)
        self.store.finish()
        self.node.clock.advance(0)
        [answer] = sent(self.relay)
        self.assertIsNone(answer.proof)
        self.assertTrue(signedBy(answer, self.identity.id))


class ThreadedSigningTests(SynchronousTestCase):
    """
    A seller whose signer works as a thread does (L{HeldExecutor}): the
    answers of one turn are signed as one batch, one batch at a time, and
    each leaves once it is signed and its sale is committed.
    """

    def setUp(self):
        self.identity = Identity.fromRandom(random.Random(1))
        self.buyer = Identity.fromRandom(random.Random(2))
        self.store = DurableSlowStore()
        me = self.identity.id
        self.node = Node(task.Clock(), random.Random(0), FakeConnector(),
                         NodeConfig(link=LinkSettings(ping_interval=0)), self.store,
                         identity=self.identity)
        self.node.setAddress(NODE_HOST, NODE_PORT)
        self.node.setId(me)
        self.clock = self.node.clock
        self.relay = linkPeer(self.node, 2)
        self.executor = HeldExecutor()
        self.signer = Signer(self.identity, self.executor)
        self.seller = Seller(flooded(self.node), {"apple": 5}, lease=LEASE, signer=self.signer)
        self.back = (me, 2, self.buyer.id)

    def buy(self, buy_id, item="apple"):
        feed(self.relay, self.buyer.signed(trade.Buy(
            buy_id, item, (self.buyer.id, 2, self.identity.id), expires=EXPIRES)))
        return sent(self.relay)

    def assertSignedAnswers(self, answers, expected):
        """answers are expected, each signed by the seller and addressed
        to the buyer's key."""
        self.assertEqual([attr.evolve(a, key=None, sig=None, buyer_key=None)
                          for a in answers], expected)
        self.assertTrue(all(signedBy(a, self.identity.id) and a.buyer_key == self.buyer.key
                            for a in answers))

    def test_oneBatchPerTurn(self):
        """Two buys in one turn: one batch, signed while they are
        committed; the answers leave once both are done."""
        self.assertEqual(self.buy(50), [])
        self.assertEqual(self.buy(51), [])
        self.assertEqual(self.executor.jobs, [])
        self.clock.advance(0)
        self.assertEqual(len(self.executor.jobs), 1)
        self.assertEqual(self.store.commits, [[50, 51]])
        self.executor.finish()
        self.assertEqual(sent(self.relay), [])
        self.store.finish()
        self.assertSignedAnswers(sent(self.relay), [
            trade.BuyOK(50, "apple", self.back), trade.BuyOK(51, "apple", self.back)])
        self.assertTrue(self.executor.started)

    def test_inMemoryOneCommitPerTurn(self):
        """In memory too, the sales of one turn are committed together
        while their answers are signed, and leave once signed."""
        store = CountingStore()
        node = Node(task.Clock(), random.Random(0), FakeConnector(),
                    NodeConfig(link=LinkSettings(ping_interval=0)), store,
                    identity=self.identity)
        node.setId(self.identity.id)
        self.relay = linkPeer(node, 2)
        executor = HeldExecutor()
        Seller(flooded(node), {"apple": 5}, signer=Signer(self.identity, executor))
        self.buy(50)
        self.buy(51)
        self.assertEqual(store.commits, [])
        node.clock.advance(0)
        self.assertEqual(store.commits, [[50, 51]])
        self.assertEqual(sent(self.relay), [])
        executor.finish()
        self.assertSignedAnswers(sent(self.relay), [
            trade.BuyOK(50, "apple", self.back), trade.BuyOK(51, "apple", self.back)])

    def test_committedBeforeSigned(self):
        """A commit done first: the answer leaves when it is signed."""
        self.buy(50)
        self.clock.advance(0)
        self.store.finish()
        self.assertEqual(sent(self.relay), [])
        self.executor.finish()
        self.assertSignedAnswers(sent(self.relay), [trade.BuyOK(50, "apple", self.back)])

    def test_oneBatchAtATime(self):
        """Answers made while a batch is signed wait for it, then go as
        the next batch; a repeated buy id and a soldout are signed too."""
        self.buy(50)
        self.clock.advance(0)
        self.store.finish()
        self.buy(50)
        self.buy(51, item="pear")
        self.clock.advance(0)
        self.assertEqual(len(self.executor.jobs), 1)
        self.executor.finish()
        self.assertEqual(len(self.executor.jobs), 1)
        self.assertSignedAnswers(sent(self.relay), [trade.BuyOK(50, "apple", self.back)])
        self.executor.finish()
        self.assertSignedAnswers(sent(self.relay), [
            trade.BuyOK(50, "apple", self.back),
            wire.Error("soldout", "no pear left to sell", 51, self.back)])

    def test_undoneSaleNotAnswered(self):
        """A sale whose commit failed is undone: its signed answer is
        dropped, and the buyer will ask again."""
        self.buy(50)
        self.clock.advance(0)
        self.store.fail()
        self.executor.finish()
        self.assertEqual(sent(self.relay), [])
        self.assertEqual(self.seller.stock, {"apple": 5})
        self.assertNotIn((self.buyer.key, 50), self.seller.ledger)

    def test_stopWaitsForTheBatchThenStopsTheSigner(self):
        """stopService signs what waits, sends what is signed and
        committed, stops the signer, and only then fires; afterwards a
        repeated buy id is answered at once, signed inline."""
        self.buy(50)
        d = self.seller.stopService()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(len(self.executor.jobs), 1)
        self.store.finish()
        self.assertNoResult(d)
        self.executor.finish()
        self.assertSignedAnswers(sent(self.relay), [trade.BuyOK(50, "apple", self.back)])
        self.successResultOf(d)
        self.assertTrue(self.executor.stopped)
        self.assertSignedAnswers(self.buy(50), [trade.BuyOK(50, "apple", self.back)])
        self.assertEqual(self.executor.jobs, [])


class QuantityTests(SynchronousTestCase):
    """A buy names a quantity: the seller sells what it can of it, once,
    and says how many (docs/protocol.md §11)."""

    def setUp(self):
        self.node = makeNode(1)
        self.relay = linkPeer(self.node, 2)

    def sellerWith(self, **stock):
        return Seller(flooded(self.node), stock, lease=LEASE)

    def buy(self, buy_id, quantity, buyer=9, **kw):
        feed(self.relay, trade.Buy(buy_id, "apple", (buyer, 2, 1), expires=EXPIRES,
                                   quantity=quantity, **kw))
        return sent(self.relay)

    def ok(self, buy_id, count, buyer=9):
        return trade.BuyOK(buy_id, "apple", (1, 2, buyer), count=count)

    def test_allWhenInStock(self):
        seller = self.sellerWith(apple=10)
        self.assertEqual(self.buy(5, 4), [self.ok(5, 4)])
        self.assertEqual(seller.stock, {"apple": 6})
        self.assertEqual([(s.buy_id, s.units) for s in self.node.store.sales()], [(5, 4)])
        self.assertEqual(self.node.store.inventory(), {"apple": 6})

    def test_partialFill(self):
        """More asked than left: what is left is sold, and the buyOK says
        how many."""
        seller = self.sellerWith(apple=3)
        self.assertEqual(self.buy(5, 10), [self.ok(5, 3)])
        self.assertEqual(seller.stock, {"apple": 0})
        self.assertEqual(self.node.store.inventory(), {"apple": 0})

    def test_resendGetsTheSameCount(self):
        """A resent buy, whatever quantity it now names, gets the same
        buyOK and takes nothing more; so does an ask about it."""
        seller = self.sellerWith(apple=5)
        [first] = self.buy(5, 3)
        self.assertEqual(self.buy(5, 3), [first])
        self.assertEqual(self.buy(5, 5), [first])
        feed(self.relay, trade.Ask(5, "apple", (9, 2, 1), expires=EXPIRES))
        self.assertEqual(sent(self.relay), [first])
        self.assertEqual((first.count, seller.stock), (3, {"apple": 2}))

    def test_soldoutWhenNone(self):
        self.sellerWith(apple=2)
        self.buy(5, 2)
        [answer] = self.buy(6, 3)
        self.assertEqual((type(answer), answer.code, answer.id), (wire.Error, "soldout", 6))
        self.assertEqual([s.units for s in self.node.store.sales()], [2])

    def test_oneIsNoCount(self):
        """A buy of one (named or not) gets a buyOK without count, as
        before quantities."""
        self.sellerWith(apple=5)
        self.assertEqual(self.buy(5, None), [trade.BuyOK(5, "apple", (1, 2, 9))])
        self.assertEqual(self.buy(6, 1), [trade.BuyOK(6, "apple", (1, 2, 9))])

    def test_reservedUnitCounts(self):
        """The unit held for the buyer is one of those it buys; units held
        for others are not sold to it."""
        seller = self.sellerWith(apple=8)
        feed(self.relay, floodmsg.Search(100, "apple", (9, 2), 5))
        feed(self.relay, floodmsg.Search(101, "apple", (8, 2), 5))
        sent(self.relay)
        self.assertEqual(seller.free("apple"), 6)
        self.assertEqual(self.buy(5, 10), [self.ok(5, 7)])
        self.assertEqual((seller.stock, seller.free("apple")), ({"apple": 1}, 0))

    def test_undoneOnStoreFailure(self):
        """A sale of several units the store refuses gives them all back."""
        seller = self.sellerWith(apple=5)
        # On the class: a store keeps its fields in slots, and takes no
        # method of its own.
        self.patch(type(self.node.store), "commitSales",
                   lambda store, sales, forget_before: defer.fail(StoreError("disk full")))
        self.assertEqual(self.buy(5, 4), [])
        self.assertEqual((seller.stock, seller.ledger), ({"apple": 5}, {}))

    def test_undoneAtWarningWhenTheWriterIsGone(self):
        """A sale the store refuses because its writer is gone is undone
        all the same, and said at warning level: the daemon ends on the
        writer's loss and says it once, as critical."""
        seller = self.sellerWith(apple=5)
        events = []
        seller.log = Logger(observer=events.append)
        self.patch(type(self.node.store), "commitSales",
                   lambda store, sales, forget_before: defer.fail(WriterGone(
                       "sales not recorded: the store's writer process ended: killed")))
        self.assertEqual(self.buy(5, 4), [])
        self.assertEqual((seller.stock, seller.ledger), ({"apple": 5}, {}))
        self.assertEqual([(e["log_level"], formatEvent(e)) for e in events],
                         [(LogLevel.warn, "could not record 1 sale: sales not recorded: "
                           "the store's writer process ended: killed")])

    def test_aFileIsOneCopy(self):
        """A buy of a shared file sells one copy, whatever quantity it
        names (by its content or by its name alone), takes no unit of the
        stock, and never stops the file being offered: two buys of 10^9
        copies drained it (issue 34, "Files drained by quantity")."""
        seller = self.sellerWith(pear=3)
        sha256 = "ab" * 32
        copies = []

        class Files:
            offered = {"apple": FILE_UNITS}

            def describe(self, item):
                if item == "apple":
                    return {"sha256": sha256, "size": 5, "transfer": 9}

            def sold(self, sales):
                copies.extend(sales)

        seller.files = Files()
        self.assertEqual(self.buy(5, 10**9, sha256=sha256, size=5),
                         [trade.BuyOK(5, "apple", (1, 2, 9), sha256=sha256, size=5)])
        self.assertEqual(self.buy(6, 10**9), [trade.BuyOK(6, "apple", (1, 2, 9))])
        self.assertEqual(self.buy(7, 2, buyer=8), [self.ok(7, None, buyer=8)])
        self.assertEqual([(s.buy_id, s.units, s.copy) for s in copies],
                         [(5, 1, True), (6, 1, True), (7, 1, True)])
        self.assertEqual((seller.stock, self.node.store.inventory()),
                         ({"pear": 3}, {"pear": 3}))
        self.assertEqual(seller.inventory(), {"apple": FILE_UNITS, "pear": 3})
        self.assertTrue(seller.offerTo("apple", 4))
