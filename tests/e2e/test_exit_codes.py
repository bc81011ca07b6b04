"""
End to end: a daemon that cannot start says why in one line and exits
non-zero; endpoints that cannot work are refused when parsed; one node per
data dir; a restarted node says what it restored.

Every wait is on a log line or a process exit, bounded by a timeout.
"""

import json
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

from tests.e2e.helpers import freePort, runCommand, startMarket, startSeller, waitBought
from twisted_bazaar.testing.daemons import (
    JSON,
    TEXT,
    LiveMarket,
    nodeId,
    runTwistd,
    twistdPath,
)
from tests.e2e.helpers import short

#: Each wait ends on its event; the bound is for a machine at load, where
#: a daemon's start took past 30 s under nice beside four busy loops.
TIMEOUT = 90.0
SELLER = ["--role", "seller", "--sell", "apple=1"]


def scratch(test):
    folder = tempfile.mkdtemp(prefix="bazaar-exit-")
    test.addCleanup(shutil.rmtree, folder, True)
    return folder


def takenPort(test):
    """A loopback port something already listens on."""
    taken = socket.socket()
    test.addCleanup(taken.close)
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    return taken.getsockname()[1]


class CannotListenTests(SynchronousTestCase):
    def assertFailsWith(self, args, status, line, folder=None):
        """With -n, in folder (a new one by default): the line once, on
        stderr (not as a log line on stdout), and the status."""
        result = runTwistd(["-n", *args], folder or scratch(self), timeout=TIMEOUT)
        output = result.stdout + result.stderr
        self.assertEqual(result.returncode, status, output)
        self.assertNotIn("Traceback", output)
        self.assertEqual(len(re.findall(re.escape(line), result.stderr)), 1, output)
        self.assertNotIn(line, result.stdout)

    def test_trackerPortTaken(self):
        port = takenPort(self)
        self.assertFailsWith(
            ["bazaar-tracker", "--listen", f"tcp:{port}:interface=127.0.0.1"], 1,
            f"twistd bazaar-tracker: error: tracker cannot listen on "
            f"tcp:{port}:interface=127.0.0.1: port {port} of 127.0.0.1 is in use "
            "(another program, or another daemon, listens there)")

    def test_nodePortTaken(self):
        port = takenPort(self)
        self.assertFailsWith(
            ["bazaar-node", *SELLER, "--listen", f"tcp:{port}:interface=127.0.0.1"],
            1, f"twistd bazaar-node: error: node cannot listen on "
            f"tcp:{port}:interface=127.0.0.1: port {port} of 127.0.0.1 is in use")

    def test_inTheBackground(self):
        """Without -n: the twistd command that started the daemon prints
        the whole line on stderr, readable, and exits 1; the log has it
        too."""
        folder = scratch(self)
        port = takenPort(self)
        line = (f"twistd bazaar-tracker: error: tracker cannot listen on "
                f"tcp:{port}:interface=127.0.0.1: port {port} of 127.0.0.1 is in use "
                "(another program, or another daemon, listens there)")
        result = runTwistd(["--pidfile", "t.pid", "--logfile", "t.log",
                            "bazaar-tracker", "--listen",
                            f"tcp:{port}:interface=127.0.0.1"], folder, timeout=TIMEOUT)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertEqual(result.stderr.splitlines()[0], line)
        self.assertNotIn('b"', result.stderr)
        with open(os.path.join(folder, "t.log")) as log:
            self.assertIn(line, log.read())
        self.assertFalse(os.path.exists(os.path.join(folder, "t.pid")))

    def test_startedInTheBackground(self):
        """A daemon that starts lets go of the stderr it was started with,
        so the twistd command returns at once."""
        folder = scratch(self)
        result = runTwistd(["--pidfile", "t.pid", "--logfile", "t.log",
                            "bazaar-tracker", "--listen", "tcp:0:interface=127.0.0.1"],
                           folder, timeout=TIMEOUT)
        with open(os.path.join(folder, "t.pid")) as f:
            pid = int(f.read())
        self.addCleanup(os.kill, pid, signal.SIGTERM)
        self.assertEqual((result.returncode, result.stderr), (0, ""))

    def test_privilegedPort(self):
        if os.geteuid() == 0:
            raise self.skipTest("runs as root, which may listen on port 80")
        self.assertFailsWith(["bazaar-tracker", "--listen", "tcp:80"], 1,
                             "twistd bazaar-tracker: error: tracker cannot listen "
                             "on tcp:80: port 80 is below 1024, which only root "
                             "(or a program given CAP_NET_BIND_SERVICE) may listen on")

    def test_portOutOfRange(self):
        self.assertFailsWith(["bazaar-tracker", "--listen", "tcp:99999"], 2,
                             "twistd bazaar-tracker: error: --listen: port 99999 "
                             "is not in 0 ... 65535")

    def test_unixEndpointForANode(self):
        self.assertFailsWith(["bazaar-node", *SELLER, "--listen", "unix:/tmp/n.sock"],
                             2, "twistd bazaar-node: error: --listen: a unix: "
                             "endpoint cannot work here: other nodes connect to a "
                             "node over plain TCP (use tcp: or tcp6:)")

    def test_badEndpoint(self):
        self.assertFailsWith(["bazaar-tracker", "--listen", "tcp:0:colour=red"], 1,
                             "twistd bazaar-tracker: error: --listen: ")

    def test_unusableDataDir(self):
        folder = scratch(self)
        path = os.path.join(folder, "file")
        with open(path, "w"):
            pass
        self.assertFailsWith(["bazaar-node", *SELLER, "--data-dir",
                              os.path.join(path, "d")], 2,
                             f"twistd bazaar-node: error: --data-dir {path}/d: its "
                             f"parent {path} is not a folder (a node creates only "
                             "the last folder of its data dir)")

    def test_mistypedDataDir(self):
        """A data dir whose parent is missing is refused, and nothing is
        created."""
        folder = scratch(self)
        self.assertFailsWith(["bazaar-node", *SELLER, "--data-dir", "selr/data"], 2,
                             f"twistd bazaar-node: error: --data-dir selr/data: its "
                             f"parent {os.path.realpath(folder)}/selr does not exist (a "
                             "node creates only the last folder of its data dir)",
                             folder)
        self.assertEqual(os.listdir(folder), [])


