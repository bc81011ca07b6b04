"""
Tests for L{twisted_bazaar.reach.punch.tcp.service}: a node's hole punches over its
relayed links, on a fake clock: two nodes whose shared link runs on
string transports marked as relayed (what a circuit's transport says),
their messages carried by the test, a dialer that records each dial, and
the punched connection's two links joined in memory.
"""

from twisted.internet import defer, task
from twisted.internet.address import IPv4Address
from twisted.logger import capturedLogs, formatEvent
from twisted.test.iosim import FakeTransport, connect
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.daemon.build import plugPunching, punchingOf
from twisted_bazaar.reach.punch.tcp.service import isRelayed, relayedFrom
from twisted_bazaar.reach.asking import TrackerGone, TrackerSilent
from twisted_bazaar.reach.reachable.reachability import PRIVATE, Reachability
from twisted_bazaar.net.link import Link
from twisted_bazaar.testing.capabilities import relayed
from twisted_bazaar.reach.punch.tcp.exchange import ANSWER_TIMEOUT
from twisted_bazaar.reach.punch.tcp.messages import PunchConnect, PunchReply, PunchSync
from twisted_bazaar.reach.punch.witness import AGAIN_LIMIT
from twisted_bazaar.transports.path import CONFIGURED, Path
from twisted_bazaar.transports.websocket import WEBSOCKET
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.testing.linking import linkAt

from tests import records
from tests.helpers import closeLink, feed, linkPeer, makeNode, nodeReply, sent
from tests.reach.test_punchnews import NewsHeard

#: Where the relay saw each node's connection come from.
HOST_A = "198.51.100.7"
HOST_B = "203.0.113.9"
#: A victim's host, which a lying relay or peer names.
VICTIM = "192.0.2.66"
#: The local port of each node's tracker connection.
TRACKER_PORT = 40000
#: Seconds a dialler waits for its link's punch.
WAIT = 3.0


def linksWaiting(dialer):
    """peer id -> the links of dialer waiting for its punch (none before
    one first waited)."""
    return {} if dialer._linkWaits is None else dialer._linkWaits._waiting

class FakeDialer:
    """Dials from a port for the node's TCP transport (as
    L{twisted_bazaar.transports.tcp.fromport.PunchDialer} does): records
    each dial, (host, protocol, opener, its Deferred); its hosts are IP
    addresses (L{IConnector.addressed})."""

    addressed = True

    def __init__(self):
        self.dials = []

    def dial(self, local_port, host, port, protocol, opener, expected):
        d = defer.Deferred()
        self.dials.append((host, protocol, opener, d))
        return d


class FakeTracker:
    """
    The node's membership as its book of paths asks it: answers
    whereis: peer id -> the host it names (none for an id it does
    not hold), at once, or when the test says (L{held}, L{answer}); for an
    id in L{unanswered}, fails with the exception it maps it to.
    """

    #: The node reaches its tracker over plain TCP.
    trackerWay = None

    def __init__(self):
        self.hosts = {}
        #: ids named with no relay: at their host, dialled (public).
        self.public = set()
        self.unanswered = {}
        self.asked = []
        self.held = False
        self._waiting = []

    def isTrackerRelay(self, relay):
        return False

    def whereRelay(self, peer_id):
        self.asked.append(peer_id)
        d = defer.Deferred()
        self._waiting.append((peer_id, d))
        if not self.held:
            self.answer()
        return d

    def answer(self):
        waiting, self._waiting = self._waiting, []
        for peer_id, d in waiting:
            if peer_id in self.unanswered:
                d.errback(self.unanswered[peer_id])
                continue
            host = self.hosts.get(peer_id)
            relay = None if peer_id in self.public else RELAY
            d.callback(wire.NodeReply(peer_id, "", 0) if host is None
                       else nodeReply(peer_id, host, 9001, relay))


class _ThroughWebSocket:
    """The shared tracker, as a node that reaches it over WebSocket (the
    way of its ``--tracker ws:``) knows it."""

    trackerWay = Path(WEBSOCKET, "192.0.2.1", 80, word=CONFIGURED)

    def __init__(self, tracker):
        self._tracker = tracker

    def __getattr__(self, name):
        return getattr(self._tracker, name)


#: The relay the tracker names the nodes at home through.
RELAY = "192.0.2.1:7701"


class Side:
    """A node with its Punching, linked to the other by a relayed link."""

    def __init__(self, clock, identity, other, inbound, seen, punchable=True, told=True,
                 enabled=True, tracker=None, udp=True):
        self.node = makeNode(identity.id, seed=identity.id, identity=identity, clock=clock)
        self.dialer = FakeDialer()
        self.tracker = tracker if tracker is not None else FakeTracker()
        # The node's book of paths asks it (and keeps what it names).
        self.node.membership = self.tracker
        # The node's TCP transport dials its punches from a port by the
        # fake, which records them: the punching announces its paths to the
        # node's dialer, which dials them.
        self.punching = plugPunching(self.node, self.dialer, wait=WAIT, enabled=enabled,
                                     udp=udp)
        self.told = lambda: self.punching.reachChanged(Reachability(seen_host=seen, seen_port=TRACKER_PORT
                                           if punchable else 51234), TRACKER_PORT)
        if told:
            self.told()
        self.other = other
        self.link = linkPeer(self.node, other, inbound=inbound)

    def relayed(self, host):
        """The link's circuit says the relay saw the peer come from host,
        and the node is told the link is up."""
        relayed(self.link.transport, host)
        self.node.events.linkAdded(self.other.id)


class PunchNews(NodeObserver):
    """Records a node's punchStarted and punchEnded events in told, as
    (side, event, host[, why])."""

    def __init__(self, side, told):
        self.side = side
        self.told = told

    def punchStarted(self, link, host):
        self.told.append((self.side, "started", host))

    def punchEnded(self, link, host, why):
        self.told.append((self.side, "ended", host, why))


