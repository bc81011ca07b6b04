"""
Tests for the waits of L{twisted_bazaar.testing.daemons}, on fake
processes whose output the test writes: a wait blocks until a line comes
(it never sleeps), sees lines old and new, and fails with the daemons'
last lines on timeout or once their output has ended; and for its
commands run to their end (runCommand, runTwistd).
"""

import io
import queue
import re
import subprocess
import time

from twisted.logger import Logger
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.tap import logformat
from twisted_bazaar.testing import daemons
from twisted_bazaar.testing.daemons import (
    JSON,
    LISTENING_EVENT,
    NODE_READY_EVENT,
    Daemon,
    DaemonError,
    waitForAny,
    waitUntil,
)

#: Seconds a wait that must succeed may take: it only bounds a bug.
GENEROUS = 30.0


class FakeProcess:
    """A child process whose output the test writes, line by line; its
    reader thread blocks until a line is written."""

    def __init__(self, args, **kwargs):
        self.args = args
        self.returncode = None
        self._output = queue.Queue()
        self.stdout = iter(self._output.get, None)

    def say(self, line):
        self._output.put(line + "\n")

    def exit(self, code):
        if self.returncode is None:
            self.returncode = code
            self._output.put(None)

    def poll(self):
        return self.returncode

    def wait(self, timeout=None):
        return self.returncode


class Late(Daemon):
    """A daemon that says its line C{late} only once a wait watches it."""

    late = None

    def _watch(self, news):
        super()._watch(news)
        if self.late is not None:
            self.process.say(self.late)
            self.late = None


def noSleep(seconds):
    raise AssertionError(f"slept {seconds} s")


class WaitTests(SynchronousTestCase):

    def setUp(self):
        # A wait blocks on the reader's news; it never sleeps.
        self.patch(time, "sleep", noSleep)

    def daemon(self, name="node", kind=Daemon):
        """A Daemon on a fake process; its reader thread ends with the test."""
        daemon = kind(name, ["bazaar-node"], ".", spawn=FakeProcess)
        self.addCleanup(daemon._reader.join, GENEROUS)
        self.addCleanup(daemon.process.exit, 0)
        return daemon

    def saidOnce(self, daemon, line):
        """A condition, false when first asked, that makes the daemon say
        line then: a wait that is true afterwards woke on a new line."""
        asked = []

        def condition():
            if not asked:
                asked.append(True)
                daemon.process.say(line)
                return None
            return daemon.matches(r"ready")
        return condition

    def assertUnwatched(self, *watched):
        for daemon in watched:
            self.assertEqual(daemon._waiters, set())

    def test_waitForAnOldLine(self):
        node = self.daemon()
        node.process.say("node listening on 127.0.0.1:7801")
        node.process.say("node a ready, listening on port 7801 (id 0a)")
        match = node.waitFor(r"listening on port (\d+)", GENEROUS)
        self.assertEqual(match[1], "7801")
        self.assertUnwatched(node)

    def test_waitForANewLine(self):
        """A line that comes while the wait blocks wakes it."""
        node = self.daemon()
        [match] = waitUntil([node], self.saidOnce(node, "ready"), GENEROUS)
        self.assertEqual(match.string, "ready")
        self.assertEqual(node.waitFor(r"^ready$", GENEROUS).string, "ready")
        self.assertUnwatched(node)

    def test_waitForTimesOut(self):
        node = self.daemon()
        node.process.say("starting")
        node.waitFor(r"starting", GENEROUS)
        with self.assertRaises(DaemonError) as caught:
            node.waitFor(r"ready", 0, what="'ready'")
        self.assertEqual(str(caught.exception), "node did not log 'ready' within 0 s; "
                                                "its last lines:\n    starting")
        self.assertUnwatched(node)

    def test_waitForEndsWithTheOutput(self):
        """A daemon whose output ends without the line fails the wait at
        once, not after the timeout, with its exit code."""
        node = self.daemon()
        node.process.say("Traceback (most recent call last):")
        node.process.exit(1)
        with self.assertRaises(DaemonError) as caught:
            node.waitFor(r"ready", GENEROUS)
        self.assertEqual(str(caught.exception),
                         "node exited with code 1 before logging 'ready'; its last "
                         "lines:\n    Traceback (most recent call last):")
        self.assertTrue(node.ended)

    def test_waitUntilAConditionOverTheLastLine(self):
        """A condition may read the whole log: here, the last predecessor
        said, which an old line no longer gives."""
        node = self.daemon()

        def predecessor():
            said = node.matches(r"predecessor (\w+)")
            return said and said[-1][1] == "b"

        for name in ("b", "c"):
            node.process.say(f"predecessor {name}")
        node.waitFor(r"predecessor c", GENEROUS)
        with self.assertRaises(DaemonError):
            waitUntil([node], predecessor, 0, "predecessor b")
        node.process.say("predecessor b")
        self.assertTrue(waitUntil([node], predecessor, GENEROUS, "predecessor b"))

    def test_waitForAnyOfSeveral(self):
        """The daemon that logs the line is named; one whose output ended
        does not end the wait while another runs."""
        first, second = self.daemon("a"), self.daemon("b")
        third = self.daemon("c", Late)
        third.late = "ready"
        first.process.exit(0)
        waitUntil([first], lambda: first.ended, GENEROUS)
        daemon, match = waitForAny([first, second, third], r"ready", GENEROUS)
        self.assertEqual((daemon, match.string), (third, "ready"))
        second.process.say("ready at last")
        self.assertIs(waitForAny([first, second, third], r"ready at", GENEROUS)[0],
                      second)
        self.assertIs(waitForAny([third, second], r"ready", GENEROUS)[0], third)
        self.assertUnwatched(first, second, third)

    def test_waitForAnyTimesOut(self):
        first, second = self.daemon("a"), self.daemon("b")
        first.process.say("starting")
        first.waitFor(r"starting", GENEROUS)
        with self.assertRaises(DaemonError) as caught:
            waitForAny([first, second], r"ready", 0, what="'ready'")
        self.assertEqual(str(caught.exception),
                         "no daemon logged 'ready' within 0 s; their last lines:\n"
                         "  a:\n    starting\n  b:\n    (no output)")
        self.assertUnwatched(first, second)

    def test_waitForAnyEndsWithEveryOutput(self):
        first, second = self.daemon("a"), self.daemon("b")
        first.process.exit(0)
        second.process.exit(3)
        with self.assertRaises(DaemonError) as caught:
            waitForAny([first, second], r"ready", GENEROUS, what="'ready'")
        self.assertTrue(str(caught.exception).startswith(
            "every daemon exited before one logged 'ready'; their last lines:\n  a:\n"),
            caught.exception)

    def test_noDaemonNeverWaits(self):
        with self.assertRaises(DaemonError):
            waitUntil([], lambda: False, GENEROUS)
        self.assertEqual(waitUntil([], lambda: 7, GENEROUS), 7)


