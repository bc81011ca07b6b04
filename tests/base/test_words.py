"""Tests for L{twisted_bazaar.base.words}: counts read right."""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.words import counted, namedFew, plural


class PluralTests(SynchronousTestCase):
    def test_plural(self):
        self.assertEqual([plural(1, "unit"), plural(2, "unit"), plural(0, "unit"),
                          plural(1, "hop"), plural(1, "search", "searches"),
                          plural(3, "search", "searches"), plural(2, "leaf", "leaves")],
                         ["1 unit", "2 units", "0 units", "1 hop", "1 search",
                          "3 searches", "2 leaves"])

    def test_counted(self):
        """An item's name stays as it is, the units after it; one unit is
        the item alone."""
        self.assertEqual([counted("apple", 1), counted("apple", 2),
                          counted("Äpfel.tar", 30)],
                         ["apple", "apple x2", "Äpfel.tar x30"])

    def test_namedFew(self):
        """A list of names in one line: the last joined by "and", and past
        the bound the first few and how many more."""
        self.assertEqual([namedFew(names, 3) for names in (
            ["fig"], ["fig", "pear"], ["fig", "kiwi", "pear"],
            ["fig", "kiwi", "pear", "plum"], [f"i{n}" for n in range(43)])],
            ["fig", "fig and pear", "fig, kiwi and pear", "fig, kiwi, pear and plum",
             "i0, i1, i2 and 40 more"])
