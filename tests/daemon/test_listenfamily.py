"""
Tests for twisted_bazaar.daemon.listenfamily: a node listening on IPv4
only, checked by its tracker at an IPv6 address, says why it cannot be
dialled (its line said only "behind NAT?"); one whose trackers are each
at an IPv6 address listens on IPv6.
"""

from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.address import parseAddress
from twisted_bazaar.daemon.listenfamily import IPv4Only, onTrackersFamily
from twisted_bazaar.tap.node import Options as NodeOptions
from twisted_bazaar.reach.reachable.reachability import PRIVATE, PUBLIC, Reachability


class IPv4OnlyTests(SynchronousTestCase):
    def setUp(self):
        self.lines = []

        def observe(event):
            if event.get("log_namespace", "").endswith("IPv4Only"):
                self.lines.append(event)

        globalLogPublisher.addObserver(observe)
        self.addCleanup(globalLogPublisher.removeObserver, observe)

    def said(self, listen, *reaches):
        observer = IPv4Only(listen)
        for reach in reaches:
            observer.reachChanged(reach, 40000)
        return [event["log_format"].format(**event) for event in self.lines]

    def test_checkedAtIPv6(self):
        """A failed check at an IPv6 address is said once, with the way
        out."""
        failed = Reachability(PRIVATE, "fd50::3", 34615, "fd50::3", 42562)
        self.assertEqual(self.said("tcp:0", failed, failed), [
            "this node listens on IPv4 only (--listen tcp:0), and the tracker "
            "checked it at the IPv6 address it came from (fd50::3), where nothing "
            "listens: that, not NAT, is why it cannot be dialled; --listen tcp6:0 "
            "listens on IPv6 too (and on IPv4, where the system maps it)"])

    def test_itsPortKept(self):
        failed = Reachability(PRIVATE, "fd50::3", 7701, "fd50::3", 42562)
        [line] = self.said("tcp:7701", failed)
        self.assertIn("--listen tcp6:7701 listens", line)

    def test_otherwiseNothing(self):
        """A failed check at an IPv4 address (NAT, perhaps), a passed one,
        or one at a host name says nothing."""
        self.assertEqual(self.said(
            "tcp:0", Reachability(PRIVATE, "192.0.2.7", 9001, "192.0.2.7", 40312),
            Reachability(PUBLIC, "fd50::3", 9001, "fd50::3", 40312),
            Reachability(PRIVATE, "node.example", 9001, "fd50::3", 40312),
            Reachability()), [])


class OnTrackersFamilyTests(SynchronousTestCase):
    """A node's --listen tcp:0 (the default, IPv4 only) at an IPv6-only
    tracker was checked at its IPv6 address, where nothing listened, and
    ran relayed (a daemon warned; ``bazaar buy`` said nothing, and no
    seller could dial it): it listens on the trackers' family."""

    def test_everyTrackerAtAnIPv6Address(self):
        self.assertEqual(onTrackersFamily("tcp:0", [parseAddress("[2001:db8::7]:7700")]),
                         "tcp6:0")
        self.assertEqual(onTrackersFamily("tcp:0", [parseAddress("[::1]:7700"),
                                                    parseAddress("[fd00::2]:7701")]),
                         "tcp6:0")

    def test_elseAsGiven(self):
        """An IPv4 tracker, a mixed market, a name (its family known only
        once reached: IPv4Only says so then), and a port or interface the
        user chose, are left as they are."""
        v6 = parseAddress("[2001:db8::7]:7700")
        for listen, trackers in (("tcp:0", [parseAddress("127.0.0.1:7700")]),
                                 ("tcp:0", [v6, parseAddress("192.0.2.1:7700")]),
                                 ("tcp:0", [parseAddress("tracker.example.org:7700")]),
                                 ("tcp:4001", [v6]),
                                 ("tcp:0:interface=127.0.0.1", [v6]),
                                 ("tcp:0", [])):
            self.assertEqual(onTrackersFamily(listen, trackers), listen)

    def test_theDaemonsDefault(self):
        options = NodeOptions()
        options.parseOptions(["--tracker", "[::1]:7700"])
        self.assertEqual(options["listen"], "tcp6:0")
        options = NodeOptions()
        options.parseOptions(["--tracker", "127.0.0.1:7700"])
        self.assertEqual(options["listen"], "tcp:0")
