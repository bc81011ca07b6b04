"""
Tests for twisted_bazaar.schemes.chord.routing, on one placed node with
fake transports and a task.Clock: where a request goes, what the holder
answers, and what bad input gets.
"""

import json

from twisted.internet.address import IPv4Address
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.wire.ids import KEYED
from twisted_bazaar import wire
from twisted_bazaar.daemon.registry import buildScheme
from twisted_bazaar.schemes.chord.messages import (
    ChordFind,
    ChordFound,
    ChordQuit,
    ChordRecords,
    ChordRequest,
    ChordStabilize,
    ChordStore,
    ChordStored,
    ChordTransfer,
    Handed,
)
from twisted_bazaar.schemes.chord.records import OWN
from twisted_bazaar.schemes.chord.ring import keyOf
from twisted_bazaar.schemes.chord import holding, lookups, routing
from twisted_bazaar.schemes.chord.routing import HELD_PER_HOP
from twisted_bazaar.schemes.chord.settings import FINGER
from twisted_bazaar.schemes.chord.state import Neighbourhood, Peer

from tests.helpers import (
    Recorder,
    answerAs,
    assertDialRefused,
    feed,
    jsonNetstring,
    linkPeer,
    makeNode,
    parseJSONNetstrings,
    sent,
)
from tests.records import forged, identity, signed

ME, PRED, SUCC, FAR = 1000, 500, 2000, 1_500_000_000


def placed(node):
    """The node's chord scheme, on a ring PRED -> node -> SUCC -> FAR."""
    scheme = buildScheme(node, "chord")
    ring = scheme.ring = scheme.router.ring = Neighbourhood(
        Peer(node.id, node.host, node.port), 4)
    ring.successors = [Peer(SUCC, "s", 2), Peer(FAR, "f", 3)]
    ring.predecessor = Peer(PRED, "p", 1)
    scheme.joined = scheme.router.accepting = True
    return scheme


class LinkedToOnePeer:
    """Tests of a placed node (L{ME}) with one chord link, to node 700,
    port 7007: C{self.node}, C{self.scheme}, C{self.link}."""

    def setUp(self):
        self.node = makeNode(ME)
        self.scheme = placed(self.node)
        self.link = linkPeer(self.node, 700, purpose="chord", port=7007)