class PunchingTestCase(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.alice, self.bob = records.identity(1), records.identity(2)
        #: The tracker names each node where it saw it.
        self.tracker = FakeTracker()
        self.tracker.hosts = {self.alice.id: HOST_A, self.bob.id: HOST_B}

    def sides(self, b_punchable=True, seen_a=HOST_A, seen_b=HOST_B, own_a=HOST_A,
              own_b=HOST_B, b_udp=True):
        """A opened the relayed link, B accepted it; the relay says it saw
        A come from seen_a, B from seen_b; the tracker told A it sees it
        at own_a, B at own_b; B serves UDP unless not b_udp."""
        self.a = Side(self.clock, self.alice, self.bob, False, own_a,
                      tracker=self.tracker)
        self.b = Side(self.clock, self.bob, self.alice, True, own_b, b_punchable,
                      tracker=self.tracker, udp=b_udp)
        #: The punch events each side's node told its observers.
        self.told = []
        self.a.node.addObserver(PunchNews("a", self.told))
        self.b.node.addObserver(PunchNews("b", self.told))
        self.b.relayed(seen_a)
        self.a.relayed(seen_b)

    def carry(self, source, target):
        messages = sent(source.link)
        feed(target.link, *messages)
        return messages

    def assertNothingHeld(self):
        self.assertEqual(self.clock.getDelayedCalls(), [])
        for side in (self.a, self.b):
            self.assertEqual(side.punching.puncher._punches, {})
            self.assertEqual(side.punching.puncher._answers, {})
            self.assertEqual(side.punching._punches, {})
            self.assertEqual(linksWaiting(side.node.dialer), {})


class StartTests(PunchingTestCase):
    def test_theDiallerPunches(self):
        """The node that opened a relayed link starts a punch as it comes
        up, naming its own public host; the other side does not start one."""
        self.sides()
        [connect] = sent(self.a.link)
        self.assertIsInstance(connect, PunchConnect)
        self.assertEqual(connect.host, HOST_A)
        self.assertEqual(sent(self.b.link), [])

    def test_aPeerDialledDirectlyIsNotPunched(self):
        """A relayed link to a peer the tracker names at its host with no
        relay (its check dialled it there: the dialer reaches it
        directly) starts no punch, saying why, and holds no dialler."""
        self.tracker.public.add(self.bob.id)
        with capturedLogs() as events:
            self.sides()
        self.assertEqual(sent(self.a.link), [])
        self.assertNotIn(("a", "started", HOST_B), self.told)
        self.assertIn("no hole punched to {peer}: this node reaches it by its {kind} "
                      "path at {where}", [event.get("log_format") for event in events])
        self.assertFalse(self.a.punching.waitsFor(self.bob.id))

    def test_aDirectLinkIsNotPunched(self):
        """A link that is not relayed starts nothing."""
        with capturedLogs() as events:
            a = Side(self.clock, self.alice, self.bob, False, HOST_A)
            a.node.events.linkAdded(self.bob.id)
        self.assertEqual(relayedFrom(a.link), "")
        # A word a transport does not declare (IRelayedTransport) is none.
        a.link.transport.relayedFrom = HOST_B
        self.assertEqual(relayedFrom(a.link), "")
        self.assertEqual(sent(a.link), [])
        self.assertEqual([formatEvent(e) for e in events if "punch" in formatEvent(e)],
                         [])

    def test_bothDialTheWitnessedHosts(self):
        """Through the exchange, each side dials the host the relay saw
        the other come from, a link of its shared link's direction and
        purpose under a channel the shared link's opener opens."""
        self.sides()
        self.carry(self.a, self.b)
        self.carry(self.b, self.a)
        self.carry(self.a, self.b)
        self.clock.advance(0)
        [(host_b, link_b, opener_b, _)] = self.b.dialer.dials
        [(host_a, link_a, opener_a, _)] = self.a.dialer.dials
        self.assertEqual((host_a, host_b), (HOST_B, HOST_A))
        self.assertIsInstance(link_a, Link)
        self.assertEqual((link_a.inbound, link_b.inbound), (False, True))
        self.assertEqual((link_a.purpose, link_b.purpose),
                         (self.a.link.purpose, self.b.link.purpose))
        self.assertEqual((opener_a, opener_b), (True, False))

    def test_theDirectLinkReplacesTheRelayedOne(self):
        """The punched connection's links run the handshake, and each
        node keeps the direct link in place of the relayed one (retired);
        the punch is over on both sides, a line said so, nothing held."""
        self.sides()
        self.carry(self.a, self.b)
        self.carry(self.b, self.a)
        self.carry(self.a, self.b)
        self.clock.advance(0)
        [(_, link_a, _, dial_a)] = self.a.dialer.dials
        [(_, link_b, _, dial_b)] = self.b.dialer.dials
        linked = []
        for side, other in ((self.a, self.bob), (self.b, self.alice)):
            linkAt(side.node, "192.0.2.9", 9001, other.id).addCallback(linked.append)
        with capturedLogs() as events:
            dial_a.callback(link_a)
            dial_b.callback(link_b)
            # Both wait until the punched link is up, the dialler's punch
            # and the other's answer over.
            self.assertEqual(linked, [])
            connect(link_b, FakeTransport(link_b, True), link_a,
                    FakeTransport(link_a, False))
        self.assertEqual(sorted(linked), [self.alice.id, self.bob.id])
        self.assertIs(self.a.node.links[self.bob.id], link_a)
        self.assertIs(self.b.node.links[self.alice.id], link_b)
        self.assertTrue(self.a.link.closing)
        self.assertTrue(self.b.link.closing)
        lines = [formatEvent(e) for e in events]
        self.assertTrue(any(line.startswith("punched a direct connection to node")
                            for line in lines), lines)
        self.assertNothingHeld()
        # The node's observers were told: one punch, the dialler's, punched.
        self.assertEqual(self.told, [("a", "started", HOST_B), ("a", "ended", HOST_B, None)])


class SeenTests(PunchingTestCase):
    """A punch aims only at the host the tracker names for the peer's id;
    what a relay or a peer says is compared with it, never dialled."""

    def test_relayAndDiallerNameAVictim(self):
        """A relay says, in the relayIncoming of a circuit to B, that the
        dialler A sits at a victim's address, and A's punchConnect names
        it too: the tracker names A elsewhere, so B refuses, saying why,
        and dials nothing (issue 55: 12 connections to two victims)."""
        self.sides(seen_a=VICTIM)
        sent(self.a.link)
        with capturedLogs() as events:
            feed(self.b.link, PunchConnect(7, VICTIM, 23456))
        [refusal] = sent(self.b.link)
        self.assertEqual((refusal.code, refusal.id), ("nopunch", 7))
        self.assertIn(f"the tracker names node {shortId(self.alice.id)} at {HOST_A}, "
                      f"not at {VICTIM} where its relay says it is", refusal.info)
        self.assertEqual(self.b.dialer.dials, [])
        self.assertTrue(any("refused a punch of node" in formatEvent(e)
                            for e in events))
        self.assertEqual(self.b.punching.puncher._answers, {})

    def test_relayAndPeerNameAVictim(self):
        """A stranger's "node at home" B behind its own relay: the relay's
        relayOpen says B sits at a victim's address, where B's punchReply
        would name it too.  The tracker names B elsewhere: A punches
        none, says why, and dials nothing (issue 55: 3 connections from
        each buyer to the victim)."""
        with capturedLogs() as events:
            self.sides(seen_b=VICTIM)
        self.assertEqual(sent(self.a.link), [])
        feed(self.a.link, PunchReply(7, VICTIM, 23456), PunchSync(7))
        self.clock.advance(ANSWER_TIMEOUT)
        self.assertEqual(self.a.dialer.dials, [])
        lines = [formatEvent(e) for e in events]
        self.assertTrue(any(line.startswith("no hole punched to node")
                            and f"the tracker names node {shortId(self.bob.id)} at "
                            f"{HOST_B}, not at {VICTIM}" in line for line in lines),
                        lines)

    def test_filesPunchOverARelayedLink(self):
        """A punch for files over a relayed link whose relay names a
        victim: refused, and the transport's peer (the relay's word) is
        not dialled in its place."""
        self.sides(seen_a=VICTIM)
        self.b.node.transferFactory = self
        self.b.link.transport.peerAddr = IPv4Address("TCP", VICTIM, 41000)
        feed(self.b.link, PunchConnect(8, VICTIM, 23456, "files"))
        [refusal] = sent(self.b.link)
        self.assertEqual((refusal.code, refusal.id), ("nopunch", 8))
        self.assertEqual(self.b.dialer.dials, [])

    def buildProtocol(self, addr):
        return "transfer server"

    def punchedHosts(self):
        """Carry the exchange through: the hosts A and B dialled."""
        for source, target in ((self.a, self.b), (self.b, self.a), (self.a, self.b)):
            self.carry(source, target)
        self.clock.advance(0)
        return ([dial[0] for dial in self.a.dialer.dials],
                [dial[0] for dial in self.b.dialer.dials])

    def test_aRelayOnADualStackSocket(self):
        """A relay listening on a dual-stack IPv6 socket sees IPv4 peers
        as ``::ffff:a.b.c.d``: the same hosts the tracker names, so both
        punch, each dialling the tracker's host (the comparison was of
        text: the honest punch was refused)."""
        self.sides(seen_a=f"::ffff:{HOST_A}", seen_b=f"::FFFF:{HOST_B}")
        self.assertEqual(self.punchedHosts(), ([HOST_B], [HOST_A]))

    def test_aTrackerOnADualStackSocket(self):
        """A tracker on a dual-stack socket names each node, and tells it
        its own host, as ``::ffff:a.b.c.d``, the relay an IPv4 one: both
        punch, dialling the IPv4 address the punch's socket reaches."""
        self.tracker.hosts = {self.alice.id: f"::ffff:{HOST_A}",
                              self.bob.id: f"::ffff:{HOST_B}"}
        self.sides(own_a=f"::ffff:{HOST_A}", own_b=f"::ffff:{HOST_B}")
        self.assertEqual(self.punchedHosts(), ([HOST_B], [HOST_A]))

    def test_aVictimSpeltOtherwise(self):
        """A relay or peer naming a victim however spelt (IPv4-mapped, a
        zone, leading zeros, a trailing dot) is no nearer a dial: the
        host compared is an address, the one dialled the tracker's."""
        for spelt in (f"::ffff:{VICTIM}", "192.0.2.066", f"{HOST_A}.",
                      f"{HOST_A}%eth0", f" {HOST_A}"):
            self.sides(seen_a=spelt)
            sent(self.a.link)
            feed(self.b.link, PunchConnect(7, spelt, 23456))
            [refusal] = sent(self.b.link)
            self.assertEqual(refusal.code, "nopunch", spelt)
            self.assertEqual(self.b.dialer.dials, [], spelt)

    def test_aNameTheTrackerNamesIsNotPunched(self):
        """A stranger registered at a name of its own (its address when
        the tracker checked it) and dials a node at home through a lying
        relay that names that same name: neither side punches (the dial
        would resolve the name, its owner pointing it at the node's own
        machine or home network by then), each says why."""
        name = "s.attacker.example"
        self.tracker.hosts = {self.alice.id: name, self.bob.id: name}
        with capturedLogs() as events:
            self.sides(seen_a=name, seen_b=name, own_a=name)
        self.assertEqual(sent(self.a.link), [])
        feed(self.b.link, PunchConnect(7, name, 6379))
        feed(self.b.link, PunchConnect(8, name, 23456))
        [first, refusal] = sent(self.b.link)
        self.assertEqual([(first.code, first.id), (refusal.code, refusal.id)],
                         [("nopunch", 7), ("nopunch", 8)])
        self.assertIn(f"the tracker names node {shortId(self.alice.id)} at {name}, a "
                      "name: a punch dials only an IP address", refusal.info)
        self.clock.advance(ANSWER_TIMEOUT)
        self.assertEqual((self.a.dialer.dials, self.b.dialer.dials), ([], []))
        self.assertTrue(any("a name: a punch dials only an IP address"
                            in formatEvent(e) for e in events))

    def test_namesOnAMemoryNetworkArePunched(self):
        """A simulation's hosts are labels (its dialer says so): punched as
        the tracker names them."""
        self.patch(FakeDialer, "addressed", False)
        self.tracker.hosts = {self.alice.id: "n1", self.bob.id: "n2"}
        self.sides(seen_a="n1", seen_b="n2", own_a="n1", own_b="n2")
        self.assertEqual(self.punchedHosts(), (["n2"], ["n1"]))

    def test_peerNamesAnotherHost(self):
        """The relay and the tracker agree, the peer names another host:
        refused as before, nothing dialled."""
        self.sides()
        sent(self.a.link)
        feed(self.b.link, PunchConnect(7, VICTIM, 23456))
        [refusal] = sent(self.b.link)
        self.assertIn(f"the host named, '{VICTIM}', is not where your connection",
                      refusal.info)
        self.assertEqual(self.b.dialer.dials, [])

    def test_trackerNamesNone(self):
        """The tracker names no address for the peer (it does not know
        it, or never checked it): no punch either way, nothing dialled,
        the link stays on the relay."""
        self.tracker.hosts = {}
        self.sides()
        self.assertEqual(sent(self.a.link), [])
        feed(self.b.link, PunchConnect(7, HOST_A, 23456))
        [refusal] = sent(self.b.link)
        self.assertIn(f"the tracker names no address for node {shortId(self.alice.id)}",
                      refusal.info)
        self.assertEqual((self.a.dialer.dials, self.b.dialer.dials), ([], []))
        self.assertNothingHeld()

    def test_trackerSilent(self):
        """The tracker did not answer where the peer is (in time, or
        before its connection ended): no punch either way, and each
        side says what happened, not that the tracker names no address
        (which both used to say)."""
        self.tracker.unanswered = {
            self.alice.id: TrackerSilent("the tracker did not answer in 10 s"),
            self.bob.id: TrackerGone("the tracker connection ended before it "
                                     "answered: the connection broke")}
        with capturedLogs() as events:
            self.sides()
        self.assertEqual(sent(self.a.link), [])
        feed(self.b.link, PunchConnect(7, HOST_A, 23456))
        [refusal] = sent(self.b.link)
        self.assertEqual(refusal.code, "nopunch")
        self.assertIn(f"the tracker did not say where node {shortId(self.alice.id)} is "
                      "(the tracker did not answer in 10 s): a punch dials only a host "
                      "the tracker saw", refusal.info)
        lines = [formatEvent(e) for e in events]
        self.assertTrue(any(f"the tracker did not say where node {shortId(self.bob.id)} "
                            "is (the tracker connection ended before it answered: "
                            "the connection broke)" in line for line in lines), lines)
        self.assertFalse(any("names no address" in line for line in lines), lines)
        self.assertEqual((self.a.dialer.dials, self.b.dialer.dials), ([], []))
        # Answered the next time it is asked, the punch goes on.
        del self.tracker.unanswered[self.alice.id]
        feed(self.b.link, PunchConnect(8, HOST_A, 23456))
        [reply] = sent(self.b.link)
        self.assertIsInstance(reply, PunchReply)

    def test_theMembershipsSilenceIsPassedOn(self):
        """The node's own question (its membership's whereRelay) passes the
        tracker's silence on to the punch, which used to take it, through
        whereIs, for an answer naming no address."""
        node = makeNode(1)

        class Silent:
            def whereRelay(self, peer_id):
                return defer.fail(TrackerSilent("the tracker did not answer in 10 s"))

            def whereIs(self, peer_id):
                return defer.succeed(None)

        node.membership = Silent()
        punching = punchingOf(node)
        failure = self.failureResultOf(punching._whereIs(self.bob.id), TrackerSilent)
        self.assertEqual(failure.getErrorMessage(), "the tracker did not answer in 10 s")

    def test_askedOncePerLink(self):
        """Each side asks the tracker once, when the relayed link comes
        up, of its peer's id; a direct link asks nothing."""
        self.sides()
        self.assertEqual(sorted(self.tracker.asked), sorted([self.alice.id,
                                                             self.bob.id]))
        self.carry(self.a, self.b)
        self.carry(self.b, self.a)
        self.assertEqual(len(self.tracker.asked), 2)
        Side(self.clock, self.alice, self.bob, False, HOST_A,
             tracker=self.tracker).node.events.linkAdded(self.bob.id)
        self.assertEqual(len(self.tracker.asked), 2)

    def test_punchWaitsForTheTracker(self):
        """The punch starts, and a punchConnect that came first is
        answered, once the tracker says where the peer is; a dial to the
        peer waits for it."""
        self.tracker.held = True
        self.sides()
        linked = []
        linkAt(self.a.node, "192.0.2.9", 9001, self.bob.id).addCallback(linked.append)
        self.assertEqual(sent(self.a.link), [])
        feed(self.b.link, PunchConnect(7, HOST_A, 23456))
        self.assertEqual(sent(self.b.link), [])
        self.tracker.answer()
        [reply] = sent(self.b.link)
        self.assertIsInstance(reply, PunchReply)
        self.assertEqual((reply.nonce, reply.host), (7, HOST_B))
        [connect] = sent(self.a.link)
        self.assertIsInstance(connect, PunchConnect)
        self.assertEqual(linked, [])

    def test_homeNodeWaitsForItsReservation(self):
        """A node at home whose reservation is not held yet is named by
        the tracker nowhere, so its peer would refuse its punch: it
        starts none, and a dial waits, until it holds one."""
        a = Side(self.clock, self.alice, self.bob, False, HOST_A, tracker=self.tracker,
                 told=False)
        a.relayed(HOST_B)
        linked = []
        linkAt(a.node, "192.0.2.9", 9001, self.bob.id).addCallback(linked.append)
        # The check tells the node it is private (and what its router
        # does) before its reservation is held: the dial waits on.
        a.node.reach = Reachability(PRIVATE, HOST_A, 9001, HOST_A, TRACKER_PORT)
        a.told()
        self.assertEqual((sent(a.link), linked), ([], []))
        a.node.setRelay("192.0.2.1:7701")
        [connect] = sent(a.link)
        self.assertIsInstance(connect, PunchConnect)
        self.assertEqual(linked, [])

    def test_askedAgainWhenNamedNone(self):
        """The tracker named the dialler nowhere when the link came up
        (its reservation came later): its punchConnect makes the node ask
        again, and it is answered once the tracker names it."""
        self.tracker.hosts = {self.bob.id: HOST_B}
        self.sides()
        sent(self.a.link)
        self.tracker.hosts[self.alice.id] = HOST_A
        feed(self.b.link, PunchConnect(7, HOST_A, 23456))
        [reply] = sent(self.b.link)
        self.assertIsInstance(reply, PunchReply)
        self.assertEqual(self.tracker.asked.count(self.alice.id), 2)

    def test_punchConnectsAskAgainBounded(self):
        """A stranger the tracker names nowhere sends punchConnect after
        punchConnect over one relayed link: each used to make the node ask
        the tracker whereis again (1,000 sent, 1,001 asked), spending the
        node's own group's lookups at the tracker (past them its nodereq
        and whereis are answered as if nobody were known).  It asks again
        at most AGAIN_LIMIT times while the link lasts, and refuses each."""
        self.tracker.hosts = {self.bob.id: HOST_B}
        self.sides()
        sent(self.a.link)
        refusals = []
        for nonce in range(1000):
            feed(self.b.link, PunchConnect(nonce, HOST_A, 23456))
            refusals += sent(self.b.link)
            self.clock.advance(0.1)
        self.assertEqual(self.tracker.asked.count(self.alice.id), 1 + AGAIN_LIMIT)
        self.assertEqual(len(refusals), 1000)
        self.assertTrue(all(r.code == "nopunch" for r in refusals))
        self.assertEqual(self.b.dialer.dials, [])

    def test_linkGoneBeforeTheAnswer(self):
        """A relayed link that closes before the tracker answers leaves
        nothing: the answer, when it comes, starts and answers nothing."""
        self.tracker.held = True
        self.sides()
        feed(self.b.link, PunchConnect(7, HOST_A, 23456))
        closeLink(self.a.link)
        closeLink(self.b.link)
        self.assertEqual((self.a.punching._held, self.b.punching._held), ({}, {}))
        self.tracker.answer()
        self.assertEqual(sent(self.b.link), [])
        self.assertEqual((self.a.punching.seen.named(self.bob.id),
                          self.b.punching.seen.named(self.alice.id)), (None, None))
        self.assertNothingHeld()


class RefusalTests(PunchingTestCase):
    def test_refusalEndsThePunch(self):
        """A peer that cannot punch answers error{nopunch}: the punch ends
        at once (no timer waits for an answer), said why."""
        self.sides(b_punchable=False)
        self.carry(self.a, self.b)
        [error] = sent(self.b.link)
        self.assertEqual(error.code, "nopunch")
        with capturedLogs() as events:
            feed(self.a.link, error)
        lines = [formatEvent(e) for e in events]
        self.assertTrue(any("the peer refused: it cannot punch" in line
                            for line in lines), lines)
        self.assertNothingHeld()

    def test_aNodeAtAnHttpOnlyHomeRefuses(self):
        """A node that reaches its tracker by a transport plugin's way
        (``--tracker ws:``) punches with nobody, whatever its router
        keeps: it refuses at once, saying why, and the punch ends (its
        buyer's download held the file to a taste for the whole punch,
        about 14 s, before the relay carried the rest)."""
        self.sides()
        self.b.node.membership = _ThroughWebSocket(self.tracker)
        self.b.told()
        self.carry(self.a, self.b)
        [error] = sent(self.b.link)
        self.assertEqual(error.code, "nopunch")
        self.assertIn("this node cannot punch: it reaches its tracker over websocket "
                      "(port 80)", error.info)
        with capturedLogs() as events:
            feed(self.a.link, error)
        # Said in the hearer's words: "this node" read as the one logging
        # (issue 96 LOW).
        [line] = [formatEvent(e) for e in events if "no hole punched" in formatEvent(e)]
        self.assertIn(": the peer refused: it cannot punch: it reaches its tracker over "
                      "websocket (port 80)", line)
        self.assertNotIn("this node cannot punch", line)
        self.assertNothingHeld()

    def test_aNodeAtAnHttpOnlyHomeSaysNoUdp(self):
        """Its refusal says no UDP punch can work with it either (``udp``
        false): its datagrams do not leave.  The peer notes it while they
        are linked (L{Punching.saidNoUdp}), and asks the tracker for no
        UDP punch with it, which refused each ask three times a link, at
        info (issue 96, s58-left).  Before, the refusal said nothing of
        UDP."""
        self.sides()
        self.b.node.membership = _ThroughWebSocket(self.tracker)
        self.b.told()
        self.carry(self.a, self.b)
        [error] = sent(self.b.link)
        self.assertIs(error.udp, False)
        self.assertFalse(self.a.punching.saidNoUdp(self.bob.id))
        feed(self.a.link, error)
        self.assertTrue(self.a.punching.saidNoUdp(self.bob.id))
        self.a.node.events.linkRemoved(self.bob.id)
        self.assertFalse(self.a.punching.saidNoUdp(self.bob.id))

    def test_otherRefusalsSayNothingOfUdp(self):
        """A node that cannot punch over TCP for another reason (its router
        draws ports) may punch over UDP: its refusal says nothing of it."""
        self.sides(b_punchable=False)
        self.carry(self.a, self.b)
        [error] = sent(self.b.link)
        self.assertIsNone(error.udp)
        feed(self.a.link, error)
        self.assertFalse(self.a.punching.saidNoUdp(self.bob.id))

    def test_aNodeWithoutQuicSaysNoUdp(self):
        """A node that serves no UDP (``--no-quic``) refused a punch for
        another reason (its router draws ports) saying nothing of UDP, and
        its peer asked the tracker for a UDP punch with it, which the
        tracker refused each time: it never saw the node's datagrams
        (issue 96).  Its refusals say no UDP punch can work with it."""
        self.sides(b_punchable=False, b_udp=False)
        self.carry(self.a, self.b)
        [error] = sent(self.b.link)
        self.assertEqual(error.code, "nopunch")
        self.assertIn("router changed the source port", error.info)
        self.assertIs(error.udp, False)
        feed(self.a.link, error)
        self.assertTrue(self.a.punching.saidNoUdp(self.bob.id))

    def test_otherErrorsAsBefore(self):
        """An error that is not about a punch is logged as any other."""
        self.sides()
        with capturedLogs() as events:
            feed(self.a.link, wire.Error("wtf", "something else"))
        self.assertIn("says wtf: something else", " ".join(formatEvent(e)
                                                           for e in events))

    def test_cannotPunchSaysWhy(self):
        """A node whose router draws ports says why it does not punch, and
        starts none."""
        told = []
        with capturedLogs() as events:
            a = Side(self.clock, self.alice, self.bob, False, HOST_A, punchable=False)
            a.node.addObserver(PunchNews("a", told))
            a.relayed(HOST_B)
        self.assertEqual(sent(a.link), [])
        # Refused at once, and the node's observers told why.
        [started, (_, ended, _, why)] = told
        self.assertEqual((started[1], ended), ("started", "ended"))
        self.assertIn("router changed the source port", why)
        lines = [formatEvent(e) for e in events]
        self.assertTrue(any("this node will not hole-punch: its router changed the "
                            "source port" in line for line in lines), lines)
        self.assertTrue(any(line.startswith("no hole punched to node")
                            for line in lines), lines)


class OffTests(PunchingTestCase):
    def test_offPunchesNoneAndRefuses(self):
        """A node whose punching is off (--no-punch) says so once,
        starts no punch on a relayed link it opened, lets a dial through
        the relay go on at once, and refuses a peer's punch saying why."""
        with capturedLogs() as events:
            a = Side(self.clock, self.alice, self.bob, False, HOST_A, enabled=False)
            b = Side(self.clock, self.bob, self.alice, True, HOST_B, enabled=False)
            a.relayed(HOST_B)
            b.relayed(HOST_A)
        self.assertEqual(sent(a.link), [])
        self.assertEqual(a.node.dialer.settle(self.bob.id), self.bob.id)
        lines = [formatEvent(e) for e in events]
        self.assertTrue(any("this node will not hole-punch: hole punching is off on "
                            "this node" in line for line in lines), lines)
        feed(b.link, PunchConnect(7, HOST_A, 20001))
        [refusal] = sent(b.link)
        self.assertEqual((refusal.code, refusal.id), ("nopunch", 7))
        self.assertIn("hole punching is off on this node", refusal.info)
        # Nor over UDP: its peer asks the tracker for no UDP punch with it,
        # each of which the tracker refused (it never checked its datagrams).
        self.assertIs(refusal.udp, False)
        self.assertEqual(b.dialer.dials, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])


