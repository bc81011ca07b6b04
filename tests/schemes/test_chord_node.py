"""
Tests for twisted_bazaar.schemes.chord.node: real chord nodes in a
L{Market} (in-memory links, one fake clock): join, stabilize/notify,
fingers, successor failure and repair, store and request with
replication, expiry, graceful quit with handover, abrupt departure, and
what every node leaves behind.
"""

import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.identity import Identity
from twisted_bazaar.schemes.chord.records import Record
from twisted_bazaar.schemes.chord.ring import BITS, fingerStart, keyOf
from twisted_bazaar.testing import Market

from tests.schemes.chord_market import (
    FAST,
    SETTLE,
    addChord,
    holderOf,
    ringViolations,
    schemes,
)

APPLE = keyOf("apple")


def answerOf(deferred):
    results = []
    deferred.addCallback(results.append)
    return results[0] if results else "pending"


class JoinTests(SynchronousTestCase):
    def test_nodesStartedTogetherFormOneRing(self):
        market = Market(seed=1)
        for _ in range(10):
            addChord(market)
        market.run(SETTLE)
        self.assertEqual(ringViolations(market), [])

    def test_nodesJoiningOneByOne(self):
        market = Market(seed=2)
        first = addChord(market)
        market.run(1)
        self.assertTrue(first.discovery.joined)
        self.assertTrue(first.discovery.ring.alone)
        for _ in range(6):
            addChord(market)
            market.run(1)
        market.run(SETTLE)
        self.assertEqual(ringViolations(market), [])

    def test_aNodeJoiningBetweenTwoIsNotifiedAndStabilizedIn(self):
        market = Market(seed=3)
        # Ids derive from keys: four key pairs, in the order of their ids.
        rng = random.Random(3)
        keys = sorted((Identity.fromRandom(rng) for _ in range(4)), key=lambda i: i.id)
        low, high = addChord(market, keys[0]), addChord(market, keys[2])
        addChord(market, keys[3])
        market.run(SETTLE)
        middle = addChord(market, keys[1])
        market.run(2)
        self.assertEqual(middle.discovery.ring.successor.id, keys[2].id)
        self.assertEqual(high.discovery.ring.predecessor.id, keys[1].id)
        self.assertEqual(low.discovery.ring.successor.id, keys[1].id)
        self.assertEqual(middle.discovery.ring.predecessor.id, keys[0].id)
        self.assertEqual(ringViolations(market), [])

    def test_beforeJoiningANodeCannotFind(self):
        market = Market(seed=4)
        node = addChord(market)
        self.assertFalse(node.discovery.canFind())
        self.assertEqual(answerOf(node.discovery.find("apple", 1.0)), [])
        market.run(1)
        self.assertTrue(node.discovery.canFind())


class FingerTests(SynchronousTestCase):
    def assertFingersExact(self, market):
        ids = sorted(node.id for node in market.nodes)
        for node in market.nodes:
            for index in range(BITS):
                start = fingerStart(node.id, index)
                wanted = next((i for i in ids if i >= start), ids[0])
                finger = node.discovery.ring.fingers[index]
                self.assertEqual(finger.id if finger else node.id, wanted,
                                 f"finger {index} of {node.id}")

    def test_everyFingerIsTheSuccessorOfItsStart(self):
        market = Market(seed=5)
        for _ in range(12):
            addChord(market)
        market.run(SETTLE)
        self.assertFingersExact(market)

    def test_fingersToDeadNodesAreRepaired(self):
        market = Market(seed=13)
        for _ in range(12):
            addChord(market)
        market.run(SETTLE)
        for victim in sorted(market.nodes, key=lambda node: node.id)[::4]:
            market.crash(victim)
        market.run(SETTLE)
        self.assertFingersExact(market)

    def test_lookupsGoByFingersNotRoundTheRing(self):
        market = Market(seed=6)
        for _ in range(32):
            addChord(market)
        market.run(SETTLE * 2)
        node = market.nodes[0]
        hops = []
        for step in range(64):
            key = (step * 33_554_467) % 2**31
            deferred = node.discovery.locate(key)
            market.run(0.01)
            found = answerOf(deferred)
            self.assertEqual(found.node.id, holderOf(market, key).id)
            hops.append(found.hops)
        # log2(32) = 5 hops at most with exact fingers; a walk would average 16.
        self.assertLessEqual(max(hops), 5)
        self.assertLess(sum(hops) / len(hops), 3.5)


