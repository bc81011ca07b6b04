"""Tests for twisted_bazaar.schemes.chord.records: the sellers' signed
records a node holds, who may replace them, the quotas, the order they
are named in, and expiry, without I/O or timers."""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.core.records import CLOCK_SKEW, MAX_LIFETIME
from twisted_bazaar.schemes.chord.records import RecordStore
from twisted_bazaar.schemes.chord.ring import keyOf

from tests import records
from tests.records import identity

S, T, U = identity(1), identity(2), identity(3)


def signed(who, item="apple", **fields):
    """A record issued at 0 ms unless said: the store is handed its
    times (from 0 here), not a clock's, whatever C{--clock-start}."""
    return records.signed(who, item, **dict({"issued": 0}, **fields))


def ids(held):
    return [each.seller for each in held]


class RecordStoreTests(SynchronousTestCase):
    def setUp(self):
        self.store = RecordStore()

    def test_sellersOfAnItemUntilTheyExpire(self):
        """A record is held for the lifetime its store gives it, never
        past its own expiry."""
        self.assertIsNone(self.store.put(signed(S, lifetime=600), 5.0, 0.0))
        self.assertIsNone(self.store.put(signed(T, lifetime=3), 90.0, 0.0))
        self.assertEqual(sorted(ids(self.store.sellers("apple", 0.0))), sorted([S.id, T.id]))
        self.assertEqual(ids(self.store.sellers("apple", 3.0)), [S.id])
        self.assertEqual(self.store.sellers("apple", 5.0), [])
        self.assertEqual(self.store.sellers("pear", 0.0), [])

    def test_theSameRecordAgainExtendsItsLifetime(self):
        record = signed(S)
        self.store.put(record, 10.0, 0.0)
        self.store.put(record, 4.0, 1.0)
        self.assertEqual(self.store.held("apple", S.id).expires, 10.0)
        self.store.put(record, 20.0, 5.0)
        self.assertEqual(self.store.held("apple", S.id).expires, 25.0)
        self.assertEqual(len(self.store), 1)

    def test_aNewerRecordReplacesAnOlderOneNeverTheOtherWayRound(self):
        old, new = signed(S, port=1, issued=1000), signed(S, port=2, issued=2000)
        self.assertIsNone(self.store.put(old, 90.0, 2.0))
        self.assertIsNone(self.store.put(new, 90.0, 2.0))
        self.assertEqual(self.store.put(old, 90.0, 3.0),
                         "a newer record of that seller is held")
        self.assertEqual(self.store.held("apple", S.id).record, new)

    def test_anotherRecordOfTheSameIssueTimeIsRefused(self):
        first = signed(S, port=1, issued=1000)
        self.store.put(first, 90.0, 2.0)
        self.assertEqual(self.store.put(signed(S, port=2, issued=1000), 90.0, 2.0),
                         "a newer record of that seller is held")
        self.assertEqual(self.store.held("apple", S.id).record, first)

    def test_aWithdrawalDropsTheRecordAndKeepsOlderOnesOut(self):
        record = signed(S, issued=1000)
        self.store.put(record, 90.0, 1.0)
        self.assertIsNone(self.store.put(signed(S, issued=2000, lifetime=0), 0.0, 2.0))
        self.assertEqual(self.store.sellers("apple", 2.0), [])
        self.assertEqual(self.store.put(record, 90.0, 3.0),
                         "a newer record of that seller is held")
        # A record the seller signs after its withdrawal is taken.
        self.assertIsNone(self.store.put(signed(S, issued=3000), 90.0, 3.0))
        self.assertEqual(ids(self.store.sellers("apple", 3.0)), [S.id])

    def test_aWithdrawalIsKeptWhileAnOlderRecordCouldBeValid(self):
        self.store.put(signed(S, issued=2000, lifetime=0), 0.0, 2.0)
        until = 2.0 + MAX_LIFETIME + CLOCK_SKEW
        self.assertEqual(self.store.purge(until - 1), 0)
        self.assertEqual(self.store.records(until - 1)[0].record.withdrawn, True)
        self.assertEqual(self.store.purge(until), 1)
        self.assertEqual(len(self.store), 0)

    def test_anExpiredRecordIsNotTaken(self):
        self.assertEqual(self.store.put(signed(S, lifetime=1), 90.0, 1.0),
                         "it has expired")
        self.assertEqual(len(self.store), 0)

    def test_purgeDropsTheExpired(self):
        self.store.put(signed(S), 5.0, 0.0)
        self.store.put(signed(T, item="pear"), 50.0, 0.0)
        self.assertEqual(self.store.purge(5.0), 1)
        self.assertEqual([(h.item, h.seller) for h in self.store.records(0.0)],
                         [("pear", T.id)])
        self.assertEqual(len(self.store), 1)

    def test_fullStoreRefusesNewRecordsOnly(self):
        store = RecordStore(limit=1)
        self.assertIsNone(store.put(signed(S), 90.0, 0.0))
        self.assertEqual(store.put(signed(T), 90.0, 0.0),
                         "this node holds 1 records, its most")
        self.assertIsNone(store.put(signed(S, issued=5), 90.0, 0.0))
        self.assertEqual(len(store), 1)

    def test_oneKeyHoldsAtMostItsQuota(self):
        store = RecordStore(per_key=2)
        for item in ("a", "b"):
            self.assertIsNone(store.put(signed(S, item=item), 90.0, 0.0))
        self.assertEqual(store.put(signed(S, item="c"), 90.0, 0.0),
                         f"node {shortId(S.id)} has 2 records here, the most one key may")
        self.assertIsNone(store.put(signed(T, item="c"), 90.0, 0.0))
        # Its own records it still replaces; once one goes, it may add one.
        self.assertIsNone(store.put(signed(S, item="a", issued=9), 90.0, 0.0))
        store.remove("a", S.id)
        self.assertIsNone(store.put(signed(S, item="c"), 90.0, 0.0))

    def test_oneOriginHoldsAtMostAQuarterOfTheStore(self):
        store = RecordStore(limit=8)
        self.assertEqual(store.per_origin, 2)
        for seed in (10, 11):
            self.assertIsNone(store.put(signed(seed), 90.0, 0.0, "10.1.0.0/16"))
        self.assertEqual(store.put(signed(12), 90.0, 0.0, "10.1.0.0/16"),
                         "2 records came from 10.1.0.0/16, the most one address group "
                         "may store here")
        self.assertIsNone(store.put(signed(12), 90.0, 0.0, "10.2.0.0/16"))

    def test_sellersAreNamedRoundTheOriginsOldestFirst(self):
        """One origin's many records cannot crowd out another's, nor
        newcomers a seller held for long."""
        store = RecordStore()
        store.put(signed(S), 90.0, 0.0, "honest")
        flood = [identity(100 + n) for n in range(5)]
        for n, who in enumerate(flood):
            store.put(signed(who), 90.0, 1.0 + n, "attacker")
        store.put(signed(T), 90.0, 9.0, "honest")
        store.put(signed(U), 90.0, 10.0, "other")
        self.assertEqual(ids(store.sellers("apple", 10.0)),
                         [S.id, flood[0].id, U.id, flood[1].id, T.id]
                         + [who.id for who in flood[2:]])
        # Held without a break: a refresh keeps a seller's place.
        store.put(signed(S), 90.0, 11.0, "honest")
        self.assertEqual(ids(store.sellers("apple", 11.0))[0], S.id)

    def test_sellersAskedAgainSeeEveryChange(self):
        """The ranking kept between two requests for an item follows each
        record taken, replaced or removed, and no caller changes it."""
        store = RecordStore()
        store.put(signed(S), 90.0, 0.0)
        first = store.sellers("apple", 1.0)
        first.clear()
        self.assertEqual(ids(store.sellers("apple", 1.0)), [S.id])
        store.put(signed(T), 90.0, 2.0)
        self.assertEqual(ids(store.sellers("apple", 2.0)), [S.id, T.id])
        store.put(signed(T, issued=3000, lifetime=0), 90.0, 3.0)
        self.assertEqual(ids(store.sellers("apple", 3.0)), [S.id])
        store.remove("apple", S.id)
        self.assertEqual(store.sellers("apple", 3.0), [])

    def test_inRangeByKey(self):
        items = ["apple", "pear", "fig", "plum"]
        for item in items:
            self.store.put(signed(S, item=item), 10.0, 0.0)
        keys = sorted((keyOf(item), item) for item in items)
        low, high = keys[0][0], keys[2][0]
        self.assertEqual(sorted(h.item for h in self.store.inRange(low, high, 0.0)),
                         sorted([keys[1][1], keys[2][1]]))
        # The complement wraps round zero.
        self.assertEqual(sorted(h.item for h in self.store.inRange(high, low, 0.0)),
                         sorted([keys[3][1], keys[0][1]]))
        self.assertEqual(self.store.inRange(low, high, 10.0), [])
