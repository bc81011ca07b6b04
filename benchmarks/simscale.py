"""
Simulator scale: sim_10k_wall_s and sim_10k_rss_mb, and how wall time,
peak memory and messages per search grow with N.

Each run is ``bazaar-sim`` as a user runs it, in a subprocess of its own
(so its peak RSS is its own), writing its metrics with ``--json``; the
figures are the sim's own ``wall_s`` and ``peak_rss_mb``.  The simulated
runs are deterministic for the seed, so only those two vary between
repeats.  Skipped in QUICK mode: the 10,000-node run alone takes about a
minute.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.harness import Figure, median

#: The run the goals are about; only --nodes changes in the scale series.
SIM_NODES = 10_000
SIM_FLAGS = ("--searches", "1000", "--seed", "1", "--ttl", "5", "--degree", "4",
             "--quiet")
WALL_GOAL = ("<=", 60.0)
RSS_GOAL = ("<=", 2048.0)
#: N of the scale series in docs/benchmarks.md.
SCALE = (100, 1_000, 10_000)
#: Runs of the SIM_NODES row (its median gives the figures), and of the
#: others (only their wall time varies between runs, and little).
REPEATS, OTHER_REPEATS = 3, 1
#: Seconds one run may take before it is killed.
RUN_TIMEOUT = 300.0


def bazaarSim():
    path = Path(sys.executable).with_name("bazaar-sim")
    if not path.exists():
        raise FileNotFoundError(f"no bazaar-sim next to {sys.executable}: install "
                                "the project into this environment first")
    return str(path)


def simulate(nodes):
    """One bazaar-sim run of nodes; return its metrics."""
    with tempfile.TemporaryDirectory(prefix="bazaar-bench-") as folder:
        out = os.path.join(folder, "metrics.json")
        subprocess.run([bazaarSim(), "--nodes", str(nodes), *SIM_FLAGS, "--json", out],
                       check=True, stdin=subprocess.DEVNULL, timeout=RUN_TIMEOUT)
        with open(out) as f:
            return json.load(f)


def scaleRow(nodes, repeats=REPEATS):
    """Median wall time and peak RSS of repeated runs of nodes, with the
    run's (deterministic) traffic and outcome."""
    runs = [simulate(nodes) for _ in range(repeats)]
    last = runs[-1]
    return {"nodes": nodes, "edges": last["edges"],
            "wall_s": median([run["wall_s"] for run in runs]),
            "peak_rss_mb": median([run["peak_rss_mb"] for run in runs]),
            "messages_per_search": last["messages_per_search"],
            "success_rate": last["success_rate"],
            "virtual_s": last.get("virtual_s"),
            "wall_s_runs": [run["wall_s"] for run in runs]}


def scaleSeries(sizes=SCALE):
    return [scaleRow(nodes, REPEATS if nodes == SIM_NODES else OTHER_REPEATS)
            for nodes in sizes]


def figures(rows):
    """The two goal figures, from the SIM_NODES row of a scale series
    (or skipped ones when there is none)."""
    row = next((row for row in rows if row["nodes"] == SIM_NODES), None)
    if row is None:
        return [Figure("sim_10k_wall_s", unit="s", goal=WALL_GOAL,
                       note="skipped in QUICK mode"),
                Figure("sim_10k_rss_mb", unit="MB", goal=RSS_GOAL,
                       note="skipped in QUICK mode")]
    detail = {"command": ["bazaar-sim", "--nodes", str(SIM_NODES), *SIM_FLAGS],
              "wall_s_runs": row["wall_s_runs"],
              "success_rate": row["success_rate"], "virtual_s": row["virtual_s"]}
    return [Figure("sim_10k_wall_s", row["wall_s"], "s", WALL_GOAL, detail,
                   note=f"{SIM_NODES:,} nodes, 1,000 purchases; "
                        f"success {row['success_rate']:.1%}"),
            Figure("sim_10k_rss_mb", row["peak_rss_mb"], "MB", RSS_GOAL,
                   note=f"peak RSS of the {SIM_NODES:,}-node run")]
