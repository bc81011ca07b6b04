"""
Tests for L{twisted_bazaar.reach.punch.udprun}: a datagram of a punch or
a check written from one of the node's QUIC sockets.
"""

from types import SimpleNamespace

from twisted.internet.error import InvalidAddressError
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach.punch.udprun import write


class WriteTests(SynchronousTestCase):
    def test_aHostOfTheOtherFamilyIsNoTraceback(self):
        """A node listening on IPv6 alone, asked by its tracker at an IPv4
        address to send its check's datagrams: none can go, and the
        tracker's message handler raises nothing (it had closed the
        tracker link with a traceback: tests/e2e/test_files_live.py,
        test_fileOverIPv6, with UDP on by default)."""

        def refuse(data, address):
            raise InvalidAddressError(address[0], "IPv6 port write() called with IPv4")

        endpoint = SimpleNamespace(transport=SimpleNamespace(write=refuse))
        self.assertIsNone(write(endpoint, b"probe", "127.0.0.1", 7701))

    def test_aClosedSocketSendsNothing(self):
        """A socket the punch closed (None: it met on another) is skipped."""
        self.assertIsNone(write(None, b"probe", "127.0.0.1", 7701))