class RoutingTests(SynchronousTestCase):
    def setUp(self):
        self.node = makeNode(ME)
        self.scheme = placed(self.node)
        self.pred = linkPeer(self.node, PRED, purpose="chord")
        self.succ = linkPeer(self.node, SUCC, purpose="chord")
        self.far = linkPeer(self.node, FAR, purpose="chord")

    def test_aKeyThisNodeHoldsIsAnsweredBackToTheOrigin(self):
        feed(self.pred, ChordFind(7, 800, (42, PRED)))
        [found] = sent(self.pred)
        self.assertEqual((type(found), found.path, found.hops, found.node.id),
                         (ChordFound, (ME, PRED, 42), 2, ME))
        self.assertEqual([p.id for p in found.succs], [SUCC, FAR])

    def test_aLinkedOriginIsAnsweredDirectly(self):
        origin = linkPeer(self.node, 42)
        feed(self.pred, ChordFind(7, 800, (42, PRED)))
        self.assertEqual(sent(self.pred), [])
        self.assertEqual(sent(origin)[0].path, (ME, 42))

    def test_aQuittingNodeTakesNoRequest(self):
        """Once the node quits (L{KeyRouter.quitting}), a request whose key
        it holds is neither answered nor held for later."""
        self.scheme.router.quitting()
        feed(self.pred, ChordFind(7, 800, (42, PRED)))
        self.assertEqual((sent(self.pred), self.scheme.router._early), ([], ()))

    def test_useRing(self):
        """The ring a router is given is the one it routes round."""
        ring = Neighbourhood(Peer(ME, "m", 9), 4)
        self.scheme.router.useRing(ring)
        self.assertIs(self.scheme.router.ring, ring)

    def test_aKeyJustPastGoesToTheSuccessor(self):
        feed(self.pred, ChordFind(7, 1500, (PRED,)))
        self.assertEqual(sent(self.succ), [ChordFind(7, 1500, (PRED, ME))])

    def test_aFarKeyGoesToTheClosestPrecedingNode(self):
        feed(self.pred, ChordFind(7, FAR + 10, (PRED,)))
        self.assertEqual(sent(self.far), [ChordFind(7, FAR + 10, (PRED, ME))])
        self.assertEqual(sent(self.succ), [])

    def test_aDeadLinkIsRoutedRound(self):
        """The link to a successor is gone and cannot be opened again: the
        request goes to the next best hop, and the successor is left to
        its pings."""
        self.far.connectionLost(None)
        feed(self.pred, ChordFind(7, FAR + 10, (PRED,)))
        self.node.connector.failLast(ConnectionRefusedError("refused"))
        self.assertEqual(sent(self.succ), [ChordFind(7, FAR + 10, (PRED, ME))])
        self.assertIn(FAR, [peer.id for peer in self.scheme.ring.successors])

    def test_theSenderSaysWeHoldIt(self):
        """Key between the sender and us: its successor pointer says so."""
        feed(self.pred, ChordFind(7, 400, (PRED,)))
        self.assertEqual(sent(self.pred), [])
        # From the predecessor it goes on round the ring...
        self.assertEqual(sent(self.far), [ChordFind(7, 400, (PRED, ME))])
        # ...but from a node before it, this node is the one that holds it.
        feed(self.far, ChordFind(8, 400, (FAR,)))
        self.assertEqual(type(sent(self.far)[0]), ChordFound)

    def test_aRequestNeverGoesBackAlongItsPath(self):
        feed(self.pred, ChordFind(7, FAR + 10, (FAR, PRED)))
        self.assertEqual(sent(self.far), [])
        self.assertEqual(sent(self.succ), [ChordFind(7, FAR + 10, (FAR, PRED, ME))])

    def test_storeThenRequest(self):
        key = keyOf("apple")
        # A node whose id is the key's place (a keyed id: bit 128 set).
        key = KEYED | key
        self.scheme.ring.predecessor = Peer(key - 1, "p", 1)
        self.scheme.ring.me = Peer(key, "me", 1)
        self.node.id = key
        seller = identity(1)
        record = signed(seller, host="shop", port=99)
        feed(self.pred, ChordStore(7, "apple", 5000, (seller.id, PRED), record))
        [stored] = sent(self.pred)
        self.assertEqual((type(stored), stored.holder), (ChordStored, key))
        # Replicated to the successors at once.
        [replica] = sent(self.succ)
        self.assertEqual(replica, ChordTransfer((Handed(5000, record),)))
        feed(self.pred, ChordRequest(8, "apple", (PRED,)))
        [records] = sent(self.pred)
        self.assertEqual((type(records), records.sellers), (ChordRecords, (record,)))
        self.node.clock.advance(5)
        feed(self.pred, ChordRequest(9, "apple", (PRED,)))
        self.assertEqual(sent(self.pred)[0].sellers, ())


#: A finger of ME between SUCC and FAR, and a key just past it.
FINGER_ID, FINGER_KEY = 800_000_000, 900_000_000


