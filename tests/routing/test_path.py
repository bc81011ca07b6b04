"""
Tests of L{twisted_bazaar.routing.path}: path-routed messages relayed,
delivered or refused, and the path table, seen from node 1 whose peers are
StringTransports.
"""

import attr

from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.wire import trade
from twisted_bazaar.net.overlay import Overlay
from twisted_bazaar.routing.flood import FloodRouter
from twisted_bazaar.routing.path import LEARNED_LIMIT, NO_LINK_GROUP
from twisted_bazaar.wire.ids import KEYED, shortId
from twisted_bazaar.schemes.flood import messages as floodmsg

from tests.helpers import Recorder, closeLink, codes, feed, linkPeer, makeNode, sent


class RoutingTests(SynchronousTestCase):
    def setUp(self):
        self.node = makeNode(1)
        self.recorder = Recorder()
        self.node.addObserver(self.recorder)
        self.links = {peer: linkPeer(self.node, peer) for peer in (2, 3)}
        self.recorder.events.clear()

    def sentBy(self):
        return {peer: sent(link) for peer, link in self.links.items()}

    def forgedFrom2(self, messages, error_path):
        """Feed messages from peer 2, then a routed error with error_path;
        the codes each peer was sent back."""
        for message in messages:
            feed(self.links[2], message)
        feed(self.links[2], wire.Error("soldout", "none", 5, error_path))
        return {peer: codes(m) for peer, m in self.sentBy().items()}

    def test_forwardToNextHop(self):
        """A path-routed message with this node in the middle goes on,
        unchanged, to the next id on the path."""
        messages = [
            trade.Buy(5, "apple", (2, 1, 3)),
            trade.BuyOK(5, "apple", (2, 1, 3)),
            floodmsg.Reply(6, "apple", (2, 1, 3), 2, "10.0.0.2", 5002),
        ]
        for message in messages:
            feed(self.links[2], message)
        self.assertEqual(self.sentBy(), {2: [], 3: messages})
        self.assertEqual(self.recorder.events, [])

    def test_relayedWithTheTablesOwnLookup(self):
        """The overlay hands a message it relays to the path router with its
        table's own lookup, so the next hop costs no call of Python's: the
        overlay's C{linkTo} there was 1.1 % more instructions a relayed
        message (the eighteenth round's callcount relay, 44,724 -> 45,222)."""
        asked = []
        linkTo = Overlay.linkTo
        self.patch(Overlay, "linkTo", lambda overlay, peer: asked.append(peer)
                   or linkTo(overlay, peer))
        buy = trade.Buy(5, "apple", (2, 1, 3))
        feed(self.links[2], buy)
        self.assertEqual((self.sentBy(), asked), ({2: [], 3: [buy]}, []))

    def test_deliveredAtEnd(self):
        """The last node on the path hands the message to its roles."""
        buy = trade.Buy(5, "apple", (3, 2, 1))
        feed(self.links[2], buy)
        self.assertEqual(self.recorder.events, [("delivered", buy)])
        self.assertEqual(self.sentBy(), {2: [], 3: []})

    def test_wrongway(self):
        """A node not on the path answers wrongway on the link it came from."""
        feed(self.links[2], trade.Buy(5, "apple", (2, 3)))
        self.assertEqual({peer: codes(m) for peer, m in self.sentBy().items()},
                         {2: ["wrongway"], 3: []})
        self.assertFalse(self.links[2].transport.disconnecting)

    def test_onlyFromThePreviousHop(self):
        """
        A routed message must come from the node before this one on its
        path: one slipped in by another neighbour (a forged offer, a buy
        in someone else's name) is neither delivered nor relayed, and is
        answered wrongway; a forged routed error is dropped unanswered.
        """
        forged = [floodmsg.Reply(6, "apple", (3, 1), 3, "10.0.0.3", 5003),
                  trade.Buy(5, "apple", (3, 1)),
                  trade.Buy(5, "apple", (9, 3, 1, 2))]
        self.assertEqual(self.forgedFrom2(forged, (3, 1)),
                         {2: ["wrongway"] * 3, 3: []})
        self.assertEqual(self.recorder.events, [])

    def test_notInThisNodesName(self):
        """
        A routed message whose path starts with this node is this node's
        own: one that comes in from a peer is in this node's name, so it is
        answered wrongway, neither relayed (the next hop would take it as
        this node's, unsigned, over this node's proven link) nor delivered
        (a path of this node alone); such an error is dropped unanswered.
        """
        forged = [trade.BuyOK(5, "apple", (1, 3)), trade.Buy(5, "apple", (1, 3)),
                  trade.Ask(5, "apple", (1, 3)), trade.Buy(5, "apple", (1,))]
        self.assertEqual(self.forgedFrom2(forged, (1, 3)),
                         {2: ["wrongway"] * 4, 3: []})
        self.assertEqual(self.recorder.events, [])
        self.assertFalse(self.links[2].transport.disconnecting)

    def test_errorNotOnPathUnanswered(self):
        """An error is never answered, not even a misrouted one."""
        feed(self.links[2], wire.Error("soldout", "none", 5, (2, 3)))
        feed(self.links[2], wire.Error("wrongway", "not me"))
        self.assertEqual(self.sentBy(), {2: [], 3: []})
        self.assertEqual(self.recorder.events, [])

    def test_errorWithPathRouted(self):
        """A soldout carries a path, and is routed like a buyOK."""
        soldout = wire.Error("soldout", "no apple left", 5, (3, 1, 2))
        feed(self.links[3], soldout)
        self.assertEqual(self.sentBy(), {2: [soldout], 3: []})
        feed(self.links[3], wire.Error("soldout", "no apple left", 6, (3, 1)))
        self.assertEqual(self.recorder.events, [
            ("delivered", wire.Error("soldout", "no apple left", 6, (3, 1)))])

    def test_noLinkToNextHop(self):
        """With no link to the next hop, the message is dropped quietly."""
        feed(self.links[2], trade.Buy(5, "apple", (2, 1, 9, 3)))
        self.assertEqual(self.sentBy(), {2: [], 3: []})
        self.assertEqual(self.recorder.events, [])

    def test_route(self):
        """node.route sends a message from this node to the next hop, and
        says whether it could."""
        ok = trade.BuyOK(5, "apple", (1, 3, 8))
        self.assertTrue(self.node.route(ok))
        self.assertFalse(self.node.route(trade.BuyOK(5, "apple", (1, 9))))
        self.assertEqual(self.sentBy(), {2: [], 3: [ok]})

    def test_routePayload(self):
        """A message routed with its payload built already (a batch-signed
        buyOK) leaves as that payload, not encoded again."""
        ok = trade.BuyOK(5, "apple", (1, 3, 8))
        signed = attr.evolve(ok, count=2)
        self.assertTrue(self.node.route(ok, payload=wire.encode(signed)))
        self.assertEqual(self.sentBy(), {2: [], 3: [signed]})