class EndTests(PunchingTestCase):
    def test_linkClosed(self):
        """The relayed link closes: the punch on it ends, nothing held."""
        self.sides()
        self.carry(self.a, self.b)
        closeLink(self.a.link)
        closeLink(self.b.link)
        self.assertNothingHeld()

    def test_stoppingTheServiceEndsEveryPunch(self):
        """Punching is a service its node's runner holds: stopped, each
        punch under way ends, with its timers, and no dialler is left
        waiting for one."""
        self.sides()
        self.carry(self.a, self.b)
        for side in (self.a, self.b):
            side.punching.startService()
            self.assertTrue(side.punching.running)
            side.punching.stopService()
            self.assertFalse(side.punching.running)
        self.assertNothingHeld()

    def test_replacedLinkEndsItsPunch(self):
        """A newer relayed link takes the place of the one a punch runs
        over: that punch ends (no attempt is sent over the retired link,
        no answer waits on it), and the newer link is punched in its turn,
        the tracker not asked again."""
        self.sides()
        [first] = sent(self.a.link)
        with capturedLogs() as events:
            newer = linkPeer(self.a.node, self.bob, inbound=False)
        self.assertTrue(self.a.link.closing)
        self.assertTrue(any("the link closed" in formatEvent(e) for e in events))
        self.assertEqual(self.a.punching.puncher._punches, {})
        self.clock.advance(ANSWER_TIMEOUT)
        self.assertEqual([m for m in sent(self.a.link) if isinstance(m, PunchConnect)],
                         [])
        # The newer link's circuit (its transport's word is set only once
        # its handshake is done, here), told again:
        relayed(newer.transport, HOST_B)
        self.a.punching.linkReplaced(self.bob.id)
        [second] = sent(newer)
        self.assertIsInstance(second, PunchConnect)
        self.assertNotEqual(second.nonce, first.nonce)
        self.assertEqual(len(self.tracker.asked), 2)
        self.assertEqual(list(self.a.punching.puncher._punches), [newer])

    def test_shutdown(self):
        """The node stops: its punches end, nothing held."""
        self.sides()
        self.carry(self.a, self.b)
        self.a.node.shutdown()
        self.b.node.shutdown()
        self.assertNothingHeld()


