"""
Attacks on what a trade's answers say and on its signed bytes (issue 21,
items 2 and 6): answers that do not answer the buy asked, replays of a
buy its buyer was told was not sold, and a stranger that sends a buyer's
buy id first.  Each through the public protocol, on fake transports and
a fake clock; docs/reliability.md, "Answers and replays", lists them.

The buyer (keyed) is linked to relay 2 and, on a link where the seller
proved its key, to seller S; the seller tests feed a keyed seller through
relay 2.
"""

import random
import shutil
import tempfile

import attr
from twisted.internet import task
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from tests import records
from tests.helpers import (
    FakeConnector,
    NODE_HOST,
    NODE_PORT,
    feed,
    flooded,
    jsonNetstring,
    linkPeer,
    makeNode,
    openLink,
    provenLink,
    sent,
)
from twisted_bazaar import wire
from twisted_bazaar.base.logthrottle import DEFAULT_BURST
from twisted_bazaar.core.node import Node, NodeConfig
from twisted_bazaar.identity.keys import Identity, signedBy
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.roles import seller as seller_module
from twisted_bazaar.roles.buyer import Buyer
from twisted_bazaar.roles.seller import Seller
from twisted_bazaar.schemes.flood.messages import Reply, Search
from twisted_bazaar.store import SQLiteStore
from twisted_bazaar.wire.trade import Ask, Buy, BuyOK

WINDOW = 1.0
TIMEOUT = 2.0
SHA = "ab" * 32


def keyOf(seed):
    return Identity.fromRandom(random.Random(seed))


class _BuyerCase(SynchronousTestCase):
    """A keyed buyer, offered its wants by seller S over S's proven link."""

    def startBuyer(self, wants=("diamond",), quantity=1, details=()):
        """
        Start buying wants; S offers each (with details: size, sha256,
        transfer), and the buyer buys each from S directly: return the
        buys S got, by item.
        """
        self.me, self.s_key, self.mallory = keyOf(21), keyOf(22), keyOf(23)
        self.node = makeNode(self.me.id, identity=self.me)
        self.clock = self.node.clock
        self.relay = linkPeer(self.node, 2)
        self.seller = provenLink(self.node, self.s_key)
        self.buyer = Buyer(flooded(self.node), list(wants), quantity=quantity,
                           search_window=WINDOW, buy_timeout=TIMEOUT)
        self.buyer.linkAdded(2)
        searches = sent(self.relay)
        sent(self.seller)
        self.S = self.s_key.id
        for search in searches:
            record = records.signed(self.s_key, search.item, "h", 1,
                                    file=details) if details else None
            feed(self.seller, self.s_key.signed(
                Reply(search.id, search.item, (self.S, self.me.id), self.S, "h", 1,
                      record)))
        self.clock.advance(WINDOW)
        return {buy.item: buy for buy in self.buys()}

    def buys(self):
        """The buys sent to S (pings dropped)."""
        return [m for m in sent(self.seller) if type(m) is Buy]

    def ok(self, buy, key=None, **changes):
        """S's buyOK of buy (signed by key, S's by default), with changes."""
        ok = BuyOK(buy.id, buy.item, buy.path[::-1], buyer_key=self.me.key,
                   sha256=buy.sha256, size=buy.size)
        return (key or self.s_key).signed(attr.evolve(ok, **changes))

    def error(self, code, buy, key=None, **changes):
        error = wire.Error(code, "no", buy.id, buy.path[::-1], buyer_key=self.me.key)
        return (key or self.s_key).signed(attr.evolve(error, **changes))

    def assertIgnored(self, *answers, on=None):
        """Each answer, fed on S's link, is ignored (and logged): nothing
        bought, the want still buying the same buy."""
        want = self.buyer.wants[0]
        buy_id = want.buy_id
        with capturedLogs() as events:
            for answer in answers:
                feed(on or self.seller, answer)
                self.assertEqual((self.buyer.bag, want.state, want.buy_id),
                                 ([], "buying", buy_id), answer)
        logged = [formatEvent(e) for e in events if "ignoring a" in formatEvent(e)]
        self.assertEqual(len(logged), min(len(answers), DEFAULT_BURST), logged)


