"""
The twisted-bazaar wire, written from docs/protocol.md alone: netstrings
(§2), JSON payloads (§3), keys, ids, proofs and signatures (§3), records
(§11a) and a file's identity (§19.4).

Nothing here comes from the project's code: this module imports only the
standard library and ``cryptography``, so that it checks the document, not
the implementation against itself.
"""

import base64
import hashlib
import json
import os
import re
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey, Ed25519PublicKey)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

_B64URL = re.compile(r"[A-Za-z0-9_-]*")

#: §4: the fields each signed message type has (besides ``type`` and ``sig``);
#: only these go into its canonical encoding (§3, "Signed trades").
SIGNED_FIELDS = {
    "reply": ("id", "item", "path", "seller", "host", "port", "record", "key"),
    "buy": ("id", "item", "path", "expires", "sha256", "size", "key"),
    "ask": ("id", "item", "path", "expires", "sha256", "size", "key"),
    "buyOK": ("id", "item", "path", "buyerKey", "sha256", "size", "key"),
    "error": ("code", "info", "id", "path", "buyerKey", "key"),
}

#: §11a: the fields of a record; other keys are ignored and not signed.
RECORD_FIELDS = ("item", "seller", "host", "port", "size", "sha256", "transfer",
                 "issued", "expires", "key", "sig")


class ProtocolError(Exception):
    """A peer said something the document does not allow."""


# -- §2 framing -------------------------------------------------------------

def netstring(payload):
    return b"%d:%s," % (len(payload), payload)


class NetstringReader:
    """Splits a byte stream into netstring payloads (§2)."""

    def __init__(self, limit=1 << 20):
        self.buffer = b""
        self.limit = limit

    def feed(self, data):
        self.buffer += data

    def take(self):
        """The next whole payload, or None if it has not all arrived."""
        colon = self.buffer.find(b":")
        if colon < 0:
            if len(self.buffer) > len(str(self.limit)) + 1:
                raise ProtocolError(f"no colon in {self.buffer[:20]!r}")
            return None
        digits = self.buffer[:colon]
        if not digits.isdigit() or (digits.startswith(b"0") and digits != b"0"):
            raise ProtocolError(f"bad netstring length {digits[:20]!r}")
        length = int(digits)
        if length > self.limit:
            raise ProtocolError(f"frame of {length} bytes")
        end = colon + 1 + length
        if len(self.buffer) <= end:
            return None
        if self.buffer[end:end + 1] != b",":
            raise ProtocolError("netstring not ended by a comma")
        payload, self.buffer = self.buffer[colon + 1:end], self.buffer[end + 1:]
        return payload

    def takeRaw(self, count):
        """The next count raw bytes (after a §19 ``data`` frame), or None."""
        if len(self.buffer) < count:
            return None
        raw, self.buffer = self.buffer[:count], self.buffer[count:]
        return raw


# -- §3 payload ---------------------------------------------------------------

def _noConstant(name):
    raise ProtocolError(f"{name} is not JSON (§3)")


def decode(payload):
    message = json.loads(payload.decode("utf-8"), parse_constant=_noConstant)
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError(f"not a message: {payload[:80]!r}")
    return message


def encode(message):
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def canonical(obj):
    """§3's canonical encoding: keys sorted by code point, no whitespace,
    the escapes it lists, everything else raw UTF-8 (json.dumps with these
    options escapes exactly those, with lowercase hex)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


# -- §3 keys, ids and signatures ----------------------------------------------

def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(text, size):
    """The bytes of base64url text of exactly size bytes, or None."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text):
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return None
    if b64url(raw) != text:
        return None  # §3: unused bits not zero, so no base64url of anything
    return raw if len(raw) == size else None


def keyId(keyText):
    """§3, "The id of a key"; None for text that is no key."""
    raw = unb64url(keyText, 32)
    if raw is None:
        return None
    digest = hashlib.sha256(b"bazaar-id:" + raw).digest()
    return digest[:16].hex()


def verify(keyText, sigText, data):
    raw, sig = unb64url(keyText, 32), unb64url(sigText, 64)
    if raw is None or sig is None:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(sig, data)
    except InvalidSignature:
        return False
    return True


def proofText(context, signer, verifier, signerNonce, verifierNonce, purpose=None):
    """§3, "Handshake proofs"."""
    body = {"context": context, "signer": signer, "verifier": verifier,
            "signerNonce": signerNonce, "verifierNonce": verifierNonce}
    if purpose is not None:
        body["purpose"] = purpose
    return b"bazaar-proof:" + canonical(body)


