"""
Tests of L{twisted_bazaar.net.overlay}: the link table of one node, seen from
the node whose peers are StringTransports.  The handshake, connectTo, the
table's views, idle direct links and shutdown (which links it takes and
keeps: tests/net/test_admission.py).
"""

import random

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.testing import StringTransport
from twisted.logger import Logger, LogLevel, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.wire.ids import wireId
from twisted_bazaar import wire
from twisted_bazaar.identity.keys import Identity, decode
from twisted_bazaar.identity.proofs import CHECK, LINK, Handshake
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.net.overlay import (
    DIRECT,
    OVERLAY,
    UNREACHABLE_KEPT,
    NotConnected,
    Overlay,
)
from twisted_bazaar.wire import trade
from twisted_bazaar.schemes.flood import messages as floodmsg

from tests.helpers import (
    NODE_HOST,
    NODE_PORT,
    closeLink,
    codes,
    feed,
    linkPeer,
    makeNode,
    openLink,
    provenLink,
    Recorder,
    sent,
)

ME = wire.ThisIsMe(1, NODE_PORT, NODE_HOST)


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
        self.assertEqual(self.node.overlay.pending, {})
        self.assertEqual(self.node.overlay.addresses[7], ("10.0.0.7", 5007))
        self.assertEqual(self.node.pathTo(7), (1, 7))
        self.assertEqual(self.recorder.events, [("linkAdded", 7)])

    def test_addressFallsBackToTransportHost(self):
        """A peer that gives no host is reached at the address it came from."""
        link = openLink(self.node, host="192.0.2.5")
        feed(link, wire.ThisIsMe(7, 5007))
        self.assertEqual(self.node.overlay.addresses[7], ("192.0.2.5", 5007))

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
        self.assertEqual(node.overlay.pending, {})

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
        self.assertEqual(self.node.overlay.pending, {})

    def test_handshakeStopsTheNotimTimer(self):
        """A link that introduced itself in time is never told notim."""
        link = linkPeer(self.node, 7)
        self.node.clock.advance(60)
        self.assertEqual(sent(link), [])
        self.assertFalse(link.transport.disconnecting)

    def test_linkChurnAtDebug(self):
        """A peer's overlay or direct link coming and going (a one-shot
        buyer does so on every node it meets) is logged at debug; a
        scheme's own links (super-peers') at info."""
        events = []
        self.patch(Overlay, "log", Logger(observer=events.append))
        for peer, purpose in ((7, OVERLAY), (8, DIRECT), (9, "super")):
            link = openLink(self.node, inbound=False, purpose=purpose)
            feed(link, wire.ThisIsMe(peer, 5000 + peer))
            closeLink(link)
        self.assertEqual([(e["log_level"], formatEvent(e)) for e in events], [
            (LogLevel.debug, "linked to node 7 (overlay)"),
            (LogLevel.debug, "link to node 7 closed"),
            (LogLevel.debug, "linked to node 8 (direct)"),
            (LogLevel.debug, "link to node 8 closed"),
            (LogLevel.info, "linked to node 9 (super)"),
            (LogLevel.info, "link to node 9 closed")])

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
        self.assertEqual(self.node.overlay.pending, {})

    def test_unreachableRemembered(self):
        """A peer nothing listened at is remembered as unreachable (a
        scheme need not believe a record of it) until a link to it comes
        up; only so many are remembered, the newest."""
        d = self.node.connectTo("10.0.0.7", 5007, 7)
        self.node.connector.failLast(ConnectionRefusedError())
        self.failureResultOf(d, NotConnected)
        self.assertTrue(self.node.overlay.unreachable(7))
        self.assertFalse(self.node.overlay.unreachable(8))
        d = self.node.connectTo("10.0.0.7", 5008, 7)
        feed(self.node.connector.connectLast(), wire.ThisIsMe(7, 5008))
        self.assertEqual(self.successResultOf(d), 7)
        self.assertFalse(self.node.overlay.unreachable(7))
        for peer in range(100, 100 + UNREACHABLE_KEPT + 1):
            d = self.node.connectTo("10.0.0.9", peer, peer)
            self.node.connector.failLast(ConnectionRefusedError())
            self.failureResultOf(d, NotConnected)
        self.assertFalse(self.node.overlay.unreachable(100))
        self.assertTrue(self.node.overlay.unreachable(100 + UNREACHABLE_KEPT))

    def test_refusedHandshake(self):
        """A peer that closes before saying thisisme fails the connect."""
        d = self.node.connectTo("10.0.0.7", 5007)
        link = self.node.connector.connectLast()
        feed(link, wire.Error("noslots", "full"))
        closeLink(link)
        self.failureResultOf(d, NotConnected)
        self.assertEqual(self.node.overlay.pending, {})

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

    def test_noConnectAfterShutdown(self):
        """A node that is shutting down opens no new link: connectTo fails
        at once with NotConnected and asks the connector for nothing (it
        used to connect, and the link was only hung up once made)."""
        self.node.shutdown()
        self.failureResultOf(self.node.connectTo("10.0.0.7", 5007), NotConnected)
        self.failureResultOf(self.node.connectTo("10.0.0.7", 5007, 7), NotConnected)
        self.assertEqual(self.node.connector.requests, [])

    def test_purposeOfTheLink(self):
        """connectTo opens an overlay link unless told otherwise; a direct
        link names its purpose in this node's thisisme."""
        overlay = self.node.connectTo("10.0.0.7", 5007)
        link = self.node.connector.connectLast()
        self.assertEqual(sent(link), [ME])
        feed(link, wire.ThisIsMe(7, 5007))
        self.assertEqual(self.successResultOf(overlay), 7)
        self.assertEqual(link.purpose, OVERLAY)
        direct = self.node.connectTo("10.0.0.8", 5008, 8, DIRECT)
        link = self.node.connector.connectLast()
        self.assertEqual(sent(link), [wire.ThisIsMe(1, NODE_PORT, NODE_HOST,
                                                    purpose=DIRECT)])
        feed(link, wire.ThisIsMe(8, 5008))
        self.assertEqual(self.successResultOf(direct), 8)
        self.assertEqual(link.purpose, DIRECT)

    def test_cancel(self):
        """Cancelling connectTo abandons the connection and frees its slot."""
        d = self.node.connectTo("10.0.0.7", 5007)
        d.cancel()
        self.failureResultOf(d)
        self.assertEqual(self.node.overlay.pending, {})


