"""
Tests for L{twisted_bazaar.channel.session}: the channel's framing, identity
payloads and failures (docs/protocol.md §2.1), bytes in and bytes out.
"""

import hmac
import json
import os
import random
import re

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from twisted.trial.unittest import SynchronousTestCase

from tests.contract.test_channel import vectors
from twisted_bazaar.identity.keys import Identity, decode
from twisted_bazaar.channel import session as channel
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.channel.session import (
    KEYED_PAYLOAD,
    MAX_PLAINTEXT,
    MESSAGE_2,
    MESSAGE_3,
    REFUSAL,
    STATIC_KEY_CONTEXT,
    ChannelError,
    ChannelKey,
    Session,
    UpgradeRequired,
)


def identityFrom(seed):
    return Identity(Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


def pair(opener_identity=None, acceptor_identity=None):
    return (Session(True, ChannelKey.generate(opener_identity)),
            Session(False, ChannelKey.generate(acceptor_identity)))


def handshake(opener, acceptor):
    """Run the three messages; return them as sent."""
    first = opener.start()
    second, plain = acceptor.receive(first)
    third, more = opener.receive(second)
    nothing, last = acceptor.receive(third)
    assert (plain, more, nothing, last) == (b"", b"", b"", b"")
    return first, second, third


class HandshakeTests(SynchronousTestCase):

    def test_keyed(self):
        """Each side learns the key the other proved; the lengths are the
        documented ones."""
        alice, bob = identityFrom(1), identityFrom(2)
        opener, acceptor = pair(alice, bob)
        first, second, third = handshake(opener, acceptor)
        self.assertEqual(first[:2], b"\x00\x20")
        self.assertEqual((len(first), len(second), len(third)),
                         (2 + 32, 2 + MESSAGE_2[1], 2 + MESSAGE_3[1]))
        self.assertTrue(opener.established and acceptor.established)
        self.assertEqual(opener.peerKey, decode(bob.key))
        self.assertEqual(acceptor.peerKey, decode(alice.key))
        self.assertEqual(opener.handshakeHash, acceptor.handshakeHash)

    def test_keyless(self):
        """A peer without a key proves nothing: peerKey None, shorter
        messages, and the channel still encrypts."""
        opener, acceptor = pair(None, identityFrom(2))
        first, second, third = handshake(opener, acceptor)
        self.assertEqual(len(third), 2 + MESSAGE_3[0])
        self.assertIsNone(acceptor.peerKey)
        self.assertEqual(opener.peerKey, decode(identityFrom(2).key))
        sealed = opener.seal(b"5:hello,")
        self.assertNotIn(b"hello", sealed)
        self.assertEqual(acceptor.receive(sealed), (b"", b"5:hello,"))

    def test_byteByByte(self):
        """Bytes may come one at a time, in any split."""
        opener, acceptor = pair(identityFrom(1), identityFrom(2))
        replies = []
        for byte in opener.start():
            reply, _ = acceptor.receive(bytes([byte]))
            replies.append(reply)
        second = b"".join(replies)
        third = b"".join(opener.receive(bytes([b]))[0] for b in second)
        for b in third:
            acceptor.receive(bytes([b]))
        self.assertTrue(acceptor.established)
        stream = opener.seal(b"3:one,") + opener.seal(b"3:two,")
        plain = b"".join(acceptor.receive(bytes([b]))[1] for b in stream)
        self.assertEqual(plain, b"3:one,3:two,")

    def test_transportBothWays(self):
        """Each side seals with its own CipherState; long writes are split
        into messages of at most 65519 bytes of plaintext."""
        opener, acceptor = pair(identityFrom(1), identityFrom(2))
        handshake(opener, acceptor)
        big = random.Random(1).randbytes(3 * MAX_PLAINTEXT + 5)
        sealed = acceptor.seal(big)
        self.assertEqual(len(sealed), len(big) + 4 * (2 + 16))
        self.assertEqual(opener.receive(sealed), (b"", big))
        self.assertEqual(acceptor.receive(opener.seal(b"x"))[1], b"x")
        self.assertEqual(opener.seal(b""), b"")


def switched(opener_first=b"6:first,", acceptor_first=b"7:answer,"):
    """A channel whose ends each sent a message, the acceptor's sealed
    by its switch to AESGCM, then the opener's switch."""
    opener, acceptor = pair(identityFrom(1), identityFrom(2))
    handshake(opener, acceptor)
    assert acceptor.receive(opener.seal(opener_first)) == (b"", opener_first)
    answer = acceptor.switchCipher("AESGCM", acceptor_first)
    assert opener.receive(answer) == (b"", acceptor_first)
    assert opener.switchCipher("AESGCM") == b""
    return opener, acceptor


class SwitchTests(SynchronousTestCase):
    """L{Session.switchCipher}: a transfer connection's switch to AESGCM
    (docs/protocol.md §19.1)."""

    def test_bothWays(self):
        """After the switch both ends seal and open with AESGCM: long
        writes split as before, each side's new key its own."""
        opener, acceptor = switched()
        self.assertEqual((opener.cipher, acceptor.cipher), ("AESGCM", "AESGCM"))
        big = random.Random(2).randbytes(2 * MAX_PLAINTEXT + 9)
        sealed = opener.seal(big)
        self.assertEqual(len(sealed), len(big) + 3 * (2 + 16))
        self.assertEqual(acceptor.receive(sealed), (b"", big))
        self.assertEqual(opener.receive(acceptor.seal(b"3:yes,")), (b"", b"3:yes,"))
        self.assertNotEqual(opener.seal(b"5:same,"), acceptor.seal(b"5:same,"))

    def test_oldCipherAfterTheSwitch(self):
        """A message sealed with ChaChaPoly after the switch, or one
        replayed from before it, does not open."""
        opener, acceptor = pair(identityFrom(1), identityFrom(2))
        handshake(opener, acceptor)
        before = opener.seal(b"6:first,")
        acceptor.receive(before)
        late = opener.seal(b"4:late,")
        acceptor.switchCipher("AESGCM")
        self.assertRaises(ChannelError, acceptor.receive, late)
        opener, acceptor = switched()
        replayed = opener.seal(b"4:next,")
        acceptor.receive(replayed)
        self.assertRaises(ChannelError, acceptor.receive, replayed)

    def test_notBeforeTheChannelIsUp(self):
        opener, _ = pair(identityFrom(1), identityFrom(2))
        opener.start()
        with self.assertRaises(ChannelError) as caught:
            opener.switchCipher("AESGCM")
        self.assertIn("before the channel is up", caught.exception.reason)

    def test_unknownCipher(self):
        opener, acceptor = pair(identityFrom(1), identityFrom(2))
        handshake(opener, acceptor)
        with self.assertRaises(ChannelError) as caught:
            opener.switchCipher("ChaChaPoly")
        self.assertEqual(caught.exception.reason,
                         "no cipher function ChaChaPoly to switch to")
        self.assertEqual(opener.cipher, "ChaChaPoly")

    def test_once(self):
        """A channel switches once: a second switch is refused (its keys
        and nonces would start again)."""
        opener, _ = switched()
        with self.assertRaises(ChannelError) as caught:
            opener.switchCipher("AESGCM")
        self.assertEqual(caught.exception.reason,
                         "the cipher was switched to AESGCM already")

    def test_partOfAMessageAfter(self):
        """Bytes of a message after the switch's, read with it, were sealed
        before the peer could know of the switch: refused."""
        opener, acceptor = pair(identityFrom(1), identityFrom(2))
        handshake(opener, acceptor)
        acceptor.receive(opener.seal(b"6:first,") + opener.seal(b"5:more,")[:5])
        with self.assertRaises(ChannelError) as caught:
            acceptor.switchCipher("AESGCM")
        self.assertIn("came after the one that ended", caught.exception.reason)

    def test_emptyMessageAfter(self):
        """So is a message that carried nothing after it (its plaintext
        shows no trace of it above the channel)."""
        opener, acceptor = pair(identityFrom(1), identityFrom(2))
        handshake(opener, acceptor)
        first = opener.seal(b"6:first,")
        empty = opener._send.encryptWithAd(b"", b"")
        acceptor.receive(first + b"\x00\x10" + empty)
        self.assertRaises(ChannelError, acceptor.switchCipher, "AESGCM")

    def test_emptyMessageBefore(self):
        """A message that carried nothing before the last one is no
        fault."""
        opener, acceptor = pair(identityFrom(1), identityFrom(2))
        handshake(opener, acceptor)
        empty = opener._send.encryptWithAd(b"", b"")
        acceptor.receive(b"\x00\x10" + empty + opener.seal(b"6:first,"))
        acceptor.switchCipher("AESGCM")
        self.assertEqual(acceptor.cipher, "AESGCM")


class ReceiveTests(SynchronousTestCase):
    """What the receiver hands up, however the bytes are split."""

    def test_messagesAfterTheHandshakesLast(self):
        """Transport messages in the same read as handshake message 3 are
        opened with it."""
        opener, acceptor = pair(identityFrom(1), identityFrom(2))
        second, _ = acceptor.receive(opener.start())
        third, _ = opener.receive(second)
        self.assertEqual(
            acceptor.receive(third + opener.seal(b"3:one,") + opener.seal(b"3:two,")),
            (b"", b"3:one,3:two,"))

    def test_aMessageAcrossReads(self):
        """A message split across reads at every place, its length bytes
        included, is opened once complete, and the whole messages after it
        in the same read with it."""
        opener, acceptor = pair(identityFrom(1), identityFrom(2))
        handshake(opener, acceptor)
        first = 2 + len(b"5:hello,") + 16
        for split in range(1, 30):
            stream = opener.seal(b"5:hello,") + opener.seal(b"5:world,") + opener.seal(b"1:!,")
            before = acceptor.receive(stream[:split])[1]
            after = acceptor.receive(stream[split:])[1]
            self.assertEqual(before, b"5:hello," if split >= first else b"")
            self.assertEqual(before + after, b"5:hello,5:world,1:!,")


class FailureTests(SynchronousTestCase):

    def test_plaintextPeer(self):
        """A peer that opens with a netstring is told, in plaintext, that
        the port it dialled speaks only the channel: the same words from a
        tracker as from a node (they said "this node" from a tracker)."""
        acceptor = Session(False, ChannelKey.generate(identityFrom(2)))
        with self.assertRaises(ChannelError) as caught:
            acceptor.receive(b'47:{"type":"thisisme"')
        self.assertEqual(caught.exception.reply, REFUSAL)
        self.assertTrue(REFUSAL.startswith(b'100:{"type":"error","code":"wtf","info":'))
        self.assertIn("does not speak", caught.exception.reason)
        info = json.loads(REFUSAL.split(b":", 1)[1][:-1])["info"]
        self.assertEqual(info, "this port speaks only the encrypted channel (protocol.md §2)")
        # A message 1 of another length is refused so too (§2.1's first row).
        with self.assertRaises(ChannelError) as caught:
            Session(False, ChannelKey.generate()).receive(b"\x00\x21")
        self.assertEqual(caught.exception.reply, REFUSAL)

    def test_webServerAnswers(self):
        """An opener that reached a web server is told so, however the
        answer is split, not that its message 2 is 18516 bytes long."""
        for split in (len(b"HTTP/1.1 400"), 1, 2, 4):
            opener = Session(True, ChannelKey.generate())
            opener.start()
            answer = b"HTTP/1.1 400 Bad Request\r\n"
            with self.assertRaises(ChannelError) as caught:
                self.assertEqual(opener.receive(answer[:split]), (b"", b""))
                opener.receive(answer[split:])
            self.assertEqual(caught.exception.reason,
                             "the peer answered in HTTP, not the encrypted channel: "
                             "a web server (a daemon's --web view or --metrics, say)")

    def test_anUpgradeRequiredIsSaid(self):
        """An opener answered HTTP 426 (a port of another protocol, which a
        client took for a plain one) is told the answer's reason phrase,
        however the answer is split, HOST:PORT in it naming the address
        dialled (issue 96: a WebSocket port's, where it was told at best
        to try tls:); only printable ASCII of it, at most its first 256
        bytes; another status is a web server's."""
        answer = b"HTTP/1.1 426 this port speaks X, reached at x:HOST:PORT\r\n\r\n"
        for split in (len(b"HTTP/1.1 426"), 1, 5, 30):
            opener = Session(True, ChannelKey.generate())
            opener.start()
            with self.assertRaises(UpgradeRequired) as caught:
                self.assertEqual(opener.receive(answer[:split]), (b"", b""))
                opener.receive(answer[split:])
            self.assertEqual(caught.exception.at("10.0.0.1", 80),
                             "the peer answered in HTTP, not the encrypted channel: "
                             "426 this port speaks X, reached at x:10.0.0.1:80")
        opener = Session(True, ChannelKey.generate())
        opener.start()
        with self.assertRaises(UpgradeRequired) as caught:
            opener.receive(b"HTTP/1.1 426 \x1b[31mred\xff" + b"a" * 400)
        self.assertEqual(caught.exception.reason,
                         "the peer answered in HTTP, not the encrypted channel: 426 "
                         "\\x1b[31mred\ufffd"
                         + "a" * (256 - len("HTTP/1.1 426 \x1b[31mred\xff")))
        opener = Session(True, ChannelKey.generate())
        opener.start()
        with self.assertRaises(ChannelError) as caught:
            opener.receive(b"HTTP/1.0 404 Not Found\r\n")
        self.assertNotIsInstance(caught.exception, UpgradeRequired)

    def test_wrongLengths(self):
        """A message 2 or 3 of another length is refused as soon as its
        length arrives."""
        opener = Session(True, ChannelKey.generate())
        opener.start()
        self.assertRaises(ChannelError, opener.receive, b"\x00\x61")
        opener, acceptor = pair()
        acceptor.receive(opener.start())
        self.assertRaises(ChannelError, acceptor.receive, b"\x00\x41")

    def test_flippedBits(self):
        """A flipped bit in message 2, message 3 or a transport message
        breaks the channel."""
        for target in (1, 2, 3):
            opener, acceptor = pair(identityFrom(1), identityFrom(2))
            second, _ = acceptor.receive(opener.start())
            if target == 1:
                altered = bytearray(second)
                altered[-1] ^= 0x80
                self.assertRaises(ChannelError, opener.receive, bytes(altered))
                continue
            third, _ = opener.receive(second)
            if target == 2:
                altered = bytearray(third)
                altered[40] ^= 1
                self.assertRaises(ChannelError, acceptor.receive, bytes(altered))
                continue
            acceptor.receive(third)
            altered = bytearray(opener.seal(b"5:hello,"))
            altered[5] ^= 1
            self.assertRaises(ChannelError, acceptor.receive, bytes(altered))

    def test_shortTransportMessage(self):
        opener, acceptor = pair()
        handshake(opener, acceptor)
        self.assertRaises(ChannelError, acceptor.receive, b"\x00\x0f" + b"\x00" * 15)

    def test_replayedOrDropped(self):
        """A transport message replayed, or one missing, breaks the channel."""
        opener, acceptor = pair()
        handshake(opener, acceptor)
        first, second = opener.seal(b"1"), opener.seal(b"2")
        self.assertRaises(ChannelError, acceptor.receive, second)
        opener, acceptor = pair()
        handshake(opener, acceptor)
        first = opener.seal(b"1")
        acceptor.receive(first)
        self.assertRaises(ChannelError, acceptor.receive, first)

    def test_signatureOverAnotherStaticKey(self):
        """An identity payload copied from another handshake (a signature
        of another static key) proves nothing: refused."""
        victim = ChannelKey.generate(identityFrom(2))
        thief = ChannelKey.generate()
        thief.payload = victim.payload
        opener = Session(True, ChannelKey.generate())
        acceptor = Session(False, thief)
        second, _ = acceptor.receive(opener.start())
        with self.assertRaises(ChannelError) as caught:
            opener.receive(second)
        self.assertIn("does not verify", caught.exception.reason)

    def test_proofCheckedOnce(self):
        """A peer that proves the same key over the same static key again
        (each handshake of a node that dials again) has its signature
        checked once: the answer is remembered."""
        channel._signs.cache_clear()
        checked = []

        class Counting:
            @staticmethod
            def from_public_bytes(key):
                checked.append(key)
                return Ed25519PublicKey.from_public_bytes(key)

        self.patch(channel, "Ed25519PublicKey", Counting)
        bob = ChannelKey.generate(identityFrom(2))
        for _ in range(3):
            opener = Session(True, ChannelKey.generate())
            handshake(opener, Session(False, bob))
            self.assertEqual(opener.peerKey, decode(identityFrom(2).key))
        self.assertEqual(len(checked), 1)

    def test_rememberedProofOnlyForItsStaticKey(self):
        """A payload whose check was remembered for one static key proves
        nothing for another: copied into another handshake, refused."""
        victim = ChannelKey.generate(identityFrom(2))
        handshake(Session(True, ChannelKey.generate()), Session(False, victim))
        thief = ChannelKey.generate()
        thief.payload = victim.payload
        opener = Session(True, ChannelKey.generate())
        second, _ = Session(False, thief).receive(opener.start())
        with self.assertRaises(ChannelError) as caught:
            opener.receive(second)
        self.assertIn("does not verify", caught.exception.reason)

    def test_payloadSizes(self):
        """An identity payload of any size but 0 and 96 is refused."""
        for size in (1, 32, KEYED_PAYLOAD - 1, KEYED_PAYLOAD + 1):
            odd = ChannelKey.generate()
            odd.payload = b"\x01" * size
            opener, acceptor = Session(True, odd), Session(False, ChannelKey.generate())
            second, _ = acceptor.receive(opener.start())
            # Message 3's length gives it away before the payload is read.
            third, _ = opener.receive(second)
            self.assertRaises(ChannelError, acceptor.receive, third)

    def test_signedText(self):
        """The payload is the key, then its signature of the context and
        the static key."""
        identity = identityFrom(3)
        key = ChannelKey.fromSecrets(bytes(range(32)), identity)
        self.assertEqual(key.payload[:32], decode(identity.key))
        self.assertEqual(key.payload[32:], decode(identity.sign(
            STATIC_KEY_CONTEXT + key.publicStatic)))


class PinnedKeyTests(SynchronousTestCase):
    """An opener that pins the key its peer must prove (a node's
    --tracker-key)."""

    def test_theKeyPinned(self):
        tracker = identityFrom(2)
        opener = Session(True, ChannelKey.generate(identityFrom(1)),
                         expected=decode(tracker.key))
        acceptor = Session(False, ChannelKey.generate(tracker))
        handshake(opener, acceptor)
        self.assertTrue(opener.established and acceptor.established)

    def test_anotherKeyFailsBeforeTheOpenerProvesItself(self):
        """The opener reads message 2, sees another key, and fails: it
        never sends message 3, so the impostor learns nothing of it."""
        pinned, impostor = identityFrom(2), identityFrom(3)
        opener = Session(True, ChannelKey.generate(identityFrom(1)),
                         expected=decode(pinned.key))
        acceptor = Session(False, ChannelKey.generate(impostor))
        second, _ = acceptor.receive(opener.start())
        error = self.assertRaises(ChannelError, opener.receive, second)
        self.assertIn(f"proved key {impostor.key}, not the pinned {pinned.key}",
                      error.reason)
        self.assertFalse(opener.established)

    def test_noKeyFails(self):
        opener = Session(True, ChannelKey.generate(),
                         expected=decode(identityFrom(2).key))
        acceptor = Session(False, ChannelKey.generate())
        second, _ = acceptor.receive(opener.start())
        error = self.assertRaises(ChannelError, opener.receive, second)
        self.assertIn("the peer proved no key", error.reason)


class ExpectedIdTests(SynchronousTestCase):
    """An opener that knows its peer by its id alone (a --ws-peer's
    ID=HOST:PORT): a key of that id is taken, another refused before the
    opener proves itself."""

    def test_aKeyOfTheId(self):
        peer = identityFrom(2)
        opener = Session(True, ChannelKey.generate(identityFrom(1)), expected=peer.id)
        handshake(opener, Session(False, ChannelKey.generate(peer)))
        self.assertEqual(opener.peerKey, decode(peer.key))

    def test_anImpostorFailsBeforeTheOpenerProvesItself(self):
        expected, impostor = identityFrom(2), identityFrom(3)
        for acceptorKey, proven in ((ChannelKey.generate(impostor),
                                     f"key {impostor.key}"),
                                    (ChannelKey.generate(), "no key")):
            opener = Session(True, ChannelKey.generate(identityFrom(1)),
                             expected=expected.id)
            second, _ = Session(False, acceptorKey).receive(opener.start())
            error = self.assertRaises(ChannelError, opener.receive, second)
            self.assertIn(f"proved {proven}, not a key of node {shortId(expected.id)}",
                          error.reason)
            self.assertFalse(opener.established)


class AcceptorExpectsTests(SynchronousTestCase):
    """An acceptor that knows whom it expects (a punched connection's)."""

    def test_theKeyExpected(self):
        peer = identityFrom(1)
        opener = Session(True, ChannelKey.generate(peer))
        acceptor = Session(False, ChannelKey.generate(identityFrom(2)),
                           expected=decode(peer.key))
        handshake(opener, acceptor)
        self.assertTrue(opener.established and acceptor.established)

    def test_anotherKeyFailsBeforeTheAcceptorSeals(self):
        """The acceptor reads message 3, sees another key, and fails: it
        never becomes established, so it seals nothing for the impostor."""
        expected, impostor = identityFrom(1), identityFrom(3)
        opener = Session(True, ChannelKey.generate(impostor))
        acceptor = Session(False, ChannelKey.generate(identityFrom(2)),
                           expected=decode(expected.key))
        second, _ = acceptor.receive(opener.start())
        third, _ = opener.receive(second)
        error = self.assertRaises(ChannelError, acceptor.receive, third)
        self.assertIn(f"proved key {impostor.key}, not the pinned {expected.key}",
                      error.reason)
        self.assertFalse(acceptor.established)


def switchVectors():
    """name -> hex, from the switch's test vectors in docs/protocol.md §19.1."""
    path = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "protocol.md")
    text = open(path, encoding="utf-8").read()
    section = text[text.index("**Switch test vectors.**"):text.index("### 19.2")]
    [block] = re.findall(r"```\n(.*?)```", section, re.S)
    found = {}
    for line in block.splitlines():
        name, _, value = line.rpartition(" ")
        found[name.strip()] = value
    return found


