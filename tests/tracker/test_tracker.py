"""
Tests for twisted_bazaar.tracker: the Registry on its own, then the Tracker
spoken to over real Links, byte for byte, on fake transports and a Clock.
"""

import gc
import io
import random
import tracemalloc

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import (
    FilteringLogObserver,
    Logger,
    LogLevel,
    LogLevelFilterPredicate,
    capturedLogs,
    formatEvent,
    globalLogPublisher,
)
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    AddressedConnector,
    WiredLink,
    closeLink,
    feed,
    jsonNetstring,
    parseJSONNetstrings,
    sent,
)
from tests.tracker.checking import checkingTracker
from twisted_bazaar.base.peerhost import NAME_ADDRESSES
from twisted_bazaar.wire.ids import KEYED, parseWireId, shortId, wireId
from twisted_bazaar import wire
# Message types are declared by the modules that use them: import the
# flood scheme's and the trade roles' so that this module's tests know them
# whatever ran before (a tracker daemon that loads neither answers
# "unknown message type" instead, still wtf, and the link stays).
from twisted_bazaar.wire import trade  # noqa: F401
from twisted_bazaar.schemes.flood import messages as flood_messages  # noqa: F401

from twisted_bazaar.net.link import (
    DEAD_AFTER_INTERVALS,
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_PING_INTERVAL,
    LinkSettings,
)
from twisted_bazaar.tap.logformat import textObserver
from twisted_bazaar.transports.table import overConnector
from twisted_bazaar.tracker import (
    GROUP_LIMIT,
    ID_SPACE,
    JOIN_RATE,
    MEMBER_LINES,
    RECHECK_FIRST,
    Abilities,
    Registry,
    Tracker,
    TrackerFactory,
    ringPlace,
)
from twisted_bazaar.tracker.registry import _ALL, _SCHEME, _SUPER, _Entry


class ScriptedRandom(random.Random):
    """A Random whose randrange first returns the given values, so a test
    can force the tracker to draw an id that is already taken."""

    def __init__(self, draws):
        super().__init__(0)
        self.draws = list(draws)

    def randrange(self, *args):
        if self.draws:
            return self.draws.pop(0)
        return super().randrange(*args)


class RegistryIdTests(SynchronousTestCase):
    """Which id a joining node gets."""

    def setUp(self):
        self.registry = Registry(random.Random(1))

    def test_freshIdsAreUniqueAndInRange(self):
        ids = [self.registry.join(-1, "h", 1) for _ in range(2000)]
        self.assertEqual(len(set(ids)), 2000)
        self.assertTrue(all(0 <= i < ID_SPACE for i in ids))
        self.assertEqual(len(self.registry), 2000)

    def test_wantedIdKeptWhenFreeAndValid(self):
        self.assertEqual(self.registry.join(42, "a", 1), 42)
        self.assertEqual(self.registry.join(0, "b", 2), 0)
        self.assertEqual(self.registry.join(ID_SPACE - 1, "c", 3), ID_SPACE - 1)
        self.assertEqual(self.registry.nodes,
                         {42: ("a", 1), 0: ("b", 2), ID_SPACE - 1: ("c", 3)})

    def test_wantedIdReplacedWhenTaken(self):
        self.registry.join(42, "a", 1)
        other = self.registry.join(42, "b", 2)
        self.assertNotEqual(other, 42)
        self.assertTrue(0 <= other < ID_SPACE)
        self.assertEqual(self.registry.nodes, {42: ("a", 1), other: ("b", 2)})

    def test_wantedIdReplacedWhenOutOfRange(self):
        for wanted in (-1, -5, ID_SPACE, 2**62):
            node_id = self.registry.join(wanted, "h", 1)
            self.assertNotEqual(node_id, wanted)
            self.assertTrue(0 <= node_id < ID_SPACE)

    def test_randomDrawThatIsTakenIsDrawnAgain(self):
        registry = Registry(ScriptedRandom([7, 7, 7, 8]))
        self.assertEqual(registry.join(-1, "a", 1), 7)
        self.assertEqual(registry.join(-1, "b", 2), 8)
        self.assertEqual(registry.nodes, {7: ("a", 1), 8: ("b", 2)})

    def test_leaveUnknownIdIsHarmless(self):
        self.registry.join(5, "a", 1)
        self.registry.leave(6)
        self.registry.leave(5)
        self.registry.leave(5)
        self.assertEqual(len(self.registry), 0)
        self.assertIsNone(self.registry.pick(99))

    def test_leftIdIsFreeAgain(self):
        self.registry.join(42, "a", 1)
        self.registry.leave(42)
        self.assertEqual(self.registry.join(42, "b", 2), 42)
        self.assertEqual(self.registry.nodes, {42: ("b", 2)})


class RegistryPickTests(SynchronousTestCase):
    """Which node the tracker introduces."""

    def setUp(self):
        self.registry = Registry(random.Random(2))

    def fill(self, count):
        """Join nodes 0..count-1, each at host h<id>, port 1000+id."""
        for i in range(count):
            self.registry.join(i, f"h{i}", 1000 + i)

    def test_aloneGetsNone(self):
        self.assertIsNone(self.registry.pick(0))
        self.fill(1)
        self.assertIsNone(self.registry.pick(0))
        self.assertIsNone(self.registry.pick(0, exclude=(0,)))

    def test_portZeroIsNeverIntroduced(self):
        """A node that said port 0 takes no links: it is in the table, and
        may ask, but is never handed out; leaving works all the same."""
        self.fill(2)
        self.registry.join(7, "client", 0)
        self.assertEqual(self.registry.nodes[7], ("client", 0))
        for _ in range(100):
            self.assertNotEqual(self.registry.pick(0)[0], 7)
        self.assertIn(self.registry.pick(7)[0], (0, 1))
        self.registry.leave(7)
        self.assertNotIn(7, self.registry.nodes)
        self.registry.leave(1)
        self.assertIsNone(self.registry.pick(0))

    def test_neverTheAsker(self):
        self.fill(2)
        for _ in range(100):
            self.assertEqual(self.registry.pick(0), (1, "h1", 1001))
            self.assertEqual(self.registry.pick(1), (0, "h0", 1000))

    def test_everyOtherNodeIsPicked(self):
        self.fill(10)
        picked = {self.registry.pick(3)[0] for _ in range(1000)}
        self.assertEqual(picked, set(range(10)) - {3})

    def test_prefersNodesNotExcluded(self):
        self.fill(10)
        for _ in range(200):
            self.assertEqual(self.registry.pick(0, exclude=range(1, 9)),
                             (9, "h9", 1009))

    def test_fallsBackToExcludedNodes(self):
        self.fill(3)
        picked = {self.registry.pick(0, exclude=(1, 2))[0] for _ in range(200)}
        self.assertEqual(picked, {1, 2})

    def test_churnKeepsEveryLiveIdPickable(self):
        """After many joins and leaves (first, last and middle slots), every
        live node can still be found, with its own address, and no departed
        node ever comes back."""
        rng = random.Random(3)
        live = {}
        for round_ in range(30):
            for _ in range(rng.randrange(1, 20)):
                port = rng.randrange(1, 65536)
                live[self.registry.join(-1, f"r{round_}", port)] = (f"r{round_}", port)
            for gone in rng.sample(sorted(live), rng.randrange(0, len(live))):
                self.registry.leave(gone)
                del live[gone]
        self.assertEqual(self.registry.nodes, live)
        self.assertGreater(len(live), 2)
        ids = set(live)
        asker = min(ids)
        for target in ids - {asker}:
            found = self.registry.pick(asker, exclude=ids - {target})
            self.assertEqual(found, (target,) + live[target])

    def test_oneAddressGroupFillsFewOfANodesPeers(self):
        """An attacker's 256 nodes (a group's most) in one /16 beside 20
        honest nodes, each of its own: a node asking for 8 peers, naming
        those it has, is named that group's nodes once or so, not 93% of
        the time (each pick uniform over nodes): an eclipse through the
        tracker's introductions."""
        for i in range(20):
            self.registry.join(i, f"10.{i}.0.1", 9000)
        sybils = {self.registry.join(-1, f"203.0.{i // 200}.{i % 200 + 1}", 9000)
                  for i in range(256)}
        named = sybil = 0
        for asker in range(20):
            for _ in range(10):
                peers = []
                for _ in range(8):
                    peers.append(self.registry.pick(asker, peers)[0])
                named += len(peers)
                sybil += len(sybils.intersection(peers))
        self.assertLess(sybil / named, 0.2)

    def test_aGroupOfTheAskersPeersWhenNoOtherIsLeft(self):
        """Nodes of a group the asker's peers are of are still named when
        every other node is excluded."""
        self.registry.join(1, "10.1.0.1", 9000)
        self.registry.join(2, "10.1.0.2", 9000)
        self.registry.join(3, "10.2.0.1", 9000)
        for _ in range(50):
            self.assertEqual(self.registry.pick(3, exclude=(1,))[0], 2)

    def test_thousandsOfNodes(self):
        self.fill(5000)
        exclude = tuple(range(1, 65))
        for asker in range(0, 5000, 5):
            found = self.registry.pick(asker, exclude)
            self.assertNotEqual(found[0], asker)
            self.assertNotIn(found[0], exclude)
            self.assertEqual(found[1:], (f"h{found[0]}", 1000 + found[0]))