def jsonLine(observe, text, **fields):
    """The line ``--log-format json`` writes for a log call, through
    observe (L{twisted_bazaar.tap.logformat}'s JSON and text observers)."""
    out = io.StringIO()
    log = Logger(namespace="twisted_bazaar.core.node.Node",
                 observer=observe(out))
    log.info(text, **fields)
    return out.getvalue()


class JsonLogTests(WaitTests):
    """A daemon that logs JSON: its events waited on by format and fields,
    and its lines as the text format shows them."""

    def daemon(self, name="node", kind=Daemon):
        daemon = kind(name, ["bazaar-node", "--listen", "tcp:0"], ".", spawn=FakeProcess,
                      logFormat=JSON)
        self.addCleanup(daemon._reader.join, GENEROUS)
        self.addCleanup(daemon.process.exit, 0)
        return daemon

    def say(self, daemon, text, **fields):
        daemon.process.say(jsonLine(logformat.jsonObserver, text, **fields).rstrip("\n"))

    def test_theFlagGoesAfterTheCommand(self):
        self.assertEqual(self.daemon().args, ["bazaar-node", "--log-format", "json",
                                              "--listen", "tcp:0"])
        told = Daemon("t", ["bazaar-tracker", "--log-format", "text"], ".",
                      spawn=FakeProcess, logFormat=JSON)
        told.process.exit(0)
        self.assertEqual(told.args, ["bazaar-tracker", "--log-format", "text"])

    def test_waitForAnEventByFormatAndFields(self):
        node = self.daemon()
        ident = "0f" * 16
        self.say(node, NODE_READY_EVENT, short="0f0f0f0f", port=7801, id=ident)
        self.say(node, LISTENING_EVENT, what="web view", where="127.0.0.1:8080",
                 host="127.0.0.1", port=8080)
        self.say(node, LISTENING_EVENT, what="node", where="127.0.0.1:7801",
                 host="127.0.0.1", port=7801)
        event = node.waitForEvent(LISTENING_EVENT, GENEROUS, what="node")
        self.assertEqual((event["port"], event["log_text"]),
                         (7801, "node listening on 127.0.0.1:7801"))
        self.assertEqual(node.waitForEvent("node {short} ready", GENEROUS)["id"], ident)
        self.assertEqual(node.waitForEvent(LISTENING_EVENT, GENEROUS,
                                           port=lambda port: port > 8000)["what"],
                         "web view")
        self.assertEqual(len(node.eventsMatching(LISTENING_EVENT)), 2)
        with self.assertRaises(DaemonError) as caught:
            node.waitForEvent(LISTENING_EVENT, 0, what="tracker")
        self.assertIn("did not log '{what} listening on {where}', what='tracker' "
                      "within 0 s", str(caught.exception))
        self.assertUnwatched(node)

    def test_linesAsTheTextFormatShowsThem(self):
        """Each event is kept in lines as --log-format text writes it; a
        line that is no event (before the log began) as it is."""
        node = self.daemon()
        seen = []
        node._on_line = lambda daemon, line: seen.append(line)
        node.process.say("usage: twistd [options]")
        fields = dict(what="node", where="127.0.0.1:7801", host="127.0.0.1", port=7801)
        self.say(node, LISTENING_EVENT, **fields)
        self.say(node, "a line\nand its next {word}", word="\x1b[31mred")
        node.waitForEvent("a line", GENEROUS)
        text = (jsonLine(logformat.textObserver, LISTENING_EVENT, **fields)
                + jsonLine(logformat.textObserver, "a line\nand its next {word}",
                           word="\x1b[31mred"))
        # The time of each line is the time of its own call.
        stamp = re.compile(r"^\S+ ")
        expected = ["usage: twistd [options]"] + text.rstrip("\n").split("\n")
        self.assertEqual([stamp.sub("", line) for line in node.lines],
                         [stamp.sub("", line) for line in expected])
        self.assertEqual(seen, node.lines)
        self.assertIn("[Node#info] node listening on 127.0.0.1:7801", node.lines[1])
        self.assertEqual(len(node.events), 2)

    def test_anotherProgram(self):
        """A daemon that is not twistd's runs its args as the whole command,
        by its wrapper; one of twistd's runs them after twistd -n."""
        other = Daemon("dask", ["dask", "scheduler"], ".", spawn=FakeProcess,
                       wrapper=("ip", "netns", "exec", "ns"), twistd=False)
        ours = Daemon("node", ["bazaar-node"], ".", spawn=FakeProcess)
        for daemon in (other, ours):
            daemon.process.exit(0)
            daemon._reader.join(GENEROUS)
        self.assertEqual(other.process.args, ["ip", "netns", "exec", "ns", "dask",
                                              "scheduler"])
        self.assertEqual(ours.process.args[1:], ["-n", "bazaar-node"])

    def test_aTextDaemonHasNoEvents(self):
        node = Daemon("node", ["bazaar-node"], ".", spawn=FakeProcess)
        node.process.exit(0)
        self.assertEqual(node.args, ["bazaar-node"])
        with self.assertRaises(DaemonError):
            node.waitForEvent(LISTENING_EVENT, GENEROUS)


