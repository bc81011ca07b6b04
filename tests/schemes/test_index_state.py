"""
Tests for twisted_bazaar.schemes.index.state: the ItemIndex on its own
(plain state, no I/O).  The tracker's handling of the index messages is
in tests/schemes/test_index_tracker.py.
"""

import random

import attr
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.index.state import ItemIndex

from tests.records import PLAIN, SHA, identity, signed

#: More than any limit below needs.
ALL = 1000


class ItemIndexTests(SynchronousTestCase):
    """Who sells what: registrations, departures and the listing."""

    def setUp(self):
        self.index = ItemIndex(random.Random(0))

    def test_registerAndLookup(self):
        self.index.register(1, "pear", PLAIN)
        self.index.register(2, "pear", PLAIN)
        self.index.register(2, "fig", PLAIN)
        self.assertEqual(sorted(self.index.lookup("pear", ALL)), [1, 2])
        self.assertEqual(self.index.lookup("fig", ALL), [2])
        self.assertEqual(self.index.items(2), {"pear", "fig"})

    def test_registerTwiceCountsOnce(self):
        self.index.register(1, "pear", PLAIN)
        self.index.register(1, "pear", PLAIN)
        self.assertEqual(self.index.lookup("pear", ALL), [1])
        self.assertEqual(self.index.listing(), {"pear": 1})

    def test_nobodySells(self):
        self.assertEqual(self.index.lookup("pear", ALL), [])
        self.index.register(1, "fig", PLAIN)
        self.assertEqual(self.index.lookup("pear", ALL), [])

    def test_unregister(self):
        self.index.register(1, "pear", PLAIN)
        self.index.register(1, "fig", PLAIN)
        self.index.register(2, "pear", PLAIN)
        self.index.unregister(1, "pear")
        self.assertEqual(self.index.lookup("pear", ALL), [2])
        self.assertEqual(self.index.items(1), {"fig"})
        self.index.unregister(2, "pear")
        self.assertEqual(self.index.lookup("pear", ALL), [])
        self.assertEqual(self.index.listing(), {"fig": 1})

    def test_unregisterUnknownIsHarmless(self):
        self.index.register(1, "pear", PLAIN)
        self.index.unregister(1, "fig")
        self.index.unregister(3, "pear")
        self.index.unregister(3, "plum")
        self.assertEqual(self.index.listing(), {"pear": 1})
        self.assertEqual(self.index.items(3), set())

    def test_forgetTakesEveryItemOfTheSeller(self):
        for item in ("pear", "fig", "plum"):
            self.index.register(1, item, PLAIN)
        self.index.register(2, "pear", PLAIN)
        self.index.forget(1)
        self.index.forget(7)
        self.assertEqual(self.index.items(1), set())
        self.assertEqual(self.index.listing(), {"pear": 1})
        self.assertEqual(self.index.lookup("fig", ALL), [])

    def test_itemsIsACopy(self):
        self.index.register(1, "pear", PLAIN)
        self.index.items(1).add("fig")
        self.assertEqual(self.index.items(1), {"pear"})

    def test_listingCountsSellersInItemOrder(self):
        self.index.register(3, "pear", PLAIN)
        self.index.register(1, "pear", PLAIN)
        self.index.register(1, "apple", PLAIN)
        self.index.register(2, "zucchini", PLAIN)
        listing = self.index.listing()
        self.assertEqual(listing, {"apple": 1, "pear": 2, "zucchini": 1})
        self.assertEqual(list(listing), ["apple", "pear", "zucchini"])

    def test_theRecordOfEachSellerAndItem(self):
        """What the tracker hands out with a seller is that seller's latest
        record of that item, until the item goes."""
        first, second = signed(1, "pear", issued=1), signed(1, "pear", issued=2)
        self.index.register(1, "pear", first)
        self.index.register(1, "pear", second)
        self.index.register(2, "fig", PLAIN)
        self.assertEqual((self.index.record(1, "pear"), self.index.record(2, "fig")),
                         (second, PLAIN))
        self.index.unregister(1, "pear")
        self.assertIsNone(self.index.record(1, "pear"))

    def test_itemsAreCountedPerAddressGroup(self):
        """Each seller's items count against the group it registered from,
        until they go."""
        self.index.register(1, "pear", PLAIN, "10.1.0.0/16")
        self.index.register(1, "fig", PLAIN, "10.1.0.0/16")
        self.index.register(1, "fig", PLAIN, "10.1.0.0/16")
        self.index.register(2, "pear", PLAIN, "10.1.0.0/16")
        self.index.register(3, "pear", PLAIN, "10.2.0.0/16")
        self.assertEqual((self.index.inGroup("10.1.0.0/16"),
                          self.index.inGroup("10.2.0.0/16")), (3, 1))
        self.index.unregister(1, "fig")
        self.index.forget(2)
        self.assertEqual(self.index.inGroup("10.1.0.0/16"), 1)
        self.index.forget(1)
        self.assertEqual(self.index.inGroup("10.1.0.0/16"), 0)

    def test_lookupHonoursLimit(self):
        for seller in range(10):
            self.index.register(seller, "pear", PLAIN)
        chosen = self.index.lookup("pear", 3)
        self.assertEqual(len(chosen), 3)
        self.assertEqual(len(set(chosen)), 3)


