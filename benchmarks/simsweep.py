"""
How much a sweep gains from a second worker: the same grid of runs by
``bazaar-sim sweep --workers 1`` and ``--workers 2``, each timed from the
command's start to its end (the local cluster's start included, as a user
waits for it), and their ratio; issue 50's goal is at most 0.7 for four
5,000-node runs on a 2-core machine.  Both sweeps must write the same
``--json`` for each run, ``wall_s`` and ``peak_rss_mb`` aside.

    python -m benchmarks.simsweep                  # four 5,000-node runs
    python -m benchmarks.simsweep --nodes 40       # a check that it works

Only a machine with two idle cores measures the goal: runs beside other
work share the cores with it.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from twisted_bazaar.base.options import boundedInt
from twisted_bazaar.base.usage import OneLineParser, argumentType

#: Each run's flags but --nodes and the seeds: a warm flood of ttl 5, the
#: scale runs' (docs/simulator.md, "A million nodes").
FLAGS = ("--searches", "500", "--start", "warm", "--crypto", "fast", "--discovery",
         "flood", "--ttl", "5")
GOAL = 0.7


def sweepWall(workers, nodes, runs, out):
    """Seconds ``bazaar-sim sweep`` takes for the grid with workers."""
    command = [str(Path(sys.executable).with_name("bazaar-sim")), "sweep",
               "--workers", str(workers), "--out", out, "--nodes", str(nodes),
               "--seeds", ",".join(str(seed) for seed in range(1, runs + 1)), *FLAGS]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def measured(folder):
    """Each run's --json in folder but wall_s and peak_rss_mb, by name."""
    results = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".json"):
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                metrics = json.load(f)
            del metrics["wall_s"], metrics["peak_rss_mb"]
            results[name] = metrics
    return results


def main(argv=None):
    p = OneLineParser(prog="python -m benchmarks.simsweep",
                      description="Time a sweep with 1 worker and with 2.")
    p.add_argument("--nodes", type=argumentType(boundedInt(2)), default=5000,
                   help="nodes of each run")
    p.add_argument("--runs", type=argumentType(boundedInt(1)), default=4,
                   help="runs in the grid (seeds 1..N)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bazaar-simsweep-") as folder:
        one, two = os.path.join(folder, "one"), os.path.join(folder, "two")
        wall_one = sweepWall(1, args.nodes, args.runs, one)
        wall_two = sweepWall(2, args.nodes, args.runs, two)
        same = measured(one) == measured(two) and len(measured(one)) == args.runs
    ratio = wall_two / wall_one
    print(f"{args.runs} runs of {args.nodes} nodes: 1 worker {wall_one:.1f} s, "
          f"2 workers {wall_two:.1f} s, ratio {ratio:.2f} (goal <= {GOAL}); "
          f"load average at the end {os.getloadavg()[0]:.1f}; the same --json from "
          f"both: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