class RecordedCommand:
    """A command's process as runCommand sees it: records the options it
    was started with and the bound of its communicate."""

    def __init__(self, command, answer=("out", "err"), returncode=0, **options):
        self.command = command
        self.options = options
        self.answer = answer
        self.returncode = returncode
        self.bounds = []
        self.killed = False

    def communicate(self, input, timeout):
        self.bounds.append((input, timeout))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def kill(self):
        self.killed = True

    def wait(self):
        return self.returncode

    def __enter__(self):
        return self

    def __exit__(self, *failure):
        return None


class RunCommandTests(SynchronousTestCase):
    """runCommand: subprocess.run by the suite's spawner, each command
    waited on at least COMMAND_BOUND seconds."""

    def started(self, **kwargs):
        started = []

        def spawn(command, **options):
            started.append(RecordedCommand(command, **kwargs, **options))
            return started[-1]

        self.patch(daemons, "spawner", spawn)
        return started

    def test_boundAtLeastCommandBound(self):
        started = self.started()
        for timeout in (30, None, 2 * daemons.COMMAND_BOUND):
            done = daemons.runCommand(["bazaar", "status"], capture_output=True,
                                      timeout=timeout)
            self.assertEqual((done.returncode, done.stdout, done.stderr), (0, "out", "err"))
        self.assertEqual([process.bounds for process in started],
                         [[(None, daemons.COMMAND_BOUND)], [(None, daemons.COMMAND_BOUND)],
                          [(None, 2 * daemons.COMMAND_BOUND)]])
        self.assertEqual(started[0].options, dict(stdout=subprocess.PIPE,
                                                  stderr=subprocess.PIPE))

    def test_input(self):
        started = self.started()
        daemons.runCommand(["bazaar-ledger"], input="typed", text=True)
        self.assertEqual(started[0].options, dict(stdin=subprocess.PIPE, text=True))
        self.assertEqual(started[0].bounds, [("typed", daemons.COMMAND_BOUND)])

    def test_pastTheBoundKilled(self):
        started = self.started(answer=subprocess.TimeoutExpired("bazaar", 300))
        self.assertRaises(subprocess.TimeoutExpired, daemons.runCommand, ["bazaar"])
        self.assertTrue(started[0].killed)

    def test_check(self):
        self.started(returncode=1)
        self.assertEqual(daemons.runCommand(["bazaar"]).returncode, 1)
        error = self.assertRaises(subprocess.CalledProcessError, daemons.runCommand,
                                  ["bazaar"], check=True)
        self.assertEqual((error.returncode, error.stdout), (1, "out"))

    def test_runTwistd(self):
        """twistd ARGS in its folder, by the spawner (forked in the suite
        where it can be), its output captured as text."""
        started = self.started()
        daemons.runTwistd(["-n", "bazaar-node", "--help"], "/d")
        self.assertEqual(started[0].command, [daemons.twistdPath(), "-n", "bazaar-node",
                                              "--help"])
        self.assertEqual({key: started[0].options[key] for key in
                          ("cwd", "stdin", "stdout", "stderr", "text")},
                         dict(cwd="/d", stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True))
