"""
Tests of L{twisted_bazaar.routing.flood}: the L{FloodRouter} a scheme uses
to flood one message type (dedup by id, the hop limit, the link filter,
the return-path check), and the router as the flood scheme drives it.
Node 1 is under test; its peers are StringTransports.
"""

import random

from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.daemon.build import plugScheme
from twisted_bazaar import wire
from twisted_bazaar.core.node import Node, NodeConfig
from twisted_bazaar.metrics.traffic import Traffic
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.net.overlay import DIRECT, OVERLAY, Overlay
from twisted_bazaar.routing.flood import FloodRouter
from twisted_bazaar.schemes.flood import messages as floodmsg
from twisted_bazaar.schemes.flood.discovery import FloodDiscovery, overlayLinks
from twisted_bazaar.schemes.superpeer import messages as spmsg
from twisted_bazaar.schemes.superpeer.query import superLinks

from tests.helpers import (
    NODE_HOST,
    NODE_PORT,
    codes,
    FakeConnector,
    feed,
    linkPeer,
    makeNode,
    openLink,
    sent,
)

WINDOW = 1.0


class FloodTests(SynchronousTestCase):
    """A FloodRouter for searches on node 1, linked to 2, 3 and 4."""

    def setUp(self):
        self.node = makeNode(1)
        self.arrived = []
        self.router = FloodRouter(self.node, floodmsg.Search, self.arrived.append)
        self.links = {peer: linkPeer(self.node, peer) for peer in (2, 3, 4)}

    def sentBy(self):
        """peer -> messages written to it since the last call."""
        return {peer: sent(link) for peer, link in self.links.items()}

    def test_forwardToOthers(self):
        """A search goes on to every other link, with this node appended to
        returnPath and one hop less, and is handed to whoever floods it."""
        feed(self.links[2], floodmsg.Search(100, "apple", (2,), 5))
        onward = floodmsg.Search(100, "apple", (2, 1), 4)
        self.assertEqual(self.sentBy(), {2: [], 3: [onward], 4: [onward]})
        self.assertEqual(self.arrived, [onward])

    def test_skipPeersOnReturnPath(self):
        """Peers the search already went through do not get it back."""
        feed(self.links[2], floodmsg.Search(100, "apple", (9, 3, 2), 5))
        self.assertEqual(self.sentBy(), {
            2: [], 3: [], 4: [floodmsg.Search(100, "apple", (9, 3, 2, 1), 4)]})

    def test_searchIdForwardedOnce(self):
        """A search id seen before is dropped, whatever link brings it."""
        feed(self.links[2], floodmsg.Search(100, "apple", (2,), 5))
        self.sentBy()
        feed(self.links[3], floodmsg.Search(100, "apple", (3,), 5))
        feed(self.links[2], floodmsg.Search(100, "pear", (2,), 5))
        self.assertEqual(self.sentBy(), {2: [], 3: [], 4: []})
        self.assertEqual(len(self.arrived), 1)
        self.assertEqual(dict(self.router.seen), {100: 2})

    def test_ownSearchNotForwarded(self):
        """A search that already went through this node is a loop."""
        feed(self.links[2], floodmsg.Search(100, "apple", (1, 2), 5))
        self.assertEqual(self.sentBy(), {2: [], 3: [], 4: []})
        self.assertEqual(self.arrived, [])

    def test_seenIdsEvictedOldestFirst(self):
        """Seen-id memory is bounded: the oldest id is forgotten first, and
        forwarded again if it comes back."""
        node = makeNode(1)
        FloodRouter(node, floodmsg.Search, lambda search: None, seen_limit=2)
        source, other = linkPeer(node, 2), linkPeer(node, 3)
        for search_id in (10, 11, 12):
            feed(source, floodmsg.Search(search_id, "apple", (2,), 5))
        self.assertEqual([m.id for m in sent(other)], [10, 11, 12])
        for search_id in (12, 11, 10):
            feed(source, floodmsg.Search(search_id, "apple", (2,), 5))
        self.assertEqual(sent(other), [floodmsg.Search(10, "apple", (2, 1), 4)])

    def test_seenIdsInAPlainDict(self):
        """The seen ids are a plain dict, oldest first, not an
        C{OrderedDict}, which took twice the room (8.4 kB of each flooding
        node of a simulation at the end of its run)."""
        node = makeNode(1)
        router = FloodRouter(node, floodmsg.Search, lambda search: None, seen_limit=2)
        source = linkPeer(node, 2)
        for search_id in (10, 11, 12):
            feed(source, floodmsg.Search(search_id, "apple", (2,), 5))
        self.assertIs(type(router.seen), dict)
        self.assertEqual(list(router.seen.items()), [(11, 2), (12, 2)])

    def test_ttlRunsOut(self):
        """A search arriving with ttl 1 stops here, though it arrives."""
        feed(self.links[2], floodmsg.Search(100, "apple", (2,), 1))
        self.assertEqual(self.sentBy(), {2: [], 3: [], 4: []})
        self.assertEqual(self.arrived[-1], floodmsg.Search(100, "apple", (2, 1), 0))
        feed(self.links[2], floodmsg.Search(101, "apple", (2,), 2))
        self.assertEqual(self.sentBy()[3], [floodmsg.Search(101, "apple", (2, 1), 1)])

    def test_start(self):
        """start floods a search this node originates to every link, says
        to how many, and does not forward it when it comes back."""
        search = floodmsg.Search(42, "apple", (1,), 5)
        self.assertEqual(self.router.start(search), 3)
        self.assertEqual(self.sentBy(), {2: [search], 3: [search], 4: [search]})
        feed(self.links[2], floodmsg.Search(42, "apple", (9, 2), 4))
        self.assertEqual(self.sentBy(), {2: [], 3: [], 4: []})
        self.assertEqual(self.arrived, [])

    def test_returnPathMustEndWithTheSender(self):
        """
        A search whose returnPath does not end with the peer that sent it
        is refused: dropped (and logged) without an answer, like a flood
        seen before.  It is not forwarded, does not arrive, and teaches the
        path table nothing (answers along that path would go astray).  Its
        id is not taken either: the genuine search with that id still
        floods.  (The old node learned and forwarded it.)
        """
        table = dict(self.node.paths.table)
        with capturedLogs() as events:
            feed(self.links[2], floodmsg.Search(100, "apple", (7, 9), 5))
        self.assertEqual(self.sentBy(), {2: [], 3: [], 4: []})
        self.assertFalse(self.links[2].transport.disconnecting)
        self.assertEqual(self.arrived, [])
        self.assertEqual(dict(self.node.paths.table), table)
        self.assertIsNone(self.node.pathTo(9))
        self.assertIsNone(self.node.pathTo(7))
        self.assertNotIn(100, self.router.seen)
        self.assertIn("dropping search from node 2 at 10.0.0.99:50000: its return "
                      "path does not end with the node that sent it",
                      [formatEvent(event) for event in events])
        feed(self.links[2], floodmsg.Search(100, "apple", (7, 2), 5))
        self.assertEqual(self.sentBy()[3], [floodmsg.Search(100, "apple", (7, 2, 1), 4)])
        self.assertEqual(self.node.pathTo(7), (1, 2, 7))

    def test_handlesItsType(self):
        """The router takes its message type from the node: a second
        router for the same type is refused."""
        self.assertRaises(ValueError, FloodRouter, self.node, floodmsg.Search,
                          self.arrived.append)


