"""
Run the real daemons (``twistd -n bazaar-tracker``, ``twistd -n bazaar-node``)
as child processes, for the demo and the end-to-end tests.

No reactor here: each daemon is a plain subprocess whose output a background
thread reads line by line, so a caller can wait for a log line that matches a
pattern, or for any condition over several daemons' logs, with a timeout,
instead of sleeping: the wait blocks until a line comes.  Every address is
on loopback and every port is chosen by the kernel (``tcp:0``), so runs
never collide.

A daemon started with ``logFormat="json"`` logs with ``--log-format
json``: each line is read as the event it is (L{Daemon.events}, which
L{Daemon.waitForEvent} waits on by its format and fields), and kept in
L{Daemon.lines} as the line the text format would have shown, so that a
wait on a text line reads the same log either way.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from twisted.logger import eventFromJSON, formatEventAsClassicLogText

from twisted_bazaar.base.listenfault import LISTENING
from twisted_bazaar.base.text import shownLines
from twisted_bazaar.wire.ids import parseWireId, shortId, wireId

#: Seconds a caller waits for a log line unless told otherwise.
DEFAULT_TIMEOUT = 30.0
#: Seconds a command run to its end (L{runCommand}, L{runTwistd}) may
#: take at least before it counts as hung: it bounds a hang and checks no
#: speed.  At -n 8 beside 25 to 30 busy processes, commands bounded at 30 s
#: failed on their bound alone (an exec'd Python's start took that long).
COMMAND_BOUND = 300.0
#: Seconds a daemon gets to exit after SIGTERM before it is killed.
STOP_TIMEOUT = 10.0
#: Endpoint every daemon started here listens on: a free loopback port.
LOOPBACK_LISTEN = "tcp:0:interface=127.0.0.1"

TRACKER_LISTENING = re.compile(r"tracker listening on [^\s:]+:(?P<port>\d+)")
NODE_REGISTERED = re.compile(
    r"registered with the tracker as node \S+ \(id (?P<id>[0-9a-f]+)\)")
#: What a node logs once its id is assigned and stored.
NODE_READY = re.compile(r"node \S+ ready, listening on port \d+ \(id (?P<id>[0-9a-f]+)\)")
#: Log lines that mean something went wrong inside a daemon.
PROBLEM = re.compile(r"Traceback|Unhandled")
#: twistd's last log line after an orderly shutdown.
SHUT_DOWN = re.compile(r"Server Shut Down\.")
#: The exit status of a twistd that shut down in good order on SIGTERM:
#: since Twisted 21.2 it re-raises the signal once the reactor has stopped,
#: so it ends "killed by SIGTERM" (143 in a shell), not with 0.
TERMINATED = -signal.SIGTERM


#: What starts each daemon unless its caller says (L{subprocess.Popen}'s
#: signature): an exec of twistd; the suite puts its fork server here
#: (tests/forkserver.py), which forks one with twistd already imported.
spawner = subprocess.Popen


class DaemonError(Exception):
    """A daemon did not do what was expected in time, or could not start."""


#: The log formats a daemon started here may write (``--log-format``).
TEXT, JSON = "text", "json"
#: The twistd plugins that take ``--log-format``.
_FORMATTED = ("bazaar-node", "bazaar-tracker")

#: Events the end-to-end tests wait on, by their format (``log_format``):
#: a daemon that listens (``what`` is "tracker", "node", "web view", ...;
#: ``port`` a number).
LISTENING_EVENT = LISTENING
#: A node with its id (``id``, whole) from the tracker, stored.
NODE_READY_EVENT = "node {short} ready, listening on port {port} (id {id})"
#: The tracker has checked that a node (``id``, whole) listens where it
#: said, and so introduces it.
INTRODUCED_EVENT = "node {id} listens at {where} as it said"


def _readEvent(line):
    """The event a line of ``--log-format json`` holds, or None for a line
    that holds none (what twistd or Python wrote before the log began)."""
    if not line.startswith("{"):
        return None
    try:
        event = eventFromJSON(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) and "log_text" in event else None


def _shortNamespace(namespace):
    """The source a text line shows: this package's class (or module) by
    its last name, as ``--log-format text`` shows it (the tap layer's
    logformat, above this one)."""
    if namespace.startswith("twisted_bazaar."):
        return namespace.rsplit(".", 1)[-1]
    return namespace


def textLines(event):
    """
    The lines ``--log-format text`` shows for an event read back from
    ``--log-format json``: twistd's line (time, source named short, level),
    its text as the JSON carries it (``log_text``), and a traceback for a
    failure (its frames; the exception's value is not kept in JSON).
    """
    text = event.get("log_text", "")
    shown = dict(event, log_format=text.replace("{", "{{").replace("}", "}}"),
                 log_namespace=_shortNamespace(event.get("log_namespace", "")))
    line = formatEventAsClassicLogText(shown)
    return [] if line is None else shownLines(line).rstrip("\n").split("\n")


def eventMatches(event, format, fields):
    """
    Does an event match: its format starts with ``format`` (a format as
    the code logs it, e.g. L{LISTENING_EVENT}; a long one by its start;
    or with one of a tuple of them), and each of ``fields`` is equal to
    the event's (a node id as the wire writes it, whole), or, for a
    callable, is true of it?
    """
    if not str(event.get("log_format") or "").startswith(format):
        return False
    for key, wanted in fields.items():
        if key not in event:
            return False
        value = event[key]
        if not (wanted(value) if callable(wanted) else value == wanted):
            return False
    return True


def twistdPath():
    """The ``twistd`` of this Python's environment (the venv's, under make),
    so the daemons run the very code that is installed next to it."""
    path = Path(sys.executable).with_name("twistd")
    if not path.exists():
        raise DaemonError(f"no twistd next to {sys.executable}: install the "
                          "project (and twisted) into this environment first")
    return str(path)


#: The folder, in a daemon's working folder, of its state home: where a
#: tracker started without --data-dir keeps its key (tap/statedir.py).
STATE_HOME = ".state"


def _environment(cwd):
    """The caller's environment, with unbuffered output so that a
    traceback printed on the way out still reaches the log, and a state
    home in the daemon's folder (``XDG_STATE_HOME``): a tracker restarted
    there on the same port takes its key back, as on a user's machine, and
    no daemon started here writes into the user's own state home."""
    return dict(os.environ, PYTHONUNBUFFERED="1",
                XDG_STATE_HOME=os.path.join(os.path.abspath(cwd), STATE_HOME))


