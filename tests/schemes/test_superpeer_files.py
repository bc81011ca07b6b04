"""
Shared files with the superpeer scheme: the ``records`` of leafRegister
and leafUpdate (good and bad on the wire), which describe shared files,
the records a super-peer hands back in its hits, the leaf that sends
them, and files bought and fetched across super-peers in a L{Market} (every test of L{tests.roles.files.test_fetch.FetchTests}, with a
seller leaf on one super-peer and a buyer leaf on the other).
"""

import itertools

from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.wire.ids import shortId, wireId
from twisted_bazaar import wire
from twisted_bazaar.core.records import verified
from twisted_bazaar.daemon.registry import buildScheme
from twisted_bazaar.schemes.superpeer.messages import (
    LEAF,
    LeafAck,
    LeafHits,
    LeafQuery,
    LeafRegister,
    LeafUpdate,
    SpHit,
)

from tests import records
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
#: SONG as a record keeps it.
DETAILS = (5, SHA, 9100)
A = ("10.0.0.1", 9001)
#: The key pairs of a super-peer, two leaves, and a leaf under test.
SUPER, LEAF11, LEAF12, ME = (records.identity(n) for n in (7, 11, 12, 9))


class DescribingShop(StaticShop):
    """A shop that shares its item ``song`` as a file."""

    def describe(self, item):
        return dict(SONG) if item == "song" else None


def song(who=LEAF11, host="", port=9011, **record):
    return records.signed(who, "song", host, port, file=DETAILS, **record)


class CodecTests(CodecAssertions, SynchronousTestCase):
    def test_recordsAreOptional(self):
        self.assertRoundTrip(LeafRegister(1, "", 9, {"apple": 2}),
                             {"type": "leafRegister", "seq": 1, "host": "", "port": 9,
                              "items": {"apple": 2}})
        self.assertRoundTrip(LeafUpdate(2, {"pear": 1}, {"pear": records.PLAIN}),
                             {"type": "leafUpdate", "seq": 2, "items": {"pear": 1},
                              "records": {"pear": records.PLAIN_WIRE}})

    def test_aRecordDescribesAFile(self):
        # Issued at 0 ms whatever --clock-start: its dict spells its times.
        record = song(issued=0)
        self.assertRoundTrip(LeafRegister(1, "", 9011, {"song": 1}, {"song": record}),
                             {"type": "leafRegister", "seq": 1, "host": "",
                              "port": 9011, "items": {"song": 1},
                              "records": {"song": record.asDict()}})
        self.assertEqual(record.asDict(), dict(
            item="song", seller=wireId(LEAF11.id), host="", port=9011, issued=0,
            expires=600000, key=LEAF11.key, sig=record.sig, **SONG))

    def test_unknownKeysOfARecordAreDropped(self):
        record = song()
        message = wire.decode(wire.encode(LeafRegister(1, "", 9, {"song": 1}))[:-1]
                              + b',"records":{"song":'
                              + wire.encode(_Raw(dict(record.asDict(), colour="red")))
                              + b'}}')
        self.assertEqual(message.records, {"song": record})

    def test_hitsCarryRecords(self):
        described, plain = song(), records.signed(LEAF12, "song", port=9012)
        sellers = ((LEAF11.id, "h", 9011, described), (LEAF12.id, "h", 9012, plain))
        objects = [{"id": wireId(LEAF11.id), "host": "h", "port": 9011,
                    "record": described.asDict()},
                   {"id": wireId(LEAF12.id), "host": "h", "port": 9012, "record": plain.asDict()}]
        self.assertRoundTrip(LeafHits(4, "song", sellers),
                             {"type": "leafHits", "id": 4, "item": "song",
                              "sellers": objects})
        self.assertRoundTrip(SpHit(4, "song", (1, 2), sellers),
                             {"type": "spHit", "id": 4, "item": "song", "path": ["1", "2"],
                              "sellers": objects})

    def test_badRecords(self):
        register = {"type": "leafRegister", "seq": 1, "host": "", "port": 9,
                    "items": {"song": 1}}
        good = song().asDict()
        cases = [
            ([good], "leafRegister.records must be an object of at most 1024 records"),
            ({f"i{k}": good for k in range(1025)},
             "leafRegister.records must be an object of at most 1024 records"),
            ({"": good}, "leafRegister.records key must be 1 to 256 bytes, not 0"),
            ({"song": 5}, "leafRegister.records['song'] must be a record object"),
            ({"song": {k: v for k, v in good.items() if k != "sig"}},
             "leafRegister.records['song'] lacks sig"),
            ({"song": {k: v for k, v in good.items() if k != "sha256"}},
             "leafRegister.records['song'] must have all of size, sha256 and "
             "transfer, or none"),
            ({"song": dict(good, sha256=SHA.upper())},
             "leafRegister.records['song'].sha256 must be a SHA-256 as 64 lowercase "
             "hex digits"),
            ({"song": dict(good, size=-1)},
             "leafRegister.records['song'].size must be a size from 0 to 2^53, not -1"),
            ({"song": dict(good, transfer=0)},
             "leafRegister.records['song'].transfer must be a port from 1 to 65535, "
             "not 0"),
            ({"song": dict(good, seller=2**31)},
             "leafRegister.records['song'].seller must be a node id: 32 lowercase hex "
             "digits, or up to 10 decimal digits without leading zeros"),
            ({"song": dict(good, expires=-1)},
             "leafRegister.records['song'].expires must be milliseconds from 0 to "
             "2^53, not -1"),
            ({"song": dict(good, key="k")},
             "leafRegister.records['song'].key must be 43 to 43 bytes, not 1"),
        ]
        for value, info in cases:
            self.assertBad(dict(register, records=value), info)
        self.assertBad({"type": "leafUpdate", "seq": 1, "items": {}, "records": "song"},
                       "leafUpdate.records must be an object of at most 1024 records")

    def test_badHits(self):
        record = song().asDict()
        self.assertBad({"type": "leafHits", "id": 4, "item": "song", "sellers": [
            {"id": "11", "host": "h", "port": 9011}]},
            "leafHits.sellers entry lacks record")
        self.assertBad({"type": "leafHits", "id": 4, "item": "song", "sellers": [
            {"id": "11", "host": "h", "port": 9011, "record": record}]},
            f"leafHits.sellers entry names node 11 with node {shortId(LEAF11.id)}'s record")
        self.assertBad({"type": "spHit", "id": 4, "item": "song", "path": ["1"],
                        "sellers": [{"id": wireId(LEAF11.id), "host": "h", "port": 9011,
                                     "record": dict(record, size=True)}]},
                       "spHit.sellers.record.size must be a size from 0 to 2^53, "
                       "an integer")