class LinkFilterTests(SynchronousTestCase):
    """A flood travels only on the links the filter allows."""

    def setUp(self):
        self.node = makeNode(1)
        self.arrived = []
        self.router = FloodRouter(self.node, floodmsg.Search, self.arrived.append,
                                  lambda link: link.peer_id != 4)
        self.links = {peer: linkPeer(self.node, peer) for peer in (2, 3, 4)}

    def test_notForwardedOnExcludedLinks(self):
        feed(self.links[2], floodmsg.Search(100, "apple", (2,), 5))
        self.assertEqual(sent(self.links[3]), [floodmsg.Search(100, "apple", (2, 1), 4)])
        self.assertEqual(sent(self.links[4]), [])

    def test_notStartedOnExcludedLinks(self):
        search = floodmsg.Search(42, "apple", (1,), 5)
        self.assertEqual(self.router.start(search), 2)
        self.assertEqual([sent(self.links[peer]) for peer in (2, 3, 4)],
                         [[search], [search], []])

    def test_refusedFromExcludedLinks(self):
        """A flood from a link the filter excludes is answered wtf and
        goes nowhere."""
        feed(self.links[4], floodmsg.Search(100, "apple", (4,), 5))
        self.assertEqual(codes(sent(self.links[4])), ["wtf"])
        self.assertEqual(sent(self.links[2]) + sent(self.links[3]), [])
        self.assertEqual(self.arrived, [])
        self.assertIsNone(self.node.pathTo(100))
        self.assertNotIn(100, self.router.seen)


