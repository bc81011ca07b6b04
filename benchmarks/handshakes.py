"""
handshakes_per_s: connections a node daemon takes per second, each
through the encrypted channel's handshake (docs/protocol.md §2.1) and a
keyless ``thisisme`` answered by the node's own, against the same
exchange in plaintext with a bare netstring echo (echo.tac).

One client at a time, from this process: it opens a connection, runs the
opener's side of the channel (keyless: the node proves its key, the
client proves none), says thisisme, reads the answer, closes.  So the
rate includes the client's share of the handshake (one X25519 key made,
three DH), as a peer's own would: its handshake message 3 and its sealed
thisisme go out in one write, as a node's opener sends them, and the
node's signature of its static key, the same in every handshake, is
checked once (L{twisted_bazaar.channel.session.provenKey} remembers it).
Each connection still makes a fresh ephemeral key and runs the whole
handshake.

The connections come from SOURCE_GROUPS loopback address groups in turn
(127.10.0.1, 127.11.0.1, ...), as a node's peers do: one group alone may
open only --connection-rate a second (docs/protocol.md §6), and this
measures what the node takes from all of them.  The baseline's
connections come from the same addresses.

One client at a time is bound by the client as much as by the node: the
two take turns, so each connection costs the client's CPU plus the
node's.  handshakes_in_flight_per_s keeps IN_FLIGHT connections open at
once from one C{selectors} loop (L{InFlight}): the client works on some
while the node works on others, on the machine's other core, so the
node's own rate is what is measured wherever a core is free.
"""

import errno
import itertools
import json
import selectors
import socket
import time

from benchmarks.harness import (
    READ_TIMEOUT,
    Figure,
    Frames,
    baseline,
    listeningPort,
    market,
    median,
    pairedRatio,
    thisisme,
)
from benchmarks.idle import cpuSeconds
from twisted_bazaar.channel.session import ChannelKey, Session
from twisted_bazaar.testing.daemons import nodeId

NODE_ARGS = ("--role", "seller", "--sell", "apple=1")
#: Issue 49: three times the ~300 a second of the channel's first version.
GOAL = (">=", 900)
#: Connections per repeat.
QUICK_COUNT, FULL_COUNT = 200, 1000
#: Address groups (/16s of the loopback net) the connections come from.
SOURCE_GROUPS = 64
#: Connections the in-flight figure keeps open at once: fewer than the
#: node's overlay links (--max-connections, 8), so that none is refused.
IN_FLIGHT = 4


