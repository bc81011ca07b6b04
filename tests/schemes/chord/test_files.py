"""
Shared files with the chord scheme: the seller's signed record of a file,
which its stores carry and a holder keeps and sends in its replicas and
handovers (chordTransfer) and in chordRecords, the seller whose stores
describe its shared files, and files bought and fetched through a chord
ring in a L{Market} (every test of
L{tests.roles.files.test_fetch.FetchTests}).
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.wire.ids import KEYED
from twisted_bazaar.core.records import verified
from twisted_bazaar.schemes.chord.messages import (
    ChordRequest,
    ChordStore,
    ChordStored,
    ChordTransfer,
    Handed,
)
from twisted_bazaar.schemes.chord.ring import keyOf
from twisted_bazaar.schemes.chord.state import Peer
from twisted_bazaar.reach.reachable.reachability import PRIVATE, Reachability

from tests import records
from tests.roles.files import test_fetch
from tests.helpers import linkPeer, makeNode, feed, sent
from tests.schemes.chord.market import FAST, SETTLE, holderOf
from tests.schemes.chord.test_routing import FAR, ME, PRED, SUCC, placed
from tests.schemes.test_superpeer_files import SHA, DescribingShop

#: Virtual seconds for sellers joining a settled ring of FAST nodes to
#: store their records.
PUBLISH = 2

#: SONG as a record keeps it.
DETAILS = (5, SHA, 9100)
SELLER = records.identity(1)


def song(who=SELLER, **record):
    return records.signed(who, "song", "shop", 99, file=DETAILS, **record)


class HolderTests(SynchronousTestCase):
    """The node that holds an item's key, with a predecessor and successors
    linked (see L{tests.schemes.chord.test_routing})."""

    def setUp(self):
        self.node = makeNode(ME)
        self.scheme = placed(self.node)
        self.pred = linkPeer(self.node, PRED, purpose="chord")
        self.succ = linkPeer(self.node, SUCC, purpose="chord")
        key = keyOf("song")
        # A node whose id is the key's place (a keyed id: bit 128 set).
        key = KEYED | key
        self.scheme.ring.predecessor = Peer(key - 1, "p", 1)
        self.scheme.ring.me = Peer(key, "me", 1)
        self.node.id = key

    def test_storeIsKeptReplicatedAndAnswered(self):
        record = song()
        feed(self.pred, ChordStore(7, "song", 5000, (SELLER.id, PRED), record))
        self.assertEqual([type(m) for m in sent(self.pred)], [ChordStored])
        self.assertEqual(sent(self.succ), [ChordTransfer((Handed(5000, record),))])
        feed(self.pred, ChordRequest(8, "song", (PRED,)))
        [answer] = sent(self.pred)
        self.assertEqual(answer.sellers, (record,))

    def test_aReplicaKeepsTheRecord(self):
        record = song()
        feed(self.succ, ChordTransfer((Handed(2000, record),)))
        now = self.node.clock.seconds()
        [held] = self.scheme.records.sellers("song", now)
        self.assertEqual((held.record, held.expires), (record, now + 2.0))
        feed(self.pred, ChordRequest(8, "song", (PRED,)))
        self.assertEqual(sent(self.pred)[0].sellers, (record,))
        self.scheme.replicate([Peer(SUCC, "s", 2)])
        self.assertEqual(sent(self.succ), [ChordTransfer((Handed(2000, record),))])


class SellerTests(SynchronousTestCase):
    def test_storesCarrySignedRecords(self):
        """A shared file's record describes it, a plain item's does not;
        a withdrawal is a record of the seller's too, issued after the
        one it withdraws."""
        me = records.identity(5)
        scheme = placed(makeNode(me.id, identity=me))
        # Its predecessor just before it: it holds no item's key itself.
        scheme.ring.predecessor = Peer(me.id - 1, "p", 1)
        links = [linkPeer(scheme.node, peer, purpose="chord") for peer in (SUCC, FAR)]
        shop = DescribingShop(song=1, apple=1)
        scheme.advertise(shop)
        scheme.publisher.start()
        stores = {m.item: m for link in links for m in sent(link)}
        for store in stores.values():
            self.assertEqual((store.record.seller, store.record.item, store.lifetime,
                              verified(store.record)), (me.id, store.item, 90000, True))
        self.assertEqual((stores["song"].record.file, stores["apple"].record.file),
                         (DETAILS, ()))
        shop.stock["song"] = 0
        scheme.stockChanged("song", 0)
        [withdrawal] = [m for link in links for m in sent(link)]
        self.assertEqual((withdrawal.lifetime, withdrawal.record.withdrawn,
                          withdrawal.record.file), (0, True, ()))
        self.assertGreater(withdrawal.record.issued, stores["song"].record.issued)

    def test_aLanOnlySellersRecordsSaySo(self):
        """A seller whose tracker found it unreachable, and that no relay
        holds, is LAN-only: its records, stored again at once (a store
        under way too), name the host it is seen at, so that buyers
        elsewhere do not dial it.  The same word again stores nothing;
        a relay that comes later is named instead."""
        me = records.identity(5)
        scheme = placed(makeNode(me.id, identity=me))
        scheme.ring.predecessor = Peer(me.id - 1, "p", 1)
        links = [linkPeer(scheme.node, peer, purpose="chord") for peer in (SUCC, FAR)]

        def stores():
            return [m for link in links for m in sent(link)]

        scheme.advertise(DescribingShop(song=1))
        scheme.publisher.start()
        [first] = stores()
        self.assertIsNone(first.record.lan)
        node = scheme.node
        node.reach = Reachability(PRIVATE, "10.0.0.5", 7001, "203.0.113.9", 40000)
        scheme.reachChanged(node.reach, 7001)
        [marked] = stores()
        self.assertEqual((marked.item, marked.record.lan, verified(marked.record)),
                         ("song", "203.0.113.9", True))
        scheme.reachChanged(node.reach, 7001)
        self.assertEqual(stores(), [])
        node.setRelay("203.0.113.1:7701")
        scheme.reachChanged(node.reach, 7001)
        last = stores()[-1].record
        self.assertEqual((last.relay, last.lan), ("203.0.113.1:7701", None))

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
        holding = {node.id: [held.record.file for held in
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
