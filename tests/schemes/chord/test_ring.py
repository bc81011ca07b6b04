"""Tests for twisted_bazaar.schemes.chord.ring: intervals on the circle,
keys and finger starts."""

import bisect
import hashlib
import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.wire.ids import ID_BITS, KEYED
from twisted_bazaar.schemes.chord.ring import (
    BITS,
    SIZE,
    between,
    distance,
    fingerStart,
    keyOf,
    place,
    puzzleBits,
    solves,
    strictlyBetween,
)
from twisted_bazaar.schemes.chord.settings import DEFAULT_LINKS, ChordSettings

from tests.records import identity


class IntervalTests(SynchronousTestCase):
    def test_theRingIsAKeyedIdsBits(self):
        """2^128 positions: a keyed id's 128 bits (docs/protocol.md §20)."""
        self.assertEqual((SIZE, BITS), (2**128, ID_BITS))

    def test_halfOpenWithoutWrap(self):
        self.assertEqual([x for x in range(0, 8) if between(x, 2, 5)], [3, 4, 5])

    def test_halfOpenWrapsPastZero(self):
        top = SIZE - 1
        self.assertTrue(between(0, top - 1, 1))
        self.assertTrue(between(top, top - 1, 1))
        self.assertTrue(between(1, top - 1, 1))
        self.assertFalse(between(top - 1, top - 1, 1))
        self.assertFalse(between(2, top - 1, 1))

    def test_equalEndsCoverTheRing(self):
        self.assertTrue(between(7, 7, 7))
        self.assertTrue(between(8, 7, 7))
        self.assertTrue(strictlyBetween(8, 7, 7))
        self.assertFalse(strictlyBetween(7, 7, 7))

    def test_openInterval(self):
        self.assertEqual([x for x in range(0, 8) if strictlyBetween(x, 2, 5)], [3, 4])
        self.assertTrue(strictlyBetween(0, SIZE - 1, 1))
        self.assertFalse(strictlyBetween(1, SIZE - 1, 1))

    def test_distanceIsClockwise(self):
        self.assertEqual(distance(5, 9), 4)
        self.assertEqual(distance(9, 5), SIZE - 4)
        self.assertEqual(distance(3, 3), 0)


class KeyTests(SynchronousTestCase):
    def test_keyIsTheTop128BitsOfSha256(self):
        digest = hashlib.sha256("apple".encode("utf-8")).digest()
        self.assertEqual(keyOf("apple"), int.from_bytes(digest[:16], "big"))
        self.assertEqual(format(keyOf("apple"), "032x"), "3a7bd3e2360a3d29eea436fcfb7e44c7")

    def test_aKeyedIdsPlaceIsItsBits(self):
        """Every ring function takes ids or positions: a keyed id (bit 128
        set) is its place modulo 2^128."""
        self.assertEqual(place(KEYED | 5), 5)
        self.assertTrue(between(KEYED | 5, 4, KEYED | 6))
        self.assertEqual(distance(KEYED | 5, 9), 4)

    def test_keysLieOnTheRing(self):
        for item in ["", "a", "poire", "\u00e9t\u00e9", "x" * 256]:
            self.assertTrue(0 <= keyOf(item) < SIZE, item)

    def test_fingerStartsDoubleAndWrap(self):
        self.assertEqual([fingerStart(10, i) for i in range(4)], [11, 12, 14, 18])
        self.assertEqual(fingerStart(SIZE - 1, 0), 0)
        self.assertEqual(fingerStart(5, BITS - 1), 5 + 2**127)
        self.assertEqual(fingerStart(2**127 + 5, BITS - 1), 5)


class LinkBudgetTests(SynchronousTestCase):
    def test_theDefaultBudgetHoldsEveryLinkOfAStableRing(self):
        """
        In a stable ring of 10,000 nodes, every node's ring links (to its
        successors, predecessor and fingers, and from every node that has
        it as one of those) fit in the default slots, so that no node
        evicts a link its owner needs.  64, the old default, does not.
        """
        count, successors = 10_000, ChordSettings().successors
        rng = random.Random(7)
        ids = sorted({rng.randrange(SIZE) for _ in range(count)})
        count = len(ids)
        links = {node: set() for node in ids}
        for index, node in enumerate(ids):
            peers = {ids[(index + step) % count] for step in range(1, successors + 1)}
            peers.add(ids[index - 1])
            for finger in range(BITS):
                start = fingerStart(node, finger)
                peers.add(ids[bisect.bisect_left(ids, start) % count])
            peers.discard(node)
            for peer in peers:
                links[node].add(peer)
                links[peer].add(node)
        most = max(len(peers) for peers in links.values())
        self.assertGreater(most, 64)
        self.assertLess(most, DEFAULT_LINKS)


class PuzzleTests(SynchronousTestCase):
    def test_theLeadingZeroBitsOfTheIdsHash(self):
        for seed in range(50):
            node_id = identity(seed).id
            bits = puzzleBits(node_id)
            digest = hashlib.sha256((node_id ^ KEYED).to_bytes(16, "big")).digest()
            self.assertTrue(format(int.from_bytes(digest, "big"), "0256b")
                            .startswith("0" * bits + "1"))
            self.assertTrue(solves(node_id, bits))
            self.assertFalse(solves(node_id, bits + 1))

    def test_noPuzzleTakesEveryIdAndKeylessIdsSolveNone(self):
        self.assertTrue(solves(5, 0))
        self.assertFalse(solves(5, 1))
        self.assertEqual(puzzleBits(5), -1)
