"""
Usage errors of a console command as the daemons give theirs: the reason
on one line, then where to read more, and exit status 2; no usage
synopsis first, and no option taken from a prefix of its name.
"""

import argparse
import sys

#: The exit status of a command given bad arguments (argparse's, and the
#: daemons').
USAGE_STATUS = 2


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

    def error(self, message):
        reason = " ".join(message.split())
        sys.stderr.write(f"{self.prog}: error: {reason}\nsee {self.prog} --help\n")
        raise UsageError(reason)
