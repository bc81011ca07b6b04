"""
Tests for twisted_bazaar.schemes.chord.fingers: fingers are exact and
repaired, lookups go by fingers (real nodes in a L{Market}); a known
finger checked by its predecessor, a found one taken as an address, and
one node's answer to chordPred (fake transports).
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.chord.messages import ChordFound, ChordPred, ChordPredIs
from twisted_bazaar.schemes.chord.ring import BITS, fingerStart, place
from twisted_bazaar.schemes.chord.state import Peer
from twisted_bazaar.wire.ids import KEYED

from tests.helpers import feed, linkPeer, sent
from tests.schemes.chord.market import SETTLE, answerOf, holderOf, settledRing
from tests.schemes.chord.test_routing import FAR, ME, PRED, LinkedToOnePeer


class FingerTests(SynchronousTestCase):
    def assertFingersExact(self, market):
        ids = sorted((node.id for node in market.nodes), key=place)
        for node in market.nodes:
            for index in range(BITS):
                start = fingerStart(node.id, index)
                wanted = next((i for i in ids if place(i) >= start), ids[0])
                finger = node.discovery.ring.fingers[index]
                self.assertEqual(finger.id if finger else node.id, wanted,
                                 f"finger {index} of {node.id}")

    def test_everyFingerIsTheSuccessorOfItsStart(self):
        self.assertFingersExact(settledRing(seed=5, size=12))

    def test_fingersToDeadNodesAreRepaired(self):
        market = settledRing(seed=13, size=12)
        for victim in sorted(market.nodes, key=lambda node: node.id)[::4]:
            market.crash(victim)
        market.run(SETTLE)
        self.assertFingersExact(market)

    def test_lookupsGoByFingersNotRoundTheRing(self):
        market = settledRing(seed=6, size=32, settle=SETTLE * 2)
        node = market.nodes[0]
        hops = []
        for step in range(64):
            key = (step * 33_554_467) % 2**31
            deferred = node.discovery.locate(key)
            market.run(0.01)
            found = answerOf(deferred)
            self.assertEqual(found.node.id, holderOf(market, key).id)
            hops.append(found.hops)
        # log2(32) = 5 hops at most with exact fingers; a walk would average 16.
        self.assertLessEqual(max(hops), 5)
        self.assertLess(sum(hops) / len(hops), 3.5)


class FoundFingerTests(LinkedToOnePeer, SynchronousTestCase):
    """Fingers are addresses: no standing links to them."""

    def test_aFoundFingerOpensNoLink(self):
        finger = Peer(800_000_000, "g", 4)
        self.scheme.upkeep.fingers._fingerFound(ChordFound(1, 1, (), 1, finger, ()), 29)
        self.assertEqual(self.scheme.ring.fingers[29], finger)
        self.assertEqual(self.node.connector.requests, [])


class FingerCheckTests(LinkedToOnePeer, SynchronousTestCase):
    """
    Finger repair asks a known finger for its predecessor (a round trip)
    and looks the finger up only if a node came before it, or if no
    answer comes.  Finger 127 starts half the ring past ME; node 700 (the
    linked peer) is the first node after that start, round past zero.
    """

    INDEX = 127

    def setUp(self):
        super().setUp()
        self.start = fingerStart(ME, self.INDEX)
        self.finger = Peer(700, "", 7007)
        self.scheme.ring.fingers[self.INDEX] = self.finger
        self.scheme.upkeep.fingers._finger = self.INDEX
        self.scheme.upkeep.fingers.fix()
        [self.asked] = sent(self.link)

    def test_thePredecessorIsAsked(self):
        self.assertIsInstance(self.asked, ChordPred)
        self.assertEqual(self.scheme.router._pending, {})

    def test_aPredecessorBeforeTheStartKeepsTheFinger(self):
        before = Peer(KEYED | (self.start - 5), "b", 1)
        feed(self.link, ChordPredIs(self.asked.nonce, before))
        self.assertEqual(self.scheme.ring.fingers[self.INDEX], self.finger)
        self.assertEqual(self.scheme.router._pending, {})
        self.assertIsNone(self.scheme.upkeep.fingers._fixing)

    def test_aNodeJustAfterTheStartBecomesTheFingerAndIsCheckedNext(self):
        """A predecessor in [start, finger) within about two of our own
        successors' spacing: a step back, no lookup."""
        nearer = Peer(KEYED | (self.start + 9), "n", 1)
        feed(self.link, ChordPredIs(self.asked.nonce, nearer))
        self.assertEqual(self.scheme.ring.fingers[self.INDEX], nearer)
        self.assertEqual(self.scheme.router._pending, {})
        self.assertEqual(self.scheme.upkeep.fingers._finger, self.INDEX)

    def test_aNodeFarBetweenTheStartAndTheFingerBringsALookup(self):
        far = Peer(KEYED | (self.start + 2**100), "n", 1)
        feed(self.link, ChordPredIs(self.asked.nonce, far))
        self.assertEqual(len(self.scheme.router._pending), 1)
        self.assertIsNotNone(self.scheme.upkeep.fingers._fixing)
        self.assertEqual(self.scheme.ring.fingers[self.INDEX], self.finger)

    def test_aNearbyPredecessorKnownDeadBringsALookup(self):
        nearer = Peer(KEYED | (self.start + 9), "n", 1)
        self.scheme.upkeep.bury(nearer.id)
        feed(self.link, ChordPredIs(self.asked.nonce, nearer))
        self.assertEqual(len(self.scheme.router._pending), 1)

    def test_noAnswerBringsALookup(self):
        self.node.clock.advance(self.scheme.settings.lookup_timeout)
        self.assertEqual(len(self.scheme.router._pending), 1)

    def test_anAnswerWithAnotherNonceOrFromAnotherPeerIsIgnored(self):
        other = linkPeer(self.node, 900, purpose="chord")
        feed(other, ChordPredIs(self.asked.nonce, None))
        feed(self.link, ChordPredIs(self.asked.nonce + 1, None))
        self.assertIsNotNone(self.scheme.upkeep.fingers._checking)

    def test_stoppingEndsTheCheck(self):
        self.scheme.stopService()
        self.assertIsNone(self.scheme.upkeep.fingers._checking)
        self.assertEqual(self.node.clock.getDelayedCalls(), [])

    def test_stoppingAbandonsTheLinkBeingOpenedForACheck(self):
        feed(self.link, ChordPredIs(self.asked.nonce, None))
        self.scheme.ring.fingers[100] = Peer(FAR, "f", 3)
        self.scheme.upkeep.fingers._finger = 100
        self.scheme.upkeep.fingers.fix()
        [request] = self.node.connector.requests
        self.scheme.stopService()
        self.assertTrue(request.link.closing)
        self.assertIsNone(self.scheme.upkeep.fingers._checking)

    def test_aFingerWithNoLinkIsAskedOverAFingerLinkOpenedForIt(self):
        scheme = self.scheme
        feed(self.link, ChordPredIs(self.asked.nonce, None))
        far = Peer(FAR, "f", 3)
        scheme.ring.fingers[100] = far
        scheme.upkeep.fingers._finger = 100
        scheme.upkeep.fingers.fix()
        [request] = self.node.connector.requests
        self.assertEqual((request.host, request.port), ("f", 3))


class PredecessorAnswerTests(LinkedToOnePeer, SynchronousTestCase):
    def test_aNodeOnTheRingNamesItsPredecessor(self):
        feed(self.link, ChordPred(4))
        self.assertEqual(sent(self.link), [ChordPredIs(4, Peer(PRED, "p", 1))])

    def test_aNodeNotOnTheRingSaysNothing(self):
        self.scheme.joined = False
        feed(self.link, ChordPred(4))
        self.assertEqual(sent(self.link), [])
