"""
``bazaar-sim --crypto fast``: the same protocol with cheap, deterministic
signatures, for the simulator only.

Every handshake with keys costs two Ed25519 signatures and two checks
(about 30 µs to sign and 120 µs to check, here), and every signed trade
message one of each: a sixth to a quarter of a cold 10,000-node run.  A simulation studies the protocol,
not the curve, so in fast mode a "signature" is BLAKE2b-512 of the signed
bytes keyed with the signer's public key: 64 bytes, like an Ed25519
signature, sent in the same fields with the same text encoding, so every
message has the byte size it has in real mode.  A key pair's public key
is the real one of its private bytes, so a node has the id it has in
real mode.  With the same seed, a fast run computes what a real run does,
to the byte (``tests/sim/test_crypto.py`` checks it); only its wall time
differs.

Such a signature proves nothing: anyone who knows the public key can make
it.  So the switch lives here, in the simulator, which no daemon imports
(the layers of ``.importlinter``: ``tap`` and ``daemon`` are below
``sim``), and no daemon has an option that reaches it.  It is made by
swapping, for the length of a run (L{fastSignatures}), the two key
classes that L{twisted_bazaar.identity.keys} makes keys of and checks
signatures with; outside that run nothing changes.
"""

import contextlib
import hashlib
import hmac
import threading

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from twisted_bazaar.identity import keys

#: ``--crypto``: real Ed25519 (the default, as the daemons sign), or fast.
CRYPTO = ("real", "fast")
#: Bytes of an Ed25519 public key and of a signature.
KEY_BYTES = 32
SIGNATURE_BYTES = 64


def fastSign(public, data):
    """The fast "signature" of data by the holder of public key ``public``
    (raw bytes)."""
    return hashlib.blake2b(data, key=public, digest_size=SIGNATURE_BYTES).digest()


class FastPublicKey:
    """A public key whose signatures are L{fastSign}'s: what
    C{Ed25519PublicKey} is to L{keys.verify}."""

    __slots__ = ("raw",)

    def __init__(self, raw):
        self.raw = raw

    @classmethod
    def from_public_bytes(cls, data):
        if len(data) != KEY_BYTES:
            raise ValueError("An Ed25519 public key is 32 bytes long")
        return cls(bytes(data))

    def public_bytes(self, encoding, format):
        return self.raw

    def verify(self, signature, data):
        if not hmac.compare_digest(signature, fastSign(self.raw, data)):
            raise InvalidSignature()


class FastPrivateKey(FastPublicKey):
    """A key pair that signs with L{fastSign}: what C{Ed25519PrivateKey}
    is to L{keys.Identity}.  It is its own public key (L{public_key}):
    a fast signature needs nothing but the public bytes, and a run holds
    one pair a node (an object of its own for the public half was 40
    bytes of each).  It is made again from its public half (C{FROM_PUBLIC}),
    so an L{keys.Identity} holds its class, not the pair, until it signs."""

    __slots__ = ()

    #: A key of this class is its public bytes (L{keys.Identity._pair}).
    FROM_PUBLIC = True

    @classmethod
    def from_private_bytes(cls, data):
        """The key pair of these private bytes, with their real public key
        (so the node's id is its real one)."""
        real = Ed25519PrivateKey.from_private_bytes(data)
        return cls(real.public_key().public_bytes(serialization.Encoding.Raw,
                                                  serialization.PublicFormat.Raw))

    def public_key(self):
        return self

    def sign(self, data):
        return fastSign(self.raw, data)


class _Swap:
    """
    The key classes swapped for as long as any run of this process is
    inside L{fastSignatures}: the first to enter swaps, the last to leave
    puts back what was there.  Counted, not saved by each: the shards of
    a Dask cluster of threads enter and leave in any order, and one that
    saved what another had swapped in would leave it swapped for good.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._inside = 0
        self._saved = None

    def enter(self):
        with self._lock:
            if not self._inside:
                self._saved = keys.Ed25519PrivateKey, keys.Ed25519PublicKey
                keys.Ed25519PrivateKey, keys.Ed25519PublicKey = (FastPrivateKey,
                                                                 FastPublicKey)
            self._inside += 1

    def leave(self):
        with self._lock:
            self._inside -= 1
            if not self._inside:
                keys.Ed25519PrivateKey, keys.Ed25519PublicKey = self._saved
                self._saved = None


_swap = _Swap()


@contextlib.contextmanager
def fastSignatures():
    """
    Inside: key pairs made from bytes (L{keys.Identity.fromRandom}, as a
    simulation makes them) sign fast, and every check of a signature takes
    fast signatures, and only those.  Outside (once every run of this
    process that entered has left, in whatever order): as before.
    """
    _swap.enter()
    try:
        yield
    finally:
        _swap.leave()


def signatures(crypto):
    """The context a run of ``--crypto`` runs in."""
    if crypto not in CRYPTO:
        raise ValueError(f"--crypto is one of {', '.join(CRYPTO)}, not {crypto!r}")
    return fastSignatures() if crypto == "fast" else contextlib.nullcontext()
