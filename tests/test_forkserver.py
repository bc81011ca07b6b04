"""
Tests for tests/forkserver.py: which commands it forks rather than execs,
the streams a forked process has, and how its output and exit status
reach its caller.  (Forking real daemons and commands:
tests/e2e/test_forkserver_live.py.)
"""

import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from tests import forkserver
from twisted_bazaar.testing.daemons import twistdPath

#: What L{twisted_bazaar.testing.daemons.Daemon} passes its spawn.
DAEMON_OPTIONS = dict(stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                      stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                      errors="replace", start_new_session=True)
ENVIRON = {"PATH": "/bin", "PYTHONPATH": "/src", "LANG": "C.UTF-8", "TMPDIR": "/t"}
#: What runCommand passes for subprocess.run(..., capture_output=True, text=True).
CAPTURED = dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def script(name):
    """The path of a console script of this environment."""
    return os.path.join(os.path.dirname(sys.executable), name)


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
        self.assertEqual(self.forks([twistdPath(), "-n", "bazaar-node", "--role", "buyer"]),
                         forkserver.TWISTD)
        self.assertEqual(self.forks([twistdPath(), "-n", "bazaar-tracker"]),
                         forkserver.TWISTD)

    def test_aConsoleScript(self):
        """bazaar and bazaar-ledger of this environment, with the caller's
        environment (None) or one of the same start, their output
        captured apart or left the caller's, in a network namespace too:
        forked, as scripts."""
        for command in ([script("bazaar"), "status"], [script("bazaar-ledger"), "d"],
                        ["ip", "netns", "exec", "ns1", script("bazaar"), "list"]):
            for env in (None, self.env):
                for options in (CAPTURED, {}, dict(stdin=subprocess.DEVNULL,
                                                   stdout=subprocess.PIPE,
                                                   stderr=subprocess.STDOUT)):
                    self.assertEqual(self.server.forks(command, env, options),
                                     forkserver.SCRIPT, (command, env, options))

    def test_aPythonScript(self):
        """This interpreter running a test's script: forked, as a script."""
        for command in ([sys.executable, "/t/e2e/hellopeer.py", "relay"],
                        ["ip", "netns", "exec", "ns1", sys.executable, "peer.py"]):
            self.assertEqual(self.server.forks(command, None, CAPTURED), forkserver.SCRIPT)

    def test_anotherScript(self):
        """Another console script (bazaar-sim starts Dask's processes), one
        of another environment, Python with an option of its own or
        another Python: exec'd."""
        for command in ([script("bazaar-sim"), "run"], ["/usr/bin/bazaar", "status"],
                        [sys.executable, script("bazaar"), "status"], [],
                        [sys.executable, "-c", "print(1)"], [sys.executable, "-m", "x.py"],
                        [sys.executable, "-u", "peer.py"], ["/usr/bin/python3", "peer.py"],
                        [sys.executable]):
            self.assertIsNone(self.server.forks(command, None, CAPTURED), command)

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
        server's: exec'd; but buffered output or not, which the child
        makes its streams by (standardStreams), and the caller's own
        environment (None) is forked."""
        command = [twistdPath(), "-n", "bazaar-node"]
        for changed in ({"PYTHONPATH": "/other"}, {"PYTHONHASHSEED": "1"},
                        {"LC_ALL": "C"}, {"TMPDIR": "/elsewhere"}):
            self.assertIsNone(self.forks(command, dict(self.env, **changed)), changed)
        without = {key: value for key, value in self.env.items()
                   if key != "PYTHONUNBUFFERED"}
        for env in (dict(self.env, PYTHONUNBUFFERED="0"), without):
            self.assertEqual(self.forks(command, env), forkserver.TWISTD)
        self.assertEqual(self.server.forks(command, None, DAEMON_OPTIONS),
                         forkserver.TWISTD)

    def test_otherStreams(self):
        """Streams as Popen makes them (a pipe, /dev/null, the caller's,
        an fd or a file of its), in the caller's session or a new one:
        forked; an option a fork does not honour: exec'd."""
        command = [twistdPath(), "-n", "bazaar-node"]
        with open(os.devnull, "w") as null:
            for changed in (dict(stderr=subprocess.PIPE), dict(stdin=None),
                            dict(stdout=null), dict(stdout=null.fileno()),
                            dict(start_new_session=False)):
                self.assertEqual(self.forks(command, **changed), forkserver.TWISTD,
                                 changed)
        for changed in (dict(preexec_fn=os.getpid), dict(pass_fds=[3]),
                        dict(stdin=subprocess.STDOUT), dict(stdout=subprocess.STDOUT),
                        dict(close_fds=False), dict(user="nobody")):
            self.assertIsNone(self.forks(command, **changed), changed)

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


