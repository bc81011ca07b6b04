"""
End to end, against live daemons: what the tools say (issue 35): what
``bazaar buy`` says and exits with when a signal stops it, what ``bazaar``
says given the web view's port for the tracker's, a seller whose
transfer port is taken, a daemon in the background that cannot start,
and --verbose's frames under twistd.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import listeningPort, runCommand, startMarket
from twisted_bazaar.testing.daemons import JSON, LiveMarket, runTwistd

TIMEOUT = 30.0


def interruptible():
    """In the child, before bazaar starts: Ctrl-C as a terminal's foreground
    command has it.  A command started in the background by a shell that
    has no job control (a CI script's ``&``, ``nohup``) inherits SIGINT
    ignored, and a Python program, Twisted's reactor included, leaves an
    ignored SIGINT ignored: the test would wait for an exit that never
    comes."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def startBazaar(*args):
    script = str(Path(sys.executable).with_name("bazaar"))
    return subprocess.Popen([script, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=interruptible)


class InterruptedBuyTests(SynchronousTestCase):
    def test_signals(self):
        """Ctrl-C (SIGINT) or SIGTERM on a buy under way: the reason as the
        last line of stderr, no traceback, the status a shell gives a
        command a signal stopped (130, 143), and the node leaves the
        tracker in order."""
        market, tracker = startMarket(self, TIMEOUT)
        for signum, status in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
            name = signal.Signals(signum).name
            joined = len(tracker.matches(r"node \w+ joined"))
            left = len(tracker.matches(r"node \w+ left"))
            buy = startBazaar("--tracker", f"127.0.0.1:{market.tracker_port}", "buy",
                              "plum", "--timeout", "120")
            self.addCleanup(buy.kill)
            deadline = time.monotonic() + TIMEOUT
            while len(tracker.matches(r"node \w+ joined")) == joined:
                self.assertLess(time.monotonic(), deadline, "the buyer never joined")
                self.assertIsNone(buy.poll(), buy.stderr.read() if buy.poll() else "")
                time.sleep(0.1)
            buy.send_signal(signum)
            out, err = buy.communicate(timeout=TIMEOUT)
            self.assertNotIn("Traceback", err)
            self.assertEqual(buy.returncode, status, err)
            self.assertRegex(err.splitlines()[-1], rf"^bazaar: error: interrupted by "
                             rf"{name}: bought 0 of 1 plum: ")
            tracker.waitFor(r"node \w+ left", TIMEOUT)
            self.assertEqual(len(tracker.matches(r"node \w+ left")), left + 1)


class TransferPortTakenTests(SynchronousTestCase):
    def test_exitsAsATakenListenDoes(self):
        """A seller whose --transfer-port is taken does not run on sharing
        nothing: it says why in one line on stderr and exits 1."""
        folder = tempfile.mkdtemp(prefix="bazaar-tool-")
        self.addCleanup(shutil.rmtree, folder, True)
        share = os.path.join(folder, "share")
        os.mkdir(share)
        with open(os.path.join(share, "a.txt"), "w") as f:
            f.write("a")
        taken = socket.socket()
        self.addCleanup(taken.close)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runTwistd(["-n", "bazaar-node", "--role", "seller", "--share", share,
                            "--transfer-port", str(port), "--listen",
                            "tcp:0:interface=127.0.0.1", "--tracker", "127.0.0.1:1"],
                           folder, timeout=TIMEOUT)
        output = result.stdout + result.stderr
        self.assertEqual(result.returncode, 1, output)
        self.assertNotIn("Traceback", output)
        line = (f"twistd bazaar-node: error: --transfer-port {port}: cannot serve "
                f"shared files: port {port} of 127.0.0.1 is in use (another program, or "
                "another daemon, listens there)")
        self.assertEqual(len(re.findall(re.escape(line), result.stderr)), 1, output)


class BackgroundStartFailureTests(SynchronousTestCase):
    def test_lastLineIsTheReason(self):
        """A daemon started in the background that cannot start: the twistd
        command prints the reason as text, once, as its last line (not
        twistd's bytes literal), and exits 1."""
        folder = tempfile.mkdtemp(prefix="bazaar-tool-")
        self.addCleanup(shutil.rmtree, folder, True)
        taken = socket.socket()
        self.addCleanup(taken.close)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runTwistd(["--pidfile", "t.pid", "--logfile", "t.log",
                            "bazaar-tracker", "--listen",
                            f"tcp:{port}:interface=127.0.0.1"], folder, timeout=TIMEOUT)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertEqual(result.stderr,
                         f"twistd bazaar-tracker: error: tracker cannot listen on "
                         f"tcp:{port}:interface=127.0.0.1: port {port} of 127.0.0.1 "
                         "is in use (another program, or another daemon, listens "
                         "there)\n")


class VerboseLiveTests(SynchronousTestCase):
    def test_framesShown(self):
        """--verbose under twistd shows each frame, not ``()`` (Twisted's
        legacy logging replaces a field named ``message``)."""
        market, _ = startMarket(self, TIMEOUT)
        node = market.startNode("node", "--verbose")
        node.waitFor(r'-> tracker at 127\.0\.0\.1:\d+ \{"type":"nodereq"', TIMEOUT)
        self.assertEqual(node.matches(r"-> tracker at \S+ \(\)$"), [])


class NotATrackerTests(SynchronousTestCase):
    def test_theWebViewsPort(self):
        """``bazaar --tracker`` given the tracker's web view port is told
        that a web server answered, in one line, exit 1: not "no answer"
        once its --timeout has passed."""
        folder = tempfile.mkdtemp(prefix="bazaar-e2e-")
        self.addCleanup(shutil.rmtree, folder, True)
        market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(market.stop)
        tracker = market.startTracker("tracker", TIMEOUT, "--web", "tcp:0")
        port = listeningPort(tracker, "web view", TIMEOUT)
        script = str(Path(sys.executable).with_name("bazaar"))
        status = runCommand([script, "--tracker", f"127.0.0.1:{port}", "--timeout",
                             "600", "status"], capture_output=True, text=True,
                            timeout=TIMEOUT)
        self.assertEqual((status.returncode, status.stdout, status.stderr),
                         (1, "", f"bazaar: error: 127.0.0.1:{port} did not answer as "
                          "the tracker: the peer answered in HTTP, not the encrypted "
                          "channel: a web server (a daemon's --web view or --metrics, "
                          "say)\n"))
