"""
Tests for tests/forkserver.py: which commands it forks rather than execs,
and how a forked daemon's exit status reaches its caller.  (Forking real
daemons: tests/e2e/test_forkserver_live.py.)
"""

import os
import shutil
import signal
import subprocess
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from tests import forkserver
from twisted_bazaar.testing.daemons import twistdPath

#: What L{twisted_bazaar.testing.daemons.Daemon} passes its spawn.
DAEMON_OPTIONS = dict(stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                      stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                      errors="replace", start_new_session=True)
ENVIRON = {"PATH": "/bin", "PYTHONPATH": "/src", "LANG": "C.UTF-8", "TMPDIR": "/t"}


class RecordedPopen:
    """Records each exec in place of L{subprocess.Popen}."""

    def __init__(self):
        self.calls = []

    def __call__(self, command, **options):
        self.calls.append((command, options))
        return "exec'd"


class ForksTests(SynchronousTestCase):
    """Only a command an exec would run the same is forked."""

    def setUp(self):
        self.popen = RecordedPopen()
        self.server = forkserver.ForkServer(environ=ENVIRON, popen=self.popen)
        self.env = dict(ENVIRON, PYTHONUNBUFFERED="1", XDG_STATE_HOME="/d/.state")

    def forks(self, command, env=None, **changed):
        return self.server.forks(command, self.env if env is None else env,
                                 dict(DAEMON_OPTIONS, **changed))

    def test_aDaemonOfAWarmedPlugin(self):
        """twistd -n with a warmed plugin, as the Daemon class starts it;
        a variable of the daemon's own (its state home) is no matter."""
        self.assertTrue(self.forks([twistdPath(), "-n", "bazaar-node", "--role", "buyer"]))
        self.assertTrue(self.forks([twistdPath(), "-n", "bazaar-tracker"]))

    def test_aDaemonInANetworkNamespace(self):
        """Behind ip netns exec NAME: the child enters the namespace."""
        self.assertTrue(self.forks(["ip", "netns", "exec", "ns1", twistdPath(), "-n",
                                    "bazaar-node"]))
        self.assertEqual(forkserver.unwrapped(["ip", "netns", "exec", "ns1", "twistd"]),
                         ("ns1", ["twistd"]))
        self.assertEqual(forkserver.unwrapped(["twistd", "-n"]), (None, ["twistd", "-n"]))

    def test_anotherCommand(self):
        """Another wrapper, another plugin, another program, or twistd
        without -n is exec'd."""
        for command in (["nsenter", "-n", "ns1", twistdPath(), "-n", "bazaar-node"],
                        ["ip", "netns", "exec", "ns1", "sysctl", "-qw"],
                        ["ip", "netns", "exec", "ns1"],
                        [twistdPath(), "-n", "web"],
                        [twistdPath(), "bazaar-node"],
                        ["/usr/bin/twistd", "-n", "bazaar-node"],
                        [twistdPath(), "-n"]):
            self.assertFalse(self.forks(command), command)

    def test_anotherStart(self):
        """A variable Python reads as it starts that differs from the
        server's, buffered output, or no environment: exec'd."""
        command = [twistdPath(), "-n", "bazaar-node"]
        for changed in ({"PYTHONPATH": "/other"}, {"PYTHONHASHSEED": "1"},
                        {"LC_ALL": "C"}, {"TMPDIR": "/elsewhere"},
                        {"PYTHONUNBUFFERED": "0"}):
            self.assertFalse(self.forks(command, dict(self.env, **changed)), changed)
        self.assertFalse(self.server.forks(command, None, DAEMON_OPTIONS))

    def test_otherStreams(self):
        """Output not one merged pipe, stdin not /dev/null, or the
        caller's own session: exec'd."""
        command = [twistdPath(), "-n", "bazaar-node"]
        self.assertFalse(self.forks(command, stderr=subprocess.PIPE))
        self.assertFalse(self.forks(command, stdin=None))
        self.assertFalse(self.forks(command, start_new_session=False))

    def test_anExecIsPopen(self):
        """What is not forked is handed to Popen as given; no server is
        started for it."""
        command = ["ip", "netns", "exec", "ns1", "iptables", "-L"]
        self.assertEqual(self.server.spawn(command, cwd="/d", env=self.env,
                                           **DAEMON_OPTIONS), "exec'd")
        self.assertEqual(self.popen.calls,
                         [(command, dict(DAEMON_OPTIONS, cwd="/d", env=self.env))])

    def test_startSettings(self):
        self.assertEqual(
            forkserver.startSettings({"PYTHONPATH": "a", "PYTHONUNBUFFERED": "1",
                                      "LC_CTYPE": "b", "LANG": "c", "TMPDIR": "d",
                                      "HOME": "e", "XDG_STATE_HOME": "f"}),
            {"PYTHONPATH": "a", "PYTHONUNBUFFERED": "1", "LC_CTYPE": "b", "LANG": "c",
             "TMPDIR": "d"})


