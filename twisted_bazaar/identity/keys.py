"""
A node's identity: an Ed25519 key pair, and the node id derived from its
public key, so that an id can be proven and not merely claimed.

On the wire (docs/protocol.md, "Keys and signatures"), a public key, a
nonce and a signature are each sent as text: their bytes in base64url
(RFC 4648 section 5) without ``=`` padding.  Trade messages carry their
author's key and signature (L{Identity.signed}, L{signedBy}).  A node's id is the first 16
bytes (128 bits) of SHA-256("bazaar-id:" + public key): finding a key for
a given id costs about 2^128 key generations.  On the wire it is those
bytes in lowercase hex; inside a process an int with bit 128 set
(L{twisted_bazaar.wire.ids}).  Handshake proofs, which prove that a peer
holds its key, are made and checked in L{twisted_bazaar.identity.proofs}
alone.

Tests narrow the id to a few bits (L{narrowedIds}) so that two keys with
one id are cheap to find: every holder of an id (the tracker, the link
table, super-peers, the index, the Chord ring) must refuse a second key,
whatever the width.  Nothing a daemon reads (flags, config) reaches it.
"""

import base64
import binascii
import contextlib
import hashlib
import os
import re
import stat
import tempfile

import attr

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from twisted_bazaar.identity import batches, sodium
from twisted_bazaar.wire import canonical, canonicalFields
from twisted_bazaar.wire import decode as decodeMessage
from twisted_bazaar.wire.ids import ID_BITS, KEYED

