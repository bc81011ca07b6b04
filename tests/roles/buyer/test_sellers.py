"""Tests of L{twisted_bazaar.roles.buyer.sellers}."""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.core.market import Offer
from twisted_bazaar.roles.buyer import sellers as sellersmodule
from twisted_bazaar.roles.buyer.sellers import SellerMemory


def offer(seller, host=""):
    return Offer(seller, (1, seller), host, 5000 if host else 0)


class SellerMemoryTests(SynchronousTestCase):
    def test_order(self):
        """Refusers left out; failed sellers last; with an address first."""
        memory = SellerMemory()
        memory.failed(2)
        memory.refuses(4)
        offers = [offer(2, "h"), offer(3), offer(4, "h"), offer(5, "h")]
        self.assertEqual([o.seller for o in memory.order(offers)], [5, 3, 2])
        memory.answered(2)
        self.assertEqual([o.seller for o in memory.order(offers)], [2, 5, 3])
        self.assertTrue(memory.isRefusing(4))

    def test_settledBeforeUnknown(self):
        """Sellers with a record of settling (from the bag, or since) come
        before those without, address or not; failed ones still last."""
        memory = SellerMemory(settled=[3])
        offers = [offer(2, "h"), offer(3), offer(5, "h"), offer(6, "h")]
        self.assertEqual([o.seller for o in memory.order(offers)], [3, 2, 5, 6])
        memory.settled(6)
        memory.failed(3)
        self.assertEqual([o.seller for o in memory.order(offers)], [6, 2, 5, 3])

    def test_oneOfEachAddressGroupInTurn(self):
        """Within a class, one offer of each address group in turn (the
        scheme's order otherwise), so that many keys of one group wait
        behind the offers of others."""
        memory = SellerMemory()
        groups = {2: "a", 3: "a", 4: "a", 5: "b", 6: "c", 7: "b"}
        offers = [offer(seller, "h") for seller in (2, 3, 4, 5, 6, 7)]
        self.assertEqual(
            [o.seller for o in memory.order(offers, lambda o: groups[o.seller])],
            [2, 5, 6, 3, 7, 4])
        self.assertEqual([o.seller for o in memory.order(offers)], [2, 3, 4, 5, 6, 7])

    def test_bounded(self):
        self.patch(sellersmodule, "FAILED_LIMIT", 1)
        memory = SellerMemory()
        memory.refuses(1)
        memory.refuses(2)
        self.assertEqual((memory.isRefusing(1), memory.isRefusing(2)), (False, True))
