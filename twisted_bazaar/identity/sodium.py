"""
Ed25519 signing through libsodium (PyNaCl's binding).

The ``cryptography`` wheel signs with OpenSSL's portable Ed25519 code:
about 430,000 instructions a signature, measured under callgrind
(docs/benchmarks.md, "Where a purchase's time goes"), about half of all
a seller spends on a sale; 40 us a signature here, against 22 us through
libsodium.  Ed25519 signing is deterministic (RFC 8032), so libsodium
gives the very same 64 bytes.  Only signing goes through it: checking a
signature stays with ``cryptography``, so what a node accepts is
unchanged.

PyNaCl ships libsodium in its wheel, so every install has it; a key
whose libsodium signature of a test message is not ``cryptography``'s
signs with ``cryptography`` (L{signerFor} returns None).
"""

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from nacl import bindings

_SIGNATURE_BYTES = 64
#: What L{signerFor} signs to check libsodium against ``cryptography``.
PROBE = b"bazaar-sodium-probe"


def _detached(data, secret):
    """libsodium's signature of data (its signed message less the data)."""
    return bindings.crypto_sign(data, secret)[:_SIGNATURE_BYTES]


def signerFor(private):
    """
    A function signing bytes with ``private`` (a ``cryptography``
    C{Ed25519PrivateKey}) through libsodium; None for any other kind of
    key (the simulator's fast ones), or when the key libsodium derives,
    or its signature of L{PROBE}, is not the one ``cryptography`` gives.
    """
    if not isinstance(private, ed25519.Ed25519PrivateKey):
        return None
    seed = private.private_bytes(serialization.Encoding.Raw,
                                 serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
    public = private.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw)
    derived, secret = bindings.crypto_sign_seed_keypair(seed)
    if derived != public:
        return None

    def signed(data):
        return _detached(data, secret)

    return signed if signed(PROBE) == private.sign(PROBE) else None