#: File of a node's private key inside its data dir.
KEY_FILE = "node.key"
#: Bytes of an Ed25519 public key.
KEY_BYTES = 32
#: Text in the base64url alphabet (RFC 4648 section 5), without padding.
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def encode(data):
    """Bytes as unpadded base64url text."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def publicKey(text):
    """
    A public key given as text (a ``--tracker-key``): its 32 bytes.

    @raise ValueError: if it is not 43 characters of base64url that read
        as 32 bytes, saying so.
    """
    try:
        raw = decode(text)
    except ValueError:
        raw = None
    if raw is None or len(raw) != KEY_BYTES:
        raise ValueError(f"{text!r} is not a key: a key is {KEY_BYTES} bytes as "
                         "43 characters of base64url (A-Z, a-z, 0-9, - and _), as "
                         "the tracker logs its own when it starts")
    return raw


publicKey.coerceDoc = "An Ed25519 public key: 43 characters of base64url."


def decode(text):
    """Unpadded base64url text as bytes.  Strict: Python's decoder skips
    characters outside the alphabet, and reads ``+`` and ``/`` as ``-``
    and ``_``; here they make the text no base64url at all, and so does a
    last character whose unused bits are not zero (so that each byte
    string has exactly one text).

    @raise ValueError: if it is not.
    """
    if _BASE64URL.fullmatch(text) is None:
        raise ValueError("not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None
    if encode(data) != text:
        # The last character's unused bits are not zero: a second text
        # for the same bytes, which would make a key's text a poor map key.
        raise ValueError("not canonical base64url: its unused bits are not zero")
    return data


#: Bits of the key's hash an id keeps: ID_BITS, but in tests under
#: L{narrowedIds}.
_width = ID_BITS


def deriveId(public_key):
    """The node id that belongs to a public key (32 raw bytes): the first
    128 bits of its hash (fewer under L{narrowedIds}), as an int with
    L{KEYED} set."""
    digest = hashlib.sha256(b"bazaar-id:" + public_key).digest()
    return KEYED | (int.from_bytes(digest[:16], "big") >> (ID_BITS - _width))


@contextlib.contextmanager
def narrowedIds(bits):
    """
    For tests only: while in this block, a key's id keeps only ``bits``
    bits of its hash, so that two keys with one id are found in a few
    tries.  Keys made in the block keep the narrow id they got.
    """
    global _width
    if not 1 <= bits <= ID_BITS:
        raise ValueError(f"an id has 1 to {ID_BITS} bits, not {bits}")
    before, _width = _width, bits
    _ids.clear()
    try:
        yield
    finally:
        _width = before
        _ids.clear()


def verify(key, signature, data):
    """
    Whether signature (text) is key's (text) signature of data (bytes).
    Never raises: malformed keys and signatures are simply not valid.
    """
    try:
        public = Ed25519PublicKey.from_public_bytes(decode(key))
        public.verify(decode(signature), data)
    except (ValueError, InvalidSignature):
        return False
    return True


def signedBy(message, author):
    """
    Whether a message (one with ``key`` and ``sig`` fields) is signed by
    node ``author``: its key is author's, and its sig signs its canonical
    form (L{twisted_bazaar.wire.canonical}).
    """
    key, sig = message.key, message.sig
    if key is None or sig is None or not keyOwns(key, author):
        return False
    proof = getattr(message, "proof", None)
    if proof is None:
        return verify(key, sig, canonical(message))
    # A batch signature (L{batches}): sig signs the root this message's
    # proof leads to.
    try:
        nodes = [decode(node) for node in proof]
    except ValueError:
        return False
    if any(len(node) != batches.HASH_BYTES for node in nodes):
        return False
    leaf = batches.leafOf(message.asDict())
    return verify(key, sig, batches.rootSigned(batches.rootOf(leaf, nodes)))


def signedIf(identity, message):
    """The message signed by identity, or as it is for a node without a
    key."""
    return message if identity is None else identity.signed(message)


def trusts(node, link, message, author):
    """
    Whether node takes a routed message, delivered on link, as author's:
    signed by author, or handed over by author itself on a link where it
    proved its key (no relay in between; see
    L{twisted_bazaar.core.node.Node.fromProvenAuthor}).  A node without a
    key checks nothing.
    """
    return (node.identity is None or node.fromProvenAuthor(link, message, author)
            or signedBy(message, author))


#: Key text -> its id (or None), for L{keyId}: a seller checks the key of
#: every buy it reads, mostly of the same few buyers.  Emptied when full,
#: and whenever L{narrowedIds} changes the width.
_ids = {}
#: The most keys L{_ids} holds.
KEY_IDS_KEPT = 4096
_UNKNOWN = object()


def keyId(key):
    """
    The node id of a public key sent as text, or None when the text is
    not the base64url of 32 bytes: the id of whatever a peer sent as its
    key, without ever raising.
    """
    found = _ids.get(key, _UNKNOWN)
    if found is not _UNKNOWN:
        return found
    try:
        raw = decode(key)
    except ValueError:
        return None
    found = deriveId(raw) if len(raw) == KEY_BYTES else None
    if len(_ids) >= KEY_IDS_KEPT:
        _ids.clear()
    _ids[key] = found
    return found


def keyOwns(key, node_id):
    """Whether node_id is the id derived from key (text)."""
    return keyId(key) == node_id


class Identity:
    """
    One node's key pair.

    @ivar key: the public key, as text.
    @ivar id: the node id derived from it.
    """

    # Slots: a simulation holds one a node (a dict of these was 35 bytes
    # more).
    __slots__ = ("_private", "key", "id", "_signer")

    def __init__(self, private_key):
        raw = private_key.public_key().public_bytes(serialization.Encoding.Raw,
                                                    serialization.PublicFormat.Raw)
        #: The private key; or, for a kind of key its class makes again
        #: from the public half (C{FROM_PUBLIC}: the simulator's fast ones,
        #: L{twisted_bazaar.sim.crypto}), its class, the key made when it
        #: signs (L{_pair}): 105 bytes of each simulated node, most of
        #: which never sign.
        self._private = (type(private_key) if getattr(private_key, "FROM_PUBLIC", False)
                         else private_key)
        self.key = encode(raw)
        self.id = deriveId(raw)
        #: What signs bytes, once the first signature chose it (L{_signRaw}).
        self._signer = None

    @classmethod
    def generate(cls, refusal=None):
        """
        A fresh key pair from the operating system's randomness; with
        ``refusal`` (a function of a key pair returning why it will not
        do, or None), the first one it does not refuse (a chord ring's
        puzzle: about 2^bits tries).
        """
        while True:
            identity = cls(Ed25519PrivateKey.generate())
            if refusal is None or refusal(identity) is None:
                return identity

    @classmethod
    def fromRandom(cls, rng):
        """
        A key pair drawn from rng: as predictable as rng, so for
        simulations and tests only, where runs must repeat.
        """
        return cls(Ed25519PrivateKey.from_private_bytes(rng.randbytes(32)))

    @classmethod
    def inDirectory(cls, directory, refusal=None, name=KEY_FILE, made=None):
        """
        The key pair kept in directory (file ``name``, ``node.key`` by
        default), made and written there (readable by its owner only) the
        first time: one that ``refusal`` does not refuse, if given (see
        L{generate}).  Two processes making it at once take one key: the
        first written; the other reads it.

        @param made: a list given the file's path when this call made it
            (a failed start removes it: L{twisted_bazaar.base.made}).
        @raise OSError: if the file cannot be read or written.
        @raise ValueError: if it holds no Ed25519 private key, or one
            ``refusal`` refuses (saying why).
        """
        path = os.path.join(directory, name)
        try:
            identity = cls.read(directory, name)
        except FileNotFoundError:
            identity = cls.generate(refusal)
            if identity.writeNew(path):
                if made is not None:
                    made.append(path)
                return identity
            identity = cls.read(directory, name)
        why = refusal(identity) if refusal is not None else None
        if why is not None:
            raise ValueError(f"{path} holds a key this node cannot use: {why}")
        return identity

    @classmethod
    def read(cls, directory, name=KEY_FILE):
        """
        The key pair kept in directory, as L{inDirectory} wrote it; none
        is made.

        @raise OSError: if the file cannot be read (FileNotFoundError if
            there is none).
        @raise ValueError: if it holds no Ed25519 private key, or is open
            to others than its owner (group or world bits in its mode),
            as ssh refuses a private key file.
        """
        path = os.path.join(directory, name)
        # Whose key it is, as the words name it: a node's (node.key), or a
        # tracker's (tracker.key).
        daemon = os.path.splitext(name)[0]
        acts = "this node and as its operator" if name == KEY_FILE else f"this {daemon}"
        # Opened without waiting: a FIFO in its place held the start for ever.
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ValueError(f"{path} is not a regular file (a FIFO, a folder...), "
                                 "so it holds no key: move it away")
            mode = stat.S_IMODE(info.st_mode)
            if mode & 0o077:
                raise ValueError(
                    f"{path} can be read or written by others than its owner (mode "
                    f"{mode:04o}): whoever can read it can act as {acts}; make it "
                    f"its owner's only (chmod 600 {path}), and make a new key (move "
                    "this one away) if others may have read it")
            data = f.read()
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as e:
            # TypeError: a key under a password, which a node cannot ask for.
            raise ValueError(f"{path} holds no Ed25519 private key this {daemon} "
                             f"can read: {str(e).split('. See ')[0]}") from None
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError(f"{path} holds no Ed25519 private key")
        return cls(private)

    def writeNew(self, path):
        """Write the key to ``path`` unless a file is there: True if
        written, False if another process wrote one first."""
        data = self._pair().private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())
        directory, name = os.path.split(path)
        # A new file of a name of its own, 0600: a file left where a key
        # is written (by a crash, or by another user of a data dir open
        # to others) is never written through, so its mode never becomes
        # the key's, nor a link there takes the key where it points.
        fd, temporary = tempfile.mkstemp(prefix=name + ".", suffix=".new",
                                         dir=directory or os.curdir)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            try:
                # Put in place whole, and only where no key is.
                os.link(temporary, path)
            except FileExistsError:
                return False
            except OSError:
                os.replace(temporary, path)  # a file system without links
            return True
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)

    def sign(self, data):
        """This node's signature of data (bytes), as text."""
        signer = self._signer
        return encode(self._firstSignature(data) if signer is None else signer(data))

    def _pair(self):
        """The private key (see L{_private}): made from the key's text,
        which this identity wrote (L{encode}), so read without L{decode}'s
        strict checks for a stranger's text (a regular expression and an
        encoding again, at each simulated node that signs)."""
        private = self._private
        if not isinstance(private, type):
            return private
        return private(base64.urlsafe_b64decode(self.key + "=" * (-len(self.key) % 4)))

    def _firstSignature(self, data):
        """Choose how this key signs (L{sodium}), then sign data."""
        private = self._pair()
        self._signer = sodium.signerFor(private) or private.sign
        return self._signer(data)

    @property
    def _signRaw(self):
        """What signs bytes: libsodium's signing once the first signature
        asks for it (L{sodium}: the same bytes, faster), else, for a key
        libsodium would sign otherwise, the key's own; until then
        L{_firstSignature}, made for the call, not a bound method each key
        held (64 bytes of each simulated node, nearly all of which never
        sign)."""
        signer = self._signer
        return self._firstSignature if signer is None else signer

    def signed(self, message):
        """
        The message with this node's key, signed (see L{signedBy}).

        The canonical bytes are built from the message's wire fields with
        the key set in them, so the signed message is constructed once
        (every signed type names its key field ``key`` on the wire too).
        """
        fields = message.asDict()
        fields.pop("sig", None)
        fields["key"] = self.key
        return attr.evolve(message, key=self.key, sig=self.sign(canonicalFields(fields)))

    def signedBatch(self, messages):
        """
        The messages (of a kind with a ``proof``: ``buyOK``) with this
        node's key, all signed by one batch signature (L{batches}): each
        carries its own proof, and L{signedBy} checks each alone.  They
        are what L{batchPayloads} sends.
        """
        return [decodeMessage(payload) for payload in self.batchPayloads(messages)]

    def batchPayloads(self, messages):
        """The wire payloads of messages (unsigned ``buyOK``s) with this
        node's key, under one batch signature (L{batches.payloadsOf}):
        what a seller sends, built without a message object each."""
        return batches.payloadsOf(self.key, self._signRaw, messages)
