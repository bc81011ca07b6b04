"""
Tests for L{twisted_bazaar.identity.keys}: key pairs, the ids derived from
them, the key file of a data dir, and signatures.
"""

import hashlib
import os
import random
import shutil
import stat
import tempfile

import attr

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.wire.ids import KEYED, wireId
from twisted_bazaar import wire
from twisted_bazaar.identity import keys
from twisted_bazaar.identity.keys import (
    KEY_FILE,
    Identity,
    decode,
    deriveId,
    encode,
    keyId,
    keyOwns,
    signedBy,
    verify,
)
from twisted_bazaar.schemes.flood.messages import Reply

from tests import records
from tests.helpers import failIfHung


class IdentityTests(SynchronousTestCase):
    def test_idIsDerivedFromTheKey(self):
        """The id is the first 16 bytes of SHA-256("bazaar-id:" + key): on
        the wire in lowercase hex, here with bit 128 set."""
        identity = Identity.generate()
        raw = decode(identity.key)
        digest = hashlib.sha256(b"bazaar-id:" + raw).digest()
        self.assertEqual(wireId(identity.id), digest[:16].hex())
        self.assertEqual(identity.id, KEYED | int.from_bytes(digest[:16], "big"))
        self.assertEqual(deriveId(raw), identity.id)
        self.assertTrue(keyOwns(identity.key, identity.id))
        self.assertFalse(keyOwns(identity.key, identity.id ^ 1))
        self.assertFalse(keyOwns("not base64!", identity.id))
        self.assertEqual(len(identity.key), 43)

    def test_signatures(self):
        """A signature verifies with its key and data only; malformed keys
        and signatures are simply invalid."""
        one, other = Identity.generate(), Identity.generate()
        data = b"any bytes"
        sig = one.sign(data)
        self.assertEqual(len(sig), 86)
        self.assertTrue(verify(one.key, sig, data))
        self.assertFalse(verify(other.key, sig, data))
        self.assertFalse(verify(one.key, sig, data + b"x"))
        self.assertFalse(verify("x" * 43, sig, data))
        self.assertFalse(verify(one.key, "not a signature", data))

    def test_signedReplacesAnotherKeyAndSig(self):
        """Signing a message that carries another node's key and signature
        replaces both: the new signature covers the canonical form with
        the new key and without the old signature."""
        one, other = Identity.generate(), Identity.generate()
        reply = Reply(5, "apple", (other.id, 42), other.id, "127.0.0.1", 9001)
        theirs = other.signed(reply)
        mine = one.signed(theirs)
        self.assertEqual(mine.key, one.key)
        self.assertNotEqual(mine.sig, theirs.sig)
        self.assertTrue(verify(one.key, mine.sig, wire.canonical(mine)))
        self.assertEqual(attr.evolve(mine, key=None, sig=None), reply)
        self.assertTrue(signedBy(theirs, other.id))
        self.assertFalse(signedBy(mine, other.id))

    def test_slotsAndItsSigner(self):
        """A key pair holds no dict (a simulation holds one a node): its
        signer is a slot, None until its first signature chooses it, which
        later ones use."""
        identity = Identity.fromRandom(random.Random(5))
        self.assertFalse(hasattr(identity, "__dict__"))
        self.assertIsNone(identity._signer)
        first = identity.sign(b"data")
        signer = identity._signer
        self.assertIsNotNone(signer)
        self.assertEqual(identity.sign(b"data"), first)
        self.assertIs(identity._signer, signer)
        self.assertTrue(verify(identity.key, first, b"data"))

    def test_fromRandomRepeats(self):
        """Drawn from a seeded rng, the same key each time."""
        self.assertEqual(Identity.fromRandom(random.Random(5)).key,
                         Identity.fromRandom(random.Random(5)).key)

    def test_base64url(self):
        self.assertEqual(encode(b"\xfb\xff"), "-_8")
        self.assertEqual(decode("-_8"), b"\xfb\xff")
        self.assertRaises(ValueError, decode, "-_8=")
        self.assertRaises(ValueError, decode, "a")

    def test_base64urlIsStrict(self):
        """
        Only the base64url alphabet: Python's decoder would read ``+`` and
        ``/`` as ``-`` and ``_`` and skip other characters, so one key
        would have many spellings, and text that is no key would get an
        id.  A key is the base64url of exactly 32 bytes.
        """
        identity = Identity.fromRandom(random.Random(3))
        for text in ("+_8", "-/8", "-_8!", " -_8", "-_\n8"):
            self.assertRaises(ValueError, decode, text)
        self.assertEqual(keyId(identity.key), identity.id)
        for key in (identity.key[:-1] + "+", identity.key[:-1] + "!",
                    identity.key[:42], encode(b"\0" * 31), "!" * 43):
            self.assertIsNone(keyId(key), key)
            self.assertFalse(keyOwns(key, identity.id), key)

    def test_unusedBitsMustBeZero(self):
        """
        The last of a key's 43 characters carries 2 bits no byte uses (a
        signature's last, 4): text where they are not zero is no key, so
        that one key has exactly one text (docs/protocol.md §3).
        """
        identity = Identity.fromRandom(random.Random(3))
        alphabet = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                    "0123456789-_")
        last = alphabet.index(identity.key[-1])
        for unused in (1, 2, 3):
            other = identity.key[:-1] + alphabet[last ^ unused]
            with self.assertRaises(ValueError) as caught:
                decode(other)
            self.assertIn("unused bits", str(caught.exception))
            self.assertIsNone(keyId(other), other)
            self.assertFalse(keyOwns(other, identity.id))
        signature = identity.sign(b"x")
        self.assertRaises(ValueError, decode,
                          signature[:-1] + alphabet[alphabet.index(signature[-1]) ^ 1])


