"""
Tests for twisted_bazaar.schemes.index.tracker: the index extension inside
the tracker (register, unregister, lookup, list, departures), spoken to
over real Links on fake transports and a Clock.
"""

import itertools
import json
import random

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransportWithDisconnection
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.wire.ids import shortId, wireId
from twisted_bazaar.daemon.registry import trackerExtensionPlugins
from twisted_bazaar.identity.proofs import CHECK, REGISTER, Handshake
from twisted_bazaar import wire
from twisted_bazaar.net.link import (
    DEAD_AFTER_INTERVALS,
    DEFAULT_PING_INTERVAL,
    LinkSettings,
)
from twisted_bazaar.schemes.index import messages as indexmsg
from twisted_bazaar.schemes.index import tracker as tracker_module
from twisted_bazaar.schemes.index.messages import LISTING_RATE
from twisted_bazaar.schemes.index.tracker import LISTING_TTL, IndexExtension
from twisted_bazaar.tracker import Tracker, TrackerFactory

from tests import records
from tests.helpers import FakeConnector, clockStartMs, feed, parseNetstrings, sent


def framed(payload):
    """The netstring the tracker writes for one JSON payload."""
    return b"%d:%s," % (len(payload), payload)


class Peer:
    """
    One connection to the tracker, played by the test: say() sends it wire
    messages, heard() decodes what it answered.  The transport reports
    loseConnection as connectionLost, as a reactor would.
    """

    def __init__(self, tracker, host="203.0.113.5", port=40000):
        address = IPv4Address("TCP", host, port)
        self.link = TrackerFactory(tracker).buildProtocol(address)
        self.transport = StringTransportWithDisconnection(peerAddress=address)
        self.transport.protocol = self.link
        self.link.makeConnection(self.transport)

    def say(self, *messages):
        feed(self.link, *messages)

    def sayJSON(self, obj):
        """Send any JSON object, valid message or not."""
        self.link.dataReceived(framed(json.dumps(obj).encode("utf-8")))

    def heard(self):
        return sent(self.link)

    @property
    def closed(self):
        return not self.transport.connected


def wtf(info):
    return wire.Error("wtf", info)


