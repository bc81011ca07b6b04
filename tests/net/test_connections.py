"""
Tests of L{twisted_bazaar.net.connections}: the rate of new connections
and the tenure of each address group, and the policy as the overlay
applies it to a node's slots (the attacks of one address against them).
"""

from twisted.internet import task
from twisted.internet.address import IPv4Address
from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.net.connections import (
    CONNECTIONS_LIMIT,
    REMEMBER,
    ConnectionManager,
    RateLimit,
    Tenure,
)
from twisted_bazaar.net.eviction import GRACE
from twisted_bazaar.net.overlay import DIRECT, OverlayFactory
from twisted_bazaar.status.messages import State
from twisted_bazaar.status.node import STATUS_SLOTS, NodeStatus
from twisted_bazaar.net.recent import STATUS
from twisted_bazaar.testing.linking import linkAt

from tests.helpers import closeLink, feed, makeNode, openLink, sent

ATTACKER = "127.9.0.1"
HONEST = "127.0.0.1"


class RateLimitTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.rates = RateLimit(self.clock, CONNECTIONS_LIMIT, rate=10)

    def test_burstThenRate(self):
        """A group takes a second's worth at once, then ``rate`` a second;
        another group is not held back by it."""
        self.assertEqual(sum(self.rates.admit("a") for _ in range(30)), 10)
        self.assertTrue(self.rates.admit("b"))
        self.clock.advance(0.5)
        self.assertEqual(sum(self.rates.admit("a") for _ in range(30)), 5)
        self.clock.advance(100)
        self.assertEqual(sum(self.rates.admit("a") for _ in range(30)), 10)

    def test_aClockSteppedBackTakesNothing(self):
        """Stepped back 600 s (the wall clock, NTP), a group keeps the
        connections it had left: it was refused every one for 600 s, so a
        node refused the tracker's address check and was called
        unreachable."""
        self.clock.advance(1000)
        self.assertEqual(sum(self.rates.admit("a") for _ in range(5)), 5)
        self.clock.rightNow -= 600
        self.assertEqual(self.rates.untilNext("a"), 0.0)
        self.assertEqual(sum(self.rates.admit("a") for _ in range(30)), 5)

    def test_noRateNoLimit(self):
        rates = RateLimit(self.clock, CONNECTIONS_LIMIT, rate=0)
        self.assertTrue(all(rates.admit("a") for _ in range(1000)))

    def test_groupsKeptAreBounded(self):
        rates = RateLimit(self.clock, CONNECTIONS_LIMIT, rate=1, kept=3)
        for group in "abcde":
            rates.admit(group)
        self.assertEqual(list(rates._buckets), ["c", "d", "e"])


class TenureTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.tenure = Tenure(self.clock)

    def test_withoutAFloorItIsTheOldestConnection(self):
        self.assertEqual(self.tenure.of("a", 7.0), 7.0)
        self.assertIsNone(self.tenure.floors)

    def test_replacedConnectionsKeepTheGroupsAge(self):
        """A group whose connection closes keeps its tenure for what
        replaces it, however often it is replaced."""
        self.tenure.closed("a", 0.0)
        for start in range(5, 50, 5):
            self.clock.advance(5)
            self.assertEqual(self.tenure.of("a", float(start)), 0.0)
            self.tenure.closed("a", float(start))
        self.assertEqual(self.tenure.of("b", 40.0), 40.0)

    def test_forgottenAfterRemember(self):
        self.tenure.closed("a", 0.0)
        self.clock.advance(REMEMBER + 1)
        self.assertEqual(self.tenure.of("a", 70.0), 70.0)
        self.assertNotIn("a", self.tenure.floors)


def factoryNode(rate):
    node = makeNode(1, connection_rate=rate)
    return node, OverlayFactory(node)


class DeclaredRateTests(SynchronousTestCase):
    def test_theDeclaredRateByDefault(self):
        """Given no rate, a RateLimit takes its limit's declared group
        rate, and saves up one second of it."""
        clock = task.Clock()
        limit = RateLimit(clock, CONNECTIONS_LIMIT)
        self.assertEqual((limit.rate, limit.burst),
                         (CONNECTIONS_LIMIT.group, max(1.0, CONNECTIONS_LIMIT.group)))
        admitted = sum(limit.admit("10.0.0.0/16")
                       for _ in range(int(CONNECTIONS_LIMIT.group) + 5))
        self.assertEqual(admitted, int(max(1.0, CONNECTIONS_LIMIT.group)))


