"""Tests for twisted_bazaar.schemes.chord.state: a node's view of the
ring (successors, predecessor, fingers, missed pings), without I/O."""

import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.chord.ring import BITS, SIZE, distance, fingerStart
from twisted_bazaar.schemes.chord.state import Fingers, Neighbourhood, Peer


def peer(node_id):
    return Peer(node_id, f"h{node_id}", 1000 + node_id % 1000)


def view(me, length=3, successors=(), pred=None):
    ring = Neighbourhood(peer(me), length)
    ring.successors = [peer(s) for s in successors]
    ring.predecessor = peer(pred) if pred is not None else None
    return ring


class SuccessorListTests(SynchronousTestCase):
    def test_adoptTakesTheSuccessorThenItsList(self):
        ring = view(100)
        self.assertTrue(ring.adopt(peer(200), [peer(300), peer(400), peer(500)]))
        self.assertEqual([p.id for p in ring.successors], [200, 300, 400])
        self.assertFalse(ring.adopt(peer(200), [peer(300), peer(400)]))

    def test_adoptNeverListsItselfAndKeepsClockwiseOrder(self):
        ring = view(100, length=4)
        ring.adopt(peer(300), [peer(50), peer(100), peer(200), peer(300)])
        # Clockwise from 100: 200, 300, then round past zero to 50.
        self.assertEqual([p.id for p in ring.successors], [200, 300, 50])

    def test_adoptWrapsRoundZero(self):
        ring = view(SIZE - 10, length=2)
        ring.adopt(peer(5), [peer(SIZE - 5)])
        self.assertEqual([p.id for p in ring.successors], [SIZE - 5, 5])

    def test_watchedAreSuccessorsAndPredecessor(self):
        ring = view(100, successors=(200, 300), pred=50)
        self.assertEqual([p.id for p in ring.watched()], [200, 300, 50])
        ring = view(100, successors=(200,), pred=200)
        self.assertEqual([p.id for p in ring.watched()], [200])


class NotifyTests(SynchronousTestCase):
    def test_firstPredecessorIsTaken(self):
        ring = view(100, successors=(200,))
        self.assertIsNone(ring.notified(peer(50)))
        self.assertEqual(ring.predecessor.id, 50)

    def test_aCloserPredecessorReplacesTheOld(self):
        ring = view(100, successors=(200,), pred=50)
        self.assertEqual(ring.notified(peer(70)).id, 50)
        self.assertEqual(ring.predecessor.id, 70)

    def test_aFartherOneIsRefused(self):
        ring = view(100, successors=(200,), pred=70)
        self.assertEqual(ring.notified(peer(50)).id, 50)
        self.assertEqual(ring.predecessor.id, 70)

    def test_aRingOfOneTakesItsFirstCallerAsSuccessorToo(self):
        ring = view(100)
        ring.notified(peer(300))
        self.assertEqual((ring.predecessor.id, [p.id for p in ring.successors]),
                         (300, [300]))

    def test_responsibleForPredecessorToSelf(self):
        ring = view(100, successors=(200,), pred=50)
        self.assertEqual([k for k in (50, 51, 100, 101) if ring.responsible(k)],
                         [51, 100])
        self.assertTrue(view(100).responsible(5))
        self.assertFalse(view(100, successors=(200,)).responsible(100))


class RoutingTests(SynchronousTestCase):
    def setUp(self):
        self.ring = view(100, successors=(200, 300))
        self.ring.fingers[10] = peer(1200)
        self.ring.fingers[20] = peer(2_000_000)

    def test_keyJustPastUsGoesToTheSuccessor(self):
        self.assertEqual(self.ring.nextHop(150).id, 200)
        self.assertEqual(self.ring.nextHop(200).id, 200)

    def test_otherwiseTheClosestNodeBeforeTheKey(self):
        self.assertEqual(self.ring.nextHop(250).id, 200)
        self.assertEqual(self.ring.nextHop(5000).id, 1200)
        self.assertEqual(self.ring.nextHop(3_000_000).id, 2_000_000)
        # Past every known node, round the ring: the farthest before it.
        self.assertEqual(self.ring.nextHop(50).id, 2_000_000)

    def test_unusablePeersAreSkipped(self):
        usable = {200, 300}.__contains__
        self.assertEqual(self.ring.nextHop(5000, usable).id, 300)
        self.assertEqual(self.ring.nextHop(150, lambda p: p == 300).id, 300)

    def test_nothingUsableFallsBackToTheNearestFinger(self):
        self.assertEqual(self.ring.nextHop(150, lambda p: p == 2_000_000).id, 2_000_000)
        self.assertIsNone(self.ring.nextHop(150, lambda p: False))