class MismatchedAnswerTests(_BuyerCase):
    """
    Answers that are not answers to the buy asked: signed by the seller
    the buy went to (or handed over on its proven link), yet about another
    item, another buy, another buyer's key, another file; or from another
    key.  Each is ignored, and the buy goes on as if unanswered: sent
    again with the same id, and bought by the answer that matches.
    """

    def assertGoesOn(self, buy):
        """The ignored answers changed nothing: the buy is sent again,
        same id, and S's matching buyOK buys it."""
        self.clock.advance(TIMEOUT)
        [again] = self.buys()
        self.assertEqual(again, buy)
        feed(self.seller, self.ok(buy))
        self.assertEqual([(p.buy_id, p.item) for p in self.buyer.bag],
                         [(buy.id, buy.item)])
        self.assertTrue(self.buyer.satisfied)

    def test_anotherItem(self):
        """A diamond answered with a signed buyOK for a pebble."""
        buy = self.startBuyer()["diamond"]
        self.assertIgnored(self.ok(buy, item="pebble"))
        self.assertGoesOn(buy)

    def test_theIdOfAnotherBuy(self):
        """Two wants bought from S: S answers the pebble buy's id with a
        buyOK for a diamond (and the other way round).  Neither want is
        met with the other's item."""
        buys = self.startBuyer(wants=("diamond", "pebble"))
        diamond, pebble = buys["diamond"], buys["pebble"]
        crossed = [self.ok(pebble, item="diamond"), self.ok(diamond, item="pebble")]
        for answer in crossed:
            feed(self.seller, answer)
        self.assertEqual(self.buyer.bag, [])
        self.assertEqual([w.state for w in self.buyer.wants], ["buying"] * 2)
        feed(self.seller, self.ok(diamond), self.ok(pebble))
        self.assertEqual(sorted((p.buy_id, p.item) for p in self.buyer.bag),
                         sorted([(diamond.id, "diamond"), (pebble.id, "pebble")]))

    def test_madeUpBuyId(self):
        """A buyOK for an id the buyer never sent buys nothing."""
        buy = self.startBuyer()["diamond"]
        feed(self.seller, self.ok(buy, id=buy.id + 1))
        self.assertEqual(self.buyer.bag, [])
        self.assertGoesOn(buy)

    def test_anotherSellersKey(self):
        """On S's proven link, a buyOK in S's name signed by another key,
        or by nobody, and one from another seller along the relay: none
        is S's signed answer."""
        buy = self.startBuyer()["diamond"]
        self.assertIgnored(self.ok(buy, key=self.mallory),
                           attr.evolve(self.ok(buy), key=None, sig=None),
                           attr.evolve(self.ok(buy), sig=self.mallory.signed(
                               self.ok(buy)).sig))
        other = self.ok(buy, key=self.mallory, path=(self.mallory.id, 2, self.me.id))
        self.assertIgnored(other, on=self.relay)
        self.assertGoesOn(buy)

    def test_addressedToAnotherBuyer(self):
        """S's signed buyOK for the same id, addressed to another buyer's
        key (as a stranger that sent this id first would get it), or to
        no key at all."""
        buy = self.startBuyer()["diamond"]
        self.assertIgnored(self.ok(buy, buyer_key=self.mallory.key),
                           self.ok(buy, buyer_key=None))
        self.assertGoesOn(buy)

    def test_anotherQuantity(self):
        """A buyOK's units are its signed ``count`` alone: one that claims
        three in fields no buyOK has (so unsigned and dropped) fills one
        unit of three wanted, and the buyer buys on."""
        buy = self.startBuyer(quantity=3)["diamond"]
        fields = self.ok(buy).asDict()
        fields.update(quantity=3, units=3)
        self.seller.dataReceived(jsonNetstring(fields))
        self.assertEqual(len(self.buyer.bag), 1)
        self.assertEqual(self.buyer.wants[0].bought, 1)
        self.assertFalse(self.buyer.satisfied)

    def test_moreThanAsked(self):
        """A buyOK, signed by the seller, that counts more units than its
        buy asked for answers no buy of ours: ignored; the matching one
        is bought."""
        buy = self.startBuyer(quantity=3)["diamond"]
        self.assertEqual(buy.quantity, 3)
        self.assertIgnored(self.ok(buy, count=4))
        feed(self.seller, self.ok(buy, count=3))
        self.assertEqual([(p.buy_id, p.units) for p in self.buyer.bag], [(buy.id, 3)])
        self.assertTrue(self.buyer.satisfied)

    def test_anotherFile(self):
        """A file offered as content SHA of 5 bytes: the buy names that
        content, and a buyOK for another hash, another size, or none, is
        ignored; the matching one is bought, with its content."""
        buy = self.startBuyer(wants=("song.ogg",), details=(5, SHA, 9))["song.ogg"]
        self.assertEqual((buy.sha256, buy.size), (SHA, 5))
        self.assertIgnored(self.ok(buy, sha256="cd" * 32), self.ok(buy, size=6),
                           self.ok(buy, sha256=None, size=None))
        self.assertGoesOn(buy)
        [purchase] = self.buyer.bag
        self.assertEqual((purchase.sha256, purchase.size), (SHA, 5))

    def test_notSoldFromAnotherSellerOrForAnotherBuyer(self):
        """soldout, unsold and expired settle a buy only when S signed
        them for this buyer's key: others leave the buy as it was."""
        buy = self.startBuyer()["diamond"]
        answers = []
        for code in ("soldout", "unsold", "expired", "notyet"):
            answers += [self.error(code, buy, key=self.mallory),
                        self.error(code, buy, buyer_key=self.mallory.key),
                        attr.evolve(self.error(code, buy), key=None, sig=None)]
        self.assertIgnored(*answers)
        self.assertGoesOn(buy)


