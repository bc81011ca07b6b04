"""
Tests of L{twisted_bazaar.roles.buyer}: searching, choosing offers,
buying directly or along the path, resends, moving on, backoff, the bag
and its log lines, and the plugin's option checks.

The buyer is node 1, linked to relay node 2.  Seller 6 offers over the
path 6-2-1, seller 5 over the longer 5-3-2-1.
"""

import random

import attr
from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.error import ConnectionRefusedError
from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.events import NodeObserver
from twisted_bazaar.daemon.build import plugScheme
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.schemes.flood import messages as floodmsg
from twisted_bazaar.wire import trade
from twisted_bazaar import wire
from twisted_bazaar.roles.buyer import (
    BUY_ATTEMPTS,
    BUY_TIMEOUT_MAX,
    DOUBT_LIMIT,
    HASTY_ATTEMPTS,
    RESOLVE_INTERVAL,
    Buyer,
    BuyerPlugin,
    Purchase,
    parseItem,
)
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.roles.probe import ANSWER_GRACE, ASK_ROUNDS
from twisted_bazaar.core.market import Offer
from twisted_bazaar.schemes.flood.discovery import FloodDiscovery
from twisted_bazaar.store import PendingBuy, Purchase

from tests.helpers import (
    clockStartMs,
    flooded,
    NODE_HOST,
    NODE_PORT,
    closeLink,
    feed,
    linkPeer,
    makeNode,
    openLink,
    provenLink,
    sent,
)

WINDOW = 1.0
TIMEOUT = 2.0
NEAR = (6, 2, 1)
FAR = (5, 3, 2, 1)


def askAbout(buy):
    """The ask about buy: the same id, item, path and expiry."""
    return trade.Ask(buy.id, buy.item, buy.path, expires=buy.expires)


class _BuyerHelpers:
    def start(self, wants=("apple",), quantity=1):
        """
        A buyer on node 1, then its first link, to the relay; return the
        searches that link brought about.
        """
        self.node = makeNode(1)
        self.clock = self.node.clock
        self.buyer = Buyer(flooded(self.node), list(wants), quantity=quantity,
                           search_window=WINDOW, buy_timeout=TIMEOUT)
        self.relay = openLink(self.node)
        feed(self.relay, wire.ThisIsMe(2, 5002))
        hello, *searches = sent(self.relay)
        self.assertEqual(hello, wire.ThisIsMe(1, NODE_PORT, NODE_HOST))
        return searches

    def startSearch(self, **kwargs):
        """Start, and return the id of the one search."""
        [search] = self.start(**kwargs)
        return search.id

    def offer(self, search_id, path, host="", port=0):
        """A reply from the seller at the head of path reaches the buyer."""
        feed(self.relay, floodmsg.Reply(search_id, "apple", path, path[0], host, port))

    def chooseOffer(self, *paths):
        """Offers arrive over paths and the window closes; return the first
        buy the buyer sends on the relay."""
        search_id = self.startSearch()
        for path in paths:
            self.offer(search_id, path)
        self.clock.advance(WINDOW)
        [buy] = sent(self.relay)
        return buy

    def giveUpOn(self, first, attempts=HASTY_ATTEMPTS):
        """Let attempts sends of buy first go unanswered, each wait twice
        the last; return what the buyer sends when it gives up."""
        for attempt in range(1, attempts):
            self.clock.advance(min(TIMEOUT * 2 ** (attempt - 1), BUY_TIMEOUT_MAX))
            self.assertEqual(sent(self.relay), [first])
        self.clock.advance(min(TIMEOUT * 2 ** (attempts - 1), BUY_TIMEOUT_MAX))
        return sent(self.relay)

    def advanceToNextCall(self):
        calls = self.clock.getDelayedCalls()
        self.clock.advance(min(call.getTime() for call in calls) - self.clock.seconds())


