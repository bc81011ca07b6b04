"""
Tests for twisted_bazaar.schemes.chord.holding (with the lookups and
adverts that use it): records kept on their holder and its successors,
found by any node, expired, withdrawn, surviving a crash of their holder
and handed over by a holder that quits (real nodes in a L{Market}); and
one node taking a handover (fake transports).
"""

import random

from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.net.link import LinkSettings

from twisted_bazaar.schemes.chord.holding import fitted
from twisted_bazaar.schemes.chord.node import ChordDiscovery
from twisted_bazaar.schemes.chord.messages import (
    ChordRecords,
    ChordRequest,
    ChordStore,
    ChordStored,
    ChordTransfer,
    ChordTransferred,
    Handed,
)
from twisted_bazaar.schemes.chord.ring import between, keyOf, place
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar.testing import Market, MemoryNetwork
from twisted_bazaar.testing.clocks import SplitClock

from tests.helpers import (
    clockStartMs, feed, linkPeer, makeNode, parseNetstrings, sent, units)
from tests.records import identity, signed
from tests.schemes.chord.market import (
    FAST,
    SETTLE,
    addChord,
    answerOf,
    holderOf,
    ringViolations,
    schemes,
)
from tests.schemes.chord.test_routing import ME, PRED, SUCC, LinkedToOnePeer, placed

APPLE = keyOf("apple")


class RecordTests(SynchronousTestCase):
    """Stores, requests, replicas, expiry, handover."""

    def makeMarket(self):
        return Market(seed=8)

    def setUp(self):
        self.market = self.makeMarket()
        self.nodes = [addChord(self.market) for _ in range(8)]
        self.seller = addChord(self.market, seller={"stock": {"apple": 5}})
        self.market.run(SETTLE)

    def requestFrom(self, node, item="apple"):
        deferred = node.discovery.request(item)
        self.market.run(0.5)
        return answerOf(deferred)

    def holding(self):
        now = wallSeconds(self.market.clock)
        return {d.node.id for d in schemes(self.market) if d.records.sellers("apple", now)}

    def test_theHolderAndItsSuccessorsKeepTheRecord(self):
        self.assertEqual(ringViolations(self.market, [("apple", self.seller.id)]), [])
        ordered = sorted(node.id for node in self.market.nodes)
        place = ordered.index(holderOf(self.market, APPLE).id)
        replicas = {ordered[(place + step) % len(ordered)] for step in range(5)}
        self.assertLessEqual(replicas, self.holding())
        # Copies left on nodes that were replicas while the ring formed are
        # not refreshed: they expire, and the r + 1 copies remain.
        self.market.run(FAST["chord-expiry"])
        self.assertEqual(self.holding(), replicas)

    def test_anyNodeFindsTheSellerAndABuyerBuys(self):
        for node in self.nodes:
            answer = self.requestFrom(node)
            self.assertEqual([(r.seller, r.port) for r in answer.sellers],
                             [(self.seller.id, self.seller.port)])
            # The request reached the holder and the next two (which keep
            # replicas): the first to answer with the record ends it.
            ordered = sorted(n.id for n in self.market.nodes)
            place = ordered.index(holderOf(self.market, APPLE).id)
            self.assertIn(answer.holder,
                          [ordered[(place + step) % len(ordered)] for step in range(3)])
        buyer = addChord(self.market, buyer={"wants": ["apple"], "quantity": 2})
        self.market.run(10)
        bag = units(self.market.role(buyer, "buyer").bag)
        self.assertEqual([(p.item, p.seller) for p in bag], [("apple", self.seller.id)] * 2)
        self.assertEqual(len(units(self.market.role(self.seller, "seller").ledger.values())),
                         2)

    def test_anUnsoldItemHasNoSellers(self):
        self.assertEqual(self.requestFrom(self.nodes[0], "plum").sellers, ())

    def test_recordsOfADeadSellerExpire(self):
        self.market.crash(self.seller)
        self.market.run(FAST["chord-expiry"] + FAST["chord-refresh"] + 1)
        now = wallSeconds(self.market.clock)
        self.assertEqual([d.node.id for d in schemes(self.market)
                          if d.records.sellers("apple", now)], [])
        self.assertEqual(self.requestFrom(self.nodes[0]).sellers, ())

    def test_aSoldOutItemIsWithdrawn(self):
        buyer = addChord(self.market, buyer={"wants": ["apple"], "quantity": 5})
        self.market.run(20)
        self.assertEqual(len(units(self.market.role(buyer, "buyer").bag)), 5)
        self.assertEqual(self.requestFrom(self.nodes[0]).sellers, ())

    def test_aRecordOutlivesACrashOfItsHolder(self):
        """Abrupt departure: the replicas answer at once, before any repair,
        and after repair the record is back on r + 1 nodes."""
        holder = holderOf(self.market, APPLE)
        if holder is self.seller:
            self.skipTest("seed put the seller on the key")
        self.market.crash(holder)
        asker = next(node for node in self.nodes if node is not holder)
        self.assertEqual([r.seller for r in self.requestFrom(asker).sellers],
                         [self.seller.id])
        self.market.run(SETTLE)
        self.assertEqual(ringViolations(self.market, [("apple", self.seller.id)]), [])

    def test_aQuittingHolderHandsItsRecordsOver(self):
        """Graceful quit: the successor takes the records at once and both
        neighbours close the ring without waiting for missed pings."""
        holder = holderOf(self.market, APPLE)
        if holder is self.seller:
            self.skipTest("seed put the seller on the key")
        ordered = sorted(self.market.nodes, key=lambda node: node.id)
        place = ordered.index(holder)
        pred, succ = ordered[place - 1], ordered[(place + 1) % len(ordered)]
        # Records and pings slow enough that only the handover can explain
        # what follows.
        now = wallSeconds(self.market.clock)
        [held] = holder.discovery.records.sellers("apple", now)
        for scheme in schemes(self.market):
            scheme.records.purge(float("inf"))
        holder.discovery.records.put(held.record, 1000.0, now)
        self.market.stop(holder)
        self.assertEqual([r.seller for r in succ.discovery.records.sellers(
            "apple", wallSeconds(self.market.clock))], [self.seller.id])
        self.assertNotIn(holder.id, [p.id for p in pred.discovery.ring.successors])
        self.assertEqual(succ.discovery.ring.predecessor.id, pred.id)
        self.assertEqual([r.seller for r in self.requestFrom(self.nodes[0]).sellers
                          if self.nodes[0] is not holder], [self.seller.id])


