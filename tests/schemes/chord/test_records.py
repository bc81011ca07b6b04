"""Tests for twisted_bazaar.schemes.chord.records: soft-state records
with expiry, without I/O or timers."""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.chord.records import Record, RecordStore
from twisted_bazaar.schemes.chord.ring import keyOf


def record(item="apple", seller=1, expires=10.0):
    return Record(item, seller, "h", 9000 + seller, expires)


class RecordStoreTests(SynchronousTestCase):
    def setUp(self):
        self.store = RecordStore()

    def test_sellersOfAnItemUntilTheyExpire(self):
        self.store.put(record(seller=2, expires=5.0))
        self.store.put(record(seller=1, expires=10.0))
        self.assertEqual([r.seller for r in self.store.sellers("apple", 0.0)], [1, 2])
        self.assertEqual([r.seller for r in self.store.sellers("apple", 5.0)], [1])
        self.assertEqual(self.store.sellers("apple", 10.0), [])
        self.assertEqual(self.store.sellers("pear", 0.0), [])

    def test_aLaterExpiryWins(self):
        self.store.put(record(expires=10.0))
        self.store.put(record(expires=4.0))
        self.assertEqual(self.store.sellers("apple", 0.0)[0].expires, 10.0)
        self.store.put(record(expires=20.0))
        self.assertEqual(self.store.sellers("apple", 0.0)[0].expires, 20.0)
        self.assertEqual(len(self.store), 1)

    def test_remove(self):
        self.store.put(record())
        self.store.remove("apple", 1)
        self.store.remove("apple", 1)
        self.assertEqual((len(self.store), self.store.records(0.0)), (0, []))

    def test_purgeDropsTheExpired(self):
        self.store.put(record(seller=1, expires=5.0))
        self.store.put(record(item="pear", seller=2, expires=50.0))
        self.assertEqual(self.store.purge(5.0), 1)
        self.assertEqual([(r.item, r.seller) for r in self.store.records(0.0)],
                         [("pear", 2)])
        self.assertEqual(len(self.store), 1)

    def test_fullStoreRefusesNewRecordsOnly(self):
        store = RecordStore(limit=1)
        self.assertTrue(store.put(record(seller=1)))
        self.assertFalse(store.put(record(seller=2)))
        self.assertTrue(store.put(record(seller=1, expires=99.0)))
        self.assertEqual(len(store), 1)

    def test_inRangeByKey(self):
        items = ["apple", "pear", "fig", "plum"]
        for item in items:
            self.store.put(record(item=item))
        keys = sorted((keyOf(item), item) for item in items)
        low, high = keys[0][0], keys[2][0]
        self.assertEqual(sorted(r.item for r in self.store.inRange(low, high, 0.0)),
                         sorted([keys[1][1], keys[2][1]]))
        # The complement wraps round zero.
        self.assertEqual(sorted(r.item for r in self.store.inRange(high, low, 0.0)),
                         sorted([keys[3][1], keys[0][1]]))
        self.assertEqual(self.store.inRange(low, high, 10.0), [])

    def test_aWithdrawnRecordIsNotBroughtBackByACopy(self):
        self.store.put(record(expires=50.0))
        self.store.withdraw("apple", 1, until=50.0)
        self.assertFalse(self.store.put(record(expires=40.0), copy=True, now=10.0))
        self.assertEqual(self.store.sellers("apple", 10.0), [])
        # After every copy has expired, or from the seller itself, it is taken.
        self.assertTrue(self.store.put(record(expires=90.0), copy=True, now=50.0))
        self.store.withdraw("apple", 1, until=60.0)
        self.assertTrue(self.store.put(record(expires=99.0), now=20.0))
        self.assertEqual(len(self.store.sellers("apple", 20.0)), 1)

    def test_purgeForgetsOldWithdrawals(self):
        self.store.withdraw("apple", 1, until=5.0)
        self.store.purge(6.0)
        self.assertTrue(self.store.put(record(expires=10.0), copy=True, now=1.0))
