"""
Issue 36's million nodes, as ``sim_million_<scheme>_*``: a warm start of
1,000,000 nodes of each discovery scheme, 500 searches, seed 1, within
15 minutes of wall time (``_wall_s``) and 16 GiB of peak RSS
(``_rss_mb``), with success at least 0.99 (``_success``) and no double
sell (``_double_sells``).  Flood and chord have the flags of
docs/simulator.md, "A million nodes": ttl 5, and chord's upkeep every
30 s.  QUICK runs the same commands with 5,000 nodes, against no goal.

The runs measured last (docs/simulator.md, 2026-11-25) took 8 to 12
minutes here and 10.4 to 14.7 GiB each, so this benchmark runs only when named
(``--only simmillion``).  The runs are
made and their wall and RSS figures read as L{benchmarks.simgoals}'.
"""

from benchmarks import simgoals
from benchmarks.harness import Figure

WALL = ("<=", 900.0)
RSS = ("<=", 16_384.0)
SUCCESS = (">=", 0.99)
NO_DOUBLE_SELL = ("<=", 0)
#: Seconds one run may take before it is killed.
RUN_TIMEOUT = 3600.0
SCHEME_FLAGS = {"flood": simgoals.FLOOD, "index": (), "superpeer": (),
                "chord": simgoals.CHORD_PERIODS}
RUNS = tuple(simgoals.Run(scheme, "warm", 1_000_000, 5_000, flags, WALL, RSS,
                          timeout=RUN_TIMEOUT, name=f"sim_million_{scheme}")
             for scheme, flags in SCHEME_FLAGS.items())
SUFFIXES = simgoals.SUFFIXES + ("success", "double_sells")


def names():
    """Every figure this benchmark yields."""
    return [f"{run.prefix}_{suffix}" for run in RUNS for suffix in SUFFIXES]


def figures(run, quick, metrics, wall, cpu):
    """The wall and RSS figures of one run (as simgoals makes them), its
    success and its double sells."""
    command = run.command(quick)
    where = f"{int(command[2]):,} nodes warm" + (" (QUICK)" if quick else "")
    return simgoals.figures(run, quick, metrics, wall, cpu) + [
        Figure(f"{run.prefix}_success", metrics["success_rate"], "",
               None if quick else SUCCESS,
               {"command": command, "double_sells": metrics["double_sells"]},
               note=f"purchase success, {where}; {metrics['double_sells']} double sells"),
        Figure(f"{run.prefix}_double_sells", metrics["double_sells"], "",
               None if quick else NO_DOUBLE_SELL, {"command": command},
               note=f"double sells, {where}")]


def run(quick, report, runs=RUNS):
    """Every run, one at a time (L{simgoals.runEach})."""
    done, _ = simgoals.runEach(runs, quick, report, "sim_million", SUFFIXES, figures)
    return done
