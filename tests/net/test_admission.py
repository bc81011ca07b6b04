"""
Tests of L{twisted_bazaar.net.admission}: which links a node's link table
opens, takes and keeps, seen from the node whose peers are
StringTransports.  Slot budgets per purpose, the handshake limit per
address group, inbound eviction, recycled purposes and duplicate links.
"""

from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.net.admission import RELAYED_GROUPS, crowded
from twisted_bazaar.net.eviction import GRACE
from twisted_bazaar.net.overlay import DEFAULT_HANDSHAKE_LIMIT, DIRECT, OVERLAY
from twisted_bazaar.net.opening import NotConnected
from twisted_bazaar.net.link import DEFAULT_HANDSHAKE_TIMEOUT
from twisted_bazaar.net.recent import STATUS
from twisted_bazaar.testing.capabilities import relayed
from twisted_bazaar.wire import trade
from twisted_bazaar.testing.linking import linkAt

from tests.helpers import (
    NODE_HOST,
    NODE_PORT,
    closeLink,
    codes,
    feed,
    linkPeer,
    makeNode,
    openLink,
    Recorder,
    sent,
)

ME = wire.ThisIsMe(1, NODE_PORT, NODE_HOST)


class SlotTests(SynchronousTestCase):
    def test_noslots(self):
        """With every slot taken, one more inbound link gets noslots and
        is closed; the others are untouched.  (No direct slots here: at
        connection time the check is against every budget together.)"""
        node = makeNode(1, max_connections=2, direct_slots=0)
        first, second = linkPeer(node, 7), linkPeer(node, 8)
        extra = openLink(node)
        self.assertEqual(codes(sent(extra)), ["noslots"])
        self.assertTrue(extra.transport.disconnecting)
        self.assertEqual(node.links, {7: first, 8: second})
        self.assertEqual(sent(first) + sent(second), [])

    def test_fullNodeEvictsTheNewestInbound(self):
        """
        Full, a node takes a newcomer in place of its newest inbound link
        past the grace period; outbound links and the oldest half of the
        inbound ones are kept, and while every inbound link is in its
        grace period, the newcomer is refused.
        """
        node = makeNode(1, max_connections=4, direct_slots=0)
        out = linkPeer(node, 6, inbound=False)
        old = linkPeer(node, 7)
        node.clock.advance(5)
        middle = linkPeer(node, 8)
        node.clock.advance(1)
        young = linkPeer(node, 9)
        self.assertEqual(codes(sent(openLink(node))), ["noslots"])
        node.clock.advance(GRACE)
        newcomer = openLink(node)
        self.assertEqual(sent(newcomer), [])
        self.assertEqual(codes(sent(young)), ["noslots"])
        self.assertTrue(young.transport.disconnecting)
        self.assertEqual(sent(out) + sent(old) + sent(middle), [])

    def test_pendingLinksHoldSlots(self):
        """Links still in their handshake count against the limit: for
        connectTo, and for an inbound connection, which makes room by
        evicting the oldest silent one of the address group that has the
        most."""
        node = makeNode(1, max_connections=3, direct_slots=0)
        first = openLink(node, host="10.1.0.1")
        node.clock.advance(1)
        second, third = openLink(node), openLink(node, host="10.0.0.98")
        self.failureResultOf(linkAt(node, "10.0.0.7", 5007), NotConnected)
        fourth = openLink(node, host="10.1.0.2")
        self.assertEqual((sent(first), sent(third), sent(fourth)), ([], [], []))
        self.assertEqual(codes(sent(second)), ["noslots"])
        self.assertTrue(second.transport.disconnecting)
        self.assertEqual(node.linkCount(), 3)

    def test_oneAddressCannotHoldEverySlotSilently(self):
        """
        Connections that have not said thisisme hold slots until their
        handshake times out: one address group (an IPv4 /16) may hold at
        most handshake_limit of them.  Other groups still get in, and a
        connection that finishes its handshake makes room for its group
        again.
        """
        node = makeNode(1, max_connections=8, handshake_limit=2)
        first, _ = openLink(node, host="10.0.0.5"), openLink(node, host="10.0.0.6")
        third = openLink(node, host="10.0.200.7")
        [refusal] = sent(third)
        self.assertEqual((refusal.code, refusal.info),
                         ("noslots", "2 connections from your address group are still "
                                     "to say thisisme"))
        self.assertTrue(third.transport.disconnecting)
        other = openLink(node, host="10.1.0.6")
        self.assertEqual(sent(other), [])
        self.assertFalse(other.transport.disconnecting)
        feed(first, wire.ThisIsMe(7, 5007))
        self.assertEqual(list(node.links), [7])
        again = openLink(node, host="10.0.0.5")
        self.assertEqual(sent(again), [])
        self.assertFalse(again.transport.disconnecting)

    def test_closedLinkFreesSlot(self):
        """Once a link closes, its slot takes a new peer."""
        node = makeNode(1, max_connections=1)
        closeLink(linkPeer(node, 7))
        link = openLink(node)
        feed(link, wire.ThisIsMe(8, 5008))
        self.assertEqual(sent(link), [ME])
        self.assertEqual(list(node.links), [8])

    def test_connectionCheckIsTheSumOfBudgets(self):
        """A new connection is refused only once the links of every purpose
        together fill the budgets: with both overlay slots taken, a third
        connection still gets in, since it may be a direct one."""
        node = makeNode(1, max_connections=2, direct_slots=1)
        linkPeer(node, 7), linkPeer(node, 8)
        third = openLink(node)
        self.assertEqual(sent(third), [])
        self.assertFalse(third.transport.disconnecting)
        feed(third, wire.ThisIsMe(9, 5009, purpose=DIRECT))
        fourth = openLink(node)
        self.assertEqual(codes(sent(fourth)), ["noslots"])
        self.assertTrue(fourth.transport.disconnecting)

    def test_perPurposeCheckAtThisIsMe(self):
        """The budget of the purpose a peer names in its thisisme is
        checked then: an overlay link past max_connections is refused with
        noslots, a direct one is taken while direct slots are free."""
        node = makeNode(1, max_connections=2, direct_slots=1)
        linkPeer(node, 7), linkPeer(node, 8)
        overlay = openLink(node)
        feed(overlay, wire.ThisIsMe(9, 5009))
        [refusal] = sent(overlay)
        self.assertEqual((refusal.code, refusal.info),
                         ("noslots", "all 2 overlay slots are taken"))
        self.assertTrue(overlay.transport.disconnecting)
        closeLink(overlay)
        direct = linkPeer(node, 9, purpose=DIRECT)
        self.assertEqual(direct.purpose, DIRECT)
        self.assertEqual(node.overlay.count(DIRECT), 1)
        self.assertEqual(node.overlay.count(OVERLAY), 2)

    def test_noDirectSlots(self):
        """A node with no direct slots refuses direct links, and opens
        none."""
        node = makeNode(1, direct_slots=0)
        link = openLink(node)
        feed(link, wire.ThisIsMe(7, 5007, purpose=DIRECT))
        self.assertEqual(codes(sent(link)), ["noslots"])
        self.assertEqual(node.links, {})
        self.failureResultOf(linkAt(node, "10.0.0.8", 5008, 8, DIRECT), NotConnected)
        self.assertEqual(node.connector.requests, [])

    def test_unknownPurposeRefused(self):
        """A purpose the node has no budget for is refused with wtf."""
        node = makeNode(1)
        link = openLink(node)
        feed(link, wire.ThisIsMe(7, 5007, purpose="chord"))
        self.assertEqual(codes(sent(link)), ["wtf"])
        self.assertTrue(link.transport.disconnecting)
        self.assertEqual(node.links, {})


