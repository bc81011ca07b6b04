"""
Tests for twisted_bazaar.schemes.chord.upkeep: the ring links to the
neighbours (and no standing ones to fingers), the periods that back off
while nothing changes (fake transports and a task.Clock), and the
puzzle every peer taken must solve.  Its pings: test_upkeep_pinging;
its stabilization: test_upkeep_stabilizing.
"""

from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from twisted_bazaar import wire
from twisted_bazaar.wire import Dc
from twisted_bazaar.daemon.registry import buildScheme
from twisted_bazaar.net.overlay import Overlay
from twisted_bazaar.schemes.chord.messages import (
    ChordFind,
    ChordPing,
    ChordPong,
    ChordStabilize,
    ChordState,
)
from twisted_bazaar.schemes.chord.ring import solves
from twisted_bazaar.schemes.chord.state import Neighbourhood, Peer
from twisted_bazaar.schemes.chord.upkeep import IRingHost

from tests.helpers import (
    Recorder,
    answerAs,
    assertDialRefused,
    feed,
    linkPeer,
    makeNode,
    sent,
)
from tests.records import identity
from tests.schemes.chord.test_routing import FAR, ME, PRED, SUCC, LinkedToOnePeer


class FingerLinkTests(LinkedToOnePeer, SynchronousTestCase):
    """Fingers are addresses: no standing links to them."""

    def test_theSchemeProvidesTheRingHost(self):
        """The upkeep reaches the scheme through IRingHost alone, and
        ChordDiscovery provides all of it."""
        self.assertTrue(verifyObject(IRingHost, self.scheme))

    def test_pruningClosesRingLinksToPeersNoLongerNeighbours(self):
        """Outbound ring links to anyone but the successors and the
        predecessor are closed; inbound ones are the peer's to close."""
        succ = linkPeer(self.node, SUCC, inbound=False, purpose="chord")
        former = linkPeer(self.node, 1500, inbound=False, purpose="chord")
        self.scheme.ring.fingers[29] = Peer(1500, "x", 1)
        self.scheme.upkeep.prune()
        self.assertEqual(sent(former), [Dc()])
        self.assertEqual((sent(succ), sent(self.link)), ([], []))


    def test_pruningHandsOutOnlyTheLinksItCloses(self):
        """Pruning reads the peers of the ring links and takes the link of
        each peer no longer a neighbour alone: the links it keeps are not
        handed out (issue 95: a quiet link may be less than a link until a
        part takes it; every chord node handed out all its ring links at
        each prune, 2.9 quiet links a node of a warm 20,000-node run)."""
        linkPeer(self.node, SUCC, inbound=False, purpose="chord")
        former = linkPeer(self.node, 1500, inbound=False, purpose="chord")
        self.scheme.ring.fingers[29] = Peer(1500, "x", 1)
        handed = []
        linkTo = Overlay.linkTo

        def handOut(overlay, peer_id):
            handed.append(peer_id)
            return linkTo(overlay, peer_id)

        self.patch(Overlay, "linkTo", handOut)
        self.patch(Overlay, "linkEnds", lambda overlay: self.fail("every link handed out"))
        self.scheme.upkeep.prune()
        self.assertEqual((handed, sent(former)), ([1500], [Dc()]))


