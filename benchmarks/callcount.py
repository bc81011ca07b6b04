"""
What relaying a message, taking a handshake and moving a MiB cost the
daemons, in instructions counted by valgrind's callgrind: figures that do
not depend on what else the machine runs, for telling a change in speed
from the machine's noise (``relay_ratio``, ``handshakes_per_s`` and
``transfer_ratio`` move by 5-20 % from one run to the next on a loaded
machine).

    python -m benchmarks.callcount relay [--frames N]
    python -m benchmarks.callcount transfer [--mib M]
    python -m benchmarks.callcount handshake [--count N]

``relay``: the relay benchmark's node (``benchmarks.relay``) under
callgrind, driven by its driver: two runs of N/10 and N buy frames from A
through the node to B, each counted alone (``callgrind_control -z``
before, ``-d`` after); the instructions per relayed message are the
difference over the difference in frames, so what a run costs whatever
its length (two connections' handshakes) drops out.

``handshake``: the node of the handshakes benchmark
(``benchmarks.handshakes``) under callgrind, driven by its client (one
connection at a time, each the channel's handshake, a thisisme and the
node's answer): two runs of N/10 and N connections, each counted alone;
the instructions per handshake are the difference over the difference in
connections, as for ``relay``.

``transfer``: a seller sharing two files (M/8 and M MiB) and, for each, a
buyer fetching it (``--want``, ``--downloads``), every daemon under
callgrind.  The seller is counted from before the buyer starts to the
file verified; a buyer over its whole life, and apart: its start-up
(to its ``fetching`` line, as seen here: the dump lands a little
after) and the fetch (from there to ``downloaded``), the window that
``transfer_ratio`` times, which its start-up (imports, the tracker's
welcome, the purchase) is outside of.  The instructions per MiB
are, for each side, the difference between the two fetches over the
difference in MiB (the buyer's start, the purchase, and the seller's
answers to both drop out), but not what a daemon does while it waits
(its timers), which grows with the wall time a fetch takes: a few per
cent of the seller's count on a busy machine.  Valgrind's CPU is not the
host's (the crypto libraries may take other paths on it): the counts are
for comparing trees.

``relay-cpu``: the same node without valgrind, its CPU time (user and
system apart, from ``/proc``) per relayed message over R runs of N
frames: the system time is what callgrind does not count (the
kernel's side of every read and send), and CPU time, unlike the rate,
does not count the time the node waits for a core.

``client-loop``: the transfer client's reading alone, in this process
under callgrind, twice (PYTHONHASHSEED=0): M/8 and M pieces of 1 MiB, each a
``data`` frame and its body, fed in 1 MiB reads to a L{TransferClient}
on a C{StringTransport}; no daemon, no timer, so the difference per MiB
is the same from run to run (it includes building the stream).

Each prints every count it used.  To compare trees, run the same command
in each (``PYTHONPATH`` at the tree, with its own ``.venv``).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

from benchmarks import handshakes, relay
from benchmarks.harness import PATIENT, listeningPort, market, summary
from benchmarks.transfer import writeFile
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.testing.daemons import nodeId
from twisted_bazaar.base.options import boundedInt
from twisted_bazaar.base.usage import OneLineParser, argumentType

#: A daemon under valgrind starts some 50 times slower.
SLOW = 900.0
MIB = 1024 * 1024


class Counted:
    """A daemon of a market run under callgrind, its counters read by
    callgrind_control."""

    def __init__(self, daemons, name, args, folder):
        self.prefix = os.path.join(folder, f"callgrind.{name}")
        self.folder = folder
        self.daemon = daemons.start(name, args, wrapper=(
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={self.prefix}",
            "--dump-instr=no", "--dump-line=no", sys.executable))

    def _control(self, flag):
        subprocess.run(["callgrind_control", flag, str(self.daemon.process.pid)],
                       check=True, capture_output=True, timeout=SLOW)

    def zero(self):
        self._control("-z")

    def dump(self):
        """Dump the counters and return the instructions since the last
        zero (every thread's)."""
        self._control("-d")
        return self.lastCount()

    def lastCount(self):
        base = os.path.basename(self.prefix)
        dumps = [f for f in os.listdir(self.folder)
                 if f == base or f.startswith(base + ".")]
        newest = max(dumps, key=lambda f: os.path.getmtime(os.path.join(self.folder, f)))
        return instructions(os.path.join(self.folder, newest))


def instructions(path):
    with open(path) as f:
        totals = re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M)
    return int(totals.group(1))


