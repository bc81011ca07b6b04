"""
The Noise Protocol Framework (revision 34, noiseprotocol.org/noise.html),
as much of it as the market's channel uses: the XX pattern with X25519,
ChaCha20-Poly1305 and SHA-256 (C{Noise_XX_25519_ChaChaPoly_SHA256}), and
the specification's other cipher function, AES-256-GCM (C{AESGCM}), for
the transport messages of a transfer connection that asks for it.

Each object is named and built as the specification's section 5 names
it (CipherState, SymmetricState, HandshakeState), so the code can be read
against it line by line.  The primitives are the C{cryptography}
package's; nothing here is a cipher of our own, and the one key
derivation beyond the specification's (L{CipherState.derived}, for the
switch to AESGCM) is its own HKDF with a label.  The
framing, the identity payloads and the byte stream on top are
L{twisted_bazaar.channel.session}'s.
"""

import hashlib
import hmac

from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey,
    X25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PROTOCOL_NAME = b"Noise_XX_25519_ChaChaPoly_SHA256"
DHLEN = 32
HASHLEN = 32
#: Bytes of an authentication tag.
TAGLEN = 16
#: The one nonce never used (section 5.1).
MAX_NONCE = 2**64 - 1
#: Both cipher functions' 96-bit nonce is 32 zero bits, then n in 64 bits
#: (section 12): little-endian for ChaChaPoly, big-endian for AESGCM.
_ZEROS = b"\x00" * 4
CHACHAPOLY = "ChaChaPoly"
AESGCM_NAME = "AESGCM"
#: Each cipher function by its specification name: (AEAD, nonce byte order).
CIPHERS = {CHACHAPOLY: (ChaCha20Poly1305, "little"), AESGCM_NAME: (AESGCM, "big")}


class NoiseError(Exception):
    """A handshake or transport message that fails: it does not decrypt,
    it is too short, or a DH output is degenerate."""


def _hash(data):
    return hashlib.sha256(data).digest()


def _hmac(key, data):
    return hmac.digest(key, data, "sha256")


def hkdf(chaining_key, input_key_material, outputs):
    """The specification's HKDF (section 4.3): HMAC-SHA256 chained with
    counters 1, 2, 3, without RFC 5869's info."""
    temp_key = _hmac(chaining_key, input_key_material)
    output1 = _hmac(temp_key, b"\x01")
    output2 = _hmac(temp_key, output1 + b"\x02")
    if outputs == 2:
        return output1, output2
    return output1, output2, _hmac(temp_key, output2 + b"\x03")


class KeyPair:
    """An X25519 key pair (the specification's GENERATE_KEYPAIR)."""

    def __init__(self, private=None):
        key = (X25519PrivateKey.generate() if private is None
               else X25519PrivateKey.from_private_bytes(private))
        self._key = key
        self.public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def dh(self, public):
        """DH(self, public), 32 bytes; a degenerate result is refused."""
        try:
            return self._key.exchange(X25519PublicKey.from_public_bytes(public))
        except ValueError as e:
            raise NoiseError(f"the peer's key gives no shared secret ({e})") from e


class CipherState:
    """A key and a counting nonce (section 5.1), for one cipher function
    (ChaChaPoly unless told)."""

    def __init__(self, key=None, cipher=CHACHAPOLY):
        self.n = 0
        self.k = key
        self.cipherName = cipher
        aead, self._order = CIPHERS[cipher]
        self._aead = None if key is None else aead(key)

    def hasKey(self):
        return self._aead is not None

    def derived(self, cipher, label):
        """
        A new CipherState, its nonce at 0, for cipher under the key
        C{HKDF(k, label)}'s first output (section 4.3's HKDF, chaining key
        k): a key never used before, a function of this one's secret key
        and of nothing public but the label.
        """
        return CipherState(hkdf(self.k, label, 2)[0], cipher)

    def encryptWithAd(self, ad, plaintext):
        if self._aead is None:
            return plaintext
        n = self.n
        if n == MAX_NONCE:
            raise NoiseError("this direction has used all its nonces")
        self.n = n + 1
        return self._aead.encrypt(_ZEROS + n.to_bytes(8, self._order), plaintext, ad)

    def decryptWithAd(self, ad, ciphertext):
        if self._aead is None:
            return ciphertext
        n = self.n
        if n == MAX_NONCE:
            raise NoiseError("this direction has used all its nonces")
        try:
            plaintext = self._aead.decrypt(_ZEROS + n.to_bytes(8, self._order),
                                           ciphertext, ad)
        except Exception as e:
            # InvalidTag for a forged or altered message; ValueError for
            # one shorter than a tag.
            raise NoiseError("a message does not decrypt: altered, forged, "
                             "or out of order") from e
        self.n = n + 1
        return plaintext


