"""
Tests of L{twisted_bazaar.node}: the handshake, slots, flooding, path
routing, the path dictionary, shutdown and duplicate links, seen from
one node whose peers are StringTransports.
"""

from twisted.internet.error import ConnectionRefusedError
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.flood import messages as floodmsg
from twisted_bazaar.roles import trade
from twisted_bazaar import wire
from twisted_bazaar.node import NotConnected

from tests.helpers import (
    NODE_HOST,
    NODE_PORT,
    Recorder,
    closeLink,
    feed,
    linkPeer,
    makeNode,
    openLink,
    sent,
)

ME = wire.ThisIsMe(1, NODE_PORT, NODE_HOST)


def codes(messages):
    """The error codes of messages, or the type of those that are not errors."""
    return [m.code if type(m) is wire.Error else m.TYPE for m in messages]


class HandshakeTests(SynchronousTestCase):
    def setUp(self):
        self.node = makeNode(1)
        self.recorder = Recorder()
        self.node.addObserver(self.recorder)

    def test_inboundThisIsMeIsAnswered(self):
        """An inbound peer that introduces itself gets this node's thisisme
        and becomes an established link, with its address remembered."""
        link = openLink(self.node, inbound=True)
        self.assertEqual(sent(link), [])
        feed(link, wire.ThisIsMe(7, 5007, "10.0.0.7"))
        self.assertEqual(sent(link), [ME])
        self.assertEqual(self.node.links, {7: link})
        self.assertEqual(self.node.pending, set())
        self.assertEqual(self.node.addresses[7], ("10.0.0.7", 5007))
        self.assertEqual(self.node.pathTo(7), (1, 7))
        self.assertEqual(self.recorder.events, [("linkAdded", 7)])

    def test_addressFallsBackToTransportHost(self):
        """A peer that gives no host is reached at the address it came from."""
        link = openLink(self.node, host="192.0.2.5")
        feed(link, wire.ThisIsMe(7, 5007))
        self.assertEqual(self.node.addresses[7], ("192.0.2.5", 5007))

    def test_outboundSendsThisIsMeFirst(self):
        """On a link this node opened, it speaks first, and the link is
        established only once the peer answers."""
        link = openLink(self.node, inbound=False)
        self.assertEqual(sent(link), [ME])
        self.assertEqual(self.node.links, {})
        feed(link, wire.ThisIsMe(7, 5007))
        self.assertEqual(sent(link), [])
        self.assertEqual(self.node.links, {7: link})

    def test_peerWithoutIdGetsNotiy(self):
        """A peer still at id -1 has not registered: notiy, then close."""
        link = openLink(self.node)
        feed(link, wire.ThisIsMe(-1, 5007))
        self.assertEqual(codes(sent(link)), ["notiy"])
        self.assertTrue(link.transport.disconnecting)
        self.assertEqual(self.node.links, {})

    def test_nodeWithoutIdAnswersNotiy(self):
        """A node the tracker has not named yet refuses every inbound link
        at once."""
        node = makeNode(None)
        link = openLink(node)
        self.assertEqual(codes(sent(link)), ["notiy"])
        self.assertTrue(link.transport.disconnecting)
        self.assertEqual(node.pending, set())

    def test_ownIdGetsWtf(self):
        """A peer claiming this node's own id is refused with wtf."""
        link = openLink(self.node)
        feed(link, wire.ThisIsMe(1, 5007))
        self.assertEqual(codes(sent(link)), ["wtf"])
        self.assertTrue(link.transport.disconnecting)
        self.assertEqual(self.node.links, {})

    def test_messageBeforeThisIsMe(self):
        """Anything but thisisme first is answered with wtf and closed."""
        link = openLink(self.node)
        feed(link, floodmsg.Search(5, "apple", (7,), 3))
        self.assertEqual(codes(sent(link)), ["wtf"])
        self.assertTrue(link.transport.disconnecting)
        self.assertEqual(self.recorder.events, [])

    def test_silentLinkGetsNotim(self):
        """A new link that says nothing for the handshake timeout gets
        notim and is closed; once gone it no longer holds a slot."""
        link = openLink(self.node)
        self.node.clock.advance(9.9)
        self.assertEqual(sent(link), [])
        self.assertFalse(link.transport.disconnecting)
        self.node.clock.advance(0.1)
        self.assertEqual(codes(sent(link)), ["notim"])
        self.assertTrue(link.transport.disconnecting)
        closeLink(link)
        self.assertEqual(self.node.pending, set())

    def test_handshakeStopsTheNotimTimer(self):
        """A link that introduced itself in time is never told notim."""
        link = linkPeer(self.node, 7)
        self.node.clock.advance(60)
        self.assertEqual(sent(link), [])
        self.assertFalse(link.transport.disconnecting)

    def test_dcClosesTheLink(self):
        """dc from a peer closes its link; the node forgets the peer."""
        link = linkPeer(self.node, 7)
        feed(link, wire.Dc())
        self.assertEqual(sent(link), [])
        self.assertTrue(link.transport.disconnecting)
        closeLink(link)
        self.assertEqual(self.node.links, {})
        self.assertEqual(self.recorder.events, [("linkAdded", 7), ("linkRemoved", 7)])

    def test_secondThisIsMeWithOtherId(self):
        """A linked peer that claims another id is cut off."""
        link = linkPeer(self.node, 7)
        feed(link, wire.ThisIsMe(7, 5007))
        self.assertEqual(sent(link), [])
        feed(link, wire.ThisIsMe(8, 5007))
        self.assertEqual(codes(sent(link)), ["wtf"])
        self.assertTrue(link.transport.disconnecting)

    def test_trackerMessageIsWtf(self):
        """A tracker-only message on a node link is answered with wtf, but
        the link stays."""
        link = linkPeer(self.node, 7)
        feed(link, wire.NodeReq())
        self.assertEqual(codes(sent(link)), ["wtf"])
        self.assertFalse(link.transport.disconnecting)


