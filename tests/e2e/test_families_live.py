"""
A buy across address families, in network namespaces
(L{twisted_bazaar.testing.netns}): a tracker on both families, a seller
on IPv4 alone, a buyer on IPv6 alone, and a flood node on both, which
links to each.  The buyer finds the seller through the node on both
and cannot dial the seller's IPv4 address (no route): its buy goes along
its search's path, through that node (docs/running.md, ``--listen``).
Before, the buyer took "no route" for "nothing listens there" and never
sent it.

It needs root and ``ip``; without them it is skipped with the reason.
Every namespace is removed when the test ends.
"""

import shutil
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.testing.daemons import JSON, TERMINATED, LiveMarket, nodeId
from tests.e2e.helpers import netBed, short, waitBought, waitSold

TIMEOUT = 60.0


class AcrossFamiliesTests(SynchronousTestCase):
    def setUp(self):
        self.bed = netBed(self, nat=False)
        self.tracker = self.bed.public("t", families=(4, 6))
        self.seller = self.bed.public("s", families=(4,))
        self.both = self.bed.public("d", families=(4, 6))
        self.buyer = self.bed.public("b", families=(6,))
        folder = tempfile.mkdtemp(prefix="bazaar-families-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(self.market.stop)

    def node(self, name, host, address, listen, *roles):
        """A node in host's namespace, registered with the tracker over
        address's family, named at address."""
        tracker = (self.tracker.address6 if ":" in address else self.tracker.address)
        return self.market.start(name, [
            "bazaar-node", "--tracker", f"tcp:{hostPort(tracker, 7700)}",
            "--listen", listen, "--host", address, *roles], wrapper=host.wrapper)

    def test_anIPv6BuyerBuysFromAnIPv4Seller(self):
        tracker = self.market.start("tracker", [
            "bazaar-tracker", "--listen", r"tcp6:7700:interface=\:\:"],
            wrapper=self.tracker.wrapper)
        tracker.waitFor(r"tracker listening on \[::\]:7700", TIMEOUT)
        seller = self.node("seller", self.seller, self.seller.address,
                           f"tcp:9001:interface={self.seller.address}",
                           "--role", "seller", "--sell", "apple=2")
        seller_id = nodeId(seller, TIMEOUT)
        both = self.node("both", self.both, self.both.address6, r"tcp6:9001:interface=\:\:")
        both_id = nodeId(both, TIMEOUT)
        tracker.waitFor(rf"node {short(both_id)} joined", TIMEOUT)
        buyer = self.node("buyer", self.buyer, self.buyer.address6,
                          f"tcp6:9001:interface=[{self.buyer.address6}]",
                          "--role", "buyer", "--want", "apple")
        buyer_id = nodeId(buyer, TIMEOUT)
        waitBought(buyer, "apple", TIMEOUT, seller=seller_id, n=1, q=1)
        waitSold(seller, "apple", TIMEOUT, buyer=buyer_id, left=1)
        self.assertEqual(buyer.matches(r"cannot be reached now"), [])
        codes = self.market.stop()
        self.assertEqual(set(codes.values()), {TERMINATED}, codes)
        for daemon in self.market.daemons:
            self.assertEqual(daemon.problems(), [], daemon.name)
