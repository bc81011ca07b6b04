"""
Tests for twisted_bazaar.tap.logformat: ``--log-format text`` (short
source names) and ``json``.
"""

import io
import json

from twisted.logger import LogPublisher, Logger, eventFromJSON, formatEvent
from twisted.python import log as legacy, usage
from twisted.python.reflect import namedAny
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.tap import logformat
from twisted_bazaar.tap.node import Options as NodeOptions
from twisted_bazaar.tap.tracker import Options as TrackerOptions
from twisted_bazaar.wire.ids import KEYED, shortId, wireId


class Shown:
    """An object whose text, as a log line formats it, holds an escape."""

    def __init__(self, text):
        self.text = text

    def __str__(self):
        return self.text


class _Twistd(usage.Options):
    optParameters = [["pidfile", None, "twistd.pid", ""], ["logfile", None, None, ""],
                     ["logger", None, None, ""]]
    optFlags = [["nodaemon", "n", ""], ["syslog", None, ""]]


def parseUnder(twistdArgs, args, cls=TrackerOptions):
    parent = _Twistd()
    parent.parseOptions(twistdArgs)
    parent.subCommand = "bazaar-tracker"
    options = cls()
    options.parent = parent
    options.parseOptions(args)
    return parent


class JSONObserverTests(SynchronousTestCase):
    def test_oneObjectPerLineWithItsText(self):
        out = io.StringIO()
        log = Logger(namespace="test", observer=logformat.jsonObserver(out))
        log.info("node {id} joined from {host}:{port} ({n} live)", id=17,
                 host="127.0.0.1", port=9001, n=1)
        log.warn("two\nlines")
        lines = out.getvalue().splitlines()
        self.assertEqual(len(lines), 2)
        first = json.loads(lines[0])
        self.assertEqual(first["log_text"], "node 17 joined from 127.0.0.1:9001 (1 live)")
        self.assertEqual((first["id"], first["log_level"]["name"],
                          first["log_namespace"]), (17, "info", "test"))
        # twisted.logger reads its own form back.
        self.assertEqual(formatEvent(eventFromJSON(lines[0])),
                         "node 17 joined from 127.0.0.1:9001 (1 live)")
        self.assertEqual(json.loads(lines[1])["log_text"], "two\nlines")

    def test_nodeIdsWhole(self):
        """
        A keyed id a line shows short (L{shortId}) or that a field holds as
        an int is whole in the JSON, in a list too; the line itself keeps
        the short form; other values are as they were.
        """
        a, b = KEYED | int("9903ed08d3debadce05841a07701165c", 16), KEYED | 5
        out = io.StringIO()
        log = Logger(namespace="test", observer=logformat.jsonObserver(out))
        log.info("node {id} left; successors [{succs_text}] (port {port})", id=shortId(a),
                 succs=[a, 42, b], succs_text=", ".join(map(shortId, [a, 42, b])),
                 port=9001, pred=b, keyless=shortId(42), nobody=shortId(None))
        event = json.loads(out.getvalue())
        self.assertEqual(event["log_text"], "node 9903ed08 left; successors "
                         "[9903ed08, 42, 00000000] (port 9001)")
        self.assertEqual(event["id"], "9903ed08d3debadce05841a07701165c")
        self.assertEqual(event["succs"], [wireId(a), 42, "0" * 31 + "5"])
        self.assertEqual((event["pred"], event["keyless"], event["nobody"], event["port"]),
                         ("0" * 31 + "5", "42", "-", 9001))
        self.assertTrue(formatEvent(eventFromJSON(out.getvalue())).startswith(
            "node 9903ed08d3debadce05841a07701165c left"))

    def test_optionInstallsTheLogger(self):
        parent = parseUnder(["-n"], ["--log-format", "json"])
        self.assertEqual(parent["logger"], "twisted_bazaar.tap.logformat.jsonLogger")
        self.assertIs(namedAny(parent["logger"]), logformat.jsonLogger)
        out = io.StringIO()
        observer = logformat.jsonLogger(stdout=out)
        Logger(observer=observer).info("hello {who}", who="you")
        self.assertEqual(json.loads(out.getvalue())["log_text"], "hello you")

    def test_sigusr1OnStdoutRotatesNothing(self):
        """Logging to stdout (-n, as under systemd), SIGUSR1 has nothing to
        rotate: it is handled, so it no longer ends the daemon (its
        default action: status 138, no dc to its links)."""
        import signal

        self.addCleanup(signal.signal, signal.SIGUSR1, signal.getsignal(signal.SIGUSR1))
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)
        parseUnder(["-n"], ["--log-format", "json"])
        logformat.jsonLogger(stdout=io.StringIO())
        self.assertIs(signal.getsignal(signal.SIGUSR1), logformat._nothingToRotate)

    def test_sigusr1UnderSyslogRotatesNothing(self):
        """Under twistd's own --syslog, SIGUSR1 (which twistd handles only
        for a log file) is handled too: said, and the daemon runs on."""
        import signal

        self.addCleanup(signal.signal, signal.SIGUSR1, signal.getsignal(signal.SIGUSR1))
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)
        parseUnder(["--syslog"], [])
        self.assertIs(signal.getsignal(signal.SIGUSR1), logformat._syslogHasNoFile)

    def test_sigusr1OnTheReactorHandedIn(self):
        """SIGUSR1's handlers act on the reactor the daemon hands in
        (L{logformat.logOn}), never the global one they imported; none
        handed in, they change nothing."""
        import os
        import shutil
        import signal
        import tempfile

        class Handed:
            def __init__(self):
                self.calls = []

            def callFromThread(self, f, *args, **kwargs):
                self.calls.append(f)

        self.addCleanup(signal.signal, signal.SIGUSR1, signal.getsignal(signal.SIGUSR1))
        self.addCleanup(logformat._where.pop, "reactor", None)
        logformat._where.pop("reactor", None)
        logformat._runsOn("syslog")
        handed = Handed()
        logformat.logOn(handed)
        logformat._runsOn("syslog")
        self.assertEqual(len(handed.calls), 1)
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder, True)
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)
        parseUnder(["--logfile", os.path.join(folder, "node.log")], ["--log-format", "json"])
        logformat.jsonLogger()
        signal.getsignal(signal.SIGUSR1)(signal.SIGUSR1, None)
        self.assertEqual([f.__name__ for f in handed.calls[1:]], ["rotateOrReopen"])

    def test_logfile(self):
        import os
        import shutil
        import tempfile

        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder, True)
        path = os.path.join(folder, "node.log")
        parseUnder(["--logfile", path], ["--log-format", "json"])
        observer = logformat.jsonLogger()
        Logger(observer=observer).info("in the file")
        with open(path) as f:
            self.assertEqual(json.loads(f.read())["log_text"], "in the file")

    def test_textWithShortNames(self):
        """The text log names each line's source short: the class of this
        package without its path; Twisted's own as they are."""
        parent = parseUnder(["-n"], ["--log-format", "text"])
        self.assertIs(namedAny(parent["logger"]), logformat.textLogger)
        out = io.StringIO()
        observer = logformat.textLogger(stdout=out)
        Logger(namespace="twisted_bazaar.schemes.superpeer.superpeer.SuperPeerSide",
               observer=observer).info("leaf {n} registered", n=7)
        Logger(namespace="twisted_bazaar.tap.node", observer=observer).info("hello")
        Logger(namespace="twisted.internet.base", observer=observer).info("tick")
        lines = [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]
        self.assertEqual(lines, ["[SuperPeerSide#info] leaf 7 registered",
                                 "[node#info] hello",
                                 "[twisted.internet.base#info] tick"])

    def test_textShowsNoControlCharacter(self):
        """
        Whatever a line's fields hold, the text log shows it escaped: a
        field's newline or carriage return starts no line, an escape
        sequence commands no terminal; a line's own continuation (a
        traceback) stays on lines of its own, after a tab, as twistd
        writes it.
        """
        out = io.StringIO()
        log = Logger(namespace="test", observer=logformat.textObserver(out))
        log.info("{peer} says {info}", peer="10.0.0.1:1",
                 info="\x1b]52;c;aGk=\x07\r2026-11-24T00:00:00+0000 [Tracker#info] x\n\u202e")
        log.info("{thing}", thing=Shown("\x1b[2J"))
        try:
            raise ValueError("bad\nthing\x1b[2J")
        except ValueError:
            log.failure("failed")
        text = out.getvalue()
        lines = text.splitlines()
        self.assertTrue(lines[0].endswith(
            "[test#info] 10.0.0.1:1 says \\x1b]52;c;aGk=\\x07\\r2026-11-24T00:00:00+0000 "
            "[Tracker#info] x\\n\\u202e"), lines[0])
        self.assertTrue(lines[1].endswith("[test#info] \\x1b[2J"), lines[1])
        self.assertTrue(all(line.startswith("\t") for line in lines[3:]), lines)
        self.assertIn("ValueError: bad\n\tthing\\x1b[2J", text)

    def test_textOfNothing(self):
        """An event without text writes nothing, as twistd's observer."""
        out = io.StringIO()
        observer = logformat.textObserver(out)
        observer({"log_format": "", "log_time": 0.0, "log_namespace": "test"})
        observer({"log_time": 0.0, "log_namespace": "test"})
        self.assertEqual(out.getvalue(), "")

    def test_jsonTextShown(self):
        """The JSON log's fields are as they were (JSON escapes them); its
        log_text is shown as the text log shows it; DEL, which JSON
        leaves, is escaped too."""
        out = io.StringIO()
        log = Logger(namespace="test", observer=logformat.jsonObserver(out))
        log.info("{peer} says {info}", peer="p", info="\x1b[2J\r\x7f")
        line = out.getvalue()
        self.assertTrue(line[:-1].isprintable() and line.isascii(), line)
        event = json.loads(line)
        self.assertEqual((event["info"], event["log_text"]),
                         ("\x1b[2J\r\x7f", "p says \\x1b[2J\\r\\x7f"))

    def test_textIsTwistdsOwnUnderItsLogger(self):
        """With twistd's own --logger or --syslog, the text log is left to
        twistd."""
        for twistd in (["-n", "--logger", "x.y"], ["-n", "--syslog"]):
            parent = parseUnder(twistd, ["--log-format", "text"])
            self.assertEqual(parent["logger"], twistd[2] if len(twistd) > 2 else None)

    def test_badFormat(self):
        error = self.assertRaises(usage.UsageError, TrackerOptions().parseOptions,
                                  ["--log-format", "xml"])
        self.assertIn("wants text or json, not 'xml'", str(error))

    def test_notWithTwistdsLogger(self):
        error = self.assertRaises(SystemExit, parseUnder, ["--logger", "x.y"],
                                  ["--role", "seller", "--sell", "a=1", "--log-format",
                                   "json"], NodeOptions)
        self.assertEqual(error.code, 2)


