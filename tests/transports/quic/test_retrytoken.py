"""
Tests of L{twisted_bazaar.transports.quic.retrytoken.RetryTokens}: a token is
good only from the address it was made for, for the connection id it
names, within its lifetime, and only where it was made.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.transports.quic.retrytoken import LIFETIME, RetryTokens

ADDR = ("10.0.0.1", 4433)
ORIGINAL, SOURCE = b"\x01" * 8, b"\x02" * 8


class RetryTokenTests(SynchronousTestCase):
    def setUp(self):
        self.tokens = RetryTokens()
        self.token = self.tokens.create(ADDR, ORIGINAL, SOURCE, 100.0)

    def test_broughtBack(self):
        """From its address, to its Retry's connection id, in time: the
        original destination connection id it bound."""
        self.assertEqual(self.tokens.validate(ADDR, SOURCE, self.token, 100.0 + LIFETIME),
                         ORIGINAL)

    def refused(self, addr=ADDR, destination=SOURCE, token=None, now=101.0, tokens=None):
        token = self.token if token is None else token
        with self.assertRaises(ValueError) as caught:
            (tokens or self.tokens).validate(addr, destination, token, now)
        return str(caught.exception)

    def test_anotherAddress(self):
        self.assertIn("address", self.refused(addr=("10.0.0.1", 4434)))
        self.assertIn("address", self.refused(addr=("10.0.0.2", 4433)))

    def test_anotherConnectionId(self):
        self.assertIn("connection id", self.refused(destination=b"\x03" * 8))

    def test_expired(self):
        self.assertIn("expired", self.refused(now=100.0 + LIFETIME + 0.001))
        self.assertIn("expired", self.refused(now=99.0))

    def test_madeElsewhere(self):
        """Another endpoint's key, a token bent, or one too short: refused,
        each with its reason."""
        self.assertIn("address", self.refused(tokens=RetryTokens()))
        bent = bytearray(self.token)
        bent[-1] ^= 1
        self.assertIn("address", self.refused(token=bytes(bent)))
        self.assertIn("short", self.refused(token=b"\x00" * 12))

    def test_ipv6(self):
        addr = ("2001:db8::1", 443)
        token = self.tokens.create(addr, ORIGINAL, SOURCE, 5.0)
        self.assertEqual(self.tokens.validate(addr, SOURCE, token, 5.0), ORIGINAL)