class RecordedLibc:
    """The calls L{forkserver.enterNamespace} makes, each answered 0 but
    those named in C{failing}."""

    def __init__(self, failing=()):
        self.calls = []
        self._failing = failing

    def __getattr__(self, name):
        def call(*args):
            self.calls.append((name, *args))
            return -1 if name in self._failing else 0
        return call


class EnterNamespaceTests(SynchronousTestCase):
    """The calls that enter a namespace, in ip netns exec's order."""

    def setUp(self):
        self.run = tempfile.mkdtemp(prefix="bazaar-netns-")
        self.addCleanup(shutil.rmtree, self.run, True)
        open(os.path.join(self.run, "ns1"), "w").close()
        self.etcs = os.path.join(self.run, "etc")

    def test_networkMountsSysAndEtc(self):
        os.makedirs(os.path.join(self.etcs, "ns1"))
        open(os.path.join(self.etcs, "ns1", "resolv.conf"), "w").close()
        libc = RecordedLibc()
        forkserver.enterNamespace("ns1", libc, self.run, self.etcs)
        self.assertEqual([call[0] for call in libc.calls],
                         ["setns", "unshare", "mount", "umount2", "mount", "mount"])
        self.assertEqual(libc.calls[0][2], 0x40000000)
        self.assertEqual(libc.calls[1], ("unshare", 0x00020000))
        self.assertEqual(libc.calls[4], ("mount", b"ns1", b"/sys", b"sysfs", 0, None))
        self.assertEqual(libc.calls[5][1:3], (os.path.join(self.etcs, "ns1",
                                                           "resolv.conf").encode(),
                                              b"/etc/resolv.conf"))

    def test_aFailedSwitchSaysWhy(self):
        error = self.assertRaises(OSError, forkserver.enterNamespace, "ns1",
                                  RecordedLibc(failing=("setns",)), self.run, self.etcs)
        self.assertIn("setns for network namespace ns1", str(error))

    def test_noSuchNamespace(self):
        self.assertRaises(FileNotFoundError, forkserver.enterNamespace, "ns2",
                          RecordedLibc(), self.run, self.etcs)


class ForkedProcessTests(SynchronousTestCase):
    """A forked daemon's status comes through a pipe the server writes."""

    def setUp(self):
        read, self.write = os.pipe()
        self.signals = []
        self.process = forkserver.ForkedProcess(
            ["twistd"], 4242, None, read, kill=lambda pid, signum:
            self.signals.append((pid, signum)))
        self.addCleanup(self.closeWrite)

    def closeWrite(self):
        if self.write is not None:
            os.close(self.write)
            self.write = None

    def exits(self, status):
        os.write(self.write, status)
        self.closeWrite()

    def test_runningUntilTheStatusComes(self):
        self.assertIsNone(self.process.poll())
        self.exits(b"-15\n")
        self.assertEqual(self.process.poll(), -signal.SIGTERM)
        self.assertEqual(self.process.wait(), -signal.SIGTERM)
        self.assertEqual(self.process.returncode, -signal.SIGTERM)

    def test_waitTimesOutAsPopenDoes(self):
        with self.assertRaises(subprocess.TimeoutExpired):
            self.process.wait(0)
        self.exits(b"3\n")
        self.assertEqual(self.process.wait(0), 3)

    def test_signalsOnlyWhileItRuns(self):
        """A signal goes to its pid while it runs, never once its status
        is in (the pid may be another process's by then)."""
        self.process.terminate()
        self.process.kill()
        self.exits(b"-9\n")
        self.process.send_signal(signal.SIGTERM)
        self.assertEqual(self.signals, [(4242, signal.SIGTERM), (4242, signal.SIGKILL)])

    def test_theServerEndedFirst(self):
        """No status before the pipe closed: the status is lost, said so,
        each time asked."""
        self.closeWrite()
        for _ in range(2):
            error = self.assertRaises(forkserver.ForkServerError, self.process.poll)
            self.assertIn("daemon 4242", str(error))
