"""
What the console commands share: their version, values that may begin
with "-", and L{emit}:
output that a reader may stop reading (``| head``) without a traceback.
"""

import argparse

from twisted_bazaar.base.console import emit  # noqa: F401 (the commands use it from here)

#: The distribution the commands belong to.
DISTRIBUTION = "twisted-bazaar"
#: Where ``bazaar web`` listens unless told: loopback only.
WEB_LISTEN = "tcp:8080:interface=127.0.0.1"


def version():
    """The installed version of twisted-bazaar (``unknown`` when it is run
    from a checkout that was never installed)."""
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


def joinDashedValues(argv, options):
    """argv with each of options and the word after it joined as
    ``--option=value``, so that a value beginning with "-" is taken as one
    (as the tracker's log line and twistd's options take it) and judged by
    the option's own type, not refused as "expected one argument"."""
    joined = []
    words = iter(argv)
    for word in words:
        if word in options:
            value = next(words, None)
            if value is not None:
                word = f"{word}={value}"
        joined.append(word)
    return joined


class _Version(argparse._VersionAction):
    """argparse's ``--version``, which reads the installed version only
    when asked for it: not each time a parser is made, as for ``--help``."""

    def __call__(self, parser, namespace, values, option_string=None):
        self.version = f"%(prog)s (twisted-bazaar) {version()}"
        super().__call__(parser, namespace, values, option_string)


def addVersion(parser):
    """Give an argparse parser ``--version``."""
    parser.add_argument("--version", action=_Version)


#: Commands that serve until stopped: a signal ends them as they should
#: end, with status 0, at any moment, before they listen too (their
#: ``--help`` says "Ctrl-C: exit 0").
SERVERS = ("web",)
#: What ``bazaar --json web`` prints stopped before it listened (the
#: fields of L{twisted_bazaar.cli.webview.whatServed}).
UNSERVED = {"listened": None, "operator": None}
