"""
Ed25519 signing through libsodium, when the system has it.

The ``cryptography`` wheel signs with OpenSSL's portable Ed25519 code:
about 430,000 instructions a signature, measured under callgrind
(docs/benchmarks.md, "Where a purchase's time goes"), about half of all
a seller spends on a sale.  libsodium signs the same way (RFC 8032:
deterministic, so the very same 64 bytes) in about a third of the time.
Only signing goes through it: checking a signature stays with
``cryptography``, so what a node accepts is unchanged.

Nothing is installed for it: the library is loaded with ``ctypes`` if
the system has one (Debian's ``libsodium23``), and a node without it
signs with ``cryptography`` as before.  A library that does not give
``cryptography``'s signature on a test message is not used.
"""

import ctypes
import ctypes.util

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

#: Names tried, in order, before asking ``ctypes.util`` (which runs
#: ``ldconfig``).
_NAMES = ("libsodium.so.23", "libsodium.so.26", "libsodium.so")
_SECRET_BYTES = 64
_SIGNATURE_BYTES = 64


def _load():
    """libsodium, initialised, with the signatures of the two functions
    used declared; or None."""
    for name in (*_NAMES, ctypes.util.find_library("sodium")):
        if name is None:
            continue
        try:
            lib = ctypes.CDLL(name)
            if lib.sodium_init() < 0:
                continue
            keypair, sign = lib.crypto_sign_seed_keypair, lib.crypto_sign_detached
        except (OSError, AttributeError):
            continue
        keypair.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p)
        sign.argtypes = (ctypes.c_char_p, ctypes.c_void_p, ctypes.c_char_p,
                         ctypes.c_ulonglong, ctypes.c_char_p)
        return lib
    return None


#: libsodium, or None (loaded once, on the first key that signs).
_library = None
_loaded = False


def library():
    """libsodium, loaded the first time it is asked for, or None."""
    global _library, _loaded
    if not _loaded:
        _library, _loaded = _load(), True
    return _library


def signerFor(private):
    """
    A function signing bytes with ``private`` (a ``cryptography``
    C{Ed25519PrivateKey}) through libsodium; None without libsodium, for
    any other kind of key (the simulator's fast ones), or when the key
    libsodium derives, or its signature of a test message, is not the
    one ``cryptography`` gives.
    """
    lib = library()
    if lib is None or not isinstance(private, ed25519.Ed25519PrivateKey):
        return None
    seed = private.private_bytes(serialization.Encoding.Raw,
                                 serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
    public = private.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw)
    derived = ctypes.create_string_buffer(32)
    secret = ctypes.create_string_buffer(_SECRET_BYTES)
    if lib.crypto_sign_seed_keypair(derived, secret, seed) != 0 or derived.raw != public:
        return None
    sign = lib.crypto_sign_detached

    def signed(data):
        signature = ctypes.create_string_buffer(_SIGNATURE_BYTES)
        sign(signature, None, data, len(data), secret)
        return signature.raw

    probe = b"bazaar-sodium-probe"
    return signed if signed(probe) == private.sign(probe) else None
