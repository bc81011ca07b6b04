"""
Tests for twisted_bazaar.schemes.chord.joining: real chord nodes in a
L{Market} (in-memory links, one fake clock) find their place, whether
started together or one by one, and a newcomer is stabilized in; one
node (fake transports) holding the requests that come before its place,
and asking its successor for its fingers.
"""

import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.daemon.registry import buildScheme
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.schemes.chord.joining import SEED_WAIT
from twisted_bazaar.schemes.chord.messages import ChordFind, ChordFingerList, ChordFingers
from twisted_bazaar.schemes.chord.ring import BITS
from twisted_bazaar.schemes.chord.routing import HELD_UNPLACED
from twisted_bazaar.schemes.chord.state import Neighbourhood, Peer
from twisted_bazaar.testing import Market

from tests.helpers import Recorder, feed, linkPeer, makeNode, sent
from tests.schemes.chord.market import (
    SETTLE,
    addChord,
    answerOf,
    ringViolations,
    settledRing,
)
from tests.schemes.chord.test_routing import ME, LinkedToOnePeer


class JoinTests(SynchronousTestCase):
    def test_nodesStartedTogetherFormOneRing(self):
        market = settledRing(seed=1, size=10)
        self.assertEqual(ringViolations(market), [])

    def test_nodesJoiningOneByOne(self):
        market = Market(seed=2)
        first = addChord(market)
        market.run(1)
        self.assertTrue(first.discovery.joined)
        self.assertTrue(first.discovery.ring.alone)
        for _ in range(6):
            addChord(market)
            market.run(1)
        market.run(SETTLE)
        self.assertEqual(ringViolations(market), [])

    def test_aNodeJoiningBetweenTwoIsNotifiedAndStabilizedIn(self):
        market = Market(seed=3)
        # Ids derive from keys: four key pairs, in the order of their ids.
        rng = random.Random(3)
        keys = sorted((Identity.fromRandom(rng) for _ in range(4)), key=lambda i: i.id)
        low, high = addChord(market, keys[0]), addChord(market, keys[2])
        addChord(market, keys[3])
        market.run(SETTLE)
        middle = addChord(market, keys[1])
        # The newcomer's predecessor learns of it at its next
        # stabilization: within its longest period (1.25 x 2 s).
        market.run(3)
        self.assertEqual(middle.discovery.ring.successor.id, keys[2].id)
        self.assertEqual(high.discovery.ring.predecessor.id, keys[1].id)
        self.assertEqual(low.discovery.ring.successor.id, keys[1].id)
        self.assertEqual(middle.discovery.ring.predecessor.id, keys[0].id)
        # Each node further back learns of it from its successor's list,
        # one stabilization (at most 2.5 s) after the one before it.
        market.run(8)
        self.assertEqual(ringViolations(market), [])

    def test_beforeJoiningANodeCannotFind(self):
        market = Market(seed=4)
        node = addChord(market)
        self.assertFalse(node.discovery.canFind())
        self.assertEqual(answerOf(node.discovery.find("apple", 1.0)), [])
        market.run(1)
        self.assertTrue(node.discovery.canFind())

    def test_joiningTellsTheNode(self):
        market = Market(seed=4)
        node = addChord(market)
        recorder = Recorder()
        node.addObserver(recorder)
        market.run(1)
        self.assertEqual(recorder.events.count(("discoveryReady",)), 1)

    def test_aBuyerFindsOnceItJoins(self):
        """A buyer on a ring of one seller links to it before it has a
        place, and no link comes after: its place alone starts the find."""
        market = Market(seed=5)
        addChord(market, seller={"stock": {"apple": 1}})
        market.run(1)
        buyer = addChord(market, buyer={"wants": ["apple"]})
        market.run(10)
        self.assertEqual(len(market.role(buyer, "buyer").bag), 1)


