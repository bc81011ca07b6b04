"""
Tests of L{twisted_bazaar.base.peerhost}: the scope of an address, and
which a node dials where a peer's word names it, and which a tracker
dials to check a node.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.peerhost import (
    LOCAL,
    LOOPBACK,
    PUBLIC,
    isName,
    probesAnother,
    scopeOf,
    whyNotChecked,
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


class CheckedTests(SynchronousTestCase):
    """
    A tracker checks a node where its connection comes from, or where the
    node could dial itself from there: a registration never has it dial
    a service of its own machine or network, or a third party.
    """

    def test_whereItsConnectionComesFrom(self):
        """However spelt."""
        self.assertIsNone(whyNotChecked("203.0.113.5", 4001, "203.0.113.5"))
        self.assertIsNone(whyNotChecked("203.0.113.5", 4001, "::ffff:203.0.113.5"))
        self.assertIsNone(whyNotChecked("10.0.0.7", 4001, "10.0.0.7"))

    def test_fromAPublicAddressThereOnly(self):
        for host in ("198.51.100.9", "127.0.0.1", "10.0.0.1", "169.254.169.254", "::1"):
            why = whyNotChecked(host, 4001, "203.0.113.5")
            self.assertEqual(why, f"{host} is not where the node's connection comes "
                             "from (203.0.113.5): a node connecting from a public "
                             "address is checked only there")

    def test_fromPublicIPv6ItsSlash64(self):
        """A host with privacy addresses connects from a temporary one and
        listens at its stable one, of the same /64: checked there (it was
        refused, and the node ran relayed for good); another /64 is not
        its link."""
        temporary = "2001:db8:1:200:10b7:6657:9d6f:e5a0"
        self.assertIsNone(whyNotChecked("2001:db8:1:200::2", 4001, temporary))
        for host in ("2001:db8:1:201::2", "2001:db8::1", "198.51.100.9"):
            self.assertEqual(
                whyNotChecked(host, 4001, temporary),
                f"{host} is not where the node's connection comes from ({temporary}): "
                "a node connecting from a public address is checked only there, or at "
                "another address of its /64")
        self.assertIn("is not where", whyNotChecked("fd00:1:200::2", 4001, temporary))
        self.assertIn("is not where", whyNotChecked("fe80::2", 4001, "fe80::1"))

    def test_aNeighbourOnlyFromPort1024(self):
        """Another address of the node's /64, or of its private network,
        is checked only at a port from 1024: a registrant in a shared /64
        (a hosting provider's, a campus LAN) had the tracker dial a
        neighbour's ssh.  The node's own address at any port; from the
        tracker's own machine, anywhere."""
        temporary = "2001:db8:1:200:10b7:6657:9d6f:e5a0"
        for host, seen in (("2001:db8:1:200::2", temporary), ("10.0.0.1", "192.168.1.5"),
                           ("198.51.100.9", "192.168.1.5")):
            self.assertEqual(
                whyNotChecked(host, 22, seen),
                f"{host} is not where the node's connection comes from ({seen}), and "
                "port 22 is below 1024: another address is checked only at a port "
                "from 1024")
            self.assertIn("port 1023 is below", whyNotChecked(host, 1023, seen))
            self.assertIsNone(whyNotChecked(host, 1024, seen))
        for host in ("203.0.113.5", "::ffff:203.0.113.5"):
            self.assertIsNone(whyNotChecked(host, 443, "203.0.113.5"))
        self.assertIsNone(whyNotChecked(temporary, 22, temporary))
        self.assertIsNone(whyNotChecked("10.0.0.1", 22, "127.0.0.1"))

    def test_probesAnother(self):
        """A check of another address than the node's own tells of a
        neighbour: its failure waits for the handshake timeout.  Not its
        own, however spelt; not from the tracker's own machine."""
        temporary = "2001:db8:1:200:10b7:6657:9d6f:e5a0"
        self.assertTrue(probesAnother("2001:db8:1:200::2", temporary))
        self.assertTrue(probesAnother("10.0.0.1", "192.168.1.5"))
        self.assertFalse(probesAnother(temporary, temporary))
        self.assertFalse(probesAnother("::ffff:203.0.113.5", "203.0.113.5"))
        self.assertFalse(probesAnother("10.0.0.1", "127.0.0.1"))
        self.assertFalse(probesAnother("2001:db8::1", "::1"))

    def test_fromItsOwnMachineAnywhere(self):
        """A node on the tracker's machine can dial whatever it can."""
        for host in ("198.51.100.9", "127.0.0.2", "10.0.0.1", "::1"):
            self.assertIsNone(whyNotChecked(host, 4001, "127.0.0.1"), host)
        self.assertIsNone(whyNotChecked("10.0.0.1", 4001, "::1"))

    def test_fromItsNetworkNoLoopbackOrLinkLocal(self):
        """Nor its cloud's metadata service: each machine's own."""
        self.assertIsNone(whyNotChecked("10.0.0.1", 4001, "192.168.1.5"))
        self.assertIsNone(whyNotChecked("198.51.100.9", 4001, "192.168.1.5"))
        for host in ("127.0.0.1", "169.254.169.254", "fe80::1"):
            self.assertIn("a node connecting from a private address is checked only "
                          "there, or at another private or public address",
                          whyNotChecked(host, 4001, "192.168.1.5"))

    def test_neverWhereNoNodeListens(self):
        for host in ("224.0.0.1", "255.255.255.255", "240.0.0.1"):
            self.assertIn("no address a node listens at", whyNotChecked(host, 4001, "127.0.0.1"))
        self.assertIn("names a zone", whyNotChecked("fe80::1%eth0", 4001, "127.0.0.1"))

    def test_aNameIsNoAddress(self):
        """A name is resolved first (tracker/checks.py): it is never where
        a connection comes from."""
        self.assertIn("is not where", whyNotChecked("seller.example", 4001, "203.0.113.5"))