def tree(folder):
    """Every path under folder, with each file's bytes."""
    found = {}
    for where, _, files in os.walk(folder):
        found[os.path.relpath(where, folder)] = None
        for name in files:
            with open(os.path.join(where, name), "rb") as f:
                found[os.path.relpath(os.path.join(where, name), folder)] = f.read()
    return found


class FailedStartTests(SynchronousTestCase):
    """Issue 96 (H1, M1, M6): a start that fails on a port of any kind,
    with real twistd processes: exit 1, the one line, and the state as it
    was before (what this start made gone, nothing else)."""

    def assertOneLine(self, result, line):
        output = result.stdout + result.stderr
        self.assertEqual(result.returncode, 1, output)
        self.assertNotIn("Traceback", output)
        self.assertEqual(result.stderr.count(line), 1, output)
        self.assertEqual(result.stderr.count("error:"), 1, output)

    def test_onePortUnderTwoOptions(self):
        """A node given one port under two of its options: the line says
        the node holds it itself (it said "another program", which the user
        looked for in vain once the node had ended)."""
        folder, port = scratch(self), freePort()
        result = runTwistd(["-n", "bazaar-node", *SELLER, "--listen",
                            f"tcp:{port}:interface=127.0.0.1", "--ws-port", str(port),
                            "--tracker", f"127.0.0.1:{freePort()}"], folder,
                           timeout=TIMEOUT)
        self.assertOneLine(result, f"twistd bazaar-node: error: websocket cannot "
                           f"listen on --ws-port {port}: port {port} of 127.0.0.1 is "
                           "in use by this daemon itself: two of its options name it "
                           "(give each its own port)")

    def test_trackerWsPortTaken(self):
        """The tracker whose --ws-port is taken said error: and ran on,
        its key directory removed while it ran.  It exits 1, its default
        state directory (there before) as it was, byte for byte."""
        from twisted_bazaar.identity.keys import Identity

        folder = scratch(self)
        listen, held = freePort(), takenPort(self)
        state = os.path.join(folder, ".state", "twisted-bazaar",
                             f"tracker-127.0.0.1-{listen}")
        os.makedirs(state, 0o700)
        Identity.inDirectory(state, name="tracker.key")
        before = tree(os.path.join(folder, ".state"))
        result = runTwistd(["-n", "bazaar-tracker", "--listen",
                            f"tcp:{listen}:interface=127.0.0.1", "--ws-port", str(held)],
                           folder, timeout=TIMEOUT)
        self.assertOneLine(result, f"twistd bazaar-tracker: error: websocket cannot "
                           f"listen on --ws-port {held}: port {held} of 127.0.0.1 is "
                           "in use (another program, or another daemon, listens there)")
        self.assertEqual(tree(os.path.join(folder, ".state")), before)

    def test_wsPortTakenInTheBackground(self):
        """Without -n: the twistd command returns 1 with the line once the
        daemon has stopped: its pid file gone, its --listen port free
        again, its new state directory removed."""
        folder = scratch(self)
        listen, held = freePort(), takenPort(self)
        result = runTwistd(["--pidfile", "t.pid", "--logfile", "t.log",
                            "bazaar-tracker", "--listen",
                            f"tcp:{listen}:interface=127.0.0.1", "--ws-port", str(held)],
                           folder, timeout=TIMEOUT)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertEqual(result.stderr.splitlines(), [
            f"twistd bazaar-tracker: error: websocket cannot listen on --ws-port "
            f"{held}: port {held} of 127.0.0.1 is in use (another program, or another "
            "daemon, listens there)"])
        self.assertEqual(sorted(os.listdir(folder)), ["t.log"])
        with socket.socket() as again:
            again.bind(("127.0.0.1", listen))

    def test_nodeQuicPortTaken(self):
        """A node whose --quic-port is taken (a traceback, and its new
        --data-dir left behind): exit 1, one line, no data dir."""
        folder = scratch(self)
        held = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(held.close)
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        result = runTwistd(["-n", "bazaar-node", *SELLER, "--listen",
                            "tcp:0:interface=127.0.0.1", "--tracker",
                            f"127.0.0.1:{freePort()}", "--data-dir", "seller",
                            "--quic-port", str(port)], folder, timeout=TIMEOUT)
        self.assertOneLine(result, f"twistd bazaar-node: error: QUIC cannot listen on "
                           f"--quic-port {port}: port {port} of 127.0.0.1 is in use "
                           "(another program, or another daemon, listens there)")
        self.assertEqual(os.listdir(folder), [])

    def test_twoTrackersAtOnceOnABusyPort(self):
        """Two trackers started at the same moment on one busy port: each
        says its port is in use (one said it could not keep its key, its
        state directory removed by the other's failed start, 2 runs of 4
        here), and no state directory is left."""
        folder = scratch(self)
        port = takenPort(self)
        command = [twistdPath(), "-n", "bazaar-tracker", "--no-udp", "--listen",
                   f"tcp:{port}:interface=127.0.0.1"]
        env = dict(os.environ, XDG_STATE_HOME=os.path.join(folder, "state"))
        line = f"tracker cannot listen on tcp:{port}:interface=127.0.0.1"
        for _ in range(3):
            both = [subprocess.Popen(command, cwd=folder, env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
                    for _ in range(2)]
            for process in both:
                out, err = process.communicate(timeout=TIMEOUT)
                self.assertEqual(process.returncode, 1, out + err)
                self.assertIn(line, err)
                self.assertEqual(err.count("error:"), 1, err)
            self.assertEqual(os.listdir(folder), [])


    def test_stoppedWhileItMakesItsKey(self):
        """Ctrl-C (or SIGTERM) while a chord node makes the key of a hard
        puzzle, its new --data-dir locked: a traceback (SIGTERM: none, and
        the folder left holding its lock), found by the fifth new user.
        Now one line, the signal's status, and no data dir."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            folder = scratch(self)
            process = subprocess.Popen(
                [twistdPath(), "-n", "bazaar-node", *SELLER, "--discovery", "chord",
                 "--chord-puzzle", "30", "--listen", "tcp:0:interface=127.0.0.1",
                 "--tracker", f"127.0.0.1:{freePort()}", "--data-dir", "seller"],
                cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True,
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
            self.addCleanup(process.kill)
            lock = os.path.join(folder, "seller", "lock")
            deadline = time.monotonic() + TIMEOUT
            # The lock holds its pid once it is held: the key is made next.
            while not (os.path.exists(lock) and Path(lock).read_text().split()[:1]
                       == [str(process.pid)]):
                if process.poll() is not None:
                    self.fail(process.communicate())
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.05)
            process.send_signal(signum)
            out, err = process.communicate(timeout=TIMEOUT)
            name = signal.Signals(signum).name
            self.assertEqual((process.returncode, err), (
                128 + signum, f"twistd bazaar-node: stopped by {name} while it opened "
                "its state and made its key; nothing it made is left\n"), out)
            self.assertEqual(os.listdir(folder), [])


class DataDirTests(SynchronousTestCase):
    """One node per data dir; a restarted node says what it restored."""

    def test_lockAndRestore(self):
        folder = scratch(self)
        market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(market.stop)
        market.startTracker(timeout=TIMEOUT)
        data = os.path.join(folder, "seller-data")
        args = [*SELLER, "--data-dir", data]
        first = market.startNode("seller", *args)
        first.waitFor(re.escape(f"data dir {data}: new, nothing to restore"),
                       TIMEOUT)
        seller = nodeId(first, TIMEOUT)

        second = runTwistd(["-n", *first.args], folder, timeout=TIMEOUT)
        output = second.stdout + second.stderr
        self.assertEqual(second.returncode, 1, output)
        self.assertIn(f"twistd bazaar-node: error: --data-dir: data dir {data} is in "
                      f"use by another node (pid {first.process.pid}); give each "
                      "node its own --data-dir", output)
        self.assertNotIn("Traceback", output)

        first.terminate()
        first.finish()
        again = market.start("seller again", first.args)
        again.waitFor(re.escape(f"data dir {data}: restored node {short(seller)}; stock: "
                                 "apple=1; bag: 0; pending buys: 0"), TIMEOUT)
        self.assertEqual(nodeId(again, TIMEOUT), seller)
        self.assertEqual(again.problems(), [])

    def test_copiedDataDir(self):
        """A copy of a running node's --data-dir, run as a second node (its
        copied lock is its own), proves the same key: the tracker gives it
        the registration, and the first node ends with exit 1 and one
        line, where the two took the registration from each other every
        second, for ever (issue 96's round 7); the copy runs on, with the
        node's id."""
        folder = scratch(self)
        market = LiveMarket(folder)
        self.addCleanup(market.stop)
        market.startTracker(timeout=TIMEOUT)
        data = os.path.join(folder, "seller-data")
        first = market.startNode("seller", *SELLER, "--data-dir", data)
        seller = nodeId(first, TIMEOUT)
        copy = os.path.join(folder, "copy-data")
        shutil.copytree(data, copy, ignore=shutil.ignore_patterns("control.sock"))
        second = market.startNode("copy", *SELLER, "--data-dir", copy)
        self.assertEqual(first.finish(TIMEOUT), 1, first.tail())
        [line] = first.matches(r"^twistd bazaar-node: error: another process holds "
                               r"this node's key")
        self.assertIn(f"(node {short(seller)})", line.string)
        self.assertIn("give each node its own --data-dir", line.string)
        self.assertEqual(nodeId(second, TIMEOUT), seller)
        self.assertIsNone(second.process.poll(), second.tail())
        self.assertEqual(first.problems() + second.problems(), [])

    def test_oneTrackerPerDataDir(self):
        """Two trackers given one --data-dir both ran on it, one key
        between them (issue 96): the second is refused in one line, exit
        1, and the first's state is as it was, the first running on."""
        folder = scratch(self)
        market = LiveMarket(folder)
        self.addCleanup(market.stop)
        data = os.path.join(folder, "tracker-data")
        first = market.startTracker("tracker", TIMEOUT, "--data-dir", data, "--no-udp")
        key = first.waitFor(r"the tracker's key is (?P<key>[A-Za-z0-9_-]{43})",
                            TIMEOUT)["key"]
        with open(os.path.join(data, "tracker.key"), "rb") as f:
            kept = f.read()
        second = runTwistd(["-n", "bazaar-tracker", "--data-dir", data, "--no-udp",
                            "--listen", "tcp:0:interface=127.0.0.1"], folder,
                           timeout=TIMEOUT)
        output = second.stdout + second.stderr
        self.assertEqual(second.returncode, 1, output)
        self.assertEqual(second.stderr, f"twistd bazaar-tracker: error: --data-dir {data} "
                         "is in use by another tracker; give each tracker its own "
                         "--data-dir\n", output)
        self.assertNotIn("listening", second.stdout)
        self.assertEqual(os.listdir(data), ["tracker.key"])
        with open(os.path.join(data, "tracker.key"), "rb") as f:
            self.assertEqual(f.read(), kept)
        # The first runs on: a node takes its key.
        node = market.startNode("node", "--tracker-key", key)
        nodeId(node, TIMEOUT)
        self.assertEqual(first.problems(), [])

    def test_restock(self):
        """A seller that sold out is started again with --restock and a new
        --sell: it sells again, and its ledger keeps every sale."""
        folder = scratch(self)
        market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(market.stop)
        market.startTracker(timeout=TIMEOUT)
        data = os.path.join(folder, "seller-data")
        first = market.startNode("seller", *SELLER, "--data-dir", data)
        nodeId(first, TIMEOUT)
        buyer = market.startNode("buyer", "--role", "buyer", "--want", "apple",
                                 "--quantity", "2")
        waitBought(buyer, "apple", TIMEOUT, n=1, q=2)
        first.terminate()
        first.finish()
        again = market.startNode("seller again", "--role", "seller", "--sell", "apple=3",
                                 "--data-dir", data, "--restock")
        again.waitFor(re.escape(f"data dir {data}: restocked apple=3 (was 0); its "
                                 "ledger is kept"), TIMEOUT)
        again.waitFor(re.escape(f"data dir {data}: restored node"), TIMEOUT)
        waitBought(buyer, "apple", TIMEOUT, n=2, q=2)
        self.assertEqual(again.matches(r"differs from the stock"), [])
        market.stop()
        ledger = runCommand([str(Path(sys.executable).with_name("bazaar-ledger")),
                             "--json", data], capture_output=True, text=True,
                            timeout=TIMEOUT)
        state = json.loads(ledger.stdout)
        self.assertEqual((state["inventory"], len(state["sales"])), ({"apple": 2}, 2))


class GiveUpTests(SynchronousTestCase):
    def test_buyerGivesUp(self):
        """A daemon buyer with --give-up-after that cannot get its want in
        time stops in order and exits 3, saying what it lacks and why,
        once: its daemons log text (the line on stderr is not logged again
        where the text log shares the terminal)."""
        market, _ = startMarket(self, TIMEOUT, TEXT)
        startSeller(market, "pear=1", TIMEOUT)
        buyer = market.startNode("buyer", "--role", "buyer", "--want", "plum",
                                 "--exit-when-done", "--give-up-after", "3")
        self.assertEqual(buyer.finish(TIMEOUT), 3, buyer.tail())
        [line] = buyer.matches(r"twistd bazaar-node: error: gave up after 3 s: .*")
        self.assertRegex(line.string, r"twistd bazaar-node: error: gave up after 3 s: "
                                      r"bought 0 of 1 plum: no seller offered it "
                                      r"\(\d+ search(es)? found nothing\)$")
        self.assertTrue(buyer.matches(r"Server Shut Down\."))
        self.assertEqual(buyer.problems(), [])


class ReaderGoneTests(SynchronousTestCase):
    """A reader that stops early (``| head -2``) ends --help quietly."""

    def test_helpIntoAClosedPipe(self):
        for daemon in ("bazaar-node", "bazaar-tracker"):
            read, write = os.pipe()
            os.close(read)
            try:
                result = subprocess.run([twistdPath(), daemon, "--help"], stdout=write,
                                        stderr=subprocess.PIPE, text=True,
                                        timeout=TIMEOUT)
            finally:
                os.close(write)
            self.assertEqual((result.returncode, result.stderr), (1, ""), daemon)
