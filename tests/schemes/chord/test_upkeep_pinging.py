"""
Tests for twisted_bazaar.schemes.chord.upkeep's pings: dead successors are
found by their missed pings and the ring repaired (real nodes in a
L{Market}); one node's answers to pings (fake transports); and whom it
pings, as its neighbours answer (fake transports and a task.Clock).
"""

from twisted.internet.error import ConnectionLost
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.chord.messages import ChordPing, ChordPong, ChordStabilize
from twisted_bazaar.testing import Market

from tests.helpers import feed, linkPeer, sent
from tests.schemes.chord.market import FAST, SETTLE, addChord, ringViolations
from tests.schemes.chord.test_routing import FAR, PRED, SUCC, LinkedToOnePeer
from tests.schemes.chord.test_upkeep import AnsweredNeighbours


class FailureTests(SynchronousTestCase):
    def setUp(self):
        self.market = Market(seed=7)
        self.nodes = [addChord(self.market) for _ in range(8)]
        self.market.run(SETTLE)

    def test_aDeadSuccessorIsDetectedAndTheRingRepaired(self):
        market = self.market
        ordered = sorted(market.nodes, key=lambda node: node.id)
        victim, pred = ordered[3], ordered[2]
        market.crash(victim)
        # Not yet: the successor list still names it until k pings are missed.
        market.run(FAST["chord-ping"])
        self.assertIn(victim.id, [p.id for p in pred.discovery.ring.successors])
        market.run(FAST["chord-ping"] * (FAST["chord-missed"] + 1) * 1.25 + 0.1)
        self.assertEqual(pred.discovery.ring.successor.id, ordered[4].id)
        market.run(SETTLE)
        self.assertEqual(ringViolations(market), [])

    def test_losingEverySuccessorAtOnceIsRepaired(self):
        """With r = 2, three neighbours crashing leave a node with no live
        successor: it falls back on its nearest finger, and the node after
        the gap, pinging its own predecessor, is found again."""
        market = Market(seed=12)
        for _ in range(10):
            addChord(market, scheme={"chord-successors": 2, "chord-holders": 2})
        market.run(SETTLE)
        ordered = sorted(market.nodes, key=lambda node: node.id)
        for victim in ordered[3:6]:
            market.crash(victim)
        market.run(SETTLE)
        self.assertEqual(ringViolations(market), [])
        self.assertEqual(ordered[2].discovery.ring.successor.id, ordered[6].id)

    def test_neighboursCrashingTogetherAreRepaired(self):
        market = self.market
        ordered = sorted(market.nodes, key=lambda node: node.id)
        for victim in ordered[2:5]:
            market.crash(victim)
        market.run(SETTLE)
        self.assertEqual(ringViolations(market), [])


class PingMessageTests(LinkedToOnePeer, SynchronousTestCase):
    def test_pingIsAnswered(self):
        feed(self.link, ChordPing(5))
        self.assertEqual(sent(self.link), [ChordPong(5)])

    def test_aPingFromACloserSuccessorMakesItOurs(self):
        """A node that takes us for its predecessor and lies before our
        successor is our successor: we adopt it and stabilize with it."""
        closer = linkPeer(self.node, 1500, purpose="chord", port=7015)
        feed(closer, ChordPing(5, True))
        self.assertEqual(sent(closer), [ChordPong(5), ChordStabilize(1)])
        self.assertEqual([p.id for p in self.scheme.ring.successors], [1500, SUCC, FAR])
        self.assertEqual(self.scheme.ring.successor.port, 7015)

    def test_aPingWithoutTheClaimOrFromFartherChangesNothing(self):
        closer = linkPeer(self.node, 1500, purpose="chord")
        feed(closer, ChordPing(5))
        feed(self.link, ChordPing(6, True))
        self.assertEqual(sent(closer), [ChordPong(5)])
        self.assertEqual(sent(self.link), [ChordPong(6)])
        self.assertEqual([p.id for p in self.scheme.ring.successors], [SUCC, FAR])


class WhomItPingsTests(AnsweredNeighbours, SynchronousTestCase):
    def test_aNeighbourHeardFromIsNotPinged(self):
        """A predecessor that stabilizes with this node more often than it
        would be pinged shows it is alive: no ping."""
        link = self.links[PRED]
        nonces = iter(range(1, 10**6))

        def predecessorStabilizes():
            feed(link, ChordStabilize(next(nonces)))

        self.answer(100, predecessorStabilizes)
        later = self.counted(100, predecessorStabilizes)
        self.assertEqual(later.get((PRED, ChordPing), 0), 0)

    def test_aPredecessorNotHeardFromIsPinged(self):
        self.answer(100)
        later = self.counted(100)
        self.assertGreaterEqual(later[PRED, ChordPing], 2)

    def test_laterSuccessorsAreNotPinged(self):
        """FAR is the first successor's own successor: SUCC keeps it."""
        counts = self.counted(200)
        self.assertEqual(counts.get((FAR, ChordPing), 0), 0)
        self.assertEqual([p.id for p in self.scheme.ring.successors], [SUCC, FAR])

    def test_aNeighbourWhoseLinkBreaksIsFoundDeadSoon(self):
        """Backed off or not, a neighbour whose connection broke (its
        process died) is dead within (missed + 1) x 1.25 x ping seconds."""
        self.answer(100)
        link = self.links.pop(PRED)
        link.connectionLost(Failure(ConnectionLost()))
        settings = self.scheme.settings
        self.answer((settings.missed + 1) * 1.25 * settings.ping - 0.1)
        for request in self.node.connector.requests:
            request.deferred.errback(ConnectionLost())
        self.node.connector.requests.clear()
        self.answer(0.2)
        self.assertIsNone(self.scheme.ring.predecessor)
