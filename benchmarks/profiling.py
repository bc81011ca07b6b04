"""
Where a daemon's time goes under a benchmark's load: the node runs under
``twistd --profile`` (cProfile) while the benchmark's own driver loads it,
then the profile's top functions are printed.

    python -m benchmarks.profiling relay|purchase|purchase-memory|flood [--seconds S] [--top N]

cProfile slows the node down a good deal, so read the shares, not the rates.
It sees the reactor's thread only: a daemon's seller signs on a thread of
its own, and the store writes on another, so their work shows up as the
reactor waiting (``epoll.poll``), not as functions.  The purchase
benchmark's JSON keeps the CPU time of both kinds of thread per purchase
(``seller_cpu_us_per_purchase``).
"""

import contextlib
import os
import pstats
import sys
import tempfile

from benchmarks import flood, purchase, relay
from benchmarks.harness import listeningPort, market, summary
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.testing.daemons import LOOPBACK_LISTEN, nodeId
from twisted_bazaar.base.options import boundedInt, seconds as positiveSeconds
from twisted_bazaar.base.usage import OneLineParser, argumentType


def profiledNode(daemons, stats, node_args):
    """Start a node of the market under cProfile, saving its stats to the
    file stats when it stops."""
    return daemons.start("profiled node", [
        "--profile", stats, "--profiler", "cprofile", "--savestats", "bazaar-node",
        "--tracker", f"tcp:127.0.0.1:{daemons.tracker_port}",
        "--listen", LOOPBACK_LISTEN, *node_args])


def loadRelay(port, me, seconds):
    driver = relay.Driver(port, avoid={me}, channel=ChannelKey.generate())
    rate = driver.rate(relay.CALIBRATION)
    count = int(min(max(rate * seconds, relay.MIN_FRAMES), relay.MAX_FRAMES))
    return f"{driver.rate(count):,.0f} buys relayed/s under the profiler"


def loadPurchase(port, me, seconds):
    with contextlib.closing(purchase.Buyers(port, avoid={me})) as buyers:
        return f"{buyers.window(seconds):,.0f} purchases/s under the profiler"


def loadFlood(port, me, seconds):
    opened = flood.flood(port, seconds, ChannelKey.generate())
    return f"{opened / seconds:,.0f} connections/s from {flood.SOURCE} under the profiler"


LOADS = {"relay": (relay.NODE_ARGS, loadRelay),
         "flood": (flood.NODE_ARGS, loadFlood),
         "purchase": (purchase.SELLER_ARGS, loadPurchase),
         "purchase-memory": (purchase.MEMORY_SELLER_ARGS, loadPurchase)}


def main(argv=None):
    p = OneLineParser(prog="python -m benchmarks.profiling",
                      description=summary(__doc__))
    p.add_argument("load", choices=sorted(LOADS))
    p.add_argument("--seconds", type=argumentType(positiveSeconds), default=5.0)
    p.add_argument("--top", type=argumentType(boundedInt(1)), default=25)
    args = p.parse_args(argv)
    node_args, load = LOADS[args.load]
    with tempfile.TemporaryDirectory(prefix="bazaar-profile-") as folder:
        stats = os.path.join(folder, "node.pstats")
        with market() as daemons:
            node = profiledNode(daemons, stats, node_args)
            print(load(listeningPort(node), nodeId(node), args.seconds))
        report = pstats.Stats(stats, stream=sys.stdout)
        report.strip_dirs()
        for order in ("tottime", "cumulative"):
            report.sort_stats(order).print_stats(args.top)


if __name__ == "__main__":
    main()
