"""Tests of L{twisted_bazaar.roles.buyer.book}: one record per buy id."""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.roles.buyer import book as bookmodule
from twisted_bazaar.roles.buyer.book import BuyBook, FieldView

from tests.roles.buyer.fakes import FakeLink, pendingBuy


class BuyBookTests(SynchronousTestCase):
    def test_boughtRestored(self):
        book = BuyBook([3, 4])
        self.assertTrue(book.get(3).bought and book.get(4).bought)
        self.assertIsNone(book.get(5))

    def test_forgetIsOneEntry(self):
        """Forgetting a buy deletes its record, and stops its probes."""
        from twisted_bazaar.roles.probe import Probe
        book = BuyBook()
        record = book.record(7)
        record.routed, record.unresolved = True, pendingBuy()
        link = FakeLink()
        record.asking = Probe(link, None, None, None, 1)
        record.asking.start()
        book.forget(7)
        self.assertEqual(book.records, {})
        self.assertTrue(link.pings[0].called)

    def test_unresolvedFilters(self):
        book = BuyBook()
        book.record(1).unresolved = pendingBuy(1, "apple", 5)
        book.record(2).unresolved = pendingBuy(2, "pear", 5)
        book.record(3).unresolved = pendingBuy(3, "apple", 6)
        book.record(4)
        self.assertEqual([r.buy_id for r in book.unresolved()], [1, 2, 3])
        self.assertEqual([r.buy_id for r in book.unresolved(seller=5)], [1, 2])
        self.assertEqual([r.buy_id for r in book.unresolved(item="apple")], [1, 3])

    def test_disownedBounded(self):
        """Disowned buys are remembered, the oldest dropped past the limit."""
        self.patch(bookmodule, "DISOWNED_LIMIT", 2)
        book = BuyBook()
        for buy_id in (1, 2, 3):
            book.record(buy_id).unresolved = pendingBuy(buy_id)
            book.disown(buy_id, 5)
        self.assertEqual(sorted(book.records), [2, 3])
        self.assertEqual(book.get(3).disowned, 5)
        self.assertIsNone(book.get(3).unresolved)


class FieldViewTests(SynchronousTestCase):
    def test_readWrite(self):
        book = BuyBook()
        view = FieldView(book, "unresolved")
        book.record(1)
        self.assertEqual(view, {})
        pending = pendingBuy(2)
        view[2] = pending
        self.assertEqual(dict(view), {2: pending})
        self.assertIs(book.get(2).unresolved, pending)
        del view[2]
        self.assertEqual((len(view), 2 in view), (0, False))
        self.assertRaises(KeyError, view.__delitem__, 2)
