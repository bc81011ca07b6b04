"""
Tests for L{twisted_bazaar.store.records.SaleBook}: sales kept as plain
tuples, which the cyclic collector stops scanning, and read back equal.
"""

import gc

import attr
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.store.records import Sale, SaleBook

COUNTED = Sale(buy_id=7, item="apple", buyer=2 ** 100, time=1.5, buyer_key="k1", units=3)
COPY = Sale(buy_id=8, item="song", buyer=5, time=2.5, buyer_key=None, sha256="ab" * 32,
            size=4096, copy=True, expires=1234)


class SaleRowTests(SynchronousTestCase):
    def test_rowMakesTheSaleAgain(self):
        """A sale's row is its fields in their order: Sale(*row) is an
        equal sale, whichever fields it has."""
        for sale in (COUNTED, COPY):
            self.assertEqual(sale.row, attr.astuple(sale))
            self.assertEqual(Sale(*sale.row), sale)


class SaleBookTests(SynchronousTestCase):
    def setUp(self):
        self.book = SaleBook([COUNTED])

    def test_readBackEqualNotTheSame(self):
        self.book[COPY.ledgerKey] = COPY
        self.assertEqual(self.book.get(COPY.ledgerKey), COPY)
        self.assertIsNot(self.book.get(COPY.ledgerKey), COPY)
        self.assertEqual(self.book, {COUNTED.ledgerKey: COUNTED, COPY.ledgerKey: COPY})
        self.assertEqual(sorted(self.book.values(), key=lambda sale: sale.buy_id),
                         [COUNTED, COPY])
        self.assertEqual((list(self.book), len(self.book), self.book.get(("k1", 9))),
                         ([COUNTED.ledgerKey, COPY.ledgerKey], 2, None))

    def test_holds(self):
        """The sale kept, and one read back, are held; one undone, or
        replaced by another sale of its key, is not."""
        read = self.book[COUNTED.ledgerKey]
        self.assertTrue(self.book.holds(COUNTED))
        self.assertTrue(self.book.holds(read))
        self.book[COUNTED.ledgerKey] = attr.evolve(COUNTED, time=9.0)
        self.assertFalse(self.book.holds(COUNTED))
        self.assertEqual(self.book.pop(COUNTED.ledgerKey).time, 9.0)
        self.assertFalse(self.book.holds(read))
        self.assertIsNone(self.book.pop(COUNTED.ledgerKey))

    def test_theCollectorStopsScanningThem(self):
        """Once the collector has seen them, the rows kept are no longer
        tracked: a full collection does not scan a seller's sales."""
        book = SaleBook(Sale(buy_id=n, item="apple", buyer=n, time=1.0, buyer_key="k")
                        for n in range(100))
        gc.collect()
        rows = list(book._rows.values())
        self.assertEqual([gc.is_tracked(row) for row in rows], [False] * 100)
        self.assertTrue(gc.is_tracked(COUNTED))
