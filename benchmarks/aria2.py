"""
transfer_vs_aria2: the same file downloaded, side by side in the same run,
by C{aria2c} from nginx over plain HTTP with a SHA-256 check, and by a
buyer daemon from a seller daemon, verified by the hash tree.  The figure
is aria2's wall time over ours (the median of paired repeats): 1 or more
means the project is at least as fast as the tool a user would pick
instead.

aria2 (C{aria2c}, Debian package ``aria2``) runs as a user runs it:
``aria2c --checksum=sha-256=HEX URL`` with the options in L{aria2Command},
timed from its start to its exit: its own start counts (the JSON keeps
the time of ``aria2c --version``, a few ms, as ``aria2_start_s``), and
so does its verification pass over the file after the download.  The
HTTP server is nginx (Debian package ``nginx``) with ``sendfile on``: it
sends from the page cache with the same system call as the seller does,
in C, so the two servers cost about the same and the figure compares the
two downloaders.  (twisted.web's static C{File} would read and write
64 KiB at a time in Python, slower than the seller: it would flatter us.)

Ours: the time from the buyer's ``fetching`` log line to its
``downloaded ... content id verified`` line, as in L{benchmarks.transfer}:
connecting, the description and its check against the identity, the
pieces, their hashes, the writes, the fsync and the rename.  Both end
with the file on disk: aria2 fsyncs it too, once it is checked.

Each repeat downloads with aria2 and then with a new buyer, into the
same scratch folder; each downloaded copy is removed before the next
download starts, so neither inherits the other's dirty pages.  Nothing
is installed here: without aria2c or nginx the figure is skipped, and
its note says how to get them.
"""

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from benchmarks.harness import Figure, market, median, pairedRatio
from benchmarks.transfer import TIMEOUT, fetchOnce, writeFile
from twisted_bazaar.testing.daemons import nodeId

GOAL = (">=", 1.0)
FULL_SIZE = 1024 * 1024 * 1024
QUICK_SIZE = 256 * 1024 * 1024
REPEATS, QUICK_REPEATS = 5, 3
#: Seconds nginx gets to listen.
START_TIMEOUT = 10.0
#: Where Debian puts nginx, which a user's PATH may lack.
SBIN = ("/usr/sbin", "/sbin")
#: What to install for each tool, on Debian.
PACKAGES = {"aria2c": "aria2", "nginx": "nginx"}


def findTool(name):
    """The path of a program, also looked for in the sbin folders."""
    path = os.pathsep.join([os.environ.get("PATH", os.defpath), *SBIN])
    return shutil.which(name, path=path)


def missingTools(find=None):
    """None if aria2c and nginx are both there (``find``, L{findTool} by
    default, finds them), else why the figure is skipped and how to get
    what is missing."""
    find = find or findTool
    missing = [name for name in PACKAGES if find(name) is None]
    if not missing:
        return None
    packages = " ".join(PACKAGES[name] for name in missing)
    return (f"skipped: {' and '.join(missing)} not found (Debian: "
            f"apt-get install {packages})")


def freePort():
    """A loopback port free a moment ago (nginx cannot listen on port 0
    and say which it got)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginxConfig(folder, root, port, root_user):
    """
    An nginx configuration that serves the files of ``root`` on
    127.0.0.1:port with sendfile, one worker, no access log, every path
    it writes in ``folder``.

    @param root_user: nginx runs as root (as in a container): its worker
        would then switch to ``nobody``, who may not read a scratch folder
        (mkdtemp makes them 0700), so the worker stays root.
    """
    temp = os.path.join(folder, "temp")
    temps = "\n".join(f"    {kind}_temp_path {temp};"
                      for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if root_user else ""
    return f"""\
{user}worker_processes 1;
daemon off;
pid {os.path.join(folder, "nginx.pid")};
error_log {os.path.join(folder, "error.log")} warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
{temps}
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