class EpochRecordTests(RecordTests):
    """The same with the clock (the timers' and the wall's) started at a
    date: the ring forms in another order, in which a holder was not
    linked to every successor (its copies to them were skipped)."""

    def makeMarket(self):
        clock = task.Clock()
        clock.advance(1_800_000_000)
        return Market(MemoryNetwork(clock=clock, rng=random.Random(8)), seed=8)


class WallClockRecordTests(RecordTests):
    """The same with a wall clock of its own, as a daemon's (a date, while
    its timers' clock counts from 0): records are signed, held and
    expired by the wall clock, so one checked against the timers' clock
    anywhere would be refused as issued in the future."""

    def makeMarket(self):
        clock = SplitClock(1_800_000_000)
        return Market(MemoryNetwork(clock=clock, rng=random.Random(8)), seed=8)


class TransferTests(LinkedToOnePeer, SynchronousTestCase):
    def test_aHandoverIsHeldAndConfirmed(self):
        fig, gone = signed(1, "fig"), signed(2, "gone", lifetime=0)
        feed(self.link, ChordTransfer((Handed(2000, fig), Handed(0, gone)), 11))
        self.assertEqual(sent(self.link), [ChordTransferred(11, 2)])
        now = self.node.clock.seconds()
        [held] = self.scheme.records.sellers("fig", now + 1.9)
        self.assertEqual((held.record, held.expires), (fig, now + 2.0))
        self.assertEqual(self.scheme.records.sellers("gone", now), [])
        self.assertTrue(self.scheme.records.held("gone", identity(2).id).record.withdrawn)

    def test_transfersFitTheFrameLimit(self):
        """Signed records are large: a transfer that would be over the
        link's frame limit goes in smaller ones, and none is lost."""
        node = makeNode(ME, link=LinkSettings(frame_limit=2048, ping_interval=0))
        scheme = placed(node)
        # Knowing no predecessor, it holds every key.
        scheme.ring.predecessor = None
        succ = linkPeer(node, SUCC, purpose="chord")
        many = [signed(n, "apple", host="h" * 200) for n in range(10)]
        for record in many:
            scheme.records.put(record, 60.0, node.clock.seconds())
        scheme.replicate([scheme.ring.successors[0]])
        payloads = parseNetstrings(succ.transport.value())
        self.assertGreater(len(payloads), 1)
        self.assertTrue(all(len(payload) <= 2048 for payload in payloads))
        handed = [h.record for p in payloads for h in wire.decode(p).records]
        self.assertEqual(sorted(handed, key=lambda r: r.seller),
                         sorted(many, key=lambda r: r.seller))


