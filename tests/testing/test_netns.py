"""
Tests of L{twisted_bazaar.testing.netns} without root: the reasons it
gives when namespaces cannot be made, and the commands that build a home
behind a NAT router, recorded instead of run.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.testing import netns


class MissingTests(SynchronousTestCase):
    def setUp(self):
        self.commands = {"ip": "/sbin/ip", "iptables": "/sbin/iptables"}
        self.patch(netns.shutil, "which", self.commands.get)
        self.patch(netns.os, "geteuid", lambda: 1000)

    def test_noIp(self):
        del self.commands["ip"]
        self.assertEqual(netns.missing(),
                         "no ip command (iproute2): network namespaces need it")

    def test_notRoot(self):
        self.assertEqual(netns.missing(), "not root: making network namespaces and "
                         "links needs root")

    def test_noIptablesForNAT(self):
        self.patch(netns.os, "geteuid", lambda: 0)
        del self.commands["iptables"]
        self.assertEqual(netns.missing(nat=True), "no iptables command: the NAT "
                         "routers need it (apt-get install iptables)")


class BedTests(SynchronousTestCase):
    def setUp(self):
        self.ran = []
        self.patch(netns, "run", lambda *args: self.ran.append(args))
        self.bed = netns.NetBed(7)

    def routerRules(self):
        return [args[4:] for args in self.ran if args[4:5] == ("iptables",)]

    def test_public(self):
        """Public hosts share one net, through a bridge in a namespace of
        its own: nothing is made in the caller's namespace."""
        first, second = self.bed.public("tracker"), self.bed.public("seller")
        self.assertEqual((first, second), (netns.Host("bz7tracker", "10.47.0.1"),
                                           netns.Host("bz7seller", "10.47.0.2")))
        self.assertEqual(self.bed.namespaces, ["bz7tracker", "bz7wan", "bz7seller"])
        self.assertTrue(all(args[:2] == ("ip", "netns") or args[1] == "-n"
                            for args in self.ran), self.ran)

    def test_publicOfEachFamily(self):
        """A host of IPv6 alone has an address of fd47::/64 and none of
        IPv4 (its address is its IPv6 one); a host of IPv4 alone has
        IPv6 turned off; a host of both has one of each."""
        six = self.bed.public("b", families=(6,))
        four = self.bed.public("s", families=(4,))
        both = self.bed.public("d", families=(4, 6))
        self.assertEqual((six, four, both), (
            netns.Host("bz7b", "fd47::1", "fd47::1"), netns.Host("bz7s", "10.47.0.2"),
            netns.Host("bz7d", "10.47.0.3", "fd47::3")))
        added = [(args[2], args[5]) for args in self.ran if args[3:5] == ("addr", "add")]
        self.assertEqual(added, [("bz7b", "fd47::1/64"), ("bz7s", "10.47.0.2/24"),
                                 ("bz7d", "10.47.0.3/24"), ("bz7d", "fd47::3/64")])
        self.assertEqual([args[3] for args in self.ran if "sysctl" in args],
                         ["bz7s"])

    def test_homeKeepsPorts(self):
        home = self.bed.home("a")
        self.assertEqual(home, netns.Home(netns.Host("bz7a", "192.168.1.2"),
                                          netns.Host("bz7ar", "10.47.0.1"), "10.47.0.1"))
        self.assertEqual(self.routerRules(), [
            ("iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j",
             "MASQUERADE"),
            ("iptables", "-A", "FORWARD", "-i", "wan", "-o", "lan", "-m", "conntrack",
             "--ctstate", "NEW", "-j", "DROP"),
            # Unasked packets to the router itself are dropped, not reset
            # (a reset would defeat a hole punch's simultaneous open).
            ("iptables", "-A", "INPUT", "-i", "wan", "-m", "conntrack", "--ctstate",
             "NEW,INVALID", "-j", "DROP")])
        self.assertIn(("ip", "-n", "bz7a", "route", "add", "default", "via",
                       "192.168.1.1"), self.ran)

    def test_noRateNoShaping(self):
        self.bed.home("a")
        self.assertFalse([args for args in self.ran if "tc" in args])

    def test_aShapedLine(self):
        """With a rate, a home's line to the public net is held to it both
        ways: the router's side (its upload) and the bridge's port (its
        download), 4 ms of the rate a burst."""
        bed = netns.NetBed(7, rate="1gbit")
        bed.home("a")
        shaped = [args[3:] for args in self.ran if "tc" in args]
        self.assertEqual([(args[0], args[5]) for args in shaped],
                         [("bz7ar", "wan"), ("bz7wan", "p1")])
        self.assertEqual(shaped[0][7:], ("tbf", "rate", "1gbit", "burst", "500000",
                                         "latency", "20ms"))
        self.assertEqual(netns._burst("10mbit"), "65536")
        with self.assertRaises(ValueError):
            netns._burst("fast")

    def test_symmetricHome(self):
        self.bed.home("a")
        self.ran.clear()
        home = self.bed.home("b", symmetric=True)
        self.assertEqual(home.host.address, "192.168.2.2")
        self.assertEqual(self.routerRules()[0][-2:], ("MASQUERADE", "--random-fully"))

    def test_forgetUnasked(self):
        """A home's router keeps what came unasked less: its namespace's
        own conntrack UDP timeout, set there and nowhere else."""
        home = self.bed.home("a", plain=True)
        self.ran.clear()
        home.forgetUnasked(4)
        self.assertEqual(self.ran, [("ip", "netns", "exec", "bz7ar", "sysctl", "-qw",
                                     "net.netfilter.nf_conntrack_udp_timeout=4")])

    def test_rejectUnasked(self):
        """A home's router rejects what comes unasked over UDP to itself:
        one rule first in its INPUT chain, in its namespace alone."""
        home = self.bed.home("a", plain=True)
        self.ran.clear()
        home.rejectUnasked()
        self.assertEqual(self.ran, [("ip", "netns", "exec", "bz7ar", "iptables", "-I",
                                     "INPUT", "-i", "wan", "-p", "udp", "-j", "REJECT")])

    def test_forwardedPort(self):
        """A forwarded port comes in to the host, before the rule that
        keeps every other connection out."""
        self.bed.home("a", forward=7701)
        rules = self.routerRules()
        self.assertEqual(rules[1:], [
            ("iptables", "-t", "nat", "-A", "PREROUTING", "-i", "wan", "-p", "tcp",
             "--dport", "7701", "-j", "DNAT", "--to-destination", "192.168.1.2:7701"),
            ("iptables", "-A", "FORWARD", "-i", "wan", "-o", "lan", "-p", "tcp", "-d",
             "192.168.1.2", "--dport", "7701", "-j", "ACCEPT"),
            ("iptables", "-A", "FORWARD", "-i", "wan", "-o", "lan", "-m", "conntrack",
             "--ctstate", "NEW", "-j", "DROP"),
            ("iptables", "-A", "INPUT", "-i", "wan", "-m", "conntrack", "--ctstate",
             "NEW,INVALID", "-j", "DROP")])

    def test_removeDeletesEveryNamespace(self):
        self.bed.home("a")
        deleted = []
        self.patch(netns.subprocess, "run", lambda args, **_: deleted.append(args))
        self.bed.remove()
        self.assertEqual(deleted, [["ip", "netns", "del", name]
                                   for name in ("bz7a", "bz7wan", "bz7ar")])
        self.assertEqual(self.bed.namespaces, [])


class RemoveLeftTests(SynchronousTestCase):
    """What a stopped run's end removes: the namespaces of the beds of
    the processes it names, and no other."""

    def setUp(self):
        self.ran = []
        self.patch(netns.shutil, "which", lambda command: "/sbin/ip")
        self.patch(netns.os, "geteuid", lambda: 0)

        def run(args, **kwargs):
            self.ran.append(args)
            listing = ("bz7tracker (id: 3)\nbz7wan\nbz17a\nbz7\nbz100007ar\n"
                       "other7a\nbz7a1\n")
            return netns.subprocess.CompletedProcess(args, 0, listing, "")

        self.patch(netns.subprocess, "run", run)

    def test_theBedsOfThoseProcesses(self):
        netns.removeLeft({100007, 8})
        self.assertEqual(self.ran[1:], [["ip", "netns", "del", name]
                                        for name in ("bz7tracker", "bz7wan")])

    def test_noneWithoutRoot(self):
        self.patch(netns.os, "geteuid", lambda: 1000)
        netns.removeLeft({7})
        self.assertEqual(self.ran, [])