class NotYetTests(_BuyerCase):
    """A seller that cannot promise yet that it will never sell a buy
    (notyet): the buyer buys elsewhere, holds the buy in doubt, and asks
    about it until a definite answer comes."""

    def test_notYetMovesOnAndAsks(self):
        buy = self.startBuyer(quantity=2)["diamond"]
        feed(self.seller, self.error("notyet", buy))
        [ask] = [m for m in sent(self.seller) if type(m) is Ask]
        self.assertEqual((ask.id, ask.expires), (buy.id, buy.expires))
        self.assertEqual(list(self.buyer.unresolved), [buy.id])
        feed(self.seller, self.error("unsold", buy))
        self.assertEqual(self.buyer.unresolved, {})
        self.assertEqual(self.node.store.pending(), [])


class ExpiredCopyTests(_BuyerCase):
    """
    A buyer of a file whose buy is answered ``expired``: what a seller
    says of a copy it sold over 15 minutes before and no longer answers
    for (docs/protocol.md §11, step 3).  The buy is dropped, nothing is
    bought for it, and the want buys the file again under a new id:
    bought once, nothing lost.
    """

    def test_fileBoughtAgain(self):
        first = self.startBuyer(wants=("song.ogg",), details=(5, SHA, 9))["song.ogg"]
        feed(self.seller, self.error("expired", first))
        self.assertEqual((self.buyer.bag, self.node.store.pending()), ([], []))
        # It searches again at once; S offers the file again.
        sent(self.seller)
        for search in [m for m in sent(self.relay) if type(m) is Search]:
            record = records.signed(self.s_key, search.item, "h", 1, file=(5, SHA, 9))
            feed(self.seller, self.s_key.signed(
                Reply(search.id, search.item, (self.S, self.me.id), self.S, "h", 1,
                      record)))
        self.clock.advance(WINDOW)
        [again] = self.buys()
        self.assertNotEqual(again.id, first.id)
        self.assertEqual((again.sha256, again.size), (SHA, 5))
        feed(self.seller, self.ok(again), self.ok(again))
        self.assertEqual([(p.buy_id, p.item) for p in self.buyer.bag],
                         [(again.id, "song.ogg")])
        self.assertEqual(self.node.store.bag(), self.buyer.bag)


