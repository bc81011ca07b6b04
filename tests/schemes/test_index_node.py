"""
Tests of twisted_bazaar.schemes.index.node: the node's side of the central
index.

First node by node, with the tracker played by the test over a
StringTransport: what a seller registers and withdraws, and what find()
makes of the tracker's answers.  Then whole markets in memory
(twisted_bazaar.testing.Market, discovery="index"): buying through the
index, moving on from sellers that fail, crashes and restarts.  Last, the
simulator runs both schemes side by side.
"""

import random

from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.logger import Logger, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.daemon.build import plugScheme, plugMembership
from twisted_bazaar.daemon.registry import trackerExtensionPlugins
from twisted_bazaar.schemes.index import messages as indexmsg
from twisted_bazaar.schemes.flood import messages as floodmsg
from twisted_bazaar.wire import trade
from twisted_bazaar import wire
from twisted_bazaar.core.market import Offer
from twisted_bazaar.core.records import verified
from twisted_bazaar.identity.proofs import REGISTER, Handshake
from twisted_bazaar.wire.framing import frame
from twisted_bazaar.schemes.flood.discovery import FloodDiscovery
from twisted_bazaar.schemes.index.node import ACK_WAIT, IndexDiscovery
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.core.membership import Membership
from twisted_bazaar.core.node import NodeConfig
from twisted_bazaar.roles.seller import Seller
from twisted_bazaar.roles.probe import ASK_ROUNDS
from twisted_bazaar.roles.want import DOUBT_LIMIT
from twisted_bazaar.daemon.services import trackerService
from twisted_bazaar.sim.runner import SimConfig, Simulation
from twisted_bazaar.store import MemoryStore
from twisted_bazaar.testing import Market, MemoryConnector, MemoryServerEndpoint
from twisted_bazaar.tracker import DEFAULT_TRACKER_PORT, Tracker
from twisted_bazaar.reach.ownpaths import ownPaths

from tests import records
from tests.schemes import FindEvents, StaticShop
from tests.helpers import (
    NODE_PORT,
    TRADE,
    closeLink,
    feed,
    flooded,
    linkPeer,
    makeNode,
    parseNetstrings,
    sent,
    units,
)

def indexOf(tracker):
    """The item index a tracker keeps for the index scheme (in its
    extension)."""
    return tracker.extensions["index"].index


#: The key pair of the node under test, and the id of its key, which the
#: fake tracker gives it.
SELF = records.identity(17)
ME = SELF.id
WINDOW = 1.0
#: A buyer that buys from it.
BUYER = records.identity(9)
#: The key of the tracker the test plays.
TRACKER = records.identity(3)
#: A node the index names where nobody listens.
GONE = records.identity(777)


def said(link):
    """What the node said to its tracker, a register as ("register", item)
    once its record is checked: the node's own, of that item."""
    out = []
    for message in sent(link):
        if type(message) is indexmsg.Register:
            record = message.record
            assert (record.item, record.seller, verified(record)) == (
                message.item, SELF.id, True), message
            out.append(("register", message.item))
        elif type(message) is indexmsg.Unregister:
            out.append(("unregister", message.item))
        else:
            out.append(message)
    return out


def seller(seed, host, port, item="pear", **record):
    """A seller the tracker names, with its record of item, and the offer
    a buyer makes of it: (found entry, offer)."""
    record = records.signed(seed, item, port=port, **record)
    entry = (record.seller, host, port, record)
    return entry, Offer(record.seller, (ME, record.seller), host, port, record=record)


class TrackerSessionCase(SynchronousTestCase):
    """
    A node running the index scheme, with neighbour upkeep off, whose
    tracker the test plays: connect() opens the tracker link, register()
    answers its thisisme.
    """

    def setUp(self):
        self.node = makeNode(None, neighbours=0, identity=SELF)
        self.clock = self.node.clock
        self.index = plugScheme(self.node, IndexDiscovery(self.node))
        self.membership = plugMembership(self.node, Membership(self.node))

    def connect(self):
        """A new tracker connection; checks the node introduced itself."""
        link = self.membership.factory.buildProtocol(None)
        link.makeConnection(StringTransport())
        wanted = -1 if self.node.id is None else self.node.id
        [hello] = sent(link)
        self.assertEqual(hello, wire.ThisIsMe(wanted, NODE_PORT, "", scheme="index",
                                              key=SELF.key, nonce=hello.nonce,
                                              reach=True, paths=ownPaths(lan=("10.0.0.1",))))
        self.hello = hello
        return link

    def register(self, node_id=ME):
        """Connect and say thisisyou, naming the tracker's key; check the
        node's proof, and answer the ping it sends behind it (as a
        tracker that took the proof); return the link, with what the node
        said after that ping left in it."""
        link = self.connect()
        registration = Handshake(TRACKER, REGISTER)
        feed(link, wire.ThisIsYou(node_id, NODE_PORT, key=TRACKER.key,
                                  nonce=registration.nonce))
        written = link.transport.value()
        first, second = parseNetstrings(written)[:2]
        proof = wire.decode(first)
        self.assertTrue(registration.proven(SELF.key, self.hello.nonce, proof.sig))
        ping = wire.decode(second)
        self.assertIs(type(ping), wire.Ping)
        link.transport.clear()
        link.transport.write(written[len(frame(first)) + len(frame(second)):])
        feed(link, wire.Pong(ping.nonce))
        return link

    def sell(self, peer_link, buy_id, item):
        """A buyer linked directly buys one unit, its buy signed; checks
        the buyOK."""
        buyer = peer_link.peer_id
        expires = int(self.node.clock.seconds() * 1000) + 60_000
        feed(peer_link, BUYER.signed(trade.Buy(buy_id, item, (buyer, ME), expires=expires)))
        [ok] = sent(peer_link)
        self.assertEqual((type(ok), ok.id, ok.item, ok.path),
                         (trade.BuyOK, buy_id, item, (ME, buyer)))

    def results(self, d):
        found = []
        d.addCallback(found.append)
        return found


