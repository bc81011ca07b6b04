"""
Tests of twisted_bazaar.schemes.superpeer.index: the super-peer's
inverted index of its leaves (register, update, leaf gone, bounds, and
what it refuses, whole).
"""

import attr
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.superpeer.index import LeafIndex, Refused

from tests.records import PLAIN, signed

A, B = ("10.0.0.1", 9001), ("10.0.0.2", 9002)


class AnyRecords(dict):
    """A record of every item, as the super-peer checked it."""

    def __missing__(self, item):
        return attr.evolve(PLAIN, item=item)


class Index(LeafIndex):
    """A LeafIndex whose entries all have records, and whose lookups say
    only (leaf, host, port), at clock time 0."""

    def register(self, leaf, address, items, records=None, listed=True):
        return super().register(leaf, address, items, records or AnyRecords(), listed)

    def update(self, leaf, items, records=None):
        return super().update(leaf, items, records or AnyRecords())

    def lookup(self, item, limit, now=0.0):
        return [hit[:3] for hit in super().lookup(item, limit, now)]


class LeafIndexTests(SynchronousTestCase):
    def setUp(self):
        self.index = Index(per_leaf=4, total=6)

    def test_eachEntryHasTheLeafsRecordUntilItExpires(self):
        # Issued at 0 ms whatever --clock-start: the index is handed its
        # times, from 0 here.
        records = {"apple": signed(1, "apple", issued=0, lifetime=10),
                   "pear": signed(1, "pear", issued=0, lifetime=20)}
        self.index.register(1, A, {"apple": 1, "pear": 1}, records)
        found = LeafIndex.lookup(self.index, "apple", 10, 9.0)
        self.assertEqual(found, [(1,) + A + (records["apple"],)])
        self.assertEqual(self.index.records(1), records)
        self.assertEqual(self.index.lookup("apple", 10, 10.0), [])
        newer = {"apple": signed(1, "apple", issued=5000, lifetime=20)}
        self.index.update(1, {"apple": 2}, newer)
        self.assertEqual(LeafIndex.lookup(self.index, "apple", 10, 10.0),
                         [(1,) + A + (newer["apple"],)])
        self.index.update(1, {"pear": 0})
        self.assertEqual(self.index.records(1), newer)

    def assertRefused(self, code, call, *args):
        refused = self.assertRaises(Refused, call, *args)
        self.assertEqual(refused.code, code)
        return refused

    def test_registerAndLookup(self):
        self.assertEqual(self.index.register(1, A, {"apple": 2, "pear": 1, "fig": 0}), 2)
        self.index.register(2, B, {"apple": 5})
        self.assertEqual(self.index.lookup("apple", 10),
                         [(1,) + A, (2,) + B])
        self.assertEqual(self.index.lookup("pear", 10), [(1,) + A])
        self.assertEqual(self.index.lookup("fig", 10), [])
        self.assertEqual(self.index.lookup("plum", 10), [])
        self.assertEqual((len(self.index), self.index.entries), (2, 3))

    def test_lookupSpreadsTheLoad(self):
        """The first leaf named goes to the back; limit is honoured."""
        for leaf in (1, 2, 3):
            self.index.register(leaf, ("h", 9000 + leaf), {"apple": 1})
        first = [hit[0] for hit in self.index.lookup("apple", 2)]
        second = [hit[0] for hit in self.index.lookup("apple", 2)]
        self.assertEqual((first, second), ([1, 2], [2, 3]))
        self.assertEqual(self.index.lookup("apple", 0), [])

    def test_registerAgainReplaces(self):
        self.index.register(1, A, {"apple": 2, "pear": 1})
        self.index.register(1, B, {"fig": 3})
        self.assertEqual(self.index.items(1), {"fig": 3})
        self.assertEqual(self.index.lookup("apple", 10), [])
        self.assertEqual(self.index.lookup("fig", 10), [(1,) + B])
        self.assertEqual(self.index.entries, 1)
        # The old address is free again.
        self.index.register(2, A, {"apple": 1})

    def test_updateChangesOnlyWhatItNames(self):
        self.index.register(1, A, {"apple": 2, "pear": 1})
        self.assertEqual(self.index.update(1, {"apple": 0, "fig": 4, "pear": 7}), 2)
        self.assertEqual(self.index.items(1), {"fig": 4, "pear": 7})
        self.assertEqual(self.index.lookup("apple", 10), [])
        self.assertEqual(self.index.lookup("fig", 10), [(1,) + A])

    def test_forget(self):
        """A leaf gone: its entries and address go; others stay."""
        self.index.register(1, A, {"apple": 2, "pear": 1})
        self.index.register(2, B, {"apple": 1})
        self.index.forget(1)
        self.index.forget(99)
        self.assertNotIn(1, self.index)
        self.assertEqual(self.index.lookup("apple", 10), [(2,) + B])
        self.assertEqual(self.index.lookup("pear", 10), [])
        self.assertEqual(self.index.entries, 1)
        self.index.register(3, A, {"pear": 1})

    def test_perLeafBound(self):
        refused = self.assertRefused("toomany", self.index.register, 1, A,
                                     {f"i{k}": 1 for k in range(5)})
        self.assertIn("bound of 4 per leaf", refused.info)
        self.assertNotIn(1, self.index)
        self.index.register(1, A, {f"i{k}": 1 for k in range(4)})
        self.assertRefused("toomany", self.index.update, 1, {"more": 1})
        # Withdrawing one makes room for another in the same update.
        self.index.update(1, {"i0": 0, "more": 1})
        self.assertEqual(sorted(self.index.items(1)), ["i1", "i2", "i3", "more"])

    def test_totalBound(self):
        self.index.register(1, A, {f"a{k}": 1 for k in range(4)})
        self.assertRefused("full", self.index.register, 2, B, {"x": 1, "y": 1, "z": 1})
        self.assertNotIn(2, self.index)
        self.index.register(2, B, {"x": 1, "y": 1})
        self.assertRefused("full", self.index.update, 2, {"z": 1})
        self.assertEqual(self.index.entries, 6)
        # A re-register counts the leaf's old entries as freed.
        self.index.register(1, A, {"b": 1, "c": 1, "d": 1, "e": 1})

    def test_unknownItemsInAnUpdate(self):
        """Withdrawing what the leaf never registered (another leaf's item,
        or anything before a register) is refused, and nothing changes."""
        self.assertRefused("unknown", self.index.update, 1, {"apple": 1})
        self.index.register(1, A, {"apple": 1})
        self.index.register(2, B, {"pear": 1})
        refused = self.assertRefused("unknown", self.index.update, 1,
                                     {"apple": 0, "pear": 0})
        self.assertIn("'pear'", refused.info)
        self.assertEqual(self.index.items(1), {"apple": 1})
        self.assertEqual(self.index.lookup("pear", 10), [(2,) + B])

    def test_claimedAddress(self):
        """A leaf may not register an address another live leaf holds: its
        hits would send buyers to someone else."""
        self.index.register(1, A, {"apple": 1})
        refused = self.assertRefused("claimed", self.index.register, 2, A, {"fig": 1})
        self.assertEqual(refused.info, "10.0.0.1:9001 is registered by leaf 1")
        self.assertEqual(self.index.lookup("fig", 10), [])
        self.assertEqual(self.index.lookup("apple", 10), [(1,) + A])

    def test_portZeroClaimsNothing(self):
        """Leaves that take no connections (port 0) share no address."""
        self.index.register(1, ("10.0.0.1", 0), {"apple": 1})
        self.index.register(2, ("10.0.0.1", 0), {"apple": 1})
        self.assertEqual(len(self.index), 2)