class RingLinkTests(LinkedToOnePeer, SynchronousTestCase):
    """Ring links: to the first successor at once; to the others when
    there are records to copy to them, or at their first ping."""

    def adopt(self):
        scheme = self.scheme
        scheme.upkeep.update(lambda: scheme.ring.adopt(Peer(1500, "a", 1), [Peer(1600, "b", 2)]))
        return [(r.host, r.port) for r in self.node.connector.requests]

    def test_aNeighbourNotLinkedIsTold(self):
        """A ring neighbour the node could not link to (one of the other
        address family, in a dual-stack market: the tracker names ring
        neighbours whatever their family) is told the node's observers as
        the flood's failed links are (L{linkFailed}): a chord buyer that
        gave up said nothing of it (issue 96)."""
        recorder = Recorder()
        self.node.addObserver(recorder)
        self.adopt()
        self.node.connector.failLast(ConnectionRefusedError("refused"))
        [failed] = [event for event in recorder.events if event[0] == "linkFailed"]
        self.assertEqual(failed[1:4], (1500, "a", 1))
        self.assertIn("refused", failed[4])

    def test_onlyTheFirstSuccessorIsLinkedAtOnce(self):
        self.assertEqual(self.adopt(), [("a", 1)])

    def test_everySuccessorIsLinkedWhenThereAreRecordsToCopy(self):
        self.patch(type(self.scheme.records), "__len__", lambda records: 1)
        self.assertEqual(self.adopt()[:2], [("a", 1), ("b", 2)])

    def test_aNeighbourNamedAtThisMachineIsNotDialled(self):
        """A stranger's ring entries (a chordState's successors, a
        chordFound's) naming a node at 127.0.0.1 and a port of its choice
        would have this node connect to a service of its own machine: on a
        connector of real addresses, a node not on loopback dials none
        (docs/protocol.md §5, "Hosts a peer names"); its other neighbours
        it does."""
        self.node.connector.addressed = True
        self.patch(type(self.scheme.records), "__len__", lambda records: 1)
        scheme = self.scheme
        scheme.upkeep.update(lambda: scheme.ring.adopt(
            Peer(1500, "127.0.0.1", 6379), [Peer(1600, "203.0.113.8", 9001)]))
        self.assertEqual([(r.host, r.port) for r in self.node.connector.requests],
                         [("203.0.113.8", 9001)])

    def test_aNeighbourIsDialledOnItsNamersAccount(self):
        """A ring entry a chordState named is dialled as the word of the
        link it came over: were its host refused, the line is charged to
        that link's address group (L{Peer.namedBy}; it was charged to no
        address group, with every other namer's refused hosts).  One
        named nowhere the node remembers has no namer."""
        self.node.connector.addressed = True
        self.patch(type(self.scheme.records), "__len__", lambda records: 1)
        succ = linkPeer(self.node, SUCC, purpose="chord")
        succ.transport.peerAddr = IPv4Address("TCP", "198.51.100.9", 5000)
        named = []
        dial = self.node.dialer.dial
        self.node.dialer.dial = lambda peer, purpose, protocol=None: (
            named.append((peer.host, peer.namedBy)), dial(peer, purpose, protocol))[1]
        self.scheme.upkeep.askSuccessor()
        [stabilize] = [m for m in sent(succ) if isinstance(m, ChordStabilize)]
        feed(succ, ChordState(stabilize.nonce, None, (Peer(2500, "b", 2),)))
        self.assertIn(("b", "198.51.0.0/16"), named)
        self.assertIsNone(self.scheme.namerOf(Peer(2600, "c", 3)))

    def test_stopCancelsEveryRingLinkBeingOpened(self):
        """Stopping cancels each ring link still being opened, however
        many (each cancelled one leaves the table as it goes)."""
        self.patch(type(self.scheme.records), "__len__", lambda records: 1)
        self.adopt()
        self.assertGreaterEqual(len(self.scheme.upkeep._connecting), 2)
        self.scheme.upkeep.stop()
        self.assertEqual(dict(self.scheme.upkeep._connecting), {})

    def test_aNeighbourLinkedForItsPingIsPingedAtOnce(self):
        self.scheme.upkeep._ping()
        [request] = [r for r in self.node.connector.requests if r.host == "s"]
        link = request.link
        link.makeConnection(StringTransport())
        request.deferred.callback(link)
        sent(link)
        feed(link, wire.ThisIsMe(SUCC, 2, "s", purpose="chord"))
        [ping] = [m for m in sent(link) if isinstance(m, ChordPing)]
        self.assertEqual(self.scheme.upkeep._awaiting[SUCC], ping.nonce)


class WhomTheDialReachedTests(LinkedToOnePeer, SynchronousTestCase):
    """A ring neighbour is dialled by its id: a node at its address that
    proves another key is refused, and is not taken as the neighbour."""

    def test_anotherKeyAtASuccessorsAddress(self):
        dialled, impostor = identity(41), identity(42)
        scheme = self.scheme
        scheme.upkeep.update(lambda: scheme.ring.adopt(Peer(dialled.id, "a", 1), []))
        [request] = [r for r in self.node.connector.requests if r.host == "a"]
        self.assertEqual(request.link.purpose, "chord")
        link = self.node.connector.connectLast()
        answerAs(link, impostor, 1, "a")
        assertDialRefused(self, self.node, link, dialled.id, impostor)


class AnsweredNeighbours:
    """
    A node placed between PRED and SUCC (then FAR), linked to the three,
    with periods of 1 s backing off to 30 s.  Its neighbours
    answer every ping and stabilization, and nothing else.
    """

    def setUp(self):
        self.node = makeNode(ME)
        self.scheme = buildScheme(self.node, "chord", chord_max_period=30.0)
        self.links = {peer: linkPeer(self.node, peer, purpose="chord")
                      for peer in (PRED, SUCC, FAR)}
        self.scheme.joining.place([Peer(SUCC, "", 5000), Peer(FAR, "", 5000)],
                                  Peer(PRED, "", 5000), ())
        self.counts = {}
        #: The successor list SUCC answers with.
        self.theirs = (Peer(FAR, "", 5000),)

    def answer(self, seconds, also=lambda: None):
        """Let time pass, the neighbours answering; count what each got."""
        for _ in range(round(seconds * 10)):
            self.node.clock.advance(0.1)
            also()
            for peer, link in self.links.items():
                for message in sent(link):
                    kind = type(message)
                    self.counts[peer, kind] = self.counts.get((peer, kind), 0) + 1
                    if kind is ChordPing:
                        feed(link, ChordPong(message.nonce))
                    elif kind is ChordStabilize:
                        feed(link, ChordState(message.nonce, Peer(ME, "", 0),
                                              self.theirs))

    def counted(self, seconds, also=lambda: None):
        """What each neighbour got in the next so many seconds."""
        self.counts = {}
        self.answer(seconds, also)
        counts, self.counts = self.counts, {}
        return counts


