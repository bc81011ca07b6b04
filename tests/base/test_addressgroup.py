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

    def test_namesThatLookLikeAddresses(self):
        """A name beginning with a digit, or anything with a colon, is
        parsed and, if no address, its own group too; an address with
        leading or trailing junk is no address."""
        self.assertEqual(addressGroup("1password.example"), "1password.example")
        self.assertEqual(addressGroup("10.0.0.1.example"), "10.0.0.1.example")
        self.assertEqual(addressGroup("host:80"), "host:80")
        self.assertEqual(addressGroup("::1"), "::/32")
        self.assertEqual(addressGroup(" 10.0.0.1"), " 10.0.0.1")
