"""
How the daemons write their log: ``--log-format text`` (the default) or
``json``.

- ``text`` is twistd's own format, with the short name of each line's
  source (``[Seller#info]``, not
  ``[twisted_bazaar.roles.seller.role.Seller#info]``);
- ``json`` writes one object per line: C{twisted.logger}'s own JSON form
  of each event (L{eventAsJSON}, which L{eventFromJSON} reads back), with
  one key added: ``log_text``, the line as the text format shows it; a
  node id that the line shows short is whole in the event's fields.

Debug lines (a link closed after a ``dc``, a chord lookup dropped while
the ring settles: what a healthy market does) are left out unless
``--verbose``, and so are Twisted's own lines of each QUIC socket's UDP
port opening and closing (a punch over UDP opens 255 at once).  Both go where twistd would write its text log: stdout with ``-n`` (and
no ``--logfile``), else ``--logfile`` (default ``twistd.log``), which
SIGUSR1 rotates as twistd's does.  With twistd's own ``--logger`` or
``--syslog``, the text log is twistd's, untouched (under ``--syslog``
SIGUSR1 is said, not the end of the daemon).
"""

import fcntl
import os
import re
import signal
import sys

from twisted.logger import (
    FileLogObserver,
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    Logger,
    PredicateResult,
    eventAsJSON,
    formatEvent,
    formatEventAsClassicLogText,
)
from twisted.python import threadable
from twisted.python.logfile import LogFile

from twisted_bazaar.base.text import shown, shownLines
from twisted_bazaar.net.encrypted import twistedsNoHostTraceback
from twisted_bazaar.wire.ids import wholeIds

#: The formats ``--log-format`` takes.
FORMATS = ("text", "json")
#: The package whose sources are named by their last part in the log.
_PACKAGE = "twisted_bazaar."


def parseFormat(text):
    if text not in FORMATS:
        raise ValueError(f"wants {' or '.join(FORMATS)}, not {text!r}")
    return text


parseFormat.coerceDoc = f"One of: {', '.join(FORMATS)}."


def shortNamespace(namespace):
    """The name a text line shows for its source: the class (or module)
    of this package, without its path; others' as they are."""
    if namespace.startswith(_PACKAGE):
        return namespace.rsplit(".", 1)[-1]
    return namespace


def shownFields(event):
    """
    The event with every text in its fields shown as a reader may see it
    (L{twisted_bazaar.base.text.shown}: control characters and escape
    sequences escaped), a copy only if one needed it: whatever line
    formats a peer's text, the log holds no character a terminal obeys.
    """
    changed = None
    for key, value in event.items():
        if type(value) is str and not value.isprintable() and not key.startswith("log_"):
            if changed is None:
                changed = dict(event)
            changed[key] = shown(value)
    return event if changed is None else changed


def _classicText(event):
    """twistd's text line of the event, its fields shown (L{shownFields});
    every character of the line that a terminal would obey, whatever put
    it there, escaped but the newlines (each followed by a tab, as
    twistd writes a line's continuation) and tabs; None (nothing written)
    for an event without text, as twistd's."""
    text = formatEventAsClassicLogText(shownFields(event))
    return None if text is None else shownLines(text)


def _jsonText(event):
    """The event's JSON line; DEL, the one control character JSON leaves
    as it is, escaped too."""
    return eventAsJSON(event).replace("\x7f", "\\u007f") + "\n"


def textObserver(out):
    """An observer writing each event to out as twistd's text line, its
    source named short (L{shortNamespace}), no character in it that a
    terminal obeys (L{_classicText})."""
    observer = FileLogObserver(out, _classicText)

    def observe(event):
        namespace = event.get("log_namespace", "")
        short = shortNamespace(namespace)
        observer(event if short == namespace else dict(event, log_namespace=short))

    return observe


def jsonObserver(out):
    """An observer writing each event to out as one line of JSON, every
    node id in its fields whole (L{wholeFields}); its ``log_text`` shown
    as the text format shows it, the fields as they were (JSON escapes
    them)."""
    observer = FileLogObserver(out, _jsonText)

    def observe(event):
        try:
            text = shownLines(formatEvent(shownFields(event)))
        except Exception:  # formatEvent does not raise; belt and braces
            text = ""
        event = wholeFields(event)
        event["log_text"] = text
        observer(event)

    return observe


def wholeFields(event):
    """
    A copy of the event with every node id in its fields whole
    (L{twisted_bazaar.wire.ids.wholeIds}): a log line shows an id short,
    where people read it (``log_text`` keeps that line); the JSON carries
    the id as the wire writes it.
    """
    return {key: value if key.startswith("log_") else wholeIds(value)
            for key, value in event.items()}