class ConnectToTests(SynchronousTestCase):
    def setUp(self):
        self.node = makeNode(1)

    def test_connectFiresWithPeerId(self):
        """connectTo fires with the peer's id once the handshake is done."""
        d = self.node.connectTo("10.0.0.7", 5007)
        [(host, port, _, _)] = self.node.connector.requests
        self.assertEqual((host, port), ("10.0.0.7", 5007))
        link = self.node.connector.connectLast()
        self.assertNoResult(d)
        self.assertEqual(sent(link), [ME])
        feed(link, wire.ThisIsMe(7, 5007))
        self.assertEqual(self.successResultOf(d), 7)
        self.assertEqual(self.node.links, {7: link})

    def test_connectFailure(self):
        """A connection that cannot be made fails with NotConnected and
        frees its slot."""
        d = self.node.connectTo("10.0.0.7", 5007)
        self.node.connector.failLast(ConnectionRefusedError())
        self.failureResultOf(d, NotConnected)
        self.assertEqual(self.node.pending, set())

    def test_refusedHandshake(self):
        """A peer that closes before saying thisisme fails the connect."""
        d = self.node.connectTo("10.0.0.7", 5007)
        link = self.node.connector.connectLast()
        feed(link, wire.Error("noslots", "full"))
        closeLink(link)
        self.failureResultOf(d, NotConnected)
        self.assertEqual(self.node.pending, set())

    def test_alreadyLinked(self):
        """No second connection to a peer this node is linked to."""
        linkPeer(self.node, 7)
        self.assertEqual(self.successResultOf(self.node.connectTo("h", 1, 7)), 7)
        self.assertEqual(self.node.connector.requests, [])

    def test_noIdNoConnect(self):
        """An unregistered node cannot link: its peers would refuse it."""
        node = makeNode(None)
        self.failureResultOf(node.connectTo("10.0.0.7", 5007), NotConnected)
        self.assertEqual(node.connector.requests, [])


