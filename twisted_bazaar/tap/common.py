"""
What both daemons' command lines share: the link limits, ``--verbose``,
``--config FILE``, one-line usage errors, and no shared pid file.
"""

import json
import os
import random
import re
import sys
import textwrap

from twisted.internet.endpoints import serverFromString
from twisted.python import usage

from twisted_bazaar.transports.table import overConnector
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.net.link import (
    DEFAULT_ERROR_LIMIT,
    DEFAULT_FRAME_LIMIT,
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_PING_INTERVAL,
    DEFAULT_PING_RATE,
    DEFAULT_SEARCH_RATE,
    DEFAULT_WRITE_LIMIT,
    LinkSettings,
)
from twisted_bazaar.metrics.lag import LagProbe
from twisted_bazaar.metrics.web import metricsGuard, metricsNames, metricsSite
from twisted_bazaar.base.console import emit, tolerant
from twisted_bazaar.base.options import boundedInt, boundedSeconds, rate, seconds
from twisted_bazaar.daemon.services import EndpointConnector, ListeningService
from twisted_bazaar.status.tracker import StatusExtension
from twisted_bazaar.tap.config import (
    FLAG,
    LIST,
    ONE_OR_LIST,
    ConfigError,
    configArgs,
    kindOf,
    splitConfig,
)
from twisted_bazaar.tap.endpoints import checkServerEndpoint, pemFault
from twisted_bazaar.tap.exitstatus import ExitStatus, showStartFailures
from twisted_bazaar.tap.logformat import logOn, parseFormat, useFormat
from twisted_bazaar.tap.stopsignals import holdStart, stopOnce
from twisted_bazaar.tap.wholenames import refuseAbbreviations
from twisted_bazaar.base.httphosts import ServedNames, hostNames
from twisted_bazaar.web.resources import webGuard, webSite
from twisted_bazaar.web.view import SILENT, MarketView
from twisted_bazaar.web.watch import StatusWatcher


def checkDataDir(data_dir, who, foreign=None):
    """A data dir is created if it is missing, but not its parents: a
    mistyped path is refused rather than made; and one that holds the
    state of the other daemon (a tracker's key, a node's) is refused
    rather than shared.

    @param foreign: (its file, what it is, whose dir) of the other
        daemon: C{("tracker.key", "a tracker's key", "a tracker's state
        directory")}.
    @raise usage.UsageError: saying why."""
    if data_dir is None:
        return
    if not data_dir:
        raise usage.UsageError("--data-dir: an empty path names no folder: give "
                               "one, or leave the flag out")
    if os.path.exists(data_dir):
        if not os.path.isdir(data_dir):
            raise usage.UsageError(f"--data-dir {data_dir} is not a directory")
        if foreign is not None and os.path.exists(os.path.join(data_dir, foreign[0])):
            name, what, whose = foreign
            raise usage.UsageError(
                f"--data-dir {data_dir} holds {what} ({name}), not {who}'s: it is "
                f"{whose}; give {who} a folder of its own")
        return
    parent = os.path.dirname(os.path.abspath(data_dir))
    if not os.path.isdir(parent):
        what = "is not a folder" if os.path.exists(parent) else "does not exist"
        raise usage.UsageError(f"--data-dir {data_dir}: its parent {parent} "
                               f"{what} ({who} creates only the last folder "
                               f"of its data dir)")


def refuseGone(args, gone):
    """
    @raise usage.UsageError: for the first word of args (an option's, up
        to ``--``) that names an option in ``gone`` (name -> what to do
        now), saying it is gone and what to do.
    """
    for word in args:
        if word == "--":
            return
        name = word[2:].partition("=")[0] if word.startswith("--") else None
        if name in gone:
            raise usage.UsageError(f"--{name} is gone: {gone[name]}")


#: A usage error about one option's value, as L{badValue} words it (after
#: twistd's own words, when its type check found it).
_ABOUT_OPTION = re.compile(r"(Parameter type enforcement failed: )?--([\w-]+)(?::| [^ :]+:)")


