"""
The encrypted channel every connection of the market starts with
(docs/protocol.md §2.1), without I/O: bytes in, bytes out.

A L{Session} runs the Noise XX handshake of L{twisted_bazaar.channel.noise}
with this process's L{ChannelKey}, frames each Noise message with a 2-byte
length, proves the node's Ed25519 key in the handshake's payloads (a
signature of its static X25519 key, as libp2p-noise does), and then seals
and opens the byte stream that the netstrings of §2.2 run in.  Whatever
the peer proved is L{Session.peerKey}: the links above check that a
peer's ``thisisme`` names that key and no other.

The Twisted side (a protocol wrapper) is L{twisted_bazaar.net.encrypted};
blocking test clients use L{twisted_bazaar.testing.channelsocket}.
"""

import functools
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.text import shown
from twisted_bazaar.channel.noise import (
    AESGCM_NAME,
    CHACHAPOLY,
    TAGLEN,
    KeyPair,
    NoiseError,
    XXHandshake,
)
from twisted_bazaar.identity.keys import decode, deriveId, encode
from twisted_bazaar.wire.ids import shortId

#: Bound into the handshake: a peer of another protocol fails it.
PROLOGUE = b"twisted-bazaar/1"
#: The cipher functions a channel may switch to (docs/protocol.md §19.1),
#: and what each direction's new key is derived with from its key.
SWITCHES = (AESGCM_NAME,)
SWITCH_LABEL = b"bazaar-cipher:"
#: What an identity payload's signature signs, before the static key.
STATIC_KEY_CONTEXT = b"bazaar-noise-static-key:"
#: Bytes of a Noise message's length prefix, and the longest message.
LENGTH_BYTES = 2
MAX_MESSAGE = 65535
#: The most plaintext one transport message carries.
MAX_PLAINTEXT = MAX_MESSAGE - TAGLEN
#: An identity payload: an Ed25519 key and its signature, or nothing.
KEYED_PAYLOAD = 32 + 64
#: The identity payloads whose check is remembered (L{provenKey}).
PROOFS_KEPT = 1024
#: The wire lengths of handshake messages 2 and 3 (keyless, keyed).
MESSAGE_2 = (96, 96 + KEYED_PAYLOAD)
MESSAGE_3 = (64, 64 + KEYED_PAYLOAD)
#: How message 1 (an ephemeral key, no payload) starts on the wire.
MESSAGE_1_PREFIX = (32).to_bytes(LENGTH_BYTES, "big")
#: How an HTTP server's answer starts: the opener's handshake is answered
#: so by a web server (at once by a daemon's web view and metrics,
#: L{twisted_bazaar.daemon.site}), never by a peer of the channel, whose
#: message 2 starts with its length (96 or 192).
HTTP_REPLY = b"HTTP/"
#: The most of an HTTP answer's status line the opener reads (its
#: version, status and reason phrase) before it says what answered.
STATUS_LINE_BYTES = 256
#: The status of an answer that says the port speaks another protocol:
#: its reason phrase, said to the opener's user, names how to reach it,
#: ``HOST:PORT`` standing for the address dialled (L{UpgradeRequired}).
UPGRADE_REQUIRED = b"426"
#: What an acceptor says, in plaintext, to a peer that does not speak the
#: channel (a netstring of protocol.md §2.2), before it closes.
REFUSAL_INFO = "this port speaks only the encrypted channel (protocol.md §2)"