class UnclaimedLeavesTests(SynchronousTestCase):
    """A LAN-only leaf (listed ``near`` its router's host) and a leaf
    checked through its relay (``claims=False``) hold no address: another
    leaf at that address is taken."""

    def setUp(self):
        self.index = LeafIndex(per_leaf=4, total=8)

    def sellers(self, near=None):
        return [hit[0] for hit in self.index.lookup("apple", 5, 0.0, near)]

    def test_lanOnlyNamedNearItsHostAlone(self):
        self.index.register(1, A, {"apple": 1}, AnyRecords(), listed=False)
        self.index.list(1, near=A[0])
        self.index.register(2, A, {"apple": 1}, AnyRecords(), near=A[0])
        self.assertEqual((sorted(self.sellers(A[0])), self.sellers(B[0]), self.sellers()),
                         ([1, 2], [], []))
        self.index.register(3, A, {"apple": 1}, AnyRecords())
        self.assertEqual(self.sellers(), [3])

    def test_relayCheckedClaimsNothing(self):
        self.index.register(1, A, {"apple": 1}, AnyRecords(), listed=False)
        self.index.list(1, claims=False)
        self.index.register(2, A, {"apple": 1}, AnyRecords(), claims=False)
        self.index.register(3, A, {"apple": 1}, AnyRecords())
        self.assertEqual(sorted(self.sellers()), [1, 2, 3])
        with self.assertRaises(Refused):
            self.index.register(4, A, {"apple": 1}, AnyRecords())