class Misplaced(usage.UsageError):
    """
    An option given without the role or discovery scheme it belongs to:
    said with the flag to add, or, when the config file gave the option
    and the command line does not give that flag, with the file's key
    and the value that makes it right (L{inFile}).
    """

    def __init__(self, name, kind, owner, chosen):
        """
        @param kind: C{"role"} or C{"scheme"}.
        @param chosen: the roles (or the one scheme) the node has now.
        """
        self.name, self.kind, self.owner, self.chosen = name, kind, owner, list(chosen)
        self.flag = "role" if kind == "role" else "discovery"
        super().__init__(f"--{name} belongs to the {owner} {kind}; "
                         f"add --{self.flag} {owner}")

    def inFile(self, path):
        if self.kind == "role":
            value = json.dumps(self.chosen + [self.owner])
        else:
            value = json.dumps(self.owner)
        return (f"--config {path}: {self.name} belongs to the {self.owner} {self.kind}; "
                f"give {self.flag} = {value}")


def _given(name, args):
    """Is ``--name`` one of args (alone or ``--name=VALUE``)?"""
    return any(arg == f"--{name}" or arg.startswith(f"--{name}=") for arg in args)


def fromConfig(error, path, args, given=()):
    """
    A usage error about the value of an option the config file at path
    gave (one of ``args``, which it stands for), said as the file's own
    errors are: ``--config PATH: KEY: WHY`` (``--ttl: ...`` alone named
    no file); an option the file gave without its role or scheme
    (L{Misplaced}) in the file's words, unless the command line
    (``given``) names the roles or the scheme, which then win over the
    file's.  Any other message as it is.
    """
    message = str(error)
    if (isinstance(error, Misplaced) and path is not None and _given(error.name, args)
            and not _given(error.flag, given)):
        return error.inFile(path)
    about = _aboutOption(message, args)
    if path is None or about is None:
        return message
    key, rest = about
    if not _given(key, args):
        return message
    return f"--config {path}: {key}{rest}"


def _aboutOption(message, args):
    """(KEY, what follows it) of a message about ``--KEY``'s value, else
    None.  A value with blanks (``--sell apple = 3: ...``) is known by
    being one that args give for KEY."""
    found = _ABOUT_OPTION.match(message)
    if found is not None:
        return found.group(2), message[found.end(2):]
    for arg in args:
        key, sep, value = arg.removeprefix("--").partition("=")
        if sep and message.startswith(f"--{key} {value}: "):
            return key, message[len(key) + 2:]
    return None


def badValue(name, text, error):
    """The message of a bad value of ``--name``: ``--name: WHY``, or
    where the parser's reason starts with the value, ``--name VALUE:
    WHY`` (as ``--quic-peer foo: ...``), not the value twice or a colon
    between flag and value."""
    why = str(error)
    if text and why.startswith(f"{text}: "):
        return f"--{name} {why}"
    return f"--{name}: {why}"


def param(name, default, help, parse=None):
    """An optParameters row whose bad values are reported with the flag's
    name (twistd's own message leaves it out)."""
    if parse is None:
        return [name, None, default, help]

    def coerce(text):
        try:
            return parse(text)
        except ValueError as e:
            raise ValueError(badValue(name, text, e))

    coerce.coerceDoc = parse.coerceDoc
    return [name, None, default, help, coerce]