class IndexSellingTests(TrackerSessionCase):
    """A seller's items come and go in the index with its stock."""

    def test_registersInStockItemsOnceTheTrackerKnowsIt(self):
        Seller(flooded(self.node), {"pear": 2, "fig": 0, "apple": 1})
        link = self.connect()
        self.assertEqual(sent(link), [])
        feed(link, wire.ThisIsYou(ME, NODE_PORT))
        self.assertEqual(said(link), [("register", "apple"), ("register", "pear")])

    def test_sellerStartedAfterRegistrationRegistersAtOnce(self):
        link = self.register()
        self.assertEqual(sent(link), [])
        Seller(flooded(self.node), {"pear": 2})
        self.assertEqual(said(link), [("register", "pear")])

    def test_everyShopOfTheNodeCounts(self):
        link = self.register()
        self.index.advertise(StaticShop(pear=1))
        self.index.advertise(StaticShop(pear=3, fig=1))
        self.assertEqual(said(link), [("register", "pear"), ("register", "fig")])

    def test_itemsPastTheTrackersRoomWaitSaidOnce(self):
        """
        The tracker takes at most MAX_ITEMS_PER_NODE items of a node and
        counts each register past them as an error: a seller sharing
        10,000 files (20,000 items) sent them all, its link was cut, and
        it registered everything again, for ever, listed nowhere.  Now
        the first MAX_ITEMS_PER_NODE by name are registered, the rest wait
        (said once, in one warning), and one takes the place of an item
        that runs out.
        """
        most = indexmsg.MAX_ITEMS_PER_NODE
        lines = self.logged()
        link = self.register()
        shop = StaticShop(**{f"i{n:05d}": 1 for n in range(most + 3)})
        self.index.advertise(shop)
        registers = said(link)
        self.assertEqual(registers, [("register", f"i{n:05d}") for n in range(most)])
        self.assertEqual([line for line in lines if "at most" in line], [
            f"the index tracker lists at most {most} items of one node, and this "
            f"node has {most} registered: i{most:05d} and any more it sells are not "
            "registered, so no buyer finds them here (a shared file is two items, "
            "its name and its content; sell the rest from another node)"])
        shop.stock["i00003"] = 0
        self.index.stockChanged("i00003", 0)
        self.assertEqual(said(link), [("unregister", "i00003"),
                                      ("register", f"i{most:05d}")])
        shop.stock[f"i{most + 2:05d}"] = 0
        self.index.stockChanged(f"i{most + 2:05d}", 0)
        shop.stock["i00004"] = 0
        self.index.stockChanged("i00004", 0)
        self.assertEqual(said(link), [("unregister", "i00004"),
                                      ("register", f"i{most + 1:05d}")])
        self.assertEqual(len([line for line in lines if "at most" in line]), 1)
        self.assertFalse(link.closing)

    def test_acksAndListingNeedNoAnswer(self):
        link = self.register()
        feed(link, indexmsg.Ack("pear"), indexmsg.Listing({"pear": 2}))
        self.assertEqual(sent(link), [])
        self.assertFalse(link.closing)

    def test_aListingNobodyAskedForLogsNothing(self):
        """
        The node asks its tracker no ``list``, so a ``listing`` is no
        answer of its own: a tracker (a lying one among several) sending
        listing after listing, each a frame of 1,000 items, had each
        logged whole, one line of some 60 KB a message (100 listings,
        100 lines, 6 MB), outside the peer log.  Now nothing.
        """
        link = self.register()
        lines = []
        self.patch(IndexDiscovery, "log",
                   Logger(observer=lambda event: lines.append(formatEvent(event))))
        items = {f"item-{n:04d}-" + "x" * 40: n for n in range(1000)}
        for _ in range(100):
            feed(link, indexmsg.Listing(items))
        self.assertEqual(lines, [])
        self.assertEqual(sent(link), [])

    def test_theFirstAckOfAnItemSaysItIsListed(self):
        """Once an item's register is acknowledged, a line says so, once
        (a renewal's ack says nothing more); a new tracker's ack says it
        again; an ack of an item not in stock says nothing."""
        Seller(flooded(self.node), {"pear": 2})
        lines = []
        self.patch(IndexDiscovery, "log",
                   Logger(observer=lambda event: lines.append(formatEvent(event))))
        link = self.register()
        feed(link, indexmsg.Ack("pear"), indexmsg.Ack("pear"), indexmsg.Ack("fig"))
        self.assertEqual(lines, ["the tracker's index lists pear"])
        closeLink(link)
        feed(self.register(), indexmsg.Ack("pear"))
        self.assertEqual(lines, ["the tracker's index lists pear"] * 2)

    def logged(self):
        lines = []
        self.patch(IndexDiscovery, "log",
                   Logger(observer=lambda event: lines.append(formatEvent(event))))
        return lines

    def test_manyListedItemsAreSummed(self):
        """A seller of 1,024 items logged 1,024 lines, `the tracker's index
        lists X`, at start: now the first 20, then the rest in one line
        once every ack is in; an item listed after that is said again."""
        lines = self.logged()
        shop = StaticShop(**{f"item{n:02d}": 1 for n in range(25)})
        link = self.register()
        self.index.advertise(shop)
        feed(link, *[indexmsg.Ack(f"item{n:02d}") for n in range(25)])
        self.assertEqual(lines, [f"the tracker's index lists item{n:02d}" for n in range(20)]
                         + ["the tracker's index lists 5 more items, 25 in all"])
        shop.stock["plum"] = 1
        self.index.stockChanged("plum", 1)
        feed(link, indexmsg.Ack("plum"))
        self.assertEqual(lines[21:], ["the tracker's index lists plum"])

    def test_theAckOfAnUnregisterSaysItIsNoLongerListed(self):
        """An item that sold out is no longer listed once the tracker
        acknowledges its unregister, not before; said once."""
        lines = self.logged()
        shop = StaticShop(pear=1)
        link = self.register()
        self.index.advertise(shop)
        feed(link, indexmsg.Ack("pear"))
        shop.stock["pear"] = 0
        self.index.stockChanged("pear", 0)
        self.assertEqual(said(link), [("register", "pear"), ("unregister", "pear")])
        self.assertEqual(lines, ["the tracker's index lists pear"])
        feed(link, indexmsg.Ack("pear"))
        self.assertEqual(lines, ["the tracker's index lists pear",
                                 "the tracker's index no longer lists pear"])
        feed(link, indexmsg.Ack("pear"))
        self.assertEqual(len(lines), 2)

    def test_itemsGoneAreSaidInOneLine(self):
        """A seller of 25 items whose stock went logged 25 lines, `the
        tracker's index no longer lists X` (issue 96): now one line once
        every ack is in, naming the first few and counting the rest; one
        whose ack never comes is said at ACK_WAIT with those gone so far."""
        lines = self.logged()
        shop = StaticShop(**{f"item{n:02d}": 1 for n in range(25)})
        self.index.startService()
        self.addCleanup(self.index.stopService)
        link = self.register()
        self.index.advertise(shop)
        feed(link, *[indexmsg.Ack(f"item{n:02d}") for n in range(25)])
        del lines[:]
        for n in range(25):
            shop.stock[f"item{n:02d}"] = 0
            self.index.stockChanged(f"item{n:02d}", 0)
        feed(link, *[indexmsg.Ack(f"item{n:02d}") for n in range(24)])
        self.assertEqual(lines, [])
        feed(link, indexmsg.Ack("item24"))
        self.assertEqual(lines, ["the tracker's index no longer lists item00, item01, "
                                 "item02 and 22 more"])
        # Two gone, one ack lost: the other is said once ACK_WAIT passed.
        for item in ("fig", "pear"):
            shop.stock[item] = 1
            self.index.stockChanged(item, 1)
        feed(link, indexmsg.Ack("fig"), indexmsg.Ack("pear"))
        for item in ("fig", "pear"):
            shop.stock[item] = 0
            self.index.stockChanged(item, 0)
        feed(link, indexmsg.Ack("pear"))
        self.assertEqual(lines[1:], ["the tracker's index lists fig",
                                     "the tracker's index lists pear"])
        self.clock.advance(ACK_WAIT)
        self.assertEqual(lines[3:], ["the tracker's index no longer lists pear"])
        feed(link, indexmsg.Ack("fig"), indexmsg.Ack("fig"))
        self.assertEqual(lines[4:], ["the tracker's index no longer lists fig"])

    def test_onlyTheAckOfTheLastRequestTells(self):
        """Acks come in the order of the requests: while a later register
        or unregister of the item is unacknowledged, an ack says nothing."""
        lines = self.logged()
        shop = StaticShop(pear=1)
        self.index.startService()
        self.addCleanup(self.index.stopService)
        link = self.register()
        self.index.advertise(shop)
        feed(link, indexmsg.Ack("pear"))
        # A renewal's register, then the item sells out: the renewal's ack
        # comes before the unregister is taken.
        self.clock.advance(self.index.book.renewal)
        shop.stock["pear"] = 0
        self.index.stockChanged("pear", 0)
        self.assertEqual(said(link), [("register", "pear"), ("register", "pear"),
                                      ("unregister", "pear")])
        feed(link, indexmsg.Ack("pear"))
        self.assertEqual(lines, ["the tracker's index lists pear"])
        feed(link, indexmsg.Ack("pear"))
        self.assertEqual(lines, ["the tracker's index lists pear",
                                 "the tracker's index no longer lists pear"])
        # Back in stock: its register is not taken before a new tracker
        # hears it again, and that one owes nothing the last one did.
        shop.stock["pear"] = 1
        self.index.stockChanged("pear", 1)
        closeLink(link)
        again = self.register()
        self.assertEqual(said(again), [("register", "pear")])
        feed(again, indexmsg.Ack("pear"))
        self.assertEqual(lines[2:], ["the tracker's index lists pear"])

    def test_aRequestNotAckedIsSentAgainOnce(self):
        """A register (or unregister) the tracker never acks (dropped past
        its rate, or lost on the way) is sent again after ACK_WAIT, as the
        item stands then: before, only the renewal (300 s) sent it again,
        and buyers' lookups named no one meanwhile.  Once only until the
        next renewal: one the tracker refuses (past its limits) is never
        acked, and each refusal is an error counted against it."""
        lines = self.logged()
        shop = StaticShop(pear=1, fig=1)
        begun = self.clock.seconds()
        self.index.startService()
        self.addCleanup(self.index.stopService)
        link = self.register()
        self.index.advertise(shop)
        self.assertEqual(said(link), [("register", "fig"), ("register", "pear")])
        feed(link, indexmsg.Ack("fig"))
        self.clock.advance(ACK_WAIT - 0.1)
        self.assertEqual(said(link), [])
        self.clock.advance(0.1)
        self.assertEqual(said(link), [("register", "pear")])
        feed(link, indexmsg.Ack("pear"))
        self.assertEqual(lines, ["the tracker's index lists fig",
                                 "the tracker's index lists pear"])
        self.clock.advance(5 * ACK_WAIT)
        self.assertEqual(said(link), [])
        # An unregister lost, then its resend lost too: sent again once,
        # then at the renewal only.
        shop.stock["fig"] = 0
        self.index.stockChanged("fig", 0)
        self.assertEqual(said(link), [("unregister", "fig")])
        self.clock.advance(ACK_WAIT)
        self.assertEqual(said(link), [("unregister", "fig")])
        renewal = self.index.book.renewal
        self.clock.advance(begun + renewal - self.clock.seconds() - 0.1)
        self.assertEqual(said(link), [])
        self.clock.advance(0.1)
        self.assertEqual(said(link), [("register", "pear")])
        self.clock.advance(ACK_WAIT)
        self.assertEqual(said(link), [("unregister", "fig"), ("register", "pear")])
        feed(link, *[indexmsg.Ack(item) for item in ["fig"] * 3 + ["pear"] * 2])
        self.assertEqual(lines[2:], ["the tracker's index no longer lists fig"])

    def test_unregistersAnItemThatSellsOut(self):
        Seller(flooded(self.node), {"pear": 2, "fig": 1})
        link = self.register()
        sent(link)
        buyer = linkPeer(self.node, BUYER.id)
        self.sell(buyer, 500, "pear")
        self.assertEqual(sent(link), [])
        self.sell(buyer, 501, "pear")
        self.assertEqual(said(link), [("unregister", "pear")])
        self.sell(buyer, 501, "pear")
        self.assertEqual(sent(link), [])

    def test_soldOutBuyWithdrawsNothingMore(self):
        seller = Seller(flooded(self.node), {"pear": 1})
        link = self.register()
        buyer = linkPeer(self.node, BUYER.id)
        self.sell(buyer, 500, "pear")
        self.assertEqual(said(link), [("register", "pear"), ("unregister", "pear")])
        expires = int(self.node.clock.seconds() * 1000) + 60_000
        feed(buyer, BUYER.signed(trade.Buy(501, "pear", (BUYER.id, ME), expires=expires)))
        self.assertEqual(sent(buyer)[0].code, "soldout")
        seller.discovery.stockChanged("pear", 0)
        self.assertEqual(sent(link), [])

    def test_reregistersAfterReconnecting(self):
        """A new tracker connection (a restarted tracker, say) hears every
        item still in stock again, and nothing that sold out."""
        Seller(flooded(self.node), {"pear": 1, "fig": 1, "apple": 3})
        link = self.register()
        self.sell(linkPeer(self.node, BUYER.id), 500, "pear")
        sent(link)
        closeLink(link)
        again = self.register()
        self.assertEqual(said(again), [("register", "apple"), ("register", "fig")])

    def test_anotherIdThanItsKeysListsNothing(self):
        """A tracker that names the seller, which has a key, another id
        than its key's (a lying one among several) gets error{wtf}, and
        nothing listed under that id: the seller keeps its key's id."""
        Seller(flooded(self.node), {"pear": 1})
        closeLink(self.register())
        link = self.connect()
        feed(link, wire.ThisIsYou(ME + 1, NODE_PORT, key=TRACKER.key,
                                  nonce=Handshake(TRACKER, REGISTER).nonce))
        [error] = sent(link)
        self.assertEqual((type(error), error.code), (wire.Error, "wtf"))
        self.assertEqual(self.node.id, ME)

    def test_soldOutWhileTheTrackerIsAway(self):
        Seller(flooded(self.node), {"pear": 1, "fig": 1})
        closeLink(self.register())
        self.sell(linkPeer(self.node, BUYER.id), 500, "pear")
        again = self.register()
        self.assertEqual(said(again), [("register", "fig")])

    def test_noReplyToFloodedSearchesAndNoReservation(self):
        """An index node keeps no overlay and floods nothing: a search sent
        to it is refused as a message it does not handle (no relay, no
        reply), and holds no unit."""
        seller = Seller(flooded(self.node), {"pear": 1})
        self.register()
        relay = linkPeer(self.node, 2)
        feed(relay, floodmsg.Search(100, "pear", (9, 2), 5))
        self.assertEqual(sent(relay), [wire.Error(
            "wtf", "this node does not handle search")])
        self.assertFalse(relay.closing)
        self.assertEqual(seller.free("pear"), 1)

    def test_keepsNoNeighbours(self):
        """Registered, an index node asks the tracker for no peer."""
        node = makeNode(None)
        self.assertGreater(node.config.neighbours, 0)
        plugScheme(node, IndexDiscovery(node))
        self.assertIsNone(node.topology)
        link = plugMembership(node, Membership(node)).factory.buildProtocol(None)
        link.makeConnection(StringTransport())
        feed(link, wire.ThisIsYou(ME, NODE_PORT))
        self.assertEqual([type(m) for m in sent(link)], [wire.ThisIsMe])