class FloodDiscoveryRoutingTests(SynchronousTestCase):
    """The flood scheme's searches, as its router floods them (what
    node.search used to do)."""

    def test_findFloodsWithTheSchemeTtl(self):
        """A find floods a new search from this node with the scheme's ttl,
        and does not forward it when it comes back."""
        node = makeNode(1)
        plugScheme(node, FloodDiscovery(node, ttl=5))
        links = [linkPeer(node, 2), linkPeer(node, 3)]
        node.discovery.find("apple", WINDOW)
        [[search], [again]] = [sent(link) for link in links]
        self.assertEqual(search, floodmsg.Search(search.id, "apple", (1,), 5))
        self.assertEqual(again, search)
        feed(links[0], floodmsg.Search(search.id, "apple", (9, 2), 4))
        self.assertEqual([sent(link) for link in links], [[], []])

    def test_searchIdsDiffer(self):
        """Each find gets a fresh search id; the default ttl is the wire's."""
        node = makeNode(1)
        plugScheme(node, FloodDiscovery(node))
        link = linkPeer(node, 2)
        node.discovery.find("apple", WINDOW)
        node.discovery.find("apple", WINDOW)
        first, second = sent(link)
        self.assertNotEqual(first.id, second.id)
        self.assertEqual([first.ttl, second.ttl], [wire.DEFAULT_TTL] * 2)

    def test_noFloodOnDirectLinks(self):
        """
        Searches travel on overlay links only: one that arrives is not
        forwarded on a direct link, a find does not go out on one, and a
        search that comes in on a direct link is refused with wtf and
        teaches nothing.  (The old node flooded every link.)
        """
        node = makeNode(1)
        plugScheme(node, FloodDiscovery(node))
        overlay = {peer: linkPeer(node, peer) for peer in (2, 3)}
        direct = linkPeer(node, 9, purpose=DIRECT)
        feed(overlay[2], floodmsg.Search(100, "apple", (2,), 5))
        self.assertEqual(sent(overlay[3]), [floodmsg.Search(100, "apple", (2, 1), 4)])
        self.assertEqual(sent(direct), [])

        node.discovery.find("apple", WINDOW)
        [search] = sent(overlay[2])
        self.assertEqual(sent(overlay[3]), [search])
        self.assertEqual(sent(direct), [])

        feed(direct, floodmsg.Search(101, "apple", (8, 9), 5))
        self.assertEqual(codes(sent(direct)), ["wtf"])
        self.assertEqual(sent(overlay[2]) + sent(overlay[3]), [])
        self.assertIsNone(node.pathTo(8))

    def test_cannotFindOverDirectLinksOnly(self):
        """A node whose only link is direct has nowhere to flood."""
        node = makeNode(1)
        plugScheme(node, FloodDiscovery(node))
        direct = linkPeer(node, 9, purpose=DIRECT)
        self.assertFalse(node.discovery.canFind())
        found = []
        node.discovery.find("apple", WINDOW).addCallback(found.append)
        self.assertEqual(found, [[]])
        self.assertEqual(sent(direct), [])


