"""
A buy repeated while its answer waits for the disk: a buyOK waits for its
sale's commit, a ``soldout`` or ``expired`` for its close's write.  A
stranger that sends one buy again and again meanwhile (a buy has no rate
of its own: purchases are the market's work) had each repeat queued,
then signed and sent: one buy sent 10,000 times while a commit waited
held 10,000 buyOKs, then sent them all.  One answer a return path waits
now (docs/reliability.md, "A buy repeated while its commit waits").
"""

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import feed, linkPeer, sent
from twisted_bazaar.testing.capabilities import relayed
from tests.roles.test_seller import EXPIRES, DurableSlowStore, slowSeller
from twisted_bazaar import wire
from twisted_bazaar.wire import trade

REPEATS = 10_000


class SlowClosesStore(DurableSlowStore):
    """A durable store whose writes of closes wait too, until
    L{finishCloses}."""

    def __init__(self):
        super().__init__()
        self.closing = []

    def closeBuys(self, closes, forget_before):
        d = defer.Deferred()
        self.closing.append((d, closes, forget_before))
        return d

    def finishCloses(self):
        d, closes, forget_before = self.closing.pop(0)
        DurableSlowStore.closeBuys(self, closes, forget_before).chainDeferred(d)


class RepeatsWhileCommittingTests(SynchronousTestCase):
    def setUp(self):
        slowSeller(self)
        self.node.addRole(self.seller)

    def buy(self, times, link=None, path=(9, 2, 1), expires=EXPIRES):
        for _ in range(times):
            feed(self.relay if link is None else link,
                 trade.Buy(50, "apple", path, expires=expires))
        self.clock.advance(0)

    def test_aBuyRepeatedWhileItsCommitWaitsIsAnsweredOnce(self):
        """10,000 copies of one buy while its sale's commit waits: one
        buyOK is sent once the sale is on disk, where there were 10,000;
        one unit sold."""
        self.buy(REPEATS)
        self.store.finish()
        self.clock.advance(0)
        answers = sent(self.relay)
        self.assertEqual([type(a) for a in answers], [trade.BuyOK])
        self.assertEqual(self.seller.stock, {"apple": 4})

    def test_eachPathGetsItsAnswer(self):
        """The same buy come by another way (a relay of another link) gets
        its own buyOK; and once the sale is on disk, a repeat is answered
        again (a buyer that lost its answer asks again)."""
        other = linkPeer(self.node, 3)
        self.buy(3)
        self.buy(3, link=other, path=(9, 3, 1))
        self.store.finish()
        self.clock.advance(0)
        self.assertEqual(len(sent(self.relay)), 1)
        self.assertEqual(len(sent(other)), 1)
        self.buy(1)
        self.assertEqual(len(sent(self.relay)), 1)

    def test_aFailedCommitAnswersNothingAndTheRepeatSells(self):
        """The commit fails: the sale is undone and nothing is sent; the
        buyer's next repeat sells again, and is answered."""
        self.buy(5)
        self.store.fail()
        self.clock.advance(0)
        self.assertEqual(sent(self.relay), [])
        self.buy(5)
        self.store.finish()
        self.clock.advance(0)
        self.assertEqual([type(a) for a in sent(self.relay)], [trade.BuyOK])


class RepeatsWhileClosingTests(SynchronousTestCase):
    def setUp(self):
        slowSeller(self)
        self.store = self.seller.store = SlowClosesStore()
        self.seller.closes.store = self.store
        self.node.addRole(self.seller)

    def test_aBuyRepeatedWhileItsCloseIsWrittenIsAnsweredOnce(self):
        """10,000 copies of an expired buy while its close is written: one
        ``expired`` is sent once the close is on disk, where there were
        10,000."""
        for _ in range(REPEATS):
            feed(self.relay, trade.Buy(50, "apple", (9, 2, 1), expires=None))
        self.clock.advance(0)
        self.store.finishCloses()
        self.clock.advance(0)
        answers = sent(self.relay)
        self.assertEqual([(type(a), a.code) for a in answers], [(wire.Error, "expired")])


class ThroughOneRelayTests(SynchronousTestCase):
    """
    A seller at home: every link to it comes through its relay's circuits,
    from the relay's one address.  A stranger linked through that relay
    closes buys (or buys copies: free) until its charge is full; an honest
    buyer linked through the same relay, from another address group as
    the relay names it, still gets its close
    (docs/reliability.md, "Closes charged through one relay").
    """

    def setUp(self):
        slowSeller(self)
        self.seller.closes.limit = 100
        self.seller.closes.remembered = type(self.seller.closes.remembered)(100)
        self.node.addRole(self.seller)

    def through(self, peer, named):
        link = linkPeer(self.node, peer)
        relayed(link.transport, named)
        return link

    def test_aStrangerThroughTheRelayLeavesRoomForAnotherGroup(self):
        """200 closes asked by the stranger: 25 made (a quarter of 100),
        where before it made 50, half, the relay's group's whole charge,
        and the honest buyer was answered notyet."""
        store = self.seller.store = self.seller.closes.store = SlowClosesStore()
        stranger = self.through(7, "198.51.100.7")
        for buy_id in range(200):
            feed(stranger, trade.Buy(1000 + buy_id, "apple", (7, 1), expires=None))
        self.clock.advance(0)
        while store.closing:
            store.finishCloses()
            self.clock.advance(0)
        codes = [answer.code for answer in sent(stranger)]
        honest = self.through(8, "203.0.113.9")
        feed(honest, trade.Buy(1, "apple", (8, 1), expires=None))
        self.clock.advance(0)
        while store.closing:
            store.finishCloses()
            self.clock.advance(0)
        [answer] = sent(honest)
        self.assertEqual(answer.code, "expired")
        self.assertEqual(codes.count("expired"), 25)