def signedText(message):
    """§3, "Signed trades": what ``sig`` of a trade message signs."""
    kept = {name: message[name] for name in SIGNED_FIELDS[message["type"]]
            if message.get(name) is not None}
    kept["type"] = message["type"]
    return b"bazaar-sig:" + canonical(kept)


def recordText(record):
    """§11a: what a record's ``sig`` signs."""
    return b"bazaar-record:" + canonical(
        {name: record[name] for name in RECORD_FIELDS
         if name != "sig" and record.get(name) is not None})


def newNonce():
    return b64url(os.urandom(16))


def nowMs():
    return int(time.time() * 1000)


class Identity:
    """An Ed25519 key pair and the id of its key (§3)."""

    def __init__(self, private=None):
        self.private = private or Ed25519PrivateKey.generate()
        self.key = b64url(self.private.public_key().public_bytes(
            Encoding.Raw, PublicFormat.Raw))
        self.id = keyId(self.key)

    def sign(self, data):
        return b64url(self.private.sign(data))

    def signMessage(self, message):
        message = dict(message, key=self.key)
        message["sig"] = self.sign(signedText(message))
        return message

    def prove(self, context, verifier, myNonce, theirNonce, purpose=None):
        return self.sign(proofText(context, self.key, verifier, myNonce,
                                   theirNonce, purpose))


def batchRoot(message):
    """§3, "Batch signatures": the root a ``buyOK``'s ``proof`` leads to
    from its leaf, or None for a proof that is not a list of at most 32
    base64url texts of 32 bytes each."""
    proof = message["proof"]
    if not isinstance(proof, list) or len(proof) > 32:
        return None
    node = hashlib.sha256(b"\x00" + signedText(message)).digest()
    for text in proof:
        other = unb64url(text, 32)
        if other is None:
            return None
        low, high = sorted((node, other))
        node = hashlib.sha256(b"\x01" + low + high).digest()
    return node


def checkSigned(message, author):
    """§3 "Who checks what": the message's ``key`` is node author's and its
    ``sig`` is right: of the message itself, or, for a ``buyOK`` with a
    ``proof``, of the root of its batch ("Batch signatures")."""
    if keyId(message.get("key")) != author:
        raise ProtocolError(f"{message['type']} key is not node {author}'s")
    if message["type"] == "buyOK" and "proof" in message:
        root = batchRoot(message)
        if root is None:
            raise ProtocolError("buyOK proof is no list of 32-byte nodes")
        signed = b"bazaar-batch:" + root
    else:
        signed = signedText(message)
    if not verify(message["key"], message.get("sig"), signed):
        raise ProtocolError(f"{message['type']} signature does not verify")


def checkRecord(record, seller, item, now=None):
    """§11a "Checks", 1 to 6, for a live record."""
    now = nowMs() if now is None else now
    if not isinstance(record, dict):
        raise ProtocolError(f"record is {record!r}")
    if keyId(record.get("key")) != record.get("seller"):
        raise ProtocolError("record key is not its seller's")
    if not verify(record["key"], record.get("sig"), recordText(record)):
        raise ProtocolError("record signature does not verify")
    if record["issued"] > now + 60_000:
        raise ProtocolError("record issued in the future")
    if record["expires"] - record["issued"] > 3_600_000:
        raise ProtocolError("record holds for more than an hour")
    if record["seller"] != seller or record["item"] != item:
        raise ProtocolError(f"record is not seller {seller}'s of {item!r}")
    if record["expires"] <= now or record["expires"] <= record["issued"]:
        raise ProtocolError("record is not live")


# -- §19.4 a file's identity ----------------------------------------------------

def pieceSize(size):
    piece = 1 << 20
    while -(-size // piece) > 4096:
        piece *= 2
    return piece


def pieceCount(size, piece):
    return max(1, -(-size // piece))


def identityOf(size, piece, leaves):
    """§19.4 steps 3 to 5, from the pieces' raw SHA-256 digests."""
    layer = list(leaves)
    width = 1
    while width < len(layer):
        width *= 2
    layer += [bytes(32)] * (width - len(layer))
    while len(layer) > 1:
        layer = [hashlib.sha256(layer[i] + layer[i + 1]).digest()
                 for i in range(0, len(layer), 2)]
    return hashlib.sha256(b"bazaar-file:" + size.to_bytes(8, "big")
                          + piece.to_bytes(8, "big") + layer[0]).hexdigest()


def identityOfBytes(content):
    """§19.4 from a file's bytes."""
    piece = pieceSize(len(content))
    leaves = [hashlib.sha256(content[i * piece:(i + 1) * piece]).digest()
              for i in range(pieceCount(len(content), piece))]
    return identityOf(len(content), piece, leaves)
