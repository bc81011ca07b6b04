"""
Tests for twisted_bazaar.schemes.chord.tracker: the tracker names the
chord nodes around a node's place (chordNear, answered by chordNearIs):
L{around} on a plain sorted ring, and the extension inside a real Tracker
spoken to over real Links on fake transports.
"""

import bisect
import random

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.daemon.registry import trackerExtensionPlugins
from twisted_bazaar.schemes.chord.messages import MAX_FINGERS, ChordNear, ChordNearIs
from twisted_bazaar.schemes.chord.ring import BITS, SIZE
from twisted_bazaar.schemes.chord.state import Peer
from twisted_bazaar.schemes.chord.tracker import ChordExtension, around
from twisted_bazaar.tracker import Tracker

from tests.schemes.test_index_tracker import Peer as TrackerPeer


def ringOf(ids, asker):
    """following(place) over a sorted ring of ids, asker left out."""
    ring = sorted(ids)

    def following(place):
        start = bisect.bisect_left(ring, place)
        for step in range(len(ring)):
            candidate = ring[(start + step) % len(ring)]
            if candidate != asker:
                return candidate
        return None

    return following


class AroundTests(SynchronousTestCase):
    def test_aloneThereIsNobody(self):
        self.assertEqual(around(ringOf([50], 50), 50, True), [])

    def test_theFollowerFirstThenTheFingersFromTheFarthest(self):
        ids = [50, 60, 50 + 2**100, 50 + 2**120, SIZE - 10]
        self.assertEqual(around(ringOf(ids, 50), 50, True),
                         [60, SIZE - 10, 50 + 2**120, 50 + 2**100])

    def test_withoutFingersOnlyTheFollower(self):
        self.assertEqual(around(ringOf([50, 60, 2**100], 50), 50, None), [60])

    def test_theFollowerGoesRound(self):
        self.assertEqual(around(ringOf([5, SIZE - 3], SIZE - 3), SIZE - 3, None), [5])

    def test_fingersPastTheLastNodeGoRoundToTheFollower(self):
        self.assertEqual(around(ringOf([100, 200, 2**20], 100), 100, True), [200, 2**20])

    def test_everyFingerIsTheFirstNodeAtOrAfterItsStart(self):
        rng = random.Random(4)
        ids = [rng.randrange(SIZE) for _ in range(300)]
        me = ids[0]
        following = ringOf(ids, me)
        named = around(following, me, True)
        for index in range(BITS):
            start = (me + (1 << index)) % SIZE
            self.assertIn(following(start), named)
        self.assertEqual(len(named), len(set(named)))

    def test_atMostMaxFingers(self):
        me = 0
        ids = [me] + [(1 << index) for index in range(BITS)]
        self.assertEqual(len(around(ringOf(ids, me), me, True)), MAX_FINGERS)


class ExtensionTests(SynchronousTestCase):
    def setUp(self):
        self.tracker = Tracker(Clock(), random.Random(7),
                               extensions=trackerExtensionPlugins())

    def join(self, node_id, port, scheme="chord"):
        peer = TrackerPeer(self.tracker, port=40000 + port)
        peer.say(wire.ThisIsMe(node_id, port, "h", scheme=scheme))
        [you] = peer.heard()
        self.assertEqual(you.id, node_id)
        return peer

    def test_theTrackerHostsIt(self):
        self.assertIsInstance(self.tracker.extensions["chord"], ChordExtension)

    def test_theNodesAroundTheAskersPlace(self):
        asker = self.join(100, 1)
        self.join(200, 2)
        self.join(2**20, 3)
        self.join(150, 4, scheme="flood")
        asker.say(ChordNear(5, True))
        self.assertEqual(asker.heard(), [ChordNearIs(5, (Peer(200, "h", 2),
                                                         Peer(2**20, "h", 3)))])
        asker.say(ChordNear(6))
        self.assertEqual(asker.heard(), [ChordNearIs(6, (Peer(200, "h", 2),))])

    def test_aloneTheAnswerNamesNobody(self):
        asker = self.join(100, 1)
        asker.say(ChordNear(5, True))
        self.assertEqual(asker.heard(), [ChordNearIs(5, ())])
