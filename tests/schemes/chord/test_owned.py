"""
Records are owned (issue 21): a chord node that is on the ring, with a
key of its own and links to the others, tries to write records in
another seller's name, to withdraw them, to rewrite a shared file's
description, and to crowd a seller out, with chordTransfer and chordStore
(real nodes in a L{Market}); and a buyer handed records that are not
their sellers' (fake transports).
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.wire.ids import KEYED
from twisted_bazaar.schemes.chord.messages import (
    MAX_LIFETIME_MS,
    MAX_SELLERS,
    ChordRecords,
    ChordStore,
    ChordTransfer,
    Handed,
)
from twisted_bazaar.schemes.chord.ring import keyOf
from twisted_bazaar.schemes.chord.settings import CHORD
from twisted_bazaar.schemes.chord.state import Peer
from twisted_bazaar.testing import Market
from twisted_bazaar.testing.linking import linkAt

from tests import records
from tests.helpers import feed, linkPeer, makeNode, sent, units
from tests.schemes.chord.market import FAST, SETTLE, addChord, answerOf, holderOf
from tests.schemes.chord.test_routing import FAR, PRED, SUCC, placed
from tests.schemes.test_superpeer_files import SHA


class RingCase(SynchronousTestCase):
    """Eight nodes, seller S of apple, and M, a ring member with a link
    to the node that holds apple's key."""

    def setUp(self):
        self.market = Market(seed=8)
        for _ in range(8):
            addChord(self.market)
        self.seller = addChord(self.market, seller={"stock": {"apple": 5}})
        self.mallory = addChord(self.market)
        self.market.run(SETTLE)
        self.holder = holderOf(self.market, keyOf("apple"))
        if self.holder in (self.seller, self.mallory):
            self.skipTest("seed put S or M on apple's key")
        if self.holder.id not in self.mallory.links:
            linkAt(self.mallory, self.holder.host, self.holder.port, self.holder.id,
                                   CHORD)
            self.market.run(0.5)
        self.link = self.mallory.links[self.holder.id]
        self.me = self.mallory.identity
        self.now = round(self.market.clock.seconds() * 1000)

    def sellersFrom(self, node, item="apple"):
        deferred = node.discovery.request(item)
        self.market.run(0.5)
        return [record.seller for record in answerOf(deferred).sellers]

    def heldSellers(self, item="apple"):
        now = self.market.clock.seconds()
        return [held.seller for held in self.holder.discovery.records.sellers(item, now)]

    def sRecord(self):
        [held] = [held for held in self.holder.discovery.records.sellers(
            "apple", self.market.clock.seconds()) if held.seller == self.seller.id]
        return held.record


class NotInAnothersNameTests(RingCase):
    def test_transferOfMadeUpRecordsAndAWithdrawalInSsName(self):
        """The attack of issue 21: 64 made-up records with day-long
        lifetimes and a lifetime-0 record in S's name, handed over by a
        linked peer.  Signed by M for other sellers, or carrying S's key
        with M's signature, none is taken: every lookup names S alone."""
        made_up = [records.forged(records.signed(self.me, "apple", issued=self.now),
                                  seller=1000 + n) for n in range(63)]
        withdrawal = records.forged(
            records.signed(self.me, "apple", issued=self.now + 1, lifetime=0),
            seller=self.seller.id, key=self.seller.identity.key)
        self.link.send(ChordTransfer(tuple(Handed(MAX_LIFETIME_MS, record)
                                           for record in made_up)
                                     + (Handed(0, withdrawal),)))
        self.market.run(1)
        self.assertEqual(self.heldSellers(), [self.seller.id])
        for node in self.market.nodes:
            self.assertEqual(self.sellersFrom(node), [self.seller.id])

    def test_storeInAnothersName(self):
        """chordStore takes returnPath[0] for the seller, and only that
        seller's own record: M's record sent as S's, or S's returnPath
        with M's record, is refused, and not answered."""
        mine = records.signed(self.me, "apple", issued=self.now)
        for path, record in (((self.seller.id, self.mallory.id), mine),
                             ((self.mallory.id,), records.forged(
                                 mine, seller=self.seller.id))):
            self.link.send(ChordStore(7, "apple", MAX_LIFETIME_MS, path, record))
        self.market.run(1)
        self.assertEqual(self.heldSellers(), [self.seller.id])
        self.assertEqual(self.sRecord().host, self.seller.host)

    def test_aWithdrawalInSsNameIsRefused(self):
        """Only S can withdraw its record: M's withdrawal of it, whatever
        path it takes, is refused; an old record of S's, replayed, cannot
        replace its newer one either."""
        old = self.sRecord()
        fake = records.forged(records.signed(self.me, "apple", issued=self.now + 1,
                                             lifetime=0), seller=self.seller.id)
        self.link.send(ChordStore(8, "apple", 0, (self.seller.id, self.mallory.id), fake))
        self.link.send(ChordTransfer((Handed(0, fake),)))
        self.market.run(1)
        self.assertEqual(self.heldSellers(), [self.seller.id])
        # S signs a record anew (its stock's file changed, say): the old
        # one, replayed by M, is refused.
        self.seller.discovery.publisher.book._current.clear()
        self.market.run(FAST["chord-refresh"] + 1)
        self.assertGreater(self.sRecord().issued, old.issued)
        self.link.send(ChordTransfer((Handed(MAX_LIFETIME_MS, old),)))
        self.market.run(1)
        self.assertGreater(self.sRecord().issued, old.issued)

    def test_theSellersOwnWithdrawalWithdraws(self):
        """S sells out: its signed withdrawal drops its record on the
        holder and the replicas, and no copy brings it back."""
        buyer = addChord(self.market, buyer={"wants": ["apple"], "quantity": 5})
        self.market.run(20)
        self.assertEqual(len(units(self.market.role(buyer, "buyer").bag)), 5)
        self.assertEqual(self.heldSellers(), [])
        self.assertEqual(self.sellersFrom(self.mallory), [])


