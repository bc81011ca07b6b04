"""
Tests of L{twisted_bazaar.net.handshake}: one side's handshake of one
link, as the overlay, the tracker session, the tracker and the address
check all run it.
"""

import random

from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.identity.keys import Identity, decode
from twisted_bazaar.identity.proofs import CHECK, LINK, REGISTER, Handshake
from twisted_bazaar.net.handshake import (
    ESTABLISHED,
    OPENING,
    PLAIN,
    PROVING,
    REFUSED,
    LinkHandshake,
    channelKey,
)
from twisted_bazaar.testing.capabilities import secured
from twisted_bazaar.wire.ids import NO_ID, wireId


class HandshakeTests(SynchronousTestCase):
    def setUp(self):
        self.me = Identity.fromRandom(random.Random(1))
        self.peer = Identity.fromRandom(random.Random(2))
        self.theirs = Handshake(self.peer, LINK, "overlay")

    def hello(self, **changes):
        fields = dict(id=self.peer.id, port=5000, key=self.peer.key,
                      nonce=self.theirs.nonce)
        fields.update(changes)
        return wire.ThisIsMe(**fields)

    def test_acceptorPhases(self):
        """opening -> proving on a thisisme with a key -> established on
        its proof, keeping the proven key and dropping the rest."""
        handshake = LinkHandshake()
        self.assertEqual(handshake.phase, OPENING)
        nonce = handshake.begin(self.me, LINK, "overlay")
        self.assertEqual((handshake.nonce, handshake.ownKey, handshake.proves),
                         (nonce, self.me.key, True))
        hello = self.hello()
        self.assertIsNone(handshake.hear(hello, proof_due=True))
        self.assertIs(handshake.hello, hello)
        self.assertEqual(handshake.peerId, self.peer.id)
        handshake.expectProof()
        self.assertEqual(handshake.phase, PROVING)
        self.assertTrue(self.theirs.proven(self.me.key, nonce,
                                           handshake.prove(self.peer.key, hello.nonce)))
        self.assertTrue(handshake.checkProof(self.theirs.prove(self.me.key, nonce)))
        handshake.establish()
        self.assertEqual((handshake.phase, handshake.key, handshake.hello, handshake.nonce),
                         (ESTABLISHED, self.peer.key, None, None))

    def test_badProofRefuses(self):
        """A proof for another context, or from another handshake, is
        refused, and the handshake with it."""
        for other in (Handshake(self.peer, CHECK), Handshake(self.peer, LINK, "direct"),
                      Handshake(self.peer, REGISTER)):
            handshake = LinkHandshake()
            nonce = handshake.begin(self.me, LINK, "overlay")
            handshake.hear(self.hello(nonce=other.nonce), proof_due=True)
            handshake.expectProof()
            self.assertFalse(handshake.checkProof(other.prove(self.me.key, nonce)))
            self.assertEqual((handshake.phase, handshake.key), (REFUSED, None))

    def test_faults(self):
        """What hear refuses, and why: each refusal ends the handshake."""
        other = Identity.fromRandom(random.Random(3))
        cases = [
            (self.hello(key=None, nonce=None),
             f"{wireId(self.peer.id)} is a key's id: a thisisme with it names that key"),
            (self.hello(key="A" * 42 + "!"),
             "that key is not the base64url of an Ed25519 public key"),
            (self.hello(id=other.id), f"{wireId(other.id)} is not the id of that key"),
            (self.hello(id=NO_ID), " is not the id of that key"),
            (self.hello(nonce=None), "a thisisme with a key needs a nonce to prove it with"),
        ]
        for hello, fault in cases:
            handshake = LinkHandshake()
            self.assertEqual(handshake.hear(hello, proof_due=True), fault)
            self.assertEqual((handshake.phase, handshake.hello), (REFUSED, None))

    def test_whatPasses(self):
        """A keyless id without a key; a key's id with its key (no nonce
        when no proof is due); "" with a key where the tracker names the
        id (any_id)."""
        for hello, options in [
            (wire.ThisIsMe(17, 5000), {}),
            (self.hello(nonce=None), {}),
            (self.hello(id=NO_ID), {"any_id": True, "proof_due": True}),
        ]:
            handshake = LinkHandshake()
            self.assertIsNone(handshake.hear(hello, **options), hello)
            self.assertEqual(handshake.phase, OPENING)
        self.assertEqual(handshake.peerId, self.peer.id)

    def test_thisIsMeAgainWhileProving(self):
        """A thisisme again before the proof (a duplicate) starts the
        proof over: a fresh nonce, and the proof must answer it."""
        handshake = LinkHandshake()
        first = handshake.begin(self.me, LINK, "overlay")
        handshake.hear(self.hello(), proof_due=True)
        handshake.expectProof()
        second = handshake.begin(self.me, LINK, "overlay")
        handshake.hear(self.hello(), proof_due=True)
        handshake.expectProof()
        self.assertNotEqual(first, second)
        self.assertEqual(handshake.phase, PROVING)
        self.assertFalse(handshake.checkProof(self.theirs.prove(self.me.key, first)))

    def test_keylessSide(self):
        """A side without a key has no nonce, proves nothing and asks
        for nothing."""
        handshake = LinkHandshake()
        self.assertIsNone(handshake.begin(None, LINK, "overlay"))
        self.assertEqual((handshake.nonce, handshake.ownKey, handshake.proves),
                         (None, None, False))

    def test_movesAreChecked(self):
        """A move the phases do not have is a programming error."""
        handshake = LinkHandshake()
        handshake.establish()
        self.assertRaises(ValueError, handshake.expectProof)
        self.assertRaises(ValueError, handshake.establish)
        refused = LinkHandshake()
        refused.hear(wire.ThisIsMe(self.peer.id, 5000))
        self.assertRaises(ValueError, refused.establish)

    def test_establishedByHand(self):
        """A link built by hand (a simulator's warm start) is established
        with the key proven elsewhere."""
        handshake = LinkHandshake()
        handshake.establish(self.peer.key)
        self.assertEqual((handshake.phase, handshake.key), (ESTABLISHED, self.peer.key))


class ChannelKeyTests(SynchronousTestCase):
    """Over the encrypted channel, a thisisme names the key the channel
    proved, and none where it proved none (docs/protocol.md §2.1)."""

    def setUp(self):
        self.peer = Identity.fromRandom(random.Random(2))
        self.other = Identity.fromRandom(random.Random(3))

    def test_channelKey(self):
        """What a transport says: the proven key as wire text, None, or
        PLAIN for a connection without the channel."""

        channel = secured(StringTransport(), decode(self.peer.key))
        self.assertEqual(channelKey(channel), self.peer.key)
        self.assertIsNone(channelKey(secured(StringTransport())))
        self.assertIs(channelKey(object()), PLAIN)

    def test_theChannelsKeyOnly(self):
        hello = wire.ThisIsMe(self.peer.id, 5000, key=self.peer.key)
        keyless = wire.ThisIsMe(17, 5000)
        channel_fault = "the key is not the one this connection's channel proved"
        for hello_, channel, fault in [
            (hello, self.peer.key, None),
            (hello, PLAIN, None),
            (keyless, None, None),
            (keyless, PLAIN, None),
            (hello, self.other.key, channel_fault),
            (keyless, self.peer.key, channel_fault),
            (hello, None, "a key in a thisisme on a connection whose channel proved no key"),
        ]:
            handshake = LinkHandshake()
            self.assertEqual(handshake.hear(hello_, channel=channel), fault,
                             (hello_, channel))
