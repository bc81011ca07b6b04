"""Tests for L{twisted_bazaar.files.schedule.PieceSchedule}."""

import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files.schedule import PieceSchedule


class ScheduleTests(SynchronousTestCase):
    def test_eachSellerOnePieceAtATime(self):
        schedule = PieceSchedule(4, random.Random(1))
        first = schedule.assign("a")
        self.assertIsNone(schedule.assign("a"))
        second = schedule.assign("b")
        self.assertNotEqual(first, second)
        self.assertEqual(schedule.inflight, {first: "a", second: "b"})

    def test_startIsRandomThenInOrder(self):
        starts = {PieceSchedule(10, random.Random(seed)).missing[0] for seed in range(20)}
        self.assertGreater(len(starts), 3)
        schedule = PieceSchedule(5, random.Random(3))
        start = schedule.missing[0]
        self.assertEqual(schedule.missing, [(start + i) % 5 for i in range(5)])

    def test_havePiecesAreNotFetched(self):
        schedule = PieceSchedule(3, random.Random(0), have=[0, 2])
        self.assertEqual(schedule.missing, [1])
        self.assertEqual(schedule.assign("a"), 1)
        self.assertIsNone(schedule.assign("b"))
        schedule.completed(1, "a")
        self.assertTrue(schedule.finished)

    def test_badSellerCostsOnePiece(self):
        schedule = PieceSchedule(3, random.Random(0))
        piece = schedule.assign("bad")
        schedule.corrupt(piece, "bad")
        self.assertIsNone(schedule.assign("bad"))
        self.assertEqual(schedule.assign("good"), piece)
        self.assertEqual(schedule.bad, {"bad"})

    def test_failedPieceGoesToAnotherSeller(self):
        schedule = PieceSchedule(2, random.Random(0))
        piece = schedule.assign("gone")
        schedule.failed(piece, "gone")
        self.assertEqual(schedule.down, {"gone"})
        self.assertEqual(schedule.assign("other"), piece)

    def test_loadSpread(self):
        schedule = PieceSchedule(6, random.Random(0))
        while not schedule.finished:
            for seller in ("a", "b", "c"):
                piece = schedule.assign(seller)
                if piece is not None:
                    schedule.completed(piece, seller)
        self.assertEqual(schedule.served, {"a": 2, "b": 2, "c": 2})
