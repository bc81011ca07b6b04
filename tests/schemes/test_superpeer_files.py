"""
Shared files with the superpeer scheme: the optional ``files`` of
leafRegister and leafUpdate (good and bad on the wire), the descriptions a
super-peer's index keeps per leaf entry and hands back in its hits, the
leaf that sends them, and files bought and fetched across super-peers in a
L{Market} (every test of L{tests.roles.files.test_fetch.FetchTests}, with a
seller leaf on one super-peer and a buyer leaf on the other).
"""

import itertools

from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.daemon.registry import buildScheme
from twisted_bazaar.schemes.superpeer.index import LeafIndex
from twisted_bazaar.schemes.superpeer.messages import (
    LEAF,
    LeafAck,
    LeafHits,
    LeafQuery,
    LeafRegister,
    LeafUpdate,
    SpHit,
)

from tests.roles.files import test_fetch
from tests.helpers import (
    CodecAssertions,
    NODE_HOST,
    NODE_PORT,
    closeLink,
    feed,
    jsonNetstring,
    linkPeer,
    makeNode,
    openLink,
    parseJSONNetstrings,
    parseNetstrings,
    sent,
)
from tests.schemes import StaticShop, answerChecks

SHA = "ab" * 32
SONG = {"size": 5, "sha256": SHA, "transfer": 9100}
A = ("10.0.0.1", 9001)


class DescribingShop(StaticShop):
    """A shop that shares its item ``song`` as a file."""

    def describe(self, item):
        return dict(SONG) if item == "song" else None


class CodecTests(CodecAssertions, SynchronousTestCase):
    def test_filesAreOptional(self):
        self.assertRoundTrip(LeafRegister(1, "", 9, {"apple": 2}),
                             {"type": "leafRegister", "seq": 1, "host": "", "port": 9,
                              "items": {"apple": 2}})
        self.assertRoundTrip(LeafUpdate(2, {"song": 1}, {"song": SONG}),
                             {"type": "leafUpdate", "seq": 2, "items": {"song": 1},
                              "files": {"song": SONG}})

    def test_unknownKeysOfADescriptionAreDropped(self):
        message = wire.decode(wire.encode(LeafRegister(
            1, "", 9, {"song": 1}, {"song": dict(SONG, colour="red")})))
        self.assertEqual(message.files, {"song": SONG})

    def test_hitsCarryDescriptions(self):
        sellers = ((11, "h", 9011, 5, SHA, 9100), (12, "h", 9012))
        objects = [{"id": 11, "host": "h", "port": 9011, **SONG},
                   {"id": 12, "host": "h", "port": 9012}]
        self.assertRoundTrip(LeafHits(4, "song", sellers),
                             {"type": "leafHits", "id": 4, "item": "song",
                              "sellers": objects})
        self.assertRoundTrip(SpHit(4, "song", (1, 2), sellers),
                             {"type": "spHit", "id": 4, "item": "song", "path": (1, 2),
                              "sellers": objects})

    def test_badFiles(self):
        register = {"type": "leafRegister", "seq": 1, "host": "", "port": 9,
                    "items": {"song": 1}}
        cases = [
            ([SONG], "leafRegister.files must be an object of at most 1024 items"),
            ({f"i{k}": SONG for k in range(1025)},
             "leafRegister.files must be an object of at most 1024 items"),
            ({"": SONG}, "leafRegister.files key must be 1 to 256 bytes, not 0"),
            ({"song": 5}, "leafRegister.files['song'] must be an object with size, "
             "sha256 and transfer"),
            ({"song": {"size": 5, "transfer": 9100}},
             "leafRegister.files['song'] lacks sha256"),
            ({"song": dict(SONG, sha256=SHA.upper())},
             "leafRegister.files['song'].sha256 must be a SHA-256 as 64 lowercase "
             "hex digits"),
            ({"song": dict(SONG, size=-1)},
             "leafRegister.files['song'].size must be a size from 0 to 2^53, not -1"),
            ({"song": dict(SONG, transfer=0)},
             "leafRegister.files['song'].transfer must be a port from 1 to 65535, "
             "not 0"),
        ]
        for files, info in cases:
            self.assertBad(dict(register, files=files), info)
        self.assertBad({"type": "leafUpdate", "seq": 1, "items": {}, "files": "song"},
                       "leafUpdate.files must be an object of at most 1024 items")

    def test_badHits(self):
        self.assertBad({"type": "leafHits", "id": 4, "item": "song", "sellers": [
            {"id": 11, "host": "h", "port": 9011, "sha256": "x"}]},
            "leafHits.sellers.sha256 must be a SHA-256 as 64 lowercase hex digits")
        self.assertBad({"type": "spHit", "id": 4, "item": "song", "path": [1],
                        "sellers": [{"id": 11, "host": "h", "port": 9011,
                                     "size": True}]},
                       "spHit.sellers.size must be an integer a size from 0 to 2^53")


