"""
relay_ratio: buy messages a real node forwards per second, against a bare
NetstringReceiver relay.

Two raw clients, A and B, connect to the server (to the node inside the
encrypted channel, keyless; to the baseline in plaintext) and say
thisisme; A then
streams N buy frames whose path is [A, NODE, B] and B counts the bytes that
come out.  The rate is N over the time from A's first byte sent to B's last
byte received.  The baseline relay (relay.tac) pairs connections in arrival
order and sends every string on to the partner, so the very same driver
measures both.  Each repeat uses a fresh pair of connections (and ids),
and the node pings a silent peer only after an hour (B says nothing while
it reads: on a loaded machine a repeat took longer than the default 10 s,
and B read a ping among A's frames, then lost its link for not answering).
"""

import itertools
import threading
import time

from benchmarks.harness import (
    PATIENT,
    READ_TIMEOUT,
    Figure,
    Frames,
    baseline,
    connect,
    listeningPort,
    market,
    median,
    message,
    pairedRatio,
    readMessage,
    thisisme,
)
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.testing.daemons import nodeId
from twisted_bazaar.wire.ids import wireId

GOAL = (">=", 0.75)
#: The node under test: a seller, so it has a reason to be in the market.
NODE_ARGS = ("--role", "seller", "--sell", "apple=1")
#: Frames in the calibration run, and bounds on N.
CALIBRATION = 5_000
MIN_FRAMES, MAX_FRAMES = 2_000, 1_000_000
#: Seconds one repeat should take at the node's rate.
REPEAT_SECONDS = 1.0
#: Seconds a whole repeat may take before it counts as stuck.
REPEAT_TIMEOUT = 60.0


def buyFrames(count, path):
    """count buy frames of equal length (ids all of the same width)."""
    first = 10**9
    return b"".join(message(type="buy", id=first + i, item="apple", path=path)
                    for i in range(count))


class Driver:
    """Runs repeats against one server, with fresh client ids each time."""

    def __init__(self, port, avoid=(), via=None, channel=None):
        """
        @param avoid: ids the clients must not take (the node's own).
        @param via: the middle id of the path; default: the id the server
            introduces itself with.
        @param channel: the clients' L{ChannelKey}, for a daemon (which
            speaks only the encrypted channel); None for the baseline.
        """
        self.port = port
        self.via = via
        self.channel = channel
        # Keyless ids, as the wire writes them (never a keyed node's).
        self._ids = (str(n) for n in itertools.count(1) if n not in avoid)

    def rate(self, count):
        """Stream count frames from A through the server to B; return
        frames per second."""
        a, b = connect(self.port, self.channel), connect(self.port, self.channel)
        try:
            a_id, b_id = next(self._ids), next(self._ids)
            hello = introducePair(a, a_id, b, b_id)
            via = self.via if self.via is not None else hello["id"]
            blob = buyFrames(count, [a_id, via, b_id])
            # Sealed before the clock starts: the driver's own encryption
            # is not the node's time.
            sent = blob if self.channel is None else a.session.seal(blob)
            return count / _stream(getattr(a, "sock", a), b, sent, blob)
        finally:
            a.close()
            b.close()


def introducePair(a, a_id, b, b_id):
    """Both clients say thisisme before either reads, since the baseline
    relay hands each one the other's introduction; returns A's answer."""
    a.sendall(thisisme(a_id))
    b.sendall(thisisme(b_id))
    hello = readMessage(a, Frames())
    readMessage(b, Frames())
    return hello


def _stream(a, b, sent, blob):
    """Send the bytes sent on a from a thread, and read blob (what they
    carry) from b; return the seconds from the first byte sent to the last
    byte of blob received."""
    started = []
    failure = []

    def send():
        try:
            started.append(time.perf_counter())
            a.sendall(sent)
        except OSError as e:
            failure.append(e)

    sender = threading.Thread(target=send, name="relay sender", daemon=True)
    b.settimeout(READ_TIMEOUT)
    deadline = time.monotonic() + REPEAT_TIMEOUT
    view = memoryview(bytearray(1 << 20))
    tail = b""
    left = len(blob)
    sender.start()
    try:
        while left > 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{left} bytes still on the way after "
                                   f"{REPEAT_TIMEOUT:g} s")
            got = b.recv_into(view)
            if not got:
                raise ConnectionError("the server closed B's connection")
            left -= got
            tail = (tail + bytes(view[max(0, got - 64):got]))[-64:]
        finished = time.perf_counter()
    finally:
        sender.join(READ_TIMEOUT)
    if failure:
        raise failure[0]
    if left < 0 or not blob.endswith(tail):
        raise AssertionError("B received something other than A's frames")
    return finished - started[0]


def run(quick=False, repeats=None):
    """Alternate node and baseline repeats of the same N; the figure is the
    median of the repeats' rate ratios."""
    repeats = repeats or (5 if quick else 9)
    with market() as daemons, baseline("relay baseline", "relay.tac") as relay_port:
        node = daemons.startNode("node", *NODE_ARGS, *PATIENT)
        node_port = listeningPort(node)
        me = nodeId(node)
        real = Driver(node_port, avoid={me}, channel=ChannelKey.generate())
        bare = Driver(relay_port, via=wireId(me))
        calibration = real.rate(CALIBRATION)
        bare.rate(CALIBRATION)
        count = int(min(max(calibration * REPEAT_SECONDS, MIN_FRAMES), MAX_FRAMES))
        node_rates, bare_rates = [], []
        for _ in range(repeats):
            node_rates.append(real.rate(count))
            bare_rates.append(bare.rate(count))
        problems = node.problems()
    if problems:
        raise AssertionError(f"the node logged problems: {problems[:3]}")
    node_rate, bare_rate = median(node_rates), median(bare_rates)
    return [Figure(
        "relay_ratio", pairedRatio(node_rates, bare_rates), "x", GOAL,
        detail={"node_msgs_per_s": round(node_rate), "baseline_msgs_per_s": round(bare_rate),
                "frames_per_repeat": count, "repeats": repeats,
                "node_rates": [round(r) for r in node_rates],
                "baseline_rates": [round(r) for r in bare_rates]},
        note=f"node {node_rate:,.0f} msg/s vs bare relay {bare_rate:,.0f} msg/s")]