# -- the tracker over real links -----------------------------------------------


# The JSON-level link helpers live in tests.helpers; these names stay
# importable from here (test_bad_input and test_starvation use WiredLink).
netstring = jsonNetstring
parseNetstrings = parseJSONNetstrings


class TrackerLinkTests(SynchronousTestCase):
    """The tracker's side of the protocol, as a node sees it on the wire."""

    def setUp(self):
        self.clock = Clock()
        self.tracker = Tracker(self.clock, random.Random(4))
        self.factory = TrackerFactory(self.tracker)

    def connect(self, host="203.0.113.5"):
        return WiredLink(self.factory, host)

    def register(self, port, wanted=-1, host="", peer_host="203.0.113.5"):
        """Connect and say thisisme; return the peer and its new id."""
        peer = self.connect(peer_host)
        peer.say({"type": "thisisme", "id": wireId(wanted), "port": port, "host": host})
        [answer] = peer.heard()
        self.assertEqual(answer["type"], "thisisyou")
        return peer, parseWireId(answer["id"])

    def askNode(self, peer, exclude=()):
        peer.say({"type": "nodereq", "exclude": list(exclude)})
        [answer] = peer.heard()
        return answer

    # registration

    def test_thisismeGetsFreshIdAndSamePort(self):
        peer = self.connect()
        peer.say({"type": "thisisme", "id": "", "port": 4001, "host": ""})
        [answer] = peer.heard()
        self.assertEqual(answer, {"type": "thisisyou", "id": answer["id"], "port": 4001})
        self.assertTrue(0 <= int(answer["id"]) < ID_SPACE)
        self.assertEqual(self.tracker.registry.nodes,
                         {int(answer["id"]): ("203.0.113.5", 4001)})

    def test_anIPv4PeerOfADualStackSocketAsIPv4(self):
        """A tracker listening on ``::`` sees an IPv4 node at
        ``::ffff:a.b.c.d``: it records, logs and names it at ``a.b.c.d``
        (its lines, ``bazaar status`` and the web view said
        ``::ffff:203.0.113.5``)."""
        with capturedLogs() as events:
            peer, node_id = self.register(4001, peer_host="::ffff:203.0.113.5")
        self.assertEqual(self.tracker.registry.nodes, {node_id: ("203.0.113.5", 4001)})
        self.assertIn(f"node {shortId(node_id)} joined from 203.0.113.5:4001 (1 live)",
                      [formatEvent(event) for event in events])

    def test_statusClientsJoinAndLeaveAtDebug(self):
        """A status client (bazaar status, the web view: port 0, purpose
        status) registering for one question is logged at debug; a node
        at info.  It is no live node: `(0 live)` while it is registered."""
        events = []
        self.patch(Tracker, "log", Logger(observer=events.append))
        client = self.connect()
        client.say({"type": "thisisme", "id": "", "port": 0, "host": "",
                    "purpose": "status"})
        client.transport.loseConnection()
        node, _ = self.register(4001)
        node.transport.loseConnection()
        self.assertEqual([(e["log_level"], formatEvent(e).split(" ", 2)[2])
                          for e in events],
                         [(LogLevel.debug, "joined from 203.0.113.5:0 (0 live)"),
                          (LogLevel.debug, "left (0 live)"),
                          (LogLevel.info, "joined from 203.0.113.5:4001 (1 live)"),
                          (LogLevel.info, "left (0 live)")])

    def test_aStoppingTrackerSaysNoNodeLeft(self):
        """The links a stopping tracker closes are its own doing: it says
        so once, with the live nodes it had, and logs no `node … left`
        for them (a node stopped is one line, a tracker stopped with two
        live nodes said `node … left (1 live)`, `node … left (0 live)`,
        though neither node had left)."""
        events = []
        self.patch(Tracker, "log", Logger(observer=events.append))
        gone, _ = self.register(4001)
        gone.transport.loseConnection()
        kept = [self.register(4002 + i, peer_host=f"10.{i}.0.1")[0] for i in range(2)]
        self.tracker.stop()
        for node in kept:
            node.transport.loseConnection()
        self.assertEqual([formatEvent(e).split(" ", 2)[2] for e in events
                          if "joined" not in formatEvent(e)],
                         ["left (0 live)"]
                         + ["closing the links of its 2 live nodes"])
        self.assertEqual(formatEvent(events[-1]),
                         "tracker stopping: closing the links of its 2 live nodes")
        self.assertEqual(self.tracker.live, 0)

    def test_aStoppingTrackerClosesItsLinks(self):
        """A stopping tracker closes its nodes' links itself (over TLS, its
        nodes then read TLS's close, not a connection cut at exit), and
        its Deferred fires once they are lost."""
        nodes = [self.register(4001 + i, peer_host=f"10.{i}.0.1")[0] for i in range(2)]
        self.tracker.stop()
        closed = self.tracker.closeLinks(2.0)
        self.assertTrue(all(node.closed for node in nodes))
        self.successResultOf(closed)
        self.assertEqual((self.tracker.live, self.clock.getDelayedCalls()), (0, []))

    def test_aStoppingTrackerWithNoNodeSaysSo(self):
        """Not "closing the links of its 0 live nodes" (a walk of a demo's
        log): no node was live."""
        events = []
        self.patch(Tracker, "log", Logger(observer=events.append))
        self.tracker.stop()
        self.assertEqual([formatEvent(e) for e in events],
                         ["tracker stopping: no node is live"])

    def test_eachNodeGetsItsOwnId(self):
        ids = {self.register(4000 + i, peer_host=f"10.{i}.0.1")[1] for i in range(50)}
        self.assertEqual(len(ids), 50)

    def test_observedHostRecordedWhenNoneGiven(self):
        _, first = self.register(4001, peer_host="198.51.100.9")
        asker, _ = self.register(4002)
        self.assertEqual(self.askNode(asker),
                         {"type": "nodereply", "id": wireId(first), "host": "198.51.100.9",
                          "port": 4001})

    def test_givenHostRecorded(self):
        _, first = self.register(4001, host="seller.example", peer_host="198.51.100.9")
        asker, _ = self.register(4002)
        self.assertEqual(self.askNode(asker),
                         {"type": "nodereply", "id": wireId(first), "host": "seller.example",
                          "port": 4001})

    def test_reconnectKeepsEarlierIdWhenFree(self):
        peer, node_id = self.register(4001)
        peer.transport.loseConnection()
        _, same = self.register(4001, wanted=node_id)
        self.assertEqual(same, node_id)

    def test_reconnectGetsNewIdWhenEarlierTaken(self):
        _, node_id = self.register(4001)
        _, other = self.register(4002, wanted=node_id)
        self.assertNotEqual(other, node_id)
        self.assertEqual(len(self.tracker.registry), 2)

    # introductions

    def test_nodereqNamesAnotherLiveNode(self):
        peers = dict(self.register(4000 + i)[::-1] for i in range(3))
        ports = {node_id: 4000 + i for i, node_id in enumerate(peers)}
        for node_id, peer in peers.items():
            named = set()
            for _ in range(30):
                answer = self.askNode(peer)
                self.assertEqual(answer, {"type": "nodereply", "id": answer["id"],
                                          "host": "203.0.113.5",
                                          "port": ports[int(answer["id"])]})
                named.add(int(answer["id"]))
            self.assertEqual(named, set(peers) - {node_id})

    def test_nodereqAloneGetsMinusOne(self):
        peer, _ = self.register(4001)
        self.assertEqual(self.askNode(peer),
                         {"type": "nodereply", "id": "", "host": "", "port": 0})

    def test_whereisNamesANodesCurrentAddress(self):
        """whereis{id} gets the node's address from the live table, or port
        0 for a node the tracker does not know."""
        asker, _ = self.register(4001)
        _, seller = self.register(4002)
        asker.say({"type": "whereis", "id": wireId(seller)})
        self.assertEqual(asker.heard(), [{"type": "nodereply", "id": wireId(seller),
                                          "host": "203.0.113.5", "port": 4002}])
        asker.say({"type": "whereis", "id": "99"})
        self.assertEqual(asker.heard(), [{"type": "nodereply", "id": "99",
                                          "host": "", "port": 0}])

    def test_aQuestionsNumberIsEchoed(self):
        """A node numbers its questions once one went unanswered in time
        (core/questions): each answer carries its question's number,
        whatever it names."""
        asker, _ = self.register(4001)
        _, seller = self.register(4002)
        asker.say({"type": "whereis", "id": wireId(seller), "q": 7})
        asker.say({"type": "nodereq", "exclude": [], "q": 8})
        asker.say({"type": "whereis", "id": "99", "q": 9})
        self.assertEqual(asker.heard(), [
            {"type": "nodereply", "id": wireId(seller), "host": "203.0.113.5",
             "port": 4002, "q": 7},
            {"type": "nodereply", "id": wireId(seller), "host": "203.0.113.5",
             "port": 4002, "q": 8},
            {"type": "nodereply", "id": "99", "host": "", "port": 0, "q": 9}])

    def test_nodereqHonoursExclude(self):
        asker, _ = self.register(4001)
        _, skipped = self.register(4002)
        _, wanted = self.register(4003)
        for _ in range(30):
            self.assertEqual(self.askNode(asker, exclude=[wireId(skipped)])["id"],
                             wireId(wanted))

    def test_disconnectForgetsNode(self):
        asker, _ = self.register(4001)
        other, _ = self.register(4002)
        other.transport.loseConnection()
        self.assertEqual(self.askNode(asker)["id"], "")
        self.assertEqual(len(self.tracker.registry), 1)

    def test_dcClosesAndForgetsNode(self):
        asker, _ = self.register(4001)
        other, _ = self.register(4002)
        other.say({"type": "dc"})
        self.assertTrue(other.closed)
        self.assertEqual(other.heard(), [])
        self.assertEqual(self.askNode(asker)["id"], "")

    def test_silentNodeForgottenAfterKeepaliveGivesUp(self):
        """The node that answers pings stays; the mute one is pinged, then
        dropped after DEAD_AFTER_INTERVALS quiet intervals."""
        lively, lively_id = self.register(4001)
        mute, _ = self.register(4002)
        pings = []
        for _ in range(DEAD_AFTER_INTERVALS):
            self.clock.advance(DEFAULT_PING_INTERVAL)
            for message in lively.heard():
                self.assertEqual(message["type"], "ping")
                lively.say({"type": "pong", "nonce": message["nonce"]})
            pings.extend(mute.heard())
        self.assertEqual(pings, [{"type": "ping", "nonce": n}
                                 for n in range(1, DEAD_AFTER_INTERVALS)])
        self.assertTrue(mute.closed)
        self.assertFalse(lively.closed)
        self.assertEqual(list(self.tracker.registry.nodes), [lively_id])
        self.assertEqual(self.askNode(lively)["id"], "")

    # misbehaviour

    def test_noThisismeInTimeGetsNotimThenClose(self):
        peer = self.connect()
        self.clock.advance(DEFAULT_HANDSHAKE_TIMEOUT - 0.1)
        self.assertEqual(peer.heard(), [])
        self.assertFalse(peer.closed)
        self.clock.advance(0.1)
        self.assertEqual(peer.heard(), [{"type": "error", "code": "notim",
                                         "info": "no thisisme within 10 s"}])
        self.assertTrue(peer.closed)

    def test_handshakeTimeoutIsConfigurable(self):
        tracker = Tracker(self.clock, random.Random(5), LinkSettings(handshake_timeout=2.5))
        peer = WiredLink(TrackerFactory(tracker))
        self.clock.advance(2.4)
        self.assertFalse(peer.closed)
        self.clock.advance(0.1)
        self.assertEqual(peer.heard(), [{"type": "error", "code": "notim",
                                         "info": "no thisisme within 2.5 s"}])
        self.assertTrue(peer.closed)

    def test_thisismeInTimeStopsHandshakeClock(self):
        peer = self.connect()
        self.clock.advance(DEFAULT_HANDSHAKE_TIMEOUT / 2)
        peer.say({"type": "thisisme", "id": "", "port": 4001, "host": ""})
        self.clock.advance(DEFAULT_HANDSHAKE_TIMEOUT)
        self.assertEqual([m["type"] for m in peer.heard()], ["thisisyou", "ping"])
        self.assertFalse(peer.closed)

    def test_messageBeforeThisismeIsWtfThenClose(self):
        peer = self.connect()
        peer.say({"type": "nodereq", "exclude": []})
        self.assertEqual(peer.heard(), [{"type": "error", "code": "wtf",
                                         "info": "say thisisme before nodereq"}])
        self.assertTrue(peer.closed)
        self.assertEqual(len(self.tracker.registry), 0)

    def test_nodeOnlyMessagesAreWtfAndLinkStays(self):
        peer, node_id = self.register(4001)
        node_messages = [
            {"type": "search", "id": 1, "item": "apple", "returnPath": [wireId(node_id)],
             "ttl": 3},
            {"type": "reply", "id": 1, "item": "apple", "path": ["2", wireId(node_id)],
             "seller": "2", "host": "h", "port": 1},
            {"type": "buy", "id": 1, "item": "apple", "path": [wireId(node_id), "2"]},
            {"type": "buyOK", "id": 1, "item": "apple", "path": ["2", wireId(node_id)]},
            {"type": "thisisyou", "id": "3", "port": 1},
            {"type": "nodereply", "id": "3", "host": "h", "port": 1},
        ]
        for message in node_messages:
            peer.say(message)
            self.assertEqual(peer.heard(), [{
                "type": "error", "code": "wtf",
                "info": f"the tracker does not handle {message['type']}"}])
            self.assertFalse(peer.closed)
        self.assertEqual(list(self.tracker.registry.nodes), [node_id])
        self.assertEqual(self.askNode(peer)["id"], "")

    def test_unknownMessageTypeIsWtfAndLinkStays(self):
        peer, node_id = self.register(4001)
        peer.say({"type": "nosuchtype", "id": 1})
        self.assertEqual(peer.heard(), [{"type": "error", "code": "wtf",
                                         "info": "unknown message type 'nosuchtype'"}])
        self.assertFalse(peer.closed)
        self.assertEqual(list(self.tracker.registry.nodes), [node_id])

    def test_secondThisismeWithOtherIdIsWtfThenClose(self):
        asker, _ = self.register(4001)
        peer, node_id = self.register(4002)
        peer.say({"type": "thisisme", "id": wireId(node_id + 1), "port": 4002, "host": ""})
        self.assertEqual(peer.heard(), [{"type": "error", "code": "wtf",
                                         "info": f"you are node {node_id}"}])
        self.assertTrue(peer.closed)
        self.assertEqual(self.askNode(asker)["id"], "")

    def test_repeatedThisismeWithSameIdIsIgnored(self):
        peer, node_id = self.register(4001)
        peer.say({"type": "thisisme", "id": wireId(node_id), "port": 4001, "host": ""})
        self.assertEqual(peer.heard(), [])
        self.assertFalse(peer.closed)
        self.assertEqual(list(self.tracker.registry.nodes), [node_id])

    def test_errorIsNeverAnswered(self):
        error = {"type": "error", "code": "wtf", "info": "what?"}
        stranger = self.connect()
        stranger.say(error)
        peer, _ = self.register(4001)
        peer.say(error)
        peer.say({"type": "error", "code": "no-such-code", "info": "garbled"})
        self.assertEqual(stranger.heard(), [])
        self.assertEqual(peer.heard(), [])
        self.assertFalse(peer.closed)
        self.assertFalse(stranger.closed)