class TableTests(SynchronousTestCase):
    """What the table says of the links it holds."""

    def test_closedLinkForgetsAddress(self):
        """A peer's address is kept while it is linked, not after: a node
        that sees many peers come and go does not grow without bound."""
        node = makeNode(1)
        link = linkPeer(node, 7, port=5007)
        self.assertEqual(node.overlay.addresses[7][1], 5007)
        closeLink(link)
        self.assertEqual(node.overlay.addresses, {})

    def test_linksByPurpose(self):
        """What a view reads (the metrics' links by purpose): established
        links of each purpose, 0 for a purpose the node takes but has
        none of; links in their handshake do not count."""
        node = makeNode(1, max_connections=2, direct_slots=1)
        node.addPurpose("status", 2)
        self.assertEqual(node.linksByPurpose(), {OVERLAY: 0, DIRECT: 0, "status": 0})
        linkPeer(node, 7), linkPeer(node, 9, purpose=DIRECT)
        openLink(node)
        self.assertEqual(node.linksByPurpose(), {OVERLAY: 1, DIRECT: 1, "status": 0})
        self.assertEqual((node.slotsFor(OVERLAY), node.slotsFor("chord")), (2, 0))


class DirectIdleTests(SynchronousTestCase):
    """
    A direct link (a buyer's link to a seller) is closed politely after
    config.direct_idle seconds without a trade message; pings and pongs
    keep a link alive but are not trade.  Overlay links are never closed
    for idleness.
    """

    IDLE = 30.0
    INTERVAL = 10.0

    def setUp(self):
        self.node = makeNode(1, direct_idle=self.IDLE,
                             link=LinkSettings(ping_interval=self.INTERVAL))
        self.clock = self.node.clock

    def keepAnswering(self, links, seconds):
        """Advance the clock a ping interval at a time; each peer answers
        the node's ping and pings it too, so no link falls silent."""
        for _ in range(int(seconds // self.INTERVAL)):
            self.clock.advance(self.INTERVAL)
            for link in links:
                if link.transport.disconnecting:
                    continue
                for message in sent(link):
                    if type(message) is wire.Ping:
                        feed(link, wire.Pong(message.nonce))
                feed(link, wire.Ping(99))
                self.assertEqual(sent(link), [wire.Pong(99)])

    def test_directLinkClosedWhenIdle(self):
        """An inbound direct link hears dc and is closed after direct_idle
        seconds of pings only; the overlay link beside it stays."""
        overlay = linkPeer(self.node, 2)
        direct = linkPeer(self.node, 9, purpose=DIRECT)
        self.assertEqual(direct.idle_timeout, self.IDLE)
        self.assertIsNone(overlay.idle_timeout)
        self.keepAnswering([overlay, direct], self.IDLE - self.INTERVAL)
        self.assertFalse(direct.transport.disconnecting)
        self.clock.advance(self.INTERVAL)
        self.assertEqual(sent(direct)[-1:], [wire.Dc()])
        self.assertTrue(direct.transport.disconnecting)
        closeLink(direct)
        self.assertEqual(list(self.node.links), [2])
        self.keepAnswering([overlay], 10 * self.IDLE)
        self.assertFalse(overlay.transport.disconnecting)
        self.assertEqual(list(self.node.links), [2])

    def test_outboundDirectLinkClosedWhenIdle(self):
        """A direct link this node opened is closed the same way."""
        d = self.node.connectTo("10.0.0.9", 5009, 9, DIRECT)
        link = self.node.connector.connectLast()
        feed(link, wire.ThisIsMe(9, 5009))
        self.assertEqual(self.successResultOf(d), 9)
        sent(link)
        self.keepAnswering([link], self.IDLE - self.INTERVAL)
        self.assertFalse(link.transport.disconnecting)
        self.clock.advance(self.INTERVAL)
        self.assertEqual(sent(link)[-1:], [wire.Dc()])
        self.assertTrue(link.transport.disconnecting)

    def test_tradeKeepsADirectLinkOpen(self):
        """A trade message on a direct link starts its idle time over: it
        is closed direct_idle seconds after the last one, not the first."""
        direct = linkPeer(self.node, 9, purpose=DIRECT)
        self.keepAnswering([direct], self.IDLE - self.INTERVAL)
        feed(direct, trade.Buy(5, "apple", (9, 1)))
        self.keepAnswering([direct], self.IDLE - self.INTERVAL)
        self.assertFalse(direct.transport.disconnecting)
        self.clock.advance(self.INTERVAL)
        self.assertEqual(sent(direct)[-1:], [wire.Dc()])
        self.assertTrue(direct.transport.disconnecting)

    def test_directBecomesOverlay(self):
        """A direct link the node then wants as an overlay link is reused
        and no longer closed when idle."""
        direct = linkPeer(self.node, 9, purpose=DIRECT)
        self.assertEqual(self.successResultOf(self.node.connectTo("h", 1, 9)), 9)
        self.assertEqual(self.node.connector.requests, [])
        self.assertEqual(direct.purpose, OVERLAY)
        self.keepAnswering([direct], 5 * self.IDLE)
        self.assertFalse(direct.transport.disconnecting)




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


class KeyedHandshakeTests(SynchronousTestCase):
    """
    Nodes with keys prove them, each to the other, in this handshake: the
    acceptor's thisisme carries its proof to the opener, the opener
    answers with its proof to the acceptor, and only then is its link
    established.  A link whose peer proved its key is never replaced by
    one whose peer did not.
    """

    def setUp(self):
        self.me = Identity.fromRandom(random.Random(1))
        self.node = makeNode(self.me.id, identity=self.me)
        self.peer = Identity.fromRandom(random.Random(2))

    def knock(self, identity=None, claim=None, purpose=None):
        """An inbound connection says thisisme with identity's key (and
        claim as its id, default the key's) and a nonce; return the link,
        the opener's side of the handshake and the node's answer."""
        identity = identity or self.peer
        handshake = Handshake(identity, LINK, purpose or OVERLAY)
        link = openLink(self.node)
        feed(link, wire.ThisIsMe(identity.id if claim is None else claim, 5000,
                                 purpose=purpose, key=identity.key, nonce=handshake.nonce))
        return link, handshake, sent(link)

    def prove(self, link, handshake, answer):
        feed(link, wire.Proof(handshake.prove(answer.key, answer.nonce)))

    def test_openerProvesItsKey(self):
        link, handshake, [answer] = self.knock()
        self.assertEqual((answer.id, answer.key), (self.me.id, self.me.key))
        self.assertTrue(handshake.proven(answer.key, answer.nonce, answer.sig))
        self.assertNotIn(self.peer.id, self.node.links)
        self.prove(link, handshake, answer)
        self.assertIs(self.node.links[self.peer.id], link)
        self.assertEqual(self.node.overlay.keyed[link], self.peer.key)

    def test_handshakeOnlyWhileItLasts(self):
        """The overlay keeps a link's handshake while it lasts; once the
        link is established, only the key its peer proved, on the link,
        until the link is lost."""
        overlay = self.node.overlay
        link, handshake, [answer] = self.knock()
        state = overlay.handshakes[link]
        self.assertEqual(state.phase, "proving")
        self.assertIn(link, overlay.since)
        self.assertIsNone(link.key)
        self.prove(link, handshake, answer)
        self.assertEqual(state.phase, "established")
        self.assertEqual((state.nonce, state.hello), (None, None))
        self.assertNotIn(link, overlay.handshakes)
        self.assertEqual(link.key, self.peer.key)
        self.assertEqual(self.node.provenKey(link), self.peer.key)
        closeLink(link)
        self.assertNotIn(link, overlay.since)
        self.assertIsNone(link.key)
        self.assertIsNone(self.node.provenKey(link))

    def test_acceptorsProofNamesThePurpose(self):
        """The acceptor proves itself for the purpose the opener asked:
        its proof holds for that purpose only."""
        link, handshake, [answer] = self.knock(purpose=DIRECT)
        self.assertTrue(handshake.proven(answer.key, answer.nonce, answer.sig))
        overlay = Handshake(self.peer, LINK, OVERLAY)
        overlay.nonce = handshake.nonce
        self.assertFalse(overlay.proven(answer.key, answer.nonce, answer.sig))

    def test_badProofRefused(self):
        """A proof from another handshake (an earlier connection's,
        replayed) is refused."""
        first, handshake, [answer] = self.knock()
        self.prove(first, handshake, answer)
        second, _, _ = self.knock()
        self.prove(second, handshake, answer)
        self.assertEqual([m.code for m in sent(second)], ["wtf"])
        self.assertTrue(second.transport.disconnecting)
        self.assertIs(self.node.links[self.peer.id], first)

    def test_keyWithoutNonceRefused(self):
        link = openLink(self.node)
        feed(link, wire.ThisIsMe(self.peer.id, 5000, key=self.peer.key))
        [refusal] = sent(link)
        self.assertEqual((refusal.code, refusal.info),
                         ("wtf", "a thisisme with a key needs a nonce to prove it with"))
        self.assertNotIn(self.peer.id, self.node.links)

    def test_addressCheckAnsweredWithACheckProof(self):
        """A whoareyou naming the checker's key and nonce is answered with
        this node's proof to that checker, for an address check only; one
        naming only one of the two is refused."""
        checker = Handshake(self.peer, CHECK)
        link = openLink(self.node)
        feed(link, wire.WhoAreYou(self.peer.key, checker.nonce))
        [answer] = sent(link)
        self.assertEqual((answer.id, answer.key), (self.me.id, self.me.key))
        self.assertTrue(checker.proven(answer.key, answer.nonce, answer.sig))
        self.assertFalse(Handshake(self.peer, LINK, OVERLAY).proven(
            answer.key, answer.nonce, answer.sig))
        self.assertTrue(link.transport.disconnecting)
        for half in (wire.WhoAreYou(key=self.peer.key), wire.WhoAreYou(nonce="n")):
            link = openLink(self.node)
            feed(link, half)
            self.assertEqual([m.code for m in sent(link)], ["wtf"])
            self.assertTrue(link.transport.disconnecting)

    def channelLink(self, peerKey):
        """An inbound connection whose channel proved peerKey (wire text,
        or None for a keyless peer)."""
        link = self.node.buildLink(inbound=True)
        transport = StringTransport(peerAddress=IPv4Address("TCP", "10.0.0.99", 50000))
        transport.peerKey = None if peerKey is None else decode(peerKey)
        link.makeConnection(transport)
        return link

    def test_checkProofOnlyForTheChannelsKey(self):
        """A whoareyou is answered with a proof only for the key the
        connection's channel proved: a stranger, keyless or with a key of
        its own, that names another checker's key gets no proof for it."""
        checker = Handshake(self.peer, CHECK)
        link = self.channelLink(self.peer.key)
        feed(link, wire.WhoAreYou(self.peer.key, checker.nonce))
        [answer] = sent(link)
        self.assertTrue(checker.proven(answer.key, answer.nonce, answer.sig))
        for stranger in (Identity.fromRandom(random.Random(3)).key, None):
            link = self.channelLink(stranger)
            feed(link, wire.WhoAreYou(self.peer.key, checker.nonce))
            [refusal] = sent(link)
            self.assertEqual((refusal.code, refusal.info),
                             ("wtf", "whoareyou names a key that is not the one this "
                              "connection's channel proved"))
            self.assertTrue(link.transport.disconnecting)
        for channel in (None, self.peer.key):
            link = self.channelLink(channel)
            feed(link, wire.WhoAreYou())
            self.assertEqual(sent(link), [self.node.introduction()])

    def test_idMustBeTheKeys(self):
        link, _, [refusal] = self.knock(claim=self.peer.id + 1)
        self.assertEqual((refusal.code, refusal.info),
                         ("wtf", f"{wireId(self.peer.id + 1)} is not the id of that key"))

    def test_provenLinkNeverReplacedByAnUnprovenOne(self):
        """An impostor claiming a proven peer's id, without a key or with
        the peer's public key but no proof, changes nothing; the peer
        itself, proving its key again, takes over."""
        honest, handshake, [answer] = self.knock()
        self.prove(honest, handshake, answer)
        keyless = openLink(self.node)
        feed(keyless, wire.ThisIsMe(self.peer.id, 5000))
        self.assertEqual(codes(sent(keyless)), ["wtf"])
        impostor, _, [answer2] = self.knock()
        forged = Handshake(self.me, LINK, OVERLAY)
        feed(impostor, wire.Proof(forged.prove(answer2.key, answer2.nonce)))
        self.assertEqual([m.code for m in sent(impostor)], ["wtf"])
        self.assertIs(self.node.links[self.peer.id], honest)
        again, handshake3, [answer3] = self.knock()
        self.prove(again, handshake3, answer3)
        self.assertIs(self.node.links[self.peer.id], again)
        self.assertEqual(sent(honest), [wire.Dc()])

    def test_keysIdWithoutTheKeyRefused(self):
        """A thisisme with a key's id (32 hex digits) but no key is
        refused, with error{wtf} and a close, whether it opens the link or
        answers it: no keyless peer takes a key's id, even one nobody
        holds yet (issue 26)."""
        keyless = openLink(self.node)
        feed(keyless, wire.ThisIsMe(self.peer.id, 5000))
        [refusal] = sent(keyless)
        self.assertEqual((refusal.code, refusal.info),
                         ("wtf", f"{wireId(self.peer.id)} is a key's id: a thisisme "
                          "with it names that key"))
        self.assertTrue(keyless.transport.disconnecting)
        self.assertNotIn(self.peer.id, self.node.links)
        self.assertEqual(self.node.overlay.handshakes[keyless].phase, "refused")
        d = self.node.connectTo("10.0.0.9", 5000)
        outbound = self.node.connector.connectLast()
        sent(outbound)
        feed(outbound, wire.ThisIsMe(self.peer.id, 5000))
        self.assertEqual(codes(sent(outbound)), ["wtf"])
        self.assertTrue(outbound.transport.disconnecting)
        closeLink(outbound)
        self.failureResultOf(d, NotConnected)
        self.assertEqual(self.node.links, {})
        # The key's owner links as ever.
        honest = provenLink(self.node, self.peer)
        self.assertIs(self.node.links[self.peer.id], honest)

    def test_handshakeTimeoutRunsUntilTheProof(self):
        """An acceptor that asked for a proof is in its handshake until the
        proof comes: no proof within the handshake timeout, notim."""
        link, _, [answer] = self.knock()
        self.node.clock.advance(10)
        self.assertEqual(codes(sent(link)), ["notim"])
        self.assertTrue(link.transport.disconnecting)
        self.assertNotIn(self.peer.id, self.node.links)

    def test_losingDuplicateGetsDcOnItsProof(self):
        """
        A new inbound link that loses to the link this node opened (the
        lower id's) has already had this node's thisisme, the one that
        asked for its proof: the dc comes when the proof does.
        """
        peer = next(identity for identity in (Identity.fromRandom(random.Random(seed))
                                              for seed in range(10, 40))
                    if identity.id > self.me.id)
        self.node.connectTo("10.0.0.7", 5007, peer.id)
        mine = self.node.connector.connectLast()
        [hello] = sent(mine)
        acceptor = Handshake(peer, LINK, OVERLAY)
        feed(mine, wire.ThisIsMe(peer.id, 5007, key=peer.key, nonce=acceptor.nonce,
                                 sig=acceptor.prove(hello.key, hello.nonce)))
        sent(mine)
        theirs, handshake, [answer] = self.knock(peer)
        self.assertIsInstance(answer, wire.ThisIsMe)
        self.prove(theirs, handshake, answer)
        self.assertEqual(sent(theirs), [wire.Dc()])
        self.assertIs(self.node.links[peer.id], mine)

    def test_acceptorMustProveItselfToUs(self):
        """As opener, the node checks the acceptor's proof (to this node's
        key, with both nonces of this handshake, for the link's purpose),
        then proves its own key."""
        self.node.connectTo("10.0.0.7", 5007, self.peer.id)
        link = self.node.connector.connectLast()
        [hello] = sent(link)
        self.assertEqual(hello.key, self.me.key)
        acceptor = Handshake(self.peer, LINK, OVERLAY)
        feed(link, wire.ThisIsMe(self.peer.id, 5007, key=self.peer.key,
                                 nonce=acceptor.nonce,
                                 sig=acceptor.prove(hello.key, hello.nonce)))
        [proof] = sent(link)
        self.assertTrue(acceptor.proven(self.me.key, hello.nonce, proof.sig))
        self.assertIn(self.peer.id, self.node.links)

        other = Identity.fromRandom(random.Random(3))
        stranger = Identity.fromRandom(random.Random(4))
        wrong = {
            "another verifier": lambda h, hello: h.prove(stranger.key, hello.nonce),
            "another nonce": lambda h, hello: h.prove(hello.key, "not my nonce"),
            "another purpose": lambda h, hello: Handshake(other, LINK, DIRECT).prove(
                hello.key, hello.nonce),
            "an address check": lambda h, hello: Handshake(other, CHECK).prove(
                hello.key, hello.nonce),
        }
        for what, proof in wrong.items():
            self.node.connectTo("10.0.0.8", 5008, other.id)
            forged = self.node.connector.connectLast()
            [hello] = sent(forged)
            acceptor = Handshake(other, LINK, OVERLAY)
            feed(forged, wire.ThisIsMe(other.id, 5008, key=other.key, nonce=acceptor.nonce,
                                       sig=proof(acceptor, hello)))
            self.assertEqual([m.code for m in sent(forged)], ["wtf"], what)
            self.assertNotIn(other.id, self.node.links)


class PunchedLinkTests(SynchronousTestCase):
    """A link for a punched connection, and the word that a newer link
    replaced a peer's (L{Overlay.punchedLink}, L{Overlay.whenReplaced})."""

    def test_directionAndPurposeOfTheShared(self):
        node = makeNode(1)
        for inbound, purpose in ((True, OVERLAY), (False, DIRECT)):
            shared = linkPeer(node, 7 if inbound else 8, inbound=inbound,
                              purpose=purpose)
            link = node.overlay.punchedLink(shared)
            self.assertEqual((link.inbound, link.purpose), (inbound, purpose))
            self.assertIsNone(link.transport)

    def test_whenReplaced(self):
        """Told once a newer link takes a peer's link's place, not for a
        first link."""
        node = makeNode(1)
        replaced = []
        node.overlay.whenReplaced = replaced.append
        linkPeer(node, 7)
        self.assertEqual(replaced, [])
        linkPeer(node, 7)
        self.assertEqual(replaced, [7])