class IndexFindingTests(TrackerSessionCase):
    """find(): one lookup, the tracker's answer as offers."""

    def setUp(self):
        super().setUp()
        self.events = FindEvents(self.node)
        self.b, self.offerB = seller(5, "b", 2)

    def test_cannotFindWithoutARegisteredTracker(self):
        scheme = plugScheme(makeNode(1), IndexDiscovery(makeNode(1)))
        self.assertFalse(scheme.canFind())
        link = self.connect()
        self.assertFalse(self.index.canFind())
        feed(link, wire.ThisIsYou(ME, NODE_PORT))
        self.assertTrue(self.index.canFind())
        closeLink(link)
        self.assertFalse(self.index.canFind())

    def test_findWithoutTrackerIsEmptyAtOnce(self):
        scheme = plugScheme(makeNode(1), IndexDiscovery(makeNode(1)))
        found = self.results(scheme.find("pear", WINDOW))
        self.assertEqual(found, [[]])
        self.assertEqual(scheme.node.clock.getDelayedCalls(), [])

    def test_offersInTheOrderGivenDirect(self):
        link = self.register()
        found = self.results(self.index.find("pear", WINDOW))
        self.assertEqual(sent(link), [indexmsg.Lookup("pear")])
        self.assertEqual(found, [])
        entries, offers = zip(*(seller(5, "b.example", 5005), seller(3, "a.example", 3003),
                                seller(40, "c.example", 4004)))
        link.transport.peerAddr = IPv4Address("TCP", "198.51.100.7", 7700)
        feed(link, indexmsg.Found("pear", entries))
        offers = list(offers)
        self.assertEqual(found, [offers])
        self.assertEqual(self.events.events,
                         [("findStarted", "pear"), ("offersFound", "pear", offers)])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        # Each is charged, if its host is refused, to the tracker that
        # named it: its connection's address group (it was no address
        # group, the lines of every namer's refused hosts together).
        self.assertEqual({offer.namedBy for offer in found[0]}, {"198.51.0.0/16"})

    def test_ownIdIsNoOffer(self):
        link = self.register()
        found = self.results(self.index.find("pear", WINDOW))
        mine = (ME, "me", 1, records.signed(SELF, "pear", port=1))
        feed(link, indexmsg.Found("pear", (mine, self.b)))
        self.assertEqual(found, [[self.offerB]])

    def test_onlySellersNamedWithTheirOwnLiveRecordsAreOffers(self):
        """The tracker may leave sellers out, never make one up nor
        describe its file: a seller named with a record changed after its
        seller signed it, an expired one, or one of another item, is no
        offer."""
        self.clock.advance(700)
        link = self.register()
        found = self.results(self.index.find("pear", WINDOW))
        now = int(self.clock.seconds() * 1000)
        changed = records.forged(records.signed(6, "pear", issued=now,
                                                file=(5, records.SHA, 9)),
                                 sha256="cd" * 32)
        expired, fig = records.signed(7, "pear"), records.signed(8, "fig", issued=now)
        good, offer = seller(5, "b", 2, issued=now)
        feed(link, indexmsg.Found("pear", tuple(
            (record.seller, "h", 1, record) for record in (changed, expired, fig))
            + (good,)))
        self.assertEqual(found, [[offer]])

    def test_nobodySells(self):
        link = self.register()
        found = self.results(self.index.find("pear", WINDOW))
        feed(link, indexmsg.Found("pear", ()))
        self.assertEqual(found, [[]])

    def test_trackerThatNeverAnswers(self):
        link = self.register()
        found = self.results(self.index.find("pear", WINDOW))
        self.clock.advance(WINDOW - 0.01)
        self.assertEqual(found, [])
        self.clock.advance(0.01)
        self.assertEqual(found, [[]])
        self.assertEqual(self.events.events,
                         [("findStarted", "pear"), ("offersFound", "pear", [])])
        feed(link, indexmsg.Found("pear", (self.b,)))
        self.assertEqual(found, [[]])

    def test_trackerLostBeforeAnswering(self):
        link = self.register()
        found = self.results(self.index.find("pear", WINDOW))
        closeLink(link)
        self.clock.advance(WINDOW)
        self.assertEqual(found, [[]])

    def test_answerForAnotherItemAnswersNothing(self):
        link = self.register()
        found = self.results(self.index.find("pear", WINDOW))
        sent(link)
        feed(link, indexmsg.Found("fig", (seller(5, "b", 2, "fig")[0],)))
        self.assertEqual(found, [])
        self.assertEqual(sent(link), [])

    def test_findsForOneItemShareALookup(self):
        link = self.register()
        first = self.results(self.index.find("pear", WINDOW))
        second = self.results(self.index.find("pear", WINDOW))
        fig = self.results(self.index.find("fig", WINDOW))
        self.assertEqual(sent(link), [indexmsg.Lookup("pear"), indexmsg.Lookup("fig")])
        feed(link, indexmsg.Found("pear", (self.b,)))
        self.assertEqual(first, [[self.offerB]])
        self.assertEqual(second, first)
        self.assertIsNot(second[0], first[0])
        self.assertEqual(fig, [])

    def test_lookupsPacedToOnePerWindow(self):
        """A second find right after the first was answered waits out the
        window before it asks again, as flooding does: a seller that says
        soldout to every buy must not make its buyers spin."""
        link = self.register()
        self.index.find("pear", WINDOW)
        feed(link, indexmsg.Found("pear", (self.b,)))
        sent(link)
        self.clock.advance(0.25)
        found = self.results(self.index.find("pear", WINDOW))
        self.assertEqual(sent(link), [])
        self.clock.advance(WINDOW - 0.25 - 0.01)
        self.assertEqual(sent(link), [])
        self.clock.advance(0.01)
        self.assertEqual(sent(link), [indexmsg.Lookup("pear")])
        feed(link, indexmsg.Found("pear", (self.b,)))
        self.assertEqual(found, [[self.offerB]])

    def test_pacedFindStillTimesOut(self):
        link = self.register()
        self.index.find("pear", WINDOW)
        feed(link, indexmsg.Found("pear", ()))
        found = self.results(self.index.find("pear", WINDOW))
        self.clock.advance(2 * WINDOW - 0.01)
        self.assertEqual(found, [])
        self.clock.advance(0.01)
        self.assertEqual(found, [[]])

    def test_aLookupTheTrackerDropsEndsAtTheWindow(self):
        """A lookup the tracker drops (its asker's address group past the
        tracker's questions a second, spent by a stranger in the same
        /16): the find ends with no offer when its window does, nothing
        hangs, and nothing is asked again meanwhile or on its own after."""
        link = self.register()
        found = self.results(self.index.find("pear", WINDOW))
        self.assertEqual(sent(link), [indexmsg.Lookup("pear")])
        self.clock.advance(WINDOW - 0.01)
        self.assertEqual(found, [])
        self.clock.advance(0.01)
        self.assertEqual(found, [[]])
        self.clock.advance(10 * WINDOW)
        self.assertEqual((sent(link), self.clock.getDelayedCalls()), ([], []))

    def test_purchaseLiftsThePacing(self):
        """Progress needs no pause: after a buyOK for the item, the next
        lookup goes out at once."""
        link = self.register()
        self.index.find("pear", WINDOW)
        feed(link, indexmsg.Found("pear", (self.b,)))
        sent(link)
        seller = linkPeer(self.node, 5)
        feed(seller, trade.BuyOK(600, "pear", (5, ME)))
        self.index.find("pear", WINDOW)
        self.assertEqual(sent(link), [indexmsg.Lookup("pear")])

    def test_otherItemsAreNotPaced(self):
        link = self.register()
        self.index.find("pear", WINDOW)
        self.index.find("fig", WINDOW)
        self.assertEqual(sent(link), [indexmsg.Lookup("pear"), indexmsg.Lookup("fig")])

    def test_indexAnswersReachOnlyTheIndexScheme(self):
        """A flood node's tracker session does not take index answers."""
        node = makeNode(None, neighbours=0)
        plugScheme(node, FloodDiscovery(node))
        link = plugMembership(node, Membership(node)).factory.buildProtocol(None)
        link.makeConnection(StringTransport())
        feed(link, wire.ThisIsYou(ME, NODE_PORT))
        sent(link)
        feed(link, indexmsg.Found("pear", ()))
        self.assertEqual(sent(link), [wire.Error(
            "wtf", "a node does not expect found from the tracker")])


