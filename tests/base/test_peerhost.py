"""
Tests of L{twisted_bazaar.base.peerhost}: the scope of an address, and
which a node dials where a peer's word names it.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.peerhost import (
    LOCAL,
    LOOPBACK,
    PUBLIC,
    isName,
    scopeOf,
    whyNotDialled,
)


class ScopeTests(SynchronousTestCase):
    def test_scopes(self):
        """However spelt: an IPv4-mapped address is its IPv4 one."""
        for host, scope in (("127.0.0.1", LOOPBACK), ("::1", LOOPBACK),
                            ("::ffff:7f00:1", LOOPBACK), ("10.1.2.3", LOCAL),
                            ("::ffff:192.168.1.1", LOCAL), ("fd00::5", LOCAL),
                            ("169.254.1.1", LOCAL), ("203.0.113.7", PUBLIC),
                            ("2001:db8::1", PUBLIC)):
            self.assertEqual(scopeOf(host), scope, host)

    def test_noPeerThere(self):
        for host in ("0.0.0.0", "::", "224.0.0.1", "ff02::1", "255.255.255.255",
                     "240.0.0.1", "seller.example", "fe80::1%eth0"):
            self.assertIsNone(scopeOf(host), host)

    def test_names(self):
        self.assertEqual([isName(h) for h in ("seller.example", "n5", "127.0.0.1", "::1",
                                              "fe80::1%eth0")],
                         [True, True, False, False, False])


class DialledTests(SynchronousTestCase):
    def test_aPublicAddressAtAnyPort(self):
        self.assertIsNone(whyNotDialled("203.0.113.7", 443, set()))

    def test_aScopeOfItsOwnAboveTheWellKnownPorts(self):
        self.assertIsNone(whyNotDialled("127.0.0.1", 1024, {LOOPBACK}))
        self.assertIsNone(whyNotDialled("10.0.0.1", 8080, {LOCAL}))
        self.assertIn("below 1024", whyNotDialled("127.0.0.1", 1023, {LOOPBACK}))
        self.assertIn("on no loopback network", whyNotDialled("127.0.0.1", 8080, {LOCAL}))
        self.assertIn("on no private network", whyNotDialled("10.0.0.1", 8080, {LOOPBACK}))

    def test_neverLinkLocal(self):
        self.assertIn("link-local", whyNotDialled("169.254.169.254", 8080, {LOCAL}))