class StandardStreamsTests(SynchronousTestCase):
    """A forked child's sys.stdin, stdout and stderr, made as Python
    makes them in its environment."""

    def setUp(self):
        self.pipes = [os.pipe() for _ in range(3)]
        for read, write in self.pipes:
            self.addCleanup(os.close, read)
            self.addCleanup(os.close, write)
        self.fds = [self.pipes[0][0], self.pipes[1][1], self.pipes[2][1]]
        self.like = [io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors=errors)
                     for errors in ("strict", "strict", "backslashreplace")]

    def streams(self, environ):
        streams = forkserver.standardStreams(environ, self.like, self.fds)
        # Closed without closing the pipes' fds (closefd=False).
        for stream in streams:
            self.addCleanup(stream.close)
        return streams

    def written(self, number):
        """What reached the pipe of stdout (1) or stderr (2)."""
        os.set_blocking(self.pipes[number][0], False)
        try:
            return os.read(self.pipes[number][0], 100)
        except BlockingIOError:
            return b""

    def test_buffered(self):
        """Without PYTHONUNBUFFERED: stdout holds a line until flushed (a
        pipe is no terminal), stderr gives each line."""
        stdin, stdout, stderr = self.streams({})
        stdout.write("held\n")
        stderr.write("said\n")
        self.assertEqual((self.written(1), self.written(2)), (b"", b"said\n"))
        stdout.flush()
        self.assertEqual(self.written(1), b"held\n")
        self.assertEqual((stdout.errors, stderr.errors), ("strict", "backslashreplace"))

    def test_unbuffered(self):
        """With PYTHONUNBUFFERED: each write reaches the pipe at once."""
        stdin, stdout, stderr = self.streams({"PYTHONUNBUFFERED": "1"})
        stdout.write("at once")
        stderr.write("too")
        self.assertEqual((self.written(1), self.written(2)), (b"at once", b"too"))

    def test_stdinReads(self):
        stdin = self.streams({})[0]
        os.write(self.pipes[0][1], b"a line\n")
        self.assertEqual(stdin.readline(), "a line\n")


class StreamsTests(SynchronousTestCase):
    """The child's ends of its streams, as Popen would give them."""

    def streams(self, **options):
        streams = forkserver._Streams(options)
        self.addCleanup(streams.close)
        return streams

    def test_theCallersOwn(self):
        streams = self.streams()
        self.assertEqual((streams.child, streams.ours, streams.sent),
                         ([0, 1, 2], [None, None, None], []))

    def test_pipes(self):
        """stdin a pipe the caller writes, stdout and stderr pipes it reads
        (text as asked); stderr into stdout's pipe."""
        streams = self.streams(stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        self.assertEqual(len(set(streams.sent)), 3)
        self.assertTrue(streams.ours[0].writable())
        self.assertIsInstance(streams.ours[1], io.TextIOBase)
        os.write(streams.child[2], b"err")
        os.close(streams.child[2])
        streams.sent.remove(streams.child[2])
        self.assertEqual(streams.ours[2].read(), "err")
        merged = self.streams(stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(merged.child[1], merged.child[2])
        self.assertNotIsInstance(merged.ours[1], io.TextIOBase)

    def test_devnull(self):
        streams = self.streams(stdin=subprocess.DEVNULL)
        self.assertEqual(os.readlink(f"/proc/self/fd/{streams.child[0]}"), os.devnull)
        streams.closeSent()
        self.assertEqual(streams.sent, [])


class ForkedProcessTests(SynchronousTestCase):
    """A forked daemon's status comes through a pipe the server writes."""

    def setUp(self):
        read, self.write = os.pipe()
        self.signals = []
        self.process = forkserver.ForkedProcess(
            ["twistd"], 4242, read, kill=lambda pid, signum:
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
            self.assertIn("process 4242", str(error))


class CommunicateTests(SynchronousTestCase):
    """communicate, as Popen's: input in, both outputs to their end, the
    exit status; past its timeout, what was read is kept."""

    def setUp(self):
        self.pipes = {name: os.pipe() for name in ("status", "in", "out", "err")}
        self.open = {fd for pair in self.pipes.values() for fd in pair}
        self.addCleanup(self.closeAll)
        self.process = forkserver.ForkedProcess(
            ["bazaar"], 4242, self.pipes["status"][0],
            stdin=open(self.pipes["in"][1], "w"), stdout=open(self.pipes["out"][0], "r"),
            stderr=open(self.pipes["err"][0], "rb"))
        self.open -= {self.pipes[name][end] for name, end in
                      (("status", 0), ("in", 1), ("out", 0), ("err", 0))}
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            self.addCleanup(stream.close)

    def closeAll(self):
        for fd in self.open:
            os.close(fd)
        self.open = set()

    def child(self, name, data):
        os.write(self.pipes[name][1], data)

    def ends(self, *names):
        for name in names:
            fd = self.pipes[name][1]
            os.close(fd)
            self.open.discard(fd)

    def test_inputOutputsAndStatus(self):
        """Its input reaches stdin, which is closed; text read as text,
        its newlines translated; bytes as bytes."""
        self.child("out", b"one\r\ntwo\n")
        self.child("err", b"\xff")
        self.child("status", b"1\n")
        self.ends("out", "err", "status")
        self.assertEqual(self.process.communicate("typed", timeout=60),
                         ("one\ntwo\n", b"\xff"))
        self.assertEqual(self.process.returncode, 1)
        self.assertTrue(self.process.stdin.closed)
        self.assertEqual(os.read(self.pipes["in"][0], 100), b"typed")

    def test_timeoutKeepsWhatWasRead(self):
        self.child("out", b"part ")
        with self.assertRaises(subprocess.TimeoutExpired):
            self.process.communicate(timeout=0.01)
        self.child("out", b"whole")
        self.child("status", b"0\n")
        self.ends("out", "err", "status")
        self.assertEqual(self.process.communicate(timeout=60), ("part whole", b""))
