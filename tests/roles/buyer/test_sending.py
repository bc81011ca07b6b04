"""Tests of L{twisted_bazaar.roles.buyer.sending}, on a recording node."""

from twisted.internet.error import ConnectionRefusedError
from twisted.logger import capturedLogs, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.deferreds import Outstanding
from twisted_bazaar.core.market import Offer
from twisted_bazaar.core.node import NoRoute, Unreachable
from twisted_bazaar.roles.buyer.book import BuyBook
from twisted_bazaar.roles.buyer.sending import NoSlot, Sender, Stranded
from twisted_bazaar.roles.want import BUY_LIFETIME
from twisted_bazaar.wire.trade import Ask, Buy

from tests.roles.buyer.fakes import FakeLink, FakeNode, RecordingWant, pendingBuy

SELLER = 5


class SenderTests(SynchronousTestCase):
    def setUp(self):
        self.node = FakeNode()
        self.book = BuyBook()
        # The buyer's role says its links are in use so (BuyerRole.usesLinkTo).
        self.node.usesLinkTo = self.book.outWith
        self.sender = Sender(self.node, self.book, Outstanding(), answer_grace=1.0)
        self.refused = []

    def onRefused(self, buy_id, reason):
        self.refused.append(buy_id)

    def test_newBuyExpires(self):
        self.node.clock.advance(10)
        buy_id, expires = self.sender.newBuy()
        self.assertGreater(buy_id, 0)
        self.assertEqual(expires, int((self.node.clock.seconds() + BUY_LIFETIME) * 1000))

    def test_alongThePath(self):
        """No link, no address: along the offer's path; it is routed."""
        buy = Buy(7, "apple", (1, 3, SELLER))
        self.sender.sendFirst(buy, Offer(SELLER, (1, 3, SELLER)), self.onRefused)
        self.assertEqual(self.node.routed, [buy])
        self.assertTrue(self.book.get(7).routed)

    def test_askIsNotRouted(self):
        """An ask never sells: it does not make its buy one that may have
        been sold."""
        ask = Ask(7, "apple", (1, 3, SELLER))
        self.sender.sendFirst(ask, Offer(SELLER, (1, 3, SELLER)), self.onRefused)
        self.assertEqual((self.node.routed, self.book.get(7)), ([ask], None))

    def test_directWatched(self):
        """A direct buy on a proven link is followed by a ping; a pong and
        no answer within the grace tell its want."""
        link = FakeLink()
        self.node.links[SELLER] = link
        self.node.proven.add(link)
        want = RecordingWant(pendingBuy())
        self.book.record(7).want = want
        self.sender.sendFirst(Buy(7, "apple", (1, 3, SELLER)), Offer(SELLER, (1, 3, SELLER)),
                              self.onRefused)
        [direct] = self.node.routed
        self.assertEqual(direct.path, (1, SELLER))
        link.pings[0].callback(None)
        self.node.clock.advance(1.0)
        self.assertEqual(want.inputs, [("unanswered", 7)])
        self.assertIsNone(self.book.get(7).watching)

    def test_linkedWaitsForAPunch(self):
        """Linked to the seller through a relay whose punch is under way
        (the node says the link is not ready): the buy waits for the link
        the node is asked for (the punched one, once up), and then goes
        straight to the seller."""
        self.node.links[SELLER] = FakeLink()
        self.node.waiting.add(SELLER)
        buy = Buy(7, "apple", (1, 3, SELLER))
        self.book.record(7).want = RecordingWant(pendingBuy())
        self.sender.sendFirst(buy, Offer(SELLER, (1, 3, SELLER)), self.onRefused)
        self.assertEqual(self.node.routed, [])
        [(where, d)] = self.node.connecting
        self.assertEqual(where[2], SELLER)
        d.callback(SELLER)
        [direct] = self.node.routed
        self.assertEqual(direct.path, (1, SELLER))

    def test_connectFirstThenPath(self):
        """With an address: connect first; refused, fall back on the path."""
        buy = Buy(7, "apple", (1, 3, SELLER))
        self.book.record(7).want = RecordingWant(pendingBuy())
        offer = Offer(SELLER, (1, 3, SELLER), "10.0.0.5", 5005)
        self.sender.sendFirst(buy, offer, self.onRefused)
        self.assertEqual(self.node.routed, [])
        [(where, d)] = self.node.connecting
        self.assertEqual(where[:3], ("10.0.0.5", 5005, SELLER))
        d.errback(Failure(ConnectionRefusedError()))
        self.assertEqual((self.node.routed, self.refused), ([buy], []))
        self.assertEqual(self.sender.outstanding, set())

    def test_theOffersRelayNotedAsTheSellersWord(self):
        """An offer's relay is noted for its seller before the dial (the
        book of paths holds it, charged to the group of the link that
        named it); an offer without one leaves what was noted."""
        buy = Buy(7, "apple", (1, 3, SELLER))
        self.book.record(7).want = RecordingWant(pendingBuy())
        offer = Offer(SELLER, (1, 3, SELLER), "10.0.0.5", 5005, relay="192.0.2.1:7701")
        self.sender.sendFirst(buy, offer, self.onRefused)
        self.sender.sendFirst(buy, Offer(SELLER, (1, 3, SELLER), "10.0.0.6", 5005),
                              self.onRefused)
        self.assertEqual(self.node.relays, [(SELLER, "192.0.2.1:7701")])
        self.assertEqual([where for where, _ in self.node.connecting],
                         [("10.0.0.5", 5005, SELLER, "direct"),
                          ("10.0.0.6", 5005, SELLER, "direct")])

    def test_deadAddressFirstGoesNowhere(self):
        """A first send whose connection finds nothing listening is not
        sent along the path: it is reported, and never left."""
        buy = Buy(7, "apple", (1, 3, SELLER))
        self.book.record(7).want = RecordingWant(pendingBuy())
        offer = Offer(SELLER, (1, 3, SELLER), "10.0.0.5", 5005)
        self.sender.sendFirst(buy, offer, self.onRefused)
        self.node.connecting[0][1].errback(Failure(Unreachable("gone")))
        self.assertEqual((self.node.routed, self.refused), ([], [7]))
        self.assertFalse(self.book.get(7).routed)

    def test_noRouteFirstGoesAlongThePath(self):
        """A first send whose connection found no route to the seller's
        address (an IPv4 address from a node on IPv6 alone) goes along the
        offer's path: it says nothing of the seller, and the path (through
        a node on both families) is how its search reached it."""
        buy = Buy(7, "apple", (1, 3, SELLER))
        self.book.record(7).want = RecordingWant(pendingBuy())
        offer = Offer(SELLER, (1, 3, SELLER), "10.0.0.5", 5005)
        self.sender.sendFirst(buy, offer, self.onRefused)
        self.node.connecting[0][1].errback(Failure(NoRoute("no route")))
        self.assertEqual((self.node.routed, self.refused), ([buy], []))
        self.assertTrue(self.book.get(7).routed)

    def test_noRouteForAFileGoesNowhere(self):
        """A buy of a shared file with no route to its seller is not sent
        along the path: its bytes come only over a connection to the
        seller, which this node cannot make (live, a buyer on IPv6 alone
        bought a file of a seller on IPv4 alone and could never fetch
        it)."""
        buy = Buy(7, "song.ogg", (1, 3, SELLER), sha256="ab" * 32, size=5)
        self.book.record(7).want = RecordingWant(pendingBuy())
        self.sender.sendFirst(buy, Offer(SELLER, (1, 3, SELLER), "10.0.0.5", 5005),
                              self.onRefused)
        self.node.connecting[0][1].errback(Failure(NoRoute("no route")))
        self.assertEqual((self.node.routed, self.refused), ([], [7]))
        self.assertFalse(self.book.get(7).routed)

    def test_noRouteAndNoPathIsReported(self):
        """No route to the seller's address and no path (an index's
        offer): the want is told, with the failure's class kept."""
        reasons = []
        self.book.record(7).want = RecordingWant(pendingBuy())
        self.sender.sendFirst(Buy(7, "apple", (1, SELLER)),
                              Offer(SELLER, (1, SELLER), "10.0.0.5", 5005),
                              lambda buy_id, reason: reasons.append(reason))
        self.node.connecting[0][1].errback(Failure(NoRoute("no route")))
        self.assertEqual([reason.check(NoRoute) for reason in reasons], [NoRoute])
        self.assertEqual(self.node.routed, [])

    def test_refusedWithNoLinkAlongThePathIsStranded(self):
        """The seller refuses the connection (out of slots, say) and the
        path's first hop has no link: the buy cannot leave, and its want
        is told so at once, not left to resend into no link."""
        buy = Buy(7, "apple", (1, 3, SELLER))
        self.book.record(7).want = RecordingWant(pendingBuy())
        self.node.unlinked.add(3)
        reasons = []
        self.sender.sendFirst(buy, Offer(SELLER, (1, 3, SELLER), "10.0.0.5", 5005),
                              lambda buy_id, reason: reasons.append((buy_id, reason)))
        self.node.connecting[0][1].errback(Failure(ConnectionRefusedError()))
        [(buy_id, reason)] = reasons
        self.assertEqual((buy_id, reason.check(Stranded)), (7, Stranded))
        self.assertFalse(self.book.get(7).routed)

    def test_resendRefusedWithNoLinkAlongThePathIsStranded(self):
        buy = Buy(7, "apple", (1, 3, SELLER))
        self.book.record(7).want = RecordingWant(pendingBuy())
        self.node.unlinked.add(3)
        reasons = []
        self.sender.sendAgain(buy, Offer(SELLER, (1, 3, SELLER), "10.0.0.5", 5005),
                              lambda buy_id, reason: reasons.append(reason))
        self.assertEqual(reasons, [])
        self.node.connecting[0][1].errback(Failure(ConnectionRefusedError()))
        self.assertEqual([reason.check(Stranded) for reason in reasons], [Stranded])

    def test_refusedWithALinkAlongThePathGoesThere(self):
        """A path that took the resend is one to fall back on: a refused
        connection is no reason to give up."""
        buy = Buy(7, "apple", (1, 3, SELLER))
        self.book.record(7).want = RecordingWant(pendingBuy())
        self.sender.sendAgain(buy, Offer(SELLER, (1, 3, SELLER), "10.0.0.5", 5005),
                              self.onRefused)
        self.node.connecting[0][1].errback(Failure(ConnectionRefusedError()))
        self.assertEqual((self.node.routed, self.refused), ([buy], []))

    def test_noAddressAndNoLinkAlongThePathIsStranded(self):
        self.node.unlinked.add(3)
        reasons = []
        self.sender.sendFirst(Buy(7, "apple", (1, 3, SELLER)), Offer(SELLER, (1, 3, SELLER)),
                              lambda buy_id, reason: reasons.append(reason))
        self.assertEqual([reason.check(Stranded) for reason in reasons], [Stranded])
        self.assertEqual(self.node.routed, [])

    def test_unreachableReported(self):
        buy = Buy(7, "apple", (1, 3, SELLER))
        self.book.record(7).want = RecordingWant(pendingBuy())
        offer = Offer(SELLER, (1, 3, SELLER), "10.0.0.5", 5005)
        self.sender.sendAgain(buy, offer, self.onRefused)
        self.assertEqual(self.node.routed, [buy])
        self.node.connecting[0][1].errback(Failure(Unreachable("gone")))
        self.assertEqual(self.refused, [7])

    def test_slotOfASpareSellerGivenUp(self):
        """Every direct slot taken, one by a seller no buy is out with:
        that link gives way, and the seller is dialled."""
        buy = Buy(7, "apple", (1, SELLER))
        self.book.record(7).want = RecordingWant(pendingBuy())
        self.book.record(8).want = RecordingWant(pendingBuy(8, seller=6))
        self.node.full = [6, 9]
        self.sender.sendFirst(buy, Offer(SELLER, (1, SELLER), "10.0.0.5", 5005),
                              self.onRefused)
        self.assertEqual(self.node.retired, [9])
        self.assertEqual([where[2] for where, _ in self.node.connecting], [SELLER])

    def test_everySlotInUseWaits(self):
        """Every direct slot holds a buy still out and the offer has no
        path: the buy waits (L{NoSlot}), said once, at its first send
        (and not for a second buy waiting meanwhile); nothing is dialled
        or routed, and the seller is not blamed."""
        buy = Buy(7, "apple", (1, SELLER))
        self.book.record(7).want = RecordingWant(pendingBuy())
        self.book.record(8).want = RecordingWant(pendingBuy(8, seller=6))
        self.node.full = [6]
        reasons = []
        offer = Offer(SELLER, (1, SELLER), "10.0.0.5", 5005)
        with capturedLogs() as logged:
            self.sender.sendFirst(buy, offer, lambda *args: reasons.append(args))
            self.sender.sendAgain(buy, offer, lambda *args: reasons.append(args))
            self.sender.sendFirst(Buy(9, "pear", (1, SELLER)), offer,
                                  lambda *args: reasons.append(args))
        self.assertEqual([(buy_id, reason.check(NoSlot)) for buy_id, reason in reasons],
                         [(7, NoSlot), (7, NoSlot), (9, NoSlot)])
        self.assertEqual([formatEvent(event) for event in logged],
                         ["buy 7 of apple waits for a direct slot: all 8 hold a buy or "
                          "an ask still out, or are peers' links the eviction policy "
                          "protects (--direct-slots); more that wait are said together, "
                          "once none waits"])
        self.assertEqual((self.node.connecting, self.node.routed), ([], []))
        self.assertFalse(self.book.get(7).routed)

    def test_everySlotInUseGoesAlongThePath(self):
        """With a path to take, a buy finding no direct slot goes there."""
        buy = Buy(7, "apple", (1, 3, SELLER))
        offer = Offer(SELLER, (1, 3, SELLER), "10.0.0.5", 5005)
        self.book.record(7).want = RecordingWant(pendingBuy())
        self.book.record(8).want = RecordingWant(pendingBuy(8, seller=6))
        self.node.full = [6]
        self.sender.sendFirst(buy, offer, self.onRefused)
        self.assertEqual((self.node.routed, self.refused, self.node.connecting),
                         ([buy], [], []))

    def test_connectedLateForAForgottenBuy(self):
        """A connection made after the buy was forgotten carries nothing."""
        offer = Offer(SELLER, (1, SELLER), "10.0.0.5", 5005)
        self.sender.sendFirst(Buy(7, "apple", (1, SELLER)), offer, self.onRefused)
        self.node.connecting[0][1].callback(None)
        self.assertEqual(self.node.routed, [])