class IndexTests(SynchronousTestCase):
    def setUp(self):
        self.index = LeafIndex(per_leaf=4, total=8)

    def test_registerKeepsDescriptionsOfStockedItems(self):
        self.index.register(1, A, {"song": 1, "apple": 2, "gone": 0},
                            {"song": SONG, "gone": SONG, "stranger": SONG})
        self.assertEqual(self.index.files(1), {"song": (5, SHA, 9100)})
        self.assertEqual(self.index.lookup("song", 5), [(1,) + A + (5, SHA, 9100)])
        self.assertEqual(self.index.lookup("apple", 5), [(1,) + A])

    def test_updateReplacesOrClearsWhatItNames(self):
        self.index.register(1, A, {"song": 1, "tune": 1},
                            {"song": SONG, "tune": SONG})
        self.index.update(1, {"song": 1}, {"song": dict(SONG, size=6)})
        self.index.update(1, {"tune": 2})
        self.assertEqual(self.index.files(1), {"song": (6, SHA, 9100)})
        self.index.update(1, {"song": 0})
        self.assertEqual(self.index.files(1), {})
        self.index.update(1, {"song": 1}, {"song": SONG, "tune": dict(SONG, size=7)})
        self.assertEqual(self.index.files(1), {"song": (5, SHA, 9100)})

    def test_registerAgainReplacesDescriptions(self):
        self.index.register(1, A, {"song": 1}, {"song": SONG})
        self.index.register(1, A, {"song": 1})
        self.assertEqual(self.index.lookup("song", 5), [(1,) + A])

    def test_leafGoneTakesItsDescriptions(self):
        self.index.register(1, A, {"song": 1}, {"song": SONG})
        self.index.forget(1)
        self.assertEqual(self.index.files(1), {})
        self.assertEqual(self.index.lookup("song", 5), [])
        self.assertEqual(self.index.entries, 0)


class SuperPeerTests(SynchronousTestCase):
    def setUp(self):
        self.node = makeNode(7)
        self.scheme = buildScheme(self.node, "superpeer", super=True)
        self.index = self.scheme.side.index

    def test_hitsNameWhatLeavesDescribed(self):
        seller = linkPeer(self.node, 11, purpose=LEAF)
        feed(seller, LeafRegister(1, "", 9011, {"song": 1}, {"song": SONG}))
        answerChecks(self.node)
        asker = linkPeer(self.node, 12, purpose=LEAF)
        feed(asker, LeafQuery(55, "song"))
        self.assertEqual(sent(asker), [LeafHits(55, "song", (
            (11, "10.0.0.99", 9011, 5, SHA, 9100),))])
        closeLink(seller)
        self.assertEqual(self.index.files(11), {})
        feed(asker, LeafQuery(56, "song"))
        self.assertEqual(sent(asker), [LeafHits(56, "song", ())])

    def test_ownSharedFileIsDescribed(self):
        self.scheme.advertise(DescribingShop(song=1, apple=1))
        asker = linkPeer(self.node, 12, purpose=LEAF)
        feed(asker, LeafQuery(55, "song"))
        feed(asker, LeafQuery(56, "apple"))
        self.assertEqual(sent(asker), [
            LeafHits(55, "song", ((7, NODE_HOST, NODE_PORT, 5, SHA, 9100),)),
            LeafHits(56, "apple", ((7, NODE_HOST, NODE_PORT),))])

    def test_badFilesOverALink(self):
        """A bad description is the codec's error{wtf}, never a traceback,
        and the index is unchanged."""
        logged = []
        globalLogPublisher.addObserver(logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, logged.append)
        link = linkPeer(self.node, 11, purpose=LEAF)
        link.dataReceived(jsonNetstring({
            "type": "leafRegister", "seq": 1, "host": "", "port": 9011,
            "items": {"song": 1}, "files": {"song": {"size": 5}}}))
        self.assertEqual(parseJSONNetstrings(link.transport.value()), [
            {"type": "error", "code": "wtf",
             "info": "leafRegister.files['song'] lacks sha256"}])
        self.assertNotIn(11, self.index)
        self.assertEqual([event for event in logged if "log_failure" in event], [])