class LevelTests(SynchronousTestCase):
    """Debug lines are left out unless --verbose."""

    def lines(self, verbose):
        args = ["--log-format", "text"] + (["--verbose"] if verbose else [])
        parseUnder(["-n"], args)
        out = io.StringIO()
        log = Logger(namespace="twisted_bazaar.net.link.Link",
                     observer=namedAny("twisted_bazaar.tap.logformat.textLogger")(out))
        log.debug("closing link to node 7: peer said dc")
        log.info("link to node 7 closed")
        return [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]

    def test_quiet(self):
        self.assertEqual(self.lines(False), ["[Link#info] link to node 7 closed"])

    def test_verbose(self):
        self.assertEqual(self.lines(True), [
            "[Link#debug] closing link to node 7: peer said dc",
            "[Link#info] link to node 7 closed"])


class QuietPortsTests(SynchronousTestCase):
    """Twisted's lines of a port starting or closing are left out unless
    --verbose, whatever the factory (each QUIC socket's: a punch over UDP
    opens 255; the others repeated the daemon's own line at every start
    and stop, issue 96; a plugin's port is the daemon's too, and no list
    of factories names a transport outside its package, issue 92); any
    other line of the legacy log is written; a UNIX port's lines too (the
    node's control socket, issue 96), and a prefix of words (the port
    mapper's socket), and a TLS port's as it closes (an ``ssl:`` --listen,
    --web or --metrics: ``(TLS Port 8120 Closed)`` was logged at each
    stop, issue 96)."""

    #: Twisted's lines of a UNIX port, as twisted.internet.unix.Port
    #: writes them: the path quoted as it starts, bare as it closes.
    UNIX = ("%s starting on %r" % ("ControlFactory", "/var/lib/node/control.sock"),
            "(UNIX Port %s Closed)" % ("/var/lib/node/control.sock",))

    def lines(self, verbose):
        args = ["--log-format", "text"] + (["--verbose"] if verbose else [])
        parseUnder(["-n"], args)
        out = io.StringIO()
        publisher = LogPublisher(namedAny("twisted_bazaar.tap.logformat.textLogger")(out))
        legacyLog = legacy.LogPublisher(publisher, publisher)
        for line in ("QuicEndpoint starting on 44412", "(UDP Port 44412 Closed)",
                     "OverlayFactory starting on 7000", "QuicEndpoint starting on many",
                     "TrackerFactory starting on 7700", "RelayFactory starting on 7701",
                     "TransferFactory starting on 7702", "TrackerDatagrams starting on 7700",
                     "QuietSite starting on 8080", "StreamServerFactory starting on 443",
                     "(TCP Port 7700 Closed)", "SomePluginFactory starting on 9000",
                     *self.UNIX, "ControlFactory starting on the moon",
                     "port mapping starting on 45419",
                     "TrackerFactory (TLS) starting on 7700", "(TLS Port 7700 Closed)"):
            legacyLog.msg(line)
        return [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]

    def test_quiet(self):
        self.assertEqual(self.lines(False), ["[-] QuicEndpoint starting on many",
                                             "[-] ControlFactory starting on the moon"])

    def test_verbose(self):
        self.assertEqual(len(self.lines(True)), 18)
        self.assertEqual(self.lines(True)[12:14], [f"[-] {line}" for line in self.UNIX])