class SignedOfferTests(SynchronousTestCase):
    """A reply's optional record (a shared file's) is signed when it
    carries one."""

    SHA = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

    def setUp(self):
        self.seller = Identity.fromRandom(random.Random(8))
        self.plain = Reply(5, "song.ogg", (self.seller.id, 42), self.seller.id,
                           "127.0.0.1", 9001)
        # Issued at 0 ms whatever --clock-start: no clock reads it, and
        # the canonical text below spells its times.
        self.record = records.signed(self.seller, "song.ogg", "127.0.0.1", 9001,
                                     issued=0, file=(5, self.SHA, 9002))
        self.file = attr.evolve(self.plain, record=self.record)

    def test_canonicalNamesWhatTheMessageCarries(self):
        """The record is in the signed bytes exactly when the reply has
        one (protocol.md: keys and signatures), keys sorted at every
        level."""
        me, key = f'"{wireId(self.seller.id)}"', self.seller.key
        self.assertEqual(
            wire.canonical(self.seller.signed(self.file)).decode("utf-8"),
            'bazaar-sig:{"host":"127.0.0.1","id":5,"item":"song.ogg",'
            f'"key":"{key}","path":[{me},"42"],"port":9001,'
            '"record":{"expires":600000,"host":"127.0.0.1","issued":0,'
            f'"item":"song.ogg","key":"{key}","port":9001,"seller":{me},'
            f'"sha256":"{self.SHA}","sig":"{self.record.sig}","size":5,'
            f'"transfer":9002}},"seller":{me},"type":"reply"}}')
        self.assertEqual(
            wire.canonical(self.seller.signed(self.plain)).decode("utf-8"),
            'bazaar-sig:{"host":"127.0.0.1","id":5,"item":"song.ogg",'
            f'"key":"{key}","path":[{me},"42"],"port":9001,'
            f'"seller":{me},"type":"reply"}}')

    def test_relayCannotAlterTheRecord(self):
        """Changing, removing or adding a record breaks the seller's
        signature."""
        signed = self.seller.signed(self.file)
        self.assertTrue(signedBy(signed, self.seller.id))
        for record in (records.forged(self.record, size=6),
                       records.forged(self.record, sha256="0" * 64),
                       records.forged(self.record, transfer=9003), None):
            self.assertFalse(signedBy(attr.evolve(signed, record=record),
                                      self.seller.id), record)
        plain = self.seller.signed(self.plain)
        self.assertTrue(signedBy(plain, self.seller.id))
        self.assertFalse(signedBy(attr.evolve(plain, record=self.record),
                                  self.seller.id))

    def test_nullIsLeftOut(self):
        """A record sent as null reads as left out: the signature of the
        reply without it still holds."""
        signed = self.seller.signed(self.plain)
        payload = wire.encode(signed)
        decoded = wire.decode(payload[:-1] + b',"record":null}')
        self.assertEqual(decoded, signed)
        self.assertTrue(signedBy(decoded, self.seller.id))


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

    def test_theFileIsPKCS8PEM(self):
        """protocol.md §12a says what node.key holds, for an operator's
        tool in another language: an unencrypted PKCS#8 PEM Ed25519
        private key (119 bytes), whose public key is the node's key."""
        from cryptography.hazmat.primitives import serialization

        identity = Identity.inDirectory(self.folder)
        with open(os.path.join(self.folder, KEY_FILE), "rb") as f:
            data = f.read()
        self.assertEqual(len(data), 119)
        self.assertTrue(data.startswith(b"-----BEGIN PRIVATE KEY-----\n"))
        private = serialization.load_pem_private_key(data, password=None)
        raw = private.public_key().public_bytes(serialization.Encoding.Raw,
                                                serialization.PublicFormat.Raw)
        self.assertEqual(keys.encode(raw), identity.key)

    def test_notAKey(self):
        path = os.path.join(self.folder, KEY_FILE)
        with open(path, "w") as f:
            f.write("garbage")
        os.chmod(path, 0o600)
        with self.assertRaises(ValueError) as caught:
            Identity.inDirectory(self.folder)
        self.assertIn(f"{path} holds no Ed25519 private key this node can read: ",
                      str(caught.exception))
        self.assertNotIn("https://", str(caught.exception))

    def test_aTrackersKeyIsNamedTheTrackers(self):
        """A tracker's key file (tracker.key) that is no key, or open to
        others, is said to be the tracker's, not "this node's" (issue 96,
        a new user's tracker.key)."""
        path = os.path.join(self.folder, "tracker.key")
        with open(path, "w") as f:
            f.write("garbage")
        os.chmod(path, 0o600)
        with self.assertRaises(ValueError) as caught:
            Identity.read(self.folder, name="tracker.key")
        self.assertIn(f"{path} holds no Ed25519 private key this tracker can read: ",
                      str(caught.exception))
        os.chmod(path, 0o644)
        with self.assertRaises(ValueError) as caught:
            Identity.read(self.folder, name="tracker.key")
        self.assertIn("whoever can read it can act as this tracker; make it",
                      str(caught.exception))
        self.assertNotIn("node", str(caught.exception))

    def test_aKeyUnderAPassword(self):
        """A PEM key under a password raised TypeError (a traceback at the
        daemon's start): now a ValueError saying what the file holds."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        path = os.path.join(self.folder, KEY_FILE)
        data = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"))
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(data)
        with self.assertRaises(ValueError) as caught:
            Identity.inDirectory(self.folder)
        self.assertIn(f"{path} holds no Ed25519 private key this node can read: ",
                      str(caught.exception))

    def test_aFileLeftWhereTheKeyIsWrittenIsNotWrittenThrough(self):
        """node.key.new left at 0644 (a crash, or another user of a data
        dir open to others) gave the new key its mode: written through
        it, node.key was 0644; a link there took the key where it
        pointed.  Now the key is written to a new file of a name of its
        own, 0600: what was left is left alone, and nothing is written
        through the link."""
        path = os.path.join(self.folder, KEY_FILE)
        with open(path + ".new", "w") as f:
            f.write("stale")
        os.chmod(path + ".new", 0o644)
        Identity.inDirectory(self.folder)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path + ".new") as f:
            self.assertEqual(f.read(), "stale")
        os.unlink(path)
        os.unlink(path + ".new")
        elsewhere = os.path.join(self.folder, "elsewhere")
        with open(elsewhere, "w") as f:
            f.write("someone else's")
        os.chmod(elsewhere, 0o644)
        os.symlink(elsewhere, path + ".new")
        made = Identity.inDirectory(self.folder)
        with open(elsewhere) as f:
            self.assertEqual(f.read(), "someone else's")
        self.assertFalse(os.path.islink(path))
        self.assertEqual(Identity.read(self.folder).key, made.key)

    def test_twoMakersTakeOneKey(self):
        """Two processes making the key at once (two trackers started
        together on one state directory, issue 96 M6) take one key: the
        first written; the other reads it and does not count it as its
        own (a failed start of it removes nothing of the other's)."""
        first = Identity.generate()
        path = os.path.join(self.folder, KEY_FILE)
        real = Identity.read
        raced = []

        def readAfterTheOther(directory, name=KEY_FILE):
            if not raced:
                raced.append(True)
                self.assertTrue(first.writeNew(path))
                raise FileNotFoundError(path)
            return real(directory, name)

        self.patch(Identity, "read", staticmethod(readAfterTheOther))
        made = []
        taken = Identity.inDirectory(self.folder, made=made)
        self.assertEqual((taken.key, made), (first.key, []))
        self.assertEqual(os.listdir(self.folder), [KEY_FILE])
        os.unlink(path)
        self.assertEqual(Identity.inDirectory(self.folder, made=made).key,
                         real(self.folder).key)
        self.assertEqual(made, [path])

    def test_aKeyOthersCanReadIsRefused(self):
        """A node.key with group or world bits (copied in by hand, restored
        from a backup) was read as any: whoever could read it could be the
        node, and its operator.  It is refused, saying how to fix it, and
        left as it is; once its owner's only, it is taken."""
        made = Identity.inDirectory(self.folder)
        path = os.path.join(self.folder, KEY_FILE)
        for mode in (0o644, 0o640, 0o604, 0o620):
            os.chmod(path, mode)
            with self.assertRaises(ValueError) as caught:
                Identity.inDirectory(self.folder)
            self.assertIn(f"(mode {mode:04o})", str(caught.exception))
            self.assertIn(f"chmod 600 {path}", str(caught.exception))
            self.assertRaises(ValueError, Identity.read, self.folder)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), mode)
        os.chmod(path, 0o400)
        self.assertEqual(Identity.inDirectory(self.folder).key, made.key)

    def test_aKeyThatIsNoFileIsRefused(self):
        """A node.key that is a FIFO no program writes to is refused at
        once: the node's start waited in open() for ever."""
        os.mkfifo(os.path.join(self.folder, KEY_FILE), 0o600)
        failIfHung(self, "a node.key that is a FIFO")
        with self.assertRaises(ValueError) as caught:
            Identity.inDirectory(self.folder)
        self.assertEqual(str(caught.exception),
                         f"{os.path.join(self.folder, KEY_FILE)} is not a regular "
                         "file (a FIFO, a folder...), so it holds no key: move it away")