class LeafTests(SynchronousTestCase):
    def setUp(self):
        self.node = makeNode(9)
        self.scheme = buildScheme(self.node, "superpeer")
        self.shop = DescribingShop(song=1, apple=2)
        self.scheme.advertise(self.shop)

    def test_registerAndUpdatesDescribeSharedFiles(self):
        link = openLink(self.node, inbound=False, purpose=LEAF)
        link.transport.clear()
        feed(link, wire.ThisIsMe(101, 5000, ""))
        self.assertEqual(sent(link), [LeafRegister(1, "", NODE_PORT,
                                                   {"song": 1, "apple": 2},
                                                   {"song": SONG})])
        self.shop.stock["song"] = 0
        self.scheme.stockChanged("song", 0)
        self.shop.stock["song"] = 1
        self.scheme.stockChanged("song", 1)
        self.shop.stock["apple"] = 0
        self.scheme.stockChanged("apple", 0)
        self.assertEqual(sent(link), [LeafUpdate(2, {"song": 0}),
                                      LeafUpdate(3, {"song": 1}, {"song": SONG}),
                                      LeafUpdate(4, {"apple": 0})])
        self.assertEqual(LeafUpdate(2, {"song": 0}).asDict(),
                         {"type": "leafUpdate", "seq": 2, "items": {"song": 0}})

    def test_offersCarryTheHitsDescriptions(self):
        link = openLink(self.node, inbound=False, purpose=LEAF)
        feed(link, wire.ThisIsMe(101, 5000, ""))
        offers = []
        self.scheme.find("song", 1.0).addCallback(offers.extend)
        [query] = [m for m in sent(link) if type(m) is LeafQuery]
        feed(link, LeafHits(query.id, "song", ((11, "h", 9011, 5, SHA, 9100),
                                               (12, "h", 9012))))
        self.assertEqual([(o.seller, o.size, o.sha256, o.transfer) for o in offers],
                         [(11, 5, SHA, 9100), (12, None, None, 0)])


class SuperPeerFetchTests(test_fetch.FetchTests):
    """Every file test, with sellers as leaves of one super-peer and buyers
    as leaves of another."""

    discovery = "superpeer"

    def makeMarket(self, latency=0.0, seed=2):
        market = super().makeMarket(latency, seed)
        self.supers = [market.addNode(discovery="superpeer", scheme={"super": True})
                       for _ in range(2)]
        market.run(3)
        return market

    def leafOf(self, superpeer):
        return {"superpeers": 1,
                "superpeer_neighbour": [(superpeer.host, superpeer.port)]}

    def addSeller(self, folder, **extra):
        return self.market.addNode(discovery=self.discovery,
                                   scheme=self.leafOf(self.supers[0]),
                                   seller={"stock": {}, "share": folder, **extra})

    def addBuyer(self, wants, downloads=None, store=None):
        downloads = downloads or test_fetch.scratchDir(self)
        node = self.market.addNode(discovery=self.discovery, store=store,
                                   scheme=self.leafOf(self.supers[1]),
                                   buyer={"wants": wants, "downloads": downloads})
        return node, downloads

    def test_boughtThroughAnotherSuperPeer(self):
        """The buyer's super-peer learns of the file from the seller's,
        with its size, hash and transfer port: the file is fetched."""
        self.makeMarket()
        seller = self.addSeller(self.sharing({"song.ogg": self.data}))
        buyer, downloads = self.addBuyer(["song.ogg"])
        self.market.run(10)
        home, other = self.supers
        self.assertIn(seller.id, home.discovery.side.index)
        self.assertNotIn(seller.id, other.discovery.side.index)
        self.assertIn(buyer.id, other.links)
        self.assertNotIn(buyer.id, home.links)
        [offer] = self.fetcher(buyer).offers["song.ogg"]
        self.assertEqual((offer.seller, offer.size, offer.sha256),
                         (seller.id, len(self.data), test_fetch.sha(self.data)))
        self.assertEqual(self.sales([seller]), 1)
        self.assertFetched(downloads, "song.ogg", self.data)
        self.stopAll()