class WaitTests(PunchingTestCase):
    def test_dialWaitsForThePunch(self):
        """A dial to a peer linked through a relay fires once its punch
        ends (here refused), not before."""
        self.sides(b_punchable=False)
        linked = []
        linkAt(self.a.node, "192.0.2.9", 9001, self.bob.id).addCallback(linked.append)
        self.assertEqual(linked, [])
        self.carry(self.a, self.b)
        self.carry(self.b, self.a)
        self.assertEqual(linked, [self.bob.id])

    def test_waitIsBounded(self):
        """A punch that takes longer than the wait: the dial goes on
        over the relay after it."""
        self.sides()
        linked = []
        linkAt(self.a.node, "192.0.2.9", 9001, self.bob.id).addCallback(linked.append)
        self.clock.advance(WAIT - 0.1)
        self.assertEqual(linked, [])
        self.clock.advance(0.1)
        self.assertEqual(linked, [self.bob.id])

    def test_punchWaitsForTheCheck(self):
        """A link up before the tracker's check told the node what its
        router does: the dial waits, and the check starts the punch."""
        a = Side(self.clock, self.alice, self.bob, False, HOST_A, told=False,
                 tracker=self.tracker)
        a.relayed(HOST_B)
        linked = []
        linkAt(a.node, "192.0.2.9", 9001, self.bob.id).addCallback(linked.append)
        self.assertEqual((sent(a.link), linked), ([], []))
        a.told()
        [connect] = sent(a.link)
        self.assertIsInstance(connect, PunchConnect)
        self.assertEqual(linked, [])
        self.clock.advance(WAIT)
        self.assertEqual(linked, [self.bob.id])

    def test_cancelledWait(self):
        """A dialler that gives up waiting leaves nothing behind: no
        timer, no waiter."""
        self.sides(b_punchable=False)
        waiting = linkAt(self.a.node, "192.0.2.9", 9001, self.bob.id)
        waiting.addErrback(lambda failure: failure.trap(defer.CancelledError))
        waiting.cancel()
        self.assertEqual(linksWaiting(self.a.node.dialer), {})
        self.carry(self.a, self.b)
        self.carry(self.b, self.a)
        self.assertNothingHeld()

    def test_noWaitWithoutAPunch(self):
        a = Side(self.clock, self.alice, self.bob, False, HOST_A)
        linked = []
        linkAt(a.node, "192.0.2.9", 9001, self.bob.id).addCallback(linked.append)
        self.assertEqual(linked, [self.bob.id])