class AdaptivePeriodTests(AnsweredNeighbours, SynchronousTestCase):
    """The periods of the upkeep back off while nothing changes, and come
    back when the ring next to the node does."""

    def test_aPlacedNodeKeepsItsRingAtTheLongestPeriods(self):
        """Placed whole (a simulator's warm ring), the node keeps it as one
        that kept a settled ring a while: nothing in the first 22.5 s (30 s
        periods, +-25%), and its first probe a probe period away."""
        self.assertEqual(self.counted(22.4), {})
        settings = self.scheme.settings
        self.assertGreaterEqual(self.scheme.due("probe").getTime(),
                                self.node.clock.seconds() + 0.75 * settings.probe - 22.4)

    def test_aQuietNeighbourhoodIsKeptLessAndLessOften(self):
        # Something changed next to the node: stabilization comes back to
        # its base period (1, 2, 4 s...), pings stay at their longest: at
        # most one round in the first seconds; then at 30 s (+-25%), at
        # most five of each in 100 s.
        self.scheme.upkeep.stir("stabilize")
        first = self.counted(10)
        self.answer(100)
        later = self.counted(100)
        self.assertGreaterEqual(first[SUCC, ChordStabilize], 3)
        self.assertLessEqual(first.get((PRED, ChordPing), 0), 1)
        for peer in (PRED, SUCC, FAR):
            self.assertLessEqual(later.get((peer, ChordPing), 0), 5)
        self.assertLessEqual(later[SUCC, ChordStabilize], 5)
        self.assertLessEqual(later.get((SUCC, ChordFind), 0), 5)

    def test_aNewNeighbourBringsTheBasePeriodBack(self):
        self.answer(100)
        closer = linkPeer(self.node, 1500, purpose="chord", port=7015)
        self.links[1500] = closer
        feed(closer, ChordPing(5, True))
        # Stabilization came 30 s apart or so; now with the new successor
        # at once, then a base period (+-25%) later.
        after = self.counted(2.6)
        self.assertEqual(self.scheme.ring.successor.id, 1500)
        self.assertGreaterEqual(after[1500, ChordStabilize], 2)

def drawn(bits, solving):
    """The first key pair of tests.records whose id solves (or does not
    solve) a puzzle of ``bits``."""
    return next(identity(seed) for seed in range(3000, 10000)
                if solves(identity(seed).id, bits) == solving)


class PuzzleTests(SynchronousTestCase):
    """A node on a ring with a puzzle never takes a peer whose id does
    not solve it: a place on the ring costs 2^bits tries."""

    def setUp(self):
        self.node = makeNode(ME)
        scheme = self.scheme = buildScheme(self.node, "chord", chord_puzzle=8)
        ring = scheme.ring = scheme.router.ring = Neighbourhood(
            Peer(ME, self.node.host, self.node.port), 4)
        ring.successors = [Peer(SUCC, "s", 2), Peer(FAR, "f", 3)]
        scheme.joined = scheme.router.accepting = True

    def test_aNotifyFromAnIdThatDoesNotSolveIsNotTaken(self):
        cheap = linkPeer(self.node, drawn(8, False), purpose="chord")
        feed(cheap, ChordStabilize(3))
        [state] = sent(cheap)
        self.assertIsNone(state.pred)
        self.assertIsNone(self.scheme.ring.predecessor)
        costly = drawn(8, True)
        link = linkPeer(self.node, costly, purpose="chord")
        feed(link, ChordStabilize(4))
        self.assertEqual(self.scheme.ring.predecessor.id, costly.id)

    def test_peersNamedAreLeftOutUnlessTheySolve(self):
        """Whoever names them (the tracker's chordNearIs, a chordState, a
        chordQuit, a finger's chordPredIs or chordFound, a claim of
        succession in a chordPing): keyless ids solve no puzzle."""
        cheap, costly = drawn(8, False), drawn(8, True)
        named = (Peer(cheap.id, "c", 1), Peer(costly.id, "k", 2), Peer(SUCC, "s", 2))
        self.assertEqual([p.id for p in self.scheme.upkeep.living(named)], [costly.id])
