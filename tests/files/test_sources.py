"""Tests for L{twisted_bazaar.files.sources}: which sellers a download
keeps, and in what order it asks them."""

import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files.sources import PAID, PROVEN, UNKNOWN, Sources


class SourcesTests(SynchronousTestCase):
    def sources(self, kept=4):
        return Sources(paid="paid", proven={"proven"}, kept=kept)

    def test_order(self):
        """The paid seller first, then one that delivered before, then the
        others at random; one that failed only when no other is left."""
        sources = self.sources()
        self.assertEqual([sources.rank(s) for s in ("paid", "proven", "x")],
                         [PAID, PROVEN, UNKNOWN])
        sellers = ["x", "y", "proven", "paid"]
        firsts = set()
        for seed in range(20):
            order = sources.order(sellers, random.Random(seed))
            self.assertEqual(order[:2], ["paid", "proven"])
            firsts.add(order[2])
        self.assertEqual(firsts, {"x", "y"})
        sources.fail("paid")
        sources.fail("x")
        self.assertEqual(sources.order(sellers, random.Random(1)), ["proven", "y"])
        self.assertEqual(sources.order(["paid", "x"], random.Random(1)), ["paid", "x"])

    def test_bounded(self):
        """However many keys offer, at most ``kept`` sellers are kept; a
        newcomer is kept only in place of one worth less."""
        sources = self.sources()
        for n in range(10):
            sources.add(f"k{n}", n, f"group{n}")
        self.assertEqual(list(sources), ["k0", "k1", "k2", "k3"])
        sources.fail("k1")
        self.assertTrue(sources.add("k10", 10, "group10"))
        self.assertEqual(sorted(sources), ["k0", "k10", "k2", "k3"])
        # A seller that failed is not kept in place of one that did not.
        self.assertFalse(sources.add("k1", 1, "group1"))

    def test_onePerAddressGroupPreferred(self):
        """Of sellers alike, one of a crowded address group goes first."""
        sources = self.sources()
        for n, group in enumerate(("a", "a", "a", "b")):
            sources.add(f"k{n}", n, group)
        self.assertTrue(sources.add("k4", 4, "b"))
        self.assertEqual(sorted(sources), ["k1", "k2", "k3", "k4"])
        self.assertFalse(sources.add("k5", 5, "b"))
        self.assertTrue(sources.add("k6", 6, "c"))
        self.assertEqual(sorted(sources), ["k2", "k3", "k4", "k6"])

    def test_paidAndBusyStay(self):
        """The paid seller is always kept, never pushed out; one being
        asked now is not pushed out either."""
        sources = self.sources(kept=2)
        sources.add("proven", 0, "a")
        sources.add("x", 1, "b")
        sources.fail("paid")
        self.assertTrue(sources.add("paid", 2, "c", busy={"proven"}))
        self.assertEqual(sorted(sources), ["paid", "proven"])
        self.assertFalse(sources.add("y", 3, "d", busy={"proven"}))
        self.assertEqual(sources["paid"], 2)

    def test_failedRemembered(self):
        """A seller's failure outlives its offer: offered again, it is
        still asked last."""
        sources = self.sources()
        sources.add("x", 0, "a")
        sources.fail("x")
        sources.discard("x")
        self.assertNotIn("x", sources)
        sources.add("x", 1, "a")
        sources.add("y", 2, "b")
        self.assertEqual(sources.order(["x", "y"], random.Random(1)), ["y"])