class RecycledPurposeTests(SynchronousTestCase):
    """
    A purpose added with recycle=True (a chord node's finger links): when
    the node opens one more link of it with every slot taken, its own link
    of that purpose quiet longest is retired to make room, or, if it has
    none, an inbound one the eviction policy gives up; links of other
    purposes are never taken for it.
    """

    def setUp(self):
        self.node = makeNode(1, direct_slots=1)
        self.node.addPurpose("finger", 2, idle=60.0, recycle=True)
        self.clock = self.node.clock

    def dial(self, peer, purpose="finger"):
        d = linkAt(self.node, "10.0.0.%d" % peer, 5000 + peer, peer, purpose)
        link = self.node.connector.connectLast()
        feed(link, wire.ThisIsMe(peer, 5000 + peer))
        self.assertEqual(self.successResultOf(d), peer)
        sent(link)
        return link

    def test_quietestOwnLinkMakesRoom(self):
        """The link that carried nothing for longest says dc and closes;
        the new link is dialled."""
        first = self.dial(7)
        self.clock.advance(1)
        second = self.dial(8)
        self.clock.advance(1)
        feed(first, trade.Buy(5, "apple", (7, 1)))
        self.clock.advance(1)
        third = self.dial(9)
        self.assertEqual(sent(second), [wire.Dc()])
        self.assertTrue(second.transport.disconnecting)
        self.assertFalse(first.transport.disconnecting)
        self.assertFalse(third.transport.disconnecting)
        self.assertEqual(self.node.linksByPurpose()["finger"], 3)
        closeLink(second)
        self.assertEqual(sorted(self.node.links), [7, 9])

    def test_peersLinksCannotHoldEverySlot(self):
        """With every slot held by links peers opened, the eviction policy
        gives one up for this node's own, as for an inbound newcomer;
        while all are new (in their grace period), the dial fails."""
        inbound = [linkPeer(self.node, peer, purpose="finger") for peer in (7, 8)]
        self.failureResultOf(linkAt(self.node, "10.0.0.9", 5009, 9, "finger"),
                             NotConnected)
        self.assertEqual(self.node.connector.requests, [])
        self.assertFalse(any(link.transport.disconnecting for link in inbound))
        self.clock.advance(GRACE)
        self.dial(9)
        refused = [link for link in inbound if "noslots" in codes(sent(link))]
        self.assertEqual(len(refused), 1)
        self.assertTrue(refused[0].transport.disconnecting)

    def test_otherPurposesAreNotRecycled(self):
        """A purpose not recycled keeps refusing a link over its slots (a
        direct link may have a trade waiting on it)."""
        direct = self.dial(7, DIRECT)
        self.clock.advance(5)
        self.failureResultOf(linkAt(self.node, "10.0.0.9", 5009, 9, DIRECT),
                             NotConnected)
        self.assertFalse(direct.transport.disconnecting)