class ConnectionRateTests(SynchronousTestCase):
    def test_floodClosedBeforeTheHandshake(self):
        """
        Past its rate, a group's connection gets no link (the connection
        is closed before the channel's handshake); another group's still
        does, and the group is let in again as its rate allows.
        """
        node, factory = factoryNode(20)
        address = IPv4Address("TCP", ATTACKER, 4000)
        built = [factory.buildProtocol(address) for _ in range(100)]
        self.assertEqual(sum(link is not None for link in built), 20)
        self.assertIsNotNone(factory.buildProtocol(IPv4Address("TCP", HONEST, 4000)))
        node.clock.advance(1)
        self.assertEqual(sum(factory.buildProtocol(address) is not None
                             for _ in range(100)), 20)


def inbound(node, peer_id, host, purpose=None):
    """An inbound link from host that says thisisme as peer_id."""
    link = openLink(node, host=host)
    feed(link, wire.ThisIsMe(peer_id, 5000, "", purpose=purpose))
    return link


def refused(link):
    return any(type(m) is wire.Error and m.code == "noslots" for m in sent(link)) \
        or link.transport.disconnecting


class ChurnedSlotsTests(SynchronousTestCase):
    """
    One address replaces each of its links before it is GRACE old, to
    hold every slot of a purpose: a newcomer of another group gets one at
    once.
    """

    def churn(self, node, purpose, slots, seconds):
        ids = iter(range(100, 100_000))
        held = [inbound(node, next(ids), ATTACKER, purpose) for _ in range(slots)]
        for _ in range(int(seconds / (GRACE - 1))):
            node.clock.advance(GRACE - 1)
            for index, link in enumerate(held):
                closeLink(link)
                held[index] = inbound(node, next(ids), ATTACKER, purpose)
        return held

    def test_directSlots(self):
        node = makeNode(1, max_connections=8, direct_slots=8)
        held = self.churn(node, DIRECT, 8, 90)
        self.assertEqual(node.overlay.count(DIRECT), 8)
        buyer = inbound(node, 7, HONEST, DIRECT)
        self.assertIs(node.links.get(7), buyer)
        self.assertFalse(buyer.transport.disconnecting)
        self.assertEqual(sum(refused(link) for link in held), 1)

    def test_statusSlots(self):
        node = makeNode(1, max_connections=8, direct_slots=8)
        NodeStatus(node)
        held = self.churn(node, STATUS, STATUS_SLOTS, 60)
        client = inbound(node, 7, HONEST, STATUS)
        self.assertIs(node.links.get(7), client)
        self.assertEqual(sum(refused(link) for link in held), 1)

    def test_aGroupTakesOnlyFromItself(self):
        """A ninth link of the churner's own group takes the place of one
        of its own: the group's share does not grow."""
        node = makeNode(1, max_connections=8, direct_slots=8)
        held = self.churn(node, DIRECT, 8, 30)
        late = inbound(node, 99_999, ATTACKER, DIRECT)
        self.assertIs(node.links.get(99_999), late)
        self.assertEqual(sum(refused(link) for link in held), 1)
        self.assertEqual(node.overlay.held(DIRECT), 8)