class UnplacedTests(SynchronousTestCase):
    """
    A request that comes to a joining node before it has its place (fake
    transports, a task.Clock): held until it is placed, or until the seed
    wait is over, when the node starts the ring itself.
    """

    def setUp(self):
        self.node = makeNode(ME)
        self.scheme = buildScheme(self.node, "chord")
        # Joining: it asked the tracker, and has no place yet.
        self.scheme.ring = self.scheme.router.ring = Neighbourhood(self.scheme.me(), 4)
        self.link = linkPeer(self.node, 700, purpose="chord", port=7007)

    def find(self, lookup_id=7):
        feed(self.link, ChordFind(lookup_id, 5, (700,)))

    def test_aRequestWaitsWhileTheNodeJoins(self):
        self.find()
        self.assertEqual(sent(self.link), [])
        self.assertFalse(self.scheme.joined)

    def test_placedItGoesOn(self):
        self.find()
        self.scheme._begin()
        [found] = sent(self.link)
        self.assertEqual((found.id, found.node.id), (7, ME))
        self.assertIsNone(self.scheme._due("seed"))

    def test_stillUnplacedAfterTheSeedWaitTheNodeStartsTheRing(self):
        self.find()
        self.node.clock.advance(SEED_WAIT * 1.25)
        self.assertTrue(self.scheme.joined)
        self.assertTrue(self.scheme._doubt)
        [found] = sent(self.link)
        self.assertEqual(found.node.id, ME)

    def test_heldRequestsAreBounded(self):
        for lookup_id in range(1, HELD_UNPLACED + 5):
            self.find(lookup_id)
        self.scheme._begin()
        self.assertEqual(len(sent(self.link)), HELD_UNPLACED)

    def test_aNodeThatIsNotJoiningDropsTheRequest(self):
        self.scheme.ring = None
        self.find()
        self.assertEqual(self.scheme.router._early, [])
        self.assertIsNone(self.scheme._due("seed"))


class SuccessorFingerTests(LinkedToOnePeer, SynchronousTestCase):
    """A newcomer takes its successor's fingers as first guesses
    (chordFingers, answered by chordFingerList)."""

    def test_aNodeNamesItsDistinctFingersNearestFirst(self):
        ring = self.scheme.ring
        a, b = Peer(5000, "a", 1), Peer(900_000, "b", 2)
        ring.fingers.set(3, 20, a)
        ring.fingers.set(20, BITS, b)
        feed(self.link, ChordFingers(4))
        self.assertEqual(sent(self.link), [ChordFingerList(4, (a, b))])

    def test_aNodeNotOnTheRingSaysNothing(self):
        self.scheme.joined = False
        feed(self.link, ChordFingers(4))
        self.assertEqual(sent(self.link), [])

    def newcomer(self):
        """The node has just joined, the linked peer its successor."""
        scheme = self.scheme
        scheme.ring.successors = [Peer(700, "", 7007)]
        scheme._fingers_wanted = (9, False)
        scheme._askFingers()
        return sent(self.link)

    def test_theNewcomerAsksOnceAndGuessesFromTheAnswer(self):
        self.assertEqual(self.newcomer(), [ChordFingers(9)])
        self.scheme._askFingers()
        self.assertEqual(sent(self.link), [])
        far = Peer(ME + 2**20, "f", 3)
        feed(self.link, ChordFingerList(9, (far,)))
        self.assertEqual(self.scheme.ring.fingers[20], far)
        self.assertIsNone(self.scheme._fingers_wanted)

    def test_anAnswerWithAnotherNonceIsIgnored(self):
        self.newcomer()
        feed(self.link, ChordFingerList(8, (Peer(ME + 2**20, "f", 3),)))
        self.assertIsNone(self.scheme.ring.fingers[20])

    def test_aNodeKnownDeadIsNoGuess(self):
        self.newcomer()
        self.scheme._bury(ME + 2**20)
        feed(self.link, ChordFingerList(9, (Peer(ME + 2**20, "f", 3),)))
        self.assertIsNone(self.scheme.ring.fingers[20])
