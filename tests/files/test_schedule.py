"""Tests for L{twisted_bazaar.files.schedule.PieceSchedule}."""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files.schedule import SLOW_FACTOR, SLOW_MIN, PieceSchedule


class ScheduleTests(SynchronousTestCase):
    def test_eachSellerOnePieceAtATime(self):
        schedule = PieceSchedule(4)
        first = schedule.assign("a")
        self.assertIsNone(schedule.assign("a"))
        second = schedule.assign("b")
        self.assertNotEqual(first, second)
        self.assertEqual(schedule.inflight, {first: "a", second: "b"})

    def test_inOrderFromTheFirstMissing(self):
        """The verified prefix, which the whole-file hash follows, grows as
        the pieces come."""
        schedule = PieceSchedule(5, have=[0, 3], depth=2)
        self.assertEqual(schedule.missing, [1, 2, 4])
        self.assertEqual([schedule.assign("a"), schedule.assign("a"),
                          schedule.assign("b")], [1, 2, 4])

    def test_havePiecesAreNotFetched(self):
        schedule = PieceSchedule(3, have=[0, 2])
        self.assertEqual(schedule.missing, [1])
        self.assertEqual(schedule.assign("a"), 1)
        self.assertIsNone(schedule.assign("b"))
        schedule.arrived(1)
        self.assertFalse(schedule.finished)
        schedule.completed(1, "a")
        self.assertTrue(schedule.finished)

    def test_sellerFreeWhileItsPieceIsChecked(self):
        schedule = PieceSchedule(3)
        piece = schedule.assign("a")
        self.assertTrue(schedule.busy("a"))
        schedule.arrived(piece)
        self.assertEqual(schedule.checking, {piece: "a"})
        self.assertFalse(schedule.busy("a"))
        self.assertEqual(schedule.assign("a"), piece + 1)

    def test_badSellerCostsOnePiece(self):
        schedule = PieceSchedule(3)
        piece = schedule.assign("bad")
        schedule.arrived(piece)
        schedule.corrupt(piece, "bad")
        self.assertEqual(schedule.checking, {})
        self.assertIsNone(schedule.assign("bad"))
        self.assertEqual(schedule.assign("good"), piece)
        self.assertEqual(schedule.bad, {"bad"})

    def test_failedPieceGoesToAnotherSeller(self):
        schedule = PieceSchedule(2)
        piece = schedule.assign("gone")
        schedule.failed(piece, "gone")
        self.assertEqual(schedule.down, {"gone"})
        self.assertEqual(schedule.assign("other"), piece)

    def test_loadSpread(self):
        schedule = PieceSchedule(6)
        while not schedule.finished:
            for seller in ("a", "b", "c"):
                piece = schedule.assign(seller)
                if piece is not None:
                    schedule.arrived(piece)
                    schedule.completed(piece, seller)
        self.assertEqual(schedule.served, {"a": 2, "b": 2, "c": 2})

    def test_fastestFirst(self):
        """Sellers are measured by the time their pieces take; the fastest
        come first, and those not yet measured right after it, in the
        order given (so that they get a piece, and a measure, but never
        before the seller that serves)."""
        schedule = PieceSchedule(10, depth=1)
        for seller, took in (("slow", 4.0), ("fast", 1.0)):
            piece = schedule.assign(seller, now=0.0)
            schedule.arrived(piece, now=took)
            schedule.completed(piece, seller)
        self.assertEqual(schedule.fastestFirst(["slow", "new", "fast", "newer"]),
                         ["fast", "new", "newer", "slow"])

    def test_noneMeasuredKeepsTheOrderGiven(self):
        schedule = PieceSchedule(10)
        self.assertEqual(schedule.fastestFirst(["b", "a", "c"]), ["b", "a", "c"])

    def test_pieceAskedBehindAnotherIsTimedFromThatOne(self):
        """Two pieces asked at once of one seller: the second is timed
        from the arrival of the first, not from its asking."""
        schedule = PieceSchedule(4, depth=2)
        first, second = schedule.assign("a", 0.0), schedule.assign("a", 0.0)
        schedule.arrived(first, 1.0)
        schedule.arrived(second, 2.0)
        self.assertEqual(schedule.pieceTime["a"], 1.0)

    def test_slowSellers(self):
        """A seller whose piece is out for SLOW_FACTOR times the fastest
        seller's piece time (and SLOW_MIN seconds) is slow; the fastest
        never is."""
        schedule = PieceSchedule(10, depth=1)
        piece = schedule.assign("fast", 0.0)
        schedule.arrived(piece, 0.5)
        schedule.completed(piece, "fast")
        schedule.assign("crawl", 0.0)
        schedule.assign("fast", 0.5)
        limit = max(SLOW_FACTOR * 0.5, SLOW_MIN)
        self.assertEqual(schedule.slowSellers(limit - 0.1), set())
        self.assertEqual(schedule.slowSellers(limit + 0.6), {"crawl"})

    def test_noneSlowBeforeAnyMeasure(self):
        schedule = PieceSchedule(3)
        schedule.assign("a", 0.0)
        self.assertEqual(schedule.slowSellers(1000.0), set())

    def test_slowAt(self):
        """When the next seller becomes slow if its piece does not come:
        none before any measure, never the fastest, never a time past."""
        schedule = PieceSchedule(10, depth=1)
        schedule.assign("mute", 0.0)
        self.assertIsNone(schedule.slowAt(0.0))
        piece = schedule.assign("fast", 0.0)
        schedule.arrived(piece, 0.1)
        schedule.completed(piece, "fast")
        schedule.assign("fast", 0.1)
        schedule.assign("late", 1.0)
        self.assertEqual(schedule.slowAt(0.5), SLOW_MIN)
        self.assertEqual(schedule.slowSellers(SLOW_MIN), {"mute"})
        self.assertEqual(schedule.slowAt(SLOW_MIN), 1.0 + SLOW_MIN)
        self.assertEqual(schedule.slowSellers(1.0 + SLOW_MIN), {"mute", "late"})
        self.assertIsNone(schedule.slowAt(1.0 + SLOW_MIN))
