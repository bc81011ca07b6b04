"""
Tests for L{twisted_bazaar.roles.trades}: a role's last trades, and
nothing held for a role that never trades.
"""

from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.roles.trades import TradeLog


class TradeLogTests(SynchronousTestCase):

    def setUp(self):
        self.clock = task.Clock()
        self.log = TradeLog(self.clock, size=2)

    def test_nothingHeldBeforeTheFirstTrade(self):
        """A role that never trades holds no container (an empty deque
        was a 640-byte block of each simulated node) and no instance
        dict."""
        self.assertEqual((self.log._entries, hasattr(self.log, "__dict__")), ((), False))
        self.assertEqual(self.log.entries(0), ())
        self.log.forget({1})
        self.assertEqual(self.log._entries, ())

    def test_keepsTheLastFew(self):
        for buy_id in (1, 2, 3):
            self.clock.advance(1)
            self.log.note(buy_id, "item", 1, [10, 20])
        self.assertEqual(self.log.entries(self.clock.seconds() + 1),
                         ((2000, 2, "item", 1, (10, 20)), (1000, 3, "item", 1, (10, 20))))

    def test_aTradeHoldsAListOfItsOwn(self):
        """A role's trades are a list, not a deque (370 bytes at its first
        trade), and forgetting every one empties it."""
        self.log.note(1, "a", 1, [10])
        self.assertIs(type(self.log._entries), list)
        self.log.forget({1})
        self.assertEqual(self.log.entries(0), ())

    def test_forgottenTradesAreNeverTold(self):
        self.log.note(1, "a", 1, [10])
        self.log.note(2, "b", 1, [10])
        self.log.forget({1})
        self.log.note(3, "c", 1, [10])
        self.assertEqual([entry[1] for entry in self.log.entries(0)], [2, 3])