class _SellerCase(SynchronousTestCase):
    """A keyed seller of apples, reached through relay 2."""

    def startSeller(self, store=None, **settings):
        self.s_key, self.buyer, self.stranger = keyOf(31), keyOf(32), keyOf(33)
        self.node = Node(task.Clock(), random.Random(0), FakeConnector(),
                         NodeConfig(link=LinkSettings(ping_interval=0)), store,
                         identity=self.s_key)
        self.node.setAddress(NODE_HOST, NODE_PORT)
        self.node.setId(self.s_key.id)
        self.clock = self.node.clock
        self.relay = linkPeer(self.node, 2)
        self.seller = Seller(flooded(self.node), **settings)
        return self.seller

    def expires(self, seconds=60):
        return int((self.clock.seconds() + seconds) * 1000)

    def signedBy(self, key, kind, buy_id, item="apple", expires=None):
        return key.signed(kind(buy_id, item, (key.id, 2, self.s_key.id),
                               expires=expires or self.expires()))

    def send(self, *messages):
        """Feed messages through the relay; return the answers, each
        checked to be signed by the seller."""
        feed(self.relay, *messages)
        answers = [m for m in sent(self.relay) if type(m) in (BuyOK, wire.Error)]
        for answer in answers:
            self.assertTrue(signedBy(answer, self.s_key.id), answer)
        return answers

    def codes(self, *messages):
        return [getattr(a, "code", a.TYPE) for a in self.send(*messages)]


