"""
End to end behind NAT routers, in network namespaces
(L{twisted_bazaar.testing.netns}): the tracker and a seller on a public
net, a seller at home A and a buyer at home B, each home behind a router
of its own doing NAT (home A's keeps source ports, home B's draws a
random one per connection, as a symmetric NAT).  Every daemon is started
with only the flags a user types: the tracker's address, and a role.

The tracker's address check tells each node whether it can be dialled
from outside: the public seller can, the nodes at home cannot, and each
learns the router's public address it was seen from.  A buyer at home
buys from the public seller.

It needs root, ``ip`` and ``iptables``; without them it is skipped with
the reason.  Every namespace goes when the test ends, passed or not.
"""

import os
import re
import shutil
import tempfile

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from twisted_bazaar.testing.daemons import TERMINATED, LiveMarket, nodeId
from twisted_bazaar.testing.netns import NetBed, missing
from tests.e2e.helpers import short

TIMEOUT = 30.0
TRACKER_PORT = 7700
#: The port a router forwards to the seller at its home.
FORWARDED_PORT = 7701
#: The line of a node the tracker found it could dial.
REACHABLE = r"this node is reachable from outside at {host}:\d+: the tracker dialled it"
#: The line of a node the tracker could not dial, with where it was seen.
UNREACHABLE = (r"this node is not reachable from outside at {host}:\d+ \(behind NAT\?\): "
               r"other nodes cannot dial it; the tracker saw it connect from "
               r"{host}:(?P<port>\d+)")


class BehindNATTests(SynchronousTestCase):
    def setUp(self):
        reason = missing(nat=True)
        if reason is not None:
            raise SkipTest(reason)
        self.bed = NetBed(os.getpid() % 100000)
        self.addCleanup(self.bed.remove)
        self.tracker_host = self.bed.public("tracker")
        self.seller_host = self.bed.public("seller")
        self.home_a = self.bed.home("homea")
        self.home_b = self.bed.home("homeb", symmetric=True)
        folder = tempfile.mkdtemp(prefix="bazaar-nat-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.market = LiveMarket(folder)
        self.addCleanup(self.market.stop)

    def node(self, name, host, *roles):
        """A node as a user starts it: the tracker's address and a role."""
        return self.market.start(name, [
            "bazaar-node", "--tracker",
            f"tcp:{self.tracker_host.address}:{TRACKER_PORT}", *roles],
            wrapper=host.wrapper)

    def test_reachabilityAndABuyFromHome(self):
        """The public seller learns it is reachable; the seller at home A
        and the buyer at home B that they are not, each seen from its
        router's public address (B's from a port its router drew); the
        buyer at home buys from the public seller."""
        tracker = self.market.start("tracker", [
            "bazaar-tracker", "--listen", f"tcp:{TRACKER_PORT}"],
            wrapper=self.tracker_host.wrapper)
        tracker.waitFor(rf"tracker listening on 0\.0\.0\.0:{TRACKER_PORT}", TIMEOUT)
        seller = self.node("seller", self.seller_host, "--role", "seller", "--sell",
                           "apple=2")
        seller_id = nodeId(seller, TIMEOUT)
        at_home = self.node("home-seller", self.home_a.host, "--role", "seller",
                            "--sell", "pear=1")
        seller.waitFor(REACHABLE.format(host=re.escape(self.seller_host.address)),
                       TIMEOUT)
        at_home.waitFor(UNREACHABLE.format(host=re.escape(self.home_a.public_address)),
                        TIMEOUT)
        buyer = self.node("home-buyer", self.home_b.host, "--role", "buyer", "--want",
                          "apple")
        buyer_id = nodeId(buyer, TIMEOUT)
        buyer.waitFor(UNREACHABLE.format(host=re.escape(self.home_b.public_address)),
                      TIMEOUT)
        buyer.waitFor(rf"bought apple from {short(seller_id)} \(1 of 1\)", TIMEOUT)
        seller.waitFor(rf"sold apple to {short(buyer_id)} \(1 left\)", TIMEOUT)
        for daemon in (seller, at_home, buyer):
            self.assertEqual(len(daemon.matches("reachable from outside")), 1,
                             daemon.name)
        self.stopCleanly()

    def test_forwardedPort(self):
        """A seller at home whose router forwards its port, started with
        that port and its router's public address (--host), learns it is
        reachable there, and a buyer at another home buys from it."""
        forwarded = self.bed.home("homec", forward=FORWARDED_PORT)
        tracker = self.market.start("tracker", [
            "bazaar-tracker", "--listen", f"tcp:{TRACKER_PORT}"],
            wrapper=self.tracker_host.wrapper)
        tracker.waitFor(rf"tracker listening on 0\.0\.0\.0:{TRACKER_PORT}", TIMEOUT)
        seller = self.node("home-seller", forwarded.host, "--role", "seller", "--sell",
                           "pear=1", "--listen", f"tcp:{FORWARDED_PORT}", "--host",
                           forwarded.public_address)
        seller_id = nodeId(seller, TIMEOUT)
        seller.waitFor(REACHABLE.format(host=re.escape(forwarded.public_address)),
                       TIMEOUT)
        buyer = self.node("home-buyer", self.home_b.host, "--role", "buyer", "--want",
                          "pear")
        buyer_id = nodeId(buyer, TIMEOUT)
        buyer.waitFor(rf"bought pear from {short(seller_id)} \(1 of 1\)", TIMEOUT)
        seller.waitFor(rf"sold pear to {short(buyer_id)} \(0 left\)", TIMEOUT)
        self.stopCleanly()

    def stopCleanly(self):
        codes = self.market.stop()
        self.assertEqual(set(codes.values()), {TERMINATED}, codes)
        for daemon in self.market.daemons:
            self.assertEqual(daemon.problems(), [], daemon.name)
