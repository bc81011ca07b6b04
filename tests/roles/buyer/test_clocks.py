"""
Tests of L{twisted_bazaar.roles.buyer.clocks}: the word that a seller's
clock and the buyer's are apart, said once, then at a backoff, and once
when it is over.
"""

import random

from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.roles.buyer.clocks import FIRST_AGAIN
from twisted_bazaar.testing import Market, MemoryNetwork
from twisted_bazaar.testing.clocks import SplitClock
from twisted_bazaar.wire.ids import shortId


class ClocksApartTests(SynchronousTestCase):
    def test_saidOnceThenAtABackoffThenOver(self):
        """A seller 2 h ahead answers every buy expired: the warning is
        said once, then after 1, 2, 4... minutes with the count (it was
        said about once a second, 114 times in 120 s); once the clocks
        agree and the seller sells, that is said, once."""
        market = Market(seed=3)
        seller = market.addNode(seller={"stock": {"pear": 3}})
        buyer = market.addNode(buyer={"wants": ["pear"]})
        seller.clock.wallSeconds = lambda: market.clock.seconds() + 7200
        with capturedLogs() as events:
            # Said at 0, then 1 and 2 minutes later; the next, 4 later.
            market.run(6.5 * FIRST_AGAIN)
            # The buyer's clock set right (a step forward, as NTP's).
            buyer.clock.wallSeconds = lambda: market.clock.seconds() + 7200
            market.run(100)
        warned = [formatEvent(e) for e in events if e["log_level"].name == "warn"]
        self.assertEqual(len(warned), 3, warned)
        self.assertRegex(warned[0], rf"^seller {shortId(seller.id)} says buy \d+ has "
                         r"expired, 300 s before it expires by this node's clock: is "
                         r"one of the clocks wrong\?$")
        for line in warned[1:]:
            self.assertRegex(line, r"^\d+ more buys answered expired before they expire "
                             rf"by this node's clock in the last \d+ s \(sellers "
                             rf"{shortId(seller.id)}\): the clocks are still apart$")
        over = [formatEvent(e) for e in events if "clocks agree now" in formatEvent(e)]
        self.assertEqual(len(over), 1, over)
        self.assertRegex(over[0], rf"^seller {shortId(seller.id)} answers in step with "
                         r"this node's clock again: the clocks agree now \(\d+ buys were "
                         r"answered expired early over \d+ s\)$")


class SellerBehindTests(SynchronousTestCase):
    """A buyer whose clock is ahead: the seller answers ``notyet`` with
    ``retryAfter``, the ms until it would take the buy (docs/protocol.md
    §11, step 4); the buyer waits as told, and says once why."""

    def market(self, ahead):
        market = Market(seed=3)
        seller = market.addNode(seller={"stock": {"pear": 3}})
        node = market.addNode(buyer={"wants": ["pear"]})
        node.clock.wallSeconds = lambda: market.clock.seconds() + ahead
        return market, seller, node

    def test_waitsAsTold(self):
        """400 s ahead, its buy (300 s to live) expires 700 s ahead of the
        seller's clock: told to wait 100 s, it sends it again then, and it
        is sold; one line says by how far the clocks are apart, none says
        the seller was "unable to settle" (every 1.4 s before, with a line
        that the buy was in doubt)."""
        market, seller, node = self.market(400)
        with capturedLogs() as events:
            market.run(95)
            want = market.role(node, "buyer").wants[0]
            self.assertEqual((want.state, want.bought), ("buying", 0))
            market.run(30)
        self.assertEqual((want.state, want.bought), ("done", 1))
        lines = [formatEvent(e) for e in events if e["log_level"].name != "debug"
                 and "tracker" not in e.get("log_namespace", "")]
        behind = [line for line in lines if "behind" in line]
        self.assertEqual(len(behind), 1, behind)
        self.assertRegex(behind[0], rf"^seller {shortId(seller.id)}'s clock is behind "
                         r"this node's by about 400 s: it takes no buy that expires more "
                         r"than 600 s ahead of it, so buy \d+ waits 100 s \(if it is "
                         r"still live then\)$")
        self.assertFalse([line for line in lines if "settle" in line or "doubt" in line],
                         lines)

    def test_tooFarAheadSaysClocksApart(self):
        """700 s ahead, no buy of its can be taken before it expires by its
        own clock: it gives up on it, searches again only after a while
        (not every second, two lines each time), and its give-up says the
        clocks are apart, not that the sellers had not answered yet."""
        from twisted_bazaar.tap.shortfall import EmptySearches, shortfall

        market, seller, node = self.market(700)
        with capturedLogs() as events:
            market.run(300)
        buyer = market.role(node, "buyer")
        lines = [formatEvent(e) for e in events if e["log_level"].name != "debug"
                 and e.get("log_namespace", "").startswith("twisted_bazaar.roles")]
        self.assertLess(len(lines), 12, lines)
        self.assertEqual(len([line for line in lines if "about 700 s" in line]), 1, lines)
        self.assertRegex(shortfall(node, buyer, EmptySearches(), "t"),
                         rf"^bought 0 of 1 pear: the clocks are apart: seller "
                         rf"{shortId(seller.id)}'s clock is behind this node's by about "
                         r"700 s, and it takes no buy that expires more than 600 s ahead "
                         r"of its clock$")


class WallStepTests(SynchronousTestCase):
    """Every node's wall clock stepped 600 s back, then 600 s forward,
    mid-market (L{SplitClock}: NTP, a VM resumed, ``date -s``): buys
    signed and checked by the wall clock still agree, and no clock is
    said to be apart."""

    def test_buysGoOnAcrossSteps(self):
        clock = SplitClock()
        market = Market(network=MemoryNetwork(clock=clock, rng=random.Random(3)), seed=3)
        market.addNode(seller={"stock": {"pear": 3, "plum": 3}})
        node = market.addNode(buyer={"wants": ["pear", "plum"]})
        buyer = market.role(node, "buyer")
        with capturedLogs() as events:
            clock.stepWall(-600)
            market.run(2)
            clock.stepWall(1200)
            market.run(30)
        self.assertEqual([(want.state, want.bought) for want in buyer.wants],
                         [("done", 1), ("done", 1)])
        warned = [formatEvent(e) for e in events if e["log_level"].name == "warn"]
        self.assertEqual(warned, [])
