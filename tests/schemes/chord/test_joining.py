"""
Tests for twisted_bazaar.schemes.chord.joining: real chord nodes in a
L{Market} (in-memory links, one fake clock) find their place, whether
started together or one by one, and a newcomer is stabilized in; one
node (fake transports) holding the requests that come before its place,
and asking its successor for its fingers.
"""

import random

from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.core.sessionhandlers import SessionParts
from twisted_bazaar.daemon.registry import buildScheme
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.schemes.chord.joining import SEED_WAIT
from twisted_bazaar.schemes.chord.messages import ChordFind, ChordNear, ChordNearIs
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
from tests.schemes.chord.test_routing import ME


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
        self.scheme.useRing(Neighbourhood(self.scheme.me(), 4))
        self.link = linkPeer(self.node, 700, purpose="chord", port=7007)

    def find(self, lookup_id=7):
        feed(self.link, ChordFind(lookup_id, 5, (700,)))

    def test_aRequestWaitsWhileTheNodeJoins(self):
        self.find()
        self.assertEqual(sent(self.link), [])
        self.assertFalse(self.scheme.joined)

    def test_placedItGoesOn(self):
        self.find()
        self.scheme.joining._begin()
        [found] = sent(self.link)
        self.assertEqual((found.id, found.node.id), (7, ME))
        self.assertIsNone(self.scheme.due("seed"))

    def test_stillUnplacedAfterTheSeedWaitTheNodeStartsTheRing(self):
        self.find()
        self.node.clock.advance(SEED_WAIT * 1.25)
        self.assertTrue(self.scheme.joined)
        self.assertTrue(self.scheme.joining._doubt)
        [found] = sent(self.link)
        self.assertEqual(found.node.id, ME)

    def test_heldRequestsAreBounded(self):
        for lookup_id in range(1, HELD_UNPLACED + 5):
            self.find(lookup_id)
        self.scheme.joining._begin()
        self.assertEqual(len(sent(self.link)), HELD_UNPLACED)

    def test_aNodeThatIsNotJoiningDropsTheRequest(self):
        self.scheme.ring = None
        self.find()
        self.assertEqual(self.scheme.router._early, ())
        self.assertIsNone(self.scheme.due("seed"))


class FakeMembership:
    """A node's tracker session, registered, that keeps what is sent."""

    isRegistered = True
    #: Reached by TCP: no transport plugin's way (a link's dial asks
    #: nothing first).
    trackerWay = None

    def __init__(self):
        self.sent = []
        self.parts = SessionParts(owned=frozenset())

    def send(self, message):
        self.sent.append(message)
        return True

    def answer(self, message):
        """The tracker answers: to the part that takes its type."""
        self.parts.dispatch(type(message), "tracker", message)


class Introduced:
    """A chord node registered with a fake tracker session, which keeps
    what the node asks it and lets a test answer."""

    def setUp(self):
        self.node = makeNode(ME)
        self.membership = FakeMembership()
        self.node.setMembership(self.membership)
        self.scheme = buildScheme(self.node, "chord")
        self.scheme.trackerRegistered()

    def asked(self):
        [near] = self.membership.sent
        del self.membership.sent[:]
        return near

    def answer(self, *peers, nonce=None):
        nonce = self.asked().nonce if nonce is None else nonce
        self.membership.answer(ChordNearIs(nonce, peers))


