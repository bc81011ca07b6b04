"""
idle_cpu_percent: the CPU ten idle daemons use, as a percent of one core.

A tracker and nine nodes start on loopback: sellers, some of whose goods
nobody wants, and buyers who each buy what they want and are then done.
Once every node has registered and linked and every buyer is satisfied,
the daemons' CPU time (utime + stime from /proc/PID/stat) is read before
and after a stretch of wall time.  An idle market should run on timers
(keepalive pings, neighbour upkeep), not polling, so the figure is the
whole stretch's total; the JSON also keeps it per slice, to show the
timers' rhythm.
"""

import os
import time

from benchmarks.harness import Figure, START_TIMEOUT, market
from twisted_bazaar.testing.daemons import nodeId

GOAL = ("<=", 1.0)
#: name -> role flags.  seller-4's plums are wanted by nobody.
NODES = {
    "seller-1": ("--role", "seller", "--sell", "apple=3"),
    "seller-2": ("--role", "seller", "--sell", "pear=3"),
    "seller-3": ("--role", "seller", "--sell", "fig=3"),
    "seller-4": ("--role", "seller", "--sell", "plum=3"),
    "seller-5": ("--role", "seller", "--sell", "apple=2", "--sell", "pear=2"),
    "buyer-1": ("--role", "buyer", "--want", "apple"),
    "buyer-2": ("--role", "buyer", "--want", "pear"),
    "buyer-3": ("--role", "buyer", "--want", "fig"),
    "buyer-4": ("--role", "buyer", "--want", "apple", "--want", "pear"),
}
SATISFIED = r"all wants met"
#: Seconds every buyer gets to finish trading.
TRADE_TIMEOUT = 60.0
#: Seconds measured in all, and per slice.
SECONDS, QUICK_SECONDS, SLICE = 30.0, 10.0, 5.0


def cpuSeconds(pid):
    """User plus system CPU time of a process (all its threads), in s."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name may hold spaces; the fields after it do not.
        fields = f.read().rpartition(")")[2].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def _total(daemons):
    return sum(cpuSeconds(daemon.process.pid) for daemon in daemons)


def measure(daemons, seconds):
    """CPU percent of one core used by the daemons over seconds of wall
    time: (total, [per slice])."""
    slices = []
    began = time.monotonic()
    used_before = first = _total(daemons)
    now = began
    while now - began < seconds - 1e-6:
        time.sleep(min(SLICE, seconds - (now - began)))
        mark, used = time.monotonic(), _total(daemons)
        slices.append(round((used - used_before) / (mark - now) * 100, 3))
        now, used_before = mark, used
    return (used_before - first) / (now - began) * 100, slices


def run(quick=False):
    seconds = QUICK_SECONDS if quick else SECONDS
    with market() as daemons:
        nodes = {}
        # Sellers first, so that the buyers' first searches find stock.
        for group in ("seller", "buyer"):
            for name, flags in NODES.items():
                if name.startswith(group):
                    nodes[name] = daemons.startNode(name, *flags)
            for node in nodes.values():
                # Introduced: other nodes may link to it (a node's own
                # link lines are debug lines).
                daemons.waitIntroduced(nodeId(node, START_TIMEOUT), START_TIMEOUT)
        for name, node in nodes.items():
            if name.startswith("buyer"):
                node.waitFor(SATISFIED, TRADE_TIMEOUT, what=f"'{SATISFIED}'")
        percent, slices = measure(daemons.daemons, seconds)
        problems = [line for daemon in daemons.daemons for line in daemon.problems()]
    if problems:
        raise AssertionError(f"a daemon logged problems: {problems[:3]}")
    return [Figure(
        "idle_cpu_percent", round(percent, 3), "%", GOAL,
        detail={"daemons": len(daemons.daemons), "seconds": seconds,
                "slice_s": SLICE, "slices_percent": slices,
                "tick_s": 1 / os.sysconf("SC_CLK_TCK")},
        note=f"{len(daemons.daemons)} idle daemons over {seconds:g} s, percent "
             f"of one core (CPU counted in {1000 / os.sysconf('SC_CLK_TCK'):g} ms ticks)")]
