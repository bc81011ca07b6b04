"""
End to end behind NAT routers, in network namespaces
(L{twisted_bazaar.testing.netns}): the tracker killed (``kill -9``) and
started again exactly as the README starts it (``twistd -n
bazaar-tracker``: no flag at all, its key kept in its default state
directory), while a seller at home A and a buyer at home B, each behind
its own NAT router, run on.  Within 30 s of the restart both are
registered again, the seller at home holds a reservation at the
tracker's relay again, and a buyer started at home B then buys from the
seller at home A (issue 57's goal, "The tracker restarted exactly as the
README starts it").

It needs root, ``ip`` and ``iptables``; without them it is skipped with
the reason.  Run it under ``flock /tmp/netns.lock`` (the test bed's
subnets are fixed).
"""

import re
import time

from twisted_bazaar.testing.daemons import TERMINATED, nodeId, waitUntil
from tests.e2e.helpers import BED_TRACKER_PORT, HomeMarketCase, kill, waitBought, waitSold

TIMEOUT = 30.0
#: Seconds from the restart to a buy from home to home (the goal).
WITHIN = 30.0
REGISTERED = r"registered with the tracker as node"
#: The line of a node that holds a reservation at the tracker's relay.
RELAYED = r"holds a reservation at the relay at {host}:\d+"


class ReadmeTrackerRestartAtHomeTests(HomeMarketCase):
    folder_prefix = "bazaar-restart-nat-"

    def setUp(self):
        super().setUp()
        self.home_a = self.bed.home("homea")
        self.home_b = self.bed.home("homeb", symmetric=True)

    def readmeTracker(self, name):
        """``twistd -n bazaar-tracker``, as the README starts it (its
        default port is the test bed's), on the tracker's host."""
        tracker = self.market.start(name, ["bazaar-tracker"],
                                    wrapper=self.tracker_host.wrapper)
        tracker.waitFor(rf"tracker listening on 0\.0\.0\.0:{BED_TRACKER_PORT}\b",
                        TIMEOUT)
        return tracker

    def test_restartedAsTheReadmeStartsIt(self):
        tracker = self.readmeTracker("tracker")
        relayed = RELAYED.format(host=re.escape(self.tracker_host.address))
        seller = self.node("home-seller", self.home_a.host, "--role", "seller",
                           "--sell", "pear=2")
        seller_id = nodeId(seller, TIMEOUT)
        seller.waitFor(relayed, TIMEOUT)
        first = self.node("home-buyer", self.home_b.host, "--role", "buyer", "--want",
                          "pear")
        waitBought(first, "pear", TIMEOUT, seller=seller_id, n=1, q=1)
        kill(tracker)
        seller.waitFor(r"lost the tracker at ", TIMEOUT)
        restarted = time.monotonic()
        again = self.readmeTracker("tracker again")
        nodes = (seller, first)
        waitUntil(nodes, lambda: all(len(node.matches(REGISTERED)) == 2
                                     for node in nodes), WITHIN,
                  what="the seller and the buyer at home registered again")
        waitUntil([seller], lambda: len(seller.matches(relayed)) == 2, WITHIN,
                  what="the seller at home reserved at the tracker's relay again")
        second = self.node("home-buyer 2", self.home_b.host, "--role", "buyer",
                           "--want", "pear")
        second_id = nodeId(second, WITHIN)
        waitBought(second, "pear", WITHIN, seller=seller_id, n=1, q=1)
        took = time.monotonic() - restarted
        self.assertLess(took, WITHIN, f"bought {took:.1f} s after the restart")
        waitSold(seller, "pear", TIMEOUT, buyer=second_id, left=0)
        for daemon in (seller, first, second):
            self.assertEqual(daemon.matches(r"the tracker proved "), [],
                             daemon.name)
        codes = self.market.stop()
        self.assertEqual({codes[daemon.name] for daemon in (again, seller, first, second)},
                         {TERMINATED}, codes)
        for daemon in (again, seller, first, second):
            self.assertEqual(daemon.problems(), [], daemon.tail())