class NoLinkLineTests(SynchronousTestCase):
    """
    A peer that sends buys and closes its link before their answers leave
    made the node log "cannot send ... no link" once an answer, outside
    the peer log (live: 0.29 bytes of log per byte sent, link after
    link).  These lines now go through the node's peer log, all charged
    to one group: a few each 10 s, then one line that sums up the rest.
    """

    def test_answersWithNoLinkAreBounded(self):
        node = makeNode(1)
        with capturedLogs() as events:
            for n in range(600):
                self.assertFalse(node.paths.route(wire.Error("soldout", "none", n + 1,
                                                             (1, 7))))
            node.clock.advance(10)
        lines = [formatEvent(event) for event in events]
        said = [line for line in lines if line.startswith("cannot send error to node 7")]
        self.assertEqual(len(said), 5)
        self.assertEqual([line for line in lines if "more lines like" in line],
                         ["595 more lines like 'cannot send {type} to node {next}: no "
                          f"link' from {NO_LINK_GROUP} in the last 10 s, not logged"])

    def test_aKeyedIdAsPeopleReadIt(self):
        """A keyed next hop is named by the short hex of its wire id, as
        every other log line names a node, not by its 39-digit integer."""
        node, hop = makeNode(1), KEYED + 0xABCDEF
        with capturedLogs() as events:
            node.paths.route(wire.Error("soldout", "none", 1, (1, hop)))
        [line] = [formatEvent(event) for event in events]
        self.assertEqual(line, f"cannot send error to node {shortId(hop)}: no link")
        self.assertNotIn(str(hop), line)