class TrackerIndexCase(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.tracker = self.makeTracker()
        self.keys = itertools.count(1000)

    def makeTracker(self, **settings):
        return Tracker(self.clock, random.Random(7), LinkSettings(**settings),
                       extensions=trackerExtensionPlugins())

    @property
    def index(self):
        """The item index the tracker's index extension keeps."""
        return self.tracker.extensions["index"].index

    def join(self, port, host="", peer_host="203.0.113.5", tracker=None, identity=None):
        """A node registered with the tracker, with a key of its own (a new
        one unless given): (peer, its id)."""
        identity = identity or records.identity(next(self.keys))
        peer = Peer(tracker or self.tracker, peer_host)
        handshake = Handshake(identity, REGISTER)
        peer.say(wire.ThisIsMe(-1, port, host, key=identity.key, nonce=handshake.nonce))
        [you] = peer.heard()
        self.assertEqual((type(you), you.id), (wire.ThisIsYou, identity.id))
        peer.say(wire.Proof(handshake.prove(you.key, you.nonce)))
        self.assertEqual(peer.heard(), [])
        peer.identity = identity
        return peer, you.id

    def register(self, peer, item, **record):
        """peer's register of item, with its record of it."""
        return indexmsg.Register(item, records.signed(peer.identity, item, **record))

    def seller(self, port, *items, **where):
        """A node that registered items (acks checked); (peer, its id)."""
        peer, node_id = self.join(port, **where)
        peer.say(*[self.register(peer, item) for item in items])
        self.assertEqual(peer.heard(), [indexmsg.Ack(item) for item in items])
        return peer, node_id

    def lookup(self, peer, item):
        """The (id, host, port) of each seller a lookup names (each with
        its own record of item)."""
        peer.say(indexmsg.Lookup(item))
        [found] = peer.heard()
        self.assertEqual((type(found), found.item), (indexmsg.Found, item))
        for seller, _, _, record in found.sellers:
            self.assertEqual((record.seller, record.item), (seller, item))
        return tuple(seller[:3] for seller in found.sellers)

    def listing(self, peer):
        peer.say(indexmsg.List())
        [answer] = peer.heard()
        return answer.items


class TrackerRegistrationTests(TrackerIndexCase):
    """register, unregister and their acks."""

    def test_registerIsAckedAndIndexed(self):
        peer, node_id = self.join(4001)
        peer.say(self.register(peer, "pear"))
        self.assertEqual(peer.heard(), [indexmsg.Ack("pear")])
        self.assertEqual(self.index.items(node_id), {"pear"})

    def test_ackOnTheWire(self):
        peer, _ = self.join(4001)
        peer.sayJSON({"type": "register", "item": "pear",
                      "record": records.signed(peer.identity, "pear").asDict()})
        self.assertEqual(peer.transport.value(), framed(b'{"type":"ack","item":"pear"}'))

    def test_unregisterIsAckedAndWithdrawn(self):
        peer, node_id = self.seller(4001, "pear", "fig")
        peer.say(indexmsg.Unregister("pear"))
        self.assertEqual(peer.heard(), [indexmsg.Ack("pear")])
        self.assertEqual(self.index.items(node_id), {"fig"})
        self.assertEqual(self.lookup(peer, "pear"), ())

    def test_unregisterOfUnregisteredItemIsAcked(self):
        peer, node_id = self.join(4001)
        peer.say(indexmsg.Unregister("pear"))
        self.assertEqual(peer.heard(), [indexmsg.Ack("pear")])
        self.assertEqual(self.index.listing(), {})

    def test_aNodeWithdrawsOnlyItsOwnRegistration(self):
        first, first_id = self.seller(4001, "pear")
        second, _ = self.seller(4002, "pear")
        second.say(indexmsg.Unregister("pear"))
        second.heard()
        self.assertEqual(self.lookup(second, "pear"), ((first_id, "203.0.113.5", 4001),))


class TrackerLookupTests(TrackerIndexCase):
    """lookup -> found, and list -> listing."""

    def test_foundNamesSellersWithAddressFromTheTable(self):
        _, observed = self.seller(4001, "pear", peer_host="198.51.100.9")
        _, given = self.seller(4002, "pear", host="shop.example")
        _, other = self.seller(4003, "fig")
        buyer, _ = self.join(0)
        self.assertEqual(sorted(self.lookup(buyer, "pear")),
                         sorted([(observed, "198.51.100.9", 4001),
                                 (given, "shop.example", 4002)]))

    def test_foundOnTheWire(self):
        _, seller_id = self.seller(4001, "pear")
        buyer, _ = self.join(0)
        buyer.sayJSON({"type": "lookup", "item": "pear"})
        [found] = [json.loads(p) for p in parseNetstrings(buyer.transport.value())]
        record = self.index.record(seller_id, "pear").asDict()
        self.assertEqual(found, {"type": "found", "item": "pear", "sellers": [
            {"id": wireId(seller_id), "host": "203.0.113.5", "port": 4001, "record": record}]})

    def test_nobodySellsGetsEmptyFound(self):
        self.seller(4001, "fig")
        buyer, _ = self.join(0)
        buyer.sayJSON({"type": "lookup", "item": "pear"})
        self.assertEqual(buyer.transport.value(),
                         framed(b'{"type":"found","item":"pear","sellers":[]}'))

    def test_repeatedLookupsRotateThroughSellers(self):
        ids = [self.seller(4001 + i, "pear")[1] for i in range(3)]
        buyer, _ = self.join(0)
        orders = [[seller for seller, _, _ in self.lookup(buyer, "pear")]
                  for _ in range(9)]
        for order in orders:
            self.assertEqual(sorted(order), sorted(ids))
        leaders = [order[0] for order in orders]
        for start in range(0, 9, 3):
            self.assertEqual(sorted(leaders[start:start + 3]), sorted(ids))
        # After the first round every seller has been handed out once, and
        # each later order is the one before, rotated.
        for before, after in zip(orders[3:], orders[4:]):
            self.assertEqual(after, before[1:] + before[:1])

    def test_foundNamesAtMostMaxFound(self):
        ids = {self.seller(5000 + i, "pear", peer_host=f"10.{i}.0.1")[1]
               for i in range(indexmsg.MAX_FOUND + 6)}
        buyer, _ = self.join(0)
        named = [self.lookup(buyer, "pear") for _ in range(3)]
        for sellers in named:
            self.assertEqual(len(sellers), indexmsg.MAX_FOUND)
            self.assertEqual(len({s[0] for s in sellers}), indexmsg.MAX_FOUND)
            self.assertLessEqual({s[0] for s in sellers}, ids)

    def test_foundOverFrameLimitIsCut(self):
        """A found that would be too big for the frame limit is cut to the
        sellers that fit (it was once left unsent: see
        L{CrowdedAnswerTests}), and the link stays up."""
        tracker = self.makeTracker(frame_limit=1024)
        host = "h" * 200
        for i in range(6):
            self.seller(5000 + i, "pear", host=host, tracker=tracker)
        buyer, _ = self.join(0, tracker=tracker)
        buyer.say(indexmsg.Lookup("pear"))
        [payload] = parseNetstrings(buyer.transport.value())
        self.assertLessEqual(len(payload), 1024)
        self.assertIn(len(wire.decode(payload).sellers), range(1, 6))
        self.assertFalse(buyer.closed)

    def test_listingCountsSellersOfEveryItem(self):
        self.seller(4001, "pear", "fig")
        self.seller(4002, "pear")
        buyer, _ = self.join(0)
        self.assertEqual(self.listing(buyer), {"fig": 1, "pear": 2})

    def test_listingOnTheWire(self):
        self.seller(4001, "pear", "fig")
        self.seller(4002, "pear")
        buyer, _ = self.join(0)
        buyer.sayJSON({"type": "list"})
        self.assertEqual(buyer.transport.value(),
                         framed(b'{"type":"listing","items":{"fig":1,"pear":2}}'))

    def test_listingCountsOnlySellersAFoundNames(self):
        """A seller registered with port 0 takes no links, so no found
        names it (protocol.md §12, "Limits"); the listing does not count
        it either, or a client would be told of sellers a lookup never
        gives (live before: listing {"kiwi": 1}, found [])."""
        self.seller(0, "kiwi")
        self.seller(4001, "pear")
        buyer, _ = self.join(0)
        self.assertEqual(self.lookup(buyer, "kiwi"), ())
        self.assertEqual(self.listing(buyer), {"pear": 1})

    def test_listingEmpty(self):
        buyer, _ = self.join(0)
        self.assertEqual(self.listing(buyer), {})

    def test_listingIsCutToFitTheFrameLimit(self):
        """Long item names that would overflow the frame: the listing names
        as many as fit, in name order, and is still sent."""
        items = sorted(f"{n:03d}" + "x" * 250 for n in range(300))
        peer, _ = self.join(4001)
        peer.say(*[self.register(peer, item) for item in items])
        peer.heard()
        peer.say(indexmsg.List())
        [payload] = parseNetstrings(peer.transport.value())
        self.assertLessEqual(len(payload), self.tracker.settings.frame_limit)
        listing = wire.decode(payload).items
        self.assertEqual(list(listing), items[:len(listing)])
        self.assertGreater(len(listing), 200)
        self.assertLess(len(listing), 300)

    def test_listingNamesAtMostMaxListingInNameOrder(self):
        items = [f"item{n:05d}" for n in range(indexmsg.MAX_LISTING + 10)]
        self.tracker = self.makeTracker(frame_limit=10**6)
        peer, _ = self.join(4001)
        other, _ = self.join(4002)
        half = len(items) // 2
        peer.say(*[self.register(peer, item) for item in reversed(items[:half])])
        other.say(*[self.register(other, item) for item in reversed(items[half:])])
        peer.heard()
        listing = self.listing(peer)
        self.assertEqual(list(listing), items[:indexmsg.MAX_LISTING])
        self.assertEqual(set(listing.values()), {1})


class TrackerDepartureTests(TrackerIndexCase):
    """A node that goes away leaves the index with it."""

    def setUp(self):
        super().setUp()
        self.leaving, self.leaving_id = self.seller(4001, "pear", "fig")
        self.staying, self.staying_id = self.seller(4002, "pear")

    def assertOnlyStayingSells(self):
        self.assertEqual(self.lookup(self.staying, "pear"),
                         ((self.staying_id, "203.0.113.5", 4002),))
        self.assertEqual(self.lookup(self.staying, "fig"), ())
        self.assertEqual(self.listing(self.staying), {"pear": 1})
        self.assertEqual(self.index.items(self.leaving_id), set())

    def test_disconnect(self):
        self.leaving.transport.loseConnection()
        self.assertOnlyStayingSells()

    def test_dc(self):
        self.leaving.say(wire.Dc())
        self.assertTrue(self.leaving.closed)
        self.assertOnlyStayingSells()

    def test_keepaliveSilence(self):
        """A seller that stops answering pings is listed until its link is
        closed for silence, and not a moment longer."""
        for interval in range(DEAD_AFTER_INTERVALS):
            self.assertEqual(len(self.lookup(self.staying, "pear")), 2)
            self.clock.advance(DEFAULT_PING_INTERVAL)
            for ping in self.staying.heard():
                self.staying.say(wire.Pong(ping.nonce))
        self.assertTrue(self.leaving.closed)
        self.assertFalse(self.staying.closed)
        self.assertOnlyStayingSells()

    def test_tooManyBadMessages(self):
        """A node cut off for bad input leaves the index too."""
        tracker = self.makeTracker(error_limit=3)
        bad, _ = self.seller(4001, "pear", tracker=tracker)
        good, good_id = self.seller(4002, "pear", tracker=tracker)
        for _ in range(4):
            bad.sayJSON({"type": "lookup", "item": ""})
        self.assertTrue(bad.closed)
        self.assertEqual(self.lookup(good, "pear"), ((good_id, "203.0.113.5", 4002),))

    def test_backAfterReconnectOnlyOnceRegisteredAgain(self):
        """The tracker keeps nothing of a node across connections: a node
        that reconnects with its id is unlisted until it registers again."""
        self.leaving.transport.loseConnection()
        back, _ = self.join(4001, identity=self.leaving.identity)
        self.assertOnlyStayingSells()
        back.say(self.register(back, "pear"))
        back.heard()
        self.assertEqual(sorted(self.lookup(self.staying, "pear")),
                         sorted([(self.leaving_id, "203.0.113.5", 4001),
                                 (self.staying_id, "203.0.113.5", 4002)]))


class TrackerIndexBadInputTests(TrackerIndexCase):
    """Index messages follow the same rules as every other message."""

    def test_beforeThisismeWtfAndClose(self):
        for message in (indexmsg.Register("pear", records.PLAIN), indexmsg.Unregister("pear"),
                        indexmsg.Lookup("pear"), indexmsg.List()):
            peer = Peer(self.tracker)
            peer.say(message)
            self.assertEqual(peer.heard(),
                             [wtf(f"say thisisme before {message.TYPE}")])
            self.assertTrue(peer.closed)
        self.assertEqual(self.index.listing(), {})
        self.assertEqual(len(self.tracker.registry), 0)

    def test_trackerAnswersSentToTheTrackerWtfLinkStays(self):
        peer, node_id = self.join(4001)
        for message in (indexmsg.Ack("pear"),
                        indexmsg.Found("pear", ((3, "h", 1, records.PLAIN),)),
                        indexmsg.Listing({"pear": 1})):
            peer.say(message)
            self.assertEqual(peer.heard(),
                             [wtf(f"the tracker does not handle {message.TYPE}")])
        self.assertFalse(peer.closed)
        self.assertEqual(self.index.listing(), {})

    def test_malformedIndexMessagesWtfLinkStays(self):
        peer, node_id = self.join(4001)
        cases = [
            ({"type": "lookup", "item": "x" * (wire.MAX_ITEM_BYTES + 1)},
             "lookup.item must be 1 to 256 bytes, not 257"),
            ({"type": "register", "item": ""},
             "register.item must be 1 to 256 bytes, not 0"),
            ({"type": "register"}, "register lacks the field item"),
            ({"type": "unregister", "item": 5}, "unregister.item must be a string"),
            ({"type": "found", "item": "pear", "sellers": [{"id": "1", "host": "h"}]},
             "found.sellers entry lacks port"),
            ({"type": "found", "item": "pear", "sellers": "everyone"},
             "found.sellers must be a list of at most 64 sellers"),
            ({"type": "listing", "items": {"pear": -1}},
             "listing.items['pear'] must be a count, not -1"),
        ]
        for obj, info in cases:
            peer.sayJSON(obj)
            self.assertEqual(peer.heard(), [wtf(info)], obj)
        self.assertFalse(peer.closed)
        self.assertEqual(self.index.listing(), {})

    def test_longestItemIsFine(self):
        longest = "é" * (wire.MAX_ITEM_BYTES // 2)
        peer, node_id = self.seller(4001, longest)
        self.assertEqual(self.lookup(peer, longest), ((node_id, "203.0.113.5", 4001),))



class ExtensionHostingTests(TrackerIndexCase):
    """The index lives in a tracker extension, found as a plugin."""

    def test_everyTrackerHostsTheIndexExtension(self):
        extension = self.tracker.extensions["index"]
        self.assertIsInstance(extension, IndexExtension)
        self.assertIs(extension.tracker, self.tracker)

    def test_withoutTheExtensionIndexMessagesAreWtf(self):
        self.tracker = Tracker(self.clock, random.Random(7), LinkSettings(),
                               extensions={})
        self.assertEqual(self.tracker.extensions, {})
        peer, _ = self.join(4001)
        peer.say(self.register(peer, "pear"))
        self.assertEqual(peer.heard(), [wtf("the tracker does not handle register")])
        self.assertFalse(peer.closed)


class IndexLimitTests(TrackerIndexCase):
    """What one node can make the index hold, and what list costs."""

    def test_itemsPerNode(self):
        """A node may hold MAX_ITEMS_PER_NODE items registered, sent in one
        burst (the next registration, over the rate, is dropped); one more
        is refused with wtf (registering one it has is still acked), and
        after unregistering one, another fits."""
        peer, node_id = self.join(4001)
        items = [f"i{n}" for n in range(indexmsg.MAX_ITEMS_PER_NODE)]
        peer.say(*[self.register(peer, item) for item in items])
        self.assertEqual(len(peer.heard()), len(items))
        peer.say(self.register(peer, "over the rate"))
        self.assertEqual(peer.heard(), [])
        self.clock.advance(1)
        peer.say(self.register(peer, "one more"), self.register(peer, "i0"))
        self.assertEqual(peer.heard(), [
            wtf(f"a node may register at most {indexmsg.MAX_ITEMS_PER_NODE} items"),
            indexmsg.Ack("i0")])
        peer.say(indexmsg.Unregister("i0"), self.register(peer, "one more"))
        self.assertEqual(peer.heard(), [indexmsg.Ack("i0"), indexmsg.Ack("one more")])
        self.assertEqual(len(self.index.items(node_id)), indexmsg.MAX_ITEMS_PER_NODE)

    def test_listingBuiltOncePerTTL(self):
        """list is answered from a listing built at most once every
        LISTING_TTL seconds, however often it is asked."""
        peer, _ = self.seller(4001, "pear")
        built = []
        extension = self.tracker.extensions["index"]
        build = extension._build
        self.patch(extension, "_build", lambda: built.append(1) or build())
        askers = [self.join(5000 + n)[0] for n in range(10)]
        self.assertEqual([self.listing(asker) for asker in askers * 2],
                         [{"pear": 1}] * 20)
        peer.say(self.register(peer, "fig"))
        peer.heard()
        self.assertEqual(self.listing(peer), {"pear": 1})
        self.clock.advance(LISTING_TTL)
        self.assertEqual(self.listing(peer), {"fig": 1, "pear": 1})
        self.assertEqual(len(built), 2)

    def test_burstOfListsAnsweredAtTheListingRate(self):
        """A burst of list on one connection is answered LISTING_RATE
        times a second (bursts of twice that), the rest dropped: a
        listing may be a whole frame, and a burst answered in full would
        queue more than the write limit for a client that reads."""
        peer, _ = self.seller(4001, *[f"item{n:05}" for n in range(400)])
        peer.say(*[indexmsg.List()] * 400)
        answers = peer.heard()
        self.assertEqual(len(answers), 2 * LISTING_RATE)
        self.assertEqual(len(answers[0].items), 400)
        self.assertFalse(peer.closed)
        self.clock.advance(1 / LISTING_RATE)
        peer.say(*[indexmsg.List()] * 3)
        self.assertEqual(len(peer.heard()), 1)


class UncheckedSellerTests(TrackerIndexCase):
    """The index names and lists only sellers whose address the tracker
    checked."""

    def test_onlyCheckedSellers(self):
        connector = FakeConnector()
        self.tracker = Tracker(self.clock, random.Random(7), LinkSettings(ping_interval=0),
                               extensions=trackerExtensionPlugins(), connector=connector)
        seller, seller_id = self.join(4001)
        seller.say(self.register(seller, "pear"))
        self.assertEqual(seller.heard(), [indexmsg.Ack("pear")])
        buyer, _ = self.join(0, peer_host="198.51.100.7")
        self.assertEqual(self.lookup(buyer, "pear"), ())
        self.assertEqual(self.listing(buyer), {})
        probe = connector.connectLast()
        [question] = sent(probe)
        answer = Handshake(seller.identity, CHECK)
        feed(probe, wire.ThisIsMe(seller_id, 4001, key=seller.identity.key,
                                  nonce=answer.nonce,
                                  sig=answer.prove(question.key, question.nonce)))
        self.clock.advance(LISTING_TTL)
        self.assertEqual(self.lookup(buyer, "pear"), ((seller_id, "203.0.113.5", 4001),))
        self.assertEqual(self.listing(buyer), {"pear": 1})


class OwnedRecordTests(TrackerIndexCase):
    """
    A register carries its seller's signed record; the tracker keeps only
    a record of the registering node's own key, of the item registered,
    live, and hands it out with the seller, so that nobody registers in
    another's name nor describes another's file.
    """

    def makeTracker(self, **settings):
        """Without keepalive: these tests let the clock run for minutes."""
        return super().makeTracker(ping_interval=0, **settings)

    def assertRefused(self, peer, message, why):
        peer.say(message)
        self.assertEqual(peer.heard(), [wire.Error(
            "badrecord", f"not registering {message.item!r}: {why}")])
        self.assertFalse(peer.closed)

    def test_aRecordInAnotherKeysNameIsRefused(self):
        honest, honest_id = self.seller(4001, "pear")
        thief, _ = self.join(4002)
        stolen = records.signed(honest.identity, "pear", port=4002)
        self.assertRefused(thief, indexmsg.Register("pear", stolen),
                           f"it is node {shortId(honest_id)}'s record, not node "
                           f"{shortId(thief.identity.id)}'s")
        self.assertRefused(thief, indexmsg.Register("pear", records.forged(
            records.signed(thief.identity, "pear"), seller=honest_id)),
            f"it is node {shortId(honest_id)}'s record, not node "
            f"{shortId(thief.identity.id)}'s")
        self.assertEqual(self.lookup(thief, "pear"), ((honest_id, "203.0.113.5", 4001),))

    def test_aRecordChangedAfterItWasSignedIsRefused(self):
        peer, node_id = self.join(4001)
        record = records.signed(peer.identity, "song", file=(5, records.SHA, 9))
        for change in ({"sha256": "cd" * 32}, {"size": 6}, {"transfer": 10},
                       {"port": 1}, {"expires": record.expires + 1}):
            self.assertRefused(peer, indexmsg.Register("song", records.forged(
                record, **change)), f"it is not signed by the key of node {shortId(node_id)}")
        self.assertEqual(self.index.items(node_id), set())

    def test_aRecordOfAnotherItemIsRefused(self):
        peer, _ = self.join(4001)
        self.assertRefused(peer, indexmsg.Register("pear", records.signed(
            peer.identity, "fig")), "it is a record of another item")

    def test_recordsOutOfTheirTimeBoundsAreRefused(self):
        peer, _ = self.join(4001)
        self.clock.advance(1000)
        start = clockStartMs()
        for record, why in (
                (records.signed(peer.identity, "pear", issued=start, lifetime=900),
                 "it has expired"),
                (records.signed(peer.identity, "pear", issued=start + 1_000_000,
                                lifetime=0), "it has expired"),
                (records.signed(peer.identity, "pear", issued=start + 1_061_000 + 1),
                 "it was issued 61 s in the future: its seller's clock is about that "
                 "far ahead of the clock that checked it (more than the 60 s allowed)"),
                (records.signed(peer.identity, "pear", issued=start + 1_000_000,
                                lifetime=3601), "it lives longer than 3600 s")):
            self.assertRefused(peer, indexmsg.Register("pear", record), why)

    def test_anExpiredRecordIsNoLongerHandedOut(self):
        """A seller that stops renewing its record is named until its
        record expires."""
        _, seller_id = self.seller(4001, "pear")
        buyer, _ = self.join(0)
        self.clock.advance(599)
        self.assertEqual(len(self.lookup(buyer, "pear")), 1)
        self.clock.advance(1)
        self.assertEqual(self.lookup(buyer, "pear"), ())

    def test_theSellersNewRecordReplacesItsDescription(self):
        peer, node_id = self.join(4001)
        for issued, sha in ((0, "ab" * 32), (5, "cd" * 32)):
            peer.say(self.register(peer, "song", issued=clockStartMs() + issued,
                                   file=(5, sha, 9)))
            self.assertEqual(peer.heard(), [indexmsg.Ack("song")])
        buyer, _ = self.join(0)
        buyer.say(indexmsg.Lookup("song"))
        [found] = buyer.heard()
        self.assertEqual([record.sha256 for *_, record in found.sellers], ["cd" * 32])

    def test_itemsPerAddressGroup(self):
        """The nodes of one address group together may hold at most
        MAX_ITEMS_PER_GROUP items registered; another group is not held
        back by them, and an item withdrawn makes room."""
        self.patch(tracker_module, "MAX_ITEMS_PER_GROUP", 3)
        first, _ = self.seller(4001, "a", "b", peer_host="10.1.0.1")
        second, _ = self.seller(4002, "c", peer_host="10.1.0.2")
        second.say(self.register(second, "d"), self.register(second, "c"))
        self.assertEqual(second.heard(), [
            wtf("the nodes of one address group may register at most 3 items"),
            indexmsg.Ack("c")])
        self.seller(4003, "d", peer_host="10.2.0.1")
        first.say(indexmsg.Unregister("a"))
        first.heard()
        second.say(self.register(second, "d"))
        self.assertEqual(second.heard(), [indexmsg.Ack("d")])


class CrowdedAnswerTests(TrackerIndexCase):
    """
    A ``found`` names at most MAX_FOUND sellers, and their records carry
    hosts of a seller's choosing: a crowd of sellers from one address
    group, with records whose hosts are 255 characters that each take six
    bytes on the wire, made the answer larger than a frame, so it was
    never sent and no buyer found the honest seller (issue 34, "answers
    too big", in the index scheme).  The answer now names one seller of
    each address group before a second of any, and is cut to a frame.
    """

    HOSTILE_HOST = "\x01" * 255

    def makeTracker(self, **settings):
        """Without keepalive: the crowd joins over a few seconds."""
        return super().makeTracker(ping_interval=0, **settings)

    def crowd(self, item, count, prefix="198.51"):
        for n in range(count):
            self.clock.advance(0.05)  # within the group's join rate
            peer, _ = self.join(5000 + n, peer_host=f"{prefix}.{n // 250}.{n % 250 + 1}")
            peer.say(self.register(peer, item, host=self.HOSTILE_HOST))
            self.assertEqual(peer.heard(), [indexmsg.Ack(item)])

    def test_crowdFromOneGroupLeavesTheHonestSellerNamed(self):
        item = "p" * 250
        self.crowd(item, indexmsg.MAX_FOUND)
        _, honest = self.seller(4001, item, peer_host="203.0.113.5")
        buyer, _ = self.join(0, peer_host="192.0.2.9")
        for _ in range(5):
            buyer.say(indexmsg.Lookup(item))
            frames = parseNetstrings(buyer.transport.value())
            buyer.transport.clear()
            [payload] = frames
            self.assertLessEqual(len(framed(payload)), LinkSettings().frame_limit)
            found = wire.decode(payload)
            self.assertIn(honest, [seller for seller, *_ in found.sellers])
            self.assertEqual(found.sellers[0][0] == honest
                             or found.sellers[1][0] == honest, True)

    def test_crowdFromManyGroupsIsCutToAFrame(self):
        """Sellers of as many groups as a found names: the answer is cut
        short, never left unsent."""
        item = "p" * 250
        for n in range(indexmsg.MAX_FOUND):
            self.crowd(item, 1, prefix=f"10.{n + 1}")
        buyer, _ = self.join(0, peer_host="192.0.2.9")
        buyer.say(indexmsg.Lookup(item))
        [payload] = parseNetstrings(buyer.transport.value())
        found = wire.decode(payload)
        self.assertLessEqual(len(framed(payload)), LinkSettings().frame_limit)
        self.assertGreater(len(found.sellers), 10)


class IndexShareTests(TrackerIndexCase):
    """
    The index's entries had bounds per key and per address group but
    none in all: keys of many groups (each under its own bound) grew the
    tracker's memory without end, a record of up to a kilobyte per entry.
    They are now an account shared fairly among address groups: once
    full, a group holding fewer takes the place of the newest seller of
    the group holding the most; a group as large as any is told ``full``
    (not counted as a bad message: it did nothing wrong).
    """

    def makeTracker(self, **settings):
        self.patch(tracker_module, "MAX_ENTRIES", 6)
        return super().makeTracker(ping_interval=0, **settings)

    def fill(self):
        """Group 10.1 holds 4 entries (two sellers of 2), 10.2 holds 2."""
        first, _ = self.seller(5001, "a1", "a2", peer_host="10.1.0.1")
        second, newest = self.seller(5002, "a3", "a4", peer_host="10.1.0.2")
        self.seller(5003, "b1", peer_host="10.2.0.1")
        self.seller(5004, "b2", peer_host="10.2.0.2")
        return newest

    def test_manyGroupsHoldNoMoreThanTheBound(self):
        self.fill()
        for n in range(3, 9):
            peer, _ = self.join(6000 + n, peer_host=f"10.{n}.0.1")
            peer.say(self.register(peer, f"x{n}"))
            peer.heard()
        self.assertLessEqual(sum(len(self.index.items(node))
                                 for node in self.tracker.registry.nodes), 6)

    def test_aNewcomerGroupTakesTheLargestGroupsNewest(self):
        newest = self.fill()
        honest, honest_id = self.seller(4001, "pear", peer_host="203.0.113.5")
        self.assertEqual(self.index.items(newest), set())
        buyer, _ = self.join(0, peer_host="192.0.2.9")
        self.assertEqual(self.lookup(buyer, "pear"), ((honest_id, "203.0.113.5", 4001),))
        self.assertEqual(self.lookup(buyer, "a3"), ())

    def test_aGroupAsLargeAsAnyIsToldFull(self):
        """Told once a minute: a node cuts a tracker that sends it many
        errors, and a seller registers its whole stock at once."""
        self.fill()
        peer, node_id = self.join(5005, peer_host="10.2.0.3")
        for n in range(30):
            peer.say(self.register(peer, f"b{n + 3}"))
        [answer] = peer.heard()
        self.assertEqual((type(answer), answer.code), (wire.Error, "full"))
        self.assertIn("no other address group holds more", answer.info)
        self.clock.advance(tracker_module.FULL_INTERVAL)
        peer.say(self.register(peer, "b3"), self.register(peer, "b4"))
        self.assertEqual([answer.code for answer in peer.heard()], ["full"])
        self.assertFalse(peer.closed)
        self.assertEqual(self.index.items(node_id), set())