class Dialler:
    """Opens connections one after another, with fresh keyless ids, from
    each of SOURCE_GROUPS loopback groups in turn."""

    def __init__(self, port, channel=None):
        self.port = port
        self.channel = channel
        self._ids = (str(n) for n in itertools.count(1))
        self._sources = itertools.cycle(
            [f"127.{10 + n}.0.1" for n in range(SOURCE_GROUPS)])

    def rate(self, count):
        started = time.perf_counter()
        for _ in range(count):
            answer = self.introduce(next(self._sources), thisisme(next(self._ids)))
            if answer.get("type") != "thisisme":
                raise AssertionError(f"answered {answer}")
        return count / (time.perf_counter() - started)

    def introduce(self, source, hello):
        """One connection from source: the channel's handshake (if this
        dialler speaks it), hello, the one answer; closed."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(READ_TIMEOUT)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.bind((source, 0))
            sock.connect(("127.0.0.1", self.port))
            if self.channel is None:
                sock.sendall(hello)
                return _answer(sock, None)
            session = Session(True, self.channel)
            sock.sendall(session.start())
            third = b""
            while not session.established:
                third, _ = session.receive(_read(sock))
            sock.sendall(third + session.seal(hello))
            return _answer(sock, session)
        finally:
            sock.close()


class InFlight(Dialler):
    """
    Keeps IN_FLIGHT connections in flight at once, each the exchange of
    L{Dialler.introduce} (the channel's handshake if this dialler speaks
    it, a thisisme, the one answer, closed), driven by one C{selectors}
    loop: a connection is opened as soon as another one ends.
    """

    def __init__(self, port, channel=None, in_flight=IN_FLIGHT):
        super().__init__(port, channel)
        self.in_flight = in_flight

    def rate(self, count):
        selector = selectors.DefaultSelector()
        started = time.perf_counter()
        opened = done = 0
        try:
            while done < count:
                while opened < count and len(selector.get_map()) < self.in_flight:
                    self._open(selector)
                    opened += 1
                events = selector.select(READ_TIMEOUT)
                if not events:
                    raise TimeoutError(f"no connection moved for {READ_TIMEOUT} s")
                for key, _ in events:
                    if key.data.step(key.fileobj):
                        selector.unregister(key.fileobj)
                        key.fileobj.close()
                        done += 1
        finally:
            for key in list(selector.get_map().values()):
                key.fileobj.close()
            selector.close()
        return count / (time.perf_counter() - started)

    def _open(self, selector):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.bind((next(self._sources), 0))
            sock.setblocking(False)
            code = sock.connect_ex(("127.0.0.1", self.port))
            if code not in (0, errno.EINPROGRESS):
                raise ConnectionError(f"connect: {errno.errorcode.get(code, code)}")
        except BaseException:
            sock.close()
            raise
        exchange = _Exchange(self.channel, thisisme(next(self._ids)))
        selector.register(sock, selectors.EVENT_WRITE, exchange)
        exchange.selector = selector


class _Exchange:
    """One connection of L{InFlight}: what to send once connected, then
    what to read (each message is small, so each send goes whole)."""

    def __init__(self, channel, hello):
        self.hello = hello
        self.session = None if channel is None else Session(True, channel)
        self.frames = Frames()
        self.selector = None
        self.connected = False

    def step(self, sock):
        """Move on as sock allows; True once the answer is read."""
        if not self.connected:
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                raise ConnectionError(f"connect: {errno.errorcode.get(code, code)}")
            self.connected = True
            _sendWhole(sock, self.hello if self.session is None else self.session.start())
            self.selector.modify(sock, selectors.EVENT_READ, self)
            return False
        data = _read(sock)
        session = self.session
        if session is not None:
            if not session.established:
                third, data = session.receive(data)
                if session.established:
                    _sendWhole(sock, third + session.seal(self.hello))
                if not data:
                    return False
            else:
                _, data = session.receive(data)
        payloads = self.frames.feed(data)
        if not payloads:
            return False
        answer = json.loads(payloads[0])
        if len(payloads) > 1 or self.frames.buffer or answer.get("type") != "thisisme":
            raise AssertionError(f"answered {payloads}")
        return True


def _sendWhole(sock, data):
    if sock.send(data) != len(data):
        raise ConnectionError("a handshake message did not fit in the socket")


def _read(sock):
    data = sock.recv(65536)
    if not data:
        raise ConnectionError("the peer closed the connection")
    return data


def _answer(sock, session):
    """The one message the peer answers with (opened by the channel's
    session, if any)."""
    frames = Frames()
    while True:
        data = _read(sock)
        if session is not None:
            _, data = session.receive(data)
        payloads = frames.feed(data)
        if payloads:
            if len(payloads) > 1 or frames.buffer:
                raise ConnectionError("more than one message during a handshake")
            return json.loads(payloads[0])


def run(quick=False, repeats=None):
    repeats = repeats or (5 if quick else 9)
    count = QUICK_COUNT if quick else FULL_COUNT
    with market() as daemons, baseline("echo baseline", "echo.tac") as echo_port:
        node = daemons.startNode("node", *NODE_ARGS)
        nodeId(node)
        port, key = listeningPort(node), ChannelKey.generate()
        figures = []
        for name, kind, what in (
                ("handshakes_per_s", Dialler, "one client at a time"),
                ("handshakes_in_flight_per_s", InFlight, f"{IN_FLIGHT} in flight")):
            real, bare = kind(port, key), kind(echo_port)
            real.rate(20)
            bare.rate(20)
            node_rates, bare_rates, node_cpu = [], [], []
            for _ in range(repeats):
                before = cpuSeconds(node.process.pid)
                node_rates.append(real.rate(count))
                node_cpu.append(1e6 * (cpuSeconds(node.process.pid) - before) / count)
                bare_rates.append(bare.rate(count))
            figures.append(_figure(name, what, count, node_rates, bare_rates, node_cpu))
        problems = node.problems()
    if problems:
        raise AssertionError(f"the node logged problems: {problems[:3]}")
    return figures


def _figure(name, what, count, node_rates, bare_rates, node_cpu):
    """The figure; its detail keeps the node's CPU per connection (user
    and system, all threads), which says what one core of the node would
    take whatever the client and the rest of the machine cost."""
    node_rate, bare_rate = median(node_rates), median(bare_rates)
    cpu = median(node_cpu)
    return Figure(
        name, round(node_rate), "/s", GOAL,
        detail={"baseline_per_s": round(bare_rate),
                "ratio": pairedRatio(node_rates, bare_rates),
                "per_repeat": count, "repeats": len(node_rates),
                "node_rates": [round(r) for r in node_rates],
                "baseline_rates": [round(r) for r in bare_rates],
                "node_cpu_us_per_connection": [round(c) for c in node_cpu],
                "node_per_s_on_one_core": round(1e6 / cpu) if cpu else None},
        note=f"{what}: node {node_rate:,.0f}/s with the channel vs plaintext echo "
             f"{bare_rate:,.0f}/s; the node's CPU {cpu:.0f} µs a connection")
