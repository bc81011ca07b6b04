"""
What one purchase costs a seller daemon, in figures that hardly depend on
what else the machine runs (issue 58):

    python -m benchmarks.sellercost callgrind|cpuprofile [--memory] [--seconds S] [--top N]
                                    [--children]

``callgrind`` runs the seller of the purchase benchmark (``SELLER_ARGS``,
or with ``--memory`` its ledger in memory) under valgrind's callgrind,
loads it with the benchmark's 50 buyers, zeroes the counters once every
buyer is trading (``callgrind_control -z``), trades for S seconds (the
seller runs some 50 times slower under valgrind), dumps the counters and
prints the instructions per purchase (every thread of the seller's
process; with ``--children``, its child processes too, the store's
writer, each and in all) and the functions of the seller's process that
spent most of them.

``cpuprofile`` runs the same seller under cProfile timed by
``time.thread_time``: the reactor thread's CPU time, not wall time, so a
busy machine's waits do not show up as work (``twistd --profile``,
``benchmarks.profiling``, measures wall time).  Its stats are reset once
the buyers trade, and printed by CPU time.

The purchases counted are every answer the buyers got while counting,
those drained at the end included (the seller did their work too).
"""

import contextlib
import os
import pstats
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from benchmarks import purchase
from benchmarks.harness import listeningPort, market, summary
from twisted_bazaar.testing.daemons import nodeId
from twisted_bazaar.base.options import boundedInt, seconds as positiveSeconds
from twisted_bazaar.base.usage import OneLineParser, argumentType

#: A seller under valgrind starts some 50 times slower.
SLOW_START = 600.0
HERE = os.path.dirname(os.path.abspath(__file__))


def _answers(buyers, seconds):
    """Trade for seconds; the answers the buyers got, drained ones too."""
    before = buyers.answers
    buyers.window(seconds)
    return buyers.answers - before


def callgrind(daemons, args, folder, seconds, top, keep=None, plain=False,
              children=False):
    out = os.path.join(folder, "callgrind.out" + (".%p" if children else ""))
    seller = daemons.start("seller", [
        "bazaar-node", "--tracker", f"tcp:127.0.0.1:{daemons.tracker_port}",
        "--listen", "tcp:0:interface=127.0.0.1", *args],
        wrapper=("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                 f"--trace-children={'yes' if children else 'no'}",
                 "--dump-instr=no", "--dump-line=no", sys.executable))
    port = seller.waitFor(r"listening on 127\.0\.0\.1:(?P<port>\d+)", SLOW_START)
    me = nodeId(seller, SLOW_START)
    pid = str(seller.process.pid)
    with contextlib.closing(purchase.Buyers(int(port["port"]), avoid={me}, encrypted=not plain)) as buyers:
        _answers(buyers, seconds / 4)
        pids = [pid] + (_childrenOf(pid) if children else [])
        for each in pids:
            subprocess.run(["callgrind_control", "-z", each], check=True,
                           capture_output=True)
        count = _answers(buyers, seconds)
        for each in pids:
            subprocess.run(["callgrind_control", "-d", each], check=True,
                           capture_output=True)
    dumps = sorted((f for f in os.listdir(folder) if f.startswith("callgrind.out.")),
                   key=lambda name: [int(part) for part in name.split(".")[2:]])
    dump = os.path.join(folder, dumps[-1])
    instructions = _total(dump)
    if children:
        counted = {each: _total(os.path.join(folder, [
            name for name in dumps if name.split(".")[2] == each][-1])) for each in pids}
        dump = os.path.join(folder, [name for name in dumps if name.split(".")[2] == pid][-1])
        instructions = sum(counted.values())
        for each, number in counted.items():
            print(f"  {'the seller' if each == pid else 'its child ' + each}: "
                  f"{number / count:,.0f} per purchase")
    print(f"{count:,} purchases, {instructions:,} instructions: "
          f"{instructions / count:,.0f} per purchase")
    if keep:
        shutil.copy(dump, keep)
    annotated = subprocess.run(["callgrind_annotate", "--inclusive=no", dump],
                               capture_output=True, text=True).stdout
    lines = [line for line in annotated.splitlines() if re.match(r"\s*[\d,]+ ", line)]
    for line in lines[:top]:
        ir, rest = line.split(None, 1)
        print(f"{int(ir.replace(',', '')) / count:10,.0f}  {rest[:110]}")


def _childrenOf(pid):
    """The pids of a process's children (the store's writer), as text."""
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            found += f.read().split()
    return found


def _total(dump):
    """The instructions a callgrind dump counted."""
    with open(dump) as f:
        return int(re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M).group(1))


def cpuprofile(daemons, args, folder, seconds, top, keep=None, plain=False,
               children=False):
    stats = os.path.join(folder, "reactor.pstats")
    seller = daemons.start("seller", [
        "bazaar-node", "--tracker", f"tcp:127.0.0.1:{daemons.tracker_port}",
        "--listen", "tcp:0:interface=127.0.0.1", *args],
        wrapper=(sys.executable, os.path.join(HERE, "cpuprofiled.py"), stats))
    port = listeningPort(seller)
    me = nodeId(seller)
    with contextlib.closing(purchase.Buyers(port, avoid={me}, encrypted=not plain)) as buyers:
        _answers(buyers, 1.0)
        os.kill(seller.process.pid, signal.SIGUSR1)
        time.sleep(0.2)
        count = _answers(buyers, seconds)
        os.kill(seller.process.pid, signal.SIGUSR2)
        seller.waitFor("profile saved", 30)
    report = pstats.Stats(stats, stream=sys.stdout)
    print(f"{count:,} purchases; reactor CPU {report.total_tt:.3f} s: "
          f"{report.total_tt / count * 1e6:.1f} us per purchase (under cProfile)")
    report.strip_dirs()
    for order in ("tottime", "cumulative"):
        report.sort_stats(order).print_stats(top)
    if keep:
        shutil.copy(stats, keep)


def main(argv=None):
    p = OneLineParser(prog="python -m benchmarks.sellercost",
                      description=summary(__doc__))
    p.add_argument("tool", choices=("callgrind", "cpuprofile"))
    p.add_argument("--memory", action="store_true",
                   help="the seller with its ledger in memory")
    p.add_argument("--seconds", type=argumentType(positiveSeconds), default=None,
                   help="seconds counted (default: 20 under callgrind, 5 otherwise)")
    p.add_argument("--top", type=argumentType(boundedInt(1)), default=30)
    p.add_argument("--plain", action="store_true",
                   help="the buyers speak plaintext (a seller from before the channel, "
                        "run with PYTHONPATH pointing at its tree)")
    p.add_argument("--keep", help="copy the callgrind dump, or the pstats, to this file")
    p.add_argument("--children", action="store_true",
                   help="callgrind: count the seller's child processes too (the store's "
                        "writer), each and in all")
    args = p.parse_args(argv)
    seconds = args.seconds or (20.0 if args.tool == "callgrind" else 5.0)
    seller_args = purchase.MEMORY_SELLER_ARGS if args.memory else purchase.SELLER_ARGS
    tool = callgrind if args.tool == "callgrind" else cpuprofile
    with tempfile.TemporaryDirectory(prefix="bazaar-sellercost-") as folder:
        with market() as daemons:
            tool(daemons, seller_args, folder, seconds, args.top, args.keep, args.plain,
                 args.children)


if __name__ == "__main__":
    main()
