"""
End to end: a store's writer process (twisted_bazaar.store.writer) ends
with its parent however the parent ends, even while its input is still
open: nothing is written for a node that is gone.

Every wait is on a process's end, bounded by a timeout.
"""

import os
import pickle
import select
import signal
import subprocess
import sys
import time

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.store import SQLiteStore
from twisted_bazaar.base.pipeframes import Frames, frame

from twisted_bazaar.testing.daemons import runTwistd

from tests.store.test_stores import scratchDir

TIMEOUT = 30.0

#: A parent that starts a writer on the pipes it is given (whose other
#: ends the test holds open), says the writer's pid, and waits to be
#: killed.
PARENT = """
import os, subprocess, sys, time
into, out = int(sys.argv[2]), int(sys.argv[3])
writer = subprocess.Popen(
    [sys.executable, "-m", "twisted_bazaar.store.writer", sys.argv[1], "0", str(os.getpid())],
    stdin=into, stdout=out, pass_fds=(into, out))
print(writer.pid, flush=True)
time.sleep(600)
"""


def gone(pid):
    """Whether process pid has ended (or is a zombie nobody reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


class WriterEndsWithItsParentTests(SynchronousTestCase):
    def test_killedParentEndsTheWriter(self):
        folder = scratchDir(self)
        SQLiteStore(folder).close()
        into, held = os.pipe()
        answers, out = os.pipe()
        self.addCleanup(os.close, held)
        self.addCleanup(os.close, answers)
        parent = subprocess.Popen(
            [sys.executable, "-c", PARENT, os.path.join(folder, "bazaar.sqlite"),
             str(into), str(out)],
            stdout=subprocess.PIPE, pass_fds=(into, out), text=True)
        os.close(into)
        os.close(out)
        self.addCleanup(parent.wait)
        self.addCleanup(lambda: parent.poll() is None and parent.kill())
        writer = int(parent.stdout.readline())
        self.addCleanup(lambda: gone(writer) or os.kill(writer, signal.SIGKILL))
        # One write answered: the writer is past its start, serving.
        os.write(held, frame((1, "id", [("INSERT INTO meta VALUES ('node_id', '5')", ())])))
        got, reply = Frames(), []
        while not reply:
            readable, _, _ = select.select([answers], [], [], TIMEOUT)
            data = os.read(answers, 4096) if readable else b""
            self.assertTrue(data, "the writer did not answer")
            reply = got.feed(data)
        self.assertEqual(pickle.loads(reply[0]), [(1, None)])
        parent.kill()
        parent.wait(TIMEOUT)
        deadline = time.monotonic() + TIMEOUT
        while not gone(writer) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(gone(writer), "the writer outlived its parent")


def childrenOf(pid):
    """The command lines of process pid's children, by pid."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().split(b"\0")
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        if ppid == pid:
            children[int(entry)] = [part.decode() for part in cmdline if part]
    return children


def waitFor(condition, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


class InTheBackgroundTests(SynchronousTestCase):
    def test_aDaemonInTheBackgroundKeepsItsWriter(self):
        """
        twistd without -n builds the node, then forks it into the
        background and the process that built it exits: the writer is
        started once the reactor runs, a child of the daemon that stays
        (a writer started with the store was killed with the process that
        exited, and the daemon, its store never closing, hung on SIGTERM).
        """
        folder = scratchDir(self)
        result = runTwistd(
            ["--pidfile", "n.pid", "--logfile", "n.log", "bazaar-node",
             "--listen", "tcp:0:interface=127.0.0.1", "--tracker", "tcp:127.0.0.1:1",
             "--retry-initial", "5", "--role", "seller", "--sell", "apple=5",
             "--data-dir", "sd"], folder, timeout=TIMEOUT)
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        with open(os.path.join(folder, "n.pid")) as f:
            pid = int(f.read())
        self.addCleanup(lambda: gone(pid) or os.kill(pid, signal.SIGKILL))

        def writers():
            return [child for child, cmdline in childrenOf(pid).items()
                    if "twisted_bazaar.store.writer" in cmdline]

        self.assertTrue(waitFor(writers), "the daemon has no writer process")
        [writer] = writers()
        os.kill(pid, signal.SIGTERM)
        self.assertTrue(waitFor(lambda: gone(pid)), "the daemon did not stop on SIGTERM")
        self.assertTrue(waitFor(lambda: gone(writer)), "the writer outlived its daemon")
        with open(os.path.join(folder, "n.log")) as f:
            log = f.read()
        self.assertNotIn("critical", log.lower())
        self.assertFalse(os.path.exists(os.path.join(folder, "n.pid")))


class WriterLostTests(SynchronousTestCase):
    def test_aSellerWhoseWriterIsKilledStops(self):
        """A seller's writer process killed while it runs: the seller says
        why in one line, stops, and exits 1; what it sold is on disk."""
        from tests.e2e.helpers import startMarket, startSeller

        market, _ = startMarket(self, TIMEOUT)
        seller, _, _ = startSeller(market, "apple=3", TIMEOUT, "--data-dir", "sd")
        self.assertTrue(waitFor(lambda: [
            child for child, cmdline in childrenOf(seller.process.pid).items()
            if "twisted_bazaar.store.writer" in cmdline]))
        [writer] = [child for child, cmdline in childrenOf(seller.process.pid).items()
                    if "twisted_bazaar.store.writer" in cmdline]
        os.kill(writer, signal.SIGKILL)
        seller.waitFor(r"error: --data-dir sd: the store's writer process ended: .*"
                       r"this node can record nothing more, so it stops", TIMEOUT)
        self.assertEqual(seller.finish(), 1)
        self.assertNotIn("Traceback", "\n".join(seller.lines))


#: A parent that starts a store's writer on a running reactor, sends it
#: SIGINT at once (while its interpreter starts: a Ctrl-C to the process
#: group then), hands it a write, and says what came of it.
INTERRUPTED = """
import os, signal, sys
from twisted.internet import reactor
from twisted_bazaar.store.writerprocess import WriterProcess

told = []
writer = WriterProcess(reactor, sys.argv[1], 5.0, onEnded=told.append)

def go():
    writer.start()
    os.kill(writer.transport.pid, signal.SIGINT)
    d = writer.write("id", [("INSERT INTO meta VALUES ('node_id', '5')", ())])
    d.addCallbacks(lambda _: print("written"), lambda f: print("failed:", f.value))
    d.addBoth(lambda _: writer.stop())
    d.addBoth(lambda _: print("told:", told))
    d.addBoth(lambda _: reactor.stop())

reactor.callWhenRunning(go)
reactor.run()
"""


#: Seconds for two interpreters to start, one after the other, and a
#: write: generous, as at load 14 beside the suite.
STARTS_TIMEOUT = 4 * TIMEOUT


class InterruptedAtStartTests(SynchronousTestCase):
    def test_aCtrlCAsTheWriterStartsLeavesIt(self):
        """
        A SIGINT that reaches the writer while its interpreter starts and
        imports (a Ctrl-C in the terminal of a node that has just started
        reaches its whole process group) leaves it serving: it ended with
        KeyboardInterrupt, and its node said its ledger was gone.
        """
        folder = scratchDir(self)
        SQLiteStore(folder).close()
        parent = subprocess.run(
            [sys.executable, "-c", INTERRUPTED, os.path.join(folder, "bazaar.sqlite")],
            capture_output=True, text=True, timeout=STARTS_TIMEOUT)
        self.assertEqual((parent.returncode, parent.stdout, parent.stderr),
                         (0, "written\ntold: []\n", ""))