class RunsTests(PunchingTestCase):
    """Whether a punch with a plan runs (L{Punching.runs}, what a relayed
    download's hold asks through the dialer), not whether one may still
    follow (L{Punching.waitsFor})."""

    def test_underWayOnBothSides(self):
        """The opener's punch runs from its start, the peer's answer from
        the punchConnect; the peer's refusal ends it on both sides."""
        self.sides(b_punchable=False)
        self.assertTrue(self.a.punching.runs(self.bob.id))
        self.assertTrue(self.a.node.dialer.punchRuns(self.bob.id))
        self.assertFalse(self.b.punching.runs(self.alice.id))
        self.carry(self.a, self.b)
        self.assertFalse(self.b.punching.runs(self.alice.id))
        self.carry(self.b, self.a)
        self.assertFalse(self.a.punching.runs(self.bob.id))
        self.assertFalse(self.a.node.dialer.punchRuns(self.bob.id))

    def test_newsOfTheEnd(self):
        """The dialer's news tells a listener the punch ended unmet the
        moment the peer's refusal comes (a relayed download's hold ends
        then: issue 94), and the peer's listener its answer's start and
        end."""
        self.sides(b_punchable=False)
        heardA, heardB = NewsHeard(), NewsHeard()
        self.assertTrue(self.a.node.dialer.news.watch(self.bob.id, heardA).running)
        self.b.node.dialer.news.watch(self.alice.id, heardB)
        self.carry(self.a, self.b)
        self.assertEqual(heardA.heard, [])
        self.carry(self.b, self.a)
        self.assertEqual(heardA.heard, [("ended", self.bob.id, False)])
        self.assertEqual(heardB.heard, [])

    def test_newsOfAnAnswer(self):
        """The peer answering a punch: its listener hears the answer start,
        and end when the punchSync never comes."""
        self.sides()
        heard = NewsHeard()
        self.b.node.dialer.news.watch(self.alice.id, heard)
        self.carry(self.a, self.b)
        self.assertEqual(heard.heard, [("started", self.alice.id)])
        self.clock.advance(ANSWER_TIMEOUT + 1)
        self.assertEqual(heard.heard[-1], ("ended", self.alice.id, False))

    def test_newsOfAStart(self):
        """A punch that waited for the tracker's check starts once it told:
        the news says so."""
        a = Side(self.clock, self.alice, self.bob, False, HOST_A, told=False,
                 tracker=self.tracker)
        a.relayed(HOST_B)
        heard = NewsHeard()
        self.assertFalse(a.node.dialer.news.watch(self.bob.id, heard).running)
        a.told()
        self.assertEqual(heard.heard, [("started", self.bob.id)])

    def test_answered(self):
        """Both routers keep ports: the peer answering the punch runs it
        too."""
        self.sides()
        self.carry(self.a, self.b)
        self.assertTrue(self.b.punching.runs(self.alice.id))

    def test_notWhileTheCheckIsAwaited(self):
        """Before the tracker's check told the node what its router does,
        a punch may follow (a dialler waits) but none runs."""
        a = Side(self.clock, self.alice, self.bob, False, HOST_A, told=False,
                 tracker=self.tracker)
        a.relayed(HOST_B)
        self.assertTrue(a.punching.waitsFor(self.bob.id))
        self.assertFalse(a.punching.runs(self.bob.id))
        self.assertFalse(a.node.dialer.punchRuns(self.bob.id))
        a.told()
        self.assertTrue(a.punching.runs(self.bob.id))

    def test_notWithARouterThatChangesPorts(self):
        """A node whose router changes the source port punches none over
        TCP: nothing runs."""
        a = Side(self.clock, self.alice, self.bob, False, HOST_A, punchable=False,
                 tracker=self.tracker)
        a.relayed(HOST_B)
        self.assertFalse(a.punching.runs(self.bob.id))


