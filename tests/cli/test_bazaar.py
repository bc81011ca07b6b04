"""
Tests for L{twisted_bazaar.cli.bazaar}'s command line: the options every
command takes (``--json``, ``--tracker``, ``--timeout``) work before or
after the command's name, and each command's ``--help`` lists them.
"""

import contextlib
import io

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.address import Address
from twisted_bazaar.cli.bazaar import COMMANDS, parse


def helpOf(*argv):
    """What ``bazaar ARGV --help`` prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        parse([*argv, "--help"])
    return out.getvalue()


class CommonOptionTests(SynchronousTestCase):
    def test_beforeOrAfter(self):
        """An option of every command means the same before the command's
        name as after it."""
        for command in (["status"], ["list"], ["node", "h:1"], ["buy", "plum"]):
            common = ["--json", "--tracker", "tcp:t:7701", "--timeout", "4"]
            for argv in (common + command, command + common):
                args = parse(argv)
                self.assertEqual((args.json, args.tracker, args.timeout),
                                 (True, Address("t", 7701, "tcp:t:7701"), 4.0), argv)

    def test_defaults(self):
        """Not given: text, the tracker on this machine, 10 s a question
        and 60 s for a whole purchase."""
        for argv, timeout in ((["status"], 10.0), (["node", "h:1"], 10.0),
                              (["buy", "plum"], 60.0)):
            args = parse(argv)
            self.assertEqual((args.json, str(args.tracker), args.timeout),
                             (False, "127.0.0.1:7700", timeout), argv)

    def test_eachHelpListsThem(self):
        for command in COMMANDS:
            text = helpOf(command)
            for option in ("--json", "--tracker ADDRESS", "--timeout S"):
                self.assertIn(option, text, command)
        self.assertIn("the whole purchase may take (default: 60)", helpOf("buy"))
        self.assertIn("seconds each question may take (default: 10)", helpOf("node"))