class DuplicateLinkTests(SynchronousTestCase):
    """
    Two nodes that connect to each other at once end up with two links;
    both keep the one opened by the lower id.
    """

    def survivor(self, own_id, peer_id, first_inbound):
        """Link to peer_id one way then the other; return the direction of
        the link kept, and what the dropped link heard."""
        node = makeNode(own_id)
        recorder = Recorder()
        node.addObserver(recorder)
        first = linkPeer(node, peer_id, inbound=first_inbound)
        second = openLink(node, inbound=not first_inbound)
        sent(second)
        feed(second, wire.ThisIsMe(peer_id, 5000))
        kept = node.links[peer_id]
        dropped = second if kept is first else first
        self.assertTrue(dropped.transport.disconnecting)
        self.assertFalse(kept.transport.disconnecting)
        closeLink(dropped)
        self.assertIs(node.links[peer_id], kept)
        self.assertEqual(recorder.events, [("linkAdded", peer_id)])
        return ("inbound" if kept.inbound else "outbound"), sent(dropped)

    def test_lowerIdKeepsItsOutbound(self):
        """The lower id keeps the link it opened, in either order."""
        self.assertEqual(self.survivor(3, 8, first_inbound=False),
                         ("outbound", [wire.Dc()]))
        self.assertEqual(self.survivor(3, 8, first_inbound=True),
                         ("outbound", [wire.Dc()]))

    def test_higherIdKeepsItsInbound(self):
        """The higher id keeps the link the lower one opened, in either
        order."""
        self.assertEqual(self.survivor(8, 3, first_inbound=True),
                         ("inbound", [wire.Dc()]))
        self.assertEqual(self.survivor(8, 3, first_inbound=False),
                         ("inbound", [wire.Dc()]))

    def test_reconnectReplacesOld(self):
        """A second link in the same direction replaces the first, which
        is probably dead."""
        node = makeNode(1)
        old = linkPeer(node, 7)
        new = linkPeer(node, 7)
        self.assertIs(node.links[7], new)
        self.assertEqual(sent(old), [wire.Dc()])
        closeLink(old)
        self.assertIs(node.links[7], new)
        self.assertEqual(node.pathTo(7), (1, 7))

    def test_aStatusClientsRacedWaysKeepTheFirst(self):
        """One status client's question raced over two ways (bazaar
        --tracker ws: asks a node with a --ws-port over TCP and WebSocket
        at once, under one id): the node kept the newer link and retired
        the older, the one it had introduced itself on first, which the
        client had taken and asked on, so about one `bazaar node` in four
        ended `the connection closed before an answer` (issue 96
        MEDIUM).  Its first link stays, the later one retired; a status
        link silent for a handshake timeout is replaced as before."""
        node = makeNode(1)
        node.addPurpose(STATUS, 2, 10.0)
        first = linkPeer(node, 7, purpose=STATUS)
        second = openLink(node, inbound=True)
        feed(second, wire.ThisIsMe(7, 5000, purpose=STATUS))
        self.assertIs(node.links[7], first)
        self.assertEqual(sent(first), [])
        self.assertTrue(second.transport.disconnecting)
        node.clock.advance(DEFAULT_HANDSHAKE_TIMEOUT)
        third = linkPeer(node, 7, purpose=STATUS)
        self.assertIs(node.links[7], third)
        self.assertEqual(sent(first), [wire.Dc()])

    def test_messageOnTheRetiredLinkIsStillHandled(self):
        """
        Both nodes connected to each other at once: the link that loses is
        retired (dc, closed), but what the peer already sent on it still
        arrives.  A buy the peer wrote on the losing link before it heard
        dc is delivered here, and one passing through is relayed on.  (The
        old node dropped whatever followed on the losing link.)
        """
        node = makeNode(3)
        recorder = Recorder()
        node.addObserver(recorder)
        relay_to = linkPeer(node, 5)
        mine = openLink(node, inbound=False)
        theirs = openLink(node, inbound=True)
        self.assertEqual(sent(mine), [wire.ThisIsMe(3, NODE_PORT, NODE_HOST)])
        feed(mine, wire.ThisIsMe(8, 5008))
        feed(theirs, wire.ThisIsMe(8, 5008))
        self.assertIs(node.links[8], mine)
        self.assertEqual(sent(theirs), [wire.Dc()])
        self.assertTrue(theirs.transport.disconnecting)
        buy = trade.Buy(41, "apple", (8, 3))
        passing = trade.Buy(42, "apple", (8, 3, 5))
        feed(theirs, buy, passing)
        self.assertEqual(recorder.events[-1], ("delivered", buy))
        self.assertEqual(sent(relay_to), [passing])
        self.assertEqual(sent(theirs), [])
        closeLink(theirs)
        self.assertIs(node.links[8], mine)
        feed(theirs, trade.Buy(43, "apple", (8, 3)))
        self.assertEqual(recorder.events[-1], ("delivered", buy))

    def test_messageOnTheReplacedLinkIsStillHandled(self):
        """A link replaced by a newer one to the same peer is retired too:
        a buy already on its way over the old link is delivered."""
        node = makeNode(1)
        recorder = Recorder()
        node.addObserver(recorder)
        old = linkPeer(node, 7)
        new = linkPeer(node, 7)
        self.assertIs(node.links[7], new)
        self.assertEqual(sent(old), [wire.Dc()])
        buy = trade.Buy(41, "apple", (7, 1))
        feed(old, buy)
        self.assertEqual(recorder.events[-1], ("delivered", buy))
        self.assertEqual(sent(old) + sent(new), [])