class FingerLinkTests(SynchronousTestCase):
    """A next hop with no link: a finger link opened for the request."""

    def setUp(self):
        self.node = makeNode(ME)
        self.scheme = placed(self.node)
        self.pred = linkPeer(self.node, PRED, purpose="chord")
        self.succ = linkPeer(self.node, SUCC, purpose="chord")
        self.scheme.ring.fingers[29] = Peer(FINGER_ID, "g", 4)
        self.connector = self.node.connector

    def find(self, lookup_id=7):
        feed(self.pred, ChordFind(lookup_id, FINGER_KEY, (PRED,)))

    def accepted(self):
        """The finger link the node asked for connects, and the finger
        answers its thisisme; returns the link, its handshake cleared."""
        link = self.connector.connectLast()
        [hello] = sent(link)
        self.assertEqual((hello.id, hello.purpose), (ME, FINGER))
        feed(link, wire.ThisIsMe(FINGER_ID, 4, "g", purpose=FINGER))
        self.assertIs(self.node.links.get(FINGER_ID), link)
        return link

    def test_anotherKeyAtTheFingersAddress(self):
        """A node at the finger's address that proves another key is
        refused: the request goes on no link of its."""
        self.find()
        link = self.connector.connectLast()
        impostor = identity(43)
        answerAs(link, impostor, 4, "g")
        told = assertDialRefused(self, self.node, link, FINGER_ID, impostor)
        self.assertEqual([type(m) for m in told], [wire.Error])

    def test_theRequestWaitsForTheLinkThenGoesOnIt(self):
        self.find()
        [request] = self.connector.requests
        self.assertEqual((request.host, request.port), ("g", 4))
        self.assertEqual((sent(self.succ), sent(self.pred)), ([], []))
        link = self.accepted()
        self.assertEqual(sent(link), [ChordFind(7, FINGER_KEY, (PRED, ME))])

    def test_requestsForTheSameHopShareOneConnection(self):
        self.find(7)
        self.find(8)
        self.assertEqual(len(self.connector.requests), 1)
        link = self.accepted()
        self.assertEqual([m.id for m in sent(link)], [7, 8])

    def test_anUnreachableFingerIsRoutedRoundAndForgotten(self):
        """...and told the node's observers (L{linkFailed}), as the flood's
        failed links are: a chord buyer that gives up names the last."""
        recorder = Recorder()
        self.node.addObserver(recorder)
        self.find()
        self.connector.failLast(ConnectionRefusedError("refused"))
        [failed] = [event for event in recorder.events if event[0] == "linkFailed"]
        self.assertEqual(failed[1:4], (FINGER_ID, "g", 4))
        self.assertEqual(sent(self.succ), [ChordFind(7, FINGER_KEY, (PRED, ME))])
        self.assertNotIn(FINGER_ID, [peer.id for peer in self.scheme.ring.fingers
                                     if peer is not None])

    def test_aLinkTheFingerOpenedMeanwhileServes(self):
        """The connection fails, but the finger linked to this node in
        the meantime: the request goes on that link, and the finger stays."""
        self.find()
        theirs = linkPeer(self.node, FINGER_ID, purpose="chord")
        self.connector.failLast(ConnectionRefusedError("refused"))
        self.assertEqual(sent(theirs), [ChordFind(7, FINGER_KEY, (PRED, ME))])
        self.assertEqual(sent(self.succ), [])
        self.assertEqual(self.scheme.ring.fingers[29].id, FINGER_ID)

    def test_aLinkThatTakesLongerThanALookupIsAbandoned(self):
        self.find()
        [request] = self.connector.requests
        self.node.clock.advance(self.scheme.settings.lookup_timeout)
        self.assertTrue(request.link.closing)
        self.assertEqual(sent(self.succ), [])
        # Nothing is held for it any more: the next request dials again.
        self.find(8)
        self.assertEqual(len(self.connector.requests), 2)

    def test_requestsHeldForOneHopAreBounded(self):
        for lookup_id in range(1, HELD_PER_HOP + 3):
            self.find(lookup_id)
        link = self.accepted()
        self.assertEqual([m.id for m in sent(link)], list(range(1, HELD_PER_HOP + 1)))

    def test_stoppingAbandonsTheLinksBeingOpened(self):
        self.find()
        [request] = self.connector.requests
        self.scheme.router.stop()
        self.assertTrue(request.link.closing)
        self.connector.failLast(ConnectionRefusedError("refused"))
        self.assertEqual(sent(self.succ), [])

    def test_aFingerLinkClosesWhenIdle(self):
        self.find()
        link = self.accepted()
        sent(link)
        self.node.clock.advance(self.scheme.settings.finger_idle)
        self.assertEqual(sent(link), [wire.Dc()])
        self.assertTrue(link.closing)


