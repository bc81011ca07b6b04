"""
Tests for L{twisted_bazaar.identity}: key pairs, the ids derived from
them, the key file of a data dir, and signatures.
"""

import hashlib
import os
import random
import shutil
import stat
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.identity import (
    KEY_FILE,
    Identity,
    decode,
    deriveId,
    encode,
    helloText,
    keyOwns,
    verify,
)


class IdentityTests(SynchronousTestCase):
    def test_idIsDerivedFromTheKey(self):
        """The id is the first 4 bytes of SHA-256("bazaar-id:" + key),
        big-endian, top bit cleared, so in [0, 2^31)."""
        identity = Identity.generate()
        raw = decode(identity.key)
        digest = hashlib.sha256(b"bazaar-id:" + raw).digest()
        self.assertEqual(identity.id, int.from_bytes(digest[:4], "big") % 2**31)
        self.assertEqual(deriveId(raw), identity.id)
        self.assertTrue(keyOwns(identity.key, identity.id))
        self.assertFalse(keyOwns(identity.key, identity.id ^ 1))
        self.assertFalse(keyOwns("not base64!", identity.id))
        self.assertEqual(len(identity.key), 43)

    def test_signatures(self):
        """A signature verifies with its key and data only; malformed keys
        and signatures are simply invalid."""
        one, other = Identity.generate(), Identity.generate()
        data = helloText("bm9uY2U", one.id)
        self.assertEqual(data, f"bazaar-hello:bm9uY2U:{one.id}".encode())
        sig = one.sign(data)
        self.assertEqual(len(sig), 86)
        self.assertTrue(verify(one.key, sig, data))
        self.assertFalse(verify(other.key, sig, data))
        self.assertFalse(verify(one.key, sig, data + b"x"))
        self.assertFalse(verify("x" * 43, sig, data))
        self.assertFalse(verify(one.key, "not a signature", data))

    def test_fromRandomRepeats(self):
        """Drawn from a seeded rng, the same key each time."""
        self.assertEqual(Identity.fromRandom(random.Random(5)).key,
                         Identity.fromRandom(random.Random(5)).key)

    def test_base64url(self):
        self.assertEqual(encode(b"\xfb\xff"), "-_8")
        self.assertEqual(decode("-_8"), b"\xfb\xff")
        self.assertRaises(ValueError, decode, "-_8=")
        self.assertRaises(ValueError, decode, "a")


class KeyFileTests(SynchronousTestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-key-")
        self.addCleanup(shutil.rmtree, self.folder, True)

    def test_madeOnceThenKept(self):
        """The first use writes node.key, readable by its owner only; later
        ones read the same key back."""
        first = Identity.inDirectory(self.folder)
        path = os.path.join(self.folder, KEY_FILE)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(Identity.inDirectory(self.folder).key, first.key)
        self.assertEqual(os.listdir(self.folder), [KEY_FILE])

    def test_notAKey(self):
        with open(os.path.join(self.folder, KEY_FILE), "w") as f:
            f.write("garbage")
        self.assertRaises(ValueError, Identity.inDirectory, self.folder)