#: Where the observer writes, set by L{useFormat}: twistd's logfile and
#: nodaemon options; and the reactor a SIGUSR1 is said on, handed in by
#: L{logOn}.  twistd takes its ``logger`` as a dotted name and calls it
#: with no argument, so this has to be module state (one daemon per
#: process).
_where = {}


def logOn(reactor):
    """Have SIGUSR1's handlers (installed as the options are read, before
    the daemon has a reactor) act on ``reactor``: a signal before it is
    handed in has no reactor to act on and changes nothing."""
    _where["reactor"] = reactor


def _onReactor(f, *args, **kwargs):
    """Call f in the reactor's thread (a signal handler must not log or
    write there itself), if the daemon has handed its reactor in."""
    reactor = _where.get("reactor")
    if reactor is not None:
        reactor.callFromThread(f, *args, **kwargs)


def useFormat(twistdOptions, format, verbose=False):
    """Have twistd log through L{textLogger} or L{jsonLogger}, writing
    where it would have written its text log, debug lines only if
    ``verbose``; a text log stays twistd's own under its ``--logger`` or
    ``--syslog`` (where SIGUSR1, which twistd handles only for a log
    file, is said and changes nothing: L{_syslogHasNoFile})."""
    if format == "text" and (twistdOptions.get("logger")
                             or twistdOptions.get("syslog")):
        if (twistdOptions.get("syslog") and not twistdOptions.get("logger")
                and not signal.getsignal(signal.SIGUSR1)):
            signal.signal(signal.SIGUSR1, _syslogHasNoFile)
        return
    _where.update(logfile=twistdOptions.get("logfile"),
                  nodaemon=bool(twistdOptions.get("nodaemon")), verbose=verbose)
    twistdOptions["logger"] = f"{__name__}.{format}Logger"


def textOnTerminal(twistdOptions):
    """Does a daemon run with these twistd options (and ``-n``) write a
    text log to the terminal: no --logfile, no --syslog, and twistd's own
    logger or L{textLogger} (twistd keeps the function its --logger
    names)?"""
    return (twistdOptions.get("logfile") in (None, "", "-")
            and not twistdOptions.get("syslog")
            and twistdOptions.get("logger") in (None, textLogger,
                                                f"{__name__}.textLogger"))


def _logFile(stdout):
    """Where the log goes: stdout with -n and no --logfile (or
    ``--logfile -``), else the log file, rotated on SIGUSR1."""
    name = _where.get("logfile")
    if name == "-" or (_where.get("nodaemon", True) and not name):
        if not signal.getsignal(signal.SIGUSR1):
            signal.signal(signal.SIGUSR1, _nothingToRotate)
        return sys.stdout if stdout is None else stdout
    out = ReopeningLogFile.fromFullPath(name or "twistd.log")
    if not signal.getsignal(signal.SIGUSR1):

        def rotate(signum, frame):
            _onReactor(out.rotateOrReopen)

        signal.signal(signal.SIGUSR1, rotate)
    return out


def _nothingToRotate(signum, frame):
    """SIGUSR1 to a daemon that logs to its standard output (``-n``, as
    under systemd): said, and nothing else.  Its default action ended the
    daemon at once (status 138), with no ``dc`` to its links, when a
    logrotate ``postrotate`` or a habit sent it to every daemon."""
    _runsOn("its standard output")


def _syslogHasNoFile(signum, frame):
    """SIGUSR1 to a daemon under twistd's ``--syslog``: said, as
    L{_nothingToRotate} says it, rather than ending the daemon."""
    _runsOn("syslog")


def _runsOn(where):
    _onReactor(Logger(namespace=__name__).info,
               "received SIGUSR1: this daemon logs to {where}, not to a "
               "file, so there is no log file to rotate; it runs on",
               where=where)


