"""
Tests of twisted_bazaar.schemes.superpeer.standing: a leaf's count of
each super-peer's fruitless answers in a row, and when one is let go.
"""

import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.superpeer.standing import STRIKES, Standing

S1, S2 = 101, 102
GOOD, DEAD, REFUSER = 201, 202, 203


class StandingTests(SynchronousTestCase):
    def setUp(self):
        self.dead = {DEAD}
        self.links = {S1, S2}
        self.standing = Standing(self.dead.__contains__, self.links.__contains__)

    def test_twiceSilentIsLetGo(self):
        self.assertEqual(STRIKES, 2)
        self.assertFalse(self.standing.silent(S1))
        self.assertTrue(self.standing.silent(S1))
        self.assertEqual(self.standing.fruitless, {S1: 2})

    def test_answersNamingNobodyAreFruitless(self):
        self.assertFalse(self.standing.answered(S1, "apple", []))
        self.assertTrue(self.standing.answered(S1, "pear", []))

    def test_anAnswerIsJudgedWhenTheBuyerSearchesAgain(self):
        """Sellers named are judged once the buyer searches for the item
        again: all dead or refusing is fruitless; one still worth a buy
        counts the super-peer back to nothing."""
        standing = self.standing
        standing.soldNothing(REFUSER)
        self.assertFalse(standing.answered(S1, "apple", [DEAD, REFUSER]))
        self.assertEqual(standing.fruitless, {})
        self.assertIsNone(standing.searchingAgain("apple"))
        self.assertEqual(standing.fruitless, {S1: 1})
        standing.answered(S1, "apple", [DEAD])
        self.assertEqual(standing.searchingAgain("apple"), S1)
        # An answer with a seller worth a buy: back to nothing.
        standing.answered(S2, "apple", [DEAD])
        standing.searchingAgain("apple")
        standing.answered(S2, "apple", [DEAD, GOOD])
        self.assertIsNone(standing.searchingAgain("apple"))
        self.assertNotIn(S2, standing.fruitless)
        # Judged once: a search with no answer since judges nothing.
        self.assertIsNone(standing.searchingAgain("apple"))

    def test_asksTheFewestFruitless(self):
        rng = random.Random(3)
        self.standing.silent(S1)
        self.assertEqual({self.standing.choose([S1, S2], rng) for _ in range(20)}, {S2})
        self.standing.silent(S2)
        self.assertEqual({self.standing.choose([S1, S2], rng) for _ in range(50)},
                         {S1, S2})

    def test_aSuperPeerGoneIsNotJudged(self):
        """A late answer from a super-peer no longer linked counts for
        nothing; one linked again starts afresh."""
        self.standing.silent(S1)
        self.standing.forget(S1)
        self.assertEqual(self.standing.fruitless, {})
        self.links.discard(S1)
        self.assertFalse(self.standing.silent(S1))
        self.assertFalse(self.standing.answered(S1, "apple", []))
        self.assertEqual(self.standing.fruitless, {})

    def test_answersKeptAreBounded(self):
        for n in range(1000):
            self.standing.answered(S1, f"item{n}", [GOOD])
        self.assertLessEqual(len(self.standing._answers), 64)
