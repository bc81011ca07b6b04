"""
A fork server for the end-to-end tests' daemons: the suite starts some
500 ``twistd -n bazaar-...`` processes, and each spent about 0.4 of its
0.5 CPU-s of start importing Twisted, cryptography and this project.
Here one process per pytest worker imports them once (twistd and the
plugins it is told to warm, no reactor installed) and forks each daemon,
which then runs twistd's own ``run()`` with the daemon's argv, as the
``twistd`` script does.

A forked daemon is still a process of its own: its own pid, session
(``setsid``), working folder, environment, stdin from /dev/null, stdout
and stderr into the caller's pipe; it takes signals and exits as twistd
does (a SIGTERM ends it "killed by SIGTERM").  The server reaps it and
writes its exit status, as L{subprocess.Popen} reports one (``-SIGNUM``
or the code), into a pipe the caller gave with the request, which
L{ForkedProcess} reads: the caller keeps Popen's interface (pid, stdout,
poll, wait, send_signal, kill, returncode).

Only what an exec'd twistd would do the same is forked (L{ForkServer.
forks}): a command that is this environment's ``twistd -n`` with a warmed
plugin, alone or behind ``ip netns exec NAME`` (the child then enters
the namespace as ``ip`` does: L{enterNamespace}), an unbuffered output, and the same interpreter settings as the server's (every
``PYTHON*``, ``LANG`` and ``LC_*`` variable, ``TMPDIR``), which a
process reads as it starts.  Everything else, and every test marked
``exec_daemons`` (the tests of a daemon's start as a user runs it), is
exec'd as before.  ``BAZAAR_TEST_FORK=0`` execs every daemon, to measure
one way against the other.

Run as ``python -m tests.forkserver FD PLUGIN...`` by L{ForkServer}.
"""

import ctypes
import gc
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading

#: The plugins a server warms: the ones the tests' daemons run.
PLUGINS = ("bazaar-tracker", "bazaar-node")
#: Modules every tracker or node imports once it runs (its default
#: reactor's, without installing it; the QUIC service every node starts;
#: the tracker extensions and the discovery scheme of every default
#: start): imported once in the server, not in each child.
RUNTIME_MODULES = (
    "twisted.internet.epollreactor",
    "twisted_bazaar.daemon.quic",
    "twisted_bazaar.schemes.chord.tracker",
    "twisted_bazaar.schemes.index.tracker",
    "twisted_bazaar.schemes.flood.discovery",
)
#: The wrapper that runs a command in a named network namespace.
NETNS_EXEC = ("ip", "netns", "exec")
#: Where ``ip netns`` keeps its namespaces, and their files for /etc.
NETNS_RUN, NETNS_ETC = "/run/netns", "/etc/netns"
#: Bytes of the largest request (argv, folder and environment as JSON).
LARGEST = 1 << 20
#: Seconds the caller waits for the server's answer to a request: its
#: first answer comes once the server has imported what it warms.
ANSWER_TIMEOUT = 120.0


def _sameStart(variable):
    """Is this a variable a Python process reads as it starts (so a
    forked daemon must have the server's value)?"""
    return variable.startswith(("PYTHON", "LC_")) or variable in ("LANG", "TMPDIR")


def startSettings(environ):
    """The variables of environ a process reads as it starts."""
    return {key: value for key, value in environ.items() if _sameStart(key)}


# -- the server ----------------------------------------------------------------


def warm(plugins, modules=RUNTIME_MODULES):
    """Import twistd and the options of the twistd plugins named, as
    ``twistd PLUGIN`` would before it installs a reactor, and modules."""
    import importlib

    import twisted.scripts.twistd  # noqa: F401  (what every child runs)
    from twisted.application.service import IServiceMaker
    from twisted.plugin import getPlugins

    for maker in getPlugins(IServiceMaker):
        if maker.tapname in plugins:
            maker.options  # noqa: B018  (imports the plugin's module)
    for name in modules:
        importlib.import_module(name)
    if "twisted.internet.reactor" in sys.modules:
        raise RuntimeError("warming installed a reactor: a forked daemon could "
                           "not install its own")


