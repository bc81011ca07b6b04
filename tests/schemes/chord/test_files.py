"""
Shared files with the chord scheme: the optional size, sha256 and transfer
of chordStore, the description a record keeps and sends in its replicas
and handovers (chordTransfer) and in the sellers of chordRecords (good and
bad on the wire), the seller whose stores describe its shared files, and
files bought and fetched through a chord ring in a L{Market} (every test
of L{tests.roles.files.test_fetch.FetchTests}).
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.schemes.chord.messages import (
    ChordRecords,
    ChordRequest,
    ChordStore,
    ChordStored,
    ChordTransfer,
    Described,
    Handed,
)
from twisted_bazaar.schemes.chord.records import Record, RecordStore
from twisted_bazaar.schemes.chord.ring import keyOf
from twisted_bazaar.schemes.chord.state import Peer

from tests.roles.files import test_fetch
from tests.helpers import CodecAssertions, feed, jsonNetstring, linkPeer, makeNode, sent
from tests.schemes.chord.market import FAST, SETTLE, holderOf
from tests.schemes.chord.test_routing import ME, PRED, SUCC, placed
from tests.schemes.test_superpeer_files import SHA, SONG, DescribingShop

#: Virtual seconds for sellers joining a settled ring of FAST nodes to
#: store their records.
PUBLISH = 2

#: SONG as a record keeps it.
DETAILS = (5, SHA, 9100)


class CodecTests(CodecAssertions, SynchronousTestCase):
    def test_storeDescriptionIsOptional(self):
        plain = {"type": "chordStore", "id": 7, "item": "apple", "host": "h",
                 "port": 9, "lifetime": 5000, "returnPath": (3,)}
        self.assertRoundTrip(ChordStore(7, "apple", "h", 9, 5000, (3,)), plain)
        self.assertEqual(ChordStore(7, "apple", "h", 9, 5000, (3,)).details(), ())
        described = ChordStore(7, "song", "h", 9, 5000, (3,), **SONG)
        self.assertRoundTrip(described, dict(plain, item="song", **SONG))
        self.assertEqual(described.details(), DETAILS)

    def test_recordsCarryDescriptions(self):
        self.assertRoundTrip(
            ChordTransfer((Handed("song", 11, "h", 9011, 2000, DETAILS),
                           Handed("apple", 12, "h", 9012, 2000)), 4),
            {"type": "chordTransfer", "nonce": 4, "records": [
                ["song", 11, "h", 9011, 2000, SONG], ["apple", 12, "h", 9012, 2000]]})

    def test_sellersCarryDescriptions(self):
        sellers = (Described(11, "h", 9011, *DETAILS), Peer(12, "h", 9012))
        self.assertRoundTrip(
            ChordRecords(4, "song", (1, 2), 3, 99, sellers),
            {"type": "chordRecords", "id": 4, "item": "song", "path": (1, 2), "hops": 3,
             "holder": 99, "sellers": [[11, "h", 9011, SONG], [12, "h", 9012]]})

    def test_unknownKeysOfADescriptionAreDropped(self):
        message = wire.decode(jsonNetstring({
            "type": "chordRecords", "id": 4, "item": "song", "path": [1], "hops": 1,
            "holder": 99, "sellers": [[11, "h", 9011, dict(SONG, colour="red")]]}
        ).partition(b":")[2][:-1])
        self.assertEqual(message.sellers, (Described(11, "h", 9011, *DETAILS),))

    def test_badStore(self):
        store = {"type": "chordStore", "id": 7, "item": "song", "host": "h",
                 "port": 9, "lifetime": 5000, "returnPath": [3]}
        self.assertBad(dict(store, sha256=SHA.upper()),
                       "chordStore.sha256 must be a SHA-256 as 64 lowercase hex digits")
        self.assertBad(dict(store, size=-1),
                       "chordStore.size must be a size from 0 to 2^53, not -1")
        self.assertBad(dict(store, transfer=0),
                       "chordStore.transfer must be a port from 1 to 65535, not 0")

    def test_badRecords(self):
        prefix = "chordTransfer.records entry"
        cases = [
            (["song", 11, "h", 9011, 2000, SONG, 1],
             f"{prefix} must be a list [item, seller, host, port, lifetime] with an "
             f"optional description"),
            (["song", 11, "h", 9011, 2000, [5, SHA, 9100]],
             f"{prefix} description must be an object with size, sha256 and transfer"),
            (["song", 11, "h", 9011, 2000, dict(SONG, sha256="x")],
             f"{prefix} description.sha256 must be a SHA-256 as 64 lowercase hex digits"),
        ]
        for record, info in cases:
            self.assertBad({"type": "chordTransfer", "records": [record]}, info)

    def test_badSellers(self):
        records = {"type": "chordRecords", "id": 4, "item": "song", "path": [1],
                   "hops": 1, "holder": 99}
        prefix = "chordRecords.sellers entry"
        cases = [
            ([[11, "h", 9011, SONG, SONG]],
             f"{prefix} must be a list [id, host, port] with an optional description"),
            ([[11, "h", 9011, "song"]],
             f"{prefix} description must be an object with size, sha256 and transfer"),
            ([[11, "h", 9011, dict(SONG, size=True)]],
             f"{prefix} description.size must be an integer a size from 0 to 2^53"),
            ([[11, "h", 9011, SONG], [11, "h", 9011]],
             "chordRecords.sellers must not repeat a node"),
        ]
        for sellers, info in cases:
            self.assertBad(dict(records, sellers=sellers), info)


class RecordStoreTests(SynchronousTestCase):
    def setUp(self):
        self.store = RecordStore(limit=4)

    def test_theLatestStoreDescribes(self):
        self.store.put(Record("song", 1, "h", 9, 10.0, DETAILS))
        self.assertEqual(self.store.sellers("song", 0.0)[0].details, DETAILS)
        self.store.put(Record("song", 1, "h", 9, 5.0))
        [record] = self.store.sellers("song", 0.0)
        self.assertEqual((record.expires, record.details), (10.0, ()))

    def test_theDescriptionGoesWithTheRecord(self):
        self.store.put(Record("song", 1, "h", 9, 10.0, DETAILS))
        self.store.put(Record("tune", 1, "h", 9, 10.0, DETAILS))
        self.store.withdraw("song", 1, 20.0)
        self.store.purge(10.0)
        self.assertEqual((len(self.store), self.store.records(0.0)), (0, []))


class HolderTests(SynchronousTestCase):
    """The node that holds an item's key, with a predecessor and successors
    linked (see L{tests.schemes.chord.test_routing})."""

    def setUp(self):
        self.node = makeNode(ME)
        self.scheme = placed(self.node)
        self.pred = linkPeer(self.node, PRED, purpose="chord")
        self.succ = linkPeer(self.node, SUCC, purpose="chord")
        key = keyOf("song")
        self.scheme.ring.predecessor = Peer(key - 1, "p", 1)
        self.scheme.ring.me = Peer(key, "me", 1)
        self.node.id = key

    def test_storeIsKeptReplicatedAndAnswered(self):
        feed(self.pred, ChordStore(7, "song", "shop", 99, 5000, (PRED,), **SONG))
        self.assertEqual([type(m) for m in sent(self.pred)], [ChordStored])
        self.assertEqual(sent(self.succ), [ChordTransfer((
            Handed("song", PRED, "shop", 99, 5000, DETAILS),))])
        feed(self.pred, ChordRequest(8, "song", (PRED,)))
        [records] = sent(self.pred)
        self.assertEqual(records.sellers, (Described(PRED, "shop", 99, *DETAILS),))

    def test_aReplicaKeepsTheDescription(self):
        feed(self.succ, ChordTransfer((Handed("song", 700, "h", 9011, 2000, DETAILS),)))
        self.assertEqual(self.scheme.records.sellers("song", 0.0),
                         [Record("song", 700, "h", 9011, 2.0, DETAILS)])
        feed(self.pred, ChordRequest(8, "song", (PRED,)))
        self.assertEqual(sent(self.pred)[0].sellers,
                         (Described(700, "h", 9011, *DETAILS),))
        self.scheme._replicate([Peer(SUCC, "s", 2)])
        self.assertEqual(sent(self.succ), [ChordTransfer((
            Handed("song", 700, "h", 9011, 2000, DETAILS),))])


class SellerTests(SynchronousTestCase):
    def test_storesDescribeSharedFiles(self):
        """A shared file's stores describe it, a plain item's and a
        withdrawal do not."""
        scheme = placed(makeNode(ME))
        link = linkPeer(scheme.node, SUCC, purpose="chord")
        shop = DescribingShop(song=1, apple=1)
        scheme.advertise(shop)
        scheme.publisher.start()
        stores = {m.item: m for m in sent(link)}
        self.assertEqual(stores["song"].details(), DETAILS)
        self.assertEqual(stores["apple"].details(), ())
        shop.stock["song"] = 0
        scheme.stockChanged("song", 0)
        [withdrawal] = sent(link)
        self.assertEqual((withdrawal.lifetime, withdrawal.details()), (0, ()))


class ChordFetchTests(test_fetch.FetchTests):
    """Every file test, with sellers and buyers on a chord ring."""

    discovery = "chord"

    def makeMarket(self, latency=0.0, seed=2):
        market = super().makeMarket(latency, seed)
        self.ring = [market.addNode(discovery="chord", scheme=FAST) for _ in range(3)]
        market.run(SETTLE)
        return market

    def addSeller(self, folder, **extra):
        return self.market.addNode(discovery=self.discovery, scheme=FAST,
                                   seller={"stock": {}, "share": folder, **extra})

    def addBuyer(self, wants, downloads=None, store=None):
        """A buyer that joins once the sellers added so far have had
        PUBLISH seconds to take their places and store their records: it
        finds as soon as it has its own place, and a download looks for
        more sellers only when it has none left."""
        self.market.run(PUBLISH)
        downloads = downloads or test_fetch.scratchDir(self)
        node = self.market.addNode(discovery=self.discovery, store=store, scheme=FAST,
                                   buyer={"wants": wants, "downloads": downloads})
        return node, downloads

    def test_boughtThroughTheRing(self):
        """The record of the file, at the node that holds its key and at
        its replicas, describes it: the buyer's offer has its size, hash
        and transfer port, and the file is fetched."""
        self.makeMarket()
        seller = self.addSeller(self.sharing({"song.ogg": self.data}))
        buyer, downloads = self.addBuyer(["song.ogg"])
        self.market.run(10)
        described = self.market.role(seller, "seller").describe("song.ogg")
        details = (len(self.data), test_fetch.sha(self.data), described["transfer"])
        now = seller.clock.seconds()
        holding = {node.id: [record.details for record in
                             node.discovery.records.sellers("song.ogg", now)]
                   for node in self.market.nodes}
        holder = holderOf(self.market, keyOf("song.ogg"))
        self.assertEqual(holding[holder.id], [details])
        self.assertGreaterEqual(sum(found == [details] for found in holding.values()), 2)
        [offer] = self.fetcher(buyer).offers["song.ogg"]
        self.assertEqual((offer.seller, offer.size, offer.sha256, offer.transfer),
                         (seller.id,) + details)
        self.assertEqual(self.sales([seller]), 1)
        self.assertFetched(downloads, "song.ogg", self.data)
        self.stopAll()