class AnswerSizeTests(SynchronousTestCase):
    """A holder's answer always fits a frame, and names the honest seller
    however large the records a crowd of keys stored."""

    def setUp(self):
        self.node = makeNode(ME)
        self.scheme = placed(self.node)
        self.scheme.ring.predecessor = None
        self.scheme.ring.successors = []
        self.pred = linkPeer(self.node, PRED, purpose="chord")

    def test_anAnswerTooLargeForAFrameIsCutFairly(self):
        """64 records of one item with 255-character hosts (control
        characters, escaped six bytes each) would make an answer of over
        100 kB: on a link of 64 kB the holder sent nothing and the buyer
        found nobody."""
        records = self.scheme.records
        now = self.node.clock.seconds()
        for n in range(64):
            records.put(signed(100 + n, "apple", host="\x01" * 255), 600.0, now,
                        origin="10.66")
        honest = signed(1, "apple", host="shop.example", port=99)
        records.put(honest, 600.0, now + 1.0, origin="10.1")
        feed(self.pred, ChordRequest(8, "apple", (42, PRED)))
        payloads = parseNetstrings(self.pred.transport.value())
        [payload] = payloads
        self.assertLessEqual(len(payload), self.pred.settings.frame_limit)
        answer = wire.decode(payload)
        self.assertEqual(type(answer), ChordRecords)
        self.assertIn(honest, answer.sellers)
        self.assertGreater(len(answer.sellers), 10)
        self.assertLess(len(answer.sellers), 65)

    def test_aLanMarkCountsInTheAnswersSize(self):
        """Records whose lan marks (255 control characters, six bytes
        each, and their lanSig) make most of an answer are cut to a frame
        as well: the bound on its size left the mark out, and an answer
        of 40 such records (some 80 kB) went whole, over a 64 kB frame."""
        sellers = tuple(signed(100 + n, lan="\x01" * 255) for n in range(40))
        answer = fitted(ChordRecords(8, "apple", (42, PRED), 1, ME, sellers), 65536)
        self.assertLessEqual(len(wire.encode(answer)), 65536)
        self.assertLess(len(answer.sellers), len(sellers))


class _Hiding(ChordDiscovery):
    """A chord node that hides every record (L{censor})."""

    __slots__ = ()

    def serve(self, request, path, hops):
        node_id = self.node.id
        if type(request) is ChordRequest:
            return ChordRecords(request.id, request.item, path, hops, node_id, ())
        if type(request) is ChordStore:
            return ChordStored(request.id, request.item, path, hops, node_id)
        return ChordDiscovery.serve(self, request, path, hops)


def censor(node):
    """Make a chord node hide every record: it answers each request for
    sellers with none and each store with chordStored, keeping nothing
    (its scheme made one of L{_Hiding}: its fields are slots, and take
    no method of the instance's own)."""
    node.discovery.__class__ = _Hiding


class CensorshipTests(SynchronousTestCase):
    """A node that took a place just before an item's holder (an id found
    by trying keys) and hides the item does not stop buyers finding its
    seller: stores and requests reach the next holders too."""

    def setUp(self):
        self.market = Market(seed=8)
        self.nodes = [addChord(self.market) for _ in range(8)]
        self.seller = addChord(self.market, seller={"stock": {"apple": 5}})
        self.market.run(SETTLE)

    def placeCensor(self):
        """A node whose id lies between apple's key and its holder."""
        holder = holderOf(self.market, APPLE)
        for seed in range(10**6):
            chosen = identity(1000 + seed)
            if between(place(chosen.id), APPLE - 1, place(holder.id) - 1):
                break
        node = addChord(self.market, identity=chosen)
        censor(node)
        return node, holder

    def test_aCensorBeforeTheHolderHidesNothing(self):
        node, holder = self.placeCensor()
        # Long enough for every copy stored before it came to expire.
        self.market.run(FAST["chord-expiry"] + 2 * FAST["chord-refresh"])
        self.assertIs(holderOf(self.market, APPLE), node)
        for asker in self.nodes:
            deferred = asker.discovery.request("apple")
            self.market.run(1)
            answer = answerOf(deferred)
            self.assertEqual([r.seller for r in answer.sellers], [self.seller.id],
                             f"from {asker.id:x}")
        buyer = addChord(self.market, buyer={"wants": ["apple"], "quantity": 2})
        self.market.run(10)
        self.assertEqual([p.seller for p in units(self.market.role(buyer, "buyer").bag)],
                         [self.seller.id] * 2)

    def test_anUnsoldItemIsStillAnsweredQuickly(self):
        """Every holder answers: a lookup of an item nobody sells ends
        when they have, not at the timeout."""
        deferred = self.nodes[0].discovery.request("plum")
        self.market.run(0.5)
        self.assertEqual(answerOf(deferred).sellers, ())