class PathTableTests(SynchronousTestCase):
    """The path table (node.paths.table): what the router learns from the
    links, the searches flooded through and the routed messages relayed."""

    def setUp(self):
        self.node = makeNode(1)
        FloodRouter(self.node, floodmsg.Search, lambda search: None)
        self.links = {peer: linkPeer(self.node, peer) for peer in (2, 3)}

    def test_directLinks(self):
        """Every linked peer is one hop away."""
        self.assertEqual(dict(self.node.paths.table), {2: (1, 2), 3: (1, 3)})

    def test_neighbourKeptWithoutATuple(self):
        """A neighbour's path is kept as a mark, not a tuple of its own
        (every link of a simulation has one), and reads back as the path;
        a longer path through it is forgotten with it."""
        from twisted_bazaar.routing.path import _NEIGHBOUR
        feed(self.links[2], floodmsg.Search(100, "apple", (7, 8, 2), 5))
        self.assertIs(self.node.paths._table[2], _NEIGHBOUR)
        self.assertEqual((self.node.pathTo(2), self.node.pathTo(8)), ((1, 2), (1, 2, 8)))
        self.node.paths.forgetVia(2)
        self.assertEqual(dict(self.node.paths.table), {3: (1, 3)})

    def test_learnFromReturnPath(self):
        """A search teaches the way back to everyone on its returnPath."""
        feed(self.links[2], floodmsg.Search(100, "apple", (7, 8, 2), 5))
        self.assertEqual(self.node.pathTo(8), (1, 2, 8))
        self.assertEqual(self.node.pathTo(7), (1, 2, 8, 7))

    def test_learnFromPath(self):
        """A routed message teaches the way to both ends of its path."""
        feed(self.links[2], trade.Buy(5, "apple", (6, 2, 1, 3, 4)))
        self.assertEqual(self.node.pathTo(6), (1, 2, 6))
        self.assertEqual(self.node.pathTo(4), (1, 3, 4))
        self.assertIsNone(self.node.pathTo(5))

    def test_shortestWins(self):
        """A shorter path replaces a longer one; a longer one is ignored."""
        feed(self.links[2], floodmsg.Search(100, "apple", (7, 8, 2), 5))
        feed(self.links[3], floodmsg.Search(101, "apple", (7, 3), 5))
        self.assertEqual(self.node.pathTo(7), (1, 3, 7))
        feed(self.links[2], floodmsg.Search(102, "apple", (7, 9, 6, 2), 5))
        self.assertEqual(self.node.pathTo(7), (1, 3, 7))
        self.assertEqual(self.node.pathTo(8), (1, 2, 8))

    def test_forgetFirstHop(self):
        """When a link closes, every path through it is forgotten."""
        feed(self.links[2], floodmsg.Search(100, "apple", (7, 8, 2), 5))
        feed(self.links[3], floodmsg.Search(101, "apple", (9, 3), 5))
        closeLink(self.links[2])
        self.assertEqual(dict(self.node.paths.table), {3: (1, 3), 9: (1, 3, 9)})

    def test_forgetFollowsTheShorterPath(self):
        """A path replaced by a shorter one through another neighbour is
        forgotten with that neighbour, not with the first one."""
        paths = self.node.paths
        paths.learn((1, 2, 8, 7))
        paths.learn((1, 3, 7))
        paths.forgetVia(3)
        self.assertEqual(dict(paths.table), {2: (1, 2), 8: (1, 2, 8)})
        paths.learn((1, 2, 7))
        paths.forgetVia(2)
        self.assertEqual(dict(paths.table), {})

    def test_forgetAfterEviction(self):
        """Paths the full table evicted are not looked for when their
        first hop's link closes; what is still known through it goes."""
        node = makeNode(1, path_limit=3)
        for peer in (2, 3):
            linkPeer(node, peer)
        node.paths.learn((1, 2, 8, 7))
        self.assertEqual(dict(node.paths.table), {3: (1, 3), 8: (1, 2, 8), 7: (1, 2, 8, 7)})
        node.paths.learn((1, 3, 9))
        node.paths.forgetVia(2)
        self.assertEqual(dict(node.paths.table), {9: (1, 3, 9)})
        node.paths.forgetVia(3)
        self.assertEqual(dict(node.paths.table), {})

    def test_pathLimit(self):
        """The table is bounded; the least recently learned goes."""
        node = makeNode(1, path_limit=2)
        FloodRouter(node, floodmsg.Search, lambda search: None)
        link = linkPeer(node, 2)
        feed(link, floodmsg.Search(100, "apple", (7, 8, 2), 5))
        self.assertEqual(dict(node.paths.table), {8: (1, 2, 8), 7: (1, 2, 8, 7)})

    def test_samePathLearnedAgainOnceForgotten(self):
        """Messages along one path are learned from once while the table
        keeps what they taught; once an entry is dropped (forgetVia,
        clear), the next one teaches it again."""
        buy = trade.Buy(5, "apple", (6, 2, 1, 3, 4))
        other = trade.Buy(6, "apple", (7, 2, 1, 3, 5))
        paths = self.node.paths
        feed(self.links[2], buy)
        feed(self.links[2], other)
        paths.forgetVia(3)
        self.assertIsNone(paths.pathTo(4))
        self.assertIsNone(paths.pathTo(5))
        feed(self.links[2], buy)
        feed(self.links[2], other)
        self.assertEqual(paths.pathTo(4), (1, 3, 4))
        self.assertEqual(paths.pathTo(5), (1, 3, 5))
        paths.clear()
        feed(self.links[2], buy)
        self.assertEqual(paths.pathTo(6), (1, 2, 6))
        self.assertEqual(paths.pathTo(4), (1, 3, 4))

    def test_buysHandedOnAreNotRated(self):
        """A node hands on every buy that passes through it: the seller it
        is for counts it against the link it came on (roles/seller), a
        node between them does not (relaying a message cost a tenth more
        when each counted its buys)."""
        buys = [trade.Buy(n, "apple", (100, 2, 1, 3)) for n in range(1000)]
        feed(self.links[2], *buys)
        self.assertEqual([m.id for m in sent(self.links[3]) if isinstance(m, trade.Buy)],
                         list(range(1000)))

    def test_learnedPathsBounded(self):
        """The memory of learned paths starts over once it holds
        LEARNED_LIMIT of them (taught by buyOKs: a link takes 400 buys
        at once)."""
        for n in range(LEARNED_LIMIT + 5):
            feed(self.links[2], trade.BuyOK(n, "apple", (100 + n, 2, 1)))
        self.assertEqual(len(self.node.paths._learned), 5)
        self.assertEqual(self.node.pathTo(100), (1, 2, 100))

    def test_samePathLearnedAgainAfterEviction(self):
        """A full table that evicted what a path taught learns it again
        from the next message along that path."""
        node = makeNode(1, path_limit=4)
        links = {peer: linkPeer(node, peer) for peer in (2, 3)}
        buy = trade.Buy(5, "apple", (6, 2, 1, 3, 4))
        feed(links[2], buy)
        node.paths.learn((1, 2, 8, 7, 5, 9))
        self.assertIsNone(node.pathTo(6))
        self.assertIsNone(node.pathTo(4))
        feed(links[2], buy)
        self.assertEqual(node.pathTo(6), (1, 2, 6))
        self.assertEqual(node.pathTo(4), (1, 3, 4))

    def test_learnDirectly(self):
        """learn records a path and its prefixes, keeping the shorter."""
        paths = self.node.paths
        paths.learn((1, 2, 8, 7))
        self.assertEqual(paths.pathTo(7), (1, 2, 8, 7))
        self.assertEqual(paths.pathTo(8), (1, 2, 8))
        paths.learn((1, 3, 7))
        self.assertEqual(paths.pathTo(7), (1, 3, 7))
        paths.learn((1, 2, 9, 6, 7))
        self.assertEqual(paths.pathTo(7), (1, 3, 7))

    def test_prefixesShareThePath(self):
        """The peers on a learned path keep that path, not a prefix each
        (15 kB of each flooding node of a simulation), and read back their
        own part of it."""
        paths = self.node.paths
        learned = (1, 2, 8, 7, 6)
        paths.learn(learned)
        for peer in (8, 7, 6):
            self.assertIs(paths._table[peer], learned)
        self.assertEqual([paths.pathTo(peer) for peer in (2, 8, 7, 6)],
                         [(1, 2), (1, 2, 8), (1, 2, 8, 7), learned])
        paths.learn((1, 3, 7))
        self.assertEqual((paths.pathTo(7), paths.pathTo(6)), ((1, 3, 7), learned))
        paths.forgetVia(2)
        self.assertEqual(dict(paths.table), {3: (1, 3), 7: (1, 3, 7)})

    def test_aPathThatPassesAPeerTwice(self):
        """A path that passes a peer (or this node) twice teaches the way
        to its first place, and to each peer after, as a prefix would."""
        paths = self.node.paths
        paths.learn((1, 2, 8, 7, 8, 1, 9))
        self.assertEqual(dict(paths.table), {
            2: (1, 2), 3: (1, 3), 8: (1, 2, 8), 7: (1, 2, 8, 7),
            1: (1, 2, 8, 7, 8, 1), 9: (1, 2, 8, 7, 8, 1, 9)})
        paths.learn((1, 3, 5, 9, 5))
        self.assertEqual((paths.pathTo(5), paths.pathTo(9)), ((1, 3, 5), (1, 3, 5, 9)))

    def test_forgetVia(self):
        """forgetVia drops every path whose first hop is that neighbour."""
        paths = self.node.paths
        paths.learn((1, 2, 8, 7))
        paths.learn((1, 3, 9))
        paths.forgetVia(2)
        self.assertEqual(dict(paths.table), {3: (1, 3), 9: (1, 3, 9)})

    def test_clear(self):
        """clear empties the table (the node's id changed)."""
        self.node.paths.learn((1, 2, 8))
        self.node.paths.clear()
        self.assertEqual(dict(self.node.paths.table), {})
        self.assertIsNone(self.node.pathTo(2))
