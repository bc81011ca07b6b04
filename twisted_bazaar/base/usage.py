"""
Usage errors of a console command as the daemons give theirs: the reason
on one line, by the command it is of (``bazaar buy``, not ``bazaar``),
then where to read more, and exit status 2; no usage synopsis first, no
option taken from a prefix of its name, and a guess at what a mistyped
option or choice meant.
"""

import argparse
import re
import sys

from twisted_bazaar.base.console import emit
from twisted_bazaar.base.suggest import didYouMean

#: The exit status of a command given bad arguments (argparse's, and the
#: daemons').
USAGE_STATUS = 2


def argumentType(parse):
    """
    An argparse type from a L{twisted_bazaar.base.options} parser (or any
    function that raises ValueError with a reason): the ValueError becomes
    an ArgumentTypeError, so that argparse prints the parser's reason
    rather than a bare "invalid value".
    """

    def argument(text):
        try:
            return parse(text)
        except ValueError as reason:
            raise argparse.ArgumentTypeError(str(reason)) from None

    return argument


class UsageError(SystemExit):
    """
    The command line was refused: its reason has been written on stderr.
    A SystemExit with status 2, as argparse's own, for a caller that lets
    it end the process; a command that answers in JSON catches it to say
    the reason there too.

    @ivar reason: the reason, in one line, without the command's name.
    """

    def __init__(self, reason):
        super().__init__(USAGE_STATUS)
        self.reason = reason


class OneLineParser(argparse.ArgumentParser):
    """
    An argparse parser (and, through ``add_subparsers``, its commands')
    whose errors are one line on stderr, ``PROG: error: REASON``, and a
    second, ``see PROG --help``; which takes no abbreviation of an option
    (``--sel`` is not ``--sell``: a typo is refused, not guessed).
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def _print_message(self, message, file=None):
        """Help and version on stdout go through L{emit}: a reader gone,
        a closed or full stdout end the command as any output does
        (argparse drops a failed write and exits 0)."""
        if message and file is not None and file is sys.stdout:
            emit(message.removesuffix("\n"))
        else:
            super()._print_message(message, file)

    def parse_known_args(self, args=None, namespace=None):
        # Kept for error(): the words this parser (a command's, as
        # argparse hands a sub-command the words after its name) was given.
        self._words = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def parse_args(self, args=None, namespace=None):
        """As argparse's, but words no option takes are refused by the
        command they follow (its parser's prog and help), each option
        among them with what it may have meant."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = commandParser(self, parsed)
            guesses = didYouMean([word.partition("=")[0] for word in extras
                                  if word.startswith("--")],
                                 command._option_string_actions)
            command.error(f"unrecognized arguments: {' '.join(extras)}{guesses}")
        return parsed

    def error(self, message):
        reason = " ".join(message.split())
        reason += self._dashedName(reason)
        choice = _INVALID_CHOICE.search(reason)
        if choice:
            reason += didYouMean([choice.group(1)], re.findall(r"'([^']*)'",
                                                             choice.group(2)))
        sys.stderr.write(f"{self.prog}: error: {reason}\nsee {self.prog} --help\n")
        raise UsageError(reason)

    def _dashedName(self, reason):
        """A required name missing while a word that starts with '-' and
        is no option was given (``bazaar buy -dash.txt``, a file's name):
        how to give it, after ``--``."""
        if not reason.startswith("the following arguments are required"):
            return ""
        # The commands' options are long ones, but for -h: a word of one
        # dash is a name, not a mistyped option.
        dashed = [word for word in getattr(self, "_words", ())
                  if word.startswith("-") and not word.startswith("--")
                  and word not in ("-", "-h")]
        if not dashed:
            return ""
        return (f" ({dashed[0]} is no option; a name that starts with '-' goes after "
                f"'--': {self.prog} -- {dashed[0]})")


class DefaultsShown(argparse.HelpFormatter):
    """
    Each option's help followed by its default, as a user types it
    (``10..50``, ``64,128``), unless it has none worth telling (None, a
    flag off, an empty list) or its help already tells it: argparse's
    own ArgumentDefaultsHelpFormatter writes ``(default: None)``,
    ``(default: [])`` and ``(default: (10.0, 50.0))``.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (not action.option_strings or default is None or default is False
                or default is argparse.SUPPRESS or default == [] or "(default" in text):
            return text
        if isinstance(default, (list, tuple)):
            joiner = ".." if action.metavar == "A..B" else ","
            default = joiner.join(f"{value:g}" if isinstance(value, float) else str(value)
                                  for value in default)
        return f"{text} (default: {str(default).replace('%', '%%')})"


#: argparse's words for a value not among an argument's choices.
_INVALID_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)$")


def commandParser(parser, parsed):
    """The parser of the command ``parsed`` names (a sub-command's, as
    ``bazaar buy``), or ``parser`` itself if it has no commands."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(parsed, action.dest, None))
            if chosen is not None:
                return commandParser(chosen, parsed)
    return parser
