"""Tests of L{twisted_bazaar.roles.buyer.doubts}, with a recording boss."""

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.deferreds import Outstanding
from twisted_bazaar.core.market import Offer
from twisted_bazaar.reach.asking import TrackerSilent
from twisted_bazaar.net.opening import Unreachable
from twisted_bazaar.roles.buyer.budget import GROUP_DOUBT_SHARE, WANT_DOUBT_BUDGET
from twisted_bazaar.roles.buyer.book import BuyBook
from twisted_bazaar.roles.buyer.doubts import RESOLVE_INTERVAL, Doubts
from twisted_bazaar.roles.buyer.sellers import SellerMemory
from twisted_bazaar.roles.buyer.sending import Sender
from twisted_bazaar.roles.probe import ASK_ROUNDS
from twisted_bazaar.roles.want import DOUBT_LIMIT
from twisted_bazaar.store import PendingBuy
from twisted_bazaar.wire.trade import Ask

from tests.roles.buyer.fakes import FakeLink, FakeNode, RecordingBoss, pendingBuy

SELLER = 5


class DoubtsTests(SynchronousTestCase):
    def setUp(self):
        self.node = FakeNode()
        self.book = BuyBook()
        self.boss = RecordingBoss(self.book)
        self.sellers = SellerMemory()
        self.sender = Sender(self.node, self.book, Outstanding(), answer_grace=1.0)
        self.doubts = Doubts(self.boss, self.node, self.book, self.sender, self.sellers)

    def routed(self, pending):
        self.book.record(pending.buy_id).routed = True
        return pending

    def test_neverLeftIsForgotten(self):
        self.doubts.giveUp(pendingBuy(7))
        self.assertEqual(self.boss.calls, [("forget", 7)])

    def test_inDoubtAskedNowAndLater(self):
        """A buy that may have been sold is in doubt, asked about at once
        and every RESOLVE_INTERVAL; after DOUBT_LIMIT it holds its want
        back no more."""
        self.doubts.giveUp(self.routed(pendingBuy(7)))
        self.assertEqual(self.doubts.inDoubt("apple"), 1)
        self.assertEqual([type(m) for m in self.node.routed], [Ask])
        self.node.clock.advance(RESOLVE_INTERVAL)
        self.assertEqual(len(self.node.routed), 2)
        self.node.clock.advance(DOUBT_LIMIT)
        self.assertEqual(self.doubts.inDoubt("apple"), 0)
        self.assertIn(("doubtsResolved", "apple"), self.boss.calls)
        self.assertEqual(list(self.book.records), [7])

    def test_sellerInDoubtIsUseless(self):
        """A buy in doubt marks its seller of no use to the node: its
        direct link gives way first when the want needs the slot."""
        pending = self.routed(pendingBuy(7))
        self.doubts.giveUp(pending)
        self.assertEqual(self.node.useless_peers, [pending.seller])

    def test_limitIsTheBuyers(self):
        """A buyer's --doubt-limit is how long one buy in doubt holds its
        want back."""
        doubts = Doubts(self.boss, self.node, self.book, self.sender, self.sellers,
                        limit=10)
        doubts.giveUp(self.routed(pendingBuy(7)))
        self.node.clock.advance(9.9)
        self.assertEqual(doubts.inDoubt("apple"), 1)
        self.node.clock.advance(0.1)
        self.assertEqual(doubts.inDoubt("apple"), 0)
        self.assertIn(("doubtsResolved", "apple"), self.boss.calls)

    def test_budgetSharedByTheWantsDoubts(self):
        """
        The doubts of one item share its want's budget: one seller's buy
        holds the want back DOUBT_LIMIT at most, the buys of one address
        group GROUP_DOUBT_SHARE in all, every buy WANT_DOUBT_BUDGET in
        all; a buy settled early gives back what it did not use.  Past
        the budget a buy in doubt is still asked about, but holds nothing.
        """
        self.assertEqual((GROUP_DOUBT_SHARE, WANT_DOUBT_BUDGET),
                         (DOUBT_LIMIT, 2 * DOUBT_LIMIT))
        for neighbour in (3, 4):
            link = self.node.links[neighbour] = FakeLink()
            link.transport = StringTransport(
                peerAddress=IPv4Address("TCP", f"10.{neighbour}.0.1", 1))
        first = self.routed(pendingBuy(7))
        self.assertTrue(self.doubts.wouldHold(first))
        self.doubts.giveUp(first)
        self.node.clock.advance(DOUBT_LIMIT / 2)
        self.doubts.settled(7)
        # Through neighbour 3 too: what its group has left.
        self.doubts.giveUp(self.routed(pendingBuy(8)))
        self.assertEqual(self.book.get(8).holding.seconds, DOUBT_LIMIT / 2)
        # Another group: a whole DOUBT_LIMIT, the rest of the budget.
        self.doubts.giveUp(self.routed(PendingBuy(9, "apple", 6, (1, 4, 6), "", 0,
                                                  10**12)))
        self.assertEqual(self.book.get(9).holding.seconds, DOUBT_LIMIT)
        self.assertEqual(self.doubts.inDoubt("apple"), 2)
        self.assertFalse(self.doubts.wouldHold(pendingBuy(10)))
        self.doubts.giveUp(self.routed(pendingBuy(10)))
        self.assertEqual(self.doubts.inDoubt("apple"), 2)
        self.assertEqual(len(self.book.unresolved(item="apple")), 3)
        self.node.clock.advance(DOUBT_LIMIT / 2)
        self.assertEqual(self.doubts.inDoubt("apple"), 1)
        self.node.clock.advance(DOUBT_LIMIT / 2)
        self.assertEqual(self.doubts.inDoubt("apple"), 0)
        self.assertEqual(self.boss.calls, [("doubtsResolved", "apple")] * 2)
        self.assertTrue(self.doubts.wouldHold(pendingBuy(11, item="pear")))

    def test_groupOf(self):
        """A doubt is charged to the address group of the seller's link,
        else of the neighbour its buy went through, else to ""."""
        pending = PendingBuy(7, "apple", SELLER, (1, 3, SELLER), "10.9.9.9", 1, 10**12)
        self.assertEqual(self.doubts.groupOf(pending), "")
        for peer, host in ((3, "10.3.0.1"), (SELLER, "10.5.0.1")):
            link = self.node.links[peer] = FakeLink()
            link.transport = StringTransport(peerAddress=IPv4Address("TCP", host, 1))
            self.assertEqual(self.doubts.groupOf(pending), f"10.{peer}.0.0/16")

    def test_reclaim(self):
        """A buy in doubt of the same content from the same seller is taken
        back, with its id, expiry and quantity; another seller's is not,
        nor one that asks for more units than are wanted now."""
        pending = self.routed(pendingBuy(7, expires=123, quantity=5))
        self.doubts.giveUp(pending)
        self.assertEqual(self.doubts.inDoubt("apple"), 5)
        self.assertIsNone(self.doubts.reclaim("apple", Offer(6, (1, 6)), 5))
        self.assertIsNone(self.doubts.reclaim("apple", Offer(SELLER, (1, SELLER)), 4))
        self.assertEqual(self.doubts.reclaim("apple", Offer(SELLER, (1, SELLER)), 9),
                         (7, 123, 5))
        self.assertEqual(self.doubts.inDoubt("apple"), 0)

    def test_refusingSellerDisowned(self):
        """Asks read and unanswered ASK_ROUNDS times: the seller refuses to
        answer; its buys are disowned and its offers dropped."""
        link = FakeLink()
        self.node.links[SELLER] = link
        self.node.proven.add(link)
        self.doubts.giveUp(self.routed(pendingBuy(7)))
        for _ in range(ASK_ROUNDS):
            link.pings[-1].callback(None)
            self.node.clock.advance(1.0)
        self.assertEqual(len(self.node.routed), ASK_ROUNDS)
        self.assertTrue(self.sellers.isRefusing(SELLER))
        self.assertEqual(self.book.get(7).disowned, SELLER)
        self.assertEqual(self.boss.calls, [("forget", 7), ("sellerRefuses", SELLER),
                                           ("doubtsResolved", "apple")])

    def test_relocate(self):
        """Nothing listens at the seller's address: the tracker says where
        it went; the buy is recorded there and asked about there."""
        asked = defer.Deferred()

        self.node.membership = object()
        self.node.whereIs = lambda seller: asked
        self.doubts.giveUp(self.routed(pendingBuy(7, host="10.0.0.5", port=5005)))
        self.node.connecting[0][1].errback(Failure(Unreachable("gone")))
        asked.callback(("10.0.0.5", 6006))
        self.assertEqual(self.book.get(7).unresolved.port, 6006)
        self.assertEqual([p.port for p in self.boss.store.pending()], [6006])
        self.assertEqual(self.node.connecting[-1][0][:2], ("10.0.0.5", 6006))

    def test_aSilentTrackerIsNotAnAbsentSeller(self):
        """
        Asked where a seller went, a tracker that never answered and one
        that answered it knows no such node were both None (whereIs):
        now the silence fails (TrackerSilent), and the buyer says which
        it was; either way the buy stays in doubt where it was.
        """
        lines = {}
        for answer, said in ((Failure(TrackerSilent("the tracker did not answer in "
                                                    "10 s")), "did not say where"),
                             (None, "knows no seller")):
            asked = defer.Deferred()

            self.node.membership = object()
            self.node.whereIs = lambda seller: asked
            buy_id = len(lines) + 7
            self.doubts.giveUp(self.routed(pendingBuy(buy_id, host="10.0.0.5",
                                                      port=5005)))
            self.node.connecting[-1][1].errback(Failure(Unreachable("gone")))
            with capturedLogs() as events:
                if answer is None:
                    asked.callback(None)
                else:
                    asked.errback(answer)
            [line] = [formatEvent(event) for event in events]
            lines[said] = line
            self.assertIn(said, line)
            self.assertEqual(self.book.get(buy_id).unresolved.port, 5005)
        self.assertIn("(the tracker did not answer in 10 s)", lines["did not say where"])

    def test_stop(self):
        self.doubts.giveUp(self.routed(pendingBuy(7)))
        self.doubts.stop()
        self.assertEqual(self.node.clock.getDelayedCalls(), [])
