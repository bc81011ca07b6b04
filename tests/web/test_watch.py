"""
Tests for twisted_bazaar.web.watch on a fake clock and fake connections:
silent registrants cannot hold the watcher, and a node that answers as
another is refused.
"""

import random

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.identity.keys import decode
from twisted_bazaar.identity.operator import provesOperator
from twisted_bazaar.net.handshake import channelHash
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.net.recent import STATUS
from twisted_bazaar.status.messages import NodeState, State, busy
from twisted_bazaar.testing.capabilities import secured
from twisted_bazaar.transports.path import DIRECT, LAN, RELAYED, Path
from twisted_bazaar.transports.websocket import WEBSOCKET
from twisted_bazaar.web.view import MarketView
from twisted_bazaar.web.watch import DEFAULT_BUDGET, StatusWatcher

from tests import records
from tests.helpers import netstring, parseNetstrings


class NodeEnd(StringTransport):
    """
    The node's end of a status link, over a channel that proved
    ``channelKey``: it answers the watcher's thisisme with ``hello`` and
    each state with a nodestate (unless ``mute``), a moment later; with
    no hello, it says nothing (a silent registrant).
    """

    def __init__(self, clock, link, node_id, channelKey=None, hello=None, mute=False,
                 busy=0):
        super().__init__()
        self.mute = mute
        #: States answered error{busy} before the first nodestate.
        self.busy = busy
        self.clock = clock
        self.link = link
        self.node_id = node_id
        secured(self, channelKey, b"h" * 32)
        self.hello = hello
        self.answers = []

    def write(self, data):
        super().write(data)
        if self.hello is not None:
            self.answers.append(self.clock.callLater(0.01, self._answer))

    def _answer(self):
        written = self.value()
        self.clear()
        for payload in parseNetstrings(written):
            message = wire.decode(payload)
            if type(message) is wire.ThisIsMe:
                self.link.dataReceived(netstring(self.hello))
            elif type(message) is State and self.busy:
                self.busy -= 1
                self.link.dataReceived(netstring(busy("state", 10, 0.5)))
            elif type(message) is State and not self.mute:
                state = NodeState(self.node_id, "10.0.0.1", 9001, "flood", (), {},
                                  public=True)
                self.link.dataReceived(netstring(state))


class Connector:
    """The watcher's transports: connects its links to node ends, the
    nodes of ``silent`` never answering, those of ``mute`` answering no
    question; the others answer as themselves, or as ``impostors``
    say."""

    def __init__(self, clock, identities):
        self.clock = clock
        self.identities = identities
        self.silent = set()
        self.mute = set()
        #: node id -> states each of its ends answers busy first.
        self.busy = {}
        self.impostors = {}
        self.ends = []

    def dial(self, path, expectedKey, protocolFactory, options=None):
        return self.connect(path.port, protocolFactory())

    def connect(self, port, link):
        node_id = port
        identity = self.identities[node_id]
        if node_id in self.silent:
            end = NodeEnd(self.clock, link, node_id)
        else:
            speaker = self.impostors.get(node_id, identity)
            end = NodeEnd(self.clock, link, node_id, decode(speaker.key),
                          wire.ThisIsMe(node_id, 9001, "10.0.0.1", purpose=STATUS,
                                        key=speaker.key if speaker is identity
                                        else None), mute=node_id in self.mute,
                          busy=self.busy.get(node_id, 0))
        self.ends.append(end)
        link.makeConnection(end)
        return defer.succeed(link)


def run(clock, seconds, step=0.05):
    """Advance the clock by seconds, a step at a time (each answer comes a
    moment after its question)."""
    for _ in range(round(seconds / step)):
        clock.advance(step)