COMMON_PARAMETERS = [
    param("metrics", None, "Endpoint to serve Prometheus metrics on, at "
          "/metrics (e.g. tcp:9100:interface=127.0.0.1; no TLS, no "
          "authentication: keep it on a trusted network); none by default."),
    param("metrics-names", None, "Host names the metrics port also answers to, "
          "separated by commas (the names a scraper on another machine reaches it "
          "by); it answers to loopback's names and the addresses it listens on, and "
          "refuses any other name a request gives (DNS rebinding)", hostNames),
    param("log-format", "text", "How log lines are written: text, or json (one "
          "JSON object per line: twisted.logger's JSON form of the event, node "
          "ids whole, plus log_text, the line as text).", parseFormat),
    param("handshake-timeout", DEFAULT_HANDSHAKE_TIMEOUT,
           "Seconds a new connection may take to say thisisme; a node "
           "also waits this long for each answer of its tracker, and for "
           "the lookup of a peer's host name.", seconds),
    param("ping-interval", DEFAULT_PING_INTERVAL,
           "Seconds of silence before a link is pinged; 3 silent intervals "
           "close it.", seconds),
    param("frame-limit", DEFAULT_FRAME_LIMIT,
           "Largest message, in bytes, accepted or sent.", boundedInt(1024, 10**8)),
    param("error-limit", DEFAULT_ERROR_LIMIT,
           "Bad messages a peer may send in a minute before it is cut off.",
           boundedInt(1, 10**6)),
    param("search-rate", DEFAULT_SEARCH_RATE,
           "Messages a second accepted from one peer, of each kind apart "
           "(bursts to twice that; the excess is dropped): searches; questions "
           "(lookup, ask, leafQuery, members, state); buys; chord messages; "
           "TCP punch messages; UDP reach and punch messages. Also the "
           "searches a node passes on a second, all links together.", rate),
    param("ping-rate", DEFAULT_PING_RATE,
           "Pings a second answered for one peer (bursts to twice that); the "
           "excess is dropped.", rate),
    param("write-limit", DEFAULT_WRITE_LIMIT,
           "Bytes that may wait for a peer that does not read before its link "
           "is dropped.", boundedInt(1024, 10**9)),
    param("start-delay", 0, "Seconds the daemon waits once its ports listen, "
          "before it runs: a test's moment for a signal during a start (a stop "
          "signal ends the wait, and the daemon stops in order).",
          boundedSeconds(0, 3600)),
]


#: The fewest columns --help keeps for an option's text: a terminal
#: narrower than the option names and this (``COLUMNS=20``) gets lines
#: wider than itself, where Twisted's layout raised ValueError.
HELP_TEXT_COLUMNS = 20


def helpWidth(width, rows):
    """The width to lay --help out in: ``width``, or the terminal's
    ``COLUMNS`` (80 when unset or no positive number), widened so that
    the text beside the longest of ``rows``' option names keeps
    L{HELP_TEXT_COLUMNS}."""
    if not width:
        try:
            width = int(os.environ.get("COLUMNS", ""))
        except ValueError:
            width = 0
        width = width if width > 0 else 80
    names = max((len(row["long"]) + (row["optType"] == "parameter") for row in rows),
                default=0)
    return max(width, names + len("  -s, --  ") + HELP_TEXT_COLUMNS)


def _shownDefault(default):
    """A false default as --help shows it: 0 and 0.0, but not an empty
    string (Twisted would print ``[default: ]``)."""
    return None if default in ("", None) else default