class BuyerTests(_BuyerHelpers, SynchronousTestCase):
    # -- searching --------------------------------------------------------------

    def test_searchOnFirstLink(self):
        """The first link starts a flooded search from this node."""
        searches = self.start()
        self.assertEqual(searches, [floodmsg.Search(searches[0].id, "apple", (1,),
                                                wire.DEFAULT_TTL)])

    def test_nodeReadyWithLink(self):
        """A buyer told the node is ready searches if it has a link."""
        node = makeNode(1)
        link = linkPeer(node, 2)
        Buyer(flooded(node), ["apple"]).nodeReady()
        [search] = sent(link)
        self.assertEqual((search.item, search.return_path), ("apple", (1,)))

    def test_namedButNotTakenSearchesNothing(self):
        """A node its tracker named but has yet to show it took (the pong
        behind its proof): its buyer searched on its first link, node.ready
        being true on the naming; now it waits for the registration."""
        node = makeNode(None)
        node.setId(1, accepted=False)
        Buyer(flooded(node), ["apple"])
        link = linkPeer(node, 2)
        self.assertEqual(sent(link), [])
        node.trackerAccepted()
        [search] = sent(link)
        self.assertEqual((search.item, search.return_path), ("apple", (1,)))

    def test_nodeReadyWithoutLink(self):
        """With no link yet, the buyer waits instead of searching."""
        node = makeNode(1)
        Buyer(flooded(node), ["apple"]).nodeReady()
        self.assertEqual(node.clock.getDelayedCalls(), [])

    def test_searchPerWant(self):
        """Each wanted item gets its own search."""
        searches = self.start(wants=("apple", "pear"))
        self.assertEqual([s.item for s in searches], ["apple", "pear"])
        self.assertNotEqual(searches[0].id, searches[1].id)

    def test_collectThenShortestFirst(self):
        """Nothing is bought during the window; then the offer with the
        shortest path is bought along it."""
        search_id = self.startSearch()
        self.offer(search_id, FAR)
        self.offer(search_id, NEAR)
        self.clock.advance(WINDOW - 0.1)
        self.assertEqual(sent(self.relay), [])
        self.clock.advance(0.1)
        [buy] = sent(self.relay)
        self.assertEqual((buy.item, buy.path), ("apple", (1, 2, 6)))

    def test_unrelatedRepliesIgnored(self):
        """Replies to other searches, or for other items, are no offers."""
        search_id = self.startSearch()
        self.offer(search_id + 1, NEAR)
        feed(self.relay, floodmsg.Reply(search_id, "pear", NEAR, 6, "", 0))
        self.clock.advance(WINDOW)
        self.assertEqual(sent(self.relay), [])

    def test_buyDirectWhenLinked(self):
        """With a link to the seller, the buy goes straight to it."""
        search_id = self.startSearch()
        seller = linkPeer(self.node, 6)
        self.offer(search_id, NEAR)
        self.clock.advance(WINDOW)
        self.assertEqual(sent(self.relay), [])
        [buy] = sent(seller)
        self.assertEqual(buy.path, (1, 6))
        self.assertEqual(self.node.connector.requests, [])

    def test_aFileBoughtWithoutDownloadsIsSaid(self):
        """A buyer without --downloads that buys a shared file counted its
        want met and said nothing of the file it did not fetch (the fifth
        new user: exit 0, all wants met, no file).  It warns, naming the
        flag."""
        self.start()
        with capturedLogs() as events:
            self.buyer.bought(Purchase(9, "song.ogg", 5, 0.0, sha256="ab" * 32,
                                       size=4), None, False)
            self.buyer.bought(Purchase(10, "pear", 5, 0.0), None, False)
        self.assertEqual(
            [formatEvent(e) for e in events if e["log_level"] == LogLevel.warn],
            ["bought song.ogg, a shared file, but this buyer has no --downloads: it "
             "is not fetched (give --downloads DIR to fetch what it buys)"])

    def test_connectToSeller(self):
        """With the seller's address, the buyer links to it and buys there."""
        search_id = self.startSearch()
        self.offer(search_id, NEAR, "10.0.0.6", 6006)
        self.clock.advance(WINDOW)
        [(host, port, _, _)] = self.node.connector.requests
        self.assertEqual((host, port), ("10.0.0.6", 6006))
        self.assertEqual(sent(self.relay), [])
        seller = self.node.connector.connectLast()
        feed(seller, wire.ThisIsMe(6, 6006, "10.0.0.6"))
        hello, buy = sent(seller)
        self.assertEqual((hello.id, buy.path), (1, (1, 6)))
        self.assertEqual(sent(self.relay), [])

    def test_refusedLinkBuyAlongPath(self):
        """When the seller answers at its address but refuses the link (out
        of slots, say), the buy goes along the reply's path reversed."""
        search_id = self.startSearch()
        self.offer(search_id, NEAR, "10.0.0.6", 6006)
        self.clock.advance(WINDOW)
        link = self.node.connector.connectLast()
        feed(link, wire.Error("noslots", "all 8 connection slots are taken"))
        closeLink(link)
        [buy] = sent(self.relay)
        self.assertEqual(buy.path, (1, 2, 6))

    def test_fullSellerWithNoLinkAlongThePathTakesTheNextOffer(self):
        """The seller refuses the link (all its slots taken) and the link
        the offer's path starts on is gone: the buy cannot leave, so
        nothing was sold, and the next offer is bought at once (it was
        resent into no link until its five attempts ran out, a minute)."""
        search_id = self.startSearch()
        self.offer(search_id, NEAR, "10.0.0.6", 6006)
        self.offer(search_id, FAR, "10.0.0.5", 5005)
        self.clock.advance(WINDOW)
        first = self.buyer.wants[0].buy_id
        closeLink(self.relay)
        link = self.node.connector.connectLast()
        feed(link, wire.Error("noslots", "all 8 connection slots are taken"))
        closeLink(link)
        self.assertEqual(self.buyer.inDoubt("apple"), 0)
        self.assertIsNone(self.buyer.book.get(first))
        self.assertEqual([request[:2] for request in self.node.connector.requests],
                         [("10.0.0.6", 6006), ("10.0.0.5", 5005)])
        self.assertEqual([pending.seller for pending in self.node.store.pending()], [5])

    def test_deadAddressTakesTheNextOffer(self):
        """Nothing listens at the seller's address: the buy never left, so
        it goes nowhere (not along the path, to whoever made the offer
        up), holds nothing in doubt, and the next offer is bought."""
        search_id = self.startSearch()
        self.offer(search_id, NEAR, "10.0.0.6", 6006)
        self.offer(search_id, FAR, "10.0.0.5", 5005)
        self.clock.advance(WINDOW)
        first = self.buyer.wants[0].buy_id
        self.node.connector.failLast(ConnectionRefusedError())
        self.assertEqual(sent(self.relay), [])
        self.assertEqual(self.buyer.inDoubt("apple"), 0)
        self.assertIsNone(self.buyer.book.get(first))
        self.assertEqual([request[:2] for request in self.node.connector.requests],
                         [("10.0.0.6", 6006), ("10.0.0.5", 5005)])
        self.assertNotEqual(self.buyer.wants[0].buy_id, first)
        self.assertEqual([pending.seller for pending in self.node.store.pending()], [5])

    def test_deadAddressOnlyOfferSearchesLater(self):
        """The only offer's address takes no connection: nothing is sent,
        and the want searches again after a while, as when nothing was
        offered."""
        search_id = self.startSearch()
        self.offer(search_id, NEAR, "10.0.0.6", 6006)
        self.clock.advance(WINDOW)
        self.node.connector.failLast(ConnectionRefusedError())
        self.assertEqual(sent(self.relay), [])
        self.assertEqual(self.buyer.wants[0].state, "backoff")
        self.assertEqual(self.node.store.pending(), [])
        self.advanceToNextCall()
        [search] = sent(self.relay)
        self.assertEqual(search.item, "apple")

    # -- resending and moving on -----------------------------------------------------

    def test_resendSameIdThenAskThenNextOffer(self):
        """
        Silence gets the same buy id again, HASTY_ATTEMPTS times in all
        while another offer waits; then the buyer asks the seller what became of it, and buys nothing else
        while that buy may fill the want.  The seller's ``unsold`` settles
        it: the next offer gets a new buy id.
        """
        first = self.chooseOffer(FAR, NEAR)
        self.assertEqual(self.giveUpOn(first), [askAbout(first)])
        self.assertEqual(self.buyer.wants[0].state, "doubting")
        self.clock.advance(RESOLVE_INTERVAL - 1)
        self.assertEqual(sent(self.relay), [])
        feed(self.relay, wire.Error("unsold", "not sold", first.id, (6, 2, 1)))
        [second] = sent(self.relay)
        self.assertNotEqual(second.id, first.id)
        self.assertEqual(second.path, (1, 2, 3, 5))
        self.assertEqual(self.buyer.unresolved, {})

    def test_askedBuySoldFillsTheWant(self):
        """The seller answers the ask with buyOK: that purchase meets the
        want, and the next offer is never bought."""
        first = self.chooseOffer(FAR, NEAR)
        self.giveUpOn(first)
        feed(self.relay, trade.BuyOK(first.id, "apple", (6, 2, 1)))
        self.assertEqual([p.buy_id for p in self.buyer.bag], [first.id])
        self.assertTrue(self.buyer.satisfied)
        self.clock.advance(10 * RESOLVE_INTERVAL)
        self.assertEqual(sent(self.relay), [])

    def test_doubtExpires(self):
        """A buy unanswered for DOUBT_LIMIT stops holding the want back:
        the next offer is bought, while the seller is still asked."""
        first = self.chooseOffer(FAR, NEAR)
        self.giveUpOn(first)
        asks, start = [], clockStartMs() / 1000  # where the test's clock began
        while self.clock.seconds() - start < 200 and not any(
                type(m) is trade.Buy for m in asks):
            self.advanceToNextCall()
            asks += sent(self.relay)
        self.assertGreaterEqual(self.clock.seconds() - start, DOUBT_LIMIT)
        [buy] = [m for m in asks if type(m) is trade.Buy]
        self.assertEqual(buy.path, (1, 2, 3, 5))
        others = [m for m in asks if m is not buy]
        self.assertGreater(len(others), 3)
        self.assertEqual(others, [askAbout(first)] * len(others))
        feed(self.relay, trade.BuyOK(buy.id, "apple", (5, 3, 2, 1)))
        self.assertTrue(self.buyer.satisfied)
        for _ in range(5):
            self.clock.advance(RESOLVE_INTERVAL)
        later = sent(self.relay)
        self.assertEqual(later, [askAbout(first)] * 5,
                         "once the want is met, the buyer only asks")

    def test_doubtHoldsBackWhatItAskedFor(self):
        """With two wanted, the first buy asks for both; given up on, it
        holds both back: only the ask goes out, and once it is answered
        unsold the next offer is asked for both."""
        search_id = self.startSearch(quantity=2)
        self.offer(search_id, NEAR)
        self.offer(search_id, FAR)
        self.clock.advance(WINDOW)
        [first] = sent(self.relay)
        self.assertEqual(first.quantity, 2)
        [ask] = self.giveUpOn(first)
        self.assertEqual(ask, askAbout(first))
        self.assertEqual(self.buyer.wants[0].state, "doubting")
        feed(self.relay, wire.Error("unsold", "never", first.id, tuple(first.path[::-1])))
        [second] = sent(self.relay)
        self.assertEqual((type(second), second.path, second.quantity),
                         (trade.Buy, (1, 2, 3, 5), 2))

    def test_resendAlongPathWhileConnecting(self):
        """A connection still being made does not hold up the resend: it
        goes along the path at once, and another connection is tried."""
        search_id = self.startSearch()
        self.offer(search_id, NEAR, "10.0.0.6", 6006)
        self.clock.advance(WINDOW)
        self.assertEqual(sent(self.relay), [])
        self.clock.advance(TIMEOUT)
        [buy] = sent(self.relay)
        self.assertEqual(buy.path, (1, 2, 6))
        self.assertEqual(len(self.node.connector.requests), 2)

    def test_soldoutMovesToNextOffer(self):
        """soldout for the current buy moves on at once; a soldout for a
        buy id the buyer never sent is ignored."""
        first = self.chooseOffer(FAR, NEAR)
        feed(self.relay, wire.Error("soldout", "none", first.id + 1, NEAR))
        self.assertEqual(sent(self.relay), [])
        feed(self.relay, wire.Error("soldout", "none", first.id, NEAR))
        [second] = sent(self.relay)
        self.assertEqual(second.path, (1, 2, 3, 5))
        self.assertNotEqual(second.id, first.id)

    def test_lateOfferIsNotUsed(self):
        """Offers count only within the window: one arriving after it is
        ignored, and when the window's offers run out the buyer searches
        again (the late seller still holds a unit for it and will reply to
        that search)."""
        search_id = self.startSearch()
        self.offer(search_id, (7, 4, 3, 2, 1))
        self.clock.advance(WINDOW)
        first = sent(self.relay)[0]
        self.offer(search_id, NEAR)
        feed(self.relay, wire.Error("soldout", "none", first.id, first.path[::-1]))
        [again] = sent(self.relay)
        self.assertIsInstance(again, floodmsg.Search)
        self.assertNotEqual(again.id, search_id)

    def test_searchAgainWhenOffersRunOut(self):
        """With every offer gone, the buyer searches again."""
        first = self.chooseOffer(NEAR)
        feed(self.relay, wire.Error("soldout", "none", first.id, NEAR))
        [search] = sent(self.relay)
        self.assertEqual((type(search), search.item), (floodmsg.Search, "apple"))

    def test_searchAgainWithBackoff(self):
        """With no offer, the buyer searches again after a pause that
        roughly doubles each time (with jitter of +-50%)."""
        search_ids = [self.startSearch()]
        times = [self.clock.seconds()]
        while len(times) < 6:
            self.advanceToNextCall()
            for message in sent(self.relay):
                self.assertEqual(type(message), floodmsg.Search)
                search_ids.append(message.id)
                times.append(self.clock.seconds())
        self.assertEqual(len(set(search_ids)), 6)
        for k, (before, after) in enumerate(zip(times, times[1:])):
            pause = after - before - WINDOW
            self.assertTrue(0.5 * 2**k <= pause < 1.5 * 2**k, (k, pause))

    def test_waitForLinkToSearchAgain(self):
        """A buyer left without links waits, and searches on the next one."""
        self.startSearch()
        closeLink(self.relay)
        self.clock.advance(WINDOW)
        self.advanceToNextCall()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        link = openLink(self.node)
        feed(link, wire.ThisIsMe(3, 5003))
        [_, search] = sent(link)
        self.assertEqual(search.return_path, (1,))

    # -- buyOK ------------------------------------------------------------------------

    def test_buyOK(self):
        """buyOK puts a Purchase in the bag, logs it, and stops the resends;
        a duplicate buyOK changes nothing."""
        buy = self.chooseOffer(NEAR)
        self.clock.advance(0.5)
        with capturedLogs() as events:
            feed(self.relay, trade.BuyOK(buy.id, "apple", NEAR))
            feed(self.relay, trade.BuyOK(buy.id, "apple", NEAR))
        lines = [formatEvent(event) for event in events]
        self.assertEqual(self.buyer.bag, [Purchase(buy.id, "apple", 6, self.clock.seconds())])
        self.assertEqual(len([line for line in lines if "bought apple from 6" in line]), 1)
        self.assertEqual(len([line for line in lines if "all wants met" in line]), 1)
        self.assertTrue(self.buyer.satisfied)
        self.clock.advance(60)
        self.assertEqual(sent(self.relay), [])

    def test_unknownBuyOKIgnored(self):
        """A buyOK for a buy this buyer never sent puts nothing in the bag."""
        buy = self.chooseOffer(NEAR)
        feed(self.relay, trade.BuyOK(buy.id + 1, "apple", NEAR))
        self.assertEqual(self.buyer.bag, [])
        self.assertFalse(self.buyer.satisfied)

    def test_quantity(self):
        """With --quantity 2, the buyer searches again after the first
        purchase and is satisfied only after the second."""
        [search] = self.start(quantity=2)
        self.offer(search.id, NEAR)
        self.clock.advance(WINDOW)
        [first] = sent(self.relay)
        with capturedLogs() as events:
            feed(self.relay, trade.BuyOK(first.id, "apple", NEAR))
        self.assertFalse(self.buyer.satisfied)
        self.assertIn("bought apple from 6 (1 of 2)", formatEvent(events[-1]))
        [again] = sent(self.relay)
        self.assertEqual(type(again), floodmsg.Search)
        self.offer(again.id, FAR)
        self.clock.advance(WINDOW)
        [second] = sent(self.relay)
        self.assertNotEqual(second.id, first.id)
        with capturedLogs() as events:
            feed(self.relay, trade.BuyOK(second.id, "apple", FAR))
        lines = [formatEvent(event) for event in events]
        self.assertIn("bought apple from 5 (2 of 2)", lines[0])
        self.assertIn("all wants met", lines[-1])
        self.assertEqual([(p.item, p.seller) for p in self.buyer.bag],
                         [("apple", 6), ("apple", 5)])
        self.assertTrue(self.buyer.satisfied)

    def test_stoppingCancelsTimers(self):
        """On shutdown the buyer leaves no timer running."""
        self.chooseOffer(NEAR)
        self.node.shutdown()
        self.assertEqual(self.clock.getDelayedCalls(), [])


