"""
Relayed handshake proofs (issue 21, item 1), tried as an attacker would:
a peer with a valid key of its own that forwards nonces and proofs
between honest nodes, or between a node and the tracker, to be taken for
one of them.  Each attack speaks only the wire protocol (JSON objects,
copied field by field from what the honest nodes send), through the
nodes' and the tracker's own links, on fake transports or the in-memory
network.  docs/reliability.md ("Attacks tried") lists them.
"""

import random

from twisted.internet.protocol import Factory
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    RawPeer,
    WiredLink,
    closeLink,
    flooded,
    jsonNetstring,
    makeNode,
    parseJSONNetstrings,
)
from twisted_bazaar.daemon.build import plugMembership
from twisted_bazaar.wire.ids import wireId
from twisted_bazaar.core.membership import Membership
from twisted_bazaar.core.node import DIRECT, NodeConfig, OverlayFactory
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.roles.buyer import Buyer
from twisted_bazaar.testing import Market
from twisted_bazaar.tracker import DEFAULT_TRACKER_PORT
from twisted_bazaar.testing.linking import linkAt

#: Where the attacker is.
EVIL = "10.6.6.6"
EVIL_PORT = 9666


def identity(seed):
    return Identity.fromRandom(random.Random(seed))


def hello(node_id, key, nonce, port=EVIL_PORT, host=EVIL, **fields):
    """A thisisme as the attacker sends it: any id, any key, any nonce."""
    return dict(fields, type="thisisme", id=wireId(node_id), port=port, host=host,
                key=key, nonce=nonce)


def whoareyou(key, nonce):
    """An address check's question, as the attacker asks it (a field that
    is None is left out)."""
    return {name: value for name, value in
            (("type", "whoareyou"), ("key", key), ("nonce", nonce)) if value is not None}


def answerOf(node, *messages):
    """What node answers on a fresh inbound connection to the messages:
    one connection, its answers."""
    peer = WiredLink(OverlayFactory(node), EVIL)
    for message in messages:
        peer.say(message)
    return peer.heard()


def refused(messages):
    return [m.get("code") for m in messages if m["type"] == "error"] == ["wtf"]


class _Pair(SynchronousTestCase):
    """Buyer B and seller S, each with its key, on fake transports; and
    the attacker A, with a key of its own."""

    def setUp(self):
        self.b_key, self.s_key, self.a_key = identity(1), identity(2), identity(3)
        self.B = makeNode(self.b_key.id, identity=self.b_key)
        self.S = makeNode(self.s_key.id, identity=self.s_key)
        self.buyer = Buyer(flooded(self.B), ["apple"], search_window=1.0)

    def knockAsS(self):
        """A opens a link to B claiming to be S (S's id and public key),
        with a nonce of its own; return the link and B's answer."""
        toB = WiredLink(OverlayFactory(self.B), EVIL)
        toB.say(hello(self.S.id, self.s_key.key, "attacker-nonce"))
        [answer] = toB.heard()
        self.assertEqual((answer["type"], answer["id"]), ("thisisme", wireId(self.B.id)))
        return toB, answer

    def assertNotS(self, toB):
        """B refused the link, took nothing from it as S's, and holds no
        apple, whatever A says on it afterwards."""
        self.assertTrue(refused(toB.heard()))
        self.assertTrue(toB.closed)
        self.assertNotIn(self.S.id, self.B.links)
        self.assertNotIn(toB.link, self.B.overlay.greeter.keyed())
        self.trade(toB)
        self.assertEqual(self.buyer.bag, [])

    def trade(self, toB):
        """A goes on as if it were S: offers an apple (unsigned, straight
        from "S") and confirms B's buy of it."""
        self.B.clock.advance(0)
        me, s = wireId(self.B.id), wireId(self.S.id)
        searches = [m for m in toB.heard() if m["type"] == "search"]
        for search in searches:
            toB.say({"type": "reply", "id": search["id"], "item": "apple", "path": [s, me],
                     "seller": s, "host": EVIL, "port": EVIL_PORT})
        self.B.clock.advance(1.5)
        for buy in [m for m in toB.heard() if m["type"] == "buy"]:
            toB.say({"type": "buyOK", "id": buy["id"], "item": "apple", "path": [s, me]})
        for request in self.B.connector.requests:
            if not request.deferred.called:
                request.deferred.errback(ConnectionRefusedError())
        self.B.clock.advance(1)