class CrowdingTests(RingCase):
    def test_manyKeysOfOneOriginCrowdNobodyOut(self):
        """Keys are free: M signs apple records with 100 keys of its own,
        valid ones, and hands them over.  The holder names sellers round
        its origins, longest held first: S is still named, first."""
        keys = [records.identity(1000 + n) for n in range(100)]
        for start in range(0, 100, 50):
            self.link.send(ChordTransfer(tuple(
                Handed(MAX_LIFETIME_MS, records.signed(key, "apple", issued=self.now))
                for key in keys[start:start + 50])))
        self.market.run(1)
        named = self.sellersFrom(self.mallory)
        self.assertEqual(len(named), MAX_SELLERS)
        self.assertEqual(named[0], self.seller.id)

    def test_quotasPerKeyAndPerOrigin(self):
        """One key holds at most per_key records at a node, one address
        group per_origin; a seller already held is refreshed whatever the
        quotas say."""
        store = self.holder.discovery.records
        store.per_key, store.per_origin = 2, 4
        mine = [records.signed(self.me, item, issued=self.now)
                for item in ("a", "b", "c")]
        self.link.send(ChordTransfer(tuple(Handed(60_000, r) for r in mine)))
        self.market.run(1)
        self.assertEqual(sum(1 for held in store.records(self.market.clock.seconds())
                             if held.seller == self.mallory.id), 2)
        others = [records.signed(records.identity(2000 + n), "apple", issued=self.now)
                  for n in range(3)]
        self.link.send(ChordTransfer(tuple(Handed(60_000, r) for r in others)))
        self.market.run(1)
        self.assertEqual(sorted(self.heldSellers()),
                         sorted([self.seller.id] + [r.seller for r in others[:2]]))
        self.market.run(FAST["chord-refresh"] + 1)
        self.assertIn(self.seller.id, self.heldSellers())


class RewriteTests(SynchronousTestCase):
    """The issue's worst case: M rewrites S's song.ogg record to its own
    hash, size and transfer port.  The holder refuses it, and a buyer
    downloads only what S signed."""

    def test_rewrittenDescriptionIsRefusedAndTheBuyerFetchesSsFile(self):
        from tests.roles.files.test_fetch import scratchDir, sha, writeFile

        market = Market(seed=5)
        for _ in range(4):
            addChord(market)
        data = b"the real song" * 1000
        folder = scratchDir(self)
        writeFile(folder, "song.ogg", data)
        seller = addChord(market, seller={"stock": {}, "share": folder})
        mallory = addChord(market)
        market.run(SETTLE)
        holder = holderOf(market, keyOf("song.ogg"))
        if holder in (seller, mallory):
            self.skipTest("seed put S or M on the key")
        linkAt(mallory, holder.host, holder.port, holder.id, CHORD)
        market.run(0.5)
        now = market.clock.seconds()
        [genuine] = [held.record for held in holder.discovery.records.sellers(
            "song.ogg", now)]
        rewritten = records.forged(genuine, sha256=sha(b"fake"), size=4, transfer=1,
                                   issued=genuine.issued + 1)
        link = mallory.links[holder.id]
        link.send(ChordTransfer((Handed(MAX_LIFETIME_MS, rewritten),)))
        link.send(ChordStore(9, "song.ogg", MAX_LIFETIME_MS,
                             (seller.id, mallory.id), rewritten))
        market.run(1)
        [held] = holder.discovery.records.sellers("song.ogg", market.clock.seconds())
        self.assertEqual(held.record, genuine)
        downloads = scratchDir(self)
        buyer = addChord(market, buyer={"wants": ["song.ogg"], "downloads": downloads})
        market.run(15)
        self.assertEqual([p.seller for p in market.role(buyer, "buyer").bag], [seller.id])
        with open(f"{downloads}/song.ogg", "rb") as f:
            self.assertEqual(f.read(), data)


class BuyerTests(SynchronousTestCase):
    """A buyer's lookup answered by a holder that lies: only records their
    sellers signed become offers."""

    def test_onlyTheSellersOwnRecordsAreOffers(self):
        me = records.identity(5)
        scheme = placed(makeNode(me.id, identity=me))
        # It holds no key but its own: the lookup goes out.
        scheme.ring.predecessor = Peer(me.id - 1, "p", 1)
        links = [linkPeer(scheme.node, peer, purpose="chord") for peer in (PRED, SUCC, FAR)]
        found = []
        scheme.find("song", 1.0).addCallback(found.append)
        [(pred, request)] = [(link, m) for link in links for m in sent(link)]
        genuine = records.signed(1, "song", file=(5, SHA, 9100))
        lies = (records.forged(records.signed(6, "song", file=(5, SHA, 9100)),
                               sha256="cd" * 32),
                records.forged(records.signed(2, "song"), seller=records.identity(3).id),
                records.signed(4, "song", lifetime=0, issued=1))
        # From a node at the song's key (a holder could be nowhere else).
        holder = KEYED | keyOf("song")
        feed(pred, ChordRecords(request.id, "song", (pred.peer_id, me.id), 1,
                                holder, lies + (genuine,)))
        [offers] = found
        self.assertEqual([(o.seller, o.sha256) for o in offers],
                         [(genuine.seller, SHA)])