def startCommand(command, **options):
    """
    L{subprocess.Popen} of a command a test runs (``bazaar``, say) by
    L{spawner}, which starts the daemons: in the suite, forked from the
    fork server where that runs it as an exec would (tests/forkserver.py),
    else exec'd.
    """
    return spawner(command, **options)


def runCommand(command, input=None, capture_output=False, timeout=None, check=False,
               **options):
    """
    L{subprocess.run} of a command, started by L{startCommand}: its
    CompletedProcess.  It is waited on to its end, at least
    L{COMMAND_BOUND} seconds whatever timeout says; past that, killed and
    L{subprocess.TimeoutExpired}.  With check, a status not 0 raises
    L{subprocess.CalledProcessError}.
    """
    bound = COMMAND_BOUND if timeout is None else max(timeout, COMMAND_BOUND)
    if capture_output:
        options.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if input is not None:
        options["stdin"] = subprocess.PIPE
    with startCommand(command, **options) as process:
        try:
            out, err = process.communicate(input, bound)
        except BaseException:
            process.kill()
            process.wait()
            raise
    if check and process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command, out, err)
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def runTwistd(args, cwd, timeout=COMMAND_BOUND):
    """Run ``twistd ARGS`` to completion (``--help``, bad flags, ...) and
    return the CompletedProcess, with stdout and stderr as text (L{runCommand}:
    ``-n`` with a daemon's plugin is forked in the suite)."""
    return runCommand([twistdPath(), *args], cwd=cwd, env=_environment(cwd),
                      stdin=subprocess.DEVNULL, capture_output=True, text=True,
                      timeout=timeout)