class RelayedLinkTests(_Pair):
    """
    A links to buyer B as seller S and forwards B's nonce to S and S's
    answer to B (the attack of issue 21).  S proves itself to the key A
    showed it, with a nonce B never saw: B refuses the proof, never links
    to "S", and takes no offer or buyOK from A.
    """

    def test_relayWithItsOwnKey(self):
        toB, b_answer = self.knockAsS()
        s_answer = answerOf(self.S, hello(self.a_key.id, self.a_key.key,
                                          b_answer["nonce"]))[0]
        self.assertIn("sig", s_answer)
        toB.say({"type": "proof", "sig": s_answer["sig"]})
        self.assertNotS(toB)

    def test_relayClaimingTheBuyersKey(self):
        """A shows S the buyer's key, so S's proof names the right
        verifier; it still carries S's nonce, not the one A sent B."""
        toB, b_answer = self.knockAsS()
        s_answer = answerOf(self.S, hello(self.B.id, self.b_key.key,
                                          b_answer["nonce"]))[0]
        toB.say({"type": "proof", "sig": s_answer["sig"]})
        self.assertNotS(toB)

    def test_relayAfterAskingSFirst(self):
        """A gets S's nonce first, and sends it to B as its own: S's proof
        then names a nonce of A's choosing instead of B's.  (The old
        handshake refused this too; kept as a guard.)"""
        s_answer = answerOf(self.S, hello(self.B.id, self.b_key.key, "chosen-by-A"))[0]
        toB = WiredLink(OverlayFactory(self.B), EVIL)
        toB.say(hello(self.S.id, self.s_key.key, s_answer["nonce"]))
        toB.heard()
        toB.say({"type": "proof", "sig": s_answer["sig"]})
        self.assertNotS(toB)


class RelayedAcceptorTests(_Pair):
    """
    B was given A's address for S (a lying super-peer, say) and opens a
    direct link there; A answers B's thisisme with what S says elsewhere.
    """

    def dialS(self):
        """B opens a direct link to "S" at A's address; return the link
        (A's end) and B's thisisme."""
        self.connected = linkAt(self.B, EVIL, EVIL_PORT, self.S.id, DIRECT)
        link = self.B.connector.connectLast()
        [b_hello] = self.heard(link)
        self.assertEqual((b_hello["type"], b_hello["purpose"]), ("thisisme", DIRECT))
        return link, b_hello

    def heard(self, link):
        messages = parseJSONNetstrings(link.transport.value())
        link.transport.clear()
        return messages

    def assertRefused(self, link):
        self.assertTrue(refused(self.heard(link)))
        self.assertTrue(link.transport.disconnecting)
        self.assertNotIn(self.S.id, self.B.links)
        self.assertNotIn(link, self.B.overlay.greeter.keyed())
        closeLink(link)
        self.failureResultOf(self.connected)

    def test_addressCheckAnswerIsNoLinkProof(self):
        """A asks S ``whoareyou`` with B's key and nonce: S's answer proves
        S's key to B, but for an address check, not a link."""
        link, b_hello = self.dialS()
        s_answer = answerOf(self.S, whoareyou(b_hello["key"], b_hello["nonce"]))[0]
        self.assertIn("sig", s_answer)
        link.dataReceived(jsonNetstring(s_answer))
        self.assertRefused(link)

    def test_registrationProofIsNoLinkProof(self):
        """A is S's tracker (S was pointed at it), and answers S's
        thisisme with a thisisyou naming B's key and nonce: S's proof
        registers, it opens no link."""
        link, b_hello = self.dialS()
        session = plugMembership(self.S, Membership(self.S))
        toTracker = session.factory.buildProtocol(None)
        toTracker.makeConnection(StringTransport())
        [s_hello] = parseJSONNetstrings(toTracker.transport.value())
        toTracker.transport.clear()
        toTracker.dataReceived(jsonNetstring(
            {"type": "thisisyou", "id": wireId(self.S.id), "port": self.S.port,
             "key": b_hello["key"], "nonce": b_hello["nonce"]}))
        [proof, ping] = parseJSONNetstrings(toTracker.transport.value())
        self.assertEqual(ping["type"], "ping")
        link.dataReceived(jsonNetstring(dict(s_hello, id=self.S.id, port=self.S.port,
                                             sig=proof["sig"])))
        self.assertRefused(link)

    def test_oldProofReplayed(self):
        """A recorded S's answer to B's earlier link (an honest one) and
        replays it on B's next: B's nonce is new.  (The old handshake
        refused this too: its nonces were fresh; kept as a guard.)"""
        old, b_hello = self.dialS()
        s_answer = answerOf(self.S, hello(self.B.id, self.b_key.key, b_hello["nonce"],
                                          purpose=DIRECT))[0]
        old.dataReceived(jsonNetstring(s_answer))
        self.assertIn(self.S.id, self.B.links)
        closeLink(old)
        self.assertNotIn(self.S.id, self.B.links)
        link, _ = self.dialS()
        link.dataReceived(jsonNetstring(s_answer))
        self.assertRefused(link)