class _Raw:
    """Any JSON object, encoded as a message would be."""

    TYPE = "raw"

    def __init__(self, fields):
        self.fields = fields

    def asDict(self):
        return self.fields


class SuperPeerTests(SynchronousTestCase):
    def setUp(self):
        self.node = makeNode(SUPER.id, identity=SUPER)
        self.scheme = buildScheme(self.node, "superpeer", super=True)
        self.index = self.scheme.side.index

    def test_hitsCarryWhatLeavesSigned(self):
        seller = linkPeer(self.node, LEAF11.id, purpose=LEAF)
        record = song()
        feed(seller, LeafRegister(1, "", 9011, {"song": 1}, {"song": record}))
        answerChecks(self.node)
        asker = linkPeer(self.node, LEAF12.id, purpose=LEAF)
        feed(asker, LeafQuery(55, "song"))
        self.assertEqual(sent(asker), [LeafHits(55, "song", (
            (LEAF11.id, "10.0.0.99", 9011, record),))])
        closeLink(seller)
        self.assertEqual(self.index.records(LEAF11.id), {})
        feed(asker, LeafQuery(56, "song"))
        self.assertEqual(sent(asker), [LeafHits(56, "song", ())])

    def test_ownSharedFileIsDescribed(self):
        self.scheme.advertise(DescribingShop(song=1, apple=1))
        asker = linkPeer(self.node, LEAF12.id, purpose=LEAF)
        feed(asker, LeafQuery(55, "song"))
        feed(asker, LeafQuery(56, "apple"))
        [songs, apples] = sent(asker)
        [(seller, host, port, own)] = songs.sellers
        self.assertEqual((seller, host, port, own.file, own.seller, verified(own)),
                         (SUPER.id, NODE_HOST, NODE_PORT, DETAILS, SUPER.id, True))
        self.assertEqual(apples.sellers[0][3].file, ())

    def test_badRecordsOverALink(self):
        """A record that is no record is the codec's error{wtf}, never a
        traceback, and the index is unchanged."""
        logged = []
        globalLogPublisher.addObserver(logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, logged.append)
        link = linkPeer(self.node, LEAF11.id, purpose=LEAF)
        link.dataReceived(jsonNetstring({
            "type": "leafRegister", "seq": 1, "host": "", "port": 9011,
            "items": {"song": 1}, "records": {"song": {"size": 5}}}))
        self.assertEqual(parseJSONNetstrings(link.transport.value()), [
            {"type": "error", "code": "wtf",
             "info": "leafRegister.records['song'] lacks item"}])
        self.assertNotIn(LEAF11.id, self.index)
        self.assertEqual([event for event in logged if "log_failure" in event], [])