class WatcherBudgetTests(SynchronousTestCase):
    """
    Eight registrants with low ids that pass the address check and then
    stay silent held the watcher's eight connections until each link's
    handshake timed out: a new seller was unknown to the web view for
    25 s.  Each member now has a budget to open its link in, and members
    in doubt hold at most half the connections.
    """

    def setUp(self):
        self.clock = Clock()
        drawn = sorted((records.identity(500 + n) for n in range(9)),
                       key=lambda identity: identity.id)
        self.identities = {identity.id: identity for identity in drawn}
        self.silent, self.newcomer = [i.id for i in drawn[:8]], drawn[8].id
        self.connector = Connector(self.clock, self.identities)
        self.connector.silent = set(self.silent)
        self.rows = [(node_id, "10.0.0.1", node_id, "flood") for node_id in self.silent]
        self.view = MarketView(self.clock)
        self.watcher = StatusWatcher(self.clock, lambda: list(self.rows), self.connector,
                                     self.view, LinkSettings(), random.Random(1))
        self.addCleanup(self.stop)

    def stop(self):
        self.watcher.stopService()
        self.clock.advance(60)
        for end in self.connector.ends:
            for call in end.answers:
                if call.active():
                    call.cancel()

    def shownWithin(self, seconds):
        """Whether the newcomer's state is known within seconds from now."""
        end = self.clock.seconds() + seconds
        while self.clock.seconds() < end:
            self.clock.advance(0.05)
            page = self.view.node(self.newcomer)
            if page is not None and page["known"]:
                return True
        return False

    def test_aNewNodeShowsWithEightSilentRegistered(self):
        self.watcher.startService()
        run(self.clock, 5)
        self.rows.append((self.newcomer, "10.0.0.1", self.newcomer, "flood"))
        self.assertTrue(self.shownWithin(3.0))

    def test_aNewNodeShowsWhenAllComeAtOnce(self):
        """The new node joins as the silent ones are first tried: they
        take every connection, for their budget only."""
        self.assertEqual(DEFAULT_BUDGET, 2.0)
        self.watcher.startService()
        self.rows.append((self.newcomer, "10.0.0.1", self.newcomer, "flood"))
        self.assertTrue(self.shownWithin(3.0))

    def test_membersThatAnswerNoQuestion(self):
        """Eight that open their link and then answer no question: each
        holds a question until it closes, but counts for half."""
        self.connector.silent = set()
        self.connector.mute = set(self.silent)
        self.watcher.startService()
        run(self.clock, 5)
        self.assertEqual(len(self.watcher.sessions), 8)
        self.rows.append((self.newcomer, "10.0.0.1", self.newcomer, "flood"))
        self.assertTrue(self.shownWithin(3.0))

    def test_silentMembersKeepBeingTried(self):
        """A silent member is tried again, less and less often, by at most
        half the connections; one that answers at last is shown."""
        self.watcher.startService()
        run(self.clock, 5)
        self.rows.append((self.newcomer, "10.0.0.1", self.newcomer, "flood"))
        opened = []
        for _ in range(60):
            run(self.clock, 1)
            opened.append(sum(1 for node_id in self.silent
                              if node_id in self.watcher.sessions))
        self.assertLessEqual(max(opened), 4)
        self.assertGreater(sum(opened), 0)
        self.connector.silent.discard(self.silent[0])
        run(self.clock, 130)
        self.assertTrue(self.view.node(self.silent[0])["known"])


class WatcherTurnTests(SynchronousTestCase):
    """
    More live nodes than questions at once (19 and 8, the tracker's web
    view of a 20-node market): each round asked the first eight by id,
    which answered before the next round, so the other eleven were asked
    only when their link opened, and shown as not answering 5 s of every
    10 (a node closes a status link idle for 10 s).  A round now asks
    those asked longest ago first.
    """

    def test_everyNodeAskedEachFewRounds(self):
        clock = Clock()
        drawn = [records.identity(600 + n) for n in range(19)]
        identities = {identity.id: identity for identity in drawn}
        rows = [(node_id, "10.0.0.1", node_id, "flood") for node_id in identities]
        view = MarketView(clock)
        watcher = StatusWatcher(clock, lambda: rows, Connector(clock, identities), view,
                                LinkSettings(), random.Random(1), interval=0.5)
        watcher.startService()
        self.addCleanup(watcher.stopService)
        run(clock, 5)
        silent = []
        for _ in range(40):
            run(clock, 0.5)
            silent.append(sum(node["silent"] for node in view.snapshot()["nodes"]))
        self.assertEqual(max(silent), 0)
        self.assertEqual(len(watcher.sessions), 19)


class UnlistedCountTests(SynchronousTestCase):
    """
    The tracker's own web view (``--web``) of a class of 30 behind one
    router, 8 held at its relay and 22 LAN-only: the tracker lists the
    LAN-only ones to nobody off their LAN, so its members were the 8,
    and the page said 8 live nodes, where ``bazaar web`` outside says
    ``8 of 30`` (running.md, "Many machines behind one router").  The
    watcher now counts those its members leave out.
    """

    def watch(self, unlisted):
        clock = Clock()
        drawn = [records.identity(700 + n) for n in range(8)]
        identities = {identity.id: identity for identity in drawn}
        rows = [(node_id, "10.0.0.1", node_id, "flood") for node_id in identities]
        view = MarketView(clock)
        watcher = StatusWatcher(clock, lambda: rows, Connector(clock, identities), view,
                                LinkSettings(), random.Random(1), unlisted=unlisted)
        watcher.startService()
        self.addCleanup(watcher.stopService)
        run(clock, 1)
        return view.snapshot()

    def test_theLanOnlyNodesCountLive(self):
        market = self.watch(lambda: 22)
        self.assertEqual((len(market["nodes"]), market["live"]), (8, 30))

    def test_noneUnlisted(self):
        market = self.watch(lambda: 0)
        self.assertEqual((len(market["nodes"]), market["live"]), (8, 8))


