"""
Tests for the waits of L{twisted_bazaar.testing.daemons}, on fake
processes whose output the test writes: a wait blocks until a line comes
(it never sleeps), sees lines old and new, and fails with the daemons'
last lines on timeout or once their output has ended.
"""

import queue
import time

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.testing.daemons import Daemon, DaemonError, waitForAny, waitUntil

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