class DaemonOptions(usage.Options):
    """
    Options shared by both daemons: bad flags end in a one-line error, and
    several daemons may run in one folder (no shared ``twistd.pid``).
    """

    optFlags = [["verbose", "v", "Log every message sent and received, every sale "
                 "(by default, under load most are summed up every 10 s), and the "
                 "debug lines (links closed politely, lookups dropped while a ring "
                 "settles...)."]]
    #: Options that may be given many times (lists in a config file).
    repeatable = ()
    #: Repeatable options a config file may also give one string.
    oneOrList = ()
    #: The repeatable options of the transport plugins, each a list, and
    #: the --help sections and owners of all their options
    #: (L{twisted_bazaar.tap.transports.addTransportOptions}).
    transportLists = ()
    transportGroups = ()
    transportOwners = ()

    #: The options of both daemons that run and protect it, shown last.
    OPERATIONS = ("verbose", "log-format", "metrics", "metrics-names", "config", "help", "help-all",
                  "version", "handshake-timeout", "ping-interval", "frame-limit",
                  "error-limit", "search-rate", "ping-rate", "write-limit", "start-delay")
    #: The options most runs need, which --help shows alone (alphabetical),
    #: with L{EXAMPLES} (--help-all shows every option); none: --help
    #: shows every option.
    LEAD = ()
    #: (what it does, the command line) pairs that --help shows.
    EXAMPLES = ()
    #: Option names this daemon took once -> what to do now: refused with
    #: that note, not with getopt's bare "not recognized".
    GONE = {}

    def __init__(self):
        super().__init__()
        for name in self.transportLists:
            self[name] = []

    def helpGroups(self):
        """The sections of --help: (title, option names, note), in order;
        the note stands in for a section without options.  Each transport
        plugin's, then operations, come last."""
        return list(self.transportGroups) + [
            ("Operations and limits on peers (both daemons)", self.OPERATIONS, "")]

    def getUsage(self, width=None):
        """--help by sections (L{helpGroups}), each alphabetical, rather
        than one alphabetical list; an option no section names comes last."""
        rows = {row["long"]: row for row in self._helpRows()}
        width = helpWidth(width, rows.values())
        sections = []
        for title, names, note in self.helpGroups():
            chosen = sorted((rows.pop(name) for name in names if name in rows),
                            key=lambda row: row["long"])
            body = "".join(usage.docMakeChunks(chosen, width)) if chosen else ""
            sections.append(f"{title}:\n{body or f'  {note}' + chr(10)}")
        if rows:
            sections.append("Other options:\n" + "".join(
                usage.docMakeChunks(sorted(rows.values(), key=lambda row: row["long"]),
                                    width)))
        longdesc = getattr(self, "longdesc", "")
        if longdesc:
            longdesc = "\n" + "\n".join(textwrap.wrap(longdesc, width)) + "\n"
        return "\n".join(sections) + longdesc

    def _helpRows(self):
        """One row per option, as Twisted's docMakeChunks takes them, its
        text on one line (a docstring's line breaks and indentation go)."""
        short = {long: key for key, long in self.synonyms.items()
                 if key != long and len(key) == 1}
        for opt in self.longOpt:
            name = opt.rstrip("=")
            yield {"long": name, "short": short.get(name),
                   "doc": " ".join((self.docs.get(name) or "").split()),
                   "optType": "parameter" if opt.endswith("=") else "flag",
                   "default": _shownDefault(self.defaults.get(name)),
                   "dispatch": self._dispatch.get(name)}

    def opt_help(self):
        """Display the options most runs need, with examples, and exit
        (--help-all: every option)."""
        emit(self.getSynopsis() + "\n" + self.leadUsage() if self.LEAD else str(self))
        raise SystemExit(0)

    def opt_version(self):
        """Display the version of twisted-bazaar (and Twisted's) and exit."""
        from importlib import metadata

        import twisted

        try:
            ours = metadata.version("twisted-bazaar")
        except metadata.PackageNotFoundError:
            ours = "unknown"
        daemon = getattr(self.parent, "subCommand", None)
        named = f"twistd {daemon} " if daemon else ""
        emit(f"{named}(twisted-bazaar) {ours}; Twisted {twisted.__version__}")
        raise SystemExit(0)

    def opt_help_all(self):
        """Display every option, by section, and exit."""
        emit(str(self))
        raise SystemExit(0)

    def leadUsage(self, width=None):
        """
        --help: the options most runs need (L{LEAD}) and a few examples
        (L{EXAMPLES}), as git and kubectl lead theirs; then the daemon's
        description, and how to see every option.
        """
        rows = {row["long"]: row for row in self._helpRows()}
        chosen = [rows[name] for name in self.LEAD]
        width = helpWidth(width, chosen)
        examples = "".join(f"  # {what}\n  {command}\n" for what, command in self.EXAMPLES)
        more = (f"Every option ({len(rows)}), by section (each role's, files, each "
                f"discovery scheme's, each transport's, logs and limits on peers): "
                f"--help-all.")
        text = "\n".join(textwrap.wrap(getattr(self, "longdesc", ""), width)
                         + [""] + textwrap.wrap(more, width))
        return ("\nOptions most runs need:\n" + "".join(usage.docMakeChunks(chosen, width))
                + f"\nExamples:\n{examples}\n{text}\n")

    def opt_config(self, path):
        """A TOML file of options, keyed by their long names; flags given on
        the command line win.  One file: a second --config is refused."""

    def parseOptions(self, options=None):
        if options is None:
            options = sys.argv[1:]
        path, fromFile, given = None, (), ()
        try:
            try:
                path, rest = splitConfig(options)
                given = rest
                if path is not None:
                    fromFile = configArgs(path, self.configKinds(), rest,
                                          self.pathOptions(), self.GONE)
                    rest = fromFile + rest
            except ConfigError as e:
                raise usage.UsageError(str(e))
            refuseAbbreviations(rest, self.shortOpt, self.longOpt)
            refuseGone(rest, self.GONE)
            #: The arguments parsed, the config file's among them: whether an
            #: option with a default was given at all (L{wasGiven}).
            self.arguments = tuple(rest)
            try:
                super().parseOptions(rest)
            except usage.UsageError as e:
                raise usage.UsageError(fromConfig(e, path, fromFile, given)) from None
        except usage.UsageError as e:
            if self.parent is None:
                raise
            e = str(e).replace("Parameter type enforcement failed: ", "")
            name = self.parent.subCommand
            sys.stderr.write(f"twistd {name}: error: {e} "
                             f"(see twistd {name} --help)\n")
            raise SystemExit(2)

    def wasGiven(self, name):
        """Whether ``--name`` was given, on the command line or in the
        config file, even at its default value."""
        return _given(name, getattr(self, "arguments", ()))

    def optionDefault(self, name):
        """The default of an option that takes a value."""
        return self.defaults.get(name)

    def pathOptions(self):
        """The options whose value is a file's or folder's path: in a
        config file, a relative one is the file's folder's."""
        return {"data-dir"}

    def configKinds(self):
        """Long option name -> the kind of value a config file gives it."""
        kinds = {}
        for name in self.longOpt:
            if not name.endswith("="):
                if name not in ("help", "help-all", "version"):
                    kinds[name] = FLAG
            elif name != "config=":
                name = name[:-1]
                kinds[name] = (ONE_OR_LIST if name in self.oneOrList
                               else LIST if name in self.repeatable
                               else kindOf(self.optionDefault(name), self._parsed(name)))
        return kinds

    def _parsed(self, name):
        """Whether an option's value goes through a parser of its own (its
        row's), not kept as the text given."""
        return getattr(self._dispatch.get(name), "coerce", str) is not str

    def postOptions(self):
        parent = self.parent
        if parent is not None and parent.get("pidfile") == "twistd.pid":
            # twistd's default pid file would stop a second daemon in the
            # same folder; these daemons need none unless asked.
            parent["pidfile"] = ""
        #: The files twistd writes for it (read before useFormat names
        #: this project's logger as twistd's --logger).
        self.twistdFiles = twistdFiles(parent)
        if parent is not None:
            tolerant()
            checkTwistdFiles(parent)
            keepFolderOfStart(self, parent)
            if self["log-format"] == "json" and (parent.get("logger")
                                                 or parent.get("syslog")):
                raise usage.UsageError("--log-format json cannot be combined with "
                                       "twistd's --logger or --syslog")
            useFormat(parent, self["log-format"], bool(self["verbose"]))
        if self["metrics"] is not None:
            try:
                self["metrics"] = checkServerEndpoint(self["metrics"])
            except ValueError as e:
                raise usage.UsageError(f"--metrics: {e}")
        elif self["metrics-names"] is not None:
            # Said, not ignored: a user who gave names meant a port to serve.
            raise usage.UsageError("--metrics-names are the names of the --metrics "
                                   "port: give --metrics ENDPOINT too")

    def linkSettings(self):
        return LinkSettings(
            frame_limit=self["frame-limit"],
            handshake_timeout=self["handshake-timeout"],
            ping_interval=self["ping-interval"],
            error_limit=self["error-limit"],
            search_rate=self["search-rate"],
            ping_rate=self["ping-rate"],
            write_limit=self["write-limit"],
            verbose=bool(self["verbose"]),
        )



