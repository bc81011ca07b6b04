"""
End to end: a SIGTERM that comes once a daemon says it listens, before
its reactor runs (twistd starts the services first, and the reactor puts
its signal handlers in place only as it runs), stops it as any SIGTERM
does: its stop lines, ``Server Shut Down.``, the signal's status, its pid
file removed (L{twisted_bazaar.tap.stopsignals.StopOnce.installEarly}).
The moment is held open by ``--start-delay``, which the signal ends.

Every wait is on a log line, a file or a process exit, bounded.
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.testing.daemons import (
    LOOPBACK_LISTEN,
    SHUT_DOWN,
    TERMINATED,
    LiveMarket,
    twistdPath,
)

#: Each wait ends on its event; the bound is for a machine at load.
TIMEOUT = 90.0
#: Longer than any wait here: the signal, not the delay, ends the start.
HOLD = "600"


class SignalDuringStartTests(SynchronousTestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-startsignal-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.market = LiveMarket(self.folder)
        self.addCleanup(self.market.stop)

    def assertStoppedAsAnySigterm(self, daemon, stopLine):
        daemon.terminate()
        status = daemon.finish(TIMEOUT)
        self.assertEqual(status, TERMINATED, daemon.tail())
        self.assertTrue(daemon.matches(r"Received SIGTERM, shutting down\."), daemon.tail())
        self.assertTrue(daemon.matches(stopLine), daemon.tail())
        self.assertTrue(daemon.matches(SHUT_DOWN.pattern), daemon.tail())
        self.assertEqual(daemon.problems(), [], daemon.tail())

    def test_tracker(self):
        tracker = self.market.start("tracker", [
            "bazaar-tracker", "--listen", LOOPBACK_LISTEN, "--start-delay", HOLD,
            "--data-dir", os.path.join(self.folder, "tracker-data")])
        tracker.waitFor(r"UDP reach listening on ports", TIMEOUT)
        self.assertStoppedAsAnySigterm(tracker, r"tracker stopping: no node is live")
        # It had started: its state is kept, as after any SIGTERM.
        self.assertTrue(os.path.exists(os.path.join(self.folder, "tracker-data",
                                                    "tracker.key")))

    def test_node(self):
        node = self.market.start("node", [
            "bazaar-node", "--listen", LOOPBACK_LISTEN, "--start-delay", HOLD,
            "--tracker", "tcp:127.0.0.1:1", "--role", "seller", "--sell", "apple=1"])
        node.waitFor(r"QUIC listening on ", TIMEOUT)
        self.assertStoppedAsAnySigterm(node, r"Main loop terminated\.")

    def test_trackerInTheBackground(self):
        """Without -n (twistd forks into the background): its log says it
        stopped, and its pid file is gone."""
        pidfile = os.path.join(self.folder, "tracker.pid")
        logfile = os.path.join(self.folder, "tracker.log")
        # Its output to a file: the daemon holds the stderr it was started
        # with until its reactor runs (a pipe would not close before then).
        output = os.path.join(self.folder, "twistd.out")
        with open(output, "w") as out:
            started = subprocess.run(
                [twistdPath(), "--pidfile", pidfile, "--logfile", logfile,
                 "bazaar-tracker", "--listen", LOOPBACK_LISTEN, "--no-udp",
                 "--start-delay", HOLD], cwd=self.folder, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, timeout=TIMEOUT)
        # Killed at the end whatever fails first: a daemon in the
        # background outlives the test (and holds its start 600 s).
        self.addCleanup(_killFrom, pidfile)
        self.assertEqual(started.returncode, 0, _read(output))
        self.assertTrue(_waitUntil(lambda: "relay listening on" in _read(logfile)),
                        _read(logfile))
        with open(pidfile) as f:
            pid = int(f.read())
        self.addCleanup(_kill, pid)
        os.kill(pid, signal.SIGTERM)
        self.assertTrue(_waitUntil(lambda: "Server Shut Down." in _read(logfile)),
                        _read(logfile))
        self.assertTrue(_waitUntil(lambda: not os.path.exists(pidfile)), _read(logfile))
        log = _read(logfile)
        self.assertIn("tracker stopping: no node is live", log)
        self.assertNotIn("Traceback", log)


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def _waitUntil(condition, timeout=TIMEOUT, step=0.05):
    """Whether condition() came true within timeout: a file a daemon in
    the background writes is looked at until it does."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(step)
    return condition()


def _killFrom(pidfile):
    """Kill the daemon its pid file names, if it is still there."""
    try:
        with open(pidfile) as f:
            pid = int(f.read())
    except (OSError, ValueError):
        return
    _kill(pid)


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
