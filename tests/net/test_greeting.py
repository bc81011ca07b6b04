"""
Tests of L{twisted_bazaar.net.greeting}: the ``thisisme`` handshake of a
node's links, seen from the node whose peers are StringTransports: who
speaks first, what is refused, the proofs each side with a key gives
the other, and the link a handshake establishes.
"""

import random

from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.logger import Logger, LogLevel, formatEvent
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.testing.capabilities import secured
from twisted_bazaar.wire.ids import wireId
from twisted_bazaar import wire
from twisted_bazaar.identity.keys import Identity, decode
from twisted_bazaar.identity.proofs import CHECK, LINK, Handshake
from twisted_bazaar.identity.operator import operatorProof
from twisted_bazaar.net.greeting import Greeter, IGreetingTable
from twisted_bazaar.net.overlay import DIRECT, OVERLAY, Overlay
from twisted_bazaar.net.opening import NotConnected
from twisted_bazaar.net.recent import OPERATOR, STATUS
from twisted_bazaar.schemes.flood import messages as floodmsg
from twisted_bazaar.testing.linking import linkAt

from tests import records
from tests.helpers import (
    nodeReply,
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
from twisted_bazaar.reach.ownpaths import ownPaths

ME = wire.ThisIsMe(1, NODE_PORT, NODE_HOST)


class _CountingPeers(StringTransport):
    """A StringTransport that counts the times it is asked its peer."""

    asked = 0

    def getPeer(self):
        self.asked += 1
        return super().getPeer()


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

    def test_peersRelayIsNoted(self):
        """A peer whose thisisme names a relay is dialled through it the
        next time (whoever learns its address from the link, a chord
        neighbour say), the tracker having named that relay for it (the
        dialer asks it otherwise: tests/reach/test_vetting.py, VouchTests);
        one that names none is dialled directly."""
        self.node.whereabouts.book.trackerNamed(nodeReply(7, "203.0.113.7", 5007,
                                                          relay="198.51.100.1:7701"))
        self.node.noteRelay(7, None)
        link = openLink(self.node, inbound=True)
        feed(link, wire.ThisIsMe(7, 5007, "203.0.113.7", paths=ownPaths("198.51.100.1:7701")))
        closeLink(link)
        linkAt(self.node, "203.0.113.7", 5007, 7)
        [request] = self.node.connector.requests
        self.assertEqual((request.host, request.port), ("198.51.100.1", 7701))
        self.node.noteRelay(9, "198.51.100.1:7701")
        direct = openLink(self.node, inbound=True)
        feed(direct, wire.ThisIsMe(9, 5009, "203.0.113.9"))
        closeLink(direct)
        linkAt(self.node, "203.0.113.9", 5009, 9)
        self.assertEqual([(r.host, r.port) for r in self.node.connector.requests][1:],
                         [("203.0.113.9", 5009)])

    def test_aPeersClaimIsChargedToItsGroup(self):
        """The relay a thisisme claims is charged, in the book, to the
        address group its connection came from (issue 82: strangers'
        claims push out only claims, the heaviest group's first)."""
        link = openLink(self.node, inbound=True, host="198.18.3.4")
        feed(link, wire.ThisIsMe(7, 5007, "198.18.3.4", paths=ownPaths("198.51.100.1:7701")))
        self.assertEqual(self.node.whereabouts.book._claims, {7: addressGroup("198.18.3.4")})

    def test_aPeersOtherPathsAreNotTaken(self):
        """(Issue 93, the eighth round: paths as data.)  A stranger's
        thisisme naming a WebSocket port, a QUIC port and local addresses
        at a third party's host, beside its relay: only the relay is
        taken (protocol.md §3, "Paths"), so no node of the market is
        pointed at the third party by a peer's word alone."""
        from twisted_bazaar.transports.path import LAN, RELAYED, UDP, Path
        from twisted_bazaar.transports.websocket import WEBSOCKET
        link = openLink(self.node, inbound=True, host="198.18.3.4")
        self.node.connector.requests[:] = []
        feed(link, wire.ThisIsMe(7, 5007, "198.18.3.4", paths=(
            Path(WEBSOCKET, "203.0.113.80", 80), Path(UDP, "203.0.113.80", 53),
            Path(LAN, "10.1.2.3", 22), Path(RELAYED, relay="198.51.100.1:7701"))))
        book = self.node.whereabouts.book
        self.assertEqual([book.pathsOf(7, kind) for kind in (WEBSOCKET, UDP, LAN)],
                         [(), (), ()])
        self.assertEqual(book.relayOf(7), "198.51.100.1:7701")
        self.assertEqual(self.node.connector.requests, [])

    def test_relayNamedInThisIsMe(self):
        """A node that holds a reservation names its relay in its
        thisisme, so that a peer that links to it can reach it again."""
        self.node.setRelay("198.51.100.1:7701")
        link = openLink(self.node, inbound=True)
        feed(link, wire.ThisIsMe(7, 5007, "10.0.0.7"))
        self.assertEqual(sent(link), [wire.ThisIsMe(1, NODE_PORT, NODE_HOST,
                                                    paths=ownPaths("198.51.100.1:7701"))])

    def test_addressFallsBackToTransportHost(self):
        """A peer that gives no host is reached at the address it came from."""
        link = openLink(self.node, host="192.0.2.5")
        feed(link, wire.ThisIsMe(7, 5007))
        self.assertEqual(self.node.overlay.addresses[7], ("192.0.2.5", 5007))

    def test_peersAddressAskedOnlyWhenItNamesNone(self):
        """The transport is asked where its peer is (each time an address
        made, a few thousand instructions of each handshake) only when
        the thisisme names no host, and then once."""
        for host, asks in (("", 1), ("10.0.0.8", 0)):
            transport = _CountingPeers(peerAddress=IPv4Address("TCP", "192.0.2.5", 50000))
            link = self.node.buildLink(inbound=True)
            link.makeConnection(transport)
            transport.asked = 0
            feed(link, wire.ThisIsMe(7, 5007, host))
            self.assertEqual((self.node.overlay.addresses[7][0], transport.asked),
                             (host or "192.0.2.5", asks))
            closeLink(link)

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
        """A peer's overlay, direct, chord or leaf link coming and going (a
        one-shot buyer does so on every node it meets) is logged at debug;
        the links a scheme declares news (super-peers' to each other) at
        info."""
        events = []
        self.patch(Overlay, "log", Logger(observer=events.append))
        self.node.setSlots("super", 4, news=True)
        self.node.setSlots("chord", 4)
        for peer, purpose in ((7, OVERLAY), (8, DIRECT), (6, "chord"), (9, "super")):
            link = openLink(self.node, inbound=False, purpose=purpose)
            feed(link, wire.ThisIsMe(peer, 5000 + peer))
            closeLink(link)
        self.assertEqual([(e["log_level"], formatEvent(e)) for e in events], [
            (LogLevel.debug, "linked to node 7 (overlay)"),
            (LogLevel.debug, "link to node 7 closed"),
            (LogLevel.debug, "linked to node 8 (direct)"),
            (LogLevel.debug, "link to node 8 closed"),
            (LogLevel.debug, "linked to node 6 (chord)"),
            (LogLevel.debug, "link to node 6 closed"),
            (LogLevel.info, "linked to node 9 (super)"),
            (LogLevel.info, "link to node 9 closed")])


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
        self.assertEqual(self.node.overlay.greeter.keyed()[link], self.peer.key)

    def test_handshakeOnlyWhileItLasts(self):
        """The overlay keeps a link's handshake while it lasts; once the
        link is established, only the key its peer proved, on the link,
        until the link is lost."""
        overlay = self.node.overlay
        link, handshake, [answer] = self.knock()
        state = overlay.greeter.handshakes[link]
        self.assertEqual(state.phase, "proving")
        self.assertIsNotNone(overlay.connectedAt(link))
        self.assertIsNone(link.key)
        self.prove(link, handshake, answer)
        self.assertEqual(state.phase, "established")
        self.assertEqual((state.nonce, state.hello), (None, None))
        self.assertNotIn(link, overlay.greeter.handshakes)
        self.assertEqual(link.key, self.peer.key)
        self.assertEqual(self.node.provenKey(link), self.peer.key)
        closeLink(link)
        self.assertIsNone(overlay.connectedAt(link))
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
        secured(transport, None if peerKey is None else decode(peerKey))
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
        self.assertEqual(self.node.overlay.greeter.handshakes[keyless].phase, "refused")
        d = linkAt(self.node, "10.0.0.9", 5000)
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
        linkAt(self.node, "10.0.0.7", 5007, peer.id)
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
        linkAt(self.node, "10.0.0.7", 5007, self.peer.id)
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
            linkAt(self.node, "10.0.0.8", 5008, other.id)
            forged = self.node.connector.connectLast()
            [hello] = sent(forged)
            acceptor = Handshake(other, LINK, OVERLAY)
            feed(forged, wire.ThisIsMe(other.id, 5008, key=other.key, nonce=acceptor.nonce,
                                       sig=proof(acceptor, hello)))
            self.assertEqual([m.code for m in sent(forged)], ["wtf"], what)
            self.assertNotIn(other.id, self.node.links)


class _OnlyTheInterface:
    """A link table as a greeter may see it: the names of
    L{IGreetingTable}, forwarded to a real overlay, and nothing else."""

    def __init__(self, overlay):
        self._overlay = overlay

    def __getattr__(self, name):
        if name not in IGreetingTable:
            raise AttributeError(f"a greeter asked its table for {name}")
        return getattr(self._overlay, name)


class GreeterTests(SynchronousTestCase):
    """The greeter owns what lasts only while a handshake does, and asks
    its table for nothing but L{IGreetingTable}."""

    def setUp(self):
        self.node = makeNode(1)
        overlay = self.node.overlay
        overlay.greeter = Greeter(_OnlyTheInterface(overlay))

    def test_overlayIsAGreetingTable(self):
        verifyObject(IGreetingTable, self.node.overlay)

    def test_inboundThroughTheInterface(self):
        """An inbound handshake, seen through the interface alone,
        establishes the link; nothing of it is left in the greeter."""
        link = openLink(self.node, inbound=True)
        self.assertEqual(self.node.overlay.greeter.pending, {link: None})
        feed(link, wire.ThisIsMe(7, 5007, "10.0.0.7"))
        self.assertEqual(self.node.links, {7: link})
        greeter = self.node.overlay.greeter
        self.assertEqual((greeter.pending, greeter.handshakes, greeter.waiters),
                         ({}, {}, {}))

    def test_dialThroughTheInterface(self):
        """A dial waits in the greeter until its peer answers, then fires
        with the peer's id; one whose link is lost first fails."""
        d = linkAt(self.node, "10.0.0.7", 5007, 7)
        link = self.node.connector.connectLast()
        greeter = self.node.overlay.greeter
        self.assertEqual((list(greeter.pending.values()), list(greeter.waiters)),
                         ([7], [link]))
        feed(link, wire.ThisIsMe(7, 5007))
        self.assertEqual(self.successResultOf(d), 7)
        self.assertEqual(greeter.waiters, {})
        lost = linkAt(self.node, "10.0.0.8", 5008, 8)
        closeLink(self.node.connector.connectLast())
        self.failureResultOf(lost, NotConnected)
        self.assertEqual((greeter.pending, greeter.waiters), ({}, {}))


class OperatorSlotTests(SynchronousTestCase):
    """
    A node's 2 status slots were anyone's: strangers holding both (fresh
    links, in their grace) kept its operator out, `noslots`.  A status
    link whose thisisme proves the node's key on its connection now takes
    one of the operator's own slots, which no stranger spends.
    """

    HASH = bytes(range(32))

    def setUp(self):
        self.identity = records.identity(61)
        self.node = makeNode(self.identity.id, identity=self.identity)
        self.node.addPurpose(STATUS, 2, 10.0)
        self.node.addPurpose(OPERATOR, 2, 10.0)
        self.ids = iter(range(3_000_000_000, 3_000_001_000))

    def statusLink(self, host, operator=None, binding=HASH):
        link = openLink(self.node, host=host)
        secured(link.transport, None, binding)
        feed(link, wire.ThisIsMe(next(self.ids), 0, "", purpose=STATUS, operator=operator))
        return link

    def proof(self, identity=None, binding=HASH):
        return operatorProof(identity or self.identity, binding)

    def test_strangersHoldingTheStatusSlotsKeepNoOperatorOut(self):
        strangers = [self.statusLink(f"10.{n}.0.1") for n in range(2)]
        refused = self.statusLink("10.9.0.1")
        self.assertEqual(codes(sent(refused))[-1:], ["noslots"])
        operator = self.statusLink("10.9.0.2", self.proof())
        self.assertFalse(operator.transport.disconnecting)
        self.assertEqual(operator.purpose, OPERATOR)
        [answer] = sent(operator)
        self.assertEqual(answer.purpose, STATUS)
        self.assertEqual([link.transport.disconnecting for link in strangers],
                         [False, False])
        self.assertIn(operator, self.node.links.values())

    def test_aWrongProofIsRefused(self):
        for proof in (self.proof(records.identity(5)), self.proof(binding=bytes(32))):
            link = self.statusLink("10.9.0.2", proof)
            [error] = sent(link)
            self.assertEqual(error.code, "wtf")
            self.assertIn("does not prove this node's key on this connection", error.info)

    def test_askingForTheOperatorsSlotsByNameIsRefused(self):
        link = openLink(self.node, host="10.9.0.2")
        feed(link, wire.ThisIsMe(next(self.ids), 0, "", purpose=OPERATOR))
        [error] = sent(link)
        self.assertEqual((error.code, error.info[:30]), ("wtf", "this node takes no operator li"))

    def test_theOperatorsOldestGivesWay(self):
        first = self.statusLink("10.9.0.2", self.proof())
        self.node.clock.advance(1)
        second = self.statusLink("10.9.0.2", self.proof())
        self.node.clock.advance(1)
        third = self.statusLink("10.9.0.2", self.proof())
        self.assertEqual([link.transport.disconnecting for link in (first, second, third)],
                         [True, False, False])

    def test_aStatusLinkWithoutAProofIsAStrangers(self):
        link = self.statusLink("10.9.0.2")
        self.assertEqual(link.purpose, STATUS)