class RegistrySchemeTests(SynchronousTestCase):
    """What nodes can do (Abilities), and picks among nodes of a scheme."""

    def setUp(self):
        self.registry = Registry(random.Random(5))
        # 0-2 flood, 3-4 index (4 a super-peer), 5 says nothing.
        for node_id, abilities in ((0, Abilities("flood")), (1, Abilities("flood")),
                                   (2, Abilities("flood")), (3, Abilities("index")),
                                   (4, Abilities("index", True)), (5, Abilities())):
            self.registry.join(node_id, f"h{node_id}", 1000 + node_id, abilities)

    def picks(self, asker, **kwargs):
        return {self.registry.pick(asker, **kwargs)[0] for _ in range(200)}

    def test_abilitiesAreRecordedAndForgotten(self):
        self.assertEqual(self.registry.abilities[4], Abilities("index", True))
        self.assertEqual(self.registry.abilities[5], Abilities(None, False))
        self.registry.leave(4)
        self.assertNotIn(4, self.registry.abilities)

    def test_pickWithoutSchemeIsAnyNode(self):
        self.assertEqual(self.picks(0), {1, 2, 3, 4, 5})

    def test_pickByScheme(self):
        self.assertEqual(self.picks(5, scheme="flood"), {0, 1, 2})
        self.assertEqual(self.picks(0, scheme="flood"), {1, 2})
        self.assertEqual(self.picks(0, scheme="index"), {3, 4})
        self.assertIsNone(self.registry.pick(0, scheme="chord"))

    def test_pickSuperPeerOfAScheme(self):
        self.assertEqual(self.picks(3, scheme="index", superpeer=True), {4})
        self.assertIsNone(self.registry.pick(4, scheme="index", superpeer=True))
        self.assertIsNone(self.registry.pick(0, scheme="flood", superpeer=True))

    def test_members(self):
        self.assertEqual(sorted(self.registry.members()), [0, 1, 2, 3, 4, 5])
        self.assertEqual(sorted(self.registry.members("flood")), [0, 1, 2])
        self.assertEqual(self.registry.members("index", superpeer=True), [4])
        self.registry.leave(4)
        self.assertEqual(self.registry.members("index", superpeer=True), [])
        self.assertEqual(self.registry.members("index"), [3])

    def test_portZeroIsInNoPool(self):
        self.registry.join(9, "client", 0, Abilities("index", True))
        self.assertEqual(self.registry.abilities[9], Abilities("index", True))
        self.assertNotIn(9, self.registry.members("index"))
        self.assertEqual(self.picks(3, scheme="index"), {4})


