"""
What the console commands share: their version, argparse types from the
daemons' option parsers, and output that a reader may stop reading
(``| head``) without a traceback.
"""

import argparse
import os
import sys
from importlib import metadata

#: The distribution the commands belong to.
DISTRIBUTION = "twisted-bazaar"


def version():
    """The installed version of twisted-bazaar (``unknown`` when it is run
    from a checkout that was never installed)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


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


def addVersion(parser):
    """Give an argparse parser ``--version``."""
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s (twisted-bazaar) {version()}")


#: Exit status when the reader of stdout went away (``| head -1``): quiet,
#: but not 0, as the output was cut short.
READER_GONE = 1


def emit(text, stream=None):
    """
    Write text and a newline to stdout, and flush.

    @raise SystemExit: with L{READER_GONE}, quietly, when the reader has
        closed the pipe; stdout is pointed at /dev/null first, so that
        Python's own flush at exit does not complain either.
    """
    stream = sys.stdout if stream is None else stream
    try:
        stream.write(text + "\n")
        stream.flush()
    except BrokenPipeError:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
        except (AttributeError, OSError, ValueError):
            pass
        raise SystemExit(READER_GONE)
