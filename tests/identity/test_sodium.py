"""
Tests for L{twisted_bazaar.identity.sodium}: libsodium signs exactly as
``cryptography`` does, and a node without it (or with one that signs
otherwise) signs with ``cryptography``.
"""

import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.identity import sodium
from twisted_bazaar.identity.keys import Identity, decode, verify
from twisted_bazaar.sim.crypto import fastSignatures


def _cryptographySigns(identity):
    """Whether identity signs with its ``cryptography`` key."""
    return identity._signRaw == identity._private.sign


class SodiumTests(SynchronousTestCase):
    def setUp(self):
        if sodium.library() is None:
            raise self.skipTest("this system has no libsodium")

    def test_sameSignatures(self):
        """Signatures through libsodium are the bytes ``cryptography``
        makes (RFC 8032 signing is deterministic), for keys and messages
        of the lengths drawn, the empty one included."""
        rng = random.Random(58)
        for _ in range(20):
            identity = Identity.fromRandom(rng)
            identity.sign(b"")
            self.assertFalse(_cryptographySigns(identity))
            for size in (0, 1, 63, 64, 200, 4096):
                data = rng.randbytes(size)
                self.assertEqual(identity._signRaw(data), identity._private.sign(data))

    def test_otherSignatureNotUsed(self):
        """A library whose signature of the probe is not ``cryptography``'s
        is not used."""
        sign = sodium.library().crypto_sign_detached

        def wrong(signature, *args):
            sign(signature, *args)
            signature[0] = signature[0][0] ^ 1
            return 0

        wrong.argtypes = sign.argtypes
        self.patch(sodium.library(), "crypto_sign_detached", wrong)
        self.assertIsNone(sodium.signerFor(Identity.generate()._private))

    def test_otherKeysNotUsed(self):
        """A key that is no ``cryptography`` key (the simulator's fast
        ones) signs its own way."""
        with fastSignatures():
            identity = Identity.fromRandom(random.Random(1))
            identity.sign(b"data")
        self.assertTrue(_cryptographySigns(identity))


class WithoutSodiumTests(SynchronousTestCase):
    def test_fallsBack(self):
        """Without libsodium a key signs with ``cryptography``, and its
        signatures verify."""
        self.patch(sodium, "_library", None)
        self.patch(sodium, "_loaded", True)
        identity = Identity.generate()
        signature = identity.sign(b"data")
        self.assertTrue(_cryptographySigns(identity))
        self.assertTrue(verify(identity.key, signature, b"data"))
        self.assertEqual(decode(signature), identity._private.sign(b"data"))