class BadInputTests(SynchronousTestCase):
    """What a peer gets for bad chord input: the documented error, the link
    kept, and no effect on the node."""

    def setUp(self):
        self.node = makeNode(ME)
        self.scheme = placed(self.node)
        self.link = linkPeer(self.node, PRED, purpose="chord")

    def answers(self, *objects):
        for each in objects:
            self.link.dataReceived(jsonNetstring(each))
        return parseJSONNetstrings(self.link.transport.value())

    def test_aReturnPathThatDoesNotEndWithTheSender(self):
        [error] = self.answers({"type": "chordFind", "id": 1, "key": "0" * 31 + "5",
                                "returnPath": [str(PRED), "42"]})
        self.assertEqual((error["type"], error["code"]), ("error", "wtf"))
        self.assertIn("returnPath must end with the sender", error["info"])
        self.assertFalse(self.link.closing)

    def test_malformedFields(self):
        cases = [
            {"type": "chordStore", "id": 1, "item": "a", "host": "h", "port": 1,
             "lifetime": -1, "returnPath": [str(PRED)]},
            {"type": "chordState", "nonce": 1, "succs": [["x", "h", 1]]},
            {"type": "chordTransfer", "records": "all of them"},
            {"type": "chordFind", "id": 1, "key": 2**31, "returnPath": [str(PRED)]},
        ]
        errors = self.answers(*cases)
        self.assertEqual([(e["type"], e["code"]) for e in errors],
                         [("error", "wtf")] * len(cases))
        self.assertEqual(len(self.scheme.records), 0)
        self.assertFalse(self.link.closing)

    def test_aFullReturnPathIsDroppedQuietly(self):
        path = [str(each) for each in range(10_000, 10_000 + 63)] + [str(PRED)]
        self.assertEqual(self.answers({"type": "chordFind", "id": 1,
                                       "key": format(2**30, "032x"),
                                       "returnPath": path}), [])

    def test_anAnswerToNobodyIsIgnored(self):
        answer = ChordFound(5, 1, (PRED, ME), 1, Peer(PRED, "", 1), ())
        self.assertEqual(self.answers(json.loads(wire.encode(answer))), [])

    def test_aNodeThatRunsAnotherSchemeRefusesChordMessages(self):
        node = makeNode(5)
        buildScheme(node, "flood")
        link = linkPeer(node, 6)
        link.dataReceived(jsonNetstring({"type": "chordPing", "nonce": 1}))
        [error] = parseJSONNetstrings(link.transport.value())
        self.assertEqual(error["code"], "wtf")
        self.assertIn("does not handle chordPing", error["info"])


