"""
Tests for L{twisted_bazaar.channel.noise}: the published test vectors of
C{Noise_XX_25519_ChaChaPoly_SHA256} (the cacophony and snow suites), byte
for byte, through the handshake and on into transport messages.
"""

import hmac

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.channel.noise import (
    CipherState,
    KeyPair,
    NoiseError,
    XXHandshake,
    hkdf,
)

#: Entries of the published vector suites for this one protocol name:
#: cacophony (haskell-cryptography/cacophony, vectors/cacophony.txt) and
#: snow (mcginty/snow, tests/vectors/snow.txt).  Messages alternate,
#: initiator first; the first three are the handshake.
VECTORS = {
    "cacophony": dict(
        prologue="4a6f686e2047616c74",
        init_static="e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1",
        init_ephemeral="893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a",
        resp_static="4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893",
        resp_ephemeral="bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
        handshake_hash="c8e5f64e846193be2a834104c2a009868d6c9f3bd3c186299888b488b2f1f58e",
        messages=[
            ("4c756477696720766f6e204d69736573",
             "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944"
             "4c756477696720766f6e204d69736573"),
            ("4d757272617920526f746862617264",
             "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843"
             "81cbad1f276e038c48378ffce2b65285e08d6b68aaa3629a5a8639392490e5b9"
             "bd5269c2f1e4f488ed8831161f19b7815528f8982ffe09be9b5c412f8a0db50f"
             "8814c7194e83f23dbd8d162c9326ad"),
            ("462e20412e20486179656b",
             "c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a8"
             "0ae475b9df0f169ae80a89be0865b57f58c9fea0d4ec82a286427402f113e4b6"
             "ae769a1d95941d49b25030"),
            ("4361726c204d656e676572",
             "96763ed773f8e47bb3712f0e29b3060ffc956ffc146cee53d5e1df"),
            ("4a65616e2d426170746973746520536179",
             "3e40f15f6f3a46ae446b253bf8b1d9ffb6ed9b174d272328ff91a7e2e5c79c07f5"),
            ("457567656e2042f6686d20766f6e2042617765726b",
             "eb3f3515110702e047a6c9da4478b6ead94873c11c0f2d710ddb3f09fce024b3"
             "a58502ae3f"),
        ]),
    "snow": dict(
        prologue="5468657265206973206e6f20726967687420616e642077726f6e672e20546865"
                 "72652773206f6e6c792066756e20616e6420626f72696e672e",
        init_static="7dec208517a3b81a2861d7a71266d5d6dc944c5a8816634a86fe63198a0148ee",
        init_ephemeral="a32daf21e93c0131495ce1d903181fde81cc46937daaeb990bae7c992709421e",
        resp_static="4d0aed5098e3b4ef20357e9f686ce66204c792b358da2e475017d6c485304881",
        resp_ephemeral="4eece0f195d026db035ff987597c429d3ad3bcc2944df37d649528951b2a27c5",
        handshake_hash=None,
        messages=[
            ("d03c489139e645d0711a3c9e810d776b46a84912463fafa87b884eebf242dc34",
             "f9fa868ba97ab8a2686deccfaad5a484ee10a5bb85e3d1dce015a84797f92818"
             "d03c489139e645d0711a3c9e810d776b46a84912463fafa87b884eebf242dc34"),
            ("d8190a92f7dc0c93dbea9118ba8055751fb7c6590c416ffbd419964132b99a85",
             "8c4e6fdb7d09d501a86f7eca5c234522751706ed409182c05cdf5f827d4dae47"
             "b81c6c5f43b025692c24391eefee725c17d8cb0fbe3e4abb8aedf42c4fd2592d"
             "4ea48ac08989d6ae8b4adae08b2c34087c808c7aa55a63c02b0fab9e93061233"
             "6bd43eaea04d3c670a0a146691aa9cc9d357872320dc735dbc48580cffb553db"),
            ("77891b19dcb92ef7c055b672c4a5aa7fdf1c84146b8b303459022729473ce254",
             "933ca6b5ed60df3df66121f0ab49a09e49efa45c613a86a3cecbf4c535cef2f8"
             "3f72b42837b18e3572f2fdc2b74c331e2368a545cef54bdca081678ab0e9dd53"
             "48122459e0c034c851984d88ce610963d43cde6cfe73a67fbd5a63e8bfca96d0"),
            ("d7efdf988072881941db045a42882433817555128fbf5663e56081712ec7d212",
             "54ef0ff0629e1aaa7685a2806ab111cba76b52331f2642276736f415868eacb6"
             "9ab2577f3bda0cbf72f879685f6ed25f"),
            ("dd7bf01a588bafb52c6cfba952e5d8fe35cc2b3f92b4730ae2474615157345ce",
             "356be70f110306d5c699bb834bb9d58d909e325924dfbec972e406e6f294dc63"
             "e1daebefe8a62a334facc8048ab4ad66"),
        ]),
}