def nodeArgs(daemons, *more):
    return ["bazaar-node", "--tracker", f"tcp:127.0.0.1:{daemons.tracker_port}",
            "--listen", "tcp:0:interface=127.0.0.1", *more]


def countedRuns(node, drive, total):
    """Drive a counted node once unmeasured (N/10), then N/10 and N times,
    each run counted alone; return {runs: instructions}."""
    drive(total // 10)
    counts = {}
    for n in (total // 10, total):
        node.zero()
        drive(n)
        counts[n] = node.dump()
    return counts


def difference(mode, unit, each, counts):
    """Print the two counts and the instructions per unit, the difference
    over the difference; return it."""
    small, large = sorted(counts)
    for n in (small, large):
        print(f"{mode}: {n:,} {unit}, {counts[n]:,} instructions")
    per = (counts[large] - counts[small]) / (large - small)
    print(f"{mode}: {per:,.0f} instructions per {each}")
    return per


def relayCost(frames):
    with tempfile.TemporaryDirectory(prefix="bazaar-callcount-") as folder, \
            market() as daemons:
        node = Counted(daemons, "node", nodeArgs(daemons, *relay.NODE_ARGS, *PATIENT),
                       folder)
        port = node.daemon.waitFor(r"listening on 127\.0\.0\.1:(?P<port>\d+)", SLOW)
        me = nodeId(node.daemon, SLOW)
        driver = relay.Driver(int(port["port"]), avoid={me},
                              channel=ChannelKey.generate())
        relay.REPEAT_TIMEOUT = SLOW
        counts = countedRuns(node, driver.rate, frames)
    return difference("relay", "frames", "relayed message", counts)


def handshakeCost(count):
    with tempfile.TemporaryDirectory(prefix="bazaar-callcount-") as folder, \
            market() as daemons:
        node = Counted(daemons, "node",
                       nodeArgs(daemons, *handshakes.NODE_ARGS, *PATIENT), folder)
        port = node.daemon.waitFor(r"listening on 127\.0\.0\.1:(?P<port>\d+)", SLOW)
        nodeId(node.daemon, SLOW)
        # The client's reads wait on a node slowed down by valgrind.
        handshakes.READ_TIMEOUT = SLOW
        dialler = handshakes.Dialler(int(port["port"]), ChannelKey.generate())
        counts = countedRuns(node, dialler.rate, count)
        problems = node.daemon.problems()
    if problems:
        raise AssertionError(f"the node logged problems: {problems[:3]}")
    return difference("handshake", "connections", "handshake", counts)


def transferCost(mib):
    sizes = {"small.bin": max(1, mib // 8), "big.bin": mib}
    seller_counts, buyer_counts, startups, fetches = {}, {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="bazaar-callcount-") as folder, \
            market() as daemons:
        shared = os.path.join(daemons.cwd, "shared")
        os.makedirs(shared)
        for name, size in sizes.items():
            writeFile(os.path.join(shared, name), size * MIB)
        seller = Counted(daemons, "seller", nodeArgs(
            daemons, "--role", "seller", "--share", shared), folder)
        nodeId(seller.daemon, SLOW)
        for name in sizes:
            seller.daemon.waitFor(rf"sharing {name} \(", SLOW)
        for number, name in enumerate(sizes):
            downloads = os.path.join(daemons.cwd, f"downloads-{number}")
            os.makedirs(downloads)
            seller.zero()
            buyer = Counted(daemons, f"buyer{number}", nodeArgs(
                daemons, "--role", "buyer", "--want", name, "--downloads", downloads),
                folder)
            buyer.daemon.waitFor(rf"fetching {name} ", SLOW)
            startups[name] = buyer.dump()
            # "sha256 verified" before issue 59 named hashes content ids.
            buyer.daemon.waitFor(rf"downloaded {name} into .*, (content id|sha256) verified",
                                 SLOW)
            fetches[name] = buyer.dump()
            seller_counts[name] = seller.dump()
            buyer.daemon.terminate()
            buyer.daemon.finish(SLOW)
            buyer_counts[name] = startups[name] + fetches[name] + buyer.lastCount()
            shutil.rmtree(downloads, ignore_errors=True)
    for name, size in sizes.items():
        print(f"transfer: buyer, {size} MiB, start-up {startups[name]:,}, fetch "
              f"{fetches[name]:,} instructions")
    figures = {}
    for side, counts in (("seller", seller_counts), ("buyer", buyer_counts)):
        for name, size in sizes.items():
            print(f"transfer: {side}, {size} MiB, {counts[name]:,} instructions")
        per = ((counts["big.bin"] - counts["small.bin"])
               / (sizes["big.bin"] - sizes["small.bin"]))
        print(f"transfer: {side}, {per:,.0f} instructions per MiB")
        figures[side] = per
    return figures


def cpuSeconds(pid):
    """(user, system) CPU seconds of a process, all its threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def relayCpu(frames, runs):
    per = []
    with market() as daemons:
        node = daemons.startNode("node", *relay.NODE_ARGS, *PATIENT)
        port = listeningPort(node)
        me = nodeId(node)
        driver = relay.Driver(port, avoid={me}, channel=ChannelKey.generate())
        driver.rate(relay.CALIBRATION)
        pid = node.process.pid
        for _ in range(runs):
            user, system = cpuSeconds(pid)
            rate = driver.rate(frames)
            after = cpuSeconds(pid)
            per.append(((after[0] - user) / frames * 1e6, (after[1] - system) / frames * 1e6))
            print(f"relay-cpu: {frames:,} frames at {rate:,.0f}/s: user "
                  f"{per[-1][0]:.2f} us, system {per[-1][1]:.2f} us per message")
    return per


def clientPieces(pieces):
    """Feed a transfer client pieces of 1 MiB (see client-loop)."""
    from twisted.internet.task import Clock
    from twisted.internet.testing import StringTransport

    from twisted_bazaar import wire
    from twisted_bazaar.files.client import TransferClient
    from twisted_bazaar.files.messages import Data
    from twisted_bazaar.wire.framing import frame

    class Sink:
        got = 0

        def write(self, data):
            self.got += len(data)

    client = TransferClient(Clock(), cipher=None)
    client.makeConnection(StringTransport())
    sink = Sink()
    body = bytes(range(256)) * (MIB // 256)
    sha = "ab" * 32
    stream = b"".join(frame(wire.encode(Data(sha, i * MIB, MIB))) + body
                      for i in range(pieces))
    for i in range(pieces):
        client.get(sha, i * MIB, MIB, sink)
    # Reads that do not fall on the pieces' bounds, as a socket's do not.
    for offset in range(0, len(stream), MIB):
        client.dataReceived(stream[offset:offset + MIB])
    if sink.got != pieces * MIB or client._waiting:
        raise AssertionError(f"the client took {sink.got} bytes of {pieces * MIB}")


def clientLoop(mib):
    counts = {}
    with tempfile.TemporaryDirectory(prefix="bazaar-callcount-") as folder:
        for pieces in (max(1, mib // 8), mib):
            out = os.path.join(folder, f"callgrind.{pieces}")
            subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                            sys.executable, "-m", "benchmarks.callcount", "client-pieces",
                            "--mib", str(pieces)], check=True, capture_output=True,
                           env=dict(os.environ, PYTHONHASHSEED="0"), timeout=SLOW)
            counts[pieces] = instructions(out)
            print(f"client-loop: {pieces} MiB, {counts[pieces]:,} instructions")
    small, large = sorted(counts)
    per = (counts[large] - counts[small]) / (large - small)
    print(f"client-loop: {per:,.0f} instructions per MiB")
    return per


def main(argv=None):
    p = OneLineParser(prog="python -m benchmarks.callcount",
                      description=summary(__doc__))
    p.add_argument("what", choices=("relay", "transfer", "handshake", "relay-cpu",
                                    "client-loop", "client-pieces"))
    p.add_argument("--frames", type=argumentType(boundedInt(1)), default=20_000,
                   help="buy frames of the longer relay run (default 20,000)")
    p.add_argument("--count", type=argumentType(boundedInt(1)), default=300,
                   help="connections of the longer handshake run (default 300)")
    p.add_argument("--runs", type=argumentType(boundedInt(1)), default=3,
                   help="runs of relay-cpu (default 3)")
    p.add_argument("--mib", type=argumentType(boundedInt(1)), default=32,
                   help="MiB of the larger file fetched, or of the longer client-loop "
                        "(default 32)")
    args = p.parse_args(argv)
    if args.what == "relay":
        relayCost(args.frames)
    elif args.what == "handshake":
        handshakeCost(args.count)
    elif args.what == "relay-cpu":
        relayCpu(args.frames, args.runs)
    elif args.what == "client-loop":
        clientLoop(args.mib)
    elif args.what == "client-pieces":
        clientPieces(args.mib)
    else:
        transferCost(args.mib)


if __name__ == "__main__":
    main()