def _listening(port, process, timeout):
    """Wait until something accepts on port (True), or the process exits
    or the time is up (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(
                ("127.0.0.1", port), timeout=1):
            return True
        time.sleep(0.05)
    return False


@contextlib.contextmanager
def nginx(root, attempts=3):
    """Serve the folder ``root`` with nginx on a free loopback port; yield
    the port.  nginx is stopped and its scratch folder removed on the way
    out."""
    folder = tempfile.mkdtemp(prefix="bazaar-bench-nginx-")
    os.makedirs(os.path.join(folder, "temp"))
    conf = os.path.join(folder, "nginx.conf")
    process = None
    try:
        for _ in range(attempts):
            port = freePort()
            with open(conf, "w", encoding="utf-8") as f:
                f.write(nginxConfig(folder, root, port, os.geteuid() == 0))
            process = subprocess.Popen(
                [findTool("nginx"), "-p", folder, "-e", os.path.join(folder, "error.log"),
                 "-c", conf], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True)
            if _listening(port, process, START_TIMEOUT):
                break
            _stop(process)
            process = None
        else:
            with open(os.path.join(folder, "error.log"), encoding="utf-8",
                      errors="replace") as f:
                raise RuntimeError(f"nginx did not start: {f.read()[-500:]}")
        yield port
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def _stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGQUIT)  # nginx's graceful stop
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def aria2Command(url, folder, name, sha256):
    """
    aria2c with the checksum, into folder/name, quiet.  Beyond that, its
    defaults but one: ``--file-allocation=falloc`` reserves the space as
    the buyer does (``posix_fallocate``), where the default (``prealloc``)
    may write the whole file twice.  More connections (``-x``/``-s``) did
    not make it faster here (docs/benchmarks.md).
    """
    return [findTool("aria2c"), "--quiet=true", "--allow-overwrite=true",
            "--auto-file-renaming=false", "--file-allocation=falloc",
            f"--dir={folder}", f"--out={name}", f"--checksum=sha-256={sha256}", url]


def aria2Once(url, folder, size, sha256):
    """Download with aria2c; its wall time in seconds."""
    name = "aria2-download.bin"
    path = os.path.join(folder, name)
    started = time.perf_counter()
    done = subprocess.run(aria2Command(url, folder, name, sha256),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=TIMEOUT)
    elapsed = time.perf_counter() - started
    try:
        if done.returncode != 0:
            raise RuntimeError(f"aria2c exited with {done.returncode}: "
                               f"{(done.stdout + done.stderr).strip()[-500:]}")
        if os.path.getsize(path) != size:
            raise RuntimeError(f"aria2c wrote {os.path.getsize(path)} of {size} bytes")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        with contextlib.suppress(OSError):
            os.unlink(path + ".aria2")
    return elapsed


def aria2Version():
    """(aria2c's version line, the median wall time of ``aria2c
    --version``: about what its start adds to each download's time)."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        done = subprocess.run([findTool("aria2c"), "--version"], capture_output=True,
                              text=True, timeout=30)
        times.append(time.perf_counter() - started)
    return (done.stdout.splitlines()[0] if done.stdout else "unknown"), median(times)


def run(quick):
    skipped = missingTools()
    if skipped is not None:
        return [Figure("transfer_vs_aria2", None, "x", GOAL, note=skipped)]
    size = QUICK_SIZE if quick else FULL_SIZE
    repeats = QUICK_REPEATS if quick else REPEATS
    with market() as daemons:
        shared = os.path.join(daemons.cwd, "shared")
        os.makedirs(shared)
        name = "big.bin"
        big = os.path.join(shared, name)
        writeFile(big, size)
        seller = daemons.startNode("seller", "--role", "seller", "--share", shared)
        nodeId(seller, 30)
        seller.waitFor(rf"sharing {name} \(", TIMEOUT)
        whole = hashFile(big)
        scratch = os.path.join(daemons.cwd, "aria2")
        os.makedirs(scratch)
        theirs, ours = [], []
        with nginx(shared) as port:
            url = f"http://127.0.0.1:{port}/{name}"
            for number in range(1, repeats + 1):
                theirs.append(aria2Once(url, scratch, size, whole))
                ours.append(fetchOnce(daemons, name, number, daemons.cwd)[0])
    # Times, not rates: aria2's over ours is the rate ratio the other way up.
    ratio = pairedRatio(theirs, ours)
    version, start = aria2Version()
    mib = 1024 * 1024
    return [Figure(
        "transfer_vs_aria2", ratio, "x", GOAL,
        detail={"file_mib": size // mib, "repeats": repeats,
                "aria2_s": [round(x, 3) for x in theirs],
                "ours_s": [round(x, 3) for x in ours],
                "aria2_mib_s": round(size / median(theirs) / mib),
                "ours_mib_s": round(size / median(ours) / mib),
                "aria2": version, "aria2_start_s": round(start, 3),
                "server": "nginx, sendfile on"},
        note=(f"{size // mib} MiB: aria2c from nginx {median(theirs):.2f} s "
              f"({size / median(theirs) / mib:.0f} MiB/s) vs bought and fetched "
              f"{median(ours):.2f} s ({size / median(ours) / mib:.0f} MiB/s), "
              f"medians of {repeats}"))]


def hashFile(path):
    """The plain SHA-256 of the file, hex, for aria2's check (blocking)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()