class BuyerPluginTests(SynchronousTestCase):
    def options(self, **overrides):
        config = {"want": ["apple"], "quantity": 1, "search-window": 1.0,
                  "buy-timeout": 2.0, "doubt-limit": 120.0, "exit-when-done": False}
        config.update(overrides)
        return config

    def test_configure(self):
        """Flags become Buyer settings; a want named twice counts once."""
        settings = BuyerPlugin().configure(self.options(
            want=["apple", "pear", "apple"], quantity=2))
        self.assertEqual(settings, {"wants": ["apple", "pear"], "quantity": 2,
                                    "search_window": 1.0, "buy_timeout": 2.0,
                                    "doubt_limit": 120.0, "exit_when_done": False})
        settings = BuyerPlugin().configure(self.options(**{"exit-when-done": True}))
        self.assertTrue(settings["exit_when_done"])

    def test_nothingWanted(self):
        """A buyer needs at least one --want."""
        self.assertRaises(ValueError, BuyerPlugin().configure, self.options(want=[]))

    def test_build(self):
        """build attaches a Buyer with those settings to the node."""
        node = flooded(makeNode(1))
        buyer = BuyerPlugin().build(node, {"wants": ["apple"], "quantity": 2,
                                           "search_window": 0.5, "buy_timeout": 3.0})
        self.assertIn(buyer, node.events.observers)
        self.assertEqual(([w.item for w in buyer.wants], buyer.wants[0].quantity,
                          buyer.search_window, buyer.buy_timeout),
                         (["apple"], 2, 0.5, 3.0))

    def test_parseItem(self):
        """An item name is 1 to 256 bytes of UTF-8."""
        self.assertEqual(parseItem("äpple"), "äpple")
        self.assertRaises(ValueError, parseItem, "")
        self.assertRaises(ValueError, parseItem, "é" * 129)

    def test_parseItemNotUtf8(self):
        """A --want (or ``bazaar buy`` ITEM) that is not UTF-8 is refused
        by its byte: it was Python's "'utf-8' codec can't encode character
        '\\udcff' in position 2: surrogates not allowed" (issue 96)."""
        error = self.assertRaises(ValueError, parseItem, "ap\udcffple")
        self.assertEqual(str(error), "'ap\\xffple' is not UTF-8 text (its byte 3 "
                                     "is 0xff): write the name in UTF-8")

    def test_parseItemComposed(self):
        """An item typed or pasted decomposed (NFD, ``e`` and U+0301) is
        wanted composed (NFC), the form sellers offer files under: the
        two spellings of one name were two items."""
        self.assertEqual(parseItem("cafe\u0301.txt"), "caf\xe9.txt")
        self.assertEqual(parseItem("caf\xe9.txt"), "caf\xe9.txt")

    def test_parseItemNoSellerCouldOffer(self):
        """bazaar buy " " and bazaar buy sha256:nothex were taken, and
        searched: blanks alone, and sha256: without a content id, are
        refused with the reason; a name with a blank in it, and a content
        id, are items."""
        self.assertEqual(str(self.assertRaises(ValueError, parseItem, " \t")),
                         "an item name of blanks alone (' \\t') names nothing on sale")
        for text in ("sha256:nothex", "sha256:" + "AB" * 32, "sha256:" + "ab" * 31):
            self.assertEqual(str(self.assertRaises(ValueError, parseItem, text)),
                             f"{text!r}: sha256:HEX names a shared file by its content "
                             "id, 64 hex digits in lower case (bazaar list shows it)")
        for text in ("red apple", "sha256:" + "ab" * 32, "sha256"):
            self.assertEqual(parseItem(text), text)

    def test_parseItemBlanksAround(self):
        """A name with a blank at an end is only a shared file's (--sell
        refuses it for a counted item): taken when a file may be so
        named, refused saying the item meant when no file may either
        (bazaar buy $'\\tapple' searched for what nothing can sell)."""
        self.assertEqual(parseItem(" apple"), " apple")
        self.assertEqual(parseItem("notes .txt "), "notes .txt ")
        self.assertEqual(
            str(self.assertRaises(ValueError, parseItem, "\tapple")),
            "'\\tapple' begins or ends with a blank, which only a shared file's name "
            "may (a counted item's never does), and a file name holds no control "
            "characters (NUL, newline...): for the item apple, write 'apple'")
        self.assertIn("a file name holds no / or \\",
                      str(self.assertRaises(ValueError, parseItem, " a/b")))


