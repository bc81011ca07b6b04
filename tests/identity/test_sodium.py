"""
Tests for L{twisted_bazaar.identity.sodium}: libsodium signs exactly as
``cryptography`` does, and a node without it (or with one that signs
otherwise) signs with ``cryptography``.
"""

import ctypes
import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.identity import sodium
from twisted_bazaar.identity.keys import Identity, decode, verify


def _cryptographySigns(identity):
    """Whether identity signs with its ``cryptography`` key."""
    return identity._signRaw == identity._private.sign


def _sodiumPublic(seed):
    """The public key libsodium derives from seed."""
    public, secret = ctypes.create_string_buffer(32), ctypes.create_string_buffer(64)
    sodium.library().crypto_sign_seed_keypair(public, secret, seed)
    return public.raw


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

    def test_otherKeyNotUsed(self):
        """A seed whose key is not the public key given is not used."""
        self.assertIsNone(sodium.signerFor(b"\1" * 32, b"\0" * 32,
                                           Identity.generate()._private.sign))

    def test_otherSignatureNotUsed(self):
        """A library whose signature of the probe is not the reference's
        is not used."""
        seed = b"\1" * 32
        self.assertIsNone(sodium.signerFor(seed, _sodiumPublic(seed),
                                           lambda data: b"\0" * 64))


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
