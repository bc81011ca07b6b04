"""Tests for L{twisted_bazaar.base.addressgroup}."""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.addressgroup import addressGroup


class AddressGroupTests(SynchronousTestCase):
    def test_groups(self):
        """IPv4 by /16, IPv6 by /32, a mapped IPv4 address as IPv4, and a
        name as itself."""
        self.assertEqual(addressGroup("127.0.0.1"), addressGroup("127.0.200.9"))
        self.assertEqual(addressGroup("127.0.0.1"), "127.0.0.0/16")
        self.assertNotEqual(addressGroup("127.0.0.1"), addressGroup("127.1.0.1"))
        self.assertEqual(addressGroup("2001:db8:1::1"), "2001:db8::/32")
        self.assertEqual(addressGroup("::ffff:10.1.2.3"), "10.1.0.0/16")
        self.assertEqual(addressGroup("node7"), "node7")
        self.assertEqual(addressGroup(""), "")

    def test_anIPv6AddressCarryingAnIPv4One(self):
        """One /32 (or /16) held every party of a kind in one group: every
        Teredo client (2001::/32), every IPv4 host reached through a NAT64
        (64:ff9b::/96), each tunnel of Hurricane Electric's broker
        (2001:470::/32); 6to4 grouped an IPv4 /16 apart from its own IPv4
        addresses.  Each counts as the IPv4 address it carries, and the
        broker's by /36 (issue 96)."""
        self.assertEqual(addressGroup("2001:0:4136:e378:8000:63bf:3fff:fdd2"),
                         "192.0.0.0/16")
        self.assertNotEqual(addressGroup("2001:0:4136:e378:8000:63bf:3fff:fdd2"),
                            addressGroup("2001:0:4136:e378:8000:63bf:3ffe:fdd2"))
        self.assertEqual(addressGroup("64:ff9b::192.0.2.45"), "192.0.0.0/16")
        self.assertEqual(addressGroup("64:ff9b::198.51.100.7"), "198.51.0.0/16")
        self.assertEqual(addressGroup("2002:c000:22d::1"), "192.0.0.0/16")
        self.assertEqual(addressGroup("2001:470:1f0b::1"), "2001:470:1000::/36")
        self.assertNotEqual(addressGroup("2001:470:1f0b::1"),
                            addressGroup("2001:470:2f0b::1"))
        # The rest of IPv6 as before.
        self.assertEqual(addressGroup("2001:db8:ffff::1"), "2001:db8::/32")
        self.assertEqual(addressGroup("64:ff9b:1::1"), "64:ff9b::/32")

    def test_namesThatLookLikeAddresses(self):
        """A name beginning with a digit, or anything with a colon, is
        parsed and, if no address, its own group too; an address with
        leading or trailing junk is no address."""
        self.assertEqual(addressGroup("1password.example"), "1password.example")
        self.assertEqual(addressGroup("10.0.0.1.example"), "10.0.0.1.example")
        self.assertEqual(addressGroup("host:80"), "host:80")
        self.assertEqual(addressGroup("::1"), "::/32")
        self.assertEqual(addressGroup(" 10.0.0.1"), " 10.0.0.1")
