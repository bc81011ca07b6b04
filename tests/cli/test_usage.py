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
