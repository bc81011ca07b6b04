"""
Tests of L{twisted_bazaar.transports.quic.pathmtu}: a connection's datagram size
from the route's MTU (a fake lookup), the peer's limit, and UDP's.
"""

import socket
import sys
from unittest import skipUnless

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.transports.quic.pathmtu import (
    FALLBACK,
    MOST,
    datagramSize,
    fragmentPastPath,
    routeMtu,
)


def mtuOf(mtu):
    return lambda host: mtu


class DatagramSizeTests(SynchronousTestCase):
    def test_loopback(self):
        """Loopback's route (65,535 bytes, as Linux reports it) gives the
        most UDP carries."""
        self.assertEqual(datagramSize("127.0.0.1", lookup=mtuOf(65535)), MOST)
        self.assertEqual(MOST, 65507)

    def test_ethernet(self):
        """A 1,500-byte route: less 28 bytes of headers in IPv4, 48 in
        IPv6."""
        self.assertEqual(datagramSize("192.0.2.1", lookup=mtuOf(1500)), 1472)
        self.assertEqual(datagramSize("2001:db8::1", lookup=mtuOf(1500)), 1452)

    def test_unknown(self):
        """No MTU known (no route, not Linux): 1,452 bytes."""
        self.assertEqual(datagramSize("192.0.2.1", lookup=mtuOf(None)), FALLBACK)
        self.assertEqual(FALLBACK, 1452)

    def test_thePeersLimit(self):
        """Never more than the peer said it reads."""
        self.assertEqual(datagramSize("127.0.0.1", 8192, lookup=mtuOf(65535)), 8192)
        self.assertEqual(datagramSize("192.0.2.1", 65527, lookup=mtuOf(1500)), 1472)

    def test_theFloor(self):
        """A route under QUIC's 1,200 bytes still gets 1,200 (RFC 9000
        §14: QUIC does not run on a smaller path)."""
        self.assertEqual(datagramSize("192.0.2.1", lookup=mtuOf(576)), 1200)
        self.assertEqual(datagramSize("2001:db8::1", lookup=mtuOf(1280)), 1232)


class FakeHandle:
    def __init__(self, refused):
        self.refused = refused
        self.set = []

    def setsockopt(self, level, option, value):
        if level in self.refused:
            raise OSError("not this family")
        self.set.append((level, option, value))


@skipUnless(sys.platform.startswith("linux"), "Linux's options")
class LinuxTests(SynchronousTestCase):
    def test_routeMtuOfLoopback(self):
        """The kernel's route to loopback has an MTU (nothing is sent to
        read it)."""
        self.assertGreaterEqual(routeMtu("127.0.0.1"), 1500)

    def test_fragmentPastPath(self):
        """Don't-fragment where the datagram fits, fragments where not
        (IP_PMTUDISC_WANT) on the socket's family; the other's refusal is
        no error."""
        handle = FakeHandle(refused={socket.IPPROTO_IPV6})
        fragmentPastPath(handle)
        self.assertEqual(handle.set, [(socket.IPPROTO_IP, 10, 1)])