class ReplayTests(_SellerCase):
    """
    A buy that never reached the seller is asked about (unsold); then
    whoever kept its signed bytes (a relay on its path) replays them: after
    the seller was made to close more buys than it remembers, after its
    restart, and after the buy expired.  No unit is ever sold for it.
    """

    def test_replayAfterUnsoldAndAFlood(self):
        seller = self.startSeller(stock={"apple": 5}, closed_limit=8)
        buy = self.signedBy(self.buyer, Buy, 77)
        ask = self.buyer.signed(Ask(77, "apple", buy.path, expires=buy.expires))
        self.assertEqual(self.codes(ask), ["unsold"])
        flood = [self.signedBy(self.stranger, Ask, 1000 + n) for n in range(20)]
        codes = self.codes(*flood)
        # Relayed, all through relay 2: the relays' share, of which one
        # relay's address group alone has a quarter of the 8.
        self.assertEqual(codes, ["unsold"] + ["notyet"] * 19)
        self.assertEqual(self.codes(buy), ["soldout"])
        self.assertEqual(self.codes(ask), ["unsold"])
        self.assertEqual((seller.ledger, seller.stock), ({}, {"apple": 5}))

    def test_replayOutsideTheWindowIsExpired(self):
        """Once the buy has expired, and its close is forgotten, the same
        bytes are refused as expired: still nothing sold."""
        seller = self.startSeller(stock={"apple": 5}, closed_limit=8)
        buy = self.signedBy(self.buyer, Buy, 77)
        self.codes(self.buyer.signed(Ask(77, "apple", buy.path, expires=buy.expires)))
        self.clock.advance(seller_module.MAX_EXPIRY_AHEAD + seller_module.CLOSED_GRACE + 1)
        self.codes(self.signedBy(self.stranger, Ask, 5))
        self.assertEqual([entry.buy_id for entry in seller.closed], [5])
        [expired] = self.send(buy)
        self.assertEqual((expired.code, expired.id, expired.buyer_key),
                         ("expired", 77, self.buyer.key))
        self.assertEqual((seller.ledger, seller.stock), ({}, {"apple": 5}))

    def test_replayAfterARestart(self):
        """The close is on disk: a restarted seller refuses the replay."""
        folder = tempfile.mkdtemp(prefix="bazaar-replay-")
        self.addCleanup(shutil.rmtree, folder, True)
        store = SQLiteStore(folder)
        self.startSeller(store=store, stock={"apple": 5})
        buy = self.signedBy(self.buyer, Buy, 77)
        self.codes(self.buyer.signed(Ask(77, "apple", buy.path, expires=buy.expires)))
        self.successResultOf(store.close())
        store = SQLiteStore(folder)
        self.addCleanup(store.close)
        seller = self.startSeller(store=store, stock={"apple": 5})
        self.assertEqual(self.codes(buy), ["soldout"])
        self.assertEqual((seller.ledger, seller.stock), ({}, {"apple": 5}))

    def test_replayAfterSoldoutOnceAUnitIsFree(self):
        """A buy answered soldout while every unit was held, replayed once
        the hold lapsed, still sells nothing."""
        seller = self.startSeller(stock={"apple": 2}, lease=10.0)
        feed(linkPeer(self.node, 3), Search(100, "apple", (9, 3), 5))
        self.codes(self.signedBy(self.stranger, Buy, 1))
        buy = self.signedBy(self.buyer, Buy, 77)
        self.assertEqual(self.codes(buy), ["soldout"])
        self.clock.advance(10)
        self.assertEqual(seller.free("apple"), 1)
        self.assertEqual(self.codes(buy), ["soldout"])
        self.assertEqual(seller.stock, {"apple": 1})

    def test_expiredAndFarAheadBuysSellNothing(self):
        """Expired (or naming no expiry), or expiring too far ahead: each
        refused, nothing sold."""
        seller = self.startSeller(stock={"apple": 5})
        self.clock.advance(100)
        ahead = seller_module.MAX_EXPIRY_AHEAD
        self.assertEqual(self.codes(
            self.signedBy(self.buyer, Buy, 1, expires=self.expires(-1)),
            self.signedBy(self.buyer, Buy, 2, expires=self.expires(ahead + 1)),
            self.buyer.signed(Buy(3, "apple", (self.buyer.id, 2, self.s_key.id)))),
            ["expired", "notyet", "expired"])
        self.assertEqual((seller.ledger, seller.stock), ({}, {"apple": 5}))

    def test_farAheadSaysWhenUnderItsSignature(self):
        """A buy or ask expiring too far ahead is answered ``notyet`` with
        ``retryAfter``: the ms until it would be taken (capped at an
        hour), which the seller's signature covers, so that the buyer
        can wait that long and tell how far the clocks are apart.  Other
        ``notyet``s carry none."""
        self.startSeller(stock={"apple": 5})
        ahead = seller_module.MAX_EXPIRY_AHEAD
        answers = self.send(
            self.signedBy(self.buyer, Buy, 1, expires=self.expires(ahead + 90.5)),
            self.signedBy(self.buyer, Ask, 2, expires=self.expires(ahead + 30)),
            self.signedBy(self.buyer, Buy, 3, expires=self.expires(ahead + 7200)))
        self.assertEqual([(a.code, a.retry_after) for a in answers],
                         [("notyet", 90500), ("notyet", 30000), ("notyet", 3_600_000)])
        self.assertIn("ask again in 90500 ms", answers[0].info)
        forged = attr.evolve(answers[0], retry_after=1)
        self.assertFalse(signedBy(forged, self.s_key.id))


