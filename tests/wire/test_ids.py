"""
Tests for twisted_bazaar.wire.ids: node ids inside a process and on the
wire, their short form, and the prefixes people type.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.wire.ids import (
    KEYED,
    NO_ID,
    UnknownId,
    matchId,
    parseWireId,
    shortId,
    wholeIds,
    wireId,
)

A = KEYED | int("9903ed08d3debadce05841a07701165c", 16)
B = KEYED | int("9903ed08ffffffffffffffffffffffff", 16)
C = KEYED | int("12345678000000000000000000000000", 16)


class WireFormTests(SynchronousTestCase):
    def test_roundTrip(self):
        for node_id, text in ((A, "9903ed08d3debadce05841a07701165c"), (0, "0"),
                              (9_999_999_999, "9999999999"), (NO_ID, ""),
                              (KEYED, "0" * 32)):
            self.assertEqual(wireId(node_id), text)
            self.assertEqual(parseWireId(text), node_id)

    def test_keyedAndKeylessNeverMeet(self):
        """An all-digit keyed id is 32 characters, a keyless one at most
        10: the same digits name two different ids."""
        self.assertNotEqual(parseWireId("1" * 32), parseWireId("1" * 10))
        self.assertGreaterEqual(parseWireId("1" * 32), KEYED)

    def test_notIds(self):
        for text in ("01", "1" * 11, "A" * 32, "a" * 31, "a" * 33, "-1", " 1", 1, None):
            self.assertIsNone(parseWireId(text), text)

    def test_shortForm(self):
        self.assertEqual(shortId(A), "9903ed08")
        self.assertEqual(shortId(1234567890), "1234567890")
        self.assertEqual(shortId(NO_ID), "-")

    def test_shortFormKeepsTheWhole(self):
        """A keyed id's short form reads as the short text everywhere and
        keeps the whole text for JSON output."""
        short = shortId(A)
        self.assertEqual((f"node {short}", str(short), hash(short)),
                         ("node 9903ed08", "9903ed08", hash("9903ed08")))
        self.assertEqual(short.whole, "9903ed08d3debadce05841a07701165c")


class WholeIdsTests(SynchronousTestCase):
    def test_idsWhole(self):
        """Short forms and keyed ints become wire texts, in lists and
        tuples too; everything else is left alone."""
        self.assertEqual(wholeIds(shortId(A)), wireId(A))
        self.assertIs(type(wholeIds(shortId(A))), str)
        self.assertEqual(wholeIds(B), wireId(B))
        self.assertEqual(wholeIds((A, 42, "x")), [wireId(A), 42, "x"])
        self.assertEqual(wholeIds([[shortId(C)]]), [[wireId(C)]])
        for other in (42, 2**129, 2**128 - 1, True, "9903ed08", None, 1.5, {"id": 1}):
            self.assertIs(wholeIds(other), other)
        unchanged = [1, "a"]
        self.assertIs(wholeIds(unchanged), unchanged)


class MatchTests(SynchronousTestCase):
    known = {A, B, C, 42}

    def test_wholeIdOrUniquePrefix(self):
        self.assertEqual(matchId("9903ed08d3debadce05841a07701165c", self.known), A)
        self.assertEqual(matchId("9903ed08d3", self.known), A)
        self.assertEqual(matchId("1234", self.known), C)
        self.assertEqual(matchId("42", self.known), 42)

    def test_ambiguousPrefixListsTheCandidates(self):
        with self.assertRaises(UnknownId) as caught:
            matchId("9903ed", self.known)
        self.assertIn("ambiguous", str(caught.exception))
        self.assertIn(wireId(A), str(caught.exception))
        self.assertIn(wireId(B), str(caught.exception))

    def test_tooShortOrUnknown(self):
        for typed in ("990", "abcd"):
            self.assertRaises(UnknownId, matchId, typed, self.known)