class SharedAdmissionTests(SynchronousTestCase):
    """Nodes with the same terms hold one admission (a simulation holds a
    million nodes, nearly all alike); a node whose terms change takes
    another, and the others keep theirs."""

    def test_sameTermsOneAdmission(self):
        one, two = makeNode(1), makeNode(2)
        self.assertIs(one.overlay.admission, two.overlay.admission)
        for node in (one, two):
            node.addPurpose("finger", 2, idle=60.0, recycle=True)
        self.assertIs(one.overlay.admission, two.overlay.admission)
        self.assertEqual(one.overlay.admission.recycled, {"finger"})

    def test_changedTermsAreTheNodesOwn(self):
        one, two = makeNode(1), makeNode(2)
        shared = two.overlay.admission
        one.setSlots("finger", 3)
        self.assertIs(two.overlay.admission, shared)
        self.assertEqual((one.slotsFor("finger"), two.slotsFor("finger")), (3, 0))
        two.setSlots("finger", 3)
        self.assertIs(one.overlay.admission, two.overlay.admission)


class RelayedHandshakeTests(SynchronousTestCase):
    """
    A node at home is reached through its relay only, so every inbound
    connection it has comes from the relay's address, charged to the
    relay's address group.  Its connections still to say thisisme are
    charged to that group as a whole, at most L{RELAYED_GROUPS} groups'
    shares, and within it to the group the relay names for each dialler,
    one group's share: the relay's word only divides the share the node
    gives the relay, never widens what one dialler's group holds.
    """

    RELAY = "192.0.2.1"
    STRANGER = "198.51.100.7"

    def through(self, node, dialler):
        """A connection through the relay, from a dialler the relay says
        is at ``dialler``, saying nothing yet."""
        link = node.buildLink(inbound=True)
        link.makeConnection(relayed(StringTransport(
            peerAddress=IPv4Address("TCP", self.RELAY, 40000)), dialler))
        return link

    def assertRefused(self, link, info):
        self.assertEqual([(m.code, m.info) for m in sent(link)], [("noslots", info)])
        self.assertTrue(link.transport.disconnecting)

    def assertTaken(self, link):
        self.assertEqual(sent(link), [])
        self.assertFalse(link.transport.disconnecting)

    def test_oneDiallersGroupHoldsOneShare(self):
        """A stranger's group holds 4 silent circuits to a node at home
        through its relay: its fifth is refused, and an honest dialler
        of another group still gets in.  Before, the four took the
        relay's whole share, and every dialler through it was refused
        while they stayed silent."""
        node = makeNode(1, max_connections=32)
        for _ in range(DEFAULT_HANDSHAKE_LIMIT):
            self.assertTaken(self.through(node, self.STRANGER))
        self.assertRefused(self.through(node, "198.51.7.7"),
                           "4 connections from your address group are still to say "
                           "thisisme")
        self.assertTaken(self.through(node, "203.0.113.9"))

    def test_theRelaysGroupHoldsFourShares(self):
        """Through one relay, 16 connections still to say thisisme at
        most, whatever groups the relay names; a connection that is not
        relayed, from the relay's group, has its group's own share."""
        node = makeNode(1, max_connections=64)
        for group in range(RELAYED_GROUPS):
            for _ in range(DEFAULT_HANDSHAKE_LIMIT):
                self.assertTaken(self.through(node, f"203.{group}.113.9"))
        self.assertRefused(self.through(node, "203.9.113.9"),
                           "16 connections through your relay are still to say "
                           "thisisme")
        self.assertTaken(openLink(node, host="192.0.7.7"))