def _pair(vector):
    h = bytes.fromhex
    prologue = h(vector["prologue"])
    initiator = XXHandshake(True, KeyPair(h(vector["init_static"])), prologue,
                            ephemeral=KeyPair(h(vector["init_ephemeral"])))
    responder = XXHandshake(False, KeyPair(h(vector["resp_static"])), prologue,
                            ephemeral=KeyPair(h(vector["resp_ephemeral"])))
    return initiator, responder


class PublishedVectorTests(SynchronousTestCase):
    """Every byte of the published transcripts."""

    def check(self, name):
        vector = VECTORS[name]
        initiator, responder = _pair(vector)
        messages = vector["messages"]
        for i, (payload, ciphertext) in enumerate(messages[:3]):
            sender, receiver = (initiator, responder) if i % 2 == 0 else (responder, initiator)
            written = sender.writeMessage(bytes.fromhex(payload))
            self.assertEqual(written.hex(), ciphertext, f"handshake message {i + 1}")
            self.assertEqual(receiver.readMessage(written).hex(), payload)
        self.assertTrue(initiator.finished and responder.finished)
        self.assertEqual(initiator.handshakeHash, responder.handshakeHash)
        if vector["handshake_hash"]:
            self.assertEqual(initiator.handshakeHash.hex(), vector["handshake_hash"])
        self.assertEqual(initiator.rs, KeyPair(bytes.fromhex(vector["resp_static"])).public)
        self.assertEqual(responder.rs, KeyPair(bytes.fromhex(vector["init_static"])).public)
        i_send, r_send = initiator.split()
        r_recv, i_recv = responder.split()
        for i, (payload, ciphertext) in enumerate(messages[3:], start=3):
            send, receive = (i_send, r_recv) if i % 2 == 0 else (r_send, i_recv)
            written = send.encryptWithAd(b"", bytes.fromhex(payload))
            self.assertEqual(written.hex(), ciphertext, f"transport message {i + 1}")
            self.assertEqual(receive.decryptWithAd(b"", written).hex(), payload)

    def test_cacophony(self):
        self.check("cacophony")

    def test_snow(self):
        self.check("snow")


