"""Tests for L{twisted_bazaar.reach.punch.udp.wanted}."""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach.punch.udp.wanted import ASK_AGAIN, ASKS, WantedPunches


class WantedPunchesTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.asked = []
        self.wanted = WantedPunches(self.clock, self.asked.append)
        self.wanted.want(7, "the link")

    def test_wanted(self):
        self.assertIn(7, self.wanted)
        self.assertEqual(self.wanted.peers(), [7])
        self.assertEqual(self.wanted.links[7], "the link")

    def test_aRefusalAskedAgain(self):
        """A refused ask is made again ASK_AGAIN s later, and waits till
        then."""
        self.wanted.asked(7)
        self.assertTrue(self.wanted.refused(7))
        self.assertTrue(self.wanted.waitsToAsk(7))
        self.clock.advance(ASK_AGAIN)
        self.assertEqual(self.asked, [7])
        self.assertFalse(self.wanted.waitsToAsk(7))

    def test_asksSpent(self):
        """Past ASKS asks, a refusal is not asked again."""
        for _ in range(ASKS):
            self.wanted.asked(7)
        self.assertFalse(self.wanted.refused(7))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_dropCancelsAndForgets(self):
        """Dropped, a peer's link comes back once, its timer is cancelled
        and its count forgotten (wanted again, it has its asks anew)."""
        for _ in range(ASKS):
            self.wanted.asked(7)
        self.wanted.drop(7)
        self.wanted.want(7, "the link")
        self.wanted.asked(7)
        self.assertTrue(self.wanted.refused(7))
        self.assertEqual(self.wanted.drop(7), "the link")
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertIsNone(self.wanted.drop(7))
        self.clock.advance(ASK_AGAIN)
        self.assertEqual(self.asked, [])