def startStopping(options, reactor):
    """
    How a daemon under twistd stops from the moment it is made: once, in
    order, on a stop signal that comes while it starts too
    (L{stopOnce}); held ``--start-delay`` seconds once its ports listen
    (L{holdStart}); SIGUSR1 said or acted on in its reactor
    (L{logOn}).  A daemon's service built in another process (a test's)
    leaves that process's signal handlers alone.

    @return: the L{StopOnce}, whose C{stopping} says a stop signal came.
    """
    underTwistd = getattr(options, "parent", None) is not None
    if underTwistd:
        logOn(reactor)
    stopper = stopOnce(reactor, early=underTwistd)
    holdStart(reactor, options["start-delay"], stopper)
    return stopper


def exitStatusFor(options, reactor, prog):
    """
    The L{ExitStatus} of a daemon run with these options (under twistd,
    its parent options say whether it forks into the background).  Called
    in ``makeService``, before twistd forks: a daemon about to go to the
    background keeps a copy of the stderr it was started with, until its
    reactor runs.
    """
    parent = getattr(options, "parent", None)
    nodaemon = True if parent is None else bool(parent.get("nodaemon", True))
    stderr = sys.__stderr__
    if not nodaemon:
        showStartFailures()
        if stderr is not None:
            stderr = os.fdopen(os.dup(stderr.fileno()), "w")
    status = ExitStatus(reactor, prog, nodaemon, twistdConfig=parent, stderr=stderr)
    reactor.callWhenRunning(status.running)
    return status