class PeerLogTests(LinkedToOnePeer, SynchronousTestCase):
    """Lines a peer makes a chord node log are bounded per address group
    (the node's L{PeerLog}): a peer sending ten messages a second for a
    minute gets a few lines and a summary, not one line a message."""

    def flood(self, message, count=600):
        with capturedLogs() as events:
            for n in range(count):
                feed(self.link, message(n + 1))
                self.node.clock.advance(0.1)
        return [formatEvent(event) for event in events]

    def assertBounded(self, lines, text):
        said = [line for line in lines if text in line]
        self.assertGreater(len(said), 0)
        # Five a group and interval of 10 s, one summary each: 60 s.
        self.assertLessEqual(len(said), 6 * 7, said[:3])

    def test_requestsThatCameRoundALoop(self):
        lines = self.flood(lambda n: ChordFind(n, 800, (42, ME, 700)))
        self.assertBounded(lines, "came round a loop")

    def test_linesOfPeersNotLinked(self):
        """A line a peer caused whose link is gone by the time it is said
        (a request held for a link to its next hop, say) goes through the
        peer log too, charged to the peers no longer linked."""
        with capturedLogs() as events:
            for n in range(600):
                self.scheme.router._peerLine(999, "dropping {type} {id}: too many",
                                             type="chordFind", id=n)
                self.node.clock.advance(0.1)
        lines = [formatEvent(event) for event in events]
        self.assertBounded(lines, "too many")
        self.assertTrue(any("from peers no longer linked" in line for line in lines))

    def test_fullReturnPaths(self):
        path = tuple(range(1, wire.MAX_PATH)) + (700,)
        lines = self.flood(lambda n: ChordFind(n, FAR + 10, path))
        self.assertBounded(lines, "returnPath is full")

    def test_emptyHandoversAreNotLogged(self):
        lines = self.flood(lambda n: ChordTransfer((), n))
        self.assertEqual([line for line in lines if "took" in line], [])
        self.assertEqual(len(sent(self.link)), 600)

    def test_handovers(self):
        record = signed(1, "fig")
        lines = self.flood(lambda n: ChordTransfer((Handed(2000, record),), n))
        self.assertBounded(lines, "took 1 record")

    def test_quits(self):
        lines = self.flood(lambda n: ChordQuit(None, ()))
        self.assertBounded(lines, "quit the chord ring")

    def test_ringChangesAPeerMakes(self):
        """A peer that takes this node for its successor, then quits, then
        again, moves the ring's neighbours with each message: the lines
        saying so are bounded too."""
        lines = self.flood(lambda n: ChordQuit(None, ()) if n % 2 else ChordStabilize(n))
        self.assertBounded(lines, "ring neighbours")


class _KeyJustAfterMe:
    """Tests of a placed node (L{ME}) linked to PRED, SUCC and FAR, whose
    items all have the key L{KEY}, in (ME, SUCC]."""

    KEY = 1500

    def setUp(self):
        self.patch(routing, "keyOf", lambda item: self.KEY)
        self.patch(lookups, "keyOf", lambda item: self.KEY)
        self.node = makeNode(ME)
        self.scheme = placed(self.node)
        self.pred = linkPeer(self.node, PRED, purpose="chord")
        self.succ = linkPeer(self.node, SUCC, purpose="chord")
        self.far = linkPeer(self.node, FAR, purpose="chord")


