"""
Tests of L{twisted_bazaar.roles.buyer.clocks}: the word that a seller's
clock and the buyer's are apart, said once, then at a backoff, and once
when it is over.
"""

from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.roles.buyer.clocks import FIRST_AGAIN
from twisted_bazaar.testing import Market
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
        seller.clock.seconds = lambda: market.clock.seconds() + 7200
        with capturedLogs() as events:
            # Said at 0, then 1 and 2 minutes later; the next, 4 later.
            market.run(6.5 * FIRST_AGAIN)
            # The buyer's clock set right (a step forward, as NTP's).
            buyer.clock.seconds = lambda: market.clock.seconds() + 7200
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
