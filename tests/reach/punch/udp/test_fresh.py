"""
Tests for L{twisted_bazaar.reach.punch.udp.fresh}: this node's UDP mapping
kept fresh while a punch with a peer may be asked again, on a fake clock.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach.punch.udp.fresh import EVERY, KEEP_FOR, KeptFresh
from tests.helpers import clockStartMs


class KeptFreshTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.looks = []
        self.waits = {7, 8}
        self.kept = KeptFresh(self.clock, lambda: self.looks.append(
                                  self.clock.seconds() - clockStartMs() / 1000),
                              self.waits.__contains__)

    def test_lookedAtUntilTheHorizon(self):
        """Kept for a peer: the mapping is looked at every EVERY seconds
        for KEEP_FOR seconds, then not, no timer left."""
        self.kept.keep(7)
        self.clock.pump([1] * int(KEEP_FOR + 2 * EVERY))
        self.assertEqual(self.looks, [EVERY * n for n in range(1, int(KEEP_FOR / EVERY))])
        self.assertFalse(self.kept.waiting(7))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_keptAgain(self):
        """Kept again later: the horizon moves; two peers share one timer."""
        self.kept.keep(7)
        self.clock.advance(30)
        self.kept.keep(8)
        self.kept.keep(7)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.clock.advance(KEEP_FOR - 1)
        self.assertTrue(self.kept.waiting(7))

    def test_noLongerWaits(self):
        """A peer whose punch cannot come any more (its link went, a path
        met) is dropped at the next look, and with none left the timer
        goes; done() drops it at once."""
        self.kept.keep(7)
        self.kept.keep(8)
        self.waits.discard(7)
        self.clock.advance(EVERY)
        self.assertEqual((self.kept.waiting(7), self.kept.waiting(8)), (False, True))
        self.kept.done(8)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_stop(self):
        """The node stops: nothing kept, no timer."""
        self.kept.keep(7)
        self.kept.stop()
        self.clock.advance(KEEP_FOR)
        self.assertEqual((self.looks, self.clock.getDelayedCalls()), ([], []))