class ForgedNodeTests(SynchronousTestCase):
    """
    A proxy at a seller's advertised host ended the channel itself and
    answered the watcher's status link as that seller: the web view was
    fed a forged node.  A node's thisisme must now name the key its
    channel proved, and that key must be the member's id.
    """

    def setUp(self):
        self.clock = Clock()
        self.node, self.proxy = records.identity(600), records.identity(601)
        self.connector = Connector(self.clock, {self.node.id: self.node})
        self.view = MarketView(self.clock)
        self.watcher = StatusWatcher(
            self.clock, lambda: [(self.node.id, "10.0.0.1", self.node.id, "flood")],
            self.connector, self.view, LinkSettings(), random.Random(1))
        self.addCleanup(self.stop)

    def stop(self):
        self.watcher.stopService()
        self.clock.advance(60)

    def test_theRealNodeIsShown(self):
        self.watcher.startService()
        run(self.clock, 2)
        self.assertTrue(self.view.node(self.node.id)["known"])

    def test_aBusyNodeKeepsItsLink(self):
        """A node asked past its rate answers error{busy}: the round is
        missed, the link kept (no new connection, the member not in
        doubt), and a later round's answer shows the node."""
        self.connector.busy[self.node.id] = 2
        self.watcher.startService()
        run(self.clock, 5)
        self.assertEqual(len(self.connector.ends), 1)
        self.assertTrue(self.view.node(self.node.id)["known"])
        self.assertNotIn(self.node.id, self.watcher.doubts)

    def test_aProxyIsRefused(self):
        self.connector.impostors[self.node.id] = self.proxy
        self.watcher.startService()
        run(self.clock, 5)
        self.assertFalse(self.view.node(self.node.id)["known"])
        self.assertIn(self.node.id, self.watcher.doubts)


class OperatorHelloTests(SynchronousTestCase):
    """A view that holds a node's own key (bazaar web --data-dir) opens
    its status link as the node's operator: its thisisme proves the key,
    bound to the channel, so the node gives it an operator's slot."""

    def hellos(self, operators):
        clock = Clock()
        node = records.identity(602)
        connector = Connector(clock, {node.id: node})
        watcher = StatusWatcher(clock, lambda: [(node.id, "10.0.0.1", node.id, "flood")],
                                connector, MarketView(clock), LinkSettings(),
                                random.Random(1), operators=operators(node))
        self.addCleanup(lambda: (watcher.stopService(), clock.advance(60)))
        watcher.round()
        [end] = connector.ends
        [first, *_] = parseNetstrings(end.value())
        return node, wire.decode(first), end

    def test_theOperatorsHelloProvesTheKey(self):
        node, hello, end = self.hellos(lambda node: [node])
        self.assertIsInstance(hello, wire.ThisIsMe)
        self.assertTrue(provesOperator(node.key, channelHash(end), hello.operator))

    def test_aStrangersHelloProvesNothing(self):
        _, hello, _ = self.hellos(lambda node: [])
        self.assertIsNone(hello.operator)


class RelayedMemberTests(SynchronousTestCase):
    """A member the tracker relays for is asked through its relay, by id;
    the others directly."""

    def test_throughTheRelay(self):
        clock = Clock()
        asked = []

        class Recording:
            def dial(self, path, expectedKey, protocolFactory, options=None):
                through = ({} if path.relay is None
                           else {"relay": path.relay, "target": options.target})
                asked.append((path.host, path.port, through))
                return defer.Deferred()

        relays = {7: "203.0.113.1:7701"}
        watcher = StatusWatcher(clock, lambda: [(7, "10.0.0.7", 9001, "flood"),
                                                (8, "10.0.0.8", 9001, "flood")],
                                Recording(), MarketView(clock), LinkSettings(),
                                random.Random(1), relayOf=relays.get)
        watcher.round()
        self.assertEqual(sorted(asked), [
            ("10.0.0.7", 9001, {"relay": "203.0.113.1:7701", "target": 7}),
            ("10.0.0.8", 9001, {})])
        watcher.stopService()


class Ways(Connector):
    """A connector that records each dial (host, relay) and answers only
    at the hosts or relays of ``answering``; a dial elsewhere waits (until
    cancelled: noted in ``cancelled``)."""

    def __init__(self, clock, identities, answering):
        super().__init__(clock, identities)
        self.answering = answering
        self.dials = []
        self.cancelled = []

    def canDial(self, path):
        return path.kind in (DIRECT, LAN, RELAYED, WEBSOCKET)

    def dial(self, path, expectedKey, protocolFactory, options=None):
        host, relay = path.host, path.relay
        self.dials.append((host, relay))
        if host in self.answering or relay in self.answering:
            return self.connect(path.port, protocolFactory())
        return defer.Deferred(lambda d: self.cancelled.append(host))


