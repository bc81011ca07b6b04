"""
Tests for twisted_bazaar.tracker.keyproofs: a node with a key is
registered with its key's id once it proves the key to the tracker, in
this registration; nobody else can hold that id against it; and the key
proved is kept while it stays registered.  Spoken to over real Links,
byte for byte, on fake transports and a Clock.
"""

import random

from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import WiredLink, closeLink, feed, sent
from tests.tracker.checking import checkingTracker
from twisted_bazaar import wire
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.identity.proofs import CHECK, LINK, REGISTER, Handshake
from twisted_bazaar.tracker import RECHECK_FIRST
from twisted_bazaar.wire.ids import wireId


class KeyedRegistrationTests(SynchronousTestCase):
    """A node with a key gets the id of its key, once it proves it holds
    the key; nobody else can hold that id against it."""

    def setUp(self):
        checkingTracker(self)
        self.owner = Identity.fromRandom(random.Random(9))

    def knock(self, wanted=-1, identity=None, host="203.0.113.5"):
        """Say thisisme with the owner's key (or identity's) and a nonce;
        return the connection, the tracker's answer and the node's side of
        the handshake."""
        identity = identity or self.owner
        self.handshake = Handshake(identity, REGISTER)
        peer = WiredLink(self.factory, host)
        peer.say({"type": "thisisme", "id": wireId(wanted), "port": 4001, "host": "",
                  "key": identity.key, "nonce": self.handshake.nonce})
        [you] = peer.heard()
        return peer, you

    def prove(self, peer, you, handshake=None):
        handshake = handshake or self.handshake
        peer.say({"type": "proof", "sig": handshake.prove(you["key"], you["nonce"])})

    def test_registeredOnceProven(self):
        """The tracker names its own key and a nonce; the node proves its
        key to that key, with both nonces."""
        peer, you = self.knock()
        self.assertEqual((you["type"], you["id"], you["key"]),
                         ("thisisyou", wireId(self.owner.id), self.tracker.identity.key))
        self.assertEqual(len(you["id"]), 32)
        self.assertNotIn(self.owner.id, self.tracker.registry.nodes)
        self.prove(peer, you)
        self.assertEqual(peer.heard(), [])
        self.assertIn(self.owner.id, self.tracker.registry.nodes)

    def test_keyWithoutNonceIsRefused(self):
        peer = WiredLink(self.factory, "203.0.113.5")
        peer.say({"type": "thisisme", "id": "", "port": 4001, "host": "",
                  "key": self.owner.key})
        self.assertEqual([(m["code"], m["info"]) for m in peer.heard()],
                         [("wtf", "a thisisme with a key needs a nonce to prove it with")])
        self.assertTrue(peer.closed)

    def test_proofForAnythingElseIsRefused(self):
        """The owner's own proofs, made for another verifier, another
        nonce, or another context, do not register it."""
        stranger = Identity.fromRandom(random.Random(11))
        wrong = {
            "another verifier": lambda h, you: h.prove(stranger.key, you["nonce"]),
            "another nonce": lambda h, you: h.prove(you["key"], h.nonce),
            "a link": lambda h, you: Handshake(self.owner, LINK, "overlay").prove(
                you["key"], you["nonce"]),
            "an address check": lambda h, you: Handshake(self.owner, CHECK).prove(
                you["key"], you["nonce"]),
        }
        for what, proof in wrong.items():
            peer, you = self.knock()
            peer.say({"type": "proof", "sig": proof(self.handshake, you)})
            self.assertEqual([m["code"] for m in peer.heard()], ["wtf"], what)
            self.assertTrue(peer.closed)
        self.assertEqual(self.tracker.registry.nodes, {})

    def test_anotherIdIsRefused(self):
        peer, refusal = self.knock(wanted=self.owner.id ^ 1)
        self.assertEqual((refusal["code"], refusal["info"]),
                         ("wtf", f"{wireId(self.owner.id ^ 1)} is not the id of that key"))

    def test_malformedKeyIsRefused(self):
        """
        A key that is not the base64url of 32 bytes has no id: with id -1
        or any other, error{wtf} and a close (it once raised out of the
        tracker, which dropped the connection with a traceback).
        Characters outside the base64url alphabet, which Python's decoder
        would skip or read as others, make no key either.
        """
        good = self.owner.key
        for key in ("A" * 42 + "!", "A" * 42 + "=", good[:-1] + "+",
                    "+/" + good[2:], "!" * 43):
            for wanted in (-1, 5):
                peer = WiredLink(self.factory, "203.0.113.5")
                peer.say({"type": "thisisme", "id": wireId(wanted), "port": 4001, "host": "",
                          "key": key})
                [refusal] = peer.heard()
                self.assertEqual(refusal["code"], "wtf", (key, wanted))
                self.assertTrue(peer.closed)
        self.assertEqual(self.tracker.registry.nodes, {})

    def test_impostorWithoutTheKey(self):
        """Someone sending the owner's key cannot prove it: refused, and
        the id stays free for the owner."""
        impostor, you = self.knock()
        mallory = Identity.fromRandom(random.Random(10))
        self.prove(impostor, you, Handshake(mallory, REGISTER))
        self.assertEqual([m["code"] for m in impostor.heard()], ["wtf"])
        self.assertTrue(impostor.closed)
        self.assertNotIn(self.owner.id, self.tracker.registry.nodes)

    def test_keylessNodeNeverGetsAKeysId(self):
        """A node without a key that asks for a key's id (32 hex digits) is
        refused, error{wtf} and a close, whether a node holds that id or
        not (issue 26); the owner registers with its id."""
        squatter = WiredLink(self.factory, "198.51.100.4")
        squatter.say({"type": "thisisme", "id": wireId(self.owner.id), "port": 4002,
                      "host": ""})
        [refusal] = squatter.heard()
        self.assertEqual((refusal["type"], refusal["code"], refusal["info"]),
                         ("error", "wtf", f"{wireId(self.owner.id)} is a key's id: a "
                          "thisisme with it names that key"))
        self.assertTrue(squatter.closed)
        self.assertEqual(self.tracker.registry.nodes, {})
        peer, you = self.knock()
        self.prove(peer, you)
        self.assertEqual(self.tracker.registry.nodes, {self.owner.id: ("203.0.113.5", 4001)})
        late = WiredLink(self.factory, "198.51.100.4")
        late.say({"type": "thisisme", "id": wireId(self.owner.id), "port": 4002,
                  "host": ""})
        self.assertEqual([m["code"] for m in late.heard()], ["wtf"])
        self.assertTrue(late.closed)
        self.assertEqual(self.tracker.registry.nodes, {self.owner.id: ("203.0.113.5", 4001)})

    def test_theOwnerBackOnANewConnectionReplacesItsOld(self):
        """The key's owner registering again (its old connection not yet
        seen dead) takes its id over: the old connection gives way."""
        old, you = self.knock()
        self.prove(old, you)
        peer, you = self.knock(host="198.51.100.7")
        self.prove(peer, you)
        self.assertEqual([m["code"] for m in old.heard()], ["wtf"])
        self.assertTrue(old.closed)
        self.assertEqual(self.tracker.registry.nodes[self.owner.id], ("198.51.100.7", 4001))

    def test_checkWantsTheKeysProof(self):
        """The address check of a node with a key names the tracker's key
        and a nonce, and passes only for a thisisme that proves that key
        to the tracker, in this check."""
        peer, you = self.knock()
        self.prove(peer, you)
        probe = self.connector.connectLast()
        [ask] = sent(probe)
        self.assertEqual(ask.key, self.tracker.identity.key)
        feed(probe, wire.ThisIsMe(self.owner.id, 4001, key=self.owner.key))
        closeLink(probe)
        self.assertNotIn(self.owner.id, self.tracker.registry.verified)
        self.clock.advance(RECHECK_FIRST)
        probe = self.connector.connectLast()
        [ask] = sent(probe)
        answer = Handshake(self.owner, CHECK)
        feed(probe, wire.ThisIsMe(self.owner.id, 4001, key=self.owner.key,
                                  nonce=answer.nonce, sig=answer.prove(ask.key, ask.nonce)))
        self.assertIn(self.owner.id, self.tracker.registry.verified)

    def test_theKeyProvedIsKeptWhileRegistered(self):
        """The tracker keeps the key a node proved (its address checks and
        its relay's circuits expect it) for as long as the node stays
        registered, and forgets it when the node leaves."""
        peer, you = self.knock()
        self.assertIsNone(self.tracker.proofs.keyOf(self.owner.id))
        self.prove(peer, you)
        self.assertEqual(self.tracker.proofs.keyOf(self.owner.id), self.owner.key)
        peer.say({"type": "dc"})
        self.assertNotIn(self.owner.id, self.tracker.registry.nodes)
        self.assertIsNone(self.tracker.proofs.keyOf(self.owner.id))

    def test_theKeyIsTheSessionsLinks(self):
        """The key proved is kept on the tracker's end of the node's
        session (as an overlay's link keeps its peer's), not in a table by
        id: the tracker of a run holds one for every node of it."""
        peer, you = self.knock()
        self.prove(peer, you)
        self.assertEqual(self.tracker.links[self.owner.id].key, self.owner.key)

    def test_aProvenNodeWithNoRoomLeavesNoKey(self):
        """A node that proves its key when no registration is left for its
        address group is refused, and the tracker keeps no key of it (its
        key was kept, for no registration, until the tracker stopped)."""
        peer, you = self.knock()
        self.tracker.registered.capacity = 0
        self.prove(peer, you)
        self.assertEqual([m["code"] for m in peer.heard()], ["noslots"])
        self.assertNotIn(self.owner.id, self.tracker.registry.nodes)
        self.assertIsNone(self.tracker.proofs.keyOf(self.owner.id))

    def test_aProofWithoutItsThisIsMeIsRefused(self):
        """A proof on a connection that was told no nonce (no thisisme
        with a key came first) is refused, error{wtf} and a close."""
        peer = WiredLink(self.factory, "203.0.113.5")
        peer.say({"type": "proof", "sig": Handshake(self.owner, REGISTER).prove(
            self.tracker.identity.key, Handshake(self.owner, REGISTER).nonce)})
        self.assertEqual([(m["code"], m["info"]) for m in peer.heard()],
                         [("wtf", "say thisisme before proof")])
        self.assertTrue(peer.closed)