class ReopeningLogFile(LogFile):
    """twistd's log file, which SIGUSR1 rotates or opens anew
    (L{rotateOrReopen}), and which another program may empty under it
    (logrotate's ``copytruncate``)."""

    #: Held by one thread at a time, as Twisted's LogFile's own are (a
    #: line logged from a thread pool's thread).
    synchronized = ["write", "rotateOrReopen"]

    def _openFile(self):
        """
        Open it for appending (C{O_APPEND}): each line lands at the file's
        end as it is now.  Twisted's own opens it at an offset of its own,
        so after logrotate's ``copytruncate`` the next line went at the old
        length, behind a hole of that many NUL bytes that no JSON or text
        reader takes for lines.
        """
        LogFile._openFile(self)
        fd = self._file.fileno()
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)

    def write(self, data):
        """
        Write a line whole or not at all.  On a full disk a write writes
        what fits and says so, and the next raises; the rest of the line
        was lost and the next line, once there was room, went on after the
        fragment: one line that is no JSON, where jq stopped reading.  Now
        what is left is written on, and a fragment that cannot be is taken
        back before the error goes up: the line is lost, as those after it
        are until there is room.
        """
        if self.shouldRotate():
            self.flush()
            self.rotate()
        if isinstance(data, str):
            data = data.encode("utf8")
        done = 0
        try:
            while done < len(data):
                done += self._file.write(data[done:])
        except OSError:
            if done:
                os.ftruncate(self._file.fileno(), self._file.tell() - done)
            raise
        self.size += len(data)

    def shouldRotate(self):
        """Rotate at the size the file has, not the bytes written since it
        was opened: a file emptied under it (``copytruncate``) starts
        again from nothing rather than being renamed at its next line."""
        if not LogFile.shouldRotate(self):
            return False
        self.size = os.fstat(self._file.fileno()).st_size
        return LogFile.shouldRotate(self)

    def rotateOrReopen(self):
        """
        SIGUSR1: the log file rotated (FILE to FILE.1, as twistd does),
        or, if another program moved it away (logrotate, then ``kill
        -USR1`` in its postrotate), a new FILE opened.  Twisted's rotate
        alone did nothing then (no FILE to rename), and the daemon wrote
        on into the moved file, which logrotate later compressed or
        removed.
        """
        try:
            moved = os.stat(self.path).st_ino != os.fstat(self._file.fileno()).st_ino
        except OSError:
            moved = True
        if moved:
            self.reopen()
        else:
            self.rotate()


threadable.synchronize(ReopeningLogFile)


#: Twisted's lines of a port it starts or stops (``OverlayFactory
#: starting on 7700``, ``(TCP Port 7700 Closed)``), which it writes
#: whatever the factory's ``noisy``: every port of a daemon is said by a
#: line of the daemon's own (``tracker listening on``, ``relay listening
#: on``, each transport plugin's ...), so these repeated it at every start
#: and stop, and a punch over UDP opens and closes 255 QUIC sockets
#: (L{twisted_bazaar.reach.punch.udp.service}).  Any factory's: a
#: transport's port is one of the daemon's like the rest, and no list of
#: their classes here goes stale when one is added.  A UNIX port names
#: its path, quoted as it starts (``ControlFactory starting on
#: '/d/control.sock'``, the node's control socket, which the node says
#: itself at debug) and bare as it closes.  A prefix of words too: the
#: port mapper's socket to the router is ``port mapping``.  A TLS port's
#: factory is named with `` (TLS)`` (a tracker's ``--listen ssl:``), and
#: the port ``TLS`` as it closes (``(TLS Port 8120 Closed)``: ``--web`` or
#: ``--metrics`` on ``ssl:`` too).
_PORT_LINES = re.compile(r"[A-Za-z_][\w. ]*(?: \(TLS\))? starting on "
                         r"(?:\d+|'.+'|\".+\")"
                         r"|\((?:UDP|TCP|TLS) Port \d+ Closed\)"
                         r"|\(UNIX Port .+ Closed\)")


def quietPorts(event):
    """A log filter predicate: no to Twisted's lines of the daemons' own
    ports (L{_PORT_LINES}), maybe to any other line."""
    message = event.get("message")
    if (isinstance(message, tuple) and len(message) == 1 and isinstance(message[0], str)
            and _PORT_LINES.fullmatch(message[0])):
        return PredicateResult.no
    return PredicateResult.maybe


def quietNoHostTraceback(event):
    """A log filter predicate: no to Twisted's traceback for a tracker's
    certificate that names no host, which the node's own line says
    (L{twistedsNoHostTraceback}), maybe to any other line."""
    if twistedsNoHostTraceback(event):
        return PredicateResult.no
    return PredicateResult.maybe


def _leveled(observer):
    """The observer, without Twisted's traceback for a certificate that
    names no host (L{quietNoHostTraceback}), and without debug lines nor
    L{quietPorts}' unless --verbose."""
    if _where.get("verbose"):
        return FilteringLogObserver(observer, [quietNoHostTraceback])
    return FilteringLogObserver(observer, [LogLevelFilterPredicate(LogLevel.info),
                                           quietPorts, quietNoHostTraceback])


def textLogger(stdout=None):
    """The observer twistd logs through with ``--log-format text``."""
    return _leveled(textObserver(_logFile(stdout)))


def jsonLogger(stdout=None):
    """The observer twistd logs through with ``--log-format json``."""
    return _leveled(jsonObserver(_logFile(stdout)))
