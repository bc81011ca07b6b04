"""
Tests of L{twisted_bazaar.reach.linkwaits}: a link waiting for its punch
goes on when released or when its wait is out, once; cancelled, it
leaves nothing behind (no entry, no timer).
"""

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach.linkwaits import LinkWaits


class LinkWaitsTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.waits = LinkWaits(self.clock)

    def test_releasedGoesOn(self):
        """Released, each of a peer's waits fires with its id, its timer
        gone; another peer's still waits."""
        first, second = self.waits.wait(5, 10.0), self.waits.wait(5, 10.0)
        other = self.waits.wait(6, 10.0)
        self.waits.release(5)
        self.assertEqual((self.successResultOf(first), self.successResultOf(second)), (5, 5))
        self.assertNoResult(other)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)

    def test_everyPeerReleased(self):
        waits = [self.waits.wait(peer, 10.0) for peer in (5, 6)]
        self.waits.release()
        self.assertEqual([self.successResultOf(d) for d in waits], [5, 6])
        self.assertEqual((self.waits._waiting, self.clock.getDelayedCalls()), ({}, []))

    def test_theWaitOut(self):
        d = self.waits.wait(5, 3.0)
        self.clock.advance(2.9)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        self.assertEqual(self.successResultOf(d), 5)
        self.waits.release(5)
        self.assertEqual(self.waits._waiting, {})

    def test_cancelledLeavesNothing(self):
        d = self.waits.wait(5, 3.0)
        d.cancel()
        self.failureResultOf(d, defer.CancelledError)
        self.assertEqual((self.waits._waiting, self.clock.getDelayedCalls()), ({}, []))