class RegistryEntryTests(SynchronousTestCase):
    """A node of the table is one slotted entry, its places in the pools
    on it (L{twisted_bazaar.tracker.registry._Entry})."""

    def test_poolsFollowJoinsAndLeaves(self):
        """Nodes leaving from anywhere in a pool (its last moved to the
        gap) leave every pool holding exactly the live nodes of it."""
        rng = random.Random(9)
        registry = Registry(rng)
        kinds = (Abilities("index"), Abilities("index", True), Abilities("flood"),
                 Abilities())
        live = {}
        for step in range(2000):
            if live and rng.random() < 0.45:
                node_id = rng.choice(sorted(live))
                registry.leave(node_id)
                del live[node_id]
            else:
                node_id = rng.randrange(10**6)
                if node_id not in live:
                    abilities = rng.choice(kinds)
                    port = rng.choice((0, 4001, 4001, 4001))
                    registry.join(node_id, f"h{node_id}", port, abilities)
                    live[node_id] = (abilities, port)
        taking = {n: ab for n, (ab, port) in live.items() if port}
        self.assertEqual(sorted(registry.members()), sorted(taking))
        self.assertEqual(sorted(registry.members("index")),
                         sorted(n for n, ab in taking.items() if ab.scheme == "index"))
        self.assertEqual(sorted(registry.members("index", superpeer=True)),
                         sorted(n for n, ab in taking.items() if ab.superpeer))
        self.assertEqual(dict(registry.nodes),
                         {n: (f"h{n}", port) for n, (_, port) in live.items()})
        self.assertEqual(set(registry.verified), set(live))

    def test_placesOneFieldAPool(self):
        """A node's places in the three pools of a super-peer are one field
        each of its entry's places: each set and cleared alone, the others
        kept, a place past 2**29 too."""
        entry = _Entry("h", 4001, Abilities("index", True))
        self.assertEqual([entry.placeIn(shift) for shift in (_ALL, _SCHEME, _SUPER)],
                         [None, None, None])
        for shift in (_ALL, _SCHEME, _SUPER):
            entry.place(shift, 0)
        entry.place(_SCHEME, 2**29 + 5)
        entry.place(_SUPER, 300)
        self.assertEqual([entry.placeIn(shift) for shift in (_ALL, _SCHEME, _SUPER)],
                         [0, 2**29 + 5, 300])
        entry.place(_ALL, None)
        self.assertEqual([entry.placeIn(shift) for shift in (_ALL, _SCHEME, _SUPER)],
                         [None, 2**29 + 5, 300])

    def test_theSessionsLinkIsInTheEntry(self):
        """The tracker's end of a node's session is kept in the node's
        entry (L{Registry.links}), not in a dict by id of its own beside
        the table: a node joined has none until it is set, and none once
        deleted; the links are read in the order the nodes joined."""
        registry = Registry(random.Random(1))
        ids = [KEYED | (i * 2654435761) for i in range(5)]
        links = [object() for _ in ids]
        for node_id in ids:
            registry.join(node_id, "h", 4001)
        self.assertEqual((len(registry.links), registry.links.get(ids[0])), (0, None))
        for node_id, link in zip(ids[::-1], links):
            registry.links[node_id] = link
        self.assertEqual(list(registry.links), ids)
        self.assertIs(registry.links[ids[4]], links[0])
        del registry.links[ids[4]]
        self.assertNotIn(ids[4], registry.links)
        self.assertRaises(KeyError, registry.links.__delitem__, ids[4])
        self.assertRaises(KeyError, registry.links.__getitem__, ids[4])
        self.assertEqual((len(registry.links), ids[4] in registry.nodes), (4, True))
        registry.leave(ids[3])
        self.assertEqual(list(registry.links), ids[:3])

    def test_aNodeOfTheRunCostsTheTrackerUnder220Bytes(self):
        """20,000 keyed nodes of one scheme: the table held 470 bytes a
        node in a tuple, an entry in two dicts and two sets, and one in
        each of two pools' tables (8297fc61); one slotted entry holds it
        all (242 at 75ef2329, its places in the two pools a slot and an
        int of 28 bytes each; 203 with both in one int)."""
        hosts = [f"n{i}" for i in range(20_000)]
        abilities = Abilities.of("index", False)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            registry = Registry(random.Random(1))
            for i, host in enumerate(hosts):
                registry.join(KEYED | (i * 2654435761), host, 4001, abilities)
            gc.collect()
            held = (tracemalloc.get_traced_memory()[0] - before) / len(hosts)
        finally:
            tracemalloc.stop()
        self.assertEqual(len(registry), 20_000)
        self.assertLess(held, 220)


class RegistryRingOrderTests(SynchronousTestCase):
    """The first node of a scheme at or after a ring place (following)."""

    def setUp(self):
        self.registry = Registry(random.Random(5))
        for node_id in (10, 20, 30):
            self.registry.join(node_id, "h", 1000 + node_id, Abilities("chord"))
        self.registry.join(15, "h", 1015, Abilities("flood"))

    def following(self, place, unwanted=()):
        return self.registry.following(place, "chord", unwanted)

    def test_theFirstAtOrAfterThePlaceGoingRound(self):
        self.assertEqual([self.following(p) for p in (5, 10, 11, 30, 31)],
                         [10, 10, 20, 30, 10])

    def test_unwantedNodesAreSkipped(self):
        self.assertEqual(self.following(11, {20}), 30)
        self.assertEqual(self.following(11, {20, 30}), 10)
        self.assertIsNone(self.following(11, {10, 20, 30}))

    def test_theOrderFollowsJoinsAndDepartures(self):
        self.assertEqual(self.following(21), 30)
        self.registry.join(25, "h", 1025, Abilities("chord"))
        self.registry.leave(30)
        self.assertEqual([self.following(p) for p in (21, 26)], [25, 10])

    def test_onlyCheckedNodesOfTheSchemeAreNamed(self):
        self.registry.join(12, "h", 1012, Abilities("chord"), verified=False)
        self.assertEqual(self.following(11), 20)
        self.registry.verify(12)
        self.assertEqual(self.following(11), 12)
        self.assertIsNone(self.registry.following(0, "index"))

    def test_aKeyedIdIsPlacedByItsKeyBits(self):
        keyed = KEYED + 25
        self.registry.join(keyed, "h", 1099, Abilities("chord"))
        self.assertEqual(ringPlace(keyed), 25)
        self.assertEqual(self.following(21), keyed)