class FailureTests(SynchronousTestCase):
    """What the specification makes a failure is one."""

    def test_alteredHandshake(self):
        """A flipped bit anywhere in message 2 after its ephemeral key, or
        in message 3, fails to decrypt."""
        vector = VECTORS["cacophony"]
        for message in (1, 2):
            for index in (32 if message == 1 else 0, -1):
                initiator, responder = _pair(vector)
                first = initiator.writeMessage()
                responder.readMessage(first)
                second = responder.writeMessage()
                if message == 1:
                    altered = bytearray(second)
                    altered[index] ^= 1
                    self.assertRaises(NoiseError, initiator.readMessage, altered)
                    continue
                initiator.readMessage(second)
                altered = bytearray(initiator.writeMessage())
                altered[index] ^= 1
                self.assertRaises(NoiseError, responder.readMessage, altered)

    def test_truncated(self):
        """Messages too short for their keys fail."""
        initiator, responder = _pair(VECTORS["snow"])
        self.assertRaises(NoiseError, responder.readMessage, b"\x01" * 31)

    def test_transportOrder(self):
        """A transport message out of order, replayed or shorter than a
        tag fails, and a failure does not use up the nonce."""
        sender, receiver = CipherState(b"\x07" * 32), CipherState(b"\x07" * 32)
        first = sender.encryptWithAd(b"", b"first")
        second = sender.encryptWithAd(b"", b"second")
        self.assertRaises(NoiseError, receiver.decryptWithAd, b"", second)
        self.assertRaises(NoiseError, receiver.decryptWithAd, b"", first[:15])
        self.assertEqual(receiver.decryptWithAd(b"", first), b"first")
        self.assertRaises(NoiseError, receiver.decryptWithAd, b"", first)
        self.assertEqual(receiver.decryptWithAd(b"", second), b"second")

    def test_lastNonce(self):
        """Nonce 2^64-1 is never used."""
        cipher = CipherState(b"\x01" * 32)
        cipher.n = 2**64 - 2
        cipher.encryptWithAd(b"", b"last")
        self.assertRaises(NoiseError, cipher.encryptWithAd, b"", b"more")

    def test_lowOrderKey(self):
        """A peer ephemeral key of low order (all zeros) gives no shared
        secret: the DH that would use it is refused."""
        initiator, responder = _pair(VECTORS["snow"])
        responder.readMessage(b"\x00" * 32)
        self.assertRaises(NoiseError, responder.writeMessage)
        initiator.writeMessage()
        self.assertRaises(NoiseError, initiator.readMessage, b"\x00" * 96)


class AesGcmTests(SynchronousTestCase):
    """The other cipher function, AESGCM (specification section 12.4)."""

    def test_nonceIsBigEndian(self):
        """Its nonce is 32 zero bits, then n as 64 bits big-endian (where
        ChaChaPoly's is little-endian)."""
        key = b"\x05" * 32
        cipher = CipherState(key, "AESGCM")
        cipher.n = 258
        sealed = cipher.encryptWithAd(b"ad", b"text")
        nonce = bytes(4) + (258).to_bytes(8, "big")
        self.assertEqual(sealed, AESGCM(key).encrypt(nonce, b"text", b"ad"))
        self.assertEqual(cipher.n, 259)
        receiver = CipherState(key, "AESGCM")
        receiver.n = 258
        self.assertEqual(receiver.decryptWithAd(b"ad", sealed), b"text")

    def test_chachaPolyUnchanged(self):
        """A CipherState is ChaChaPoly unless told, nonce little-endian."""
        key = b"\x05" * 32
        cipher = CipherState(key)
        cipher.n = 258
        nonce = bytes(4) + (258).to_bytes(8, "little")
        self.assertEqual(cipher.encryptWithAd(b"", b"text"),
                         ChaCha20Poly1305(key).encrypt(nonce, b"text", b""))

    def test_derived(self):
        """A derived CipherState: key HMAC-SHA256(HMAC-SHA256(k, label),
        0x01) (HKDF's first output, written out here from section 4.3),
        nonce from 0, the cipher function asked for; the original is left
        as it was."""
        key = b"\x09" * 32
        old = CipherState(key)
        old.n = 7
        new = old.derived("AESGCM", b"label")
        expected = hmac.digest(hmac.digest(key, b"label", "sha256"), b"\x01", "sha256")
        self.assertEqual((new.k, new.n, new.cipherName), (expected, 0, "AESGCM"))
        self.assertEqual((old.k, old.n, old.cipherName), (key, 7, "ChaChaPoly"))
        self.assertEqual(new.encryptWithAd(b"", b"x"),
                         AESGCM(expected).encrypt(bytes(12), b"x", b""))


class HkdfTests(SynchronousTestCase):
    def test_threeOutputs(self):
        """The third output chains on the second, as the first two do."""
        one, two, three = hkdf(b"k" * 32, b"ikm", 3)
        self.assertEqual((one, two), hkdf(b"k" * 32, b"ikm", 2))
        self.assertEqual(len({one, two, three}), 3)
