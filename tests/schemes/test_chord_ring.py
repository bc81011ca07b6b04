"""Tests for twisted_bazaar.schemes.chord.ring: intervals on the circle,
keys and finger starts."""

import hashlib

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.chord.ring import (
    BITS,
    SIZE,
    between,
    distance,
    fingerStart,
    keyOf,
    strictlyBetween,
)
from twisted_bazaar.tracker import ID_SPACE


class IntervalTests(SynchronousTestCase):
    def test_theRingIsTheTrackerIdSpace(self):
        self.assertEqual((SIZE, BITS), (ID_SPACE, 31))

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
    def test_keyIsTheTop31BitsOfSha1(self):
        digest = hashlib.sha1("apple".encode("utf-8")).digest()
        self.assertEqual(keyOf("apple"), int.from_bytes(digest[:4], "big") >> 1)
        self.assertEqual(keyOf("apple"), 1751062242)

    def test_keysLieOnTheRing(self):
        for item in ["", "a", "poire", "\u00e9t\u00e9", "x" * 256]:
            self.assertTrue(0 <= keyOf(item) < SIZE, item)

    def test_fingerStartsDoubleAndWrap(self):
        self.assertEqual([fingerStart(10, i) for i in range(4)], [11, 12, 14, 18])
        self.assertEqual(fingerStart(SIZE - 1, 0), 0)
        self.assertEqual(fingerStart(5, BITS - 1), 5 + 2**30)
        self.assertEqual(fingerStart(2**30 + 5, BITS - 1), 5)