class AskWithoutAValidExpiryTests(_SellerCase):
    """
    Issue 34, class 6: the buyer's own signed ask names no expiry, one
    already past, or one sooner than its buy's (an ask's ``expires`` is
    its buyer's word, not the buy's), and is answered ``expired`` (the
    first two) or ``unsold``; then the buy's signed bytes, with their
    later expiry, are replayed (by the buyer, or by whoever kept them),
    as soon as the ask is answered and again after the expiry the ask
    named, and its grace, have passed.  Both mean never: each replay is
    answered ``soldout``, and nothing is sold.  (Before, nothing was
    recorded for the first two, and the third's close lapsed with the
    ask's expiry: each sold.)
    """

    def assertNeverSells(self, ask_expires=None, answer="expired"):
        """The ask expires ask_expires seconds from now (or names no
        expiry), and is answered ``answer``; its buy, 500 s from now."""
        seller = self.startSeller(stock={"apple": 5})
        self.clock.advance(1000)
        buy = self.signedBy(self.buyer, Buy, 77, expires=self.expires(500))
        expires = None if ask_expires is None else self.expires(ask_expires)
        ask = self.buyer.signed(Ask(77, "apple", buy.path, expires=expires))
        self.assertEqual(self.codes(ask), [answer])
        self.assertEqual(self.codes(buy), ["soldout"])
        self.clock.advance(seller_module.CLOSED_GRACE + 60)
        # A close of another buy makes the seller forget those lapsed.
        self.codes(self.signedBy(self.stranger, Ask, 5))
        self.assertEqual(self.codes(buy), ["soldout"])
        self.assertEqual(self.codes(ask), ["expired"])
        self.assertEqual((seller.ledger, seller.stock), ({}, {"apple": 5}))

    def test_noExpiry(self):
        self.assertNeverSells()

    def test_pastExpiry(self):
        self.assertNeverSells(-1)

    def test_soonerExpiry(self):
        self.assertNeverSells(1, "unsold")

    def test_expiredBuyThenTheBuy(self):
        """The same with a buy: one naming no expiry is answered
        ``expired`` (never sold), and the same id signed with a later
        expiry sells nothing."""
        seller = self.startSeller(stock={"apple": 5})
        stale = self.buyer.signed(Buy(77, "apple", (self.buyer.id, 2, self.s_key.id)))
        self.assertEqual(self.codes(stale), ["expired"])
        buy = self.signedBy(self.buyer, Buy, 77, expires=self.expires(500))
        self.assertEqual(self.codes(buy), ["soldout"])
        self.assertEqual((seller.ledger, seller.stock), ({}, {"apple": 5}))


class StrangerFirstTests(_SellerCase):
    """
    A stranger (a relay on the buyer's path, say) sends a buy under the
    buyer's id before the buyer's own buy arrives.  It buys a unit of its
    own, under its own key: the buyer's buy is still sold, to the buyer,
    and its buyOK names the buyer's key; the stranger's names its own.
    """

    def test_strangerCannotTakeTheBuyersAnswer(self):
        seller = self.startSeller(stock={"apple": 3, "pebble": 3})
        mine = self.signedBy(self.buyer, Buy, 77)
        theirs = self.signedBy(self.stranger, Buy, 77, item="pebble")
        [stolen] = self.send(theirs)
        [ok] = self.send(mine)
        self.assertEqual((ok.id, ok.item, ok.buyer_key, ok.path[-1]),
                         (77, "apple", self.buyer.key, self.buyer.id))
        self.assertEqual((stolen.item, stolen.buyer_key), ("pebble", self.stranger.key))
        self.assertEqual(seller.stock, {"apple": 2, "pebble": 2})
        self.assertEqual(self.send(mine), [ok])
        self.assertEqual(sorted(seller.ledger), sorted([(self.buyer.key, 77),
                                                        (self.stranger.key, 77)]))

    def test_strangerCannotCloseTheBuyersBuy(self):
        """Nor can it close the buyer's buy by asking about its id."""
        seller = self.startSeller(stock={"apple": 3})
        self.assertEqual(self.codes(self.signedBy(self.stranger, Ask, 77)), ["unsold"])
        [ok] = self.send(self.signedBy(self.buyer, Buy, 77))
        self.assertEqual((ok.TYPE, ok.buyer_key), ("buyOK", self.buyer.key))
        self.assertEqual(seller.stock, {"apple": 2})


