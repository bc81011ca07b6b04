"""
A fork server for the end-to-end tests' daemons and commands: the suite
starts some 500 ``twistd -n bazaar-...`` processes, and each spent about
0.4 of its 0.5 CPU-s of start importing Twisted, cryptography and this
project; some 150 runs of ``bazaar`` and ``bazaar-ledger`` spent about
0.3 CPU-s each so.  Here one process per pytest worker imports them
once (twistd, the plugins it is told to warm and the commands' modules,
no reactor installed) and forks each daemon, which then runs twistd's
own ``run()`` with the daemon's argv, as the ``twistd`` script does, or
each command, which runs its console script (L{SCRIPTS}) as Python runs
a script.

A forked process is still a process of its own: its own pid, working
folder, environment, argv, standard streams as L{subprocess.Popen} makes
them (a pipe, /dev/null, the caller's own, stderr into stdout), and its
session: a new one where asked (``start_new_session``), else the
server's (an exec'd command shares the caller's process group, so a
Ctrl-C at the terminal reaches it; a forked one gets the suite's SIGTERM
instead: L{twisted_bazaar.testing.stopping}).  It takes signals and
exits as the program does (a SIGTERM ends twistd "killed by SIGTERM").
The server reaps it and writes its exit status, as Popen reports one
(``-SIGNUM`` or the code), into a pipe the caller gave with the request,
which L{ForkedProcess} reads: the caller keeps Popen's interface (pid,
stdin, stdout, stderr, poll, wait, communicate, send_signal, kill,
returncode).

Only what an exec would run the same is forked (L{ForkServer.forks}): a
command that is this environment's ``twistd -n`` with a warmed plugin,
or one of its L{SCRIPTS}, or this interpreter's ``python SCRIPT.py`` (a
test's own script), alone or behind ``ip netns exec NAME`` (the
child then enters the namespace as ``ip`` does: L{enterNamespace}), with
the same interpreter settings as the server's (every ``PYTHON*``,
``LANG`` and ``LC_*`` variable, ``TMPDIR``), which a process reads as it
starts, but for ``PYTHONUNBUFFERED``, by which the child makes its
streams as Python would (L{standardStreams}), and no option of Popen's
but its streams, text mode and session (L{FORKED_OPTIONS}).  Everything
else (``preexec_fn``, other variables), and every test marked
``exec_daemons`` (the tests of a daemon's or a command's start as a user
runs it), is exec'd as before.  ``BAZAAR_TEST_FORK=0`` execs every one,
to measure one way against the other.

Run as ``python -m tests.forkserver FD PLUGIN...`` by L{ForkServer}.
"""

import ctypes
import gc
import io
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time

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
#: The console scripts forked (their names in the environment's bin
#: folder): the commands the end-to-end tests run, and the modules they
#: import once their arguments are parsed, warmed in the server.
SCRIPTS = ("bazaar", "bazaar-ledger")
SCRIPT_MODULES = (
    "twisted_bazaar.cli.bazaar",
    "twisted_bazaar.cli.buy",
    "twisted_bazaar.cli.ledger",
)
#: The options of L{subprocess.Popen} a fork honours as an exec would;
#: any other (``preexec_fn``, ``pass_fds``, ...) has the command exec'd.
FORKED_OPTIONS = frozenset(("stdin", "stdout", "stderr", "text", "universal_newlines",
                            "encoding", "errors", "start_new_session"))
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


#: The one start setting a forked child takes as its own: it makes its
#: standard streams by it (L{standardStreams}).
UNBUFFERED = "PYTHONUNBUFFERED"


def startSettings(environ):
    """The variables of environ a process reads as it starts."""
    return {key: value for key, value in environ.items() if _sameStart(key)}


# -- the server ----------------------------------------------------------------


def warm(plugins, modules=RUNTIME_MODULES + SCRIPT_MODULES):
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
    # qh3's native crypto sets itself up at a process's first key
    # exchange, which every node's QUIC socket makes as it starts: made
    # here, a forked child's costs 16 ms rather than 32 (medians of 15
    # forks each, load 17); each child still draws keys of its own.
    from twisted_bazaar.transports.quic.stack import warmUp

    warmUp()
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