class WholeRelayTests(_Pair):
    """
    B dials A, a registered stranger, by A's own id; A passes the bytes
    of the whole handshake between B and S unchanged.  S's answer is
    genuine (its key, proved to B's key in B's handshake), but S is not
    the node B dialled: had B taken the link, A could speak in S's name
    on it, unsigned (issue 34).
    """

    heard = RelayedAcceptorTests.heard

    def dialA(self):
        self.connected = linkAt(self.B, EVIL, EVIL_PORT, self.a_key.id, DIRECT)
        link = self.B.connector.connectLast()
        [b_hello] = self.heard(link)
        return link, b_hello

    def test_relayedAnswerOfAnotherNode(self):
        link, b_hello = self.dialA()
        s_answer = answerOf(self.S, hello(self.B.id, self.b_key.key, b_hello["nonce"],
                                          purpose=DIRECT))[0]
        self.assertIn("sig", s_answer)
        link.dataReceived(jsonNetstring(s_answer))
        [error] = self.heard(link)
        self.assertEqual(error["code"], "wtf")
        self.assertIn(f"dialled node {wireId(self.a_key.id)}", error["info"])
        self.assertTrue(link.transport.disconnecting)
        self.assertNotIn(self.S.id, self.B.links)
        self.assertNotIn(link, self.B.overlay.greeter.keyed())
        closeLink(link)
        self.failureResultOf(self.connected)

    def test_dialledNodeAnswering(self):
        """The same answer, from the node B did dial, makes the link."""
        self.connected = linkAt(self.B, EVIL, EVIL_PORT, self.S.id, DIRECT)
        link = self.B.connector.connectLast()
        [b_hello] = self.heard(link)
        s_answer = answerOf(self.S, hello(self.B.id, self.b_key.key, b_hello["nonce"],
                                          purpose=DIRECT))[0]
        link.dataReceived(jsonNetstring(s_answer))
        self.assertIn(self.S.id, self.B.links)
        self.assertEqual(self.successResultOf(self.connected), self.S.id)