def _refusal():
    payload = json.dumps({"type": "error", "code": "wtf", "info": REFUSAL_INFO},
                         ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return b"%d:%s," % (len(payload), payload)


REFUSAL = _refusal()


class ChannelError(Exception):
    """
    The peer broke the channel: the connection must close.

    @ivar reason: why, for the log.
    @ivar reply: plaintext to send before closing (the refusal of a peer
        that does not speak the channel), usually C{b""}.
    @ivar lasting: whether trying again cannot cure it (a pinned key the
        peer does not prove: an operator's mistake, or an impostor).
    """

    def __init__(self, reason, reply=b"", lasting=False):
        super().__init__(reason)
        self.reason = reason
        self.reply = reply
        self.lasting = lasting


class UpgradeRequired(ChannelError):
    """The opener's peer answered HTTP 426: the port speaks another
    protocol, which the answer's reason phrase names (bounded, what no
    reader should obey escaped: L{shown}), with how to reach it."""

    def at(self, host, port):
        """The reason, ``HOST:PORT`` in it naming the address dialled."""
        return self.reason.replace("HOST:PORT", hostPort(host, port))


class ChannelKey:
    """
    A process's static X25519 key pair, and its identity payload: the
    Ed25519 key of the node (or tracker) and its signature of the static
    key, made once; nothing for a peer without a key.
    """

    def __init__(self, static, identity=None):
        self.static = static
        self.identity = identity
        if identity is None:
            self.payload = b""
        else:
            signature = decode(identity.sign(STATIC_KEY_CONTEXT + static.public))
            self.payload = decode(identity.key) + signature

    @classmethod
    def generate(cls, identity=None):
        """A fresh static key, for identity (an
        L{twisted_bazaar.identity.keys.Identity}) or for no key."""
        return cls(KeyPair(), identity)

    @classmethod
    def fromSecrets(cls, static_private, identity=None):
        """A static key from its 32 private bytes (test vectors)."""
        return cls(KeyPair(static_private), identity)

    @property
    def publicStatic(self):
        return self.static.public


def provenKey(payload, static):
    """
    The Ed25519 key (raw) an identity payload proves for a peer whose
    static X25519 key is static, None for an empty payload.

    @raise ChannelError: for a payload of another size, or one whose
        signature does not verify.
    """
    if not payload:
        return None
    if len(payload) != KEYED_PAYLOAD:
        raise ChannelError(f"an identity payload of {len(payload)} bytes "
                           f"(0 or {KEYED_PAYLOAD})")
    key, signature = payload[:32], payload[32:]
    if not _signs(bytes(key), bytes(signature), bytes(static)):
        raise ChannelError("the identity payload's signature does not verify "
                           "with its key over the peer's static key")
    return key


@functools.lru_cache(maxsize=PROOFS_KEPT)
def _signs(key, signature, static):
    """
    Whether signature is key's of the context and the static key.
    Memoised: a peer's static key and its payload are the same in each of
    its handshakes (a node that dials another again and again checks its
    signature once), and the answer is a function of all three.
    """
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(
            signature, STATIC_KEY_CONTEXT + static)
    except (ValueError, InvalidSignature):
        return False
    return True


def _httpAnswer(line):
    """
    Raise why an opener's peer answered in HTTP, from the answer's status
    line: a 426's reason phrase is said (a port of another protocol says
    there how it is reached); any other answer is a web server's.

    @raise ChannelError: always.
    """
    _, _, rest = line.rstrip(b"\r\n").partition(b" ")
    code, _, phrase = rest.partition(b" ")
    if code == UPGRADE_REQUIRED:
        raise UpgradeRequired("the peer answered in HTTP, not the encrypted channel: "
                              f"426 {shown(phrase.decode('ascii', 'replace'))}")
    raise ChannelError("the peer answered in HTTP, not the encrypted channel: a web "
                       "server (a daemon's --web view or --metrics, say)")


class Session:
    """
    One connection's side of the channel.

    Call L{start} once (it gives the opener's first message), feed every
    byte received to L{receive}, and send what it returns; once
    L{established}, L{seal} what the layer above writes.  Any
    L{ChannelError} ends the connection.

    @ivar established: the handshake is done; L{peerKey} is known.
    @ivar peerKey: the peer's Ed25519 public key (32 raw bytes) that the
        handshake proved, or None for a keyless peer.
    @ivar handshakeHash: the handshake's hash, once established.
    """

    def __init__(self, initiator, key, ephemeral=None, expected=None, refusal=None):
        """
        @param key: this process's L{ChannelKey}.
        @param ephemeral: a fixed ephemeral key's 32 private bytes: for
            test vectors only.
        @param expected: the Ed25519 key (32 raw bytes) the peer must
            prove, or the handshake fails: an opener's pin fails it before
            the opener proves anything itself; an acceptor's (a punched
            connection's, whose ends both know whom they dial) as the
            opener's last message arrives, before the acceptor seals
            anything (None: any, or none).  Or a keyed node id (an int):
            the peer must prove a key of that id (L{deriveId}), for a peer
            known by its id alone (a peer its operator named by id).
        @param refusal: called with the key the peer proved (None for
            none) when it is not C{expected}: the reason the handshake
            fails, as the pin's owner words it (None: a generic one).
        """
        self.initiator = initiator
        self.key = key
        self.expected = expected
        self.refusal = refusal
        self._handshake = XXHandshake(
            initiator, key.static, PROLOGUE,
            ephemeral=None if ephemeral is None else KeyPair(ephemeral))
        self._buffer = bytearray()
        self._send = self._receive = None
        #: The last transport message opened carried no plaintext.
        self._lastEmpty = False
        self.established = False
        self.peerKey = None
        self.handshakeHash = None

    @property
    def cipher(self):
        """The cipher function of the transport messages: ChaChaPoly, or
        the one L{switchCipher} switched to."""
        return None if self._send is None else self._send.cipherName

    def switchCipher(self, name, last=b""):
        """
        Seal and open every transport message from the next one on, in
        each direction, with the cipher function C{name} (one of
        L{SWITCHES}), under a key derived from that direction's, nonces
        from 0 (docs/protocol.md §19.1).  Called where both sides know the
        last message of the old cipher ended: after opening the message
        that ends with the switch's request or answer, with the answer
        to seal (C{last}) if this side gives it.

        @return: C{last} sealed with the old cipher, to send before
            anything sealed after the switch.

        @raise ChannelError: the channel is not up or was switched already,
            or bytes of a message after that one came (part of one, or a
            message that carried nothing).
        """
        if not self.established:
            raise ChannelError("the cipher cannot change before the channel is up")
        if name not in SWITCHES:
            raise ChannelError(f"no cipher function {name} to switch to")
        if self.cipher != CHACHAPOLY:
            raise ChannelError(f"the cipher was switched to {self.cipher} already")
        if self._buffer or self._lastEmpty:
            raise ChannelError("a transport message came after the one that ended "
                               "with the cipher's switch")
        sealed = self.seal(last)
        label = SWITCH_LABEL + name.encode("ascii")
        self._send = self._send.derived(name, label)
        self._receive = self._receive.derived(name, label)
        return sealed

    def start(self):
        """What this side sends first: the opener's message 1, or nothing."""
        if not self.initiator:
            return b""
        return self._framed(self._handshake.writeMessage())

    @staticmethod
    def _framed(message):
        return len(message).to_bytes(LENGTH_BYTES, "big") + message

    def receive(self, data):
        """
        Take bytes from the peer: (bytes to send it now, plaintext for the
        layer above).  Whole messages are opened where they lie in data;
        only a part message is kept (copied) for the next call, and a
        message begun in an earlier call is completed with only the bytes
        it lacks: a bulk stream is not copied before it is opened (only
        the plaintexts are, joined into one string).

        @raise ChannelError: the peer broke the channel.
        """
        reply, plain = self._take(data)
        # A join of one part is that part, not a copy.
        return reply, b"".join(plain)

    def _take(self, data):
        """(bytes to send, the plaintexts of the messages data completes)."""
        if self.established:
            return b"", self._open(data)
        if self._buffer:
            self._buffer += data
            data = self._buffer
        if not self.initiator and self._handshake.index == 0:
            if len(data) >= LENGTH_BYTES and data[:LENGTH_BYTES] != MESSAGE_1_PREFIX:
                raise ChannelError("the peer does not speak the encrypted channel "
                                   f"(it began with {bytes(data[:8])!r})", REFUSAL)
        if self.initiator and self._handshake.index == 1:
            start = bytes(data[:len(HTTP_REPLY)])
            if HTTP_REPLY.startswith(start):
                if start == HTTP_REPLY:
                    end = data.find(b"\n", 0, STATUS_LINE_BYTES)
                    if end >= 0 or len(data) >= STATUS_LINE_BYTES:
                        _httpAnswer(bytes(data[:STATUS_LINE_BYTES if end < 0 else end]))
                self._buffer = bytearray(data)
                return b"", []
        out = []
        at = 0
        end = len(data)
        view = memoryview(data)
        try:
            while not self.established and end - at >= LENGTH_BYTES:
                size = (data[at] << 8) | data[at + 1]
                self._checkSize(size)
                stop = at + LENGTH_BYTES + size
                if stop > end:
                    break
                message = bytes(view[at + LENGTH_BYTES:stop])
                at = stop
                out.append(self._handshakeMessage(message))
        except NoiseError as e:
            raise ChannelError(str(e)) from None
        finally:
            self._buffer = bytearray(view[at:])
            view.release()
        plain = []
        if self.established and self._buffer:
            # Transport messages followed the handshake's last in data.
            rest, self._buffer = self._buffer, bytearray()
            plain = self._open(rest)
        return b"".join(out), plain

    def _open(self, data):
        """The plaintexts of the transport messages completed by data;
        the rest of data is kept for the next call."""
        decrypt = self._receive.decryptWithAd
        plain = []
        at = 0
        end = len(data)
        view = memoryview(data)
        try:
            pending = self._buffer
            if pending:
                self._buffer = bytearray()
                if len(pending) < LENGTH_BYTES:
                    at = min(LENGTH_BYTES - len(pending), end)
                    pending += view[:at]
                if len(pending) >= LENGTH_BYTES:
                    size = (pending[0] << 8) | pending[1]
                    lacking = LENGTH_BYTES + size - len(pending)
                    taken = min(lacking, end - at)
                    pending += view[at:at + taken]
                    at += taken
                    if taken == lacking:
                        plain.append(self._openOne(decrypt, size,
                                                  memoryview(pending)[LENGTH_BYTES:]))
                        pending = None
                if pending is not None:
                    # Still a part message: data is all used.
                    self._buffer = pending
                    return plain
            while end - at >= LENGTH_BYTES:
                size = (data[at] << 8) | data[at + 1]
                stop = at + LENGTH_BYTES + size
                if stop > end:
                    break
                plain.append(self._openOne(decrypt, size, view[at + LENGTH_BYTES:stop]))
                at = stop
            self._buffer = bytearray(view[at:])
        finally:
            view.release()
        if plain:
            self._lastEmpty = not plain[-1]
        return plain

    @staticmethod
    def _openOne(decrypt, size, message):
        if size < TAGLEN:
            raise ChannelError(f"a transport message of {size} bytes, "
                               f"shorter than a tag ({TAGLEN})")
        try:
            return decrypt(b"", message)
        except NoiseError as e:
            raise ChannelError(str(e)) from None

    def _checkSize(self, size):
        """Refuse a handshake message of the wrong length as soon as its
        length arrives (a peer that speaks something else is told at once,
        not after it sent 64 KiB)."""
        index = self._handshake.index
        if index == 0:
            return
        number, sizes = (2, MESSAGE_2) if self.initiator else (3, MESSAGE_3)
        if size not in sizes:
            raise ChannelError(f"handshake message {number} of {size} bytes (it has "
                               f"{sizes[0]} or {sizes[1]}): the peer does not speak "
                               "the encrypted channel, or broke it")

    def _handshakeMessage(self, message):
        """Read one handshake message; what to send back."""
        handshake = self._handshake
        if handshake.index == 0:
            # Only the acceptor reads message 1 (its prefix was checked).
            handshake.readMessage(message)
            return self._framed(handshake.writeMessage(self.key.payload))
        if self.initiator:
            self.peerKey = provenKey(handshake.readMessage(message), handshake.rs)
            self._checkExpected()
            reply = self._framed(handshake.writeMessage(self.key.payload))
            self._send, self._receive = handshake.split()
        else:
            self.peerKey = provenKey(handshake.readMessage(message), handshake.rs)
            self._checkExpected()
            reply = b""
            self._receive, self._send = handshake.split()
        self.handshakeHash = handshake.handshakeHash
        self.established = True
        self._handshake = None
        return reply

    def _checkExpected(self):
        """Fail the handshake if the peer proved another key than the one
        expected of it."""
        expected, proven = self.expected, self.peerKey
        if expected is None:
            return
        if isinstance(expected, int):
            if proven is not None and deriveId(proven) == expected:
                return
        elif proven == expected:
            return
        if self.refusal is not None:
            raise ChannelError(self.refusal(proven), lasting=True)
        shown = "no key" if proven is None else f"key {encode(proven)}"
        if isinstance(expected, int):
            raise ChannelError(f"the peer proved {shown}, not a key of node "
                               f"{shortId(expected)}")
        raise ChannelError(f"the peer proved {shown}, not the pinned {encode(expected)}")

    def seal(self, plaintext):
        """The transport messages that carry plaintext, framed."""
        encrypt = self._send.encryptWithAd
        if len(plaintext) <= MAX_PLAINTEXT:
            if not plaintext:
                return b""
            sealed = encrypt(b"", plaintext)
            return len(sealed).to_bytes(LENGTH_BYTES, "big") + sealed
        view = memoryview(plaintext)
        parts = []
        for at in range(0, len(plaintext), MAX_PLAINTEXT):
            sealed = encrypt(b"", view[at:at + MAX_PLAINTEXT])
            parts.append(len(sealed).to_bytes(LENGTH_BYTES, "big"))
            parts.append(sealed)
        return b"".join(parts)