def standardStreams(environ, like, fds=(0, 1, 2)):
    """
    sys.stdin, sys.stdout and sys.stderr over fds 0, 1 and 2, as Python
    makes them as it starts in environ (CPython's create_stdio): stdin
    buffered; stdout buffered, by lines on a terminal; stderr by lines;
    both unbuffered with ``PYTHONUNBUFFERED``.  Their encoding and
    errors are those of the streams ``like`` (the server's: it started
    with the same locale and ``PYTHONIOENCODING``).

    @param fds: the fds of stdin, stdout and stderr (a test's pipes).
    """
    unbuffered = bool(environ.get(UNBUFFERED))
    streams = []
    for number, (fd, model) in enumerate(zip(fds, like)):
        writing = number > 0
        raw = open(fd, "wb" if writing else "rb", closefd=False,
                   buffering=0 if writing and unbuffered else -1)
        streams.append(io.TextIOWrapper(
            raw, encoding=model.encoding, errors=model.errors, newline="\n",
            line_buffering=writing and not unbuffered and (number == 2 or os.isatty(fd)),
            write_through=writing and unbuffered))
    return streams


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
                message, fds, _, _ = socket.recv_fds(self._channel, LARGEST, 4)
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
        *streams, status = fds
        if not os.path.isdir(request["cwd"]):
            for fd in fds:
                os.close(fd)
            self._channel.send(json.dumps({"error": f"no folder {request['cwd']}"})
                               .encode())
            return None
        pid = os.fork()
        if pid == 0:
            self._becomeChild(request, streams, status)
            return 0
        for fd in streams:
            os.close(fd)
        self._statuses[pid] = status
        self._channel.send(json.dumps({"pid": pid}).encode())
        return pid

    def _becomeChild(self, request, streams, status):
        """In the child: leave the server's state, take the request's
        (streams: the fds of its stdin, stdout and stderr)."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        # A daemon starts as from a terminal whatever the suite runs
        # under: a suite started with nohup left its SIGHUP ignored, and a
        # daemon keeps an ignored SIGHUP ignored (tap/stopsignals.py).
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        for fd in (self._wakeRead, self._wakeWrite, status, *self._statuses.values()):
            os.close(fd)
        self._channel.close()
        if request["session"]:
            os.setsid()
        os.chdir(request["cwd"])
        for target, fd in enumerate(streams):
            os.dup2(fd, target)
        for fd in set(streams) - {0, 1, 2}:
            os.close(fd)
        os.environ.clear()
        os.environ.update(request["env"])
        streams = standardStreams(os.environ, (sys.stdin, sys.stdout, sys.stderr))
        sys.stdin, sys.stdout, sys.stderr = streams
        sys.__stdin__, sys.__stdout__, sys.__stderr__ = streams
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
    if request["kind"] == SCRIPT:
        import runpy

        # As Python runs a script: its folder first on the path, its
        # code as __main__ (a console script calls sys.exit itself).
        sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))
        runpy.run_path(sys.argv[0], run_name="__main__")
        sys.exit(0)
    from twisted.scripts.twistd import run

    sys.exit(run())


def _twistd():
    return os.path.join(os.path.dirname(sys.executable), "twistd")


def _scripts():
    """The paths of the console scripts forked (L{SCRIPTS})."""
    return {os.path.join(os.path.dirname(sys.executable), name) for name in SCRIPTS}


#: What a request runs: twistd's run(), or a console script.
TWISTD, SCRIPT = "twistd", "script"


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
    A forked process, seen as L{subprocess.Popen} shows a child: ``pid``,
    ``args``, ``stdin``, ``stdout``, ``stderr`` (files, or None),
    ``returncode``, and poll, wait, communicate, send_signal, terminate
    and kill; a context manager as Popen is.
    """

    def __init__(self, args, pid, status, stdin=None, stdout=None, stderr=None,
                 kill=os.kill):
        """
        @param status: the read end of the pipe the server writes the
            exit status into, then closes.
        @param kill: L{os.kill}, or a test's record of the signals.
        """
        self.args = args
        self.pid = pid
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.returncode = None
        self._status = status
        self._kill = kill
        self._lock = threading.Lock()
        #: What L{communicate} has read of each output so far (bytes).
        self._read = {}

    def _collect(self, timeout):
        """Read the exit status if it comes within timeout (None: wait)."""
        with self._lock:
            if self.returncode is not None:
                return
            if self._status is None:
                raise ForkServerError(f"the fork server ended before process {self.pid} "
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
                raise ForkServerError(f"the fork server ended before process {self.pid} "
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

    def communicate(self, input=None, timeout=None):
        """
        As L{subprocess.Popen.communicate}: write input to stdin (a pipe)
        and close it, read stdout and stderr (pipes) to their end, wait
        for the exit; (stdout, stderr), None for one not a pipe.  Past
        timeout, L{subprocess.TimeoutExpired}, and what was read is kept
        for the next call.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        outputs = [stream for stream in (self.stdout, self.stderr)
                   if stream is not None and not stream.closed]
        pending = _encoded(self.stdin, input) if self.stdin is not None else b""
        with selectors.DefaultSelector() as selector:
            if self.stdin is not None and not self.stdin.closed:
                self.stdin.flush()
                if pending:
                    selector.register(self.stdin, selectors.EVENT_WRITE)
                else:
                    self.stdin.close()
            for stream in outputs:
                selector.register(stream, selectors.EVENT_READ)
            while selector.get_map():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise subprocess.TimeoutExpired(self.args, timeout)
                for key, _ in selector.select(left):
                    if key.fileobj is self.stdin:
                        try:
                            pending = pending[os.write(self.stdin.fileno(), pending[:512]):]
                        except BrokenPipeError:
                            pending = b""
                        if not pending:
                            selector.unregister(self.stdin)
                            self.stdin.close()
                        continue
                    chunk = os.read(key.fd, 32768)
                    if chunk:
                        self._read.setdefault(key.fileobj, []).append(chunk)
                    else:
                        selector.unregister(key.fileobj)
                        key.fileobj.close()
        self.wait(None if deadline is None else max(0, deadline - time.monotonic()))
        return tuple(None if stream is None else
                     _decoded(stream, b"".join(self._read.get(stream, ())))
                     for stream in (self.stdout, self.stderr))

    def send_signal(self, signum):
        # Never once its status is in: its pid may be another's by then.
        if self.poll() is None:
            self._kill(self.pid, signum)

    def terminate(self):
        self.send_signal(signal.SIGTERM)

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def __enter__(self):
        return self

    def __exit__(self, *failure):
        for stream in (self.stdout, self.stderr, self.stdin):
            if stream is not None:
                try:
                    stream.close()
                except BrokenPipeError:
                    pass
        self.wait()


def _encoded(stream, data):
    """Bytes to write to a stream of ours (text or binary)."""
    if data is None:
        return b""
    if isinstance(stream, io.TextIOBase):
        return data.encode(stream.encoding, stream.errors)
    return bytes(data)


def _decoded(stream, data):
    """What a read of a stream of ours (text: newlines translated, as
    Popen's) gives for the bytes data."""
    if not isinstance(stream, io.TextIOBase):
        return data
    return io.TextIOWrapper(io.BytesIO(data), encoding=stream.encoding,
                            errors=stream.errors).read()


def _textMode(options):
    """Does Popen open the caller's pipes as text?"""
    return bool(options.get("text") or options.get("universal_newlines")
                or options.get("encoding") or options.get("errors"))


def _end(spec, fd):
    """Is spec a stream a fork gives as Popen would (None: the caller's)?"""
    return spec in (None, subprocess.PIPE, subprocess.DEVNULL) or (
        fd == 2 and spec == subprocess.STDOUT) or (
        isinstance(spec, int) and spec >= 0) or hasattr(spec, "fileno")


class _Streams:
    """The child's ends of its standard streams, and the caller's files
    of its pipes, as L{subprocess.Popen} makes them."""

    def __init__(self, options):
        self.child = []
        #: The fds of ours to close once the request is sent.
        self.sent = []
        self.ours = [None, None, None]
        try:
            for fd, name in enumerate(("stdin", "stdout", "stderr")):
                self.child.append(self._end(fd, options.get(name), options))
        except BaseException:
            self.close()
            raise

    def _end(self, fd, spec, options):
        if spec is None:
            return fd
        if fd == 2 and spec == subprocess.STDOUT:
            return self.child[1]
        if spec == subprocess.DEVNULL:
            end = os.open(os.devnull, os.O_RDWR)
        elif spec == subprocess.PIPE:
            read, write = os.pipe()
            mine, end = (write, read) if fd == 0 else (read, write)
            text = _textMode(options)
            self.ours[fd] = open(mine, ("w" if fd == 0 else "r") + ("" if text else "b"),
                                 encoding=options.get("encoding") if text else None,
                                 errors=options.get("errors") if text else None)
        else:
            return spec if isinstance(spec, int) else spec.fileno()
        self.sent.append(end)
        return end

    def closeSent(self):
        for fd in self.sent:
            os.close(fd)
        self.sent = []

    def close(self):
        self.closeSent()
        for stream in self.ours:
            if stream is not None:
                stream.close()


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

    def _kind(self, command):
        """What runs command in a fork (L{TWISTD}, L{SCRIPT}), or None."""
        command = unwrapped(command)[1]
        if (len(command) > 2 and command[0] == _twistd() and command[1] == "-n"
                and command[2] in self._plugins):
            return TWISTD
        if command and command[0] in _scripts():
            return SCRIPT
        if _pythonScript(command):
            return SCRIPT
        return None

    def forks(self, command, env, options):
        """Would an exec of this command run as a fork of the server does?
        What runs it so (L{TWISTD}, L{SCRIPT}), or None."""
        kind = self._kind(command)
        env = self._environ if env is None else env
        settings = self._settings or startSettings(self._serverEnvironment())
        if (kind is None or not set(options) <= FORKED_OPTIONS
                or not all(_end(options.get(name), fd) for fd, name in
                           enumerate(("stdin", "stdout", "stderr")))
                or _withoutUnbuffered(startSettings(env)) != _withoutUnbuffered(settings)):
            return None
        return kind

    def spawn(self, command, cwd=None, env=None, **options):
        """L{subprocess.Popen}'s signature: a fork where L{forks} says it
        runs the same, else an exec."""
        kind = self.forks(command, env, options)
        if kind is None:
            return self._popen(command, cwd=cwd, env=env, **options)
        env = dict(self._environ if env is None else env)
        streams = _Streams(options)
        statusRead, statusWrite = os.pipe()
        try:
            namespace, argv = unwrapped(command)
            if _pythonScript(argv):
                # As Python gives a script its argv: the interpreter left out.
                argv = argv[1:]
            request = json.dumps({"argv": list(argv), "cwd": os.path.abspath(cwd or "."),
                                  "env": env, "netns": namespace, "kind": kind,
                                  "session": bool(options.get("start_new_session"))}
                                 ).encode()
            with self._lock:
                channel = self._started()
                socket.send_fds(channel, [request], [*streams.child, statusWrite])
                answer = channel.recv(LARGEST)
            if not answer:
                raise ForkServerError("the fork server ended (its errors are in the "
                                      "suite's output); BAZAAR_TEST_FORK=0 execs each "
                                      "daemon")
            answer = json.loads(answer)
            if "error" in answer:
                raise FileNotFoundError(answer["error"])
        except BaseException:
            streams.close()
            os.close(statusRead)
            raise
        finally:
            streams.closeSent()
            os.close(statusWrite)
        return ForkedProcess(list(command), answer["pid"], statusRead, *streams.ours)

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


def _pythonScript(command):
    """Is command ``python SCRIPT.py ARGS`` of this interpreter (no
    option of Python's: ``-c``, ``-m``, ...)?  A test's own Python script
    (tests/e2e/hellopeer.py and the like), forked as a console script is."""
    return (len(command) > 1 and command[0] == sys.executable
            and command[1].endswith(".py") and not command[1].startswith("-"))


def _withoutUnbuffered(settings):
    """Start settings but the one a child takes as its own (L{UNBUFFERED})."""
    return {key: value for key, value in settings.items() if key != UNBUFFERED}


if __name__ == "__main__":
    main(sys.argv[1:])