class _MarketCase(SynchronousTestCase):
    """A tracker and seller S on the in-memory network, and the attacker
    A, with a key of its own, connecting from its own host."""

    def setUp(self):
        self.market = Market(seed=21)
        self.a_key = identity(3)

    def connect(self, host, port, peer=None, run=True):
        peer = peer or RawPeer()
        self.market.network.connect(host, port, peer, from_host="evil")
        if run:
            self.market.run(0.1)
        return peer

    def askS(self, S, *messages):
        """S's first answer to messages on a new connection."""
        peer = self.connect(S.host, S.port)
        for message in messages:
            peer.say(message)
        self.market.run(0.1)
        return peer.heard()[0]


class RelayedRegistrationTests(_MarketCase):
    """
    A registers at the tracker with S's public key, and hands the tracker,
    as its proof, what S signs for A: S's proof on a link A opens to it
    with the tracker's nonce, or S's answer to A's ``whoareyou`` with the
    tracker's key and nonce.  Neither is a registration proof for this
    tracker: A is refused, and S's own registration stays, untouched.
    """

    def setUp(self):
        super().setUp()
        self.S = self.market.addNode(seller={"stock": {"apple": 1}})
        self.market.run(5)
        self.registration = self.market.tracker.links[self.S.id]

    def impersonate(self, proofFrom):
        evil = self.connect("tracker", DEFAULT_TRACKER_PORT)
        evil.say(hello(-1, self.S.identity.key, "attacker-nonce", port=9009, host="evil"))
        self.market.run(0.1)
        [you] = evil.heard()
        self.assertEqual((you["type"], you["id"]), ("thisisyou", wireId(self.S.id)))
        evil.say({"type": "proof", "sig": proofFrom(you)["sig"]})
        self.market.run(0.1)
        self.assertTrue(refused(evil.heard()))
        self.assertTrue(evil.closed)
        self.market.run(30)
        tracker = self.market.tracker
        self.assertIs(tracker.links[self.S.id], self.registration)
        self.assertTrue(self.S.membership.isRegistered)
        self.assertEqual(tracker.registry.address(self.S.id), (self.S.host, self.S.port))

    def test_linkProofDoesNotRegister(self):
        self.impersonate(lambda you: self.askS(
            self.S, hello(self.a_key.id, self.a_key.key, you["nonce"])))

    def test_addressCheckAnswerDoesNotRegister(self):
        self.impersonate(lambda you: self.askS(
            self.S, whoareyou(you.get("key"), you["nonce"])))


class RelayedAddressCheckTests(_MarketCase):
    """
    The tracker checks S's key at the address S advertises, and A listens
    there (S's --host names a machine A took over, say).  A answers the
    tracker's ``whoareyou`` with what S signs for A on S's real address:
    its proof on a link A opens with the check's nonce, or its answer to
    A's own ``whoareyou`` (A checking S, as a super-peer would) with the
    check's nonce.  Neither is S's proof to the tracker in this check: the
    check fails, again and again, and S is never introduced there.
    """

    def passCheckWith(self, question):
        """S advertises the host "evil", where A listens on S's port and
        answers each whoareyou with S's answer to question(whoareyou), on
        a connection A opens to S's real address."""
        def relay(toTracker, message):
            if message["type"] == "whoareyou":
                self.connect(S.connector.from_host, S.port, RawPeer(
                    lambda toS, answer: toTracker.say(answer), [question(message)]),
                    run=False)

        S = self.market.addNode(NodeConfig(host="evil", link=self.market.link_settings),
                                seller={"stock": {"apple": 1}})
        self.market.network.listen(Factory.forProtocol(lambda: RawPeer(relay)), "evil",
                                   S.port)
        self.market.run(40)
        registry = self.market.tracker.registry
        self.assertIn(S.id, registry.nodes)
        self.assertNotIn(S.id, registry.verified)
        self.assertEqual(registry.address(S.id), ("", 0))

    def test_linkProofFailsTheCheck(self):
        self.passCheckWith(lambda ask: hello(self.a_key.id, self.a_key.key, ask["nonce"]))

    def test_answerToAnotherCheckerFailsTheCheck(self):
        self.passCheckWith(lambda ask: whoareyou(self.a_key.key, ask["nonce"]))