# -- whole markets in memory ---------------------------------------------------


class SpinGuard(dict):
    """Link statistics that fail the run as soon as more lookups are sent
    than a buyer that paces itself could send."""

    def __init__(self, most_lookups):
        super().__init__()
        self.most_lookups = most_lookups

    def __setitem__(self, kind, count):
        if kind == "lookup" and count > self.most_lookups:
            raise AssertionError(f"{count} lookups: the buyer spins")
        super().__setitem__(kind, count)


class Deliveries(NodeObserver):
    """What path-routed messages reached one node, in order."""

    def __init__(self, node):
        self.messages = []
        node.addObserver(self)

    def _delivered(self, link, message):
        self.messages.append(message)

    delivers = dict.fromkeys(TRADE, _delivered)

    def of(self, kind):
        return [m for m in self.messages if type(m) is kind]


class IndexMarketCase(SynchronousTestCase):
    """A market whose nodes all run the index scheme."""

    #: Overlay links each node seeks; the index needs none.
    neighbours = NodeConfig().neighbours

    def setUp(self):
        self.stats = SpinGuard(most_lookups=200)
        self.market = Market(link_settings=LinkSettings(stats=self.stats))
        self.tracker = self.market.tracker

    def node(self, **roles):
        config = NodeConfig(neighbours=self.neighbours, link=self.market.link_settings)
        return self.market.addNode(config, discovery="index", **roles)

    def seller(self, **stock):
        return self.node(seller={"stock": stock})

    def buyer(self, item="pear", quantity=1):
        return self.node(buyer={"wants": [item], "quantity": quantity,
                                "buy_timeout": 2.0})

    def bag(self, buyer):
        return [(p.item, p.seller) for p in units(self.market.role(buyer, "buyer").bag)]

    def lookupFirst(self, seller, item="pear"):
        """Make the tracker's next found for item name seller first: hand
        it out, then every other seller after it."""
        index = indexOf(self.tracker)
        verified = self.tracker.registry.verified
        count = len(index.lookup(item, indexmsg.MAX_FOUND, verified))
        for _ in range(count):
            if index.lookup(item, indexmsg.MAX_FOUND, verified)[0] == seller:
                break
        else:
            self.fail(f"the index never named {seller} first")
        for _ in range(count - 1):
            index.lookup(item, indexmsg.MAX_FOUND, verified)


