"""Tests of L{twisted_bazaar.roles.buyer.answers}, with a recording boss."""

from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.base.deferreds import Outstanding
from twisted_bazaar.core.market import Offer
from twisted_bazaar.roles.buyer.answers import Answers
from twisted_bazaar.roles.buyer.book import BuyBook
from twisted_bazaar.roles.buyer.doubts import Doubts
from twisted_bazaar.roles.buyer.sellers import SellerMemory
from twisted_bazaar.roles.buyer.sending import Sender
from twisted_bazaar.wire.trade import BuyOK

from tests.roles.buyer.fakes import (
    FakeLink,
    FakeNode,
    RecordingBoss,
    RecordingWant,
    pendingBuy,
)

SELLER = 5


class AnswersTests(SynchronousTestCase):
    def setUp(self):
        self.node = FakeNode()
        self.link = FakeLink(self.node)
        self.book = BuyBook()
        self.boss = RecordingBoss(self.book)
        sender = Sender(self.node, self.book, Outstanding())
        self.doubts = Doubts(self.boss, self.node, self.book, sender, SellerMemory())
        self.sellers = SellerMemory()
        self.answers = Answers(self.boss, self.node, self.book, self.doubts,
                               self.sellers)

    def held(self, buy_id=7):
        want = RecordingWant(pendingBuy(buy_id))
        self.book.record(buy_id).want = want
        return want

    def test_buyOKCommittedOnce(self):
        """A buyOK is committed, then reported; repeats change nothing."""
        want = self.held()
        ok = BuyOK(7, "apple", (SELLER, 3, 1))
        self.answers.delivered(self.link, ok)
        self.answers.delivered(self.link, ok)
        self.assertEqual(want.inputs, [("buyOK", 7)])
        self.assertEqual(self.boss.calls, [("bought", 7, want, False)])
        self.assertEqual([p.buy_id for p in self.boss.store.bag()], [7])
        self.assertTrue(self.book.get(7).bought)

    def test_purchaseNotedWithItsPath(self):
        """A purchase is noted once for its operator's status, with the path
        its buy took: the buyOK's reversed, buyer first."""
        self.held()
        ok = BuyOK(7, "apple", (SELLER, 3, 1))
        self.answers.delivered(self.link, ok)
        self.answers.delivered(self.link, ok)
        self.assertEqual(self.boss.trades.entries(0), ((0, 7, "apple", 1, (1, 3, SELLER)),))

    def test_countIsTheUnitsBought(self):
        """A buyOK's count is what is bought, up to what the buy asked."""
        want = RecordingWant(pendingBuy(7, quantity=5))
        self.book.record(7).want = want
        self.answers.delivered(self.link, BuyOK(7, "apple", (SELLER, 1), count=6))
        self.assertEqual(self.boss.calls, [])
        self.answers.delivered(self.link, BuyOK(7, "apple", (SELLER, 1), count=5))
        self.assertEqual([p.units for p in self.boss.store.bag()], [5])

    def test_wrongSellerIgnored(self):
        want = self.held()
        self.answers.delivered(self.link, BuyOK(7, "apple", (6, 1)))
        self.answers.delivered(self.link, BuyOK(7, "pear", (SELLER, 1)))
        self.assertEqual((want.inputs, self.boss.calls), ([], []))

    def test_unknownIdIgnored(self):
        self.answers.delivered(self.link, BuyOK(8, "apple", (SELLER, 1)))
        self.answers.delivered(self.link, wire.Error("soldout", "none", 8, SELLER))
        self.assertEqual(self.boss.calls, [])

    def test_soldOutToItsWant(self):
        want = self.held()
        self.answers.delivered(self.link, wire.Error("soldout", "none", 7, (SELLER, 1)))
        self.assertEqual(want.inputs, [("soldOut", 7)])

    def test_settlingSellersRemembered(self):
        """A seller that sold, or answered soldout while the want waited,
        has a record of settling (comes first in the order); one that
        answered notyet has none."""
        for buy_id, seller, answer in (
                (7, 5, BuyOK(7, "apple", (5, 1))),
                (8, 6, wire.Error("soldout", "none", 8, (6, 1))),
                (9, 4, wire.Error("notyet", "later", 9, (4, 1)))):
            want = RecordingWant(pendingBuy(buy_id, seller=seller))
            self.book.record(buy_id).want = want
            self.answers.delivered(self.link, answer)
        offers = [Offer(seller, (1, seller)) for seller in (3, 4, 5, 6)]
        self.assertEqual([o.seller for o in self.sellers.order(offers)], [5, 6, 3, 4])
        # The soldout is told to the node's discovery (the notyet gives its
        # want up, which tells it).
        self.assertIn(("sellerSoldNothing", 6), self.boss.calls)

    def test_unsoldSettlesADoubt(self):
        pending = pendingBuy(7)
        self.book.record(7).routed = True
        self.doubts.doubt(pending)
        self.answers.delivered(self.link, wire.Error("unsold", "never", 7, (SELLER, 1)))
        self.assertEqual(self.boss.calls, [("forget", 7), ("doubtsResolved", "apple")])
        self.assertIsNone(self.book.get(7))

    def test_notYet(self):
        want = self.held()
        self.answers.delivered(self.link, wire.Error("notyet", "busy", 7, (SELLER, 1)))
        self.assertEqual(want.inputs, [("unanswered", 7, "unable to settle buy 7 yet "
                                                         "(busy)")])

    def test_disownedNotBought(self):
        self.book.disown(7, SELLER)
        self.answers.delivered(self.link, BuyOK(7, "apple", (SELLER, 1)))
        self.assertEqual((self.boss.calls, self.boss.store.bag()), ([], []))

    def test_disownedLinesBounded(self):
        """The line a buyOK of a disowned buy makes the buyer write goes
        through the node's peer log: repeated a hundred times, it is
        logged five times."""
        self.book.disown(7, SELLER)
        with capturedLogs() as events:
            for _ in range(100):
                self.answers.delivered(self.link, BuyOK(7, "apple", (SELLER, 1)))
        lines = [formatEvent(event) for event in events]
        self.assertEqual(len(lines), 5)
        self.assertTrue(lines[0].startswith("not putting buy 7 from seller 5 in the bag"))

    def test_stopped(self):
        want = self.held()
        self.answers.stop()
        self.answers.delivered(self.link, BuyOK(7, "apple", (SELLER, 1)))
        self.assertEqual(want.inputs, [])