class TrackerAbilitiesTests(SynchronousTestCase):
    """thisisme's scheme and super fields, and nodereq's, on the wire."""

    def setUp(self):
        self.tracker = Tracker(Clock(), random.Random(6))
        self.factory = TrackerFactory(self.tracker)

    def register(self, port, **extra):
        peer = WiredLink(self.factory)
        peer.say(dict({"type": "thisisme", "id": "", "port": port, "host": ""},
                      **extra))
        [answer] = peer.heard()
        self.assertEqual(answer["type"], "thisisyou")
        return peer, parseWireId(answer["id"])

    def introduced(self, peer, times=100, **extra):
        named = set()
        for _ in range(times):
            peer.say(dict({"type": "nodereq", "exclude": []}, **extra))
            [answer] = peer.heard()
            self.assertEqual(answer["type"], "nodereply")
            named.add(parseWireId(answer["id"]))
        return named

    def test_thisismeAbilitiesAreRecorded(self):
        _, plain = self.register(4001)
        _, flood = self.register(4002, scheme="flood")
        _, leader = self.register(4003, scheme="index", super=True)
        _, leaf = self.register(4004, scheme="index", super=False)
        self.assertEqual(self.tracker.registry.abilities, {
            plain: Abilities(None, False), flood: Abilities("flood", False),
            leader: Abilities("index", True), leaf: Abilities("index", False)})

    def test_nodesThatSayTheSameShareTheirAbilities(self):
        """Nodes that said the same hold one L{Abilities} (a tracker of a
        simulated million held a million alike, 152 bytes each); past the
        kinds it shares, a new one is made each time, so peers naming ever
        new schemes grow nothing."""
        from twisted_bazaar.tracker import registry
        _, one = self.register(4001, scheme="flood")
        _, two = self.register(4002, scheme="flood")
        abilities = self.tracker.registry.abilities
        self.assertIs(abilities[one], abilities[two])
        self.patch(registry, "_shared", {})
        self.patch(registry, "_SHARED_LIMIT", 1)
        self.assertIs(Abilities.of("index", True), Abilities.of("index", True))
        other = Abilities.of("chord", False)
        self.assertIsNot(other, Abilities.of("chord", False))
        self.assertEqual((other, list(registry._shared)),
                         (Abilities("chord", False), [("index", True)]))

    def test_nodereqWithSchemeIntroducesOnlyThatScheme(self):
        asker, _ = self.register(4001, scheme="flood")
        flood = {self.register(4002 + i, scheme="flood")[1] for i in range(3)}
        index = {self.register(4010 + i, scheme="index")[1] for i in range(3)}
        self.assertEqual(self.introduced(asker, scheme="flood"), flood)
        self.assertEqual(self.introduced(asker, scheme="index"), index)
        self.assertEqual(self.introduced(asker, 300), flood | index)

    def test_nodereqForASuperPeer(self):
        asker, _ = self.register(4001, scheme="index")
        _, leader = self.register(4002, scheme="index", super=True)
        self.register(4003, scheme="index")
        self.register(4004, scheme="flood", super=True)
        self.assertEqual(self.introduced(asker, scheme="index", super=True), {leader})

    def test_nodereqOfASchemeNobodyRuns(self):
        asker, _ = self.register(4001, scheme="flood")
        self.register(4002, scheme="flood")
        self.assertEqual(self.introduced(asker, 1, scheme="index"), {-1})
        self.assertEqual(self.introduced(asker, 1, scheme="index", super=True), {-1})

    def test_departureLeavesTheSchemePool(self):
        asker, _ = self.register(4001, scheme="index")
        leader_link, leader = self.register(4002, scheme="index", super=True)
        leader_link.transport.loseConnection()
        self.assertNotIn(leader, self.tracker.registry.abilities)
        self.assertEqual(self.introduced(asker, 1, scheme="index", super=True), {-1})


class AddressCheckTests(SynchronousTestCase):
    """
    With a connector, the tracker checks the address each node advertises
    (a connection there, ``whoareyou``, a ``thisisme`` with the registered
    id) before it introduces the node, and checks again, later and later,
    while it fails.
    """

    def setUp(self):
        checkingTracker(self)

    def register(self, port, peer_host="203.0.113.5"):
        peer = WiredLink(self.factory, peer_host)
        peer.say({"type": "thisisme", "id": "", "port": port, "host": ""})
        [answer] = peer.heard()
        return peer, parseWireId(answer["id"])

    def asker(self):
        peer, _ = self.register(0, peer_host="198.51.100.1")
        return peer

    def ask(self, peer, node_id):
        peer.say({"type": "nodereq", "exclude": []})
        peer.say({"type": "whereis", "id": wireId(node_id)})
        return [(parseWireId(m["id"]), m["port"]) for m in peer.heard()]

    def answerCheck(self, hello):
        """The connection of the last check succeeds, and the far end
        answers its whoareyou with hello (or closes at once, for None)."""
        probe = self.connector.connectLast()
        self.assertEqual(sent(probe), [wire.WhoAreYou()])
        if hello is not None:
            feed(probe, hello)
        closeLink(probe)

    def test_introducedOnceChecked(self):
        asker = self.asker()
        peer, node_id = self.register(4001)
        [request] = self.connector.requests
        self.assertEqual(request[:2], ("203.0.113.5", 4001))
        self.assertEqual(self.ask(asker, node_id), [(-1, 0), (node_id, 0)])
        self.answerCheck(wire.ThisIsMe(node_id, 4001))
        self.assertEqual(self.ask(asker, node_id), [(node_id, 4001), (node_id, 4001)])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_failedCheckIsTriedAgainLater(self):
        """Another node at the address, nobody answering, or nothing
        listening: not introduced; checked again after 5, 10, 20 s...;
        the node leaving ends the checks."""
        asker = self.asker()
        peer, node_id = self.register(4001)
        self.answerCheck(wire.ThisIsMe(node_id + 1, 4001))
        self.clock.advance(RECHECK_FIRST - 0.1)
        self.assertEqual(len(self.connector.requests), 1)
        self.clock.advance(0.1)
        self.answerCheck(None)
        self.clock.advance(2 * RECHECK_FIRST)
        self.connector.failLast(ConnectionRefusedError())
        self.assertEqual(len(self.connector.requests), 3)
        self.assertEqual(self.ask(asker, node_id), [(-1, 0), (node_id, 0)])
        peer.link.transport.loseConnection()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_checkLinesBounded(self):
        """What the node at a checked address makes the tracker log (a
        broken frame, here) goes through the tracker's peer log: 30 nodes
        (of as many address groups) whose checks reach one group that
        answers so get 5 lines and a summary."""
        with capturedLogs() as events:
            for n in range(30):
                self.register(4001, peer_host=f"10.{n}.0.5")
                probe = self.connector.connectLast()
                probe.dataReceived(b"x:")
            self.clock.advance(10)
        lines = [formatEvent(event) for event in events]
        broken = [line for line in lines if line.startswith("broken netstring")]
        self.assertEqual(len(broken), 5)
        self.assertIn("25 more lines like 'broken netstring from {peer}: {reason}' from "
                      "192.168.0.0/16 in the last 10 s, not logged", lines)

    def test_portZeroIsNotChecked(self):
        self.register(0)
        self.assertEqual(self.connector.requests, [])

    def test_stopCancelsEveryCheck(self):
        self.register(4001)
        _, other = self.register(4002, peer_host="198.51.100.2")
        self.answerCheck(wire.ThisIsMe(-5, 4002))
        self.tracker.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertTrue(self.connector.requests[0].deferred.called)
        self.assertTrue(self.connector.requests[0].link.closing)