class StatusClientLinesTests(SynchronousTestCase):
    """
    A status client (``bazaar status``, ``node``, ``web``) evicted or
    refused was logged at info under its temporary id, as a node:
    ``evicting node 9845432014 at ... to make room for a new link``,
    ``closing link to ...: noslots: all 2 status slots are taken``.  Its
    link's lines are debug ones (docs/running.md, Logs), and it is no
    node: now they are debug lines that say ``a status client``.
    """

    def setUp(self):
        self.node = makeNode(1, max_connections=8, direct_slots=8)
        NodeStatus(self.node)

    def lines(self, *args):
        with capturedLogs() as events:
            inbound(self.node, *args)
        return [(event["log_level"], formatEvent(event)) for event in events
                if "status" in formatEvent(event) or "room" in formatEvent(event)]

    def assertStatusClientLines(self, lines):
        self.assertTrue(lines)
        for level, text in lines:
            self.assertEqual(level, LogLevel.debug, text)
            self.assertIn("a status client", text)
            self.assertNotIn("9845432", text)

    def test_refusedAtDebug(self):
        for n in range(STATUS_SLOTS):
            inbound(self.node, 9845432000 + n, ATTACKER, STATUS)
        lines = self.lines(9845432014, ATTACKER, STATUS)
        self.assertIn("all 2 status slots are taken", lines[-1][1])
        self.assertStatusClientLines(lines)

    def test_evictedAtDebug(self):
        held = [inbound(self.node, 9845432014 + n, ATTACKER, STATUS)
                for n in range(STATUS_SLOTS)]
        for _ in range(3):
            # Past their grace, not idle.
            self.node.clock.advance(GRACE / 2)
            for link in held:
                feed(link, State())
        lines = self.lines(9845432100, HONEST, STATUS)
        self.assertTrue(any("to make room" in text for _, text in lines))
        self.assertStatusClientLines(lines)


class MoreGroupsThanSlotsTests(SynchronousTestCase):
    def test_newcomerGroupGetsOneAfterTheirGrace(self):
        """
        One link from each of 16 groups holds every slot: a newcomer
        group is refused while they are in their grace, and gets one
        after, even when each of them keeps replacing its link.
        """
        node = makeNode(1, max_connections=0, direct_slots=16)
        links = {n: inbound(node, 100 + n, f"10.{n}.0.1", DIRECT) for n in range(16)}
        newcomer = inbound(node, 7, HONEST, DIRECT)
        self.assertTrue(refused(newcomer))
        for round_ in range(3):
            node.clock.advance(GRACE / 2)
            for n, link in links.items():
                closeLink(link)
                links[n] = inbound(node, 200 + 16 * round_ + n, f"10.{n}.0.1", DIRECT)
        newcomer = inbound(node, 8, HONEST, DIRECT)
        self.assertIs(node.links.get(8), newcomer)


class UselessPeersTests(SynchronousTestCase):
    """A buyer's own direct links to sellers in doubt give way to the next
    seller it needs."""

    def setUp(self):
        self.node = makeNode(1, direct_slots=2)

    def dial(self, peer):
        d = linkAt(self.node, f"10.0.{peer}.1", 5000 + peer, peer, DIRECT)
        link = self.node.connector.connectLast()
        feed(link, wire.ThisIsMe(peer, 5000 + peer))
        self.assertEqual(self.successResultOf(d), peer)
        sent(link)
        return link

    def test_fullOfPeersInDoubt(self):
        first, second = self.dial(7), self.dial(8)
        self.failureResultOf(linkAt(self.node, "10.0.9.1", 5009, 9, DIRECT))
        self.node.useless(8)
        self.node.clock.advance(1)
        third = self.dial(9)
        self.assertTrue(second.transport.disconnecting)
        self.assertEqual(sent(second), [wire.Dc()])
        self.assertFalse(first.transport.disconnecting)
        self.assertFalse(third.transport.disconnecting)

    def test_inboundLinksOfPeersInDoubtToo(self):
        """Keys that linked to the buyer themselves, with purpose direct,
        and answered its buys in doubt, give their slots way too."""
        node = makeNode(1, direct_slots=2)
        first = inbound(node, 7, ATTACKER, DIRECT)
        second = inbound(node, 8, ATTACKER, DIRECT)
        sent(first), sent(second)
        self.failureResultOf(linkAt(node, "10.0.9.1", 5009, 9, DIRECT))
        node.useless(7)
        linkAt(node, "10.0.9.1", 5009, 9, DIRECT)
        self.assertEqual(sent(first), [wire.Dc()])
        self.assertTrue(first.transport.disconnecting)
        self.assertFalse(second.transport.disconnecting)