class RelocationTests(SynchronousTestCase):
    """
    A buy given up on is asked about again every RESOLVE_INTERVAL; when
    nothing listens at the seller's old address, the buyer asks the
    tracker where the seller is now (it may have restarted on another
    port) and asks it there, keeping the same buy id.
    """

    #: As the node's tracker session: reached by TCP (a link's dial asks
    #: nothing first).
    trackerWay = None

    def setUp(self):
        self.node = makeNode(1)
        self.asked = []
        self.answer = defer.Deferred()
        self.node.membership = self
        self.node.whereIs = self.whereIs
        pending = PendingBuy(77, "apple", 6, (1, 6), "old-host", 6006)
        self.successResultOf(self.node.store.addPending(pending))
        # Wants nothing more: only the restored buy is in play.
        self.buyer = Buyer(flooded(self.node), ["pear"], quantity=0, buy_timeout=TIMEOUT)
        self.node.setId(1)

    def whereIs(self, node_id):
        """The membership's question to the tracker, answered by the test."""
        self.asked.append(node_id)
        return self.answer

    def test_movedSellerIsAskedAtItsNewAddress(self):
        self.assertEqual(list(self.buyer.unresolved), [77])
        self.node.clock.advance(RESOLVE_INTERVAL)
        connector = self.node.connector
        self.assertEqual(connector.requests[-1][:2], ("old-host", 6006))
        self.assertEqual(self.asked, [])
        connector.failLast(ConnectionRefusedError())
        self.assertEqual(self.asked, [6])
        self.answer.callback(("new-host", 7007))
        self.assertEqual(connector.requests[-1][:2], ("new-host", 7007))
        self.assertEqual([(p.buy_id, p.host, p.port) for p in self.node.store.pending()],
                         [(77, "new-host", 7007)])
        link = connector.connectLast()
        feed(link, wire.ThisIsMe(6, 7007, "new-host"))
        [hello, buy] = sent(link)
        self.assertEqual(buy, trade.Ask(77, "apple", (1, 6)))
        feed(link, trade.BuyOK(77, "apple", (6, 1)))
        self.assertEqual([(p.buy_id, p.seller) for p in self.buyer.bag], [(77, 6)])
        self.assertEqual(self.buyer.unresolved, {})
        self.assertEqual(self.node.store.pending(), [])

    def test_unknownOrSameAddressChangesNothing(self):
        """The tracker does not know the seller, or names the same
        address: nothing more is tried until the next round."""
        self.node.clock.advance(RESOLVE_INTERVAL)
        self.node.connector.failLast(ConnectionRefusedError())
        self.answer.callback(None)
        self.assertEqual(len(self.node.connector.requests), 1)
        self.assertEqual(list(self.buyer.unresolved), [77])
        self.answer = defer.Deferred()
        self.node.clock.advance(RESOLVE_INTERVAL)
        self.node.connector.failLast(ConnectionRefusedError())
        self.answer.callback(("old-host", 6006))
        self.assertEqual(len(self.node.connector.requests), 2)

    def test_refusedByALiveSellerIsNoReasonToAsk(self):
        """A seller that answers but refuses the link has not moved."""
        self.node.clock.advance(RESOLVE_INTERVAL)
        link = self.node.connector.connectLast()
        feed(link, wire.Error("noslots", "all 8 connection slots are taken"))
        closeLink(link)
        self.assertEqual(self.asked, [])