def keepFolderOfStart(options, parent):
    """
    A relative --data-dir made absolute, against the folder twistd was
    started in, when twistd's --rundir names another: twistd changes to
    that folder after the daemon is built, so the daemon opened its store
    and key in the one folder and then made its control socket and kept
    its tracker's key (known_tracker) in the other, or in none, and a
    failed start removed what it made in the wrong one.  twistd's own
    --pidfile and --logfile are read against the start folder too, as are
    --share and --downloads (made absolute as they are read).
    """
    folder = options.get("data-dir")
    rundir = parent.get("rundir")
    if folder and rundir and os.path.abspath(rundir) != os.path.abspath(os.curdir):
        options["data-dir"] = os.path.abspath(folder)


def checkTwistdFiles(parent):
    """
    twistd's own --logfile and --pidfile, checked as the options are read:
    twistd opens them only after the daemon is built, and a file in a
    folder that does not exist (or a folder given for one) ends it there
    in a traceback.  Refused here in one line, with the reason.
    """
    for flag, name in (("--logfile", parent.get("logfile")),
                       ("--pidfile", parent.get("pidfile"))):
        if name in (None, "", "-"):
            continue
        path = os.path.abspath(name)
        folder = os.path.dirname(path)
        if os.path.isdir(path):
            why = "is a folder, not a file"
        elif not os.path.isdir(folder):
            why = f"its folder {folder} does not exist"
        else:
            continue
        raise usage.UsageError(f"twistd's {flag} {name}: {why}")


def twistdFiles(parent):
    """
    The paths of the files twistd writes for this daemon, its log and pid
    file (a --share folder holding them left them out): ``--logfile``
    (``twistd.log`` in ``--rundir`` when it runs in the background with
    none) and ``--pidfile``, as L{checkTwistdFiles} reads them; none
    without twistd, or for a log on stdout, syslog or twistd's
    ``--logger``.
    """
    if parent is None:
        return ()
    paths = []
    log = parent.get("logfile")
    if not log and not parent.get("nodaemon") and not (parent.get("syslog")
                                                       or parent.get("logger")):
        log = os.path.join(parent.get("rundir") or os.curdir, "twistd.log")
    for name in (log, parent.get("pidfile")):
        if name not in (None, "", "-"):
            paths.append(os.path.abspath(name))
    return tuple(paths)