class ManyFilesShop(StaticShop):
    """A shop sharing ``count`` files with long names (each its own
    hash), far more than one 64 KiB frame can describe."""

    def __init__(self, count, prefix="ü" * 120):
        super().__init__(**{f"{prefix}{n:04d}": 1 for n in range(count)})

    def describe(self, item):
        return {"size": 10**12, "sha256": f"{int(item[-4:]):064x}", "transfer": 9100}


class SplitRegisterTests(SynchronousTestCase):
    """
    A leaf whose inventory does not fit in one frame registers its first
    part in leafRegister and the rest in leafUpdates, each within the
    frame limit; a super-peer ends up with every item and description,
    and the leaf counts as registered once the last part is acknowledged.
    """

    def setUp(self):
        self.node = makeNode(9)
        self.scheme = buildScheme(self.node, "superpeer")
        self.shop = ManyFilesShop(600)
        self.scheme.advertise(self.shop)

    def register(self):
        link = openLink(self.node, inbound=False, purpose=LEAF)
        link.transport.clear()
        feed(link, wire.ThisIsMe(101, 5000, ""))
        payloads = parseNetstrings(link.transport.value())
        link.transport.clear()
        limit = link.settings.frame_limit
        self.assertTrue(all(len(payload) <= limit for payload in payloads))
        return link, [wire.decode(payload) for payload in payloads]

    def test_partsFitAndCoverTheInventory(self):
        link, messages = self.register()
        first, *rest = messages
        self.assertEqual(type(first), LeafRegister)
        self.assertGreater(len(rest), 2)
        self.assertEqual({type(m) for m in rest}, {LeafUpdate})
        self.assertEqual([m.seq for m in messages], list(range(1, len(messages) + 1)))
        items, files = {}, {}
        for message in messages:
            self.assertFalse(set(message.items) & set(items))
            items.update(message.items)
            files.update(message.files)
        self.assertEqual(items, self.shop.inventory())
        self.assertEqual(files, {item: self.shop.describe(item) for item in items})
        side = self.scheme.side
        for message in messages[:-1]:
            feed(link, LeafAck(message.seq, 0))
            self.assertEqual(side.registered, set())
        feed(link, LeafAck(messages[-1].seq, len(items)))
        self.assertEqual(side.registered, {101})

    def test_superPeerTakesEveryPart(self):
        """Replayed to a super-peer, the parts make one whole entry per
        item, each with its description."""
        _, messages = self.register()
        superpeer = makeNode(101)
        buildScheme(superpeer, "superpeer", super=True)
        leaf = linkPeer(superpeer, 9, purpose=LEAF)
        feed(leaf, *messages)
        self.assertEqual(sent(leaf), [LeafAck(m.seq, n) for m, n in zip(
            messages, itertools.accumulate(len(m.items) for m in messages))])
        index = superpeer.discovery.side.index
        self.assertEqual(index.items(9), self.shop.inventory())
        self.assertEqual(len(index.files(9)), 600)

    def test_largeUpdateSplit(self):
        """A new shop with many files: its items go in several updates,
        each within the frame limit."""
        link, messages = self.register()
        feed(link, LeafAck(messages[-1].seq, 600))
        self.scheme.advertise(ManyFilesShop(300, prefix="é" * 120 + "x"))
        payloads = parseNetstrings(link.transport.value())
        self.assertGreater(len(payloads), 1)
        self.assertTrue(all(len(p) <= link.settings.frame_limit for p in payloads))
        updates = [wire.decode(payload) for payload in payloads]
        self.assertEqual(sum(len(u.items) for u in updates), 300)
        self.assertEqual({type(u) for u in updates}, {LeafUpdate})
