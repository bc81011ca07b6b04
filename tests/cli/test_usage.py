"""
Tests for L{twisted_bazaar.cli.usage}: a command's usage errors are one
line and a pointer to its help, with status 2, and no option is taken
from a prefix of its name.
"""

import contextlib
import io

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.cli.usage import OneLineParser, UsageError


def parser():
    p = OneLineParser(prog="tool")
    commands = p.add_subparsers(dest="command", required=True)
    sell = commands.add_parser("sell")
    sell.add_argument("--sell", required=True)
    sell.add_argument("--quantity", type=int, default=1)
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