class SymmetricState:
    """The chaining key, the handshake hash and a CipherState (section 5.2)."""

    def __init__(self, protocol_name=PROTOCOL_NAME):
        if len(protocol_name) <= HASHLEN:
            self.h = protocol_name.ljust(HASHLEN, b"\x00")
        else:
            self.h = _hash(protocol_name)
        self.ck = self.h
        self.cipher = CipherState()

    def mixKey(self, input_key_material):
        self.ck, temp_k = hkdf(self.ck, input_key_material, 2)
        self.cipher = CipherState(temp_k)

    def mixHash(self, data):
        self.h = _hash(self.h + data)

    def encryptAndHash(self, plaintext):
        ciphertext = self.cipher.encryptWithAd(self.h, plaintext)
        self.mixHash(ciphertext)
        return ciphertext

    def decryptAndHash(self, ciphertext):
        plaintext = self.cipher.decryptWithAd(self.h, ciphertext)
        self.mixHash(ciphertext)
        return plaintext

    def split(self):
        temp_k1, temp_k2 = hkdf(self.ck, b"", 2)
        return CipherState(temp_k1), CipherState(temp_k2)


class XXHandshake:
    """
    The handshake of the XX pattern (sections 5.3 and 7.5)::

        -> e
        <- e, ee, s, es
        -> s, se

    L{writeMessage} and L{readMessage} are called in turn, three messages
    in all; after the third, L{split} gives the two CipherStates (the
    initiator sends with the first).

    @ivar rs: the peer's static public key, once its message 2 or 3 was read.
    """

    #: Each message's tokens, in order.
    PATTERN = (("e",), ("e", "ee", "s", "es"), ("s", "se"))

    def __init__(self, initiator, static, prologue=b"", ephemeral=None):
        """
        @param static: this side's L{KeyPair}.
        @param ephemeral: a L{KeyPair} to use as e (test vectors only);
            a fresh one otherwise.
        """
        self.initiator = initiator
        self.s = static
        self.e = ephemeral
        self.rs = self.re = None
        self.symmetric = SymmetricState()
        self.symmetric.mixHash(prologue)
        self.index = 0

    @property
    def finished(self):
        return self.index == len(self.PATTERN)

    @property
    def handshakeHash(self):
        return self.symmetric.h

    def _dh(self, token):
        """The DH a token names: its first letter is the initiator's key,
        its second the responder's (so "es" is DH(e, rs) on the initiator
        and DH(s, re) on the responder)."""
        mine, theirs = (token[0], token[1]) if self.initiator else (token[1], token[0])
        key = self.e if mine == "e" else self.s
        return key.dh(self.re if theirs == "e" else self.rs)

    def writeMessage(self, payload=b""):
        """The next message, this side's turn, with payload encrypted in it
        where a key is known."""
        symmetric = self.symmetric
        parts = []
        for token in self.PATTERN[self.index]:
            if token == "e":
                if self.e is None:
                    self.e = KeyPair()
                parts.append(self.e.public)
                symmetric.mixHash(self.e.public)
            elif token == "s":
                parts.append(symmetric.encryptAndHash(self.s.public))
            else:
                symmetric.mixKey(self._dh(token))
        parts.append(symmetric.encryptAndHash(payload))
        self.index += 1
        return b"".join(parts)

    def readMessage(self, message):
        """The payload of the peer's next message; L{NoiseError} if it
        does not decrypt or is too short."""
        symmetric = self.symmetric
        message = bytes(message)
        at = 0
        for token in self.PATTERN[self.index]:
            if token == "e":
                self.re = message[at:at + DHLEN]
                if len(self.re) != DHLEN:
                    raise NoiseError("the handshake message is too short")
                at += DHLEN
                symmetric.mixHash(self.re)
            elif token == "s":
                size = DHLEN + (TAGLEN if symmetric.cipher.hasKey() else 0)
                sealed = message[at:at + size]
                if len(sealed) != size:
                    raise NoiseError("the handshake message is too short")
                at += size
                self.rs = symmetric.decryptAndHash(sealed)
            else:
                symmetric.mixKey(self._dh(token))
        payload = symmetric.decryptAndHash(message[at:])
        self.index += 1
        return payload

    def split(self):
        """(initiator's sending CipherState, responder's sending one)."""
        return self.symmetric.split()