class TransferTests(PunchingTestCase):
    """A buyer punches a connection to a seller's transfer port over the
    direct link it has with it (a punched one), for its transfer client;
    otherwise (a relayed link, another key, no link, a node that cannot
    punch) it tries none, and its caller goes through the relay."""

    def direct(self, **kwargs):
        """A opened a direct link to B (as a punched one is)."""
        self.a = Side(self.clock, self.alice, self.bob, False, HOST_A, **kwargs)
        self.b = Side(self.clock, self.bob, self.alice, True, HOST_B)
        self.b.node.transferFactory = self
        self.a.link.transport.peerAddr = IPv4Address("TCP", HOST_B, 9001)
        self.b.link.transport.peerAddr = IPv4Address("TCP", HOST_A, 9002)

    def buildProtocol(self, addr):
        return "transfer server"

    def test_overTheDirectLink(self):
        self.direct()
        punched = self.a.punching.transfer(self.bob.id, self.bob.key, "client")
        self.assertNoResult(punched)
        [connect] = self.carry(self.a, self.b)
        self.assertEqual((connect.purpose, connect.host), ("files", HOST_A))
        self.carry(self.b, self.a)
        self.carry(self.a, self.b)
        self.clock.advance(0)
        [(host, protocol, opener, d)] = self.a.dialer.dials
        self.assertEqual((host, protocol, opener), (HOST_B, "client", True))
        [(host, protocol, opener, _)] = self.b.dialer.dials
        self.assertEqual((host, protocol, opener), (HOST_A, "transfer server", False))
        d.callback("client")
        self.assertEqual(self.successResultOf(punched), "client")

    def test_noneTried(self):
        self.direct()
        self.assertIsNone(self.a.punching.transfer(self.bob.id, self.alice.key, "c"))
        self.assertIsNone(self.a.punching.transfer(99, self.bob.key, "c"))
        relayed(self.a.link.transport, HOST_B)
        self.assertIsNone(self.a.punching.transfer(self.bob.id, self.bob.key, "c"))
        self.direct(punchable=False)
        self.assertIsNone(self.a.punching.transfer(self.bob.id, self.bob.key, "c"))
        self.direct(enabled=False)
        self.assertIsNone(self.a.punching.transfer(self.bob.id, self.bob.key, "c"))
        self.assertEqual(sent(self.a.link), [])