class Daemon:
    """
    One ``twistd -n`` child process and its log (stdout and stderr merged).

    The child runs in its own session, so a Ctrl-C at the terminal reaches
    only the parent, which then stops its children in order.

    @ivar lines: every log line so far, without line ends.
    """

    def __init__(self, name, args, cwd, onLine=None, wrapper=(), spawn=None,
                 logFormat=TEXT, twistd=True):
        """
        @param onLine: called as ``onLine(daemon, line)`` from the reader
            thread for every line as it arrives; it must not raise.
        @param wrapper: a command that runs twistd, e.g. ``("ip", "netns",
            "exec", "ns1")``; none by default.
        @param spawn: what starts the process (L{subprocess.Popen}'s
            signature); a fake process in the unit tests of the waits;
            by default L{spawner}.
        @param logFormat: L{JSON} to have a bazaar daemon log events
            (``--log-format json``, unless args say a format), read into
            L{events}; L{TEXT}, as it logs by default.
        @param twistd: False to run args as the whole command, not
            ``twistd -n ARGS`` (another program's server, e.g. Dask's).
        """
        self.name = name
        self.args = list(args)
        self.logFormat = logFormat
        if (logFormat == JSON and self.args[:1] and self.args[0] in _FORMATTED
                and "--log-format" not in self.args):
            self.args[1:1] = ["--log-format", JSON]
        self.lines = []
        #: With L{JSON}, every event logged so far (read back from JSON:
        #: L{twisted.logger.eventFromJSON}).
        self.events = []
        self._on_line = onLine
        #: Guards lines, _ended and _waiters, which the reader thread changes.
        self._lock = threading.Lock()
        self._ended = False
        #: threading.Events of the waits on this daemon (L{waitUntil}),
        #: each set whenever a line arrives or the output ends.
        self._waiters = set()
        self.process = (spawn or spawner)(
            [*wrapper, *((twistdPath(), "-n") if twistd else ()), *self.args], cwd=cwd,
            env=_environment(cwd),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, encoding="utf-8", errors="replace", start_new_session=True)
        self._reader = threading.Thread(target=self._read, name=f"{name} log",
                                        daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            line = line.rstrip("\n")
            event = _readEvent(line) if self.logFormat == JSON else None
            shown = [line] if event is None else textLines(event)
            with self._lock:
                self.lines.extend(shown)
                if event is not None:
                    self.events.append(event)
                self._wake()
            if self._on_line is not None:
                for each in shown:
                    self._on_line(self, each)
        with self._lock:
            self._ended = True
            self._wake()

    def _wake(self):
        """Tell every wait that the log changed (with the lock held)."""
        for news in self._waiters:
            news.set()

    # -- reading the log ---------------------------------------------------

    @property
    def ended(self):
        """True once the daemon's output has ended: no line will come."""
        with self._lock:
            return self._ended

    def waitFor(self, pattern, timeout=DEFAULT_TIMEOUT, what=None):
        """
        Wait until a log line, old or new, matches the regex (see
        L{waitForAny}).

        @param what: the awaited line as a reader would put it, for the
            error message (default: the pattern).
        @return: the first C{re.Match}.
        @raise DaemonError: on timeout, or when the daemon's output ends
            first; the message names the daemon and shows its last lines.
        """
        return waitForAny([self], pattern, timeout, what)[1]

    def waitForEvent(self, format, timeout=DEFAULT_TIMEOUT, awaited=None, **fields):
        """
        Wait until the daemon (started with L{JSON}) has logged an event,
        old or new, that matches format and fields (L{eventMatches}).

        @param awaited: the awaited event as a reader would put it, for the
            error message (default: the format and fields).
        @return: the first such event (a dict: its fields, ``log_text``).
        @raise DaemonError: as L{waitFor}.
        """
        return waitForEventAny([self], format, timeout, awaited, **fields)[1]

    def eventsMatching(self, format, **fields):
        """Every event so far that matches format and fields, in order."""
        with self._lock:
            events = list(self.events)
        return [event for event in events if eventMatches(event, format, fields)]

    def matches(self, pattern):
        """Every match of the regex in the log so far, in order."""
        regex = re.compile(pattern)
        with self._lock:
            found = [regex.search(line) for line in self.lines]
        return [match for match in found if match]

    def problems(self):
        """Log lines that show a traceback or an unhandled error."""
        return [match.string for match in self.matches(PROBLEM)]

    def tail(self, count=15):
        """The last lines of the log, indented, for error messages."""
        with self._lock:
            last = self.lines[-count:]
        return "\n".join("    " + line for line in last) or "    (no output)"

    def _failure(self, what):
        return f"{self.name} {what}; its last lines:\n{self.tail()}"

    def _watch(self, news):
        with self._lock:
            self._waiters.add(news)

    def _unwatch(self, news):
        with self._lock:
            self._waiters.discard(news)

    # -- stopping --------------------------------------------------------------

    def terminate(self):
        """Ask the daemon to shut down (SIGTERM), if it still runs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def finish(self, timeout=STOP_TIMEOUT):
        """Wait for the daemon to exit, killing it (SIGKILL) if it takes
        longer than timeout; then wait for the rest of its log.
        Returns the exit code."""
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout)
        if not self._reader.is_alive():
            self.process.stdout.close()
        return self.process.returncode

    def exitedCleanly(self):
        """True once the daemon has shut down in good order on SIGTERM."""
        return self.process.poll() == TERMINATED and bool(self.matches(SHUT_DOWN))


def waitUntil(daemons, condition, timeout=DEFAULT_TIMEOUT, what="the awaited lines"):
    """
    Wait until C{condition()} is true: it is asked at once, then again
    each time one of the daemons logs a line or its output ends (it reads
    their logs: L{Daemon.matches}, L{Daemon.lines}).  Nothing sleeps: the
    caller blocks until a line comes, so a line is seen as soon as it is
    read, and an idle wait costs nothing.

    @param what: what the condition awaits, for the error message.
    @return: what C{condition()} returned.
    @raise DaemonError: on timeout, or once every daemon's output has
        ended with the condition still false; the message shows each
        daemon's last lines.
    """
    daemons = list(daemons)
    news = threading.Event()
    for daemon in daemons:
        daemon._watch(news)
    try:
        deadline = time.monotonic() + timeout
        while True:
            news.clear()
            # Looked at before the condition: if every output had ended
            # by now, the condition sees every line there will be.
            ended = all(daemon.ended for daemon in daemons)
            value = condition()
            if value:
                return value
            if ended:
                raise DaemonError(_ended(daemons, what))
            left = deadline - time.monotonic()
            if left <= 0 or not news.wait(left):
                raise DaemonError(_late(daemons, what, timeout))
    finally:
        for daemon in daemons:
            daemon._unwatch(news)


def waitForAny(daemons, pattern, timeout=DEFAULT_TIMEOUT, what=None):
    """
    Wait until one of the daemons has logged a line, old or new, that
    matches the regex (see L{waitUntil}).

    @return: (the daemon, the first C{re.Match} in its log); the first
        daemon in the order given, if several have logged one.
    """
    daemons = list(daemons)
    regex = re.compile(pattern)
    # Each line is looked at once, as it comes.
    checked = dict.fromkeys(daemons, 0)

    def found():
        for daemon in daemons:
            with daemon._lock:
                new = daemon.lines[checked[daemon]:]
            checked[daemon] += len(new)
            for line in new:
                match = regex.search(line)
                if match:
                    return daemon, match
        return None

    return waitUntil(daemons, found, timeout, what or repr(regex.pattern))


def waitForEventAny(daemons, format, timeout=DEFAULT_TIMEOUT, awaited=None, **fields):
    """
    Wait until one of the daemons (started with L{JSON}) has logged an
    event, old or new, that matches format and fields (L{eventMatches};
    see L{waitUntil}).

    @return: (the daemon, the first such event in its log); the first
        daemon in the order given, if several have logged one.
    """
    daemons = list(daemons)
    for daemon in daemons:
        if daemon.logFormat != JSON:
            raise DaemonError(f"{daemon.name} logs text: start it with logFormat=JSON "
                              "to wait on its events")
    checked = dict.fromkeys(daemons, 0)

    def found():
        for daemon in daemons:
            with daemon._lock:
                new = daemon.events[checked[daemon]:]
            checked[daemon] += len(new)
            for event in new:
                if eventMatches(event, format, fields):
                    return daemon, event
        return None

    if awaited is None:
        awaited = repr(format) + "".join(f", {key}={value!r}"
                                         for key, value in fields.items())
    return waitUntil(daemons, found, timeout, awaited)


def _ended(daemons, what):
    """Why a wait failed: every daemon's output ended."""
    for daemon in daemons:
        daemon.process.wait()
    if len(daemons) == 1:
        [daemon] = daemons
        return daemon._failure(f"exited with code {daemon.process.returncode} before "
                               f"logging {what}")
    return f"every daemon exited before one logged {what}; " + _tails(daemons)


def _late(daemons, what, timeout):
    """Why a wait failed: the timeout passed."""
    if len(daemons) == 1:
        return daemons[0]._failure(f"did not log {what} within {timeout:g} s")
    return f"no daemon logged {what} within {timeout:g} s; " + _tails(daemons)


def _tails(daemons):
    return "their last lines:\n" + "\n".join(f"  {daemon.name}:\n{daemon.tail()}"
                                             for daemon in daemons)


class LiveMarket:
    """
    A tracker and nodes started in one folder, on loopback, and stopped
    together: nodes first (so they say ``dc`` to a tracker still up), then
    the tracker.  Call L{stop} in a ``finally`` or a cleanup, so that no
    daemon outlives its caller.

    @ivar daemons: every L{Daemon} started, in order.
    @ivar tracker: the tracker's L{Daemon}, once started.
    @ivar tracker_port: the port the tracker listens on, once known.
    """

    def __init__(self, cwd, onLine=None, logFormat=TEXT):
        """
        @param logFormat: how every daemon of the market logs (L{Daemon}'s
            own); with L{JSON}, the waits of the market (L{startTracker},
            L{waitIntroduced}, L{nodeId}) are on events.
        """
        self.cwd = cwd
        self.onLine = onLine
        self.logFormat = logFormat
        self.daemons = []
        self.tracker = None
        self.tracker_port = None

    def start(self, name, args, wrapper=()):
        """Start ``twistd -n ARGS`` as one more daemon of this market (run
        by ``wrapper``, see L{Daemon})."""
        daemon = Daemon(name, args, self.cwd, self.onLine, wrapper,
                        logFormat=self.logFormat)
        self.daemons.append(daemon)
        return daemon

    def startTracker(self, name="tracker", timeout=DEFAULT_TIMEOUT, *args, wrapper=()):
        """Start the tracker on a free loopback port, with any more
        ``args`` (run by ``wrapper``, see L{Daemon}), and wait until it
        listens; returns the daemon."""
        tracker = self.start(name, ["bazaar-tracker", "--listen", LOOPBACK_LISTEN,
                                    *args], wrapper)
        if tracker.logFormat == JSON:
            listening = tracker.waitForEvent(
                LISTENING_EVENT, timeout, "'tracker listening on HOST:PORT'", what="tracker")
        else:
            listening = tracker.waitFor(TRACKER_LISTENING, timeout,
                                        what="'tracker listening on HOST:PORT'")
        self.tracker_port = int(listening["port"])
        self.tracker = tracker
        return tracker

    def waitIntroduced(self, node_id, timeout=DEFAULT_TIMEOUT):
        """Wait until the tracker has checked node_id's address (an id, or
        its wire text), and so introduces it to other nodes."""
        if isinstance(node_id, str):
            node_id = parseWireId(node_id)
        if self.tracker.logFormat == JSON:
            self.tracker.waitForEvent(
                INTRODUCED_EVENT, timeout, f"'node {shortId(node_id)} listens at "
                "HOST:PORT'", id=wireId(node_id))
            return
        self.tracker.waitFor(rf"node {shortId(node_id)} listens at \S+ as it said",
                             timeout,
                             what=f"'node {shortId(node_id)} listens at HOST:PORT'")

    def startNode(self, name, *role_args, wrapper=()):
        """Start a node of this market's tracker, with its role flags
        (e.g. ``"--role", "seller", "--sell", "apple=3"``; run by
        ``wrapper``, see L{Daemon})."""
        if self.tracker_port is None:
            raise DaemonError("start the tracker before any node")
        return self.start(name, [
            "bazaar-node", "--tracker", f"tcp:127.0.0.1:{self.tracker_port}",
            "--listen", LOOPBACK_LISTEN, *role_args], wrapper)

    def stop(self, timeout=STOP_TIMEOUT):
        """Stop every daemon; returns {name: exit code}."""
        nodes = [d for d in self.daemons if d.args[0] == "bazaar-node"]
        others = [d for d in self.daemons if d not in nodes]
        codes = {}
        for wave in (nodes, others):
            for daemon in wave:
                daemon.terminate()
            for daemon in wave:
                codes[daemon.name] = daemon.finish(timeout)
        return codes


def nodeId(daemon, timeout=DEFAULT_TIMEOUT):
    """Wait until the node has its id from the tracker, and has stored it
    (it says it is ready only then); return its id."""
    if daemon.logFormat == JSON:
        ready = daemon.waitForEvent(NODE_READY_EVENT, timeout, "'node N ready'")
    else:
        ready = daemon.waitFor(NODE_READY, timeout, what="'node N ready'")
    return parseWireId(ready["id"])
