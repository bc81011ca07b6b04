"""
The suite stops when told: a real pytest, running a test that waits on a
live daemon or on the real reactor, is sent SIGINT (Ctrl-C) or SIGTERM
(what ``make`` passes on), and must end within 20 s, say it was
interrupted, and leave no process and no folder behind; so must a
parallel run (``-n 2``, as ``make test`` runs), and a test whose code
under test takes the Ctrl-C for its own and exits 1 (as ``bazaar-sim
sweep`` does) is interrupted, not failed.  (``.ci/stop-check`` does the
same to a whole ``make test``, on a loaded machine if asked.)
"""

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time

from twisted.trial.unittest import SynchronousTestCase

#: Seconds the stopped run may take: the issue's bound.
STOPS_WITHIN = 20.0
#: Seconds to wait for the sample test to be under way.
GENEROUS = 60.0
#: The sample's pytest plugins: the suite's stopping, the real reactor's
#: and xdist's (for ``-n 2``), and no others.  The installed ones pytest
#: loads by itself (Hypothesis's, platformdirs') stop nothing, and cost
#: each of the sample's pytest processes a third of its start (0.79
#: user-s against 0.48); so autoloading is off.
SAMPLE_PLUGINS = ("-p", "twisted_bazaar.testing.stopping", "-p", "pytest_twisted",
                  "-p", "xdist")

SAMPLE = '''
import os
import sys
import tempfile
import threading

import pytest_twisted
from twisted.internet import reactor, task

from twisted_bazaar.testing.daemons import LiveMarket


def test_daemon():
    market = LiveMarket(tempfile.mkdtemp(prefix="bazaar-e2e-"))
    tracker = market.startTracker()
    print("STARTED BY", type(tracker.process).__name__, file=sys.stderr, flush=True)
    print("READY", tracker.process.pid, tempfile.gettempdir(), file=sys.stderr, flush=True)
    threading.Event().wait(600)


@pytest_twisted.inlineCallbacks
def test_reactor():
    reactor.callLater(0, print, "READY", os.getpid(), tempfile.gettempdir(),
                      file=sys.stderr, flush=True)
    yield task.deferLater(reactor, 600, lambda: None)


def test_exitsOne():
    print("READY", os.getpid(), tempfile.gettempdir(), file=sys.stderr, flush=True)
    try:
        threading.Event().wait(600)
    except KeyboardInterrupt:
        raise SystemExit(1)


def test_other():
    threading.Event().wait(600)
'''


def gone(pid):
    """True if no process pid runs (a zombie waiting for init counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except FileNotFoundError:
        return True


class SuiteStopsTests(SynchronousTestCase):
    def stop(self, test, signum, *options):
        folder = tempfile.mkdtemp(prefix="bazaar-stops-")
        self.addCleanup(subprocess.run, ["rm", "-rf", folder])
        with open(os.path.join(folder, "test_sample.py"), "w") as sample:
            sample.write(SAMPLE)
        with open(os.path.join(folder, "pytest.ini"), "w") as ini:
            ini.write("[pytest]\naddopts = -p no:cacheprovider\n")
        run = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-s", *SAMPLE_PLUGINS, *options,
             "-k", test, "test_sample.py"],
            cwd=folder, env=dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1"),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.addCleanup(lambda: run.poll() is None and os.killpg(run.pid, signal.SIGKILL))
        lines = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(line) for line in run.stdout]
                                  or lines.put(None), daemon=True)
        reader.start()
        seen = []
        while True:
            line = lines.get(timeout=GENEROUS)
            self.assertIsNotNone(line, "the sample ended early:\n" + "".join(seen))
            seen.append(line)
            if line.startswith("READY"):
                _, pid, scratch = line.split()
                break
        sent = time.monotonic()
        run.send_signal(signum)
        status = run.wait(STOPS_WITHIN)
        took = time.monotonic() - sent
        reader.join(GENEROUS)
        # The reader has read to the end (joined): the rest is queued.
        while not lines.empty():
            seen.append(lines.get_nowait() or "")
        self.assertLess(took, STOPS_WITHIN)
        said = "".join(seen)
        self.assertEqual(status, 2, said)
        self.assertIn("interrupted (", said)
        self.assertNotIn("FAILED", said)
        self.assertNotIn("failed", said)
        self.assertTrue(gone(int(pid)), f"process {pid} still runs")
        self.assertFalse(os.path.exists(scratch), f"{scratch} is left")
        return said

    def test_ctrlCWhileADaemonRuns(self):
        self.stop("test_daemon", signal.SIGINT)

    def test_sigtermWhileADaemonRuns(self):
        self.stop("test_daemon", signal.SIGTERM)

    def test_ctrlCWhileAForkedDaemonRuns(self):
        """The daemon forked by the suite's fork server (tests/forkserver.py)."""
        said = self.stop("test_daemon", signal.SIGINT, "-p", "tests.forkplugin")
        self.assertIn("STARTED BY ForkedProcess", said)

    def test_ctrlCOnTheReactor(self):
        self.stop("test_reactor", signal.SIGINT)

    def test_sigtermOnTheReactor(self):
        self.stop("test_reactor", signal.SIGTERM)

    def test_exitOneOnCtrlCIsInterrupted(self):
        self.stop("test_exitsOne", signal.SIGINT)

    def test_ctrlCInAParallelRun(self):
        """Ctrl-C reaches the controller and its workers, then the
        controller's SIGTERM reaches the workers again."""
        self.stop("test_daemon or test_other", signal.SIGINT, "-n", "2")

    def test_sigtermToAParallelRun(self):
        """SIGTERM to the controller alone (as make passes it on)."""
        self.stop("test_daemon or test_exitsOne", signal.SIGTERM, "-n", "2")