class SilentRelayTests(PunchingTestCase):
    """
    A relay whose ``relayOpen`` (or ``relayIncoming``) names no host, a
    lying one (an honest relay names the other end's host): the link
    still runs through its circuit, whose transport's peer is only the
    address the dialler was told for the node (a record's, any
    stranger's word), never one this node saw.  Before, a link whose
    relay named no host was taken for a direct one, so a ``files`` punch
    over it dialled that address.
    """

    def silent(self, named):
        """A dialled B, a stranger's "node at home" whose record names it
        at ``named``, through a relay that named no host in its
        ``relayOpen``; A serves files."""
        self.a = Side(self.clock, self.alice, self.bob, False, HOST_A,
                      tracker=self.tracker)
        self.a.node.transferFactory = self
        self.a.link.transport.peerAddr = IPv4Address("TCP", named, 41000)
        self.a.relayed("")

    def buildProtocol(self, addr):
        return "transfer server"

    def test_aFilesPunchDialsNoAddressTheRelayLeftOut(self):
        """B asks A for a punch for files naming the address its record
        named (A's own machine, at a port of B's choosing): A refuses,
        saying why, and dials nothing, keeps nothing."""
        for named in ("127.0.0.1", VICTIM):
            self.silent(named)
            with capturedLogs() as events:
                feed(self.a.link, PunchConnect(9, named, 6379, "files"), PunchSync(9))
            [refusal, _] = sent(self.a.link)
            self.assertEqual((refusal.code, refusal.id), ("nopunch", 9))
            self.assertIn("the relay of this link's circuit did not say where your "
                          "connection comes from", refusal.info)
            self.assertEqual(self.a.dialer.dials, [])
            self.assertEqual(self.a.punching.puncher._answers, {})
            self.assertTrue(any("refused a punch of node" in formatEvent(e)
                                for e in events))

    def test_noTransferPunchedOverIt(self):
        """A buyer's transfer client is not punched over such a link, to
        the address the record named: the dial goes through the relay."""
        self.silent("127.0.0.1")
        self.assertIsNone(self.a.punching.transfer(self.bob.id, self.bob.key, "client"))
        self.assertEqual(sent(self.a.link), [])
        self.assertEqual(self.a.dialer.dials, [])

    def test_stillALinkThroughARelay(self):
        """What the node says of the link: relayed."""
        self.silent("127.0.0.1")
        self.assertTrue(isRelayed(self.a.link))
        self.assertEqual(relayedFrom(self.a.link), "")