class RelayedEvictionTests(SynchronousTestCase):
    """
    A full node at home: every inbound link comes through its relay, so
    eviction sees one address group, the relay's, which has held links
    for as long as the node has been up.
    """

    RELAY = "192.0.2.1"

    def linked(self, node, dialler, peer_id, purpose=None):
        """A link through the relay from a dialler the relay says is at
        ``dialler``, its thisisme said."""
        link = node.buildLink(inbound=True)
        link.makeConnection(relayed(StringTransport(
            peerAddress=IPv4Address("TCP", self.RELAY, 40000 + peer_id)), dialler))
        feed(link, wire.ThisIsMe(peer_id, 0 if purpose else 5000, "", purpose=purpose))
        return link

    def test_churnedLabelsEarnNoGrace(self):
        """
        Two dialler groups through the relay hold a node's 2 status slots,
        each closing its link and opening another every 5 s.  A label was
        aged by its oldest open link, always under the grace, so a
        newcomer of a third label (the operator) was refused `noslots`
        for as long as the churn went on.  A label keeps its tenure as a
        group does: once the churned labels have held 10 s, the newcomer
        gets in, and the churned link it pushes out is its label's.
        """
        node = makeNode(1)
        node.addPurpose(STATUS, 2, 10.0)
        ids = iter(range(100, 1000))
        held = {dialler: self.linked(node, dialler, next(ids), STATUS)
                for dialler in ("198.51.100.7", "198.52.100.7")}
        for _ in range(8):
            node.clock.advance(5.0)
            for dialler, link in held.items():
                closeLink(link)
                held[dialler] = self.linked(node, dialler, next(ids), STATUS)
        newcomer = self.linked(node, "203.0.113.9", next(ids), STATUS)
        self.assertFalse(newcomer.transport.disconnecting)
        self.assertEqual(sorted(link.transport.disconnecting for link in held.values()),
                         [False, True])

    def test_heldLabelsStillHaveTheirGrace(self):
        """A label new to the node keeps its grace: the newcomer of a
        third label right after two labels came is refused."""
        node = makeNode(1)
        node.addPurpose(STATUS, 2, 10.0)
        for n, dialler in enumerate(("198.51.100.7", "198.52.100.7")):
            self.linked(node, dialler, 100 + n, STATUS)
        node.clock.advance(5.0)
        newcomer = self.linked(node, "203.0.113.9", 99, STATUS)
        self.assertTrue(newcomer.transport.disconnecting)

    def test_oneDiallersGroupChurningPushesOutOnlyItsOwn(self):
        """
        A stranger's address group of diallers links to a full node at
        home through its relay every 0.16 s (its 6.25 a second there), an
        honest dialler of another group once between.  No relayed link
        had a grace of its own (the relay's group's tenure is the node's
        age), and each newcomer took the newest link's place: the honest
        link went at the stranger's next link, 0.16 s later.  Now the
        stranger's newcomers push out only its own, and the honest link
        and those held before stay.
        """
        node = makeNode(1, max_connections=8)
        held = [self.linked(node, f"203.{n}.113.9", 100 + n) for n in range(4)]
        node.clock.advance(3600)
        for n in range(60):
            self.linked(node, "198.51.100.7", 200 + n)
            node.clock.advance(0.16)
        honest = self.linked(node, "203.99.113.9", 99)
        self.assertFalse(honest.transport.disconnecting)
        for n in range(200):
            node.clock.advance(0.16)
            self.linked(node, "198.51.100.7", 300 + n)
        self.assertEqual([link.transport.disconnecting for link in held + [honest]],
                         [False] * 5)
        self.assertEqual(node.overlay.linkCount(), 8)