class LeafTests(SynchronousTestCase):
    def setUp(self):
        self.node = makeNode(ME.id, identity=ME)
        self.scheme = buildScheme(self.node, "superpeer")
        self.shop = DescribingShop(song=1, apple=2)
        self.scheme.advertise(self.shop)

    def test_recordsDescribeSharedFiles(self):
        """A register and the updates that name items in stock carry the
        leaf's records of them; a shared file's record describes it."""
        link = openLink(self.node, inbound=False, purpose=LEAF)
        link.transport.clear()
        feed(link, wire.ThisIsMe(101, 5000, ""))
        [register] = sent(link)
        self.assertEqual((register.items, sorted(register.records)),
                         ({"song": 1, "apple": 2}, ["apple", "song"]))
        self.assertEqual((register.records["song"].file,
                          register.records["apple"].file), (DETAILS, ()))
        self.shop.stock["song"] = 0
        self.scheme.stockChanged("song", 0)
        self.shop.stock["song"] = 1
        self.scheme.stockChanged("song", 1)
        withdrawn, back = sent(link)
        self.assertEqual((withdrawn.items, withdrawn.records), ({"song": 0}, None))
        self.assertEqual(LeafUpdate(2, {"song": 0}).asDict(),
                         {"type": "leafUpdate", "seq": 2, "items": {"song": 0}})
        self.assertEqual(back.records["song"].file, DETAILS)
        for record in list(register.records.values()) + [back.records["song"]]:
            self.assertEqual((record.seller, verified(record)), (ME.id, True))

    def test_offersCarryTheHitsRecords(self):
        link = openLink(self.node, inbound=False, purpose=LEAF)
        feed(link, wire.ThisIsMe(101, 5000, ""))
        offers = []
        self.scheme.find("song", 1.0).addCallback(offers.extend)
        [query] = [m for m in sent(link) if type(m) is LeafQuery]
        described, plain = song(), records.signed(LEAF12, "song", port=9012)
        feed(link, LeafHits(query.id, "song", ((LEAF11.id, "h", 9011, described),
                                               (LEAF12.id, "h", 9012, plain))))
        self.assertEqual([(o.seller, o.size, o.sha256, o.transfer, o.record)
                          for o in offers],
                         [(LEAF11.id, 5, SHA, 9100, described),
                          (LEAF12.id, None, None, 0, plain)])

    def test_hitsWithRecordsNotTheSellersAreNoOffers(self):
        """A super-peer can name sellers, not describe them: a seller named
        with a record changed after it was signed is left out."""
        link = openLink(self.node, inbound=False, purpose=LEAF)
        feed(link, wire.ThisIsMe(101, 5000, ""))
        offers = []
        self.scheme.find("song", 1.0).addCallback(offers.extend)
        [query] = [m for m in sent(link) if type(m) is LeafQuery]
        changed = records.forged(song(), sha256="cd" * 32)
        honest = records.signed(LEAF12, "song", port=9012)
        feed(link, LeafHits(query.id, "song", ((LEAF11.id, "h", 9011, changed),
                                               (LEAF12.id, "h", 9012, honest))))
        self.assertEqual([o.seller for o in offers], [LEAF12.id])


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
        self.node = makeNode(ME.id, identity=ME)
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
            files.update({item: dict(zip(("size", "sha256", "transfer"), record.file))
                          for item, record in message.records.items()})
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
        leaf = linkPeer(superpeer, ME.id, purpose=LEAF)
        feed(leaf, *messages)
        self.assertEqual(sent(leaf), [LeafAck(m.seq, n) for m, n in zip(
            messages, itertools.accumulate(len(m.items) for m in messages))])
        index = superpeer.discovery.side.index
        self.assertEqual(index.items(ME.id), self.shop.inventory())
        self.assertEqual(len(index.records(ME.id)), 600)

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