class PingRateTests(SynchronousTestCase):
    """
    The pings behind direct buys stay within the rate a peer answers
    (docs/protocol.md §7: 1 a second, bursts of 2; the excess gets no
    pong, and the seller logs the buyer as sending pings too fast).
    """

    def setUp(self):
        self.node = FakeNode()
        self.book = BuyBook()
        # The buyer's role says its links are in use so (BuyerRole.usesLinkTo).
        self.node.usesLinkTo = self.book.outWith
        self.sender = Sender(self.node, self.book, Outstanding(), answer_grace=1.0)
        self.link = FakeLink()
        self.node.links[SELLER] = self.link
        self.node.proven.add(self.link)
        self.wants = {}

    def buy(self, buy_id):
        want = self.wants[buy_id] = RecordingWant(pendingBuy())
        self.book.record(buy_id).want = want
        self.sender.sendFirst(Buy(buy_id, "item%d" % buy_id, (1, 3, SELLER)),
                              Offer(SELLER, (1, 3, SELLER)), lambda *_: None)

    def test_buysAtOnceShareAPingWithinTheRate(self):
        """Three buys sent to one seller at once (three items it sells)
        send one ping, then one more a second later for those sent after
        the first; its pong answers both, so each buy's grace runs."""
        for buy_id in (7, 8, 9):
            self.buy(buy_id)
        self.assertEqual(len(self.link.pings), 1)
        self.node.clock.advance(0.99)
        self.assertEqual(len(self.link.pings), 1)
        self.node.clock.advance(0.01)
        self.assertEqual(len(self.link.pings), 2)
        for pong in self.link.pings:
            pong.callback(None)
        self.node.clock.advance(1.0)
        self.assertEqual(sorted(input for want in self.wants.values()
                                for input in want.inputs),
                         [("unanswered", 7), ("unanswered", 8), ("unanswered", 9)])
        self.assertEqual(self.node.clock.getDelayedCalls(), [])

    def test_anAnswerCancelsTheWaitingPing(self):
        """A buy answered before its shared ping goes out needs none: with
        no probe left waiting, no ping is sent and no timer is left."""
        self.buy(7)
        self.buy(8)
        self.book.get(8).watching.answered()
        self.node.clock.advance(5)
        self.assertEqual(len(self.link.pings), 1)
        self.assertEqual(self.node.clock.getDelayedCalls(), [])

    def test_stoppedPingsLeaveNoTimer(self):
        """Stopping the sender's pings cancels the one waiting."""
        self.buy(7)
        self.buy(8)
        self.sender.pings.stop()
        self.assertEqual(self.node.clock.getDelayedCalls(), [])
        self.node.clock.advance(5)
        self.assertEqual(len(self.link.pings), 1)