class CrowdTests(SynchronousTestCase):
    """L{crowded}: the address group that may have dialled a node to be
    all it knows."""

    def links(self, node, hosts, inbound=True):
        return [linkPeer(node, 10 + i, inbound=inbound, source=host)
                for i, host in enumerate(hosts, start=len(node.links))]

    def test_aGroupHoldingMostOfThemWithoutOneOfItsOwnElsewhere(self):
        node = makeNode(1)
        links = self.links(node, ["203.0.113.9", "203.0.7.1", "10.1.0.1"])
        self.assertEqual(crowded(links), "203.0.0.0/16")
        mine = self.links(node, ["10.2.0.1"], inbound=False)
        self.assertIsNone(crowded(links + mine))

    def test_halfOrOneIsNoCrowd(self):
        node = makeNode(1)
        self.assertIsNone(crowded(self.links(node, ["203.0.113.9"])))
        self.assertIsNone(crowded(self.links(node, ["203.0.113.9", "203.0.7.1",
                                                    "10.1.0.1", "10.2.0.1"])))

    def test_linksThroughARelayAreLeftOut(self):
        """Every inbound link of a node at home comes from its relay's
        group: they make no crowd."""
        node = makeNode(1)
        links = self.links(node, ["203.0.113.9", "203.0.7.1"])
        for link in links:
            relayed(link.transport, "10.9.0.1")
        self.assertIsNone(crowded(links))