def enterNamespace(name, libc=None, run=NETNS_RUN, etcs=NETNS_ETC):
    """
    Enter the network namespace ``ip netns add NAME`` made, as ``ip netns
    exec NAME`` does before it execs (iproute2's netns_switch): its
    network, a mount namespace of its own whose mounts do not reach back,
    a /sys that shows the namespace's devices, and /etc/netns/NAME's
    files bound over /etc's.

    @param libc: the C library (a test's record of the calls).
    @param run: where the namespaces are; etcs: their /etc files.
    """
    libc = libc or ctypes.CDLL(None, use_errno=True)
    CLONE_NEWNET, CLONE_NEWNS = 0x40000000, 0x00020000
    MS_RDONLY, MS_BIND, MS_REC, MS_SLAVE, MNT_DETACH = 1, 4096, 16384, 1 << 19, 2

    def check(result, what):
        if result != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"{what} for network namespace {name}: "
                          f"{os.strerror(error)}")

    fd = os.open(os.path.join(run, name), os.O_RDONLY | os.O_CLOEXEC)
    try:
        check(libc.setns(fd, CLONE_NEWNET), "setns")
    finally:
        os.close(fd)
    check(libc.unshare(CLONE_NEWNS), "unshare")
    check(libc.mount(b"", b"/", b"none", MS_SLAVE | MS_REC, None), "mount --make-rslave /")
    flags = 0
    if libc.umount2(b"/sys", MNT_DETACH) != 0 and os.statvfs("/sys").f_flag & os.ST_RDONLY:
        flags = MS_RDONLY
    check(libc.mount(name.encode(), b"/sys", b"sysfs", flags, None), "mount /sys")
    etc = os.path.join(etcs, name)
    for entry in sorted(os.listdir(etc)) if os.path.isdir(etc) else ():
        check(libc.mount(os.path.join(etc, entry).encode(),
                         os.path.join("/etc", entry).encode(), b"none", MS_BIND, None),
              f"bind {etc}/{entry}")


