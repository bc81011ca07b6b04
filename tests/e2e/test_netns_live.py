"""
End to end across machines, as near as one host gets: three network
namespaces on one net (L{twisted_bazaar.testing.netns}), each with its own
address, the tracker in one and a seller and a buyer in the others (``ip
netns exec NS twistd -n ...``), each node saying its ``--host``; the
buyer buys.

It needs root and ``ip`` (iproute2) with network namespaces; without
them it is skipped with the reason.  Every namespace, and with them every
link and the bridge, is removed when the test ends, whether it passed or
not.
"""

import os
import shutil
import tempfile

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from twisted_bazaar.testing.daemons import JSON, TERMINATED, LiveMarket, nodeId
from twisted_bazaar.testing.netns import NetBed, missing, tagOf
from tests.e2e.helpers import short, waitBought, waitSold

TIMEOUT = 30.0


class NamespaceTests(SynchronousTestCase):
    def setUp(self):
        reason = missing()
        if reason is not None:
            raise SkipTest(reason)
        self.bed = NetBed(tagOf(os.getpid()))
        self.addCleanup(self.bed.remove)
        self.hosts = [self.bed.public(f"n{index}") for index in range(3)]
        folder = tempfile.mkdtemp(prefix="bazaar-netns-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(self.market.stop)

    def start(self, name, index, args):
        return self.market.start(name, args, wrapper=self.hosts[index].wrapper)

    def node(self, name, index, *roles):
        tracker, address = self.hosts[0].address, self.hosts[index].address
        return self.start(name, index, [
            "bazaar-node", "--tracker", f"tcp:{tracker}:7700", "--listen",
            f"tcp:0:interface={address}", "--host", address, *roles])

    def test_tradeAcrossNamespaces(self):
        """The tracker sees each node at its own address, and the buyer buys
        from the seller over the bridge."""
        tracker = self.start("tracker", 0, ["bazaar-tracker", "--listen", "tcp:7700"])
        tracker.waitFor(r"tracker listening on 0\.0\.0\.0:7700", TIMEOUT)
        seller = self.node("seller", 1, "--role", "seller", "--sell", "apple=2")
        seller_id = nodeId(seller, TIMEOUT)
        buyer = self.node("buyer", 2, "--role", "buyer", "--want", "apple")
        buyer_id = nodeId(buyer, TIMEOUT)
        for node_id, index in ((seller_id, 1), (buyer_id, 2)):
            tracker.waitFor(rf"node {short(node_id)} joined from "
                            rf"{self.hosts[index].address}:", TIMEOUT)
        waitBought(buyer, "apple", TIMEOUT, seller=seller_id, n=1, q=1)
        waitSold(seller, "apple", TIMEOUT, buyer=buyer_id, left=1)
        codes = self.market.stop()
        self.assertEqual(set(codes.values()), {TERMINATED}, codes)
        for daemon in self.market.daemons:
            self.assertEqual(daemon.problems(), [], daemon.name)