class RefusedKeyTests(SynchronousTestCase):
    """A scheme may refuse keys (chord's puzzle): a node makes one it
    takes, and says why it cannot use one it was given."""

    def test_generateTriesUntilAKeyIsTaken(self):
        tried = []

        def refusal(identity):
            tried.append(identity.id)
            return "not yet" if len(tried) < 4 else None

        made = Identity.generate(refusal)
        self.assertEqual((len(tried), made.id), (4, tried[-1]))

    def test_aDataDirsKeyThatIsRefusedSaysWhy(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        made = Identity.inDirectory(folder, lambda identity: None)
        with self.assertRaises(ValueError) as caught:
            Identity.inDirectory(folder, lambda identity: "its id is too cheap")
        self.assertIn("holds a key this node cannot use: its id is too cheap",
                      str(caught.exception))
        self.assertEqual(Identity.inDirectory(folder).id, made.id)


class KeyIdCacheTests(SynchronousTestCase):
    """L{keyId} keeps the ids it derived, a bounded number of them."""

    def setUp(self):
        self.addCleanup(keys._ids.clear)
        keys._ids.clear()

    def test_kept(self):
        """A key's id is derived once and then found: the same id, and
        None for text that is no key, every time."""
        identity = Identity.generate()
        self.assertEqual(keyId(identity.key), identity.id)
        self.assertEqual(keys._ids, {identity.key: identity.id})
        self.assertEqual(keyId(identity.key), identity.id)
        self.assertIsNone(keyId("AAAA"))
        self.assertIsNone(keyId("AAAA"))

    def test_bounded(self):
        """However many keys are asked about, at most KEY_IDS_KEPT are
        kept, and each still gets its own id."""
        rng = random.Random(58)
        for _ in range(keys.KEY_IDS_KEPT + 10):
            raw = rng.randbytes(32)
            self.assertEqual(keyId(encode(raw)), deriveId(raw))
            self.assertLessEqual(len(keys._ids), keys.KEY_IDS_KEPT)

    def test_narrowedWidth(self):
        """A key asked about before ids are narrowed gets its narrow id
        inside the block, and its full one after."""
        identity = Identity.generate()
        self.assertEqual(keyId(identity.key), identity.id)
        with keys.narrowedIds(8):
            narrow = keyId(identity.key)
            self.assertEqual(narrow, deriveId(decode(identity.key)))
            self.assertNotEqual(narrow, identity.id)
        self.assertEqual(keyId(identity.key), identity.id)