class ProvenLinkTests(_SellerCase):
    """
    A buy handed over unsigned by its buyer on a link where it proved its
    key is checked by its key's id alone (no signature): sold when it
    names the buyer's own key, ignored when it names another's (the
    seller's one-test path for such buys, Answering.trusted).
    """

    def buyOn(self, link, key, buy_id):
        feed(link, Buy(buy_id, "apple", (self.buyer.id, self.s_key.id),
                       expires=self.expires(), key=key))
        return [m for m in sent(link) if type(m) in (BuyOK, wire.Error)]

    def test_itsOwnKeySells(self):
        seller = self.startSeller(stock={"apple": 3})
        link = provenLink(self.node, self.buyer)
        [ok] = self.buyOn(link, self.buyer.key, 77)
        self.assertEqual((ok.TYPE, ok.buyer_key, ok.path), (
            "buyOK", self.buyer.key, (self.s_key.id, self.buyer.id)))
        self.assertTrue(signedBy(ok, self.s_key.id))
        self.assertEqual(seller.stock, {"apple": 2})

    def test_anotherKeySellsNothing(self):
        seller = self.startSeller(stock={"apple": 3})
        link = provenLink(self.node, self.buyer)
        self.assertEqual(self.buyOn(link, self.stranger.key, 77), [])
        self.assertEqual((seller.ledger, seller.stock), ({}, {"apple": 3}))


