"""
The tokens of QUIC's stateless retry (RFC 9000 §8.1.2): sealed by a key
this process made, for one source address, and good for L{LIFETIME}
seconds.  A stranger's Initial is answered with one; only an Initial
that brings it back from the same address makes a connection.

qh3's own token handler seals with RSA (a 2,048-bit decryption, some
milliseconds, for each token a stranger sends, valid or not) and never
expires them: here it is AES-GCM, microseconds, and a token replayed
later than its lifetime is refused.
"""

import ipaddress
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["RetryTokens", "LIFETIME"]

#: Seconds a token is good for: a client sends it back at once (RFC 9000
#: §8.1.4), so a long-lived one only serves a replay.
LIFETIME = 30.0
_NONCE = 12


def _address(addr):
    return ipaddress.ip_address(addr[0]).packed + struct.pack("!H", addr[1])


def _field(value):
    return bytes([len(value)]) + value


class RetryTokens:
    """Makes and checks this endpoint's retry tokens."""

    def __init__(self):
        self._aead = AESGCM(AESGCM.generate_key(bit_length=128))

    def create(self, addr, original, source, now):
        """
        A token for addr, binding the Initial's original destination
        connection id and the Retry's source connection id.
        """
        plain = _field(original) + _field(source) + struct.pack("!d", now)
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, plain, _address(addr))

    def validate(self, addr, destination, token, now):
        """
        The original destination connection id of a token brought back
        from addr to destination (the Retry's source connection id).

        @raise ValueError: it was not made here for addr and destination,
            or has expired.
        """
        if len(token) <= _NONCE:
            raise ValueError("the retry token is too short")
        try:
            plain = self._aead.decrypt(token[:_NONCE], token[_NONCE:], _address(addr))
        except InvalidTag:
            raise ValueError("the retry token was not made here for this address") from None
        end = 1 + plain[0]
        original = plain[1:end]
        source = plain[end + 1:end + 1 + plain[end]]
        (made,) = struct.unpack("!d", plain[-8:])
        if source != destination:
            raise ValueError("the retry token was made for another connection id")
        if not made <= now <= made + LIFETIME:
            raise ValueError("the retry token has expired")
        return original