class IndexMarketTests(IndexMarketCase):

    def test_buyThroughTheIndex(self):
        seller = self.seller(pear=2)
        self.market.run(1)
        self.assertIn(seller.id, self.tracker.registry.verified)
        buyer = self.buyer()
        self.market.run(5)
        self.assertEqual(self.bag(buyer), [("pear", seller.id)])
        self.assertEqual(self.market.role(seller, "seller").stock, {"pear": 1})
        self.assertEqual((self.stats.get("search"), self.stats.get("reply")),
                         (None, None))
        self.assertEqual((self.stats["lookup"], self.stats["found"]), (1, 1))

    def test_threePearsFromTwoSellers(self):
        first, second = self.seller(pear=2), self.seller(pear=2)
        buyer = self.buyer(quantity=3)
        self.market.run(10)
        bag = self.bag(buyer)
        self.assertEqual(len(bag), 3)
        self.assertEqual({seller for _, seller in bag}, {first.id, second.id})
        left = [self.market.role(s, "seller").stock["pear"] for s in (first, second)]
        self.assertEqual(sorted(left), [0, 1])
        self.assertEqual(indexOf(self.tracker).listing(), {"pear": 1})
        self.assertEqual(self.stats["unregister"], 1)

    def test_loadSpreadOverBuyers(self):
        """Four buyers of one pear each, two sellers of two: the index
        hands each seller out in turn, so nobody is turned away."""
        sellers = [self.seller(pear=2), self.seller(pear=2)]
        buyers = [self.buyer() for _ in range(4)]
        self.market.run(10)
        bought = [seller for b in buyers for _, seller in self.bag(b)]
        self.assertEqual(sorted(bought), sorted([s.id for s in sellers] * 2))
        self.assertEqual(self.stats.get("error"), None)
        self.assertEqual(indexOf(self.tracker).listing(), {})


