"""
Tests for twisted_bazaar.schemes.chord.upkeep's stabilization: one node's answer
to a stabilization (notify, then its state) and a state nobody asked
for (fake transports); and the stabilization's period, as its successor
answers (fake transports and a task.Clock).
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.chord.messages import ChordStabilize, ChordState
from twisted_bazaar.schemes.chord.state import Peer

from tests.helpers import feed, sent
from tests.schemes.chord.test_routing import FAR, SUCC, LinkedToOnePeer
from tests.schemes.chord.test_upkeep import AnsweredNeighbours


class StabilizeMessageTests(LinkedToOnePeer, SynchronousTestCase):
    def test_stabilizeNotifiesAndAnswersWithTheNewPredecessor(self):
        feed(self.link, ChordStabilize(3))
        [state] = sent(self.link)
        self.assertEqual(state.nonce, 3)
        self.assertEqual(state.pred.id, 700)
        self.assertEqual([p.id for p in state.succs], [SUCC, FAR])

    def test_aStateNobodyAskedForIsIgnored(self):
        feed(self.link, ChordState(99, Peer(3, "x", 1), (Peer(4, "y", 1),)))
        self.assertEqual([p.id for p in self.scheme.ring.successors], [SUCC, FAR])


class StabilizePeriodTests(AnsweredNeighbours, SynchronousTestCase):
    def test_aNewLaterSuccessorKeepsThePeriod(self):
        """Only a new first successor or predecessor brings stabilization
        back to its base: a node that joined past the successor is learnt
        from its list, and the ring next to this node has not changed."""
        self.answer(100)
        pace = self.scheme.upkeep.paces["stabilize"]
        self.assertEqual(pace.period, pace.ceiling)
        self.theirs = (Peer(3000, "", 5000), Peer(FAR, "", 5000))
        self.answer(40)
        self.assertEqual([p.id for p in self.scheme.ring.successors], [SUCC, 3000, FAR])
        self.assertEqual(pace.period, pace.ceiling)