def serverEndpoint(reactor, description, flag, exitStatus):
    """
    The server endpoint of ``flag``'s ``description``; one that does not
    parse, or whose files cannot be read (an ``ssl:`` endpoint's missing
    certificate, or one that is no PEM certificate), refuses the start with the reason in one line
    (L{ExitStatus.refusal}), undoing what it made (the tracker's new
    state directory, a node's new data dir): it fails as a start whose
    port is taken does, leaving nothing behind, and without a traceback.
    """
    try:
        return serverFromString(reactor, description)
    except (ValueError, TypeError, OSError) as e:
        raise exitStatus.refusal(f"{flag}: bad endpoint: {e}{noKeyNamed(description, e)}"
                                 ) from None
    except Exception as e:
        why = pemFault(e)
        if why is None:
            raise
        raise exitStatus.refusal(f"{flag}: bad endpoint: {why}") from None


def noKeyNamed(description, error):
    """What to add when an ``ssl:`` endpoint that names no ``privateKey=``
    fails on the file Twisted reads by default (``server.pem`` in the
    current folder), which the user never named: how to name one."""
    if (description.startswith("ssl:") and "privateKey=" not in description
            and isinstance(error, FileNotFoundError)):
        return (" (an ssl: endpoint reads its key and certificate from privateKey=FILE, "
                "server.pem in the current folder when none is named)")
    return ""


def addMetrics(parent, reactor, options, metrics, exitStatus):
    """
    With ``--metrics``, serve the metrics (a L{NodeMetrics} or
    L{TrackerMetrics}) at ``/metrics`` and probe the reactor's lag, as
    children of the daemon's service.  An endpoint that cannot listen ends
    the daemon with the reason, as ``--listen`` does.
    """
    description = options["metrics"]
    endpoint = serverEndpoint(reactor, description, "--metrics", exitStatus)
    # Under the rules of the daemon's other ports: its --connection-rate,
    # an account of connections, each request's deadline (daemon/site.py);
    # it answers to loopback's names, the address it is bound to and
    # --metrics-names (base/httphosts.py).
    guard = metricsGuard(reactor, options.get("connection-rate"))
    names = metricsNames(options.get("metrics-names") or ())
    ListeningService(reactor, endpoint, metricsSite(metrics.registry, guard, names),
                     "metrics", onListening=names.listening, onFailure=exitStatus.fail,
                     description=description, rates=guard.rates).setServiceParent(parent)
    LagProbe(reactor, metrics.reactorLag).setServiceParent(parent)


def addWebView(parent, reactor, options, tracker, exitStatus):
    """
    With ``--web``, serve the live web view of the tracker's market, kept
    current by a L{StatusWatcher} asking its nodes every ``--web-poll``
    seconds; both children of the daemon's service.  An endpoint that
    cannot listen ends the daemon with the reason, as ``--listen`` does.
    """
    description = options["web"]
    endpoint = serverEndpoint(reactor, description, "--web", exitStatus)
    # A node is shown silent once it has missed three rounds of questions.
    view = MarketView(reactor, silent=max(SILENT, 3 * options["web-poll"]))
    # It asks as a keyless status client, through the channel as any peer.
    StatusWatcher(reactor, StatusExtension(tracker).members,
                  overConnector(EndpointConnector(
                      reactor, channel=ChannelKey.generate()), reactor),
                  view, options.linkSettings(), random.Random(),
                  interval=options["web-poll"],
                  relayOf=tracker.registry.relayOf,
                  # A class's LAN-only nodes, listed to nobody here, are
                  # counted live (`8 of 30`), as `bazaar web` counts them.
                  unlisted=tracker.registry.lanOnlyCount).setServiceParent(parent)
    # It answers to loopback's names and the address it is bound to; its
    # port is under the daemon's rules (daemon/site.py).
    names = ServedNames(names=options.get("web-names") or ())
    guard = webGuard(reactor, options.get("connection-rate"))
    ListeningService(reactor, endpoint, webSite(view, names, guard=guard), "web view",
                     onListening=names.listening, onFailure=exitStatus.fail,
                     description=description, rates=guard.rates).setServiceParent(parent)