class IntroductionTests(Introduced, SynchronousTestCase):
    """
    A node asks the tracker for the nodes around its place (chordNear) and
    takes its successor, and (a newcomer) its fingers, from the answer
    (chordNearIs); fake transports, a task.Clock.
    """

    def test_aNewcomerAsksForItsPlaceAndFingers(self):
        near = self.asked()
        self.assertEqual((type(near), near.fingers), (ChordNear, True))

    def test_noNodeNamedMeansAlone(self):
        self.answer()
        self.assertTrue(self.scheme.joined)
        self.assertTrue(self.scheme.ring.alone)
        self.assertTrue(self.scheme.joining._doubt)

    def test_theNearestFollowerIsTheSuccessorAndTheRestFingers(self):
        follower, far = Peer(ME + 10, "s", 2), Peer(ME + 2**100, "f", 3)
        self.answer(far, follower)
        ring = self.scheme.ring
        self.assertTrue(self.scheme.joined)
        self.assertEqual(ring.successor, follower)
        self.assertEqual(ring.fingers[0], follower)
        self.assertEqual(ring.fingers[99], far)
        self.assertEqual(ring.fingers[100], far)
        # Stabilization at once, over a link opened to the successor.
        self.assertEqual(self.node.connector.requests[-1][:2], ("s", 2))

    def test_namedFingersAreRepairedAtTheLongestPeriod(self):
        self.answer(Peer(ME + 10, "s", 2))
        pace = self.scheme.upkeep.paces["fingers"]
        self.assertEqual(pace.period, pace.ceiling)
        self.assertGreaterEqual(self.scheme.due("fingers").getTime(),
                                0.75 * pace.ceiling)

    def test_anAnswerWithAnotherNonceIsIgnored(self):
        near = self.asked()
        self.membership.answer(ChordNearIs(near.nonce + 1, ()))
        self.assertFalse(self.scheme.joined)

    def test_noAnswerWithinTheLookupTimeoutAsksAgainLater(self):
        self.asked()
        self.node.clock.advance(self.scheme.settings.lookup_timeout)
        self.assertFalse(self.scheme.joined)
        self.assertEqual(self.membership.sent, [])
        self.node.clock.advance(1.25 * self.scheme.settings.stabilize)
        self.assertIsInstance(self.asked(), ChordNear)

    def test_onlyNodesKnownDeadNamedMeansAskingAgainLater(self):
        self.scheme.upkeep.bury(ME + 10)
        self.answer(Peer(ME + 10, "s", 2))
        self.assertFalse(self.scheme.joined)
        self.node.clock.advance(1.25 * self.scheme.settings.stabilize)
        self.assertIsInstance(self.asked(), ChordNear)

    def test_aloneOnTheRingOnlyTheDeadNamedIsNoFailure(self):
        """The last node, alone after its neighbour quit, probes; the
        tracker still names that neighbour, known dead here: nothing to
        join, and no 'could not join the chord ring yet' (issue 96)."""
        self.answer()
        self.scheme.upkeep.bury(ME + 10)
        self.scheme.joining._probe()
        with capturedLogs() as events:
            self.answer(Peer(ME + 10, "s", 2))
        self.assertEqual([formatEvent(event) for event in events
                          if "could not join" in formatEvent(event)], [])
        self.assertTrue(self.scheme.joined)
        self.assertTrue(self.scheme.ring.alone)

    def test_stoppingCancelsTheQuestion(self):
        self.asked()
        self.scheme.stopService()
        self.assertIsNone(self.scheme.joining._near)
        self.assertEqual(self.node.clock.getDelayedCalls(), [])

    def placedWithSuccessor(self, succ):
        """Joined after succ, its fingers as the tracker named them, and
        its first probe (which asked for fingers) answered with the same:
        a probe from then on asks for the follower only."""
        self.answer(Peer(succ, "s", 2))
        self.scheme.joining._probe()
        self.answer(Peer(succ, "s", 2))
        self.scheme.joining._probe()
        near = self.asked()
        self.assertIsNone(near.fingers)
        return near

    def test_aProbeThatNamesANearerNodeMakesItTheSuccessor(self):
        near = self.placedWithSuccessor(ME + 100)
        closer = Peer(ME + 50, "c", 4)
        self.membership.answer(ChordNearIs(near.nonce, (closer,)))
        self.assertEqual(self.scheme.ring.successor, closer)

    def test_aProbeThatNamesAFartherNodeChangesNothing(self):
        near = self.placedWithSuccessor(ME + 100)
        self.membership.answer(
            ChordNearIs(near.nonce, (Peer(ME + 150, "c", 4),)))
        self.assertEqual(self.scheme.ring.successor.id, ME + 100)


class GuessedFingersTests(Introduced, SynchronousTestCase):
    """
    Nodes started together join while the tracker knows few of them: a
    node's probes ask for its fingers too, and take the tracker's better
    guesses, until an answer improves none (fake transports, a
    task.Clock).
    """

    def test_aProbeAsksForFingersWhileTheyAreGuesses(self):
        self.answer(Peer(ME + 10, "s", 2))
        self.scheme.joining._probe()
        self.assertIs(self.asked().fingers, True)

    def test_aNodeToldItIsAloneTakesItsFingersFromItsFirstProbe(self):
        self.answer()
        self.scheme.joining._probe()
        follower, far = Peer(ME + 10, "s", 2), Peer(ME + 2**100, "f", 3)
        self.answer(follower, far)
        ring = self.scheme.ring
        self.assertEqual(ring.successor, follower)
        self.assertEqual(ring.fingers[100], far)

    def test_aBetterGuessTakesAFingersPlace(self):
        """The tracker knew few nodes at the join: a finger far past its
        start; at the probe, it names one nearer, which takes its place,
        and finger repair starts again at its longest period."""
        follower = Peer(ME + 10, "s", 2)
        self.answer(follower, Peer(ME + 2**101, "f", 3))
        pace = self.scheme.upkeep.paces["fingers"]
        pace.stir()
        self.scheme.joining._probe()
        nearer = Peer(ME + 2**100 + 5, "n", 4)
        self.answer(follower, nearer)
        ring = self.scheme.ring
        self.assertEqual(ring.fingers[100], nearer)
        self.assertEqual(ring.fingers[101], Peer(ME + 2**101, "f", 3))
        self.assertEqual(pace.period, pace.ceiling)

    def test_anAnswerThatImprovesNoFingerEndsTheGuesses(self):
        self.answer(Peer(ME + 10, "s", 2), Peer(ME + 2**100, "f", 3))
        self.scheme.joining._probe()
        self.answer(Peer(ME + 10, "s", 2), Peer(ME + 2**100 + 5, "n", 4))
        self.scheme.joining._probe()
        self.assertIsNone(self.asked().fingers)

    def test_aNodePlacedWholeProbesForItsFollowerOnly(self):
        """A simulator's warm ring: its fingers are exact, and a probe of
        each of its nodes asks the tracker for the follower alone."""
        node = makeNode(ME)
        membership = FakeMembership()
        node.setMembership(membership)
        scheme = buildScheme(node, "chord")
        scheme.joining.place([Peer(ME + 10, "s", 2)], Peer(ME - 10, "p", 3), ())
        scheme.joining._probe()
        [near] = membership.sent
        self.assertIsNone(near.fingers)