class FairForwardingTests(SynchronousTestCase):
    """
    What a relay forwards is shared fairly among the address groups its
    searches come from: fifteen links of one group, each sending searches
    at its own rate limit, do not crowd an honest node's searches out of
    what the relay's next hop takes from it.  Node 1 relays: the attacker's
    links come from 127.9.0.1, the honest buyer's (node 2) from 10.1.0.5,
    and what node 1 forwards goes, on one clock, into a real link of its
    next hop (node 3), whose per-link rate limit (200 a second) drops the
    excess.
    """

    ATTACKERS = 15
    STEP = 0.005
    SECONDS = 5.0

    def setUp(self):
        self.relay = makeNode(1, max_connections=32, handshake_limit=32)
        self.clock = self.relay.clock
        self.router = FloodRouter(self.relay, floodmsg.Search, lambda search: None)
        self.next = Node(self.clock, random.Random(1), FakeConnector(),
                         NodeConfig(link=LinkSettings(ping_interval=0)))
        self.next.setAddress("10.2.0.3", 4003)
        self.next.setId(3)
        self.reached = []
        FloodRouter(self.next, floodmsg.Search, self.reached.append)
        self.attackers = [self.inbound(100 + n, "127.9.0.1", 40000 + n)
                          for n in range(self.ATTACKERS)]
        self.honest = self.inbound(2, "10.1.0.5", 40000)
        self.out = openLink(self.relay, inbound=False, host="10.2.0.3", port=4003)
        feed(self.out, wire.ThisIsMe(3, 4003, "10.2.0.3"))
        self.out.transport.clear()
        self.into = openLink(self.next, host=NODE_HOST, port=NODE_PORT)
        feed(self.into, wire.ThisIsMe(1, NODE_PORT, NODE_HOST))
        self.into.transport.clear()

    def inbound(self, peer_id, host, port):
        link = openLink(self.relay, host=host, port=port)
        feed(link, wire.ThisIsMe(peer_id, port, host))
        link.transport.clear()
        return link

    def pump(self):
        """Hand what the relay sent its next hop to the next hop's link."""
        data = self.out.transport.value()
        self.out.transport.clear()
        if data:
            self.into.dataReceived(data)

    def honestReached(self, budget=True):
        """
        Run the attack: each attacker link sends a search every 5 ms (its
        limit, 200 a second), the honest buyer one every 100 ms, for 5 s.
        The share of the honest searches that reached the next hop.
        """
        if not budget:
            self.router.budget.ask = lambda group, origin, now: True
        sent = []
        next_id = iter(range(1, 10**9))
        steps = round(self.SECONDS / self.STEP)
        for step in range(steps):
            for link in self.attackers:
                feed(link, floodmsg.Search(next(next_id), "apple",
                                           (link.peer_id,), 5))
            if step % 20 == 0:
                search_id = next(next_id)
                sent.append(search_id)
                feed(self.honest, floodmsg.Search(search_id, "apple", (2,), 5))
            self.pump()
            self.clock.advance(self.STEP)
        honest = {search.id for search in self.reached if search.return_path[0] == 2}
        return len(honest & set(sent)) / len(sent)

    def test_honestSearchesGetThrough(self):
        """
        At least 90 % of the honest searches reach the next hop (all of
        them, in fact: in the first second, before the attacker's demand
        is known, the eighth of the budget no group may take holds them),
        and the relay refused the attacker's excess itself, counted in its
        budget (and the metrics).
        """
        traffic = self.relay.config.link.traffic = Traffic()
        self.assertGreaterEqual(self.honestReached(), 0.9)
        self.assertGreater(self.router.budget.refused, 0)
        self.assertEqual(traffic.dropped[("share", "search")],
                         self.router.budget.refused)

    def test_withoutTheBudgetTheyDoNot(self):
        """The same attack without the relay's budget: the next hop's rate
        limit drops most of the honest searches with the attacker's."""
        self.assertLess(self.honestReached(budget=False), 0.5)

    def test_ownSearchesCountInTheBudget(self):
        """A node's own searches are never refused, but they spend its
        forwarding budget: past it, what others send is not passed on."""
        node = makeNode(1)
        router = FloodRouter(node, floodmsg.Search, lambda search: None, rate=4)
        source, other = linkPeer(node, 2), linkPeer(node, 3)
        for search_id in range(1, 6):
            self.assertEqual(router.start(floodmsg.Search(search_id, "apple", (1,), 5)), 2)
        feed(source, floodmsg.Search(100, "apple", (2,), 5))
        self.assertEqual([m.id for m in sent(other)], [1, 2, 3, 4, 5])
        self.assertEqual(router.budget.refused, 1)
        node.clock.advance(1)
        feed(source, floodmsg.Search(101, "apple", (2,), 5))
        self.assertEqual(sent(other), [floodmsg.Search(101, "apple", (2, 1), 4)])


class PurposeFilterTests(SynchronousTestCase):
    """
    The schemes' routers flood the links of one purpose: they are handed
    those links alone (the node's L{linksOf}), never every link to test,
    so a node's other links are not handed out (issue 95: a quiet link
    may be less than a link until a part takes it).  The super-peers'
    router walked every leaf link of a super-peer for each query it
    flooded (1.5 quiet leaf links a node of a warm 20,000-node run).
    """

    def flooded(self, purpose, message_type, linkFilter, message):
        """node 1 with links to 2 and 3 of purpose and to 9 of another,
        every link handed out failing the test: message flooded from the
        node, then one from 2; what each peer was sent."""
        node = makeNode(1)
        FloodRouter(node, message_type, lambda flooded: None, linkFilter)
        links = {peer: linkPeer(node, peer, inbound=False, purpose=purpose)
                 for peer in (2, 3)}
        links[9] = linkPeer(node, 9, inbound=False, purpose=DIRECT)
        self.patch(Overlay, "linkEnds", lambda overlay: self.fail("every link handed out"))
        feed(links[2], message)
        return {peer: sent(link) for peer, link in links.items()}

    def test_theSuperPeersQueries(self):
        query = spmsg.SpQuery(100, "apple", (2,), 5)
        self.assertEqual(self.flooded(spmsg.SUPER, spmsg.SpQuery, superLinks, query),
                         {2: [], 3: [spmsg.SpQuery(100, "apple", (2, 1), 4)], 9: []})

    def test_theFloodsSearches(self):
        search = floodmsg.Search(100, "apple", (2,), 5)
        self.assertEqual(self.flooded(OVERLAY, floodmsg.Search, overlayLinks, search),
                         {2: [], 3: [floodmsg.Search(100, "apple", (2, 1), 4)], 9: []})

    def test_notFromAnotherPurpose(self):
        """A flood from a link of another purpose is refused, as before."""
        node = makeNode(1)
        FloodRouter(node, floodmsg.Search, lambda flooded: None, overlayLinks)
        other = linkPeer(node, 9, purpose=DIRECT)
        feed(other, floodmsg.Search(100, "apple", (9,), 5))
        self.assertEqual(codes(sent(other)), ["wtf"])