class HoldersTests(_KeyJustAfterMe, SynchronousTestCase):
    """Rule 6: the last hop before a key sends a request for sellers, or
    a store, to the first --chord-holders successors, and the origin
    takes the first answer that names a valid record."""

    def test_theLastHopReachesEveryHolderAskedFor(self):
        feed(self.pred, ChordRequest(7, "apple", (42, PRED), 3))
        for link in (self.succ, self.far):
            self.assertEqual(sent(link), [ChordRequest(7, "apple", (42, PRED, ME), 3)])
        feed(self.pred, ChordRequest(8, "apple", (42, PRED), 1))
        self.assertEqual((len(sent(self.succ)), sent(self.far)), (1, []))

    def test_withoutHoldersTheHolderAlone(self):
        """A request that does not ask for several holders (an origin as
        before rule 6) goes to the holder alone, and gets one answer."""
        feed(self.pred, ChordRequest(7, "apple", (42, PRED)))
        self.assertEqual(sent(self.succ), [ChordRequest(7, "apple", (42, PRED, ME))])
        self.assertEqual(sent(self.far), [])

    def test_theOriginIsOneOfTheHolders(self):
        record = signed(1)
        feed(self.pred, ChordStore(7, "apple", 5000, (FAR, PRED), record, 3))
        self.assertEqual(sent(self.far), [ChordStore(7, "apple", 5000, (FAR, PRED, ME),
                                                     record, 3)])
        self.assertEqual(len(sent(self.succ)), 1)

    def test_findsGoToTheHolderAlone(self):
        feed(self.pred, ChordFind(7, self.KEY, (42, PRED)))
        self.assertEqual(sent(self.succ), [ChordFind(7, self.KEY, (42, PRED, ME))])
        self.assertEqual(sent(self.far), [])

    def answer(self, link, lookup, holder, sellers=()):
        feed(link, ChordRecords(lookup, "apple", (holder, ME), 1, holder, sellers))

    def test_anEmptyAnswerIsNotTheEnd(self):
        """A holder that says nobody sells does not end the lookup while
        another may name the seller."""
        asked = []
        self.scheme.request("apple").addCallback(asked.append)
        [request] = sent(self.succ)
        self.assertEqual(sent(self.far), [request])
        self.answer(self.succ, request.id, SUCC)
        self.assertEqual(asked, [])
        record = signed(1)
        self.answer(self.far, request.id, FAR, (record,))
        self.assertEqual([answer.sellers for answer in asked], [(record,)])

    def test_anOfferIsChargedToTheLinkItsRecordCameOver(self):
        """A find's offer names the address group of the link the
        holder's answer came over: were its host refused, the line is
        charged to it (L{Offer.namedBy}; it was charged to no address
        group, with every other namer's refused hosts)."""
        self.node.connector.addressed = True
        self.succ.transport.peerAddr = IPv4Address("TCP", "198.51.100.20", 5000)
        found = []
        self.scheme.find("apple", 1.0).addCallback(found.append)
        [request] = sent(self.succ)
        self.answer(self.succ, request.id, SUCC, (signed(1),))
        [[offer]] = found
        self.assertEqual(offer.namedBy, "198.51.0.0/16")

    def test_theNamersOfRecordsAreBounded(self):
        """The namers of the newest NAMERS_KEPT records are kept, however
        many records holders' answers bring."""
        from twisted_bazaar.schemes.chord.namers import NAMERS_KEPT
        self.node.connector.addressed = True
        records = [signed(1, port=port) for port in range(1024, 1025 + NAMERS_KEPT)]
        self.scheme.naming.named(records, "198.51.0.0/16")
        self.assertEqual(list(self.scheme.naming._namers), records[1:])

    def test_answersToNoLookupNameNobody(self):
        """A chordRecords (or chordFound) that answers no lookup of this
        node's is no word on who named its records (or peers): noted, a
        stranger's flood of them pushed the namers of real records out of
        the newest NAMERS_KEPT."""
        from twisted_bazaar.schemes.chord.namers import NAMERS_KEPT
        self.node.connector.addressed = True
        self.succ.transport.peerAddr = IPv4Address("TCP", "198.51.100.20", 5000)
        real = signed(1)
        self.scheme.naming.named([real], "203.0.0.0/16")
        for port in range(1024, 1024 + NAMERS_KEPT):
            self.answer(self.succ, 5, SUCC, (signed(2, port=port),))
        feed(self.succ, ChordFound(6, self.KEY, (SUCC, ME), 1, Peer(SUCC, "h", 1), ()))
        self.assertEqual(list(self.scheme.naming._namers), [real])
        self.assertEqual(self.scheme.naming.namerOf(real), "203.0.0.0/16")

    def test_noNamersOnLabels(self):
        """On a connector whose hosts are labels (a simulation's), no host
        is refused: no table of namers is kept."""
        self.answer(self.succ, 5, SUCC, (signed(1),))
        self.assertIsNone(self.scheme.naming._namers)

    def test_aForgedRecordIsNotAnAnswer(self):
        asked = []
        self.scheme.request("apple").addCallback(asked.append)
        [request] = sent(self.succ)
        self.answer(self.succ, request.id, SUCC, (forged(signed(1), port=1),))
        self.assertEqual(asked, [])

    def test_nobodyOnceEveryHolderSaidSo(self):
        asked = []
        self.scheme.request("apple").addCallback(asked.append)
        [request] = sent(self.succ)
        self.answer(self.succ, request.id, SUCC)
        self.answer(self.succ, request.id, SUCC)
        self.assertEqual(asked, [])
        self.answer(self.far, request.id, FAR)
        self.assertEqual([(answer.holder, answer.sellers) for answer in asked], [(FAR, ())])


