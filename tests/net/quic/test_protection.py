"""
Tests of L{twisted_bazaar.net.quic.protection}: the lean header
protection puts on the wire exactly aioquic's bytes, and takes off what
aioquic's puts on.
"""

import os

from aioquic._crypto import CryptoError, HeaderProtection
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.quic.protection import LeanHeaderProtection

KEY = bytes(range(16))


def protections(cipher=b"aes-128-ecb", key=KEY):
    return HeaderProtection(cipher, key), LeanHeaderProtection(HeaderProtection(cipher, key))


#: A short header (first byte 0x40 | packet number length 2 - 1, 8 bytes
#: of connection id, 2 of packet number) and a long one (Handshake, 4
#: bytes of packet number).
SHORT = bytes([0x41]) + os.urandom(8) + b"\x12\x34"
LONG = bytes([0xE3]) + b"\x00\x00\x00\x01" + b"\x08" + os.urandom(8) + b"\x00" \
    + b"\x44\x00" + b"\x01\x02\x03\x04"


class LeanHeaderProtectionTests(SynchronousTestCase):
    def check(self, header, cipher=b"aes-128-ecb", key=KEY):
        payload = os.urandom(65000)
        theirs, ours = protections(cipher, key)
        packet = ours.apply(header, payload)
        self.assertIsInstance(packet, bytes)
        self.assertEqual(packet, theirs.apply(header, payload))
        pn_length = (header[0] & 0x03) + 1
        pn_offset = len(header) - pn_length
        self.assertEqual(ours.remove(packet, pn_offset), theirs.remove(packet, pn_offset))
        plain, number = ours.remove(packet, pn_offset)
        self.assertEqual(plain, header)
        self.assertEqual(number, int.from_bytes(header[pn_offset:], "big"))

    def test_short(self):
        """A 1-RTT packet's header: the same bytes both ways."""
        self.check(SHORT)

    def test_long(self):
        """A long header (its first byte masked in 4 bits, not 5)."""
        self.check(LONG)

    def test_chacha(self):
        """ChaCha20's mask, as with AES's."""
        self.check(SHORT, b"chacha20", bytes(range(32)))

    def test_tooShort(self):
        """A packet too short to sample is aioquic's error, which makes
        its caller drop it."""
        _, ours = protections()
        with self.assertRaises(CryptoError):
            ours.remove(SHORT + bytes(10), len(SHORT) - 2)