class Server:
    """The loop that forks a child for each request and reports its exit."""

    def __init__(self, channel):
        self._channel = channel
        #: The status pipe (its write end) of each child still running.
        self._statuses = {}
        self._wakeRead, self._wakeWrite = os.pipe()
        os.set_blocking(self._wakeWrite, False)

    def serve(self):
        """
        Serve until the caller closes its end and every child has been
        reaped; return the request in a forked child, None in the server.
        """
        signal.set_wakeup_fd(self._wakeWrite)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        selector = selectors.DefaultSelector()
        selector.register(self._channel, selectors.EVENT_READ)
        selector.register(self._wakeRead, selectors.EVENT_READ)
        listening = True
        while listening or self._statuses:
            for key, _ in selector.select():
                if key.fileobj == self._wakeRead:
                    os.read(self._wakeRead, 4096)
                    self._reap()
                    continue
                message, fds, _, _ = socket.recv_fds(self._channel, LARGEST, 2)
                if not message:
                    listening = False
                    selector.unregister(self._channel)
                    continue
                request = json.loads(message)
                if self._fork(request, fds) == 0:
                    selector.close()
                    return request
        return None

    def _fork(self, request, fds):
        output, status = fds
        if not os.path.isdir(request["cwd"]):
            os.close(output)
            os.close(status)
            self._channel.send(json.dumps({"error": f"no folder {request['cwd']}"})
                               .encode())
            return None
        pid = os.fork()
        if pid == 0:
            self._becomeChild(request, output, status)
            return 0
        os.close(output)
        self._statuses[pid] = status
        self._channel.send(json.dumps({"pid": pid}).encode())
        return pid

    def _becomeChild(self, request, output, status):
        """In the child: leave the server's state, take the request's."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for fd in (self._wakeRead, self._wakeWrite, status, *self._statuses.values()):
            os.close(fd)
        self._channel.close()
        os.setsid()
        os.chdir(request["cwd"])
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(null)
        os.close(output)
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = list(request["argv"])
        if request.get("netns"):
            try:
                enterNamespace(request["netns"])
            except OSError as e:
                # As ip netns exec ends when it cannot switch.
                sys.stderr.write(f"{e}\n")
                os._exit(255)

    def _reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            fd = self._statuses.pop(pid, None)
            if fd is not None:
                os.write(fd, b"%d\n" % os.waitstatus_to_exitcode(status))
                os.close(fd)


def main(argv):
    """``FD PLUGIN...``: serve the caller on the socket FD."""
    # Run as `python -m`, the first path is the caller's folder; an
    # exec'd twistd has its script's folder there instead.
    sys.path[0] = os.path.dirname(os.path.abspath(_twistd()))
    channel = socket.socket(fileno=int(argv[0]))
    # Stopped by closing the channel: a signal to the suite's processes
    # reaches the children, whose exits the server then reports.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warm(argv[1:])
    # Out of every collection of the server's and its children's: the
    # children's pages stay shared, and a daemon's one full collection
    # as it starts (tap/heap.py) scans only what it made itself.
    gc.freeze()
    request = Server(channel).serve()
    if request is None:
        return
    import tempfile

    tempfile.tempdir = None
    from twisted.scripts.twistd import run

    sys.exit(run())


def _twistd():
    return os.path.join(os.path.dirname(sys.executable), "twistd")


# -- the caller ----------------------------------------------------------------


def unwrapped(command):
    """(the namespace of ``ip netns exec NAME ...`` or None, the rest)."""
    command = list(command)
    if tuple(command[:3]) == NETNS_EXEC and len(command) > 3:
        return command[3], command[4:]
    return None, command


class ForkServerError(Exception):
    """The fork server could not start a daemon."""


class ForkedProcess:
    """
    A forked daemon, seen as L{subprocess.Popen} shows a child: ``pid``,
    ``args``, ``stdout`` (text), ``returncode``, and poll, wait,
    send_signal, terminate and kill.
    """

    def __init__(self, args, pid, stdout, status, kill=os.kill):
        """
        @param status: the read end of the pipe the server writes the
            exit status into, then closes.
        @param kill: L{os.kill}, or a test's record of the signals.
        """
        self.args = args
        self.pid = pid
        self.stdout = stdout
        self.returncode = None
        self._status = status
        self._kill = kill
        self._lock = threading.Lock()

    def _collect(self, timeout):
        """Read the exit status if it comes within timeout (None: wait)."""
        with self._lock:
            if self.returncode is not None:
                return
            if self._status is None:
                raise ForkServerError(f"the fork server ended before daemon {self.pid} "
                                      "did: its exit status is lost")
            with selectors.DefaultSelector() as selector:
                selector.register(self._status, selectors.EVENT_READ)
                if not selector.select(timeout):
                    return
            text = b""
            while chunk := os.read(self._status, 64):
                text += chunk
            os.close(self._status)
            self._status = None
            if not text:
                raise ForkServerError(f"the fork server ended before daemon {self.pid} "
                                      "did: its exit status is lost")
            self.returncode = int(text)

    def poll(self):
        self._collect(0)
        return self.returncode

    def wait(self, timeout=None):
        self._collect(timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(self.args, timeout)
        return self.returncode

    def send_signal(self, signum):
        # Never once its status is in: its pid may be another's by then.
        if self.poll() is None:
            self._kill(self.pid, signum)

    def terminate(self):
        self.send_signal(signal.SIGTERM)

    def kill(self):
        self.send_signal(signal.SIGKILL)


class ForkServer:
    """The caller's side: starts the server when first asked to fork."""

    def __init__(self, plugins=PLUGINS, environ=os.environ, popen=subprocess.Popen):
        self._plugins = tuple(plugins)
        self._environ = environ
        self._popen = popen
        self._process = None
        self._channel = None
        #: The start settings (L{startSettings}) of the server once started.
        self._settings = None
        self._lock = threading.Lock()

    def _serverEnvironment(self):
        return dict(self._environ, PYTHONUNBUFFERED="1")

    def forks(self, command, env, options):
        """Would an exec of this command run as a fork of the server does?"""
        command = unwrapped(command)[1]
        return (len(command) > 2 and command[0] == _twistd() and command[1] == "-n"
                and command[2] in self._plugins and env is not None
                and env.get("PYTHONUNBUFFERED") == "1"
                and startSettings(env) == (self._settings or
                                           startSettings(self._serverEnvironment()))
                and options.get("stdin") == subprocess.DEVNULL
                and options.get("stdout") == subprocess.PIPE
                and options.get("stderr") == subprocess.STDOUT
                and options.get("start_new_session") is True)

    def spawn(self, command, cwd=None, env=None, **options):
        """L{subprocess.Popen}'s signature: a fork where L{forks} says it
        runs the same, else an exec."""
        if not self.forks(command, env, options):
            return self._popen(command, cwd=cwd, env=env, **options)
        read, write = os.pipe()
        statusRead, statusWrite = os.pipe()
        try:
            namespace, argv = unwrapped(command)
            request = json.dumps({"argv": list(argv), "cwd": os.path.abspath(cwd or "."),
                                  "env": dict(env), "netns": namespace}).encode()
            with self._lock:
                channel = self._started()
                socket.send_fds(channel, [request], [write, statusWrite])
                answer = channel.recv(LARGEST)
        except BaseException:
            for fd in (read, statusRead):
                os.close(fd)
            raise
        finally:
            os.close(write)
            os.close(statusWrite)
        if not answer:
            os.close(read)
            os.close(statusRead)
            raise ForkServerError("the fork server ended (its errors are in the "
                                  "suite's output); BAZAAR_TEST_FORK=0 execs each daemon")
        answer = json.loads(answer)
        if "error" in answer:
            os.close(read)
            os.close(statusRead)
            raise FileNotFoundError(answer["error"])
        stdout = open(read, encoding=options.get("encoding"),
                      errors=options.get("errors"))
        return ForkedProcess(list(command), answer["pid"], stdout, statusRead)

    def _started(self):
        if self._channel is None:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            ours.settimeout(ANSWER_TIMEOUT)
            root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            environment = self._serverEnvironment()
            self._settings = startSettings(environment)
            self._process = self._popen(
                [sys.executable, "-m", "tests.forkserver", str(theirs.fileno()),
                 *self._plugins], cwd=root, pass_fds=[theirs.fileno()],
                env=environment,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                start_new_session=True)
            theirs.close()
            self._channel = ours
        return self._channel

    def close(self):
        """Close the channel: the server ends once its children have."""
        with self._lock:
            if self._channel is not None:
                self._channel.close()
                self._channel = None


if __name__ == "__main__":
    main(sys.argv[1:])