class IndexMovingOnTests(IndexMarketCase):
    """The buyer tries the sellers found in order, and moves on from one
    that fails; when the list runs out it looks up again.  No overlay
    links, so every buy travels on the buyer's own connection to the
    seller."""

    neighbours = 0

    def setUp(self):
        super().setUp()
        self.good = self.seller(pear=1)
        self.market.run(1)

    def startBuyer(self):
        buyer = self.buyer()
        return buyer, Deliveries(buyer), FindEvents(buyer)

    def test_soldout(self):
        """A seller the index still names but which has no pear left
        answers soldout; the buyer buys from the next one."""
        stale = self.seller(pear=1)
        self.market.run(1)
        self.market.role(stale, "seller").stock["pear"] = 0
        self.lookupFirst(stale.id)
        buyer, deliveries, _ = self.startBuyer()
        self.market.run(5)
        [soldout] = deliveries.of(wire.Error)
        self.assertEqual((soldout.code, soldout.path[0]), ("soldout", stale.id))
        self.assertEqual(self.bag(buyer), [("pear", self.good.id)])

    def test_refused(self):
        """The index names an address where nobody listens: once the
        connection fails the buy, which never left, is dropped, and the
        buyer buys from the next seller at once, with the same find."""
        self.tracker.registry.join(GONE.id, "gone.example", 9999)
        indexOf(self.tracker).register(GONE.id, "pear", records.signed(GONE, "pear"))
        self.lookupFirst(GONE.id)
        buyer, _, events = self.startBuyer()
        self.market.run(4)
        self.assertEqual(self.bag(buyer), [("pear", self.good.id)])
        self.assertEqual(self.market.role(buyer, "buyer").unresolved, {})
        self.assertEqual(events.events.count(("findStarted", "pear")), 1)

    def test_silence(self):
        """
        A node that registered pear reads buys and asks and answers none
        (its link still answers pings).  The buyer sees that it read them
        (L{twisted_bazaar.roles.probe}): it gives the buy up ANSWER_GRACE
        after the pong, asks about it ASK_ROUNDS times, and then buys from
        the next seller, within 10 s; it never sends the mute node
        anything more about it.
        """
        mute = self.node()
        mute.discovery.advertise(StaticShop(pear=1))
        self.market.run(1)
        heard = Deliveries(mute)
        self.lookupFirst(mute.id)
        buyer, _, _ = self.startBuyer()
        self.market.run(10)
        self.assertEqual(self.bag(buyer), [("pear", self.good.id)])
        [buy] = heard.of(trade.Buy)
        self.assertEqual(buy.path, (buyer.id, mute.id))
        self.assertEqual([(a.id, a.path) for a in heard.of(trade.Ask)],
                         [(buy.id, buy.path)] * ASK_ROUNDS)
        self.market.run(DOUBT_LIMIT)
        self.assertEqual(len(heard.of(trade.Buy)), 1)
        self.assertEqual(len(heard.of(trade.Ask)), ASK_ROUNDS)
        self.assertEqual(self.bag(buyer), [("pear", self.good.id)])

    def test_looksUpAgainWhenTheListRunsOut(self):
        """Every seller found failed: the buyer looks up again, and buys
        from a seller that registered meanwhile."""
        self.market.crash(self.good)
        self.tracker.registry.join(GONE.id, "gone.example", 9999)
        indexOf(self.tracker).register(GONE.id, "pear", records.signed(GONE, "pear"))
        buyer, _, events = self.startBuyer()
        self.market.run(15)
        lookups = events.events.count(("findStarted", "pear"))
        self.assertGreaterEqual(lookups, 2)
        self.assertEqual(self.bag(buyer), [])
        late = self.seller(pear=1)
        self.market.run(15)
        self.assertEqual(self.bag(buyer), [("pear", late.id)])

    def test_staleSellerAloneDoesNotMakeTheBuyerSpin(self):
        """The only seller named always says soldout: the buyer keeps
        looking up, but once a window, not as fast as the network goes."""
        self.market.crash(self.good)
        stale = self.seller(pear=1)
        self.market.run(1)
        self.market.role(stale, "seller").stock["pear"] = 0
        self.stats.most_lookups = 25
        buyer, deliveries, _ = self.startBuyer()
        self.market.run(20)
        self.assertEqual(self.bag(buyer), [])
        self.assertGreaterEqual(self.stats["lookup"], 10)
        self.assertEqual({m.code for m in deliveries.of(wire.Error)}, {"soldout"})


