"""
End to end: daemons forked by tests/forkserver.py are processes as an
exec'd twistd makes them: their own pid and session, the working folder
and environment asked for, their output in the caller's pipe, and the
exit status twistd gives (a SIGTERM's, a usage error's), reported to the
caller; the server ends once its caller closes its end and its children
have ended.  A forked console script (``bazaar``, ``bazaar-ledger``) is
one as Python runs it: its argv, stdout and stderr apart, exit status.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.e2e.helpers import freePort, runCommand
from twisted_bazaar.testing import daemons
from tests.forkserver import ForkedProcess, ForkServer
from twisted_bazaar.testing.daemons import (
    JSON,
    LISTENING_EVENT,
    STATE_HOME,
    TERMINATED,
    Daemon,
    LOOPBACK_LISTEN,
    nodeId,
)
from twisted_bazaar.testing.netns import NetBed, missing, tagOf

#: Seconds any awaited line or exit may take: it only bounds a bug.
TIMEOUT = 60.0


def parentOf(pid):
    with open(f"/proc/{pid}/stat", "rb") as stat:
        return int(stat.read().rsplit(b")", 1)[1].split()[1])


class ForkedDaemonTests(SynchronousTestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-fork-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.server = ForkServer()
        self.addCleanup(self.server.close)

    def start(self, name, *args, wrapper=()):
        daemon = Daemon(name, list(args), self.folder, logFormat=JSON, wrapper=wrapper,
                        spawn=self.server.spawn)
        self.addCleanup(daemon.finish, TIMEOUT)
        self.addCleanup(daemon.terminate)
        return daemon

    def test_aTrackerAsTwistdRunsIt(self):
        """A forked tracker is the server's child, in a session of its
        own, in its folder, with the state home its environment names (where
        a tracker on a fixed port keeps its key); a SIGTERM ends it as it
        ends twistd, once its reactor runs (a node's registration: before,
        a SIGTERM ends any twistd at once, forked or exec'd)."""
        port = freePort()
        tracker = self.start("tracker", "bazaar-tracker", "--listen",
                             f"tcp:{port}:interface=127.0.0.1")
        tracker.waitForEvent(LISTENING_EVENT, TIMEOUT, what="tracker")
        buyer = self.start("buyer", "bazaar-node", "--tracker", f"tcp:127.0.0.1:{port}",
                           "--listen", LOOPBACK_LISTEN, "--role", "buyer", "--want", "apple")
        nodeId(buyer, TIMEOUT)
        self.assertNotEqual(buyer.process.pid, tracker.process.pid)
        pid = tracker.process.pid
        self.assertNotEqual(pid, self.server._process.pid)
        self.assertEqual(parentOf(pid), self.server._process.pid)
        self.assertEqual(os.getsid(pid), pid)
        self.assertEqual(os.readlink(f"/proc/{pid}/cwd"), os.path.realpath(self.folder))
        # Its key, in the state home of its environment (XDG_STATE_HOME).
        self.assertTrue(os.listdir(os.path.join(self.folder, STATE_HOME)))
        self.assertIsNone(tracker.process.poll())
        for daemon in (buyer, tracker):
            daemon.terminate()
            self.assertEqual(daemon.finish(TIMEOUT), TERMINATED)
            self.assertTrue(daemon.exitedCleanly(), daemon.tail())
            self.assertEqual(daemon.problems(), [])

    def test_aUsageError(self):
        """twistd's exit status and its error line, as an exec gives them."""
        node = self.start("node", "bazaar-node", "--role", "wizard")
        self.assertEqual(node.finish(TIMEOUT), 2)
        self.assertIn("twistd bazaar-node: error: unknown role 'wizard'", node.tail())

    def test_theServerEndsAfterItsChildren(self):
        """Closed by its caller, the server reports its child's exit,
        then ends."""
        tracker = self.start("tracker", "bazaar-tracker", "--listen", LOOPBACK_LISTEN)
        tracker.waitForEvent(LISTENING_EVENT, TIMEOUT, what="tracker")
        self.server.close()
        self.assertIsNone(self.server._process.poll())
        tracker.terminate()
        self.assertEqual(tracker.finish(TIMEOUT), TERMINATED)
        self.assertEqual(self.server._process.wait(TIMEOUT), 0)

    def test_aTrackerInANetworkNamespace(self):
        """Behind ``ip netns exec NAME``: the forked tracker is in that
        namespace's network, sees its devices in /sys as ip makes it
        (a mount namespace of its own), and listens at its address."""
        reason = missing()
        if reason is not None:
            raise SkipTest(reason)
        bed = NetBed(tagOf(os.getpid()))
        self.addCleanup(bed.remove)
        host = bed.public("fork")
        tracker = self.start("tracker", "bazaar-tracker", "--listen", "tcp:7700",
                             wrapper=host.wrapper)
        tracker.waitForEvent(LISTENING_EVENT, TIMEOUT, what="tracker", port=7700)
        pid = tracker.process.pid
        self.assertEqual(parentOf(pid), self.server._process.pid)
        self.assertEqual(os.stat(f"/proc/{pid}/ns/net").st_ino,
                         os.stat(f"/run/netns/{host.namespace}").st_ino)
        self.assertNotEqual(os.stat(f"/proc/{pid}/ns/mnt").st_ino,
                            os.stat("/proc/self/ns/mnt").st_ino)
        theirs = set(os.listdir(f"/proc/{pid}/root/sys/class/net"))
        self.assertIn("lo", theirs)
        self.assertNotEqual(theirs, set(os.listdir("/sys/class/net")))
        tracker.terminate()
        self.assertEqual(tracker.finish(TIMEOUT), TERMINATED)


class ForkedCommandTests(SynchronousTestCase):
    def setUp(self):
        self.server = ForkServer()
        self.addCleanup(self.server.close)
        self.bin = os.path.dirname(sys.executable)

    def spawn(self, name, *args, **options):
        return self.server.spawn([os.path.join(self.bin, name), *args], **options)

    def test_aCommandsStreamsAndStatus(self):
        """bazaar-ledger's JSON on stdout, its error line on stderr, apart,
        and its exit status 1; bazaar's usage names it by its argv."""
        with self.spawn("bazaar-ledger", "--json", "/no/such/dir", stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True) as ledger:
            out, err = ledger.communicate(timeout=TIMEOUT)
        self.assertEqual((ledger.returncode, json.loads(out), err),
                         (1, {"error": "/no/such/dir: no such directory"},
                          "bazaar-ledger: error: /no/such/dir: no such directory\n"))
        with self.spawn("bazaar", "--help", stdout=subprocess.PIPE) as helped:
            out, _ = helped.communicate(timeout=TIMEOUT)
        self.assertEqual(helped.returncode, 0)
        self.assertTrue(out.startswith(b"usage: bazaar [-h]"), out[:100])

    def test_aCommandIsAProcessOfItsOwn(self):
        """bazaar status asking a port that never answers: a child of the
        server, in the server's session (none was asked), in the
        caller's folder; a SIGKILL's status."""
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen()
            asking = self.spawn("bazaar", "--tracker", "127.0.0.1:%d" % silent.getsockname()[1],
                                "--timeout", "600", "status", stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
            self.addCleanup(asking.kill)
            pid = asking.pid
            self.assertEqual(parentOf(pid), self.server._process.pid)
            self.assertEqual(os.getsid(pid), os.getsid(self.server._process.pid))
            self.assertEqual(os.readlink(f"/proc/{pid}/cwd"), os.getcwd())
            self.assertIsNone(asking.poll())
            asking.kill()
            self.assertEqual(asking.wait(TIMEOUT), -signal.SIGKILL)

    def test_aPythonScript(self):
        """A test's own ``python SCRIPT.py ARGS``: the argv, path and
        __main__ Python gives a script; its exit status."""
        folder = tempfile.mkdtemp(prefix="bazaar-fork-")
        self.addCleanup(shutil.rmtree, folder, True)
        path = os.path.join(folder, "said.py")
        with open(path, "w") as f:
            f.write("import json, sys\n"
                    "print(json.dumps([sys.argv, sys.path[0], __name__]))\n"
                    "sys.exit(3)\n")
        with self.server.spawn([sys.executable, path, "one", "two"],
                               stdout=subprocess.PIPE, text=True) as said:
            out, _ = said.communicate(timeout=TIMEOUT)
        self.assertEqual((said.returncode, json.loads(out)),
                         (3, [[path, "one", "two"], folder, "__main__"]))
        self.assertIsInstance(said, ForkedProcess)

    def test_runCommand(self):
        """The helpers' runCommand, as subprocess.run: past its bound (at
        least COMMAND_BOUND, here made short) it kills."""
        self.patch(daemons, "COMMAND_BOUND", 1)
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen()
            with self.assertRaises(subprocess.TimeoutExpired):
                runCommand([os.path.join(self.bin, "bazaar"), "--tracker",
                            "127.0.0.1:%d" % silent.getsockname()[1], "--timeout", "600",
                            "status"], capture_output=True, timeout=1)
        done = runCommand([os.path.join(self.bin, "bazaar"), "--bogus"],
                          capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual((done.returncode, done.stdout), (2, ""))
        self.assertIn("bazaar: error:", done.stderr)