class RefusedUncheckedTests(LinkedToOnePeer, SynchronousTestCase):
    """
    A linked peer sends chordTransfer after chordTransfer of records it
    signed beforehand, again and again: each was a signature check, then
    refused by the store (a newer record of its seller held, a quota).
    A record the store would refuse is refused before its check, so only
    a record it takes costs one (docs/reliability.md, "The fourteenth
    round").
    """

    def test_recordsTheStoreRefusesAreNotChecked(self):
        from twisted_bazaar.core import records as recordsModule
        from tests.helpers import countedCalls
        checks = countedCalls(self, recordsModule, "verify")
        recordsModule.verified.cache_clear()
        self.addCleanup(recordsModule.verified.cache_clear)
        start = clockStartMs()
        pool = [ChordTransfer(tuple(Handed(600_000, signed(1, f"item{n}",
                                                           issued=start + issued))
                                    for n in range(8)))
                for issued in range(10, 0, -1)]
        for _ in range(10):
            recordsModule.verified.cache_clear()
            for transfer in pool:
                feed(self.link, transfer)
        # The newest of each item is taken (checked once); every older one
        # is refused unchecked, however often it comes.
        self.assertEqual(len(checks), 8)
        self.assertEqual(self.scheme.records.held("item0", identity(1).id).record.issued,
                         start + 10)


class UntimelyTests(LinkedToOnePeer, SynchronousTestCase):
    """
    A holder that refused a record as issued ahead of its clock (or
    expired by it) answered nothing: the seller, its clock apart, stored
    again and again unheard, and never learnt why.  Now the answer is a
    chordStored with ``clock``, the holder's time (issue 96).
    """

    def store(self, record, by=1):
        request = ChordStore(9, record.item, 600_000, (identity(by).id, 700), record)
        return self.scheme.holding.serve(request, (ME, 700, identity(by).id), 2)

    def now(self):
        return round(wallSeconds(self.node.clock) * 1000)

    def test_issuedAheadIsAnsweredWithTheClock(self):
        answer = self.store(signed(1, "apple", issued=self.now() + 3_600_000))
        self.assertEqual((type(answer), answer.item, answer.holder, answer.full,
                          answer.clock), (ChordStored, "apple", ME, None, self.now()))
        self.assertTrue(answer.refused)
        self.assertIsNone(self.scheme.records.held("apple", identity(1).id))

    def test_expiredIsAnsweredWithTheClock(self):
        answer = self.store(signed(1, "apple", issued=self.now() - 700_000))
        self.assertEqual(answer.clock, self.now())

    def test_aTimelyRecordIsTakenWithoutIt(self):
        answer = self.store(signed(1, "apple", issued=self.now() + 59_000))
        self.assertEqual((answer.full, answer.clock, answer.refused), (None, None, False))

    def test_otherRefusalsStayUnanswered(self):
        """A record in another's name, say, is not answered: nothing of
        it says the seller's clock is apart."""
        self.assertIsNone(self.store(signed(2, "apple"), by=1))


class KeyFullTests(LinkedToOnePeer, SynchronousTestCase):
    """
    A holder refused the records of a seller past the per-key bound
    without a word: the seller of thousands of files took them for
    stored, and no buyer found them.  Now such a store is answered with
    chordStored ``full``; other refusals stay unanswered.
    """

    def store(self, item, who=1, by=1):
        """The answer to ``by``'s store of ``who``'s record of item."""
        request = ChordStore(9, item, 600_000, (identity(by).id, 700), signed(who, item))
        return self.scheme.holding.serve(request, (ME, 700, identity(by).id), 2)

    def test_aStorePastTheBoundIsAnsweredFull(self):
        self.scheme.records.per_key = 2
        taken = [self.store(item) for item in ("a", "b")]
        self.assertEqual([answer.full for answer in taken], [None, None])
        refused = self.store("c")
        self.assertEqual((type(refused), refused.item, refused.full, refused.holder),
                         (ChordStored, "c", True, ME))
        self.assertIsNone(self.scheme.records.held("c", identity(1).id))

    def test_aRecordInAnothersNameIsNotAnswered(self):
        self.scheme.records.per_key = 1
        self.store("a")
        self.assertIsNone(self.store("b", by=2))

    def test_refusalsPastTheBoundAreSaidOnceForEachSeller(self):
        """A seller of 10,000 files had an info line at its holder for each
        record refused, at every store: now one a seller a run."""
        from twisted.logger import Logger, formatEvent
        lines = []
        self.patch(ChordDiscovery, "log",
                   Logger(observer=lambda event: lines.append(formatEvent(event))))
        self.scheme.records.per_key = 1
        for item in ("a", "b", "c", "b"):
            self.store(item)
        self.store("a", who=2, by=2)
        self.store("b", who=2, by=2)
        refused = [line for line in lines if line.startswith("refused the record")]
        self.assertEqual([line.split(" in a chordStore")[0] for line in refused],
                         [f"refused the record of 'b' by node {shortId(identity(1).id)}",
                          f"refused the record of 'b' by node {shortId(identity(2).id)}"])
        self.assertTrue(all(line.endswith("said once a run for each seller")
                            for line in refused), refused)
