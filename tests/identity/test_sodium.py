"""
Tests for L{twisted_bazaar.identity.sodium}: libsodium signs exactly as
``cryptography`` does, and a key it would sign otherwise (or that is no
``cryptography`` key) signs with ``cryptography``.
"""

import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.identity import sodium
from twisted_bazaar.identity.keys import Identity, decode, verify
from twisted_bazaar.sim.crypto import fastSignatures


def _cryptographySigns(identity):
    """Whether identity signs with its key's own ``sign`` (``cryptography``'s,
    or a fast key's), not libsodium's."""
    signer = identity._signRaw
    return getattr(signer, "__name__", None) == "sign" and hasattr(signer, "__self__")


class SodiumTests(SynchronousTestCase):
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
        """A libsodium whose signature of the probe is not
        ``cryptography``'s is not used: the key signs with
        ``cryptography``, and its signatures verify."""
        sign = sodium._detached

        def wrong(data, secret):
            signature = sign(data, secret)
            return bytes([signature[0] ^ 1]) + signature[1:]

        self.patch(sodium, "_detached", wrong)
        identity = Identity.generate()
        self.assertIsNone(sodium.signerFor(identity._private))
        signature = identity.sign(b"data")
        self.assertTrue(_cryptographySigns(identity))
        self.assertTrue(verify(identity.key, signature, b"data"))
        self.assertEqual(decode(signature), identity._private.sign(b"data"))

    def test_otherKeysNotUsed(self):
        """A key that is no ``cryptography`` key (the simulator's fast
        ones) signs its own way."""
        with fastSignatures():
            identity = Identity.fromRandom(random.Random(1))
            identity.sign(b"data")
        self.assertTrue(_cryptographySigns(identity))