class DocumentVectorTests(SynchronousTestCase):
    """docs/protocol.md §2.1's test vectors, from this implementation (the
    contract suite checks its own against the same text)."""

    def run_(self, opener_identity):
        opener = Session(True, ChannelKey.fromSecrets(bytes(range(32)), opener_identity),
                         ephemeral=bytes(range(32, 64)))
        acceptor = Session(False, ChannelKey.fromSecrets(bytes(range(64, 96)),
                                                          identityFrom(0x22)),
                           ephemeral=bytes(range(96, 128)))
        first, second, third = handshake(opener, acceptor)
        return opener, acceptor, first, second, third

    def test_keyed(self):
        v = vectors()
        opener, acceptor, first, second, third = self.run_(identityFrom(0x11))
        self.assertEqual((first.hex(), second.hex(), third.hex()),
                         (v["message 1"], v["message 2"], v["message 3"]))
        self.assertEqual(opener.handshakeHash.hex(), v["handshake hash"])
        self.assertEqual(opener.seal(b"5:hello,").hex(),
                         v["opener's first transport message, plaintext 5:hello,"])
        self.assertEqual(acceptor.seal(b"5:world,").hex(),
                         v["acceptor's first transport message, plaintext 5:world,"])

    def test_switch(self):
        """§19.1's switch to AESGCM, after the keyed handshake: the request
        and the answer, the keys written out from the HKDF the document
        gives, and the first AESGCM messages."""
        v = switchVectors()
        opener, acceptor, *_ = self.run_(identityFrom(0x11))
        request = b'33:{"type":"cipher","name":"AESGCM"},'
        sealed = opener.seal(request)
        self.assertEqual(sealed.hex(), v["request, the opener's first transport message"])
        self.assertEqual(acceptor.receive(sealed), (b"", request))
        answer = acceptor.switchCipher("AESGCM", request)
        self.assertEqual(answer.hex(), v["answer, the acceptor's first transport message"])
        self.assertEqual(opener.receive(answer), (b"", request))
        opener.switchCipher("AESGCM")
        hello = opener.seal(b"5:hello,")
        world = acceptor.seal(b"5:world,")
        # The keys as the document derives them, each checked against the
        # bytes it seals (nonce 0 in each direction, then 0 again).
        for side, first, second, plain in (("opener", sealed, hello, b"5:hello,"),
                                           ("acceptor", answer, world, b"5:world,")):
            old = bytes.fromhex(v[f"{side}'s ChaChaPoly key"])
            new = hmac.digest(hmac.digest(old, b"bazaar-cipher:AESGCM", "sha256"),
                              b"\x01", "sha256")
            self.assertEqual(new.hex(), v[f"{side}'s AESGCM key"])
            self.assertEqual(ChaCha20Poly1305(old).decrypt(bytes(12), first[2:], b""),
                             request)
            self.assertEqual(AESGCM(new).decrypt(bytes(12), second[2:], b""), plain)
        self.assertEqual(hello.hex(),
                         v["opener's second transport message, plaintext 5:hello,"])
        self.assertEqual(world.hex(),
                         v["acceptor's second transport message, plaintext 5:world,"])
        self.assertEqual(acceptor.receive(hello), (b"", b"5:hello,"))
        self.assertEqual(opener.receive(world), (b"", b"5:world,"))

    def test_keylessOpener(self):
        v = vectors()
        opener, acceptor, first, second, third = self.run_(None)
        self.assertEqual(third.hex(), v["keyless message 3"])
        self.assertEqual(acceptor.handshakeHash.hex(), v["keyless handshake hash"])
