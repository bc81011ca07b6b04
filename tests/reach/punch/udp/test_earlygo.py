"""
Tests for L{twisted_bazaar.reach.punch.udp.earlygo}: the tracker's goes
kept for their links, on a fake clock.
"""

from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach.punch.udp.earlygo import MOST, WAIT, EarlyGoes
from twisted_bazaar.wire.udpreach import UdpPunchGo


def go(peer_id, nonce=7):
    return UdpPunchGo(peer_id, "203.0.113.9", 5000, 5000, nonce)


class EarlyGoesTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.expired = []
        self.goes = EarlyGoes(self.clock, self.expired.append)

    def test_takenWithinItsWait(self):
        """A go kept is taken once, its timer gone with it."""
        self.assertTrue(self.goes.keep(go(1)))
        self.assertIn(1, self.goes)
        self.clock.advance(WAIT - 0.01)
        self.assertEqual(self.goes.take(1), go(1))
        self.assertIsNone(self.goes.take(1))
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(WAIT)
        self.assertEqual(self.expired, [])

    def test_expires(self):
        """A go whose link did not come within WAIT s is handed back."""
        self.goes.keep(go(1))
        self.clock.advance(WAIT)
        self.assertEqual(self.expired, [go(1)])
        self.assertNotIn(1, self.goes)

    def test_aNewerGoReplacesItsPeers(self):
        """One go a peer: a newer one replaces it, with a wait of its own."""
        self.goes.keep(go(1, 7))
        self.clock.advance(WAIT - 1)
        self.goes.keep(go(1, 8))
        self.clock.advance(1)
        self.assertEqual(self.expired, [])
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.clock.advance(WAIT)
        self.assertEqual(self.expired, [go(1, 8)])

    def test_most(self):
        """Past MOST goes, none more is kept; a kept one's peer may still
        replace its own."""
        for peer_id in range(MOST):
            self.assertTrue(self.goes.keep(go(peer_id)))
        self.assertFalse(self.goes.keep(go(MOST)))
        self.assertTrue(self.goes.keep(go(0, 8)))
        self.assertEqual(len(self.clock.getDelayedCalls()), MOST)

    def test_stop(self):
        """The node stops: no go waits, no timer is left, none expires."""
        self.goes.keep(go(1))
        self.goes.keep(go(2))
        self.goes.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertNotIn(1, self.goes)
        self.assertEqual(self.expired, [])