class IndexDepartureTests(IndexMarketCase):
    """Crashes, and restarts of sellers and of the tracker."""

    def test_crashedSellerLeavesTheIndex(self):
        crashed, alive = self.seller(pear=2, fig=1), self.seller(pear=2)
        self.market.run(2)
        self.assertEqual(indexOf(self.tracker).listing(), {"fig": 1, "pear": 2})
        self.market.crash(crashed)
        self.market.run(0.1)
        self.assertEqual(indexOf(self.tracker).listing(), {"pear": 1})
        self.assertEqual(indexOf(self.tracker).items(crashed.id), set())
        buyer = self.buyer(quantity=2)
        self.market.run(5)
        self.assertEqual(self.bag(buyer), [("pear", alive.id)] * 2)

    def test_politelyStoppedSellerLeavesTheIndex(self):
        leaving = self.seller(pear=2)
        self.market.run(2)
        self.market.stop(leaving)
        self.assertEqual(indexOf(self.tracker).listing(), {})

    def test_restartedTrackerHearsEveryItemAgain(self):
        seller = self.seller(pear=1, fig=1, plum=2)
        first = self.buyer()
        self.market.run(5)
        self.assertEqual(self.bag(first), [("pear", seller.id)])
        tracker = self.restartTracker()
        self.assertEqual(indexOf(tracker).listing(), {})
        self.market.run(10)
        self.assertEqual(indexOf(tracker).listing(), {"fig": 1, "plum": 1})
        self.assertEqual(indexOf(tracker).items(seller.id), {"fig", "plum"})
        second = self.buyer(item="plum")
        self.market.run(5)
        self.assertEqual(self.bag(second), [("plum", seller.id)])

    def restartTracker(self):
        """Stop the tracker, drop its connections, and start a fresh one
        (empty table, empty index) on the same address."""
        market = self.market
        market.tracker_service.stopService()
        market.network.cut(market.tracker_host)
        tracker = market.tracker = self.tracker = Tracker(
            market.clock, random.Random(99), market.link_settings,
            extensions=trackerExtensionPlugins(),
            connector=MemoryConnector(market.network, market.tracker_host))
        market.tracker_service = trackerService(
            market.clock, tracker,
            MemoryServerEndpoint(market.network, market.tracker_host,
                                 DEFAULT_TRACKER_PORT))
        market.tracker_service.startService()
        return tracker

    def test_restartedSellerRegistersWhatItHasLeft(self):
        store = MemoryStore()
        seller = self.market.addNode(store=store, discovery="index",
                                     seller={"stock": {"pear": 2, "fig": 1}})
        buyer = self.buyer(item="fig")
        self.market.run(5)
        self.assertEqual(self.bag(buyer), [("fig", seller.id)])
        self.market.crash(seller)
        self.market.run(0.1)
        self.assertEqual(indexOf(self.tracker).listing(), {})
        back = self.market.restart(seller, store, seller={"stock": {"pear": 2, "fig": 1}})
        self.market.run(5)
        self.assertEqual(back.id, seller.id)
        self.assertEqual(indexOf(self.tracker).listing(), {"pear": 1})
        self.assertEqual(indexOf(self.tracker).items(seller.id), {"pear"})