class SlotTests(SynchronousTestCase):
    def test_noslots(self):
        """With every slot taken, one more inbound link gets noslots and
        is closed; the others are untouched."""
        node = makeNode(1, max_connections=2)
        first, second = linkPeer(node, 7), linkPeer(node, 8)
        extra = openLink(node)
        self.assertEqual(codes(sent(extra)), ["noslots"])
        self.assertTrue(extra.transport.disconnecting)
        self.assertEqual(node.links, {7: first, 8: second})
        self.assertEqual(sent(first) + sent(second), [])

    def test_pendingLinksHoldSlots(self):
        """Links still in their handshake count against the limit."""
        node = makeNode(1, max_connections=2)
        openLink(node)
        openLink(node)
        self.assertEqual(codes(sent(openLink(node))), ["noslots"])
        self.failureResultOf(node.connectTo("10.0.0.7", 5007), NotConnected)

    def test_oneAddressCannotHoldEverySlotSilently(self):
        """
        Connections that have not said thisisme hold slots until their
        handshake times out: one address may hold at most handshake_limit
        of them.  Other addresses still get in, and a connection that
        finishes its handshake makes room for its address again.
        """
        node = makeNode(1, max_connections=8, handshake_limit=2)
        first, _ = openLink(node, host="10.0.0.5"), openLink(node, host="10.0.0.5")
        third = openLink(node, host="10.0.0.5")
        [refusal] = sent(third)
        self.assertEqual((refusal.code, refusal.info),
                         ("noslots", "2 connections from your address are still to "
                                     "say thisisme"))
        self.assertTrue(third.transport.disconnecting)
        other = openLink(node, host="10.0.0.6")
        self.assertEqual(sent(other), [])
        self.assertFalse(other.transport.disconnecting)
        feed(first, wire.ThisIsMe(7, 5007))
        self.assertEqual(list(node.links), [7])
        again = openLink(node, host="10.0.0.5")
        self.assertEqual(sent(again), [])
        self.assertFalse(again.transport.disconnecting)

    def test_closedLinkForgetsAddress(self):
        """A peer's address is kept while it is linked, not after: a node
        that sees many peers come and go does not grow without bound."""
        node = makeNode(1)
        link = linkPeer(node, 7, port=5007)
        self.assertEqual(node.addresses[7][1], 5007)
        closeLink(link)
        self.assertEqual(node.addresses, {})

    def test_closedLinkFreesSlot(self):
        """Once a link closes, its slot takes a new peer."""
        node = makeNode(1, max_connections=1)
        closeLink(linkPeer(node, 7))
        link = openLink(node)
        feed(link, wire.ThisIsMe(8, 5008))
        self.assertEqual(sent(link), [ME])
        self.assertEqual(list(node.links), [8])


class FloodTests(SynchronousTestCase):
    def setUp(self):
        self.node = makeNode(1)
        self.recorder = Recorder()
        self.node.addObserver(self.recorder)
        self.links = {peer: linkPeer(self.node, peer) for peer in (2, 3, 4)}

    def sentBy(self):
        """peer -> messages written to it since the last call."""
        return {peer: sent(link) for peer, link in self.links.items()}

    def test_forwardToOthers(self):
        """A search goes on to every other link, with this node appended to
        returnPath and one hop less, and is shown to the roles."""
        feed(self.links[2], floodmsg.Search(100, "apple", (2,), 5))
        onward = floodmsg.Search(100, "apple", (2, 1), 4)
        self.assertEqual(self.sentBy(), {2: [], 3: [onward], 4: [onward]})
        self.assertEqual(self.recorder.events[-1], ("searchReceived", onward))

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
        searches = [e for e in self.recorder.events if e[0] == "searchReceived"]
        self.assertEqual(len(searches), 1)

    def test_ownSearchNotForwarded(self):
        """A search that already went through this node is a loop."""
        feed(self.links[2], floodmsg.Search(100, "apple", (1, 2), 5))
        self.assertEqual(self.sentBy(), {2: [], 3: [], 4: []})

    def test_seenIdsEvictedOldestFirst(self):
        """Seen-id memory is bounded: the oldest id is forgotten first, and
        forwarded again if it comes back."""
        node = makeNode(1, seen_limit=2)
        source, other = linkPeer(node, 2), linkPeer(node, 3)
        for search_id in (10, 11, 12):
            feed(source, floodmsg.Search(search_id, "apple", (2,), 5))
        self.assertEqual([m.id for m in sent(other)], [10, 11, 12])
        for search_id in (12, 11, 10):
            feed(source, floodmsg.Search(search_id, "apple", (2,), 5))
        self.assertEqual(sent(other), [floodmsg.Search(10, "apple", (2, 1), 4)])

    def test_ttlRunsOut(self):
        """A search arriving with ttl 1 stops here, though roles see it."""
        feed(self.links[2], floodmsg.Search(100, "apple", (2,), 1))
        self.assertEqual(self.sentBy(), {2: [], 3: [], 4: []})
        self.assertEqual(self.recorder.events[-1],
                         ("searchReceived", floodmsg.Search(100, "apple", (2, 1), 0)))
        feed(self.links[2], floodmsg.Search(101, "apple", (2,), 2))
        self.assertEqual(self.sentBy()[3], [floodmsg.Search(101, "apple", (2, 1), 1)])

    def test_search(self):
        """node.search floods a new search from this node with the
        configured ttl, and does not forward it when it comes back."""
        node = makeNode(1, ttl=5)
        links = [linkPeer(node, 2), linkPeer(node, 3)]
        search_id = node.search("apple")
        expected = floodmsg.Search(search_id, "apple", (1,), 5)
        self.assertEqual([sent(link) for link in links], [[expected], [expected]])
        feed(links[0], floodmsg.Search(search_id, "apple", (9, 2), 4))
        self.assertEqual([sent(link) for link in links], [[], []])

    def test_searchIdsDiffer(self):
        """Each search gets a fresh id, and an explicit ttl is honoured."""
        first = self.node.search("apple", ttl=2)
        second = self.node.search("apple")
        self.assertNotEqual(first, second)
        self.assertEqual(self.sentBy()[2], [
            floodmsg.Search(first, "apple", (1,), 2),
            floodmsg.Search(second, "apple", (1,), wire.DEFAULT_TTL)])


