"""
What every benchmark shares: figures and their goals, medians, the machine
description, daemons started and always stopped, and loopback sockets that
speak netstrings.

Daemons (the real ones and the baselines) run through
L{twisted_bazaar.testing.daemons}, so they start the way a user starts them and
every wait on them is a bounded wait on a log line.
"""

import contextlib
import json
import os
import platform
import re
import shutil
import socket
import statistics
import tempfile
from pathlib import Path

import attr
import twisted

from twisted_bazaar.channel.session import Session
from twisted_bazaar.testing.channelsocket import ChannelSocket
from twisted_bazaar.testing.daemons import TEXT, Daemon, LiveMarket

#: Seconds a daemon gets to come up, and a socket read to return.
START_TIMEOUT = 30.0
READ_TIMEOUT = 10.0
#: Folder of the baseline .tac files.
HERE = Path(__file__).resolve().parent
#: Log line of a node (and of the baselines) once it listens.
LISTENING = r"listening on 127\.0\.0\.1:(?P<port>\d+)"


@attr.s(auto_attribs=True)
class Figure:
    """
    One benchmark result.

    @ivar goal: ``("<=", bound)`` or ``(">=", bound)``, or None.
    @ivar value: None when the figure was skipped.
    @ivar detail: the numerator, the baseline and anything else worth
        keeping in the JSON.
    @ivar note: one line for the table (what was compared, or why skipped).
    """

    name: str
    value: float = None
    unit: str = ""
    goal: tuple = None
    detail: dict = attr.Factory(dict)
    note: str = ""

    @property
    def met(self):
        """True or False against the goal; None if skipped or goal-less."""
        if self.value is None or self.goal is None:
            return None
        op, bound = self.goal
        return self.value <= bound if op == "<=" else self.value >= bound

    def goalText(self):
        return f"{self.goal[0]} {self.goal[1]:g}" if self.goal else ""

    def asJSON(self):
        return {"value": self.value, "unit": self.unit,
                "goal": self.goalText() or None, "met": self.met,
                "note": self.note, "detail": self.detail}


def summary(doc):
    """A module docstring's first paragraph as ``--help`` shows it: without
    its epytext and literal marks (C{L{x}} and double backquotes), which a
    terminal would print as they are."""
    first = doc.strip().split("\n\n")[0]
    return re.sub(r"``(.+?)``", r"\1", re.sub(r"[LCIB]\{([^}]*)\}", r"\1", first, flags=re.S),
                  flags=re.S)


def median(values):
    return statistics.median(values)


def pairedRatio(numerators, baselines):
    """The median of the ratios of repeats taken side by side: a repeat and
    its baseline run moments apart, so load from elsewhere on the machine
    tends to hit both."""
    return round(median([n / b for n, b in zip(numerators, baselines)]), 3)


def machine():
    """What the figures were measured on."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu_model": model,
            "python": platform.python_version(), "twisted": twisted.__version__,
            "platform": platform.platform()}


# -- daemons -------------------------------------------------------------------


#: A node that must not take a driver's silent clients for dead ones: one
#: slowed down by valgrind (benchmarks.callcount), or a repeat of the relay
#: benchmark on a busy machine, longer than the default ping interval.
PATIENT = ("--ping-interval", "3600", "--handshake-timeout", "600")


@contextlib.contextmanager
def market(onLine=None, *trackerArgs, logFormat=TEXT):
    """A tracker (with ``trackerArgs``) in a scratch folder; the LiveMarket
    is stopped and the folder removed on the way out, error or not.
    ``onLine`` sees every line the daemons log, and they log in
    ``logFormat``, as L{LiveMarket} says."""
    folder = tempfile.mkdtemp(prefix="bazaar-bench-")
    daemons = LiveMarket(folder, onLine=onLine, logFormat=logFormat)
    try:
        daemons.startTracker("tracker", START_TIMEOUT, *trackerArgs)
        yield daemons
    finally:
        daemons.stop()
        shutil.rmtree(folder, ignore_errors=True)


def listeningPort(daemon):
    """Wait until a daemon logs that it listens; return the port."""
    match = daemon.waitFor(LISTENING, START_TIMEOUT,
                            what="'listening on 127.0.0.1:PORT'")
    return int(match["port"])


@contextlib.contextmanager
def baseline(name, tac):
    """
    Run one of the baseline servers (a .tac file next to this module) with
    ``twistd -n -y``, like the daemons it is compared with; yield its port.
    """
    with baselineServer(name, tac) as (port, _):
        yield port


@contextlib.contextmanager
def baselineServer(name, tac):
    """L{baseline}, yielding its port and its process id (for reading its
    CPU time, as the daemons' is read)."""
    folder = tempfile.mkdtemp(prefix="bazaar-bench-")
    daemon = Daemon(name, ["--pidfile=", "-y", str(HERE / tac)], folder)
    try:
        yield listeningPort(daemon), daemon.process.pid
    finally:
        daemon.terminate()
        daemon.finish()
        shutil.rmtree(folder, ignore_errors=True)


# -- netstrings on plain sockets -----------------------------------------------


def netstring(payload):
    return b"%d:%s," % (len(payload), payload)


def message(**fields):
    """One framed message, compact JSON as the daemons send it."""
    return netstring(json.dumps(fields, separators=(",", ":")).encode("utf-8"))


def thisisme(peer_id):
    return message(type="thisisme", id=peer_id, port=0, host="")


_HEADER = re.compile(rb"(\d{1,9}):")


class Frames:
    """Splits a byte stream into netstring payloads (the benchmark's own,
    minimal parser: the peers it reads are trusted)."""

    def __init__(self):
        self.buffer = bytearray()

    def feed(self, data):
        """Add bytes; return the payloads now complete."""
        buffer = self.buffer
        buffer += data
        payloads = []
        start = 0
        while True:
            header = _HEADER.match(buffer, start)
            if header is None:
                break
            end = header.end() + int(header[1])
            if end >= len(buffer):
                break
            payloads.append(bytes(buffer[header.end():end]))
            start = end + 1
        del buffer[:start]
        return payloads


def connect(port, channel=None, source=None):
    """A blocking connection to a local port; with channel (a
    L{ChannelKey}), inside the encrypted channel, as every connection to a
    daemon is (the bare baselines speak plaintext); from the loopback
    address ``source`` if given (127.0.0.0/8 is all loopback)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT,
                                    source_address=None if source is None else (source, 0))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if channel is None:
        return sock
    try:
        return ChannelSocket(sock, Session(True, channel))
    except BaseException:
        sock.close()
        raise


def introduce(sock, my_id):
    """The thisisme handshake from a raw client: say who we are, return the
    peer's answer (its thisisme, or whatever a baseline sends back)."""
    sock.sendall(thisisme(my_id))
    return readMessage(sock, Frames())


def readMessage(sock, frames):
    """Block (up to READ_TIMEOUT per read) for the next whole message."""
    while True:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("the peer closed the connection")
        payloads = frames.feed(data)
        if payloads:
            if len(payloads) > 1 or frames.buffer:
                raise ConnectionError("more than one message during a handshake")
            return json.loads(payloads[0])
