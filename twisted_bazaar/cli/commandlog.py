"""
What of Twisted's log a console command shows: what Twisted itself
writes to stderr before a program begins logging (critical events, such
as an unhandled error in a Deferred) and Python's warnings, less
Twisted's traceback for a tracker's certificate that names no host,
which the command's one-line error says in words.
"""

import sys

from twisted.logger import LogLevel, eventAsText, globalLogBeginner

from twisted_bazaar.base.pywarnings import isPythonWarning
from twisted_bazaar.net.encrypted import twistedsNoHostTraceback


def commandLog(stream):
    """An observer that writes to stream, as Twisted's own writes them,
    the critical events and Python's warnings, but not
    L{twistedsNoHostTraceback}'s."""

    def observe(event):
        shown = (event.get("log_level") is LogLevel.critical
                 or isPythonWarning(event))
        if shown and not twistedsNoHostTraceback(event):
            stream.write(eventAsText(event, includeTimestamp=False,
                                     includeSystem=False) + "\n")
            stream.flush()

    return observe


def beginCommandLog(stream=None):
    """Log through L{commandLog} for the rest of the process (a command's
    own process calls this once, at its start)."""
    globalLogBeginner.beginLoggingTo(
        [commandLog(sys.stderr if stream is None else stream)],
        discardBuffer=True, redirectStandardIO=False)