class BuyerStopTests(_BuyerHelpers, SynchronousTestCase):
    """stopService leaves no timer, find, connection or question of the
    buyer's behind, in whatever state it finds the buyer; it is safe after
    nodeStopping and more than once."""

    #: As the node's tracker session (L{test_resolverAndRelocation}):
    #: reached by TCP.
    trackerWay = None

    def assertNothingLeft(self):
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.buyer._outstanding, set())
        self.assertTrue(all(want.state in ("stopped", "done")
                            for want in self.buyer.wants))

    def test_whileSearching(self):
        self.startSearch()
        self.assertIsNotNone(self.buyer.wants[0].finding)
        self.assertIsNone(self.buyer.stopService())
        self.assertNothingLeft()
        self.assertIsNone(self.buyer.wants[0].finding)

    def test_inBackoff(self):
        self.startSearch()
        self.clock.advance(WINDOW)
        self.assertEqual(self.buyer.wants[0].state, "backoff")
        self.buyer.stopService()
        self.assertNothingLeft()

    def test_whileConnectingToTheSeller(self):
        """The resend timer and the connection go; a connection made late
        carries no buy (the abandoned link says nothing at all)."""
        search_id = self.startSearch()
        self.offer(search_id, NEAR, "10.0.0.6", 6006)
        self.clock.advance(WINDOW)
        self.assertEqual(len(self.buyer._outstanding), 1)
        self.buyer.stopService()
        self.assertNothingLeft()
        seller = self.node.connector.connectLast()
        feed(seller, wire.ThisIsMe(6, 6006, "10.0.0.6"))
        self.assertNotIn(trade.Buy, [type(m) for m in sent(seller)])

    def test_resolverAndRelocation(self):
        """A buy given up on: the resolver's call and a question to the
        tracker about the seller's address go too."""
        buy = self.chooseOffer(NEAR)
        for attempt in range(1, BUY_ATTEMPTS + 1):
            self.clock.advance(min(TIMEOUT * 2 ** (attempt - 1), BUY_TIMEOUT_MAX))
        self.assertEqual(list(self.buyer.unresolved), [buy.id])
        question = defer.Deferred()
        self.node.membership = self
        self.node.whereIs = lambda node_id: question
        self.buyer.unresolved[buy.id] = attr.evolve(self.buyer.unresolved[buy.id],
                                                    host="10.0.0.6", port=6006)
        self.clock.advance(RESOLVE_INTERVAL)
        self.node.connector.failLast(ConnectionRefusedError())
        self.assertEqual(len(self.buyer._outstanding), 1)
        self.buyer.stopService()
        self.assertNothingLeft()
        self.assertTrue(question.called)

    def test_nodeStoppingThenStopServiceTwice(self):
        self.chooseOffer(NEAR)
        self.node.shutdown()
        self.assertNothingLeft()
        self.buyer.stopService()
        self.buyer.stopService()
        self.assertNothingLeft()

    def test_nothingStartsOnceStopped(self):
        """Events after the stop start nothing: no search, no timer."""
        self.startSearch()
        self.buyer.stopService()
        link = linkPeer(self.node, 3)
        self.buyer.nodeReady()
        self.assertEqual(sent(link), [])
        self.assertNothingLeft()

    def test_isAService(self):
        self.start()
        self.assertIsInstance(self.buyer, Service)
        self.buyer.startService()
        self.assertTrue(self.buyer.running)
        self.buyer.stopService()
        self.assertFalse(self.buyer.running)