class RoutingTests(SynchronousTestCase):
    def setUp(self):
        self.node = makeNode(1)
        self.recorder = Recorder()
        self.node.addObserver(self.recorder)
        self.links = {peer: linkPeer(self.node, peer) for peer in (2, 3)}
        self.recorder.events.clear()

    def sentBy(self):
        return {peer: sent(link) for peer, link in self.links.items()}

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


class PathDictTests(SynchronousTestCase):
    def setUp(self):
        self.node = makeNode(1)
        self.links = {peer: linkPeer(self.node, peer) for peer in (2, 3)}

    def test_directLinks(self):
        """Every linked peer is one hop away."""
        self.assertEqual(dict(self.node.path_dict), {2: (1, 2), 3: (1, 3)})

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
        self.assertEqual(dict(self.node.path_dict), {3: (1, 3), 9: (1, 3, 9)})

    def test_pathLimit(self):
        """The dictionary is bounded; the least recently learned goes."""
        node = makeNode(1, path_limit=2)
        link = linkPeer(node, 2)
        feed(link, floodmsg.Search(100, "apple", (7, 8, 2), 5))
        self.assertEqual(dict(node.path_dict), {8: (1, 2, 8), 7: (1, 2, 8, 7)})


class ShutdownTests(SynchronousTestCase):
    def test_dcOnEveryLink(self):
        """shutdown says dc on established and pending links and closes
        them; whenClosed fires once the last one is gone."""
        node = makeNode(1)
        recorder = Recorder()
        node.addObserver(recorder)
        links = [linkPeer(node, 2), linkPeer(node, 3), openLink(node)]
        node.shutdown()
        self.assertEqual([sent(link) for link in links], [[wire.Dc()]] * 3)
        self.assertTrue(all(link.transport.disconnecting for link in links))
        self.assertEqual(recorder.events[-1], ("nodeStopping",))
        closed = node.whenClosed()
        for link in links:
            self.assertNoResult(closed)
            closeLink(link)
        self.assertIsNone(self.successResultOf(closed))

    def test_noLinks(self):
        """A node with no links is closed at once."""
        node = makeNode(1)
        node.shutdown()
        self.assertIsNone(self.successResultOf(node.whenClosed()))

    def test_refuseWhileStopping(self):
        """A stopping node takes no new peers."""
        node = makeNode(1)
        node.shutdown()
        link = openLink(node)
        self.assertEqual(codes(sent(link)), ["noslots"])
        self.assertTrue(link.transport.disconnecting)

    def test_connectInFlight(self):
        """A link still being connected when the node stops does not stop
        the others from hearing dc, nor keep whenClosed from firing."""
        node = makeNode(1)
        connecting = node.connectTo("10.0.0.7", 5007)
        link = linkPeer(node, 2)
        node.shutdown()
        self.assertEqual(sent(link), [wire.Dc()])
        closed = node.whenClosed()
        closeLink(link)
        self.assertNoResult(closed)
        node.connector.failLast(ConnectionRefusedError())
        self.failureResultOf(connecting, NotConnected)
        self.assertIsNone(self.successResultOf(closed))

    def test_connectCompletesAfterShutdown(self):
        """A connection that completes after shutdown is hung up at once,
        without a handshake."""
        node = makeNode(1)
        connecting = node.connectTo("10.0.0.7", 5007)
        node.shutdown()
        closed = node.whenClosed()
        link = node.connector.connectLast()
        self.assertEqual(sent(link), [])
        self.assertTrue(link.transport.disconnecting)
        closeLink(link)
        self.failureResultOf(connecting, NotConnected)
        self.assertIsNone(self.successResultOf(closed))


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