class ClosesSharedTests(_SellerCase):
    """
    Issue 34, class 2, for closed buys: a stranger with free keys fills
    the seller's closed buys (--closed-limit) through one relay, with
    signed asks of new buy ids.  Relayed, the closes are charged to the
    relays' share, to the address group of the link each ask came on
    (the relay's): once that group holds as many as the share has room
    left, its new relayed closes are refused (``notyet``), and a buyer
    through another relay, or straight from its own group (the relay's
    own included), still gets ``unsold``, never ``notyet``.  (Before, the
    stranger took all 100 and every honest ask after got ``notyet``; then,
    charged to the relay's own group, it took the relay's own half.)
    """

    def linkFrom(self, peer_id, host):
        """An overlay link from peer_id at host (another address group
        than the relay's)."""
        link = openLink(self.node, host=host)
        feed(link, wire.ThisIsMe(peer_id, 5000, ""))
        link.transport.clear()
        return link

    def askOn(self, link, key, buy_id, path):
        feed(link, key.signed(Ask(buy_id, "apple", path, expires=self.expires())))
        return [(m.code, m.id) for m in sent(link) if type(m) is wire.Error]

    def test_oneGroupCannotTakeTheClosedBuys(self):
        seller = self.startSeller(stock={"apple": 5}, closed_limit=100)
        junk = self.codes(*[self.signedBy(keyOf(1000 + n), Ask, n) for n in range(200)])
        # One relay's group alone: a quarter of the 100.
        self.assertEqual(junk, ["unsold"] * 25 + ["notyet"] * 175)
        relay = self.linkFrom(3, "198.51.100.7")
        path = (self.buyer.id, 3, self.s_key.id)
        self.assertEqual(self.askOn(relay, self.buyer, 77, path), [("unsold", 77)])
        # Directly, from the buyer's own address group: the same.
        direct = provenLink(self.node, self.buyer, host="203.0.113.9")
        self.assertEqual(self.askOn(direct, self.buyer, 78, (self.buyer.id, self.s_key.id)),
                         [("unsold", 78)])
        # And from the relay's own address group: what it relayed is not
        # its own.
        own = keyOf(7)
        mine = provenLink(self.node, own, host="10.0.0.98")
        self.assertEqual(self.askOn(mine, own, 79, (own.id, self.s_key.id)),
                         [("unsold", 79)])
        self.assertEqual(self.seller.remembered.held("10.0.0.0/16"), 1)
        # What relay 2 hands on still may not take more.
        self.assertEqual(self.codes(self.signedBy(self.stranger, Ask, 500)), ["notyet"])
        [notyet] = self.send(self.signedBy(self.stranger, Ask, 501))
        self.assertIn("the buys relayed to this seller by your last relay's address "
                      "group hold 25 closed buys", notyet.info)
        self.assertEqual(len(seller.closed), 28)
        self.assertEqual((seller.ledger, seller.stock), ({}, {"apple": 5}))

    def test_closesAnsweredStayClosed(self):
        """Nothing gives way: the stranger's closes, answered, stay
        closed while honest groups close theirs, and lapse only when
        their buys could no longer sell."""
        seller = self.startSeller(stock={"apple": 5}, closed_limit=20)
        asks = [self.signedBy(self.stranger, Ask, n) for n in range(5)]
        self.assertEqual(self.codes(*asks), ["unsold"] * 5)
        for n, host in enumerate(("198.51.100.7", "192.0.2.1", "203.0.113.9")):
            relay = self.linkFrom(3 + n, host)
            self.assertEqual(self.askOn(relay, self.buyer, 70 + n,
                                        (self.buyer.id, 3 + n, self.s_key.id)),
                             [("unsold", 70 + n)])
        self.assertEqual(self.codes(*[self.signedBy(self.stranger, Buy, n)
                                      for n in range(5)]), ["soldout"] * 5)
        self.assertEqual(len(seller.closed), 8)
        self.clock.advance(seller_module.MAX_EXPIRY_AHEAD + seller_module.CLOSED_GRACE + 1)
        self.assertEqual(self.codes(self.signedBy(self.stranger, Ask, 99)), ["unsold"])
        self.assertEqual((len(seller.closed), seller.remembered.used), (1, 1))

    def test_restoredClosesChargedToOneGroup(self):
        """After a restart the closes on disk are charged to one group of
        their own: the stranger's relay starts afresh beside them, and
        another relay still gets its close."""
        folder = tempfile.mkdtemp(prefix="bazaar-closes-")
        self.addCleanup(shutil.rmtree, folder, True)
        store = SQLiteStore(folder)
        self.startSeller(store=store, stock={"apple": 5}, closed_limit=12)
        self.codes(*[self.signedBy(self.stranger, Ask, n) for n in range(12)])
        self.successResultOf(store.close())
        store = SQLiteStore(folder)
        self.addCleanup(store.close)
        seller = self.startSeller(store=store, stock={"apple": 5}, closed_limit=12)
        self.assertEqual(seller.remembered.held(seller_module.RESTORED), 3)
        # The relays' share: half of the 9 left, 4; one relay, 2 of them.
        self.assertEqual(self.codes(*[self.signedBy(self.stranger, Ask, 100 + n)
                                      for n in range(5)]),
                         ["unsold"] * 2 + ["notyet"] * 3)
        relay = self.linkFrom(3, "198.51.100.7")
        self.assertEqual(self.askOn(relay, self.buyer, 77,
                                    (self.buyer.id, 3, self.s_key.id)), [("unsold", 77)])
        self.assertEqual(self.codes(self.signedBy(self.stranger, Buy, 0)), ["soldout"])


class RefusalLogTests(_SellerCase):
    """Refusals an attacker can cause at will (unsigned buys, closes past
    the limit) are logged a few per interval and summed up, not one line
    each."""

    def test_fewLinesPerInterval(self):
        # The relays' share of 2 is 1.
        self.startSeller(stock={"apple": 5}, closed_limit=2)
        unsigned = [Buy(n, "apple", (self.buyer.id, 2, self.s_key.id),
                        expires=self.expires()) for n in range(30)]
        asks = [self.signedBy(self.stranger, Ask, 100 + n) for n in range(30)]
        with capturedLogs() as events:
            feed(self.relay, *unsigned)
            self.codes(*asks)
            self.clock.advance(10)
        lines = [formatEvent(e) for e in events]
        self.assertEqual(len(lines), DEFAULT_BURST + 1, lines)
        self.assertIn("20 buys not signed by their buyers", lines[-1])
        self.assertIn("29 buys and asks answered notyet (--closed-limit)", lines[-1])