class LoadOrderTests(SynchronousTestCase):
    """Least recently handed out first, ties in random order."""

    def indexOf(self, sellers, seed=0, item="pear"):
        index = ItemIndex(random.Random(seed))
        for seller in sellers:
            index.register(seller, item, PLAIN)
        return index

    def test_rotation(self):
        """Only the first seller named counts as handed out, so repeated
        lookups bring each seller to the front in turn; once all have been
        handed out the order is a fixed rotation."""
        index = self.indexOf([1, 2, 3])
        first = index.lookup("pear", ALL)
        second = index.lookup("pear", ALL)
        self.assertEqual(second[-1], first[0])
        self.assertNotEqual(second[0], first[0])
        never = ({1, 2, 3} - {first[0], second[0]}).pop()
        rotation = [never, first[0], second[0]]
        for turn in range(9):
            self.assertEqual(index.lookup("pear", ALL), rotation)
            rotation = rotation[1:] + rotation[:1]

    def test_rotationReachesSellersPastTheLimit(self):
        """With more sellers than a found names, each still comes first."""
        index = self.indexOf(range(10))
        firsts = [index.lookup("pear", 3)[0] for _ in range(10)]
        self.assertEqual(sorted(firsts), list(range(10)))

    def test_tiesInRandomOrder(self):
        """Sellers never handed out tie; which one leads varies with the
        random source, and every one of them can."""
        leaders = {self.indexOf([1, 2, 3], seed).lookup("pear", ALL)[0]
                   for seed in range(50)}
        self.assertEqual(leaders, {1, 2, 3})

    def test_newSellerComesBeforeTheHandedOut(self):
        index = self.indexOf([1])
        self.assertEqual(index.lookup("pear", ALL), [1])
        index.register(2, "pear", PLAIN)
        self.assertEqual(index.lookup("pear", ALL), [2, 1])

    def test_handedOutIsPerSellerAcrossItems(self):
        """A seller handed out for one item waits behind fresh sellers of
        another item too: the load is the seller's, not the item's."""
        index = self.indexOf([1, 2])
        index.register(1, "fig", PLAIN)
        index.register(2, "fig", PLAIN)
        leader = index.lookup("pear", ALL)[0]
        self.assertEqual(index.lookup("fig", ALL)[-1], leader)

    def test_emptyLookupHandsOutNobody(self):
        index = self.indexOf([1, 2])
        index.lookup("fig", ALL)
        leader = index.lookup("pear", ALL)[0]
        self.assertEqual(index.lookup("pear", ALL)[-1], leader)

    def test_forgottenSellerComesBackFresh(self):
        """A seller that left and came back is as if never handed out."""
        index = self.indexOf([1, 2])
        index.lookup("pear", ALL)
        latest = index.lookup("pear", ALL)[0]
        index.forget(latest)
        index.register(latest, "pear", PLAIN)
        self.assertEqual(index.lookup("pear", ALL)[0], latest)


class KeptRecordTests(SynchronousTestCase):
    """An entry keeps its record packed, and gives back one equal to the
    record registered, whatever it holds."""

    def setUp(self):
        self.index = ItemIndex(random.Random(0))
        self.seller = identity(1).id

    def kept(self, record):
        self.index.register(self.seller, record.item, record)
        return self.index.record(self.seller, record.item)

    def test_plainAndFileRecords(self):
        plain = signed(1, "pear", issued=5)
        film = signed(1, "film", issued=6, file=(2**53, SHA, 65535))
        self.assertEqual((self.kept(plain), self.kept(film)), (plain, film))

    def test_aRecordFromAnotherPlace(self):
        """The seller's host, port and key are kept once, from its first
        record; a later record naming another place keeps its own."""
        self.kept(signed(1, "pear", host="h", port=9001))
        moved = signed(1, "fig", host="elsewhere", port=9002)
        self.assertEqual(self.kept(moved), moved)
        self.assertEqual(self.index.record(self.seller, "pear").host, "h")

    def test_recordsThatDoNotPack(self):
        """Fields no wire record has (a signature that is not ASCII, a
        SHA-256 in capitals, times out of range) are kept as they are."""
        base = signed(1, "pear")
        odd = [attr.evolve(base, sig="é" * 86),
               attr.evolve(base, item="film", size=1, sha256="AB" * 32, transfer=1),
               attr.evolve(base, item="fig", expires=2**64)]
        self.assertEqual([self.kept(record) for record in odd], odd)

    def test_theLastSellerOfAnItem(self):
        """An item's sellers shrink back to one, and to none."""
        other = identity(2).id
        self.kept(signed(1, "pear"))
        self.index.register(other, "pear", signed(2, "pear"))
        self.index.unregister(self.seller, "pear")
        self.assertEqual((self.index.lookup("pear", ALL), self.index.listing(),
                          self.index.listing(among={self.seller})),
                         ([other], {"pear": 1}, {}))
        self.index.register(self.seller, "pear", signed(1, "pear"))
        self.assertEqual(self.index.listing(among={self.seller, other}), {"pear": 2})
        self.index.forget(other)
        self.index.forget(self.seller)
        self.assertEqual((self.index.lookup("pear", ALL), self.index.listing()), ([], {}))
