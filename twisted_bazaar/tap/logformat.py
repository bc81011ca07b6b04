"""
``--log-format json``: one JSON object per log line, for machines.

The objects are C{twisted.logger}'s own JSON form of each event
(L{eventAsJSON}, which L{eventFromJSON} reads back), with one key added:
``log_text``, the line as the text format shows it.  They go where
twistd would write its text log: stdout with ``-n`` (and no
``--logfile``), else ``--logfile`` (default ``twistd.log``).
"""

import sys

from twisted.logger import formatEvent, jsonFileLogObserver
from twisted.python.logfile import LogFile

#: The formats ``--log-format`` takes.
FORMATS = ("text", "json")


def parseFormat(text):
    if text not in FORMATS:
        raise ValueError(f"wants {' or '.join(FORMATS)}, not {text!r}")
    return text


parseFormat.coerceDoc = f"One of: {', '.join(FORMATS)}."


def jsonObserver(out):
    """An observer writing each event to out as one line of JSON."""
    observer = jsonFileLogObserver(out, recordSeparator="")

    def observe(event):
        event = dict(event)
        try:
            event["log_text"] = formatEvent(event)
        except Exception:  # formatEvent does not raise; belt and braces
            event["log_text"] = ""
        observer(event)

    return observe


#: Where the JSON observer writes, set by L{useJSON}: twistd's logfile
#: and nodaemon options.  twistd takes its ``logger`` as a dotted name
#: and calls it with no argument, so this has to be module state (one
#: daemon per process).
_where = {}


def useJSON(twistdOptions):
    """Have twistd log through L{jsonLogger}, writing where it would have
    written its text log."""
    _where.clear()
    _where.update(logfile=twistdOptions.get("logfile"),
                  nodaemon=bool(twistdOptions.get("nodaemon")))
    twistdOptions["logger"] = f"{__name__}.jsonLogger"


def jsonLogger(stdout=None):
    """
    The observer twistd logs through with ``--log-format json`` (twistd
    calls it when it starts logging).
    """
    name = _where.get("logfile")
    if name == "-" or (_where.get("nodaemon", True) and not name):
        out = sys.stdout if stdout is None else stdout
    else:
        out = LogFile.fromFullPath(name or "twistd.log")
    return jsonObserver(out)