class WatcherLanTests(SynchronousTestCase):
    """
    ``bazaar web`` at a node's home: the tracker names the node's local
    address to it, and it asked the node through its relay all the same.
    It now dials the local address at once, the relay 0.5 s later, and
    asks on the first link whose node proves itself.
    """

    RELAY, LAN = "198.51.100.1:7701", "192.168.1.2"

    def watch(self, answering):
        self.clock = Clock()
        node = records.identity(700)
        self.node_id = node.id
        self.connector = Ways(self.clock, {node.id: node}, answering)
        self.view = MarketView(self.clock)
        self.watcher = StatusWatcher(
            self.clock, lambda: [(node.id, "203.0.113.7", node.id, "flood")],
            self.connector, self.view, LinkSettings(), random.Random(1),
            relayOf=lambda node_id: self.RELAY, lanOf=lambda node_id: (self.LAN,))
        self.watcher.startService()
        self.addCleanup(self.watcher.stopService)

    def test_overTheLan(self):
        self.watch({self.LAN})
        run(self.clock, 1)
        self.assertTrue(self.view.node(self.node_id)["known"])
        self.assertEqual(self.connector.dials, [(self.LAN, None)], "no relay dialled")

    def test_theRelayWhenTheLanIsSilent(self):
        self.watch({self.RELAY})
        run(self.clock, 0.45)
        self.assertEqual(self.connector.dials, [(self.LAN, None)])
        run(self.clock, 0.5)
        self.assertEqual(self.connector.dials, [(self.LAN, None),
                                                ("203.0.113.7", self.RELAY)])
        self.assertTrue(self.view.node(self.node_id)["known"])
        self.assertEqual(self.connector.cancelled, [self.LAN])


class WatcherPathsTests(SynchronousTestCase):
    """
    ``bazaar web`` from a network that lets only HTTP(S) out: a public
    node's address is never reached, and the node stayed "not answering".
    The view now dials the paths of other kinds the tracker names for it
    (its WebSocket port) beside its address, and asks on the first link
    whose node proves itself.
    """

    WS = "203.0.113.8"

    def test_overItsWebSocketPath(self):
        clock = Clock()
        node = records.identity(701)
        connector = Ways(clock, {node.id: node}, {self.WS})
        view = MarketView(clock)
        watcher = StatusWatcher(
            clock, lambda: [(node.id, "203.0.113.7", node.id, "flood")], connector, view,
            LinkSettings(), random.Random(1),
            # (This connector reaches a node at the port that is its id.)
            pathsOf=lambda node_id: (Path(WEBSOCKET, self.WS, node.id),
                                     Path("udp", self.WS, node.id)))
        watcher.startService()
        self.addCleanup(watcher.stopService)
        run(clock, 1)
        self.assertTrue(view.node(node.id)["known"])
        self.assertEqual(connector.dials, [(self.WS, None), ("203.0.113.7", None)])
        self.assertEqual(connector.cancelled, ["203.0.113.7"])


class WatcherRelayWaysTests(SynchronousTestCase):
    """
    ``bazaar web`` from a network that lets only HTTP(S) out, of a node
    at home held at a public node's relay: the relay's port is dropped
    there, and the view dialled nothing else.  It now opens the circuit
    at the relay's ways the tracker named with the node's relayed path
    (its WebSocket port) first.
    """

    RELAY = "198.51.100.9:7701"

    def test_atTheRelaysWebSocketPort(self):
        from tests.transports.recording import Recording
        from twisted_bazaar.transports.relay.transport import RelayTransport
        from twisted_bazaar.transports.table import Transports

        clock = Clock()
        tcp, ws = Recording(DIRECT), Recording(WEBSOCKET)
        relayed = Path(RELAYED, relay=self.RELAY, word="named",
                       ways=(Path(WEBSOCKET, "", 443, word="named"),))
        watcher = StatusWatcher(
            clock, lambda: [(7, "203.0.113.7", 9001, "flood")],
            Transports((tcp, RelayTransport(tcp, clock), ws)), MarketView(clock),
            LinkSettings(), random.Random(1), relayOf=lambda node_id: self.RELAY,
            pathsOf=lambda node_id: (relayed,))
        watcher.startService()
        self.addCleanup(watcher.stopService)
        run(clock, 0.6)
        self.assertEqual([(path.kind, path.host, path.port, options.purpose)
                          for path, _, options in ws.dials],
                         [(WEBSOCKET, "198.51.100.9", 443, "relay")])
        self.assertEqual(tcp.dials, [], "the relay's port not dialled")