class RoomForTests(SynchronousTestCase):
    """L{Node.roomFor}: a part that dials a purpose's links gives up its
    own link to a peer it has no use for when the slots are full."""

    def setUp(self):
        self.node = makeNode(1, direct_slots=2)
        self.dial = lambda peer: UselessPeersTests.dial(self, peer)

    def inUse(self):
        """Every link of this node's is of use to it (a buyer with a buy
        out with each peer: L{Node.spares})."""
        self.patch(self.node, "spares", lambda peer_id, purpose: False)

    def test_quietestSpareGivesWay(self):
        first, second = self.dial(7), self.dial(8)
        self.node.clock.advance(1)
        # A message that is not a keepalive: the first carried one since.
        first.send(wire.Error("wtf", "a message of the trade"))
        sent(first)
        self.assertTrue(self.node.roomFor(DIRECT))
        self.assertEqual((sent(first), sent(second)), ([], [wire.Dc()]))

    def test_aLinkARoleUsesIsKept(self):
        """What is spare is the node's word (L{Node.spares}): the link to
        a peer a role has work out with (a buyer's buy) stays, the other
        gives way; a buyer no longer says it again beside it."""
        first, second = self.dial(7), self.dial(8)

        class Using:
            def usesLinkTo(self, peer_id):
                return peer_id == 8

        self.patch(self.node, "roles", [Using()])
        self.assertTrue(self.node.roomFor(DIRECT))
        self.assertEqual((sent(first), sent(second)), ([wire.Dc()], []))

    def test_nothingSpareNothingRetired(self):
        """Too few spare links to make room: none is retired."""
        first, second = self.dial(7), self.dial(8)
        self.inUse()
        self.assertFalse(self.node.roomFor(DIRECT))
        self.assertEqual((sent(first), sent(second)), ([], []))

    def test_dialInItsHandshakeHoldsASlot(self):
        self.dial(7)
        linkAt(self.node, "10.0.8.1", 5008, 8, DIRECT)
        self.inUse()
        self.assertFalse(self.node.roomFor(DIRECT))

    def test_linksPeersOpenedAreNotRetired(self):
        """Links peers opened, in their group's grace: none gives way."""
        first = inbound(self.node, 7, ATTACKER, DIRECT)
        second = inbound(self.node, 8, ATTACKER, DIRECT)
        sent(first), sent(second)
        self.assertFalse(self.node.roomFor(DIRECT))
        self.assertEqual((sent(first), sent(second)), ([], []))

    def test_linksPeersOpenedGiveWayPastTheirGrace(self):
        """A stranger's keys that link to a buyer with purpose direct, and
        keep talking so that no link idles out, held every direct slot:
        its buys waited for ever (live, 8 links from 127.9.0.1, the buy
        of pear said to wait for a slot 'held by a buy still out'). Past
        the group's grace one gives way, as to any newcomer, and only
        one."""
        first = inbound(self.node, 7, ATTACKER, DIRECT)
        second = inbound(self.node, 8, ATTACKER, DIRECT)
        sent(first), sent(second)
        for _ in range(int(GRACE) + 1):
            self.node.clock.advance(1)
            for link in (first, second):
                link.send(wire.Error("wtf", "a message of the trade"))
        sent(first), sent(second)
        self.inUse()
        self.assertTrue(self.node.roomFor(DIRECT))
        self.assertEqual(sorted([refused(first), refused(second)]), [False, True])

    def test_aPeerInDoubtGivesWay(self):
        """The buyer's own link to a seller whose buy is in doubt (useless,
        an ask still out: not spare) gives way, as it did to the dial
        before the buyer asked for room first (2 links, 2 slots: none)."""
        first, second = self.dial(7), self.dial(8)
        self.node.useless(8)
        self.inUse()
        self.assertTrue(self.node.roomFor(DIRECT))
        self.assertEqual((sent(first), sent(second)), ([], [wire.Dc()]))

    def test_aSpareLinkAndAUselessOneMakeTwoSlots(self):
        """Two slots wanted (a dial in its handshake besides): one spare
        link retired and one link of a peer in doubt, never the same link
        counted twice."""
        self.node = makeNode(1, direct_slots=3)
        first, second = self.dial(7), self.dial(8)
        linkAt(self.node, "10.0.9.1", 5009, 9, DIRECT)
        linkAt(self.node, "10.0.10.1", 5010, 10, DIRECT)
        self.node.useless(7)
        self.patch(self.node, "spares", lambda peer_id, purpose: peer_id == 7)
        self.assertFalse(self.node.roomFor(DIRECT))
        self.assertEqual((sent(first), sent(second)), ([], []))
        self.node.useless(8)
        self.assertTrue(self.node.roomFor(DIRECT))
        self.assertEqual((sent(first), sent(second)), ([wire.Dc()], [wire.Dc()]))
