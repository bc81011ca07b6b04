"""
What a simulation does with the nodes' log events.

Every node logs each link it opens and closes (and Chord each change of
its ring) at info.  Until a program begins logging, Twisted keeps the
last 65,536 events in a buffer and hands each one to a filter that prints
only critical ones: in a large run that is a tenth of the time, and tens
of megabytes of events nobody reads.  ``bazaar-sim`` begins logging to
L{criticalOnly} instead, which shows what was shown before (critical
events, such as an unhandled error in a Deferred, and Python's warnings)
and drops the rest at once.  A plugin's fault (a scheme's find that
fails, a handler that raises) is said once a kind, not once a node: a
student's scheme that sells nothing says why.
"""

import sys

from twisted.logger import LogLevel, globalLogBeginner, textFileLogObserver

from twisted_bazaar.base.pywarnings import isPythonWarning

def criticalOnly(stream):
    """An observer that writes critical events, Python's warnings and the
    first line of each kind naming a plugin's fault (its field ``fault``:
    a scheme's find or a handler that raised, on every node alike) to
    stream, and drops every other event."""
    text = textFileLogObserver(stream)
    faults = set()

    def observe(event):
        fault = event.get("fault")
        if fault is not None:
            kind = (event.get("log_format"), fault)
            if kind not in faults:
                faults.add(kind)
                text(event)
        elif event.get("log_level") is LogLevel.critical or isPythonWarning(event):
            text(event)

    return observe


def beginQuietLogging(stream=None):
    """Log only what L{criticalOnly} keeps, for the rest of the process
    (a program calls this once, at its start)."""
    observer = criticalOnly(sys.stderr if stream is None else stream)
    globalLogBeginner.beginLoggingTo([observer], discardBuffer=True,
                                     redirectStandardIO=False)