class FingerTests(SynchronousTestCase):
    def test_oneAnswerFillsEveryFingerItCovers(self):
        ring = view(0)
        self.assertEqual(ring.setFinger(0, peer(5)), 3)
        self.assertEqual([p.id for p in ring.fingers[:3]], [5, 5, 5])
        self.assertIsNone(ring.fingers[3])
        self.assertEqual(ring.setFinger(3, peer(1000)), 10)

    def test_theLastFingerWrapsToTheFirst(self):
        ring = view(0)
        self.assertEqual(ring.setFinger(BITS - 1, peer(fingerStart(0, BITS - 1))), 0)

    def test_aStaleAnswerStillMovesOn(self):
        ring = view(0)
        self.assertEqual(ring.setFinger(4, peer(3)), 5)
        self.assertIsNone(ring.fingers[4])

    def test_thisNodeIsNeverItsOwnFinger(self):
        ring = view(0)
        self.assertEqual(ring.setFinger(0, peer(0)), 0)
        self.assertEqual(ring.fingers, [None] * BITS)


class DepartureTests(SynchronousTestCase):
    def test_removeForgetsEverywhere(self):
        ring = view(100, successors=(200, 300), pred=200)
        ring.fingers[3] = peer(200)
        self.assertTrue(ring.remove(200))
        self.assertEqual(([p.id for p in ring.successors], ring.predecessor,
                          ring.fingers[3]), ([300], None, None))
        self.assertFalse(ring.remove(999))

    def test_departedSuccessorIsReplacedByItsList(self):
        ring = view(100, successors=(200, 300, 400))
        ring.departed(200, peer(100), (peer(300), peer(400), peer(500)))
        self.assertEqual([p.id for p in ring.successors], [300, 400, 500])

    def test_departedPredecessorNamesOurs(self):
        ring = view(100, successors=(200,), pred=50)
        ring.departed(50, peer(20), (peer(100), peer(200)))
        self.assertEqual(ring.predecessor.id, 20)

    def test_missedPingsCountUntilAnswered(self):
        ring = view(100)
        self.assertEqual([ring.missed(7) for _ in range(3)], [1, 2, 3])
        ring.answered(7)
        self.assertEqual(ring.missed(7), 1)


class NearestTests(SynchronousTestCase):
    def test_theNearestUsablePeerAfterThisNode(self):
        ring = view(100, successors=(200,))
        ring.fingers[5] = peer(5000)
        ring.fingers[9] = peer(50)
        self.assertEqual(ring.nearest().id, 200)
        self.assertEqual(ring.nearest(lambda p: p != 200).id, 5000)
        self.assertEqual(ring.nearest(lambda p: p == 50).id, 50)
        self.assertIsNone(ring.nearest(lambda p: False))


class GuessedFingerTests(SynchronousTestCase):
    """A newcomer's first guesses of its fingers, from another node's."""

    def test_eachFingerIsTheNearestPeerAtOrAfterItsStart(self):
        ring = view(100)
        near, mid, far = peer(100 + 2**10), peer(100 + 2**20 + 5), peer(100 + 2**40)
        ring.guessFingers([far, near, mid])
        fingers = ring.fingers.asList()
        self.assertEqual(fingers[:11], [near] * 11)
        self.assertEqual(fingers[11:21], [mid] * 10)
        self.assertEqual(fingers[21:41], [far] * 20)
        self.assertEqual(fingers[41:], [None] * (BITS - 41))

    def test_fingersKnownAlreadyAreKept(self):
        ring = view(100)
        known = peer(100 + 2**5 + 1)
        ring.fingers[5] = known
        ring.guessFingers([peer(100 + 2**30)])
        self.assertEqual(ring.fingers[5], known)
        self.assertEqual(ring.fingers[6], peer(100 + 2**30))

    def test_aGuessNearerItsStartTakesAKnownFingersPlace(self):
        ring = view(100)
        known = peer(100 + 2**5 + 9)
        ring.fingers[5] = known
        nearer = peer(100 + 2**5 + 1)
        self.assertTrue(ring.guessFingers([nearer]))
        self.assertEqual(ring.fingers[5], nearer)

    def test_aGuessThatImprovesNothingSaysSo(self):
        ring = view(100)
        self.assertTrue(ring.guessFingers([peer(100 + 2**5 + 1), peer(100 + 2**30)]))
        self.assertFalse(ring.guessFingers([peer(100 + 2**5 + 9), peer(100 + 2**30)]))
        self.assertEqual(ring.fingers[5], peer(100 + 2**5 + 1))

    def test_asTheDefinitionSaysOnRandomPeers(self):
        rng = random.Random(8)
        for _ in range(50):
            me = rng.randrange(SIZE)
            ring = view(me)
            peers = [peer((me + rng.randrange(1, SIZE)) % SIZE) for _ in range(rng.randrange(1, 20))]
            ring.guessFingers(peers)
            for index in range(BITS):
                at = [p for p in peers if distance(me, p.id) >= 1 << index]
                expected = min(at, key=lambda p: distance(me, p.id)) if at else None
                self.assertEqual(ring.fingers[index], expected)

    def test_theDigestTellsWhetherTheRunsChanged(self):
        ring = view(100)
        ring.guessFingers([peer(100 + 2**30)])
        before = ring.fingers.digest()
        self.assertEqual(Fingers(ring.fingers.runs()).digest(), before)
        ring.fingers[5] = peer(100 + 2**5)
        self.assertNotEqual(ring.fingers.digest(), before)

    def test_itselfIsNoGuess(self):
        ring = view(100)
        ring.guessFingers([peer(100)])
        self.assertEqual(ring.fingers.asList(), [None] * BITS)
