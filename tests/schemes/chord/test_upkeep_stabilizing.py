"""
Tests for twisted_bazaar.schemes.chord.upkeep's stabilization: one node's answer
to a stabilization (notify, then its state) and a state nobody asked
for (fake transports); and the stabilization's period, as its successor
answers (fake transports and a task.Clock).
"""

from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.daemon.registry import buildScheme
from twisted_bazaar.schemes.chord.messages import ChordStabilize, ChordState
from twisted_bazaar.schemes.chord.ring import puzzleBits, strictlyBetween
from twisted_bazaar.schemes.chord.state import Neighbourhood, Peer
from twisted_bazaar.wire.ids import shortId

from tests.helpers import feed, linkPeer, makeNode, sent
from tests.records import identity
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


def solving(bits, fewer=129):
    """Key pairs of tests.records whose ids solve ``bits`` of the puzzle,
    and fewer than ``fewer``."""
    return (identity(seed) for seed in range(3000, 10000)
            if bits <= puzzleBits(identity(seed).id) < fewer)


class PuzzleMismatchTests(SynchronousTestCase):
    """
    A node of --chord-puzzle 2 in a ring of 4 (as one of 8 in a ring of
    12): it takes the ring's nodes, they never take it (issue 96: it
    logged "joined the chord ring" and nothing more).  Its successor's
    answer names another predecessor, none nearer: it warns once, naming
    the mismatch.
    """

    def setUp(self):
        self.build(next(solving(2, 4)))

    def build(self, me):
        """This node is ``me`` (a key pair), placed before its successor."""
        self.node = makeNode(me.id, identity=me)
        scheme = self.scheme = buildScheme(self.node, "chord", chord_puzzle=2)
        strong = (i for i in solving(4) if i.id != me.id)
        self.succ = next(strong)
        between = lambda i: strictlyBetween(i.id, me.id, self.succ.id)  # noqa: E731
        ring = [next(strong) for _ in range(40)]
        #: A ring node nearer the successor than this node, one farther.
        self.nearer = next(i for i in ring if between(i))
        self.farther = next(i for i in ring if not between(i))
        ring = scheme.ring = scheme.router.ring = Neighbourhood(
            Peer(me.id, self.node.host, self.node.port), 4)
        ring.successors = [Peer(self.succ.id, "s", 2)]
        scheme.joined = scheme.router.accepting = True
        self.link = linkPeer(self.node, self.succ, purpose="chord")

    def answered(self, pred):
        """Stabilize once, the successor answering with ``pred`` (a key
        pair, None, or this node's own): the warnings logged."""
        with capturedLogs() as events:
            self.scheme.upkeep._stabilize()
            [asked] = sent(self.link)
            feed(self.link, ChordState(asked.nonce, pred and Peer(pred.id, "p", 4),
                                       (Peer(self.farther.id, "f", 3),)))
        return [formatEvent(event) for event in events
                if event["log_level"] == LogLevel.warn]

    def test_refusedForItsPuzzle(self):
        """Once a run, whether the answer names another predecessor or none."""
        mine = puzzleBits(self.node.id)
        least = min(puzzleBits(i.id) for i in (self.succ, self.farther))
        self.assertEqual(self.answered(None), [
            f"the chord ring takes this node for no neighbour: its successor "
            f"{shortId(self.succ.id)} refused it as predecessor, as its id solves "
            f"{mine} bits of the puzzle and the ring's ids {least} or more (this "
            "node's --chord-puzzle is 2; every node of a ring must give the same); "
            "it still reaches the ring as a client does"])
        self.assertEqual(self.answered(self.farther), [])
        self.build(self.node.identity)
        self.assertEqual(len(self.answered(self.farther)), 1)

    def test_takenOrANearerPredecessor(self):
        """Taken, or told of a nearer predecessor to adopt: no warning."""
        self.assertEqual(self.answered(self.node.identity), [])
        self.assertEqual(self.answered(self.nearer), [])
        self.assertEqual(self.scheme.ring.successor.id, self.nearer.id)

    def test_anIdThatSolvesAsMuch(self):
        """An answer that refuses an id solving as many bits as the ring's
        is no puzzle's refusal: nothing said."""
        self.build(self.nearer)
        self.assertEqual(self.answered(None), [])
