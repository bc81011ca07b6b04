"""
Tests of L{twisted_bazaar.identity.proofs}: what a handshake proof signs,
byte for byte, and that it holds for that handshake alone.
"""

import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.identity.keys import Identity, verify
from twisted_bazaar.identity.proofs import (
    CHECK,
    LINK,
    REGISTER,
    Handshake,
    newNonce,
    proofText,
)


def keys(*seeds):
    return [Identity.fromRandom(random.Random(seed)) for seed in seeds]


class ProofTextTests(SynchronousTestCase):

    def test_exactBytes(self):
        """The prefix, then the canonical object: keys sorted, compact;
        a link's purpose, and no purpose for anything else."""
        self.assertEqual(
            proofText(REGISTER, "S", "T", "ns", "nt"),
            b'bazaar-proof:{"context":"register","signer":"S","signerNonce":"ns",'
            b'"verifier":"T","verifierNonce":"nt"}')
        self.assertEqual(
            proofText(LINK, "B", "S", "nb", "ns", "direct"),
            b'bazaar-proof:{"context":"link","purpose":"direct","signer":"B",'
            b'"signerNonce":"nb","verifier":"S","verifierNonce":"ns"}')

    def test_nonceTextIsEscaped(self):
        """A peer's nonce is any text: quoted as JSON, it cannot end its
        member early or add one."""
        self.assertEqual(
            proofText(CHECK, "S", "T", "ns", 'x","verifier":"M\u00e9'),
            'bazaar-proof:{"context":"check","signer":"S","signerNonce":"ns",'
            '"verifier":"T","verifierNonce":"x\\",\\"verifier\\":\\"M\u00e9"}'
            .encode("utf-8"))

    def test_purposeForLinksOnly(self):
        for context in (REGISTER, CHECK):
            self.assertRaises(ValueError, proofText, context, "a", "b", "c", "d", "overlay")
            self.assertRaises(ValueError, Handshake, keys(1)[0], context, "overlay")
        self.assertRaises(ValueError, proofText, LINK, "a", "b", "c", "d")
        self.assertRaises(ValueError, proofText, "hello", "a", "b", "c", "d")

    def test_noncesAreFresh(self):
        nonces = {newNonce() for _ in range(100)}
        self.assertEqual(len(nonces), 100)
        self.assertEqual({len(n) for n in nonces}, {22})


class HandshakeTests(SynchronousTestCase):
    """One proof, checked against every way it could be misused."""

    def setUp(self):
        self.signer, self.verifier, self.other = keys(1, 2, 3)

    def test_proofHoldsForItsHandshakeOnly(self):
        for context, purpose in ((REGISTER, None), (LINK, "overlay"), (CHECK, None)):
            mine = Handshake(self.signer, context, purpose)
            theirs = Handshake(self.verifier, context, purpose)
            sig = mine.prove(self.verifier.key, theirs.nonce)
            self.assertTrue(verify(self.signer.key, sig, proofText(
                context, self.signer.key, self.verifier.key, mine.nonce, theirs.nonce,
                purpose)))
            self.assertTrue(theirs.proven(self.signer.key, mine.nonce, sig))
            misuses = {
                "another signer key": (self.other.key, mine.nonce, theirs),
                "another signer nonce": (self.signer.key, newNonce(), theirs),
                "the nonces swapped": (self.signer.key, theirs.nonce,
                                       _withNonce(Handshake(self.verifier, context, purpose),
                                                  mine.nonce)),
                "another verifier": (self.signer.key, mine.nonce,
                                     _withNonce(Handshake(self.other, context, purpose),
                                                theirs.nonce)),
                "another verifier nonce": (self.signer.key, mine.nonce,
                                           Handshake(self.verifier, context, purpose)),
            }
            for what, (key, nonce, verifier) in misuses.items():
                self.assertFalse(verifier.proven(key, nonce, sig), (context, what))
            for other, other_purpose in ((REGISTER, None), (LINK, "overlay"),
                                         (LINK, "direct"), (CHECK, None)):
                if (other, other_purpose) != (context, purpose):
                    elsewhere = _withNonce(Handshake(self.verifier, other, other_purpose),
                                           theirs.nonce)
                    self.assertFalse(elsewhere.proven(self.signer.key, mine.nonce, sig),
                                     (context, other, other_purpose))

    def test_reflectedProofFails(self):
        """A side's own proof, sent back to it as the peer's, proves
        nothing."""
        a = Handshake(self.signer, LINK, "overlay")
        b = Handshake(self.verifier, LINK, "overlay")
        sig = a.prove(self.verifier.key, b.nonce)
        self.assertFalse(a.proven(self.verifier.key, b.nonce, sig))

    def test_missingOrMalformedPartsProveNothing(self):
        mine = Handshake(self.signer, CHECK)
        theirs = Handshake(self.verifier, CHECK)
        sig = mine.prove(self.verifier.key, theirs.nonce)
        for key, nonce, proof in ((None, mine.nonce, sig), (self.signer.key, None, sig),
                                  (self.signer.key, mine.nonce, None),
                                  ("!" * 43, mine.nonce, sig),
                                  (self.signer.key, mine.nonce, "x" * 86)):
            self.assertFalse(theirs.proven(key, nonce, proof))


def _withNonce(handshake, nonce):
    """handshake, as if it had sent nonce."""
    handshake.nonce = nonce
    return handshake