class ReachTests(AddressCheckTests):
    """
    A node that asks (``thisisme.reach``) is told what each check of its
    address finds, and where the tracker saw its connection come from,
    as STUN and AutoNAT tell; a node that does not ask is told nothing.
    """

    def register(self, port, peer_host="203.0.113.5", reach=True, host=""):
        peer = WiredLink(self.factory, peer_host, 40123)
        peer.say({"type": "thisisme", "id": "", "port": port, "host": host,
                  "reach": reach})
        [answer] = peer.heard()
        return peer, parseWireId(answer["id"])

    def test_toldItAnswered(self):
        peer, node_id = self.register(4001)
        self.assertEqual(peer.heard(), [])
        self.answerCheck(wire.ThisIsMe(node_id, 4001))
        self.assertEqual(peer.heard(), [{
            "type": "reach", "host": "203.0.113.5", "port": 4001, "reachable": True,
            "seenHost": "203.0.113.5", "seenPort": 40123}])

    def test_toldEachFailure(self):
        """Behind NAT: nothing answers at the address it registered; the
        node is told so at each check, with where its connection came
        from."""
        peer, node_id = self.register(4001, host="10.1.0.2")
        self.connector.failLast(ConnectionRefusedError())
        self.clock.advance(RECHECK_FIRST)
        self.answerCheck(wire.ThisIsMe(node_id + 1, 4001))
        told = {"type": "reach", "host": "10.1.0.2", "port": 4001, "reachable": False,
                "seenHost": "203.0.113.5", "seenPort": 40123}
        self.assertEqual(peer.heard(), [told, told])

    def test_notToldUnasked(self):
        for reach in (None, False):
            peer, node_id = self.register(4001, reach=reach)
            self.answerCheck(wire.ThisIsMe(node_id, 4001))
            self.assertEqual(peer.heard(), [])

    def test_notToldOnceGone(self):
        """A node that left while its address was checked is told
        nothing, and no check of it is left."""
        peer, node_id = self.register(4001)
        peer.link.transport.loseConnection()
        self.assertTrue(self.connector.requests[0].deferred.called)
        self.assertEqual(peer.heard(), [])
        self.assertEqual(self.clock.getDelayedCalls(), [])