class NoHostTracebackTests(SynchronousTestCase):
    """Twisted's own traceback for a tracker's certificate that names no
    host is left out, verbose or not: the node's one line says it (issue
    96: the traceback came above it at each try); another failure it logs
    is kept."""

    def lines(self, verbose):
        from service_identity.exceptions import CertificateError

        from tests.net.test_encrypted import noHostError, sslverifyEvents

        args = ["--log-format", "text"] + (["--verbose"] if verbose else [])
        parseUnder(["-n"], args)
        out = io.StringIO()
        observer = namedAny("twisted_bazaar.tap.logformat.textLogger")(out)
        for event in sslverifyEvents(noHostError(), CertificateError("other")):
            observer(event)
        return out.getvalue()

    def test_leftOut(self):
        for verbose in (False, True):
            text = self.lines(verbose)
            self.assertNotIn("subjectAltName", text)
            self.assertIn("CertificateError: other", text)
            self.assertEqual(text.count("while verifying certificate"), 1)


class RotateOrReopenTests(SynchronousTestCase):
    """SIGUSR1 (L{logformat.ReopeningLogFile.rotateOrReopen}): the daemon's
    own rotation, or a new log file once another program (logrotate)
    moved it away."""

    def setUp(self):
        import os
        import tempfile

        folder = tempfile.mkdtemp(prefix="bazaar-logs-")
        self.addCleanup(__import__("shutil").rmtree, folder, True)
        self.path = os.path.join(folder, "tracker.log")
        self.log = logformat.ReopeningLogFile.fromFullPath(self.path)
        self.addCleanup(self.log.close)

    def read(self, path):
        with open(path) as f:
            return f.read()

    def test_rotatedAsTwistdDoes(self):
        self.log.write("first\n")
        self.log.rotateOrReopen()
        self.log.write("second\n")
        self.log.flush()
        self.assertEqual((self.read(self.path + ".1"), self.read(self.path)),
                         ("first\n", "second\n"))

    def test_aFileMovedAwayIsOpenedAnew(self):
        """logrotate renames the log, then sends SIGUSR1: the lines after
        it go to a new file at the path, not on into the moved one (which
        logrotate compresses or removes); nothing of logrotate's is
        renamed."""
        import os

        self.log.write("first\n")
        self.log.flush()
        os.rename(self.path, self.path + ".1")
        self.log.rotateOrReopen()
        self.log.write("second\n")
        self.log.flush()
        self.assertEqual((self.read(self.path + ".1"), self.read(self.path)),
                         ("first\n", "second\n"))
        self.assertFalse(os.path.exists(self.path + ".2"))

    def test_aFileMovedAndMadeAgainIsOpenedAnew(self):
        """logrotate's `create`: a new empty file at the path already;
        written to, not rotated over logrotate's own FILE.1."""
        import os

        self.log.write("first\n")
        self.log.flush()
        os.rename(self.path, self.path + ".1")
        open(self.path, "w").close()
        self.log.rotateOrReopen()
        self.log.write("second\n")
        self.log.flush()
        self.assertEqual((self.read(self.path + ".1"), self.read(self.path)),
                         ("first\n", "second\n"))
        self.assertFalse(os.path.exists(self.path + ".2"))

    def emptiedAfter(self, first):
        """The log file after ``first``, then logrotate's `copytruncate`
        (a copy, then the file emptied in place), then ``second``."""
        import os

        self.log.write(first)
        self.log.flush()
        os.truncate(self.path, 0)
        self.log.write("second\n")
        self.log.flush()
        return self.read(self.path)

    def test_emptiedUnderItWritesFromTheStart(self):
        """The line after `copytruncate` is the file's first, with no hole
        of NUL bytes before it (where the old length was), so jq and a
        text reader read it."""
        self.assertEqual(self.emptiedAfter("first\n"), "second\n")

    def test_emptiedUnderItIsNotRotatedAtOnce(self):
        """Past its rotate length when emptied, it is rotated by the size
        it has: the next line goes on into the emptied file, which is not
        renamed over logrotate's copy."""
        import os

        self.log.rotateLength = 10
        self.assertEqual(self.emptiedAfter("a line of more than ten bytes\n"), "second\n")
        self.assertFalse(os.path.exists(self.path + ".1"))

    def test_aLineWholeOrNotAtAllOnAFullDisk(self):
        """A full disk writes part of a line, then refuses the rest: the
        part is taken back, so once there is room again the next line
        starts a line of its own (it went on after the fragment, one line
        that was no JSON, and jq stopped there)."""
        import errno
        import os

        real = self.log._file

        class Full:
            """The log file on a disk with ``room`` bytes left."""
            room = 8

            def write(self, data):
                if not self.room:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                written = real.write(data[:self.room])
                self.room -= written
                return written

            def __getattr__(self, name):
                return getattr(real, name)

        self.log.write("first\n")
        self.log._file = full = Full()
        self.assertRaises(OSError, self.log.write, '{"a line": "too long for the room"}\n')
        full.room = 1000
        self.log.write("third\n")
        self.log._file = real
        self.log.flush()
        self.assertEqual(self.read(self.path), "first\nthird\n")
        self.assertEqual(self.log.size, len("first\nthird\n"))
