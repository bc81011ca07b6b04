"""
Every command line of README.md, docs/running.md and docs/quickstart.md,
run as written on
this machine, and checked against what the doc says it shows: a doc line
that stops being true fails here.  A block the same as one before it,
word for word and with the same marker, is run once.

A command line is a line of a fenced block without a language that starts
with ``$ `` or a command (``twistd``, ``bazaar``, ``make``...); a line of
output (``twistd bazaar-node: error: ...``) is none.  Each block that
holds one carries a marker, an HTML comment just before it, that says how
it is run, or why it is not (it needs several machines, a certificate, or
it is this very suite), so no command is skipped silently::

    <!-- doc-test: run terminals; expect: PHRASE | PHRASE -->
    <!-- doc-test: run session shop -->
    <!-- doc-test: run commands; not run: make test (it is this suite) -->
    <!-- doc-test: not run: REASON -->

- ``terminals``: each line is a terminal of its own: the daemons start in
  order, each once the one before is up (``mkdir`` and ``cp`` lines run
  in the folder first); then each PHRASE must be logged by one of them.
  Each PHRASE must also be quoted word for word in the text after the
  block, so the prose and the test cannot drift apart.
- ``session MARKET``: with a market running (``shop``: a tracker, a seller
  of apple=3 pear=1 and a buyer that bought an apple), each ``$``
  command runs to its end; the output the doc shows after it must be
  what it prints (stderr, with status 1, where it shows a ``bazaar:
  error:`` line).
  ``session above``: the same, with the daemons of the terminals block
  above it in the doc running, started and waited for as that block's
  own test does.
- ``commands``: each line runs to its end with status 0, its output
  compared as for a session when the doc shows one.
- ``log``: a daemon started as written; the lines the doc shows are
  looked for in its log.

The doc's lines are changed only as follows, so that the test runs on a
busy machine and beside a market already on port 7700:

- the tracker listens on ``tcp:0`` (all interfaces, a free port), not
  7700: every node gets ``--tracker tcp:127.0.0.1:PORT`` and every
  ``bazaar`` command ``--tracker 127.0.0.1:PORT`` with its real port;
- a fixed port (``--listen tcp:7801``, ``--web tcp:8080``) becomes a free
  port, and ``127.0.0.1:7801`` elsewhere in the block (in a phrase it
  expects too) the same one;
- a node address in a ``bazaar`` command (``127.0.0.1:45951``) is the
  address of the market's seller;
- a block that starts nodes without a tracker of its own (it goes on
  from one started earlier in the doc) gets one, started first;
- ``~/song.ogg`` is a file of random bytes the test makes;
- ``make demo`` runs what the Makefile runs once ``.venv`` exists,
  ``python -m twisted_bazaar.cli.demo``, with this Python;
- ``| jq -r .log_text`` is done by the test: each line's ``log_text``.

In what the doc shows, a number of 5 digits or more, or with a decimal
point (an id, a port, a time), a node id (32 hex digits, or its short
form of 8), 7700 (the tracker's port), ``<...>``, a word of capitals (N, S, HOST), ``…`` and ``...`` stand for any value; a
smaller number must be as shown, but ``N searches`` stands for any count
(and its noun singular or plural); a line ``…`` stands for any lines.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import freePort, runCommand
from twisted_bazaar.testing.daemons import Daemon, DaemonError, nodeId, waitForAny
from twisted_bazaar.roles.files.watch import DESCRIBING, FAILED, FETCHING, STALLED_STATE

ROOT = Path(__file__).resolve().parents[2]
DOCS = ("README.md", "docs/running.md", "docs/quickstart.md")
#: Seconds a daemon may take to be up, a phrase to be logged, or a
#: command to end.
TIMEOUT = 30.0

COMMAND = re.compile(r"^(\$ |(twistd|bazaar|bazaar-ledger|bazaar-sim|make|pip|mkdir|"
                     r"cp|\.venv/bin/\S+)(\s|$))")
#: Lines that start as a command does but are a command's output: a
#: daemon's error, twistd's own first log line.
OUTPUT = re.compile(r"^twistd ([\w-]+: error:|.* starting up\.$)")
MARKER = re.compile(r"<!--\s*doc-test:\s*(.*?)\s*-->", re.S)
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)
TRACKER_LISTENING = r"tracker listening on [^\s:]+:(\d+)"
#: bazaar buy's plain progress line, printed every 5 s when stdout is no
#: terminal (running.md, "Buying a file"), in whatever state the download
#: is (a slow machine shows one still describing): as many as the buy
#: takes 5 s, none on a quick machine, so a session's output is read
#: without them unless it shows one.
PROGRESS_LINE = re.compile(
    r"^\S+: \S+ \S*B of \S+ \S*B \(\d+%\), .*, "
    rf"({'|'.join((DESCRIBING, FETCHING, STALLED_STATE, FAILED))})(: .*)?$")


class Block:
    """A fenced block of a doc: where it is, its lines, its marker, and
    the prose after it."""

    def __init__(self, doc, text, match):
        self.doc = doc
        self.line = text.count("\n", 0, match.start()) + 1
        self.language = match[1]
        self.lines = match[2].splitlines()
        before = text[:match.start()].rstrip()
        marker = MARKER.search(before[before.rfind("<!--"):]) if before.endswith(
            "-->") else None
        self.marker = " ".join(marker[1].split()) if marker else None
        rest = text[match.end():]
        self.after = rest[:min([len(rest)] + [m.start() for m in
                                             re.finditer(r"^(```|#)", rest, re.M)])]

    def __repr__(self):
        return f"{self.doc} line {self.line}"

    def commands(self):
        if self.language not in ("", "sh", "console"):
            return []
        return [line for line in self.lines if COMMAND.match(line)
                and not OUTPUT.match(line)]

    def plan(self):
        """(kind, argument, expected phrases, {line prefix: why not run})."""
        kind = argument = None
        expect, skipped = [], {}
        parts = re.split(r";\s*(?=run |expect:|not run:)", self.marker or "")
        for part in (p.strip() for p in parts):
            if part.startswith("run "):
                kind, _, argument = part[4:].partition(" ")
            elif part.startswith("expect:"):
                expect = [p.strip() for p in part[7:].split("|")]
            elif part.startswith("not run:"):
                what = part[8:].strip()
                prefix, _, why = what.partition(" (")
                skipped[prefix if why else ""] = why.rstrip(")") or what
        return kind, argument, expect, skipped


def blocks():
    found = []
    for doc in DOCS:
        text = (ROOT / doc).read_text(encoding="utf-8")
        found += [Block(doc, text, match) for match in FENCE.finditer(text)]
    return found


def _stem(word):
    for ending in ("ches", "shes", "sses", "xes"):
        if word.endswith(ending):
            return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


#: A node id as the docs show it: whole (32 hex digits) or short (8, with
#: a letter and a digit among them, so that no word or number is taken).
HEX_ID = r"\b[0-9a-f]{32}\b|\b(?=[0-9a-f]{0,7}[a-f])(?=[0-9a-f]{0,7}\d)[0-9a-f]{8}\b"


def pattern(shown):
    """A regex for a line or phrase as the doc shows it (see the module's
    docstring for what stands for any value)."""
    tokens = re.split(r"(<[^>]+>|…|\.\.\.|\bN [a-z]{3,}\b|\b\d+\.\d+\b|\b\d{5,}\b|"
                      r"\b7700\b|\b[A-Z]\d?\b|\b[A-Z]{2,}\b|" + HEX_ID + ")", shown)
    out = []
    for token in tokens:
        if not token:
            continue
        if token in ("…", "..."):
            out.append(".*")
        elif token.startswith("<") and token.endswith(">"):
            out.append(r"\S+")
        elif token.startswith("N "):
            out.append(rf"\d+ {re.escape(_stem(token[2:]))}(?:es|s)?")
        elif re.fullmatch(HEX_ID, token):
            out.append(r"[0-9a-f]+")
        elif re.fullmatch(r"\d+\.\d+|\d{5,}|7700", token):
            out.append(r"\d+(?:\.\d+)?")
        elif re.fullmatch(r"[A-Z]\d?|[A-Z]{2,}", token):
            out.append(r"[^\s:]+")
        else:
            # Columns are aligned with spaces, which vary with the width of
            # the values: a run of them, or one before a value, is any run.
            out.append(re.sub(r"(?:\\ ){2,}|\\ $", lambda _: r"\ +", re.escape(token)))
    return "".join(out)


def matchLines(shown, actual):
    """Do the actual lines match the shown ones (a shown ``…`` line
    standing for any lines)?"""
    regex = "".join(r"(?:.*\n)*?" if line.strip() == "…" else pattern(line) + r"\n"
                    for line in shown)
    return re.fullmatch(regex, "".join(line + "\n" for line in actual)) is not None


def scripts():
    """Where this Python's console scripts are."""
    return Path(sys.executable).parent


