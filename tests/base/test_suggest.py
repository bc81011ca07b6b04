"""Tests for L{twisted_bazaar.base.suggest}: what a mistyped name meant."""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.suggest import didYouMean, meant

OPTIONS = ["--want", "--listen", "--json", "--quantity", "--quiet", "--tracker"]


class MeantTests(SynchronousTestCase):
    def test_aPrefixFirst(self):
        self.assertEqual(meant("--qu", OPTIONS), ["--quantity", "--quiet"])

    def test_aFewEditsAway(self):
        """Not a prefix: a letter left out, two swapped, one wrong."""
        self.assertEqual(meant("--wnt", OPTIONS), ["--want"])
        self.assertEqual(meant("--lisen", OPTIONS), ["--listen"])
        self.assertEqual(meant("--trakcer", OPTIONS), ["--tracker"])

    def test_anotherCase(self):
        """A name in capitals is the name it spells, first: ``CHORD`` is
        nothing like ``chord`` to difflib."""
        self.assertEqual(meant("CHORD", ["chord", "flood"]), ["chord"])
        self.assertEqual(meant("--Want", OPTIONS), ["--want"])

    def test_nothingLikeIt(self):
        self.assertEqual(meant("--colour", OPTIONS), [])
        self.assertEqual(didYouMean(["--colour"], OPTIONS), "")

    def test_didYouMean(self):
        self.assertEqual(didYouMean(["--wnt"], OPTIONS), " (did you mean --want?)")
        self.assertEqual(didYouMean(["--wnt", "--colour", "--lisen"], OPTIONS),
                         " (--wnt: did you mean --want?; --lisen: did you mean --listen?)")