class FailureTests(SynchronousTestCase):
    def setUp(self):
        self.market = Market(seed=7)
        self.nodes = [addChord(self.market) for _ in range(8)]
        self.market.run(SETTLE)

    def test_aDeadSuccessorIsDetectedAndTheRingRepaired(self):
        market = self.market
        ordered = sorted(market.nodes, key=lambda node: node.id)
        victim, pred = ordered[3], ordered[2]
        market.crash(victim)
        # Not yet: the successor list still names it until k pings are missed.
        market.run(FAST["chord-ping"])
        self.assertIn(victim.id, [p.id for p in pred.discovery.ring.successors])
        market.run(FAST["chord-ping"] * (FAST["chord-missed"] + 1) * 1.25 + 0.1)
        self.assertEqual(pred.discovery.ring.successor.id, ordered[4].id)
        market.run(SETTLE)
        self.assertEqual(ringViolations(market), [])

    def test_losingEverySuccessorAtOnceIsRepaired(self):
        """With r = 2, three neighbours crashing leave a node with no live
        successor: it falls back on its nearest finger, and the node after
        the gap, pinging its own predecessor, is found again."""
        market = Market(seed=12)
        for _ in range(10):
            addChord(market, scheme={"chord-successors": 2})
        market.run(SETTLE)
        ordered = sorted(market.nodes, key=lambda node: node.id)
        for victim in ordered[3:6]:
            market.crash(victim)
        market.run(SETTLE)
        self.assertEqual(ringViolations(market), [])
        self.assertEqual(ordered[2].discovery.ring.successor.id, ordered[6].id)

    def test_neighboursCrashingTogetherAreRepaired(self):
        market = self.market
        ordered = sorted(market.nodes, key=lambda node: node.id)
        for victim in ordered[2:5]:
            market.crash(victim)
        market.run(SETTLE)
        self.assertEqual(ringViolations(market), [])


class RecordTests(SynchronousTestCase):
    """Stores, requests, replicas, expiry, handover."""

    def setUp(self):
        self.market = Market(seed=8)
        self.nodes = [addChord(self.market) for _ in range(8)]
        self.seller = addChord(self.market, seller={"stock": {"apple": 5}})
        self.market.run(SETTLE)

    def requestFrom(self, node, item="apple"):
        deferred = node.discovery.request(item)
        self.market.run(0.5)
        return answerOf(deferred)

    def holding(self):
        now = self.market.clock.seconds()
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
            self.assertEqual([(s.id, s.port) for s in answer.sellers],
                             [(self.seller.id, self.seller.port)])
            self.assertEqual(answer.holder, holderOf(self.market, APPLE).id)
        buyer = addChord(self.market, buyer={"wants": ["apple"], "quantity": 2})
        self.market.run(10)
        bag = self.market.role(buyer, "buyer").bag
        self.assertEqual([(p.item, p.seller) for p in bag], [("apple", self.seller.id)] * 2)
        self.assertEqual(len(self.market.role(self.seller, "seller").ledger), 2)

    def test_anUnsoldItemHasNoSellers(self):
        self.assertEqual(self.requestFrom(self.nodes[0], "plum").sellers, ())

    def test_recordsOfADeadSellerExpire(self):
        self.market.crash(self.seller)
        self.market.run(FAST["chord-expiry"] + FAST["chord-refresh"] + 1)
        now = self.market.clock.seconds()
        self.assertEqual([d.node.id for d in schemes(self.market)
                          if d.records.sellers("apple", now)], [])
        self.assertEqual(self.requestFrom(self.nodes[0]).sellers, ())

    def test_aSoldOutItemIsWithdrawn(self):
        buyer = addChord(self.market, buyer={"wants": ["apple"], "quantity": 5})
        self.market.run(20)
        self.assertEqual(len(self.market.role(buyer, "buyer").bag), 5)
        self.assertEqual(self.requestFrom(self.nodes[0]).sellers, ())

    def test_aRecordOutlivesACrashOfItsHolder(self):
        """Abrupt departure: the replicas answer at once, before any repair,
        and after repair the record is back on r + 1 nodes."""
        holder = holderOf(self.market, APPLE)
        if holder is self.seller:
            self.skipTest("seed put the seller on the key")
        self.market.crash(holder)
        asker = next(node for node in self.nodes if node is not holder)
        self.assertEqual([s.id for s in self.requestFrom(asker).sellers], [self.seller.id])
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
        for scheme in schemes(self.market):
            scheme.records.purge(float("inf"))
        holder.discovery.records.put(Record("apple", self.seller.id, self.seller.host,
                                            self.seller.port,
                                            self.market.clock.seconds() + 1000))
        self.market.stop(holder)
        self.assertEqual([r.seller for r in succ.discovery.records.sellers(
            "apple", self.market.clock.seconds())], [self.seller.id])
        self.assertNotIn(holder.id, [p.id for p in pred.discovery.ring.successors])
        self.assertEqual(succ.discovery.ring.predecessor.id, pred.id)
        self.assertEqual([s.id for s in self.requestFrom(self.nodes[0]).sellers
                          if self.nodes[0] is not holder], [self.seller.id])


class StopTests(SynchronousTestCase):
    def test_everyNodeLeavesNothingBehind(self):
        market = Market(seed=9)
        nodes = [addChord(market) for _ in range(5)]
        nodes.append(addChord(market, seller={"stock": {"fig": 1}}))
        nodes.append(addChord(market, buyer={"wants": ["fig"]}))
        market.run(SETTLE)
        self.assertEqual(len(market.role(nodes[-1], "buyer").bag), 1)
        for node in nodes:
            market.stop(node)
        for node in nodes:
            self.assertEqual(market.leftovers(node), {"delayed_calls": [], "connections": []})