class Run:
    """One block's run: a scratch folder, the daemons it started, and the
    doc's lines as they are run here."""

    def __init__(self, case):
        self.case = case
        self.folder = tempfile.mkdtemp(prefix="bazaar-docs-")
        case.addCleanup(shutil.rmtree, self.folder, True)
        self.daemons = []
        case.addCleanup(self.stop)
        self.tracker_port = None
        self.ports = {}
        self.seller = None

    def stop(self):
        nodes = [d for d in self.daemons if d.args[0] != "bazaar-tracker"]
        for wave in (nodes, [d for d in self.daemons if d not in nodes]):
            for daemon in wave:
                daemon.terminate()
            for daemon in wave:
                daemon.finish()

    def rewrite(self, line):
        """The doc's line as it is run here (see the module's docstring)."""
        line = line.split("  #")[0].strip()
        for fixed in re.findall(r"--(?:listen|web) tcp:(\d+)", line):
            self.ports.setdefault(fixed, str(freePort()))
        for fixed, real in self.ports.items():
            line = re.sub(rf"\b(tcp:|127\.0\.0\.1:){fixed}\b", rf"\g<1>{real}", line)
        line = line.replace("~/song.ogg", self.song())
        return line

    def song(self):
        """A song.ogg of random bytes, outside the folder the doc works in."""
        folder = os.path.join(self.folder, "home")
        path = os.path.join(folder, "song.ogg")
        if not os.path.exists(path):
            os.mkdir(folder)
            with open(path, "wb") as f:
                f.write(os.urandom(300_000))
        return path

    def start(self, line):
        """Start a ``twistd -n`` line as a daemon and wait until it is up."""
        words = line.split()
        self.case.assertEqual(words[:2], ["twistd", "-n"], line)
        args = words[2:]
        if args[0] == "bazaar-tracker":
            daemon = Daemon("tracker", args + ["--listen", "tcp:0"], self.folder)
            self.daemons.append(daemon)
            self.tracker_port = int(daemon.waitFor(TRACKER_LISTENING, TIMEOUT)[1])
            return daemon
        if self.tracker_port is None:
            self.start("twistd -n bazaar-tracker")
        daemon = Daemon(f"node {len(self.daemons)}", args + [
            "--tracker", f"tcp:127.0.0.1:{self.tracker_port}"], self.folder)
        self.daemons.append(daemon)
        nodeId(daemon, TIMEOUT)
        return daemon

    def shell(self, line):
        """A ``mkdir`` or ``cp`` line, run in the folder."""
        result = subprocess.run(line, shell=True, cwd=self.folder, capture_output=True,
                                text=True, timeout=TIMEOUT)
        self.case.assertEqual(result.returncode, 0, f"{line}: {result.stderr}")

    def command(self, line):
        """Run a line to its end; (status, stdout lines, stderr lines)."""
        words = line.split()
        if words[:2] == ["make", "demo"]:
            words = [sys.executable, "-m", "twisted_bazaar.cli.demo"]
        elif words[0].startswith("bazaar"):
            words = [str(scripts() / words[0]), *[
                self.seller if re.fullmatch(r"127\.0\.0\.1:\d+", word)
                and self.seller is not None else word for word in words[1:]]]
            if words[0].endswith("/bazaar") and self.tracker_port is not None:
                words[1:1] = ["--tracker", f"127.0.0.1:{self.tracker_port}"]
        elif words[0] == "twistd":
            words[0] = str(scripts() / "twistd")
        result = runCommand(words, cwd=self.folder, capture_output=True, text=True,
                            timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        return result.returncode, result.stdout.splitlines(), result.stderr.splitlines()

    def shop(self):
        """A tracker, a seller of apple=3 pear=1, and a buyer that has
        bought an apple."""
        self.start("twistd -n bazaar-tracker")
        seller = self.start("twistd -n bazaar-node --role seller --sell apple=3 "
                            "--sell pear=1")
        port = seller.waitFor(r"node listening on [^:]+:(\d+)", TIMEOUT)[1]
        self.seller = f"127.0.0.1:{port}"
        buyer = self.start("twistd -n bazaar-node --role buyer --want apple")
        buyer.waitFor(r"all wants met", TIMEOUT)


def sessions(lines):
    """(command, the output the doc shows after it) for each command."""
    steps = []
    for line in lines:
        if COMMAND.match(line) and not OUTPUT.match(line):
            steps.append((line[2:] if line.startswith("$ ") else line, []))
        elif steps:
            steps[-1][1].append(line)
    return steps


class DocCommandTests(SynchronousTestCase):
    """Each command block of the docs, as its marker says."""

    def test_everyCommandBlockIsMarked(self):
        """No command line is skipped silently: each block that holds one
        says how it is run, or why not."""
        unmarked = [block for block in blocks() if block.commands() and not block.marker]
        self.assertEqual(unmarked, [])
        for block in blocks():
            if block.marker:
                kind, _, _, skipped = block.plan()
                self.assertTrue(kind or "" in skipped, f"{block}: {block.marker}")

    def test_phrasesAreQuotedInTheProse(self):
        """What a terminals block expects is what the prose after it says."""
        for block in blocks():
            for phrase in block.plan()[2]:
                self.assertIn(f"`{phrase}`", " ".join(block.after.split()),
                              f"{block}: the prose does not say `{phrase}`")

    def runBlock(self, block):
        kind, argument, expect, skipped = block.plan()
        run = Run(self)
        lines = [line for line in block.commands()
                 if not any(prefix and line.startswith(prefix) for prefix in skipped)]
        if kind == "terminals":
            self.runTerminals(run, block, lines, expect)
        elif kind == "log":
            [(line, shown)] = sessions(block.lines)
            command, _, through = line.partition(" | ")
            daemon = run.start(run.rewrite(command))
            for wanted in shown:
                if through.startswith("jq -r .log_text"):
                    daemon.waitFor(r'"log_text": "' + pattern(wanted) + '"', TIMEOUT)
                else:
                    daemon.waitFor(pattern(wanted), TIMEOUT)
        elif kind in ("session", "commands"):
            if argument == "shop":
                run.shop()
            elif argument == "above":
                above = terminalsAbove(block)
                self.assertIsNotNone(above, f"{block}: no terminals block above it")
                _, _, expected, left = above.plan()
                self.runTerminals(run, above, [
                    line for line in above.commands()
                    if not any(prefix and line.startswith(prefix) for prefix in left)],
                    expected)
            for line, shown in sessions(block.lines):
                if any(prefix and line.startswith(prefix) for prefix in skipped):
                    continue
                status, out, err = run.command(run.rewrite(line))
                failing = any(text.startswith("bazaar: error:") for text in shown)
                self.assertEqual(status, 1 if failing else 0,
                                 f"{block}: {line}\n" + "\n".join(out + err))
                if not any(PROGRESS_LINE.match(text) for text in shown):
                    out = [text for text in out if not PROGRESS_LINE.match(text)]
                if shown:
                    self.assertTrue(matchLines(shown, err if failing else out),
                                    f"{block}: {line} printed\n" + "\n".join(
                                        out + err) + "\nnot\n" + "\n".join(shown))
        else:
            self.fail(f"{block}: unknown kind {kind!r}")

    def runTerminals(self, run, block, lines, expect):
        """Start a terminals block's daemons in order, then wait for each
        phrase it expects."""
        for line in lines:
            line = run.rewrite(line)
            if line.startswith(("mkdir", "cp")):
                run.shell(line)
            else:
                run.start(line)
        for phrase in expect:
            try:
                waitForAny(run.daemons, pattern(run.rewrite(phrase)), TIMEOUT,
                           f"`{phrase}`")
            except DaemonError as e:
                self.fail(f"{block}: {e}")


def terminalsAbove(block):
    """The nearest terminals block above a block in its doc, or None."""
    found = [each for each in blocks() if each.doc == block.doc
             and each.line < block.line and each.marker
             and each.plan()[0] == "terminals"]
    return found[-1] if found else None


def _addBlockTests():
    """One test per block that is run, named after its doc and line; a
    block the same as one before it is run once."""
    seen = set()
    for block in blocks():
        kind = block.plan()[0] if block.marker else None
        if kind is None or (block.marker, tuple(block.lines)) in seen:
            continue
        seen.add((block.marker, tuple(block.lines)))
        name = (f"test_{block.doc.replace('/', '_').replace('.', '_')}"
                f"_line{block.line}_{kind}")
        setattr(DocCommandTests, name,
                lambda self, block=block: self.runBlock(block))


_addBlockTests()