class OfferOrderTests(_BuyerHelpers, SynchronousTestCase):
    """Offers are tried so that a short path wins an attacker nothing:
    sellers that failed this buyer last, offers without an address after
    those with one, the scheme's order otherwise."""

    def test_order(self):
        self.start()
        near = Offer(6, NEAR)
        far = Offer(5, FAR, "10.0.0.5", 5005)
        other = Offer(7, (1, 2, 7), "10.0.0.7", 5007)
        self.assertEqual(self.buyer.order([near, far, other]), [far, other, near])
        self.buyer.failed(5)
        self.assertEqual(self.buyer.order([near, far, other]), [other, near, far])

    def test_failedSellerForgivenOnAnswer(self):
        """A seller given up on comes back to its place once it answers a
        buy of this buyer."""
        first = self.chooseOffer(FAR, NEAR)
        self.giveUpOn(first)
        self.assertEqual(self.buyer.order([Offer(6, NEAR), Offer(5, FAR)])[0].seller, 5)
        feed(self.relay, wire.Error("unsold", "not sold", first.id, (6, 2, 1)))
        self.assertEqual(self.buyer.order([Offer(6, NEAR), Offer(5, FAR)])[0].seller, 6)


class _Told(NodeObserver):
    """An observer whose handlers a test sets on it (a L{NodeObserver} has
    slots, and none of its own)."""