class AnswersFromTheWayTests(_KeyJustAfterMe, SynchronousTestCase):
    """An answer whose holder lies strictly between the origin and the
    key (a node on the way, answering instead of passing the request on)
    is no holder's: it is ignored, and the lookup waits for the holders'."""

    def test_aRecordFromTheWayIsIgnored(self):
        asked = []
        self.scheme.request("apple").addCallback(asked.append)
        [request] = sent(self.succ)
        onTheWay = ME + 100
        feed(linkPeer(self.node, onTheWay, purpose="chord"),
             ChordRecords(request.id, "apple", (onTheWay, ME), 1, onTheWay,
                          (signed(1),)))
        self.assertEqual(asked, [])
        feed(self.succ, ChordRecords(request.id, "apple", (SUCC, ME), 1, SUCC,
                                     (signed(2),)))
        self.assertEqual([answer.holder for answer in asked], [SUCC])

    def test_aStoreConfirmedFromTheWayIsNot(self):
        stored = []
        self.scheme.router.start(lambda i: ChordStore(i, "apple", 5000, (), signed(1)),
                                 2.0).addCallback(stored.append)
        [store] = sent(self.succ)
        feed(linkPeer(self.node, ME + 100, purpose="chord"),
             ChordStored(store.id, "apple", (ME + 100, ME), 1, ME + 100))
        self.assertEqual(stored, [])
        feed(self.succ, ChordStored(store.id, "apple", (SUCC, ME), 1, SUCC))
        self.assertEqual([answer.holder for answer in stored], [SUCC])


class AnswersToAPlaceTheRingDoesNotKnowTests(SynchronousTestCase):
    """
    A node that the ring does not have in its place (no predecessor yet:
    it has just joined, or it is a client off the ring, such as ``bazaar
    buy``'s, whose id does not solve the ring's puzzle) may lie between
    a key and that key's holder: then the holder, and its replicas, are
    its own first successors, and their answers count, though they lie
    between it and the key.
    """

    KEY = 700

    def setUp(self):
        self.patch(routing, "keyOf", lambda item: self.KEY)
        self.patch(lookups, "keyOf", lambda item: self.KEY)
        self.node = makeNode(ME)
        self.scheme = placed(self.node)
        self.scheme.ring.predecessor = None
        self.succ = linkPeer(self.node, SUCC, purpose="chord")
        self.far = linkPeer(self.node, FAR, purpose="chord")

    def ask(self):
        asked = []
        self.scheme.request("apple").addCallback(asked.append)
        [request] = sent(self.far)
        return asked, request

    def test_itsSuccessorsAnswerCounts(self):
        asked, request = self.ask()
        feed(self.succ, ChordRecords(request.id, "apple", (SUCC, ME), 1, SUCC,
                                    (signed(1),)))
        self.assertEqual([answer.holder for answer in asked], [SUCC])

    def test_anotherOnTheWayIsStillIgnored(self):
        asked, request = self.ask()
        onTheWay = SUCC + 100
        feed(linkPeer(self.node, onTheWay, purpose="chord"),
             ChordRecords(request.id, "apple", (onTheWay, ME), 1, onTheWay,
                          (signed(1),)))
        self.assertEqual(asked, [])

    def test_notWhenItKnowsANodeBetweenTheKeyAndItself(self):
        """A node it knows lies between the key and itself: the holder is
        that one or one before it, so its successor's answer is from the
        way."""
        self.scheme.ring.predecessor = Peer(self.KEY + 100, "p", 1)
        asked, request = self.ask()
        feed(self.succ, ChordRecords(request.id, "apple", (SUCC, ME), 1, SUCC,
                                    (signed(1),)))
        self.assertEqual(asked, [])


