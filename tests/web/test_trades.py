"""
Tests for twisted_bazaar.web.trades: the market's trades as rows, each
side seen by a stranger's means, and the path each buy took as a node
tells its operator (``nodestate.trades``), through the L{MarketView}
that feeds them.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.status.messages import NodeState
from twisted_bazaar.web.trades import PAIRING
from twisted_bazaar.web.view import MarketView

SELLER, BUYER, HOP = 1, 2, 3


def state(node_id, stock=None, bag=None, trades=(), public=False):
    return NodeState(node_id, "h", node_id, "flood", (), stock or {},
                     None if public else (bag or {}), 0, trades=tuple(trades),
                     public=public)


class ToldPathTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.view = MarketView(self.clock)
        self.view.membersSeen([(n, "h", n, "flood") for n in (SELLER, BUYER, HOP)])
        self.view.stateSeen(state(SELLER, stock={"apple": 3}, public=True))
        self.view.stateSeen(state(BUYER))
        self.view.stateSeen(state(HOP, public=True))

    def rows(self):
        return [(row["item"], row["units"], row["seller"], row["buyer"], row.get("path"))
                for row in self.view.snapshot()["trades"]]

    def test_theBuyersOperatorToldThePath(self):
        """The seller seen by its stock (a stranger's means), the buyer by
        its bag and the trade it told: one row, with the path."""
        self.clock.advance(1)
        self.view.stateSeen(state(SELLER, stock={"apple": 2}, public=True))
        self.view.stateSeen(state(BUYER, bag={"apple": 1},
                                  trades=[(300, 77, "apple", 1, (BUYER, HOP, SELLER))]))
        self.assertEqual(self.rows(), [("apple", 1, "1", "2", ["2", "3", "1"])])
        # Told again in the next answer: the same trade, placed once.
        self.clock.advance(1)
        self.view.stateSeen(state(BUYER, bag={"apple": 1},
                                  trades=[(1300, 77, "apple", 1, (BUYER, HOP, SELLER))]))
        self.assertEqual(len(self.rows()), 1)

    def test_toldBeforeTheSaleIsSeen(self):
        """The buyer's answer first: its path names the seller, whose stock
        going down is then taken for that trade, not for another."""
        self.clock.advance(1)
        self.view.stateSeen(state(BUYER, bag={"apple": 1},
                                  trades=[(100, 77, "apple", 1, (BUYER, SELLER))]))
        self.assertEqual(self.rows(), [("apple", 1, "1", "2", ["2", "1"])])
        self.view.stateSeen(state(SELLER, stock={"apple": 2}, public=True))
        self.assertEqual(self.rows(), [("apple", 1, "1", "2", ["2", "1"])])
        # A second sale, which nobody told: a row of its own.
        self.view.stateSeen(state(SELLER, stock={"apple": 1}, public=True))
        self.assertEqual(self.rows()[1:], [("apple", 1, "1", None, None)])

    def test_theSellersOperatorNamesTheBuyer(self):
        """Told by the seller, a buyer the view is a stranger to (its bag
        withheld) is named, with the path."""
        self.view.stateSeen(state(SELLER, stock={"apple": 3}))
        self.clock.advance(1)
        self.view.stateSeen(state(SELLER, stock={"apple": 2},
                                  trades=[(200, 5, "apple", 1, (BUYER, SELLER))]))
        self.assertEqual(self.rows(), [("apple", 1, "1", "2", ["2", "1"])])

    def test_tradesFromBeforeTheViewLooked(self):
        """A node there from the start tells its operator trades older than
        the view: each is a row at its own time, in time order, placed
        once (issue 96 LOW: the operator's market page said "none" for its
        node's purchase made before ``bazaar web`` started), and no sale
        seen later is taken for it."""
        start = self.clock.seconds()
        view = MarketView(self.clock)
        view.membersSeen([(SELLER, "h", 1, "flood"), (BUYER, "h", 2, "flood")])
        self.clock.advance(100)
        view.stateSeen(state(SELLER, stock={"apple": 3}, public=True))
        view.stateSeen(state(BUYER, bag={"apple": 2}, trades=[
            (60000, 5, "apple", 1, (BUYER, SELLER)),
            (2000, 6, "apple", 1, (BUYER, HOP, SELLER))]))
        self.clock.advance(1)
        view.stateSeen(state(BUYER, bag={"apple": 2}, trades=[
            (61000, 5, "apple", 1, (BUYER, SELLER)),
            (3000, 6, "apple", 1, (BUYER, HOP, SELLER))]))
        view.stateSeen(state(SELLER, stock={"apple": 2}, public=True))
        self.assertEqual([(row["at"], row["item"], row["units"], row["seller"],
                           row["buyer"], row.get("path"))
                          for row in view.snapshot()["trades"]],
                         [(start + 40.0, "apple", 1, "1", "2", ["2", "1"]),
                          (start + 98.0, "apple", 1, "1", "2", ["2", "3", "1"]),
                          (start + 101.0, "apple", 1, "1", None, None)])

    def test_aNewcomersTradeIsShown(self):
        """A buyer that joined and bought before its first answer: its bag
        alone is a claim, shown only once a sale completes it; the trade
        it tells, recent, shows it at once, with its path."""
        newcomer = 4
        self.view.membersSeen([(n, "h", n, "flood") for n in (SELLER, BUYER, HOP,
                                                               newcomer)])
        self.clock.advance(1)
        self.view.stateSeen(state(newcomer, bag={"apple": 1},
                                  trades=[(400, 9, "apple", 1, (newcomer, SELLER))]))
        self.assertEqual(self.rows(), [("apple", 1, "1", "4", ["4", "1"])])
        self.view.stateSeen(state(SELLER, stock={"apple": 2}, public=True))
        self.assertEqual(len(self.rows()), 1)

    def test_aToldBuyIsNotGivenToAnotherSellersSale(self):
        """Two sellers of apples: one sells to a buyer the view cannot
        see, the operator's buyer buys from the other, seen in that order
        in one round. The buyer's unit is the trade its path names: the
        first sale keeps its buyer `not seen` (it was given the operator's
        buyer, a purchase it never made, the path's trade a row of its
        own)."""
        other = 4
        self.view.membersSeen([(n, "h", n, "flood") for n in (SELLER, BUYER, HOP, other)])
        self.view.stateSeen(state(other, stock={"apple": 5}, public=True))
        self.clock.advance(1)
        self.view.stateSeen(state(SELLER, stock={"apple": 2}, public=True))
        self.view.stateSeen(state(BUYER, bag={"apple": 1},
                                  trades=[(200, 77, "apple", 1, (BUYER, other))]))
        self.view.stateSeen(state(other, stock={"apple": 4}, public=True))
        self.assertEqual(self.rows(), [("apple", 1, "1", None, None),
                                       ("apple", 1, "4", "2", ["2", "4"])])

    def test_anOldToldTradeIsNotPlaced(self):
        """A trade told long after it was made (an answer late, or the
        node's first trade the view hears of well after): no row."""
        self.clock.advance(PAIRING + 5)
        self.view.stateSeen(state(BUYER, trades=[
            (int((PAIRING + 1) * 1000), 77, "apple", 1, (BUYER, SELLER))]))
        self.assertEqual(self.rows(), [])


class NodePageTradesTests(SynchronousTestCase):
    def test_theOperatorsPageListsItsTrades(self):
        """A node's page shows its operator its trades, each when it was
        made and the path its buy took; a stranger's page has none."""
        clock = Clock()
        start = clock.seconds()
        view = MarketView(clock)
        view.membersSeen([(BUYER, "h", 2, "flood"), (SELLER, "h", 1, "flood")])
        clock.advance(10)
        view.stateSeen(state(BUYER, bag={"apple": 1},
                             trades=[(2500, 7, "apple", 1, (BUYER, SELLER))]))
        view.stateSeen(state(SELLER, public=True))
        self.assertEqual(view.node(BUYER)["trades"], [
            {"at": start + 7.5, "item": "apple", "units": 1, "path": ["2", "1"]}])
        self.assertNotIn("trades", view.node(SELLER))
