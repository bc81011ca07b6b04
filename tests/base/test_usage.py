"""
Tests for L{twisted_bazaar.base.usage}: a command's usage errors are one
line and a pointer to its help, with status 2, and no option is taken
from a prefix of its name.
"""

import argparse
import contextlib
import io
import sys

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.usage import DefaultsShown, OneLineParser, UsageError


def parser():
    p = OneLineParser(prog="tool")
    commands = p.add_subparsers(dest="command", required=True)
    sell = commands.add_parser("sell")
    sell.add_argument("--sell", required=True)
    sell.add_argument("--quantity", type=int, default=1)
    buy = commands.add_parser("buy")
    buy.add_argument("item", metavar="ITEM")
    return p


def refused(argv):
    """The UsageError parsing argv raises, and what went to stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            parser().parse_args(argv)
        except UsageError as e:
            return e, err.getvalue()
    raise AssertionError(f"{argv} was not refused")


class OneLineParserTests(SynchronousTestCase):
    def test_oneLineThenWhereToRead(self):
        error, said = refused(["sell", "--sell", "apple=3", "--quantity", "x"])
        self.assertEqual(said, "tool sell: error: argument --quantity: invalid int "
                         "value: 'x'\nsee tool sell --help\n")
        self.assertEqual((error.code, error.reason),
                         (2, "argument --quantity: invalid int value: 'x'"))

    def test_noUsageSynopsis(self):
        """argparse's synopsis (``usage: ...``), several lines, is not
        printed before the reason."""
        _, said = refused([])
        self.assertEqual(said, "tool: error: the following arguments are required: "
                         "command\nsee tool --help\n")

    def test_aPrefixIsNoOption(self):
        """``--sel`` is not taken for ``--sell``, nor ``--quant`` for
        ``--quantity``."""
        for argv in (["sell", "--sel", "apple=3"],
                     ["sell", "--sell", "apple=3", "--quant", "2"]):
            error, said = refused(argv)
            self.assertIn("error: ", said)
            self.assertEqual(error.code, 2)
        self.assertEqual(parser().parse_args(["sell", "--sell", "apple=3"]).sell,
                         "apple=3")

    def test_helpToAFullDisk(self):
        """--help into an output that cannot be written (``> /dev/full``)
        is one line and status 1: argparse dropped the error, status 0."""
        class Full(io.StringIO):
            def write(self, text):
                raise OSError(28, "No space left on device")

        self.patch(sys, "argv", ["tool", "--help"])
        self.patch(sys, "stdout", Full())
        error = self.assertRaises(SystemExit, parser().parse_args, ["--help"])
        self.assertEqual(error.code, "tool: error: cannot write its output: "
                                     "No space left on device")

    def test_helpOnStdout(self):
        out = io.StringIO()
        self.patch(sys, "stdout", out)
        error = self.assertRaises(SystemExit, parser().parse_args, ["--help"])
        self.assertEqual(error.code, 0)
        self.assertTrue(out.getvalue().startswith("usage: tool [-h]"))
        self.assertTrue(out.getvalue().endswith("\n"))


class GuessTests(SynchronousTestCase):
    def test_anUnknownOptionIsRefusedByItsCommand(self):
        """Words no option takes are refused by the command they follow,
        not by the tool."""
        _, said = refused(["sell", "--sell", "apple=3", "--colour", "red"])
        self.assertEqual(said, "tool sell: error: unrecognized arguments: --colour red\n"
                         "see tool sell --help\n")

    def test_didYouMeanByPrefixAndByEdits(self):
        """A prefix of an option, or a word a few edits from one, gets
        what it may have meant; several, each its own."""
        for word, guess in (("--quant", "--quantity"), ("--qunatity", "--quantity"),
                            ("--sll", "--sell")):
            error, _ = refused(["sell", "--sell", "apple=3", word, "2"])
            self.assertEqual(error.reason, f"unrecognized arguments: {word} 2 "
                             f"(did you mean {guess}?)")
        error, _ = refused(["sell", "--sell", "a", "--quant=2", "--sll", "b"])
        self.assertEqual(error.reason, "unrecognized arguments: --quant=2 --sll b "
                         "(--quant: did you mean --quantity?; --sll: did you mean --sell?)")

    def test_didYouMeanAChoice(self):
        error, _ = refused(["sel"])
        self.assertTrue(error.reason.endswith("(did you mean sell?)"), error.reason)


class DefaultsShownTests(SynchronousTestCase):
    def helpOf(self, **kwargs):
        p = argparse.ArgumentParser(prog="tool", formatter_class=DefaultsShown)
        p.add_argument("--x", help="the x", **kwargs)
        return " ".join(p.format_help().split())

    def test_aNameThatStartsWithADash(self):
        """A file named -dash.txt, given where a name is due, reads as an
        unknown option, and the name as missing: the line says how to
        give it (issue 96's round 7: it said only that ITEM was
        missing)."""
        error, said = refused(["buy", "-dash.txt"])
        self.assertEqual(said, "tool buy: error: the following arguments are required: "
                               "ITEM (-dash.txt is no option; a name that starts with "
                               "'-' goes after '--': tool buy -- -dash.txt)\n"
                               "see tool buy --help\n")
        self.assertEqual(parser().parse_args(["buy", "--", "-dash.txt"]).item,
                         "-dash.txt")
        error, said = refused(["buy"])
        self.assertEqual(error.reason, "the following arguments are required: ITEM")

    def test_defaultAsTyped(self):
        """A default is told as the user types it: a list with commas, a
        range A..B with two dots."""
        self.assertIn("the x (default: 3)", self.helpOf(default=3))
        self.assertIn("the x (default: 1,2.5)", self.helpOf(default=[1, 2.5]))
        self.assertIn("the x (default: 10..50)",
                      self.helpOf(default=(10.0, 50.0), metavar="A..B"))

    def test_noDefaultToTell(self):
        """None, a flag off and an empty list are no default to tell, and
        a help that tells its own is left as it is."""
        self.assertIn("--x X the x --", self.helpOf(default=None) + " --")
        self.assertNotIn("(default", self.helpOf(default=[]))
        p = argparse.ArgumentParser(prog="tool", formatter_class=DefaultsShown)
        p.add_argument("--x", default=0, help="the x (default 0: none)")
        self.assertNotIn("(default:", p.format_help())
        p = argparse.ArgumentParser(prog="tool", formatter_class=DefaultsShown)
        p.add_argument("--flag", action="store_true", help="a flag")
        self.assertNotIn("(default", p.format_help())
