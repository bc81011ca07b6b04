"""
Tests for L{twisted_bazaar.tap.wholenames}: a daemon's long options are
given by their whole names, never by a prefix that getopt would take.
"""

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.tap.node import Options
from twisted_bazaar.tap.wholenames import refuseAbbreviations

SHORT = "vn:"
LONG = ["sell=", "verbose", "tracker=", "restock"]


class RefuseAbbreviationsTests(SynchronousTestCase):
    def refused(self, args):
        return str(self.assertRaises(usage.UsageError, refuseAbbreviations, args,
                                     SHORT, LONG))

    def test_aPrefixIsRefused(self):
        self.assertEqual(self.refused(["--sel", "apple=3"]),
                         "unknown option --sel: an option is given by its whole name "
                         "(did you mean --sell?)")
        self.assertEqual(self.refused(["--sell=apple=3", "--re"]),
                         "unknown option --re: an option is given by its whole name "
                         "(did you mean --restock?)")
        self.assertIn("did you mean --tracker?", self.refused(["--track=h:1"]))

    def test_wholeNamesAndValuesPass(self):
        """Whole names pass, and the word after an option that takes a value
        is its value, whatever it looks like (as getopt reads it)."""
        for args in (["--sell", "apple=3", "--verbose", "--restock"],
                     ["--tracker", "--sel"], ["--tracker=--sel", "-v"],
                     ["-n", "--sel"], ["-vn", "--sel"], ["-n5", "--sell", "a=1"]):
            refuseAbbreviations(args, SHORT, LONG)

    def test_onlyOptionsAreLookedAt(self):
        """getopt stops at ``--`` and at the first word that is no option."""
        for args in (["--", "--sel"], ["extra", "--sel"], ["-", "--sel"]):
            refuseAbbreviations(args, SHORT, LONG)

    def test_unknownNamesAreGetoptsToRefuse(self):
        """A name like no option is left to getopt, which says it knows
        none such."""
        refuseAbbreviations(["--bogus", "--sel"], SHORT, LONG)

    def test_aTypoNamesTheOptionMeant(self):
        """A name a few letters off an option's names that option."""
        self.assertEqual(self.refused(["--tracekr=h:1"]),
                         "unknown option --tracekr (did you mean --tracker?)")
        self.assertEqual(self.refused(["--verbsoe"]),
                         "unknown option --verbsoe (did you mean --verbose?)")


class DaemonOptionsTests(SynchronousTestCase):
    def test_aNodeTakesNoPrefix(self):
        """``twistd bazaar-node --role seller --sel apple=3`` is refused,
        where getopt alone took it for --sell."""
        error = self.assertRaises(usage.UsageError, Options().parseOptions,
                                  ["--role", "seller", "--sel", "apple=3"])
        self.assertEqual(str(error), "unknown option --sel: an option is given by its "
                         "whole name (did you mean --sell?)")
        error = self.assertRaises(usage.UsageError, Options().parseOptions,
                                  ["--role", "buyer", "--wnt", "apple"])
        self.assertEqual(str(error), "unknown option --wnt (did you mean --want?)")
        options = Options()
        options.parseOptions(["--role", "seller", "--sell", "apple=3"])
        self.assertEqual(options["role"], ["seller"])
