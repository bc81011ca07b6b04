"""
The punch window on the wire (issue 93, item 2; the ninth round in
docs/reliability.md): a node's side of UDP punches, kept at its probe
budget's bound for several windows (tests/e2e/punchwindowpeer.py: the
node's own punch and budget on real sockets and the reactor's clock,
the window 3 s rather than 60 so that the test takes seconds; a hard
side's punch, rounds at 0, 1, 2 and 4 s, and an easy side's, 1.5 s, in
turn, each refused until the window has room), its probes counted on
the loopback interface by ``tcpdump``: no window of the wire holds more
than the bound to one host (docs/protocol.md, "Over UDP": 1,088, one
birthday punch).  Counted at each punch's start, as before issue 93's
fix, the easy side's punch went 3 s after the hard side's start, beside
its rounds at 4 s.

It needs ``tcpdump`` and the right to capture (root); without them it is
skipped with the reason.  Every wait is bounded.
"""

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.e2e.helpers import runCommand
from twisted_bazaar.reach.punch.budgets.probes import PROBES_HOST
from twisted_bazaar.reach.punch.udp.plan import BIRTHDAY_PROBES, KEEP_TTL

SCRIPT = os.path.join(os.path.dirname(__file__), "punchwindowpeer.py")
#: Where the probes go: a loopback address nobody listens at.
HOST = "127.88.0.1"
#: The budget's window, and how long the punches are kept at its bound.
WINDOW = 3.0
SECONDS = 16.0
#: Seconds tcpdump may take to start capturing, or to stop.
TIMEOUT = 30.0


def wireWindows(times, window):
    """The most of ``times`` (seconds) in any ``window`` seconds."""
    times = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(times):
        while times[first] <= at - window:
            first += 1
        most = max(most, last - first + 1)
    return most


class WireWindowTests(SynchronousTestCase):
    def test_wireWindows(self):
        """The count can fail: it sees a window's excess."""
        self.assertEqual(wireWindows([0.0, 1.0, 2.9, 3.0, 5.9], 3.0), 3)
        self.assertEqual(wireWindows([0.0, 3.0, 6.0], 3.0), 1)

    def capture(self, folder):
        """tcpdump on the loopback interface, capturing UDP to HOST,
        once it says it listens: (the process, the file it writes)."""
        if shutil.which("tcpdump") is None:
            raise SkipTest("needs tcpdump")
        out = os.path.join(folder, "wire.txt")
        with open(out, "wb") as stdout:
            tcpdump = subprocess.Popen(
                ["tcpdump", "-i", "lo", "-nn", "-tt", "-l", "-B", "16384",
                 # Not the keepalives of TTL 1, which never pass a router
                 # (a patient plan's: none here), as the budget counts.
                 f"udp and dst host {HOST} and ip[8] != {KEEP_TTL}"],
                stdout=stdout, stderr=subprocess.PIPE)
        self.addCleanup(lambda: tcpdump.poll() is None and tcpdump.kill())
        # Read as it comes, not by lines: tcpdump's first two lines can
        # come in one read, and a buffered readline() kept the second
        # ("listening on ...") where select() never saw it (a full run).
        said, fd = b"", tcpdump.stderr.fileno()
        while b"listening on" not in said:
            ready, _, _ = select.select([fd], [], [], TIMEOUT)
            if not ready:
                self.fail(f"tcpdump did not start capturing within {TIMEOUT:g} s")
            more = os.read(fd, 4096)
            if not more:
                raise SkipTest(f"tcpdump cannot capture: exit {tcpdump.wait(TIMEOUT)}")
            said += more
        return tcpdump, out

    def test_noWindowOfTheWireHoldsMoreThanTheBound(self):
        folder = tempfile.mkdtemp(prefix="bazaar-punchwindow-")
        self.addCleanup(shutil.rmtree, folder, True)
        tcpdump, out = self.capture(folder)
        peer = runCommand(
            [sys.executable, SCRIPT, HOST, str(WINDOW), str(SECONDS)],
            capture_output=True, text=True, timeout=SECONDS + TIMEOUT)
        tcpdump.send_signal(signal.SIGINT)
        _, said = tcpdump.communicate(timeout=TIMEOUT)
        self.assertEqual(peer.returncode, 0, peer.stderr)
        started = [line for line in peer.stdout.splitlines() if line.startswith("started")]
        self.assertNotIn("failed", peer.stdout)
        self.assertIn(b"\n0 packets dropped by kernel", said)
        times = [float(line.split()[0]) for line in open(out) if line.strip()]
        # Several windows' punches, every probe of each on the wire.
        self.assertGreaterEqual(len(started), 3, peer.stdout)
        # (The last may be cut short as the process stops.)
        self.assertLessEqual(len(times), len(started) * BIRTHDAY_PROBES)
        self.assertGreaterEqual(len(times), (len(started) - 1) * BIRTHDAY_PROBES)
        self.assertLessEqual(wireWindows(times, WINDOW), PROBES_HOST)