class CheckedWhereItConnectsTests(ReachTests):
    """
    On a connector of addresses (TCP's), the tracker dials a node to check
    it where its connection comes from, or where the node could dial
    itself from there (base/peerhost.py's L{whyNotChecked}): a stranger's
    registration never has it dial a service of its own machine or
    network, or a third party, and what it is told makes no port scanner
    of the tracker (docs/protocol.md §5, "The address check").
    """

    def setUp(self):
        super().setUp()
        self.connector = AddressedConnector()
        self.tracker.connector = self.connector
        self.tracker.transports = overConnector(self.connector, self.tracker.clock)

    def register(self, port, peer_host="203.0.113.5", reach=True, host=""):
        """As L{ReachTests.register}; a check that dials nothing fails at
        once: what the node is told of it, it is told with its id
        (L{told})."""
        peer = WiredLink(self.factory, peer_host, 40123)
        peer.say({"type": "thisisme", "id": "", "port": port, "host": host,
                  "reach": reach})
        answer, *self.told = peer.heard()
        return peer, parseWireId(answer["id"])

    def test_toldEachFailure(self):
        """Registered at an address of its own network (behind NAT), seen
        at its router's: not dialled there, and told so at each check, as
        a check that found nothing."""
        with capturedLogs() as events:
            peer, node_id = self.register(4001, host="10.1.0.2")
            self.clock.advance(RECHECK_FIRST)
        self.assertEqual(self.connector.requests, [])
        told = {"type": "reach", "host": "10.1.0.2", "port": 4001, "reachable": False,
                "seenHost": "203.0.113.5", "seenPort": 40123}
        self.assertEqual(self.told + peer.heard(), [told, told])
        lines = [formatEvent(event) for event in events]
        self.assertIn(f"node {shortId(node_id)} joined from 203.0.113.5, registered at "
                      "10.1.0.2:4001 (1 live)", lines)
        self.assertIn(f"node {shortId(node_id)}: not dialling 10.1.0.2:4001 to check it: "
                      "10.1.0.2 is not where the node's connection comes from "
                      "(203.0.113.5): a node connecting from a public address is "
                      "checked only there; not introducing it (checking again in 5 s)",
                      lines)

    def test_toldWhereSeenAsIPv4(self):
        """Seen on a dual-stack socket at ``::ffff:a.b.c.d``: the node is
        told it was seen at ``a.b.c.d`` (and checked there, its word for
        its host being that address however spelt)."""
        peer, node_id = self.register(4001, peer_host="::ffff:203.0.113.5",
                                      host="10.1.0.2")
        self.assertEqual(self.told[0]["seenHost"], "203.0.113.5")

    def test_neverAServiceOfItsOwnMachine(self):
        """127.0.0.1:6379, 169.254.169.254:80, a third party's address:
        never dialled for a stranger; the node is not introduced."""
        asker = self.asker()
        for host, port in (("127.0.0.1", 6379), ("169.254.169.254", 80),
                           ("198.51.100.9", 443)):
            _, node_id = self.register(port, host=host)
            self.assertEqual(self.ask(asker, node_id), [(-1, 0), (node_id, 0)])
        self.clock.advance(RECHECK_FIRST * 8)
        self.assertEqual(self.connector.requests, [])

    def test_fromItsOwnMachineAnywhere(self):
        """A node on the tracker's machine can dial what the tracker can:
        it is checked where it says."""
        self.register(4001, peer_host="127.0.0.1", host="192.0.2.44")
        self.assertEqual(self.connector.requests[0][:2], ("192.0.2.44", 4001))

    def test_atItsStableIPv6AddressFromATemporaryOne(self):
        """A host with privacy addresses (RFC 8981) connects from a
        temporary address and gives its stable one as --host, of the same
        /64: checked there, and named there once it answers (it was never
        dialled, and ran relayed for good, "behind NAT?")."""
        asker = self.asker()
        peer, node_id = self.register(4001, peer_host="2001:db8:1:200:10b7:6657:9d6f:e5a0",
                                      host="2001:db8:1:200::2")
        self.assertEqual(self.connector.requests[0][:2], ("2001:db8:1:200::2", 4001))
        self.answerCheck(wire.ThisIsMe(node_id, 4001))
        asker.say({"type": "whereis", "id": wireId(node_id)})
        [answer] = asker.heard()
        self.assertEqual((answer["host"], answer["port"]), ("2001:db8:1:200::2", 4001))

    def test_aNeighbourAtAWellKnownPortIsNotDialled(self):
        """A node in a shared /64 (a hosting provider's, a campus LAN)
        registered at a neighbour's address, port 22: the tracker dialled
        the neighbour's ssh for it; now not, and says why (the rule is the
        node's to know: told at once).  From a private address the same."""
        temporary = "2001:db8:1:200:10b7:6657:9d6f:e5a0"
        with capturedLogs() as events:
            peer, node_id = self.register(22, peer_host=temporary, host="2001:db8:1:200::2")
            self.register(22, peer_host="192.168.1.5", host="192.168.1.6")
        self.assertEqual(self.connector.requests, [])
        self.assertEqual(self.told[0]["reachable"], False)
        self.assertIn(f"node {shortId(node_id)}: not dialling [2001:db8:1:200::2]:22 to "
                      "check it: 2001:db8:1:200::2 is not where the node's connection "
                      f"comes from ({temporary}), and port 22 is below 1024: another "
                      "address is checked only at a port from 1024; not introducing it "
                      "(checking again in 5 s)", [formatEvent(event) for event in events])

    def neighbourFails(self, fail, peer_host="2001:db8:1:200:10b7:6657:9d6f:e5a0",
                       host="2001:db8:1:200::2"):
        """A node registered at a neighbour's address (another of its /64,
        or of its private network), whose check's dial ends by ``fail``
        (the test's connector request): the node is told nothing, and its
        check slot is held, until exactly the handshake timeout after the
        check began; then told ``reachable: false`` and the slot freed."""
        timeout = self.tracker.settings.handshake_timeout
        dialled = len(self.connector.requests)
        peer, node_id = self.register(4001, peer_host=peer_host, host=host)
        [request] = self.connector.requests[dialled:]
        self.assertEqual(request[:2], (self.connector.names.get(host, [host])[0], 4001))
        fail(self.connector)
        self.clock.advance(timeout - 0.001)
        self.assertEqual((self.told, peer.heard()), ([], []))
        self.assertEqual(len(self.tracker.checks.checking), 1)
        self.clock.advance(0.001)
        self.assertEqual([(m["host"], m["port"], m["reachable"]) for m in peer.heard()],
                         [(host, 4001, False)])
        self.assertEqual(len(self.tracker.checks.checking), 0)
        self.assertTrue(request.deferred.called)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)  # the next check
        self.tracker.checks.stop(node_id)

    def test_aNeighbourRefusingIsToldAtTheHandshakeTimeout(self):
        """Refused at once: told at the handshake timeout, not at once (a
        registrant in a shared /64 had the tracker scan a neighbour's
        ports, a refusal told at once, a silent port at the timeout)."""
        self.neighbourFails(lambda connector: connector.failLast(ConnectionRefusedError()))

    def test_aNeighbourClosingIsToldAtTheHandshakeTimeout(self):
        """A service there that closes (or answers as another node)."""
        self.neighbourFails(lambda connector: closeLink(connector.connectLast()))
        self.neighbourFails(lambda connector: self.answerCheck(wire.ThisIsMe(7, 4001)),
                            peer_host="2001:db8:1:200::9")

    def test_aSilentNeighbourIsToldAtTheHandshakeTimeout(self):
        """Nothing answers the dial: given up at the handshake timeout,
        told then as a refusal is."""
        self.neighbourFails(lambda connector: None)

    def test_aPrivateNeighbourLikewise(self):
        """From a private network, another private or public address."""
        for host in ("192.168.1.6", "198.51.100.9"):
            self.neighbourFails(
                lambda connector: connector.failLast(ConnectionRefusedError()),
                peer_host="192.168.1.5", host=host)

    def test_aNameAtANeighbourLikewise(self):
        """A name that resolves to a neighbour's address is held so; one
        that resolves to the node's own address alone is told at once."""
        temporary = "2001:db8:1:200:10b7:6657:9d6f:e5a0"
        self.connector.names.update({"neighbour.example": ["2001:db8:1:200::2"],
                                     "own.example": [temporary]})
        self.neighbourFails(lambda connector: connector.failLast(ConnectionRefusedError()),
                            peer_host=temporary, host="neighbour.example")
        peer, _ = self.register(4001, peer_host=temporary, host="own.example")
        self.connector.failLast(ConnectionRefusedError())
        self.assertEqual([m["reachable"] for m in peer.heard()], [False])

    def test_itsOwnAddressIsToldAtOnce(self):
        """The node's own address (behind a router that maps nothing, at
        its temporary IPv6 address, or from the tracker's machine at any):
        a failure is told at once, as before."""
        for peer_host, host in (("203.0.113.5", ""),
                                ("2001:db8:1:200:10b7:6657:9d6f:e5a0", ""),
                                ("127.0.0.1", "192.0.2.44")):
            peer, _ = self.register(4001, peer_host=peer_host, host=host)
            self.connector.failLast(ConnectionRefusedError())
            self.assertEqual([m["reachable"] for m in peer.heard()], [False])
            self.assertEqual(len(self.tracker.checks.checking), 0)

    def test_aNeighbourThatPassesIsToldAtOnce(self):
        """A pass proves the node's key there: told at once, and no
        timer of the check is left."""
        peer, node_id = self.register(4001, peer_host="2001:db8:1:200:10b7:6657:9d6f:e5a0",
                                      host="2001:db8:1:200::2")
        self.answerCheck(wire.ThisIsMe(node_id, 4001))
        self.assertEqual([m["reachable"] for m in peer.heard()], [True])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_leavingWhileAFailureIsHeld(self):
        """The held failure's timer is the check's: the node leaving
        cancels it, and nothing is told."""
        peer, _ = self.register(4001, peer_host="2001:db8:1:200:10b7:6657:9d6f:e5a0",
                                host="2001:db8:1:200::2")
        self.connector.failLast(ConnectionRefusedError())
        peer.link.transport.loseConnection()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(len(self.tracker.checks.checking), 0)

    def test_aNameAtTheAddressItConnectsFrom(self):
        """A name is resolved, and dialled at the address it resolves to
        where the node's connection comes from, never as a name; the node
        stays named at its name."""
        self.connector.names["seller.example"] = ["192.0.2.8", "203.0.113.5"]
        asker = self.asker()
        peer, node_id = self.register(4001, host="seller.example")
        self.assertEqual(self.connector.requests[0][:2], ("203.0.113.5", 4001))
        self.answerCheck(wire.ThisIsMe(node_id, 4001))
        asker.say({"type": "whereis", "id": wireId(node_id)})
        [answer] = asker.heard()
        self.assertEqual((answer["host"], answer["port"]), ("seller.example", 4001))

    def test_aNameOfAThousandAddressesIsCheckedAtTheFirstFour(self):
        """A node on the tracker's machine (checked anywhere) registered
        at a name that resolves to a thousand addresses: the check tried
        each in turn (1,000 dials); now the first NAME_ADDRESSES."""
        self.connector.names["many.example"] = [
            f"198.51.{i // 250}.{i % 250 + 1}" for i in range(1000)]
        self.register(4001, peer_host="127.0.0.1", host="many.example")
        while self.connector.requests and not self.connector.requests[-1].deferred.called:
            self.connector.failLast(ConnectionRefusedError())
        self.assertEqual(len(self.connector.requests), NAME_ADDRESSES)

    def test_aNameElsewhere(self):
        """A name that resolves to other addresses only, to none, or not at
        all: nothing dialled, and the tracker says why."""
        self.connector.names.update({"victim.example": ["127.0.0.1"], "none.example": [],
                                     "nx.example": ValueError("no such name")})
        with capturedLogs() as events:
            for name in ("victim.example", "none.example", "nx.example"):
                self.register(4001, host=name)
        self.assertEqual(self.connector.requests, [])
        lines = "\n".join(formatEvent(event) for event in events)
        self.assertIn("not dialling victim.example:4001 to check it: victim.example "
                      "resolves to 127.0.0.1: 127.0.0.1 is not where", lines)
        self.assertIn("none.example resolves to no address", lines)
        self.assertIn("nx.example does not resolve: no such name", lines)

    def test_aSlowNameIsGivenUp(self):
        """A lookup that takes longer than the check's handshake timeout
        is cancelled, and the check fails, saying so: the slot it held in
        its group's checks is free, and it is tried again later (a
        registrant's slow name server held the slot as long as it took)."""
        timeout = self.tracker.settings.handshake_timeout
        with capturedLogs() as events:
            peer, node_id = self.register(4001, host="slow.example")
            [lookup] = self.connector.lookups
            self.assertEqual(len(self.tracker.checks.checking), 1)
            self.clock.advance(timeout)
        self.assertTrue(lookup.called)
        self.assertEqual(len(self.tracker.checks.checking), 0)
        self.assertEqual(self.connector.requests, [])
        self.assertIn(f"node {shortId(node_id)}: not dialling slow.example:4001 to "
                      f"check it: slow.example did not resolve within {timeout:g} s; "
                      "not introducing it (checking again in 5 s)",
                      [formatEvent(event) for event in events])
        self.assertEqual(peer.heard()[-1]["reachable"], False)
        lookup.callback(["203.0.113.5"])  # its late answer is dropped
        self.assertEqual(self.connector.requests, [])
        self.clock.advance(RECHECK_FIRST)
        self.assertEqual(len(self.connector.lookups), 2)

    def test_leavingWhileItsNameIsLookedUp(self):
        """The lookup is cancelled with the check: nothing is dialled, no
        timer is left."""
        peer, _ = self.register(4001, host="slow.example")
        [lookup] = self.connector.lookups
        peer.link.transport.loseConnection()
        self.assertTrue(lookup.called)
        self.assertEqual(self.connector.requests, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])


class RegistrationRateTests(SynchronousTestCase):
    """One address group may register JOIN_RATE nodes a second, in bursts
    of twice that, and hold GROUP_LIMIT registered at once."""

    def setUp(self):
        self.tracker = Tracker(Clock(), random.Random(4), LinkSettings(ping_interval=0))
        self.factory = TrackerFactory(self.tracker)

    def register(self, host, port=4000):
        peer = WiredLink(self.factory, host)
        peer.say({"type": "thisisme", "id": "", "port": port, "host": ""})
        return peer

    def test_portZeroIsNotRated(self):
        """A node that takes no links costs no check: its registrations
        are not rated."""
        peers = [self.register(f"127.0.{i}.1", port=0) for i in range(int(JOIN_RATE * 4))]
        self.assertTrue(all(p.heard()[0]["type"] == "thisisyou" for p in peers))

    def test_burstThenRate(self):
        burst = int(JOIN_RATE * 2)
        peers = [self.register(f"127.0.{i}.1") for i in range(burst)]
        self.assertTrue(all(p.heard()[0]["type"] == "thisisyou" for p in peers))
        refused = self.register("127.0.250.1")
        self.assertEqual([(m["type"], m["code"]) for m in refused.heard()],
                         [("error", "noslots")])
        self.assertTrue(refused.closed)
        self.assertEqual(self.register("127.1.0.1").heard()[0]["type"], "thisisyou")
        self.tracker.clock.advance(1 / JOIN_RATE)
        self.assertEqual(self.register("127.0.250.2").heard()[0]["type"], "thisisyou")

    def test_liveNodesPerGroup(self):
        for i in range(GROUP_LIMIT):
            self.tracker.clock.advance(1)
            self.register(f"10.0.{i % 250}.{i // 250 + 1}")
        self.tracker.clock.advance(1)
        refused = self.register("10.0.9.9")
        self.assertEqual([m.get("code") for m in refused.heard()], ["noslots"])
        self.assertEqual(len(self.tracker.registry), GROUP_LIMIT)


