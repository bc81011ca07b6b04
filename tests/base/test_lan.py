"""
Tests of L{twisted_bazaar.base.lan}: which addresses are local (a node
may announce them), and which two may be on one subnet.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted.internet.address import IPv6Address, UNIXAddress
from twisted.internet.testing import StringTransport

from twisted_bazaar.base.lan import (
    canonical, isLocal, oneSpelling, peerHost, sameHost, sameSubnet, toldHost, whyNotLocal)


class LocalTests(SynchronousTestCase):
    def test_privateAndLinkLocal(self):
        for host in ("10.1.2.3", "172.16.0.1", "172.31.255.254", "192.168.1.2",
                     "169.254.3.4", "fd12:3456::1", "fe80::1", "::ffff:192.168.1.2"):
            self.assertIsNone(whyNotLocal(host), host)
            self.assertTrue(isLocal(host))

    def test_othersRefusedWithWhy(self):
        """Public, loopback, unspecified, multicast, shared (carrier NAT)
        addresses and names are no local address a peer may be dialled
        at: each says why."""
        for host in ("8.8.8.8", "127.0.0.1", "0.0.0.0", "224.0.0.1", "100.64.0.1",
                     "172.32.0.1", "::1", "2001:db8::1", "ff02::1"):
            self.assertIn("is not a private or link-local address", whyNotLocal(host))
            self.assertFalse(isLocal(host))
        self.assertEqual(whyNotLocal("router.lan"), "'router.lan' is no IP address")
        self.assertFalse(isLocal(""))

    def test_aZoneRefused(self):
        """A zone names an interface of the machine that reads it."""
        self.assertIn("names a zone", whyNotLocal("fe80::1%eth0"))

    def test_oneAddressOneText(self):
        self.assertEqual({canonical(host) for host in (
            "192.168.1.2", "::ffff:192.168.1.2", "::ffff:c0a8:102")}, {"192.168.1.2"})
        self.assertEqual(canonical("FD00:0::1"), "fd00::1")


class OneSpellingTests(SynchronousTestCase):
    def test_anAddressCanonicalANameAsItIs(self):
        self.assertEqual(oneSpelling("::ffff:203.0.113.9"), "203.0.113.9")
        self.assertEqual(oneSpelling("2001:DB8::9"), "2001:db8::9")
        self.assertEqual(oneSpelling("node-7.example"), "node-7.example")

    def test_aPeersHost(self):
        """A dual-stack socket's IPv4 peer as IPv4; no transport, or an
        address without a host, as ""."""
        mapped = StringTransport(peerAddress=IPv6Address("TCP", "::ffff:127.0.0.1", 4001))
        self.assertEqual(peerHost(mapped), "127.0.0.1")
        self.assertEqual(peerHost(StringTransport(peerAddress=UNIXAddress(None))), "")
        self.assertEqual(peerHost(None), "")


class SameSubnetTests(SynchronousTestCase):
    def test_oneSlash24OrSlash64OfLocalAddresses(self):
        self.assertTrue(sameSubnet("192.168.1.2", "192.168.1.3"))
        self.assertFalse(sameSubnet("192.168.1.2", "192.168.3.2"))
        self.assertTrue(sameSubnet("fd00::2", "fd00::3"))
        self.assertFalse(sameSubnet("203.0.113.7", "203.0.113.8"))
        self.assertFalse(sameSubnet("", ""))

    def test_linkLocalSaysNothing(self):
        """Every link has fe80::/64, and a machine draws its 169.254
        address itself: neither says two are on one network."""
        self.assertFalse(sameSubnet("fe80::2", "fe80::3"))
        self.assertFalse(sameSubnet("169.254.1.2", "169.254.1.3"))


class ToldHostTests(SynchronousTestCase):
    def test_neverALocalAddress(self):
        """A node without --host tells everyone where its tracker
        connection leaves from, unless that is local: then where the
        tracker saw it, or nothing yet."""
        self.assertEqual(toldHost("198.51.100.7", None), "198.51.100.7")
        self.assertEqual(toldHost("127.0.0.1", None), "127.0.0.1")
        self.assertEqual(toldHost("192.168.1.2", None), "")
        self.assertEqual(toldHost("192.168.1.2", "203.0.113.7"), "203.0.113.7")


class SameHostTests(SynchronousTestCase):
    def test_oneAddressHoweverSpelt(self):
        """An IPv4 address as an IPv6 socket names it is that address; a
        name is only itself."""
        self.assertTrue(sameHost("::ffff:192.0.2.1", "192.0.2.1"))
        self.assertTrue(sameHost("2001:DB8::1", "2001:db8::1"))
        self.assertFalse(sameHost("192.0.2.1", "192.0.2.2"))
        self.assertTrue(sameHost("tracker.example", "tracker.example"))
        self.assertFalse(sameHost("tracker.example", "192.0.2.1"))
