"""
Tests for twisted_bazaar.schemes.chord.joining: real chord nodes in a
L{Market} (in-memory links, one fake clock) find their place, whether
started together or one by one, and a newcomer is stabilized in.
"""

import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.testing import Market

from tests.helpers import Recorder
from tests.schemes.chord.market import (
    SETTLE,
    addChord,
    answerOf,
    ringViolations,
    settledRing,
)


class JoinTests(SynchronousTestCase):
    def test_nodesStartedTogetherFormOneRing(self):
        market = settledRing(seed=1, size=10)
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
        # The newcomer's predecessor learns of it at its next
        # stabilization: within its longest period (1.25 x 2 s).
        market.run(3)
        self.assertEqual(middle.discovery.ring.successor.id, keys[2].id)
        self.assertEqual(high.discovery.ring.predecessor.id, keys[1].id)
        self.assertEqual(low.discovery.ring.successor.id, keys[1].id)
        self.assertEqual(middle.discovery.ring.predecessor.id, keys[0].id)
        # Each node further back learns of it from its successor's list,
        # one stabilization (at most 2.5 s) after the one before it.
        market.run(8)
        self.assertEqual(ringViolations(market), [])

    def test_beforeJoiningANodeCannotFind(self):
        market = Market(seed=4)
        node = addChord(market)
        self.assertFalse(node.discovery.canFind())
        self.assertEqual(answerOf(node.discovery.find("apple", 1.0)), [])
        market.run(1)
        self.assertTrue(node.discovery.canFind())

    def test_joiningTellsTheNode(self):
        market = Market(seed=4)
        node = addChord(market)
        recorder = Recorder()
        node.addObserver(recorder)
        market.run(1)
        self.assertEqual(recorder.events.count(("discoveryReady",)), 1)

    def test_aBuyerFindsOnceItJoins(self):
        """A buyer on a ring of one seller links to it before it has a
        place, and no link comes after: its place alone starts the find."""
        market = Market(seed=5)
        addChord(market, seller={"stock": {"apple": 1}})
        market.run(1)
        buyer = addChord(market, buyer={"wants": ["apple"]})
        market.run(10)
        self.assertEqual(len(market.role(buyer, "buyer").bag), 1)