class MemberLinesTests(SynchronousTestCase):
    """
    The lines of nodes joining and leaving, which a stranger causes by
    registering (issue 34: churn grew the tracker's log 3.2 bytes per byte
    sent), are bounded per address group: a market started on one machine
    logs each node, a stranger registering in a loop gets a few lines and
    a count.
    """

    def setUp(self):
        self.clock = Clock()
        self.tracker = Tracker(self.clock, random.Random(4), LinkSettings(ping_interval=0))
        self.factory = TrackerFactory(self.tracker)
        self.log = io.StringIO()
        # The daemon's own text log, at its level (no debug lines).
        observer = FilteringLogObserver(textObserver(self.log),
                                        [LogLevelFilterPredicate(LogLevel.info)])
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)

    def churn(self, registrations, host="203.0.113.66", every=0.01, port=0):
        """A stranger registers and leaves, again and again; the bytes it
        sent."""
        sent = 0
        for n in range(registrations):
            hello = jsonNetstring({"type": "thisisme", "id": "", "port": port, "host": ""})
            peer = WiredLink(self.factory, host, 40000 + n % 20000)
            peer.link.dataReceived(hello)
            sent += len(hello)
            peer.link.transport.loseConnection()
            self.clock.advance(every)
        return sent

    def test_churnLogsLittlePerByteSent(self):
        """3,000 registrations, 100 a second: the log grows by less than
        0.15 byte per byte sent (0.095 here; 2.8 when each registration
        logged its two lines), and says how many lines it left out."""
        sent = self.churn(3000)
        self.tracker.stop()
        logged = self.log.getvalue()
        self.assertLess(len(logged.encode()) / sent, 0.15)
        self.assertIn("more lines like 'node {id} joined from {where} ({n} live)' "
                      "from 203.0.0.0/16", logged)

    def test_rateBoundedWhateverTheRate(self):
        """However fast the churn, the lines of one group in an interval
        are bounded: ten times the registrations, about the same log."""
        self.churn(300, every=0.001)
        self.clock.advance(10)
        few = len(self.log.getvalue())
        self.churn(3000, every=0.0001)
        self.clock.advance(10)
        self.assertIn("2968 more lines like 'node {id} left", self.log.getvalue())
        self.assertLess(len(self.log.getvalue()) - few, 1.1 * few)

    def test_aMarketOnOneMachineLogsEachNode(self):
        """MEMBER_LINES nodes started at once on one machine: each one's
        joined line is there."""
        for n in range(MEMBER_LINES):
            WiredLink(self.factory, "127.0.0.1", 40000 + n).say(
                {"type": "thisisme", "id": str(100 + n), "port": 5000 + n, "host": ""})
        logged = self.log.getvalue()
        for n in range(MEMBER_LINES):
            self.assertIn(f"node {100 + n} joined from 127.0.0.1:{5000 + n}", logged)

class RegisteredAccountTests(SynchronousTestCase):
    """The account of registrations holds each node by its id and keeps
    what it holds of it (its address group) in the node's registry entry
    (L{Registry.charges}): no dict of its own, and no link read."""

    def setUp(self):
        self.tracker = Tracker(Clock(), random.Random(4), registered_limit=2)

    def openLink(self, host):
        link = TrackerFactory(self.tracker).buildProtocol(None)
        link.makeConnection(StringTransport(peerAddress=IPv4Address("TCP", host, 40000)))
        return link

    def admit(self, link, number):
        node_id = KEYED | (number * 2654435761)
        self.tracker.admit(link, wire.ThisIsMe(node_id, 4001, "", key=f"key{number}"))
        return node_id

    def test_whatItHoldsIsInTheEntry(self):
        """Each registered node is held by its id under its group, kept in
        its entry (L{Registry.charges}); a newcomer group evicts the newest
        of the group holding the most (its link refused), and a node
        dropped leaves neither entry nor charge."""
        tracker, registered = self.tracker, self.tracker.registered
        charges, nodes = tracker.registry.charges, tracker.registry.nodes
        first, second, third = (self.openLink(host) for host in
                                ("203.0.1.1", "203.0.1.2", "198.51.100.7"))
        ids = [self.admit(link, number) for number, link in
               enumerate((first, second), 1)]
        self.assertEqual(dict(charges), {ids[0]: "203.0.0.0/16", ids[1]: "203.0.0.0/16"})
        self.assertEqual(
            (len(registered), list(registered), registered.held("203.0.0.0/16")),
            (2, ids, 2))
        third_id = self.admit(third, 3)
        self.assertEqual((list(registered), registered.held("203.0.0.0/16"),
                          registered.held("198.51.0.0/16")), ([ids[0], third_id], 1, 1))
        self.assertEqual((ids[1] in nodes, ids[1] in charges, charges[third_id]),
                         (False, False, "198.51.0.0/16"))
        self.assertIn(b"evicted to make room", second.transport.value())
        tracker.linkLost(first, None)
        self.assertEqual((len(registered), list(registered), ids[0] in nodes),
                         (1, [third_id], False))
        self.assertEqual(dict(charges), {third_id: "198.51.0.0/16"})

    def test_anEntryAnswersTheAccountAlone(self):
        """What the account holds of a node is read by its id from its
        entry: the tracker's end of its session is never asked (a quiet
        session's entry answers the account with no link made)."""
        tracker = self.tracker
        first, second = (self.openLink(host) for host in ("203.0.1.1", "198.51.100.7"))
        first_id, second_id = self.admit(first, 1), self.admit(second, 2)
        entry = tracker.registry._entries[first_id]

        class Untouchable:
            def __getattr__(self, name):
                raise AssertionError(f"the account read the link's {name}")

            def __hash__(self):
                raise AssertionError("the account hashed the link")

        entry.link = Untouchable()
        self.assertEqual((tracker.registry.charges[first_id], tracker.registered.units(first_id),
                          tracker.registered.held("203.0.0.0/16")), ("203.0.0.0/16", 1, 1))
        tracker.registered.release(first_id)
        self.assertEqual((len(tracker.registered), list(tracker.registered)), (1, [second_id]))

    def test_aChargeOnlyForItsEntrysSession(self):
        """A node the registry holds no session for cannot be charged: the
        account's table has nowhere to keep it."""
        self.assertRaises(KeyError, self.tracker.registry.charges.__setitem__,
                          KEYED | 7, "203.0.0.0/16")
        self.assertEqual(len(self.tracker.registry.charges), 0)

    def test_aRegisteredNodeCostsTheTrackerUnder200Bytes(self):
        """10,000 keyed nodes admitted (their links, and their ids' wire
        texts in the codec's cache, made before): the registry's entry and
        the registered account's entries, 219 bytes a node at 3021e758
        (the account's dict by link 46 of them), 181 with the account's
        charge a slot of the entry."""
        tracker = self.tracker = Tracker(Clock(), random.Random(4))
        links = [self.openLink(f"n{number}") for number in range(10_000)]
        keys = [f"key{number}" for number in range(10_000)]
        hellos = [wire.ThisIsMe(KEYED | (number * 2654435761), 4001, "", key=key)
                  for number, key in enumerate(keys)]
        for hello in hellos:
            wireId(hello.id)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for link, hello in zip(links, hellos):
                tracker.admit(link, hello)
            gc.collect()
            held = (tracemalloc.get_traced_memory()[0] - before) / len(links)
        finally:
            tracemalloc.stop()
        self.assertEqual(len(tracker.registered), 10_000)
        self.assertLess(held, 200)