class RecordsHeldHereTests(SynchronousTestCase):
    """A find whose key this node holds itself: its own answer names the
    records it holds, which came over a link when they were stored."""

    KEY = 700

    def setUp(self):
        for module in (routing, lookups, holding):
            self.patch(module, "keyOf", lambda item: self.KEY)
        self.node = makeNode(ME)
        self.node.connector.addressed = True
        self.scheme = placed(self.node)
        self.pred = linkPeer(self.node, PRED, purpose="chord")
        self.pred.transport.peerAddr = IPv4Address("TCP", "198.51.100.20", 5000)
        self.succ = linkPeer(self.node, SUCC, purpose="chord")
        self.succ.transport.peerAddr = IPv4Address("TCP", "203.0.113.30", 5000)

    def found(self):
        found = []
        self.scheme.find("apple", 1.0).addCallback(found.append)
        [[offer]] = found
        return offer

    def test_aStoredRecordIsChargedToTheLinkItCameOver(self):
        """A record a chordStore brought (over the link from PRED): its
        offer names that link's address group, so that its host, were it
        refused, is charged there.  It named none (the shared bucket of
        peers unknown, NAMER_UNKNOWN), the answer being this node's own."""
        feed(self.pred, ChordStore(7, "apple", 600_000, (identity(1).id, PRED),
                                   signed(1), 1))
        self.assertEqual(self.found().namedBy, "198.51.0.0/16")

    def test_aCopyIsChargedToTheLinkItCameOver(self):
        """A record a holder copied here (chordTransfer over the link from
        SUCC) the same."""
        feed(self.succ, ChordTransfer((Handed(600_000, signed(1)),)))
        self.assertEqual(self.found().namedBy, "203.0.0.0/16")

    def test_aRecordFromNoLinkHasNoNamer(self):
        """A record that came over no link (placed by a simulator): no
        namer."""
        self.assertTrue(self.scheme.holding.hold(signed(1), 600_000, None))
        self.assertIsNone(self.found().namedBy)

    def test_theNodesOwnRecordsAreNamedAndChargedToIt(self):
        """
        A node's store of its own record, whose key it holds: held with
        origin "" and no namer, charged to the one account of records that
        came over no link, and a refusal said they "came from , the most
        one address group may store here".  Now its own (records.OWN),
        named so and counted on its own account.
        """
        me = identity(1)
        node = makeNode(me.id, identity=me)
        node.connector.addressed = True
        scheme = placed(node)
        scheme.records.per_origin = 1
        record = signed(1)
        scheme.router.arrived(ChordStore(9, "apple", 600_000, (), record), None)
        self.assertEqual(scheme.records.held("apple", me.id).origin, OWN)
        self.assertEqual(scheme.naming.recordNamer(record), OWN)
        with capturedLogs() as events:
            scheme.router.arrived(ChordStore(10, "pear", 600_000, (),
                                             signed(1, item="pear")), None)
        self.assertIn("1 records came from this node, the most one address group may "
                      "store here", [formatEvent(event) for event in events][-1])


class DirectRequestTests(_KeyJustAfterMe, SynchronousTestCase):
    """A request or store with ``direct`` (a detour's question to a
    holder it found) is served by the node it is sent to, whatever its
    place, and passed on to nobody (protocol.md §20, rule 7)."""

    def test_servedHereWhateverTheKey(self):
        """apple's key is not this node's (it lies in (ME, SUCC]), yet a
        direct store from its seller is taken, and a direct request from
        FAR answered with it; neither goes on to SUCC."""
        record = signed(7)
        seller = linkPeer(self.node, record.seller, purpose="chord")
        feed(seller, ChordStore(5, "apple", 60000, (record.seller,), record, None, True))
        self.assertEqual(sent(seller), [ChordStored(5, "apple", (ME, record.seller), 1, ME)])
        feed(self.far, ChordRequest(6, "apple", (FAR,), None, True))
        self.assertEqual(sent(self.far),
                         [ChordRecords(6, "apple", (ME, FAR), 1, ME, (record,))])
        self.assertEqual(sent(self.succ), [])

    def test_aLongerReturnPathIsRefused(self):
        feed(self.far, ChordRequest(6, "apple", (42, FAR), None, True))
        [error] = sent(self.far)
        self.assertEqual((error.code, error.info), (
            "wtf", "a direct chordRequest.returnPath must be the sender's id alone"))
        self.assertEqual(sent(self.succ), [])
