"""
flood_cpu_share: the share of one core a node daemon spends while one
address group floods it with new connections, each starting the
encrypted channel's handshake (docs/protocol.md §2.1) and then closed,
as fast as one client process can open them.

The same flood against a node started with --connection-rate 1e9 (no
limit in effect) is the baseline, measured in the same run: the ratio
is what the connection policy leaves of the flood's cost.  The flood
comes from 127.9.0.1, one /16; nothing else talks to the nodes.  Goal:
at most a quarter of a core (issue 46).
"""

import socket
import time

from benchmarks.harness import Figure, START_TIMEOUT, market, median
from benchmarks.idle import cpuSeconds
from twisted_bazaar.channel.session import ChannelKey, Session
from twisted_bazaar.testing.daemons import nodeId

GOAL = ("<=", 0.25)
SOURCE = "127.9.0.1"
#: Seconds of flood per repeat.
SECONDS, QUICK_SECONDS = 10.0, 4.0
NODE_ARGS = ("--role", "seller", "--sell", "apple=1")


def flood(port, seconds, key):
    """Open connections from SOURCE for ``seconds``, each sending the
    channel's first message, then closing; return connections opened.  A
    connect not accepted within 50 ms (the node's backlog full) is given
    up and the next one tried at once."""
    opened = 0
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=0.05,
                                            source_address=(SOURCE, 0))
        except OSError:
            continue
        try:
            sock.sendall(Session(True, key).start())
        except OSError:
            pass
        finally:
            sock.close()
        opened += 1
    return opened


def measureShare(daemon, port, seconds, key):
    """(CPU share of one core the daemon used, connections a second)."""
    pid = daemon.process.pid
    before, began = cpuSeconds(pid), time.monotonic()
    opened = flood(port, seconds, key)
    # What the last connections left to do is part of the flood's cost.
    time.sleep(0.5)
    used, wall = cpuSeconds(pid) - before, time.monotonic() - began
    return used / wall, opened / seconds


def run(quick=False, repeats=None):
    repeats = repeats or (3 if quick else 5)
    seconds = QUICK_SECONDS if quick else SECONDS
    key = ChannelKey.generate()
    with market() as daemons:
        limited = daemons.startNode("limited", *NODE_ARGS)
        open_ = daemons.startNode("unlimited", *NODE_ARGS, "--connection-rate", "1e9")
        ports = {}
        for daemon in (limited, open_):
            nodeId(daemon, START_TIMEOUT)
            ports[daemon] = int(daemon.waitFor(r"node listening on [^:]+:(\d+)",
                                               START_TIMEOUT)[1])
        shares, baseline, rates = [], [], []
        for _ in range(repeats):
            share, rate = measureShare(limited, ports[limited], seconds, key)
            shares.append(share)
            rates.append(rate)
            baseline.append(measureShare(open_, ports[open_], seconds, key)[0])
    share, base = median(shares), median(baseline)
    return [Figure(
        "flood_cpu_share", round(share, 3), "cores", GOAL,
        detail={"baseline_cores": round(base, 3),
                "ratio": round(share / base, 3) if base else None,
                "connections_per_s": round(median(rates)),
                "shares": [round(s, 3) for s in shares],
                "baseline_shares": [round(s, 3) for s in baseline],
                "seconds": seconds, "repeats": repeats},
        note=f"{share:.2f} of a core under a flood of {median(rates):,.0f} connections/s "
             f"from one /16 (without the rate limit: {base:.2f})")]