# -- the simulator, both schemes side by side ----------------------------------


class SimulationComparisonTests(SynchronousTestCase):
    def test_indexAndFloodCompare(self):
        """The same small market, once per scheme: both buy everything, the
        index spends far fewer trade messages per search and goes one hop,
        and the metrics have the same shape."""
        runs = {scheme: Simulation(SimConfig(nodes=30, searches=12, items=3, seed=2,
                                             discovery=scheme)).run()
                for scheme in ("flood", "index")}
        flood, index = runs["flood"], runs["index"]
        self.assertEqual(set(flood), set(index))
        self.assertEqual(set(flood["hops_to_first_reply"]),
                         set(index["hops_to_first_reply"]))
        for metrics in (flood, index):
            self.assertEqual(metrics["success_rate"], 1.0)
            self.assertEqual(metrics["double_sells"], 0)
            self.assertEqual(metrics["search_floods"], 12)
        self.assertEqual(index["config"]["discovery"], "index")
        self.assertLess(index["messages_per_search"] * 10, flood["messages_per_search"])
        self.assertEqual(index["search_messages_per_search"], 0)
        self.assertEqual(index["hops_to_first_reply"]["p99"], 1)
        self.assertGreater(flood["hops_to_first_reply"]["mean"], 1)
        self.assertEqual(index["messages_by_type"]["lookup"], 12)
        self.assertNotIn("lookup", flood["messages_by_type"])