class RefusalTests(SynchronousTestCase):
    """
    A seller that proved its key on its link to the buyer: every direct
    buy and ask is followed by a ping (twisted_bazaar.roles.probe).  The
    buyer (keyed) is linked to relay 2 and to seller S; S offers over the
    one hop S-1, honest seller H over H-2-1.
    """

    def setUp(self):
        keys = [Identity.fromRandom(random.Random(n)) for n in (11, 12, 13)]
        self.me, self.seller_key, self.honest_key = keys
        self.node = makeNode(self.me.id, identity=self.me)
        self.clock = self.node.clock
        plugScheme(self.node, FloodDiscovery(self.node))
        self.relay = linkPeer(self.node, 2)
        self.seller = self.provenLink(self.seller_key)
        self.buyer = Buyer(flooded(self.node), ["apple"], search_window=WINDOW,
                           buy_timeout=TIMEOUT)
        self.buyer.linkAdded(2)
        [search] = sent(self.relay)
        sent(self.seller)
        self.S, self.H = self.seller_key.id, self.honest_key.id
        self.refusers, self.soldNothing = [], []
        told = _Told()
        told.refusedToSell = self.refusers.append
        told.soldNothing = self.soldNothing.append
        self.node.events.addObserver(told)
        feed(self.seller, self.seller_key.signed(
            floodmsg.Reply(search.id, "apple", (self.S, self.me.id), self.S, "", 0)))
        feed(self.relay, self.honest_key.signed(
            floodmsg.Reply(search.id, "apple", (self.H, 2, self.me.id), self.H, "", 0)))
        self.clock.advance(WINDOW)

    def provenLink(self, key):
        """An inbound link on which the peer proves key."""
        link = provenLink(self.node, key)
        self.assertIn(link, self.node.overlay.greeter.keyed())
        return link

    def question(self, kind):
        """The seller gets a buy or ask, then a ping: return both."""
        question, ping = sent(self.seller)
        self.assertEqual((type(question), type(ping)), (kind, wire.Ping))
        self.assertEqual(question.path, (self.me.id, self.S))
        return question, ping

    def pong(self, ping):
        feed(self.seller, wire.Pong(ping.nonce))

    def passTime(self, seconds):
        """Advance a second at a time, as time passes."""
        for _ in range(int(seconds)):
            self.clock.advance(1)

    def readButNotAnswered(self, kind):
        """The seller answers the ping after a question, not the question:
        return the question."""
        question, ping = self.question(kind)
        self.pong(ping)
        self.clock.advance(ANSWER_GRACE)
        return question

    def test_refuserLosesItsBuys(self):
        """
        The seller reads the buy and every ask about it, and answers none:
        the buy is given up ANSWER_GRACE after the pong, asked about
        ASK_ROUNDS times, and then no longer held in doubt: the honest
        offer is bought, well within 10 s.  The refuser's late buyOK is
        not put in the bag (logged), and its offers are never tried again.
        """
        start = self.clock.seconds() - WINDOW
        buy = self.readButNotAnswered(trade.Buy)
        for _ in range(ASK_ROUNDS - 1):
            ask = self.readButNotAnswered(trade.Ask)
            self.assertEqual(ask.id, buy.id)
            self.assertEqual(self.buyer.wants[0].state, "doubting")
            self.assertEqual(sent(self.relay), [])
        with capturedLogs() as events:
            self.readButNotAnswered(trade.Ask)
        self.assertIn(f"seller {shortId(self.S)} read {ASK_ROUNDS} asks about buy {buy.id}",
                      " ".join(formatEvent(e) for e in events))
        [honest] = sent(self.relay)
        self.assertEqual((type(honest), honest.path), (trade.Buy, (self.me.id, 2, self.H)))
        feed(self.relay, self.honest_key.signed(
            trade.BuyOK(honest.id, "apple", (self.H, 2, self.me.id),
                        buyer_key=self.me.key)))
        self.assertTrue(self.buyer.satisfied)
        self.assertLess(self.clock.seconds() - start, 10)
        self.assertEqual(self.buyer.unresolved, {})
        self.assertEqual([p.buy_id for p in self.node.store.pending()], [])
        # The node's discovery was told: the refuser's records are nothing
        # to go on with, and it sold nothing when the buy was given up on.
        self.assertEqual(self.refusers, [self.S])
        self.assertEqual(self.soldNothing, [self.S])
        with capturedLogs() as events:
            feed(self.seller, self.seller_key.signed(
                trade.BuyOK(buy.id, "apple", (self.S, self.me.id), buyer_key=self.me.key)))
        self.assertEqual([p.seller for p in self.buyer.bag], [self.H])
        self.assertIn(f"not putting buy {buy.id} from seller {shortId(self.S)} in the bag",
                      " ".join(formatEvent(e) for e in events))
        offer = Offer(self.S, (self.S, self.me.id), "", 0)
        self.assertEqual(self.buyer.order([offer]), [])

    def test_slowCommitWithinGrace(self):
        """An honest seller whose sale is committed (and answered) within
        the grace after the pong is bought from, and nothing else."""
        buy, ping = self.question(trade.Buy)
        self.pong(ping)
        self.clock.advance(ANSWER_GRACE - 0.1)
        feed(self.seller, self.seller_key.signed(
            trade.BuyOK(buy.id, "apple", (self.S, self.me.id), buyer_key=self.me.key)))
        self.passTime(60)
        self.assertEqual([p.seller for p in self.buyer.bag], [self.S])
        self.assertEqual((sent(self.seller), sent(self.relay)), ([], []))

    def test_slowCommitAnsweredAfterTheAsk(self):
        """A commit slower than the grace: the buy is given up on and
        asked about; the buyOK, answering the ask within its grace, fills
        the want, and the honest offer is never bought."""
        buy = self.readButNotAnswered(trade.Buy)
        ask, ping = self.question(trade.Ask)
        self.pong(ping)
        self.clock.advance(ANSWER_GRACE / 2)
        feed(self.seller, self.seller_key.signed(
            trade.BuyOK(buy.id, "apple", (self.S, self.me.id), buyer_key=self.me.key)))
        self.assertTrue(self.buyer.satisfied)
        self.passTime(60)
        self.assertEqual([p.buy_id for p in self.buyer.bag], [buy.id])
        self.assertEqual((sent(self.seller), sent(self.relay)), ([], []))

    def test_crashedSellerStaysInDoubt(self):
        """The link drops while the buyer waits for a pong: nothing is
        proven, and the buy holds the want back as before."""
        self.readButNotAnswered(trade.Buy)
        self.question(trade.Ask)
        closeLink(self.seller)
        self.passTime(DOUBT_LIMIT / 2)
        self.assertEqual(self.buyer.wants[0].state, "doubting")
        self.assertEqual([m for m in sent(self.relay) if type(m) is trade.Buy], [])
        self.assertEqual(len(self.buyer.unresolved), 1)

    def test_silentSellerStaysInDoubt(self):
        """A seller that answers no ping either, link still up, is not
        shown to have read anything: its buy stays in doubt, and each
        resend and ask waits on its own ping."""
        buy, _ = self.question(trade.Buy)
        self.passTime(DOUBT_LIMIT / 2)
        self.assertEqual(self.buyer.wants[0].state, "doubting")
        self.assertEqual([m for m in sent(self.relay) if type(m) is trade.Buy], [])
        self.assertEqual(list(self.buyer.unresolved), [buy.id])

    def test_refuserNotTriedAgain(self):
        """Once the seller refused to answer, a search that finds only its
        offer finds nothing: the buyer searches again later."""
        self.readButNotAnswered(trade.Buy)
        for _ in range(ASK_ROUNDS):
            self.readButNotAnswered(trade.Ask)
        [honest] = sent(self.relay)
        feed(self.relay, self.honest_key.signed(wire.Error(
            "soldout", "none left", honest.id, (self.H, 2, self.me.id),
            buyer_key=self.me.key)))
        [search, _] = [m for m in sent(self.relay) + sent(self.seller)
                       if type(m) is floodmsg.Search]
        feed(self.seller, self.seller_key.signed(
            floodmsg.Reply(search.id, "apple", (self.S, self.me.id), self.S, "", 0)))
        self.clock.advance(WINDOW)
        self.assertEqual(self.buyer.wants[0].state, "backoff")
        self.assertEqual(sent(self.seller), [])
