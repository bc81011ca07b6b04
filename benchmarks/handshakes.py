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
checked once (L{twisted_bazaar.net.channel.provenKey} remembers it).
Each connection still makes a fresh ephemeral key and runs the whole
handshake.

The connections come from SOURCE_GROUPS loopback address groups in turn
(127.10.0.1, 127.11.0.1, ...), as a node's peers do: one group alone may
open only --connection-rate a second (docs/protocol.md §6), and this
measures what the node takes from all of them.  The baseline's
connections come from the same addresses.
"""

import itertools
import json
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
from twisted_bazaar.net.channel import ChannelKey, Session
from twisted_bazaar.testing.daemons import nodeId

NODE_ARGS = ("--role", "seller", "--sell", "apple=1")
#: Connections per repeat.
QUICK_COUNT, FULL_COUNT = 200, 1000
#: Address groups (/16s of the loopback net) the connections come from.
SOURCE_GROUPS = 64


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
        real = Dialler(listeningPort(node), ChannelKey.generate())
        bare = Dialler(echo_port)
        real.rate(20)
        bare.rate(20)
        node_rates, bare_rates = [], []
        for _ in range(repeats):
            node_rates.append(real.rate(count))
            bare_rates.append(bare.rate(count))
        problems = node.problems()
    if problems:
        raise AssertionError(f"the node logged problems: {problems[:3]}")
    node_rate, bare_rate = median(node_rates), median(bare_rates)
    return [Figure(
        "handshakes_per_s", round(node_rate), "/s", None,
        detail={"baseline_per_s": round(bare_rate),
                "ratio": pairedRatio(node_rates, bare_rates),
                "per_repeat": count, "repeats": repeats,
                "node_rates": [round(r) for r in node_rates],
                "baseline_rates": [round(r) for r in bare_rates]},
        note=f"node {node_rate:,.0f}/s with the channel vs plaintext echo "
             f"{bare_rate:,.0f}/s")]
