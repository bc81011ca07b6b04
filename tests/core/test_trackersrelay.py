"""
Tests of L{twisted_bazaar.core.trackersrelay}: the tracker's own relay
is the one it named or the one holding this node's reservation, each
told by its owner's method, and no other port of its host.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.core.trackersrelay import TrackersRelay


class TrackersRelayTests(SynchronousTestCase):
    def test_holdsNothingAtFirst(self):
        self.assertFalse(TrackersRelay().holds("192.0.2.1:7701"))
        self.assertFalse(TrackersRelay().holds(None))

    def test_named(self):
        relays = TrackersRelay()
        relays.trackerNamed("192.0.2.1:7701")
        self.assertEqual((relays.holds("192.0.2.1:7701"), relays.holds("192.0.2.1:22")),
                         (True, False))

    def test_reserved(self):
        relays = TrackersRelay()
        relays.trackerReserved("192.0.2.1:7702")
        self.assertEqual((relays.holds("192.0.2.1:7702"), relays.holds("192.0.2.1:7701")),
                         (True, False))
