"""Tests for L{twisted_bazaar.files.schedule.PieceSchedule}."""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files.schedule import PieceSchedule


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
