"""
The simulator's scale goals (issue 23), as ``sim_*`` figures: for each
discovery scheme, a warm start of 100,000 nodes (``sim_warm_<scheme>_*``,
goals 120 s and 2,048 MB) and a cold start of 10,000
(``sim_cold_<scheme>_*``, goal 60 s, joins staggered over 5 s), 500
searches each; and, from the two cold runs of flood and superpeer,
``sim_cold_superpeer_messages_ratio``: the super-peers' messages per
search over flooding's, same seed (goal 0.1).  QUICK runs the same
commands with small N, against no goal.

Each run is ``bazaar-sim`` as a user runs it, in a subprocess of its own
(so its peak RSS is its own), with ``--crypto fast`` (the same protocol
and metrics as real signatures, see docs/simulator.md) but where a run
says otherwise.  A figure's wall
time is the subprocess's, start to exit, as a user waits for it; its
detail keeps the run's own ``wall_s``, the CPU seconds the subprocess
used (the figure to compare when other work shares the machine), and
what the run computed (success, messages per search).

Chord's warm run is at full size, with the 30 s upkeep periods of the
Chord paper's simulations (CHORD_PERIODS); its cold run at full size
too, with the daemons' own periods (docs/simulator.md, "Joins the
tracker places").  Issue 36 adds ``sim_warm_chord_daemon_periods_*``:
the warm chord run with the daemons' own periods and real signatures,
as a deployment's nodes would run (goal 300 s, RSS without a goal).

L{runEach}, L{simulate} and L{row} serve the other ``sim_*`` benchmarks
too (L{benchmarks.simattack}, L{benchmarks.simmillion}).
"""

import json
import os
import resource
import subprocess
import tempfile
import time

import attr

from benchmarks.harness import Figure
from benchmarks.simscale import bazaarSim

WALL_WARM = ("<=", 120.0)
WALL_COLD = ("<=", 60.0)
RSS = ("<=", 2048.0)
#: Seconds one run may take before it is killed.
RUN_TIMEOUT = 900.0
COMMON = ("--searches", "500", "--seed", "1")
#: What a failed run raises: its exit status, a timeout, no bazaar-sim,
#: or metrics that are not JSON.
FAILURES = (subprocess.SubprocessError, OSError, ValueError)


@attr.s(frozen=True, auto_attribs=True)
class Run:
    """One figure pair: a scheme, a start, N in full and QUICK mode, and
    what a full run has as goals (None: none); its signatures, how long
    it may take, and its figures' prefix if not ``sim_<start>_<scheme>``."""

    scheme: str
    start: str
    nodes: int
    quick_nodes: int
    flags: tuple = ()
    wall_goal: tuple = None
    rss_goal: tuple = None
    crypto: str = "fast"
    timeout: float = RUN_TIMEOUT
    name: str = None

    @property
    def prefix(self):
        return self.name or f"sim_{self.start}_{self.scheme}"

    def command(self, quick):
        nodes = self.quick_nodes if quick else self.nodes
        return ["bazaar-sim", "--nodes", str(nodes), "--discovery", self.scheme,
                "--start", self.start, *COMMON, "--crypto", self.crypto, "--quiet",
                *self.flags]


FLOOD = ("--ttl", "5")
#: Chord's upkeep every 30 s, as in the Chord paper's simulations, rather
#: than the daemons' 1 s (docs/simulator.md, "Chord at 100,000 nodes").
CHORD_PERIODS = ("--chord-stabilize", "30", "--chord-fix-fingers", "30",
                 "--chord-ping", "30")
#: A cold start's joins, staggered over 5 virtual seconds (super-peers
#: first), as nodes arrive in a deployment (docs/simulator.md).
STAGGERED = ("--join-spread", "5")
RUNS = (
    Run("flood", "warm", 100_000, 2_000, FLOOD, WALL_WARM, RSS),
    Run("index", "warm", 100_000, 2_000, (), WALL_WARM, RSS),
    Run("superpeer", "warm", 100_000, 2_000, (), WALL_WARM, RSS),
    Run("chord", "warm", 100_000, 300, CHORD_PERIODS, WALL_WARM, RSS),
    Run("flood", "cold", 10_000, 500, FLOOD + STAGGERED, WALL_COLD),
    Run("index", "cold", 10_000, 1_000, STAGGERED, WALL_COLD),
    Run("superpeer", "cold", 10_000, 1_000, STAGGERED, WALL_COLD),
    Run("chord", "cold", 10_000, 300, STAGGERED, WALL_COLD),
    # Issue 36: as a deployment runs, the daemons' periods and signatures.
    Run("chord", "warm", 100_000, 300, (), ("<=", 300.0), crypto="real",
        name="sim_warm_chord_daemon_periods"),
)
#: Issue 23: super-peers at a tenth of flooding's messages per search at
#: 10,000 nodes (the cold runs above, same seed): (figure, numerator run,
#: baseline run, goal).
RATIO = ("sim_cold_superpeer_messages_ratio", "sim_cold_superpeer", "sim_cold_flood",
         ("<=", 0.1))


#: The figures of each run, after its prefix.
SUFFIXES = ("wall_s", "rss_mb")


def names():
    """Every figure this benchmark yields."""
    return [f"{run.prefix}_{suffix}" for run in RUNS for suffix in SUFFIXES] + [RATIO[0]]


def simulate(command, timeout=RUN_TIMEOUT):
    """Run a bazaar-sim command (its first word replaced by the installed
    script) for at most timeout seconds; return its metrics, wall seconds
    and CPU seconds."""
    with tempfile.TemporaryDirectory(prefix="bazaar-bench-") as folder:
        out = os.path.join(folder, "metrics.json")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([bazaarSim(), *command[1:], "--json", out], check=True,
                       stdin=subprocess.DEVNULL, timeout=timeout)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(out) as f:
            metrics = json.load(f)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return metrics, round(wall, 1), round(cpu, 1)


def figures(run, quick, metrics, wall, cpu):
    """The wall and RSS figures of one run."""
    command = run.command(quick)
    nodes = int(command[2])
    full = not quick and run.wall_goal is not None
    detail = {"command": command, "run_wall_s": metrics["wall_s"], "cpu_s": cpu,
              "success_rate": metrics["success_rate"],
              "double_sells": metrics["double_sells"],
              "messages_per_search": metrics["messages_per_search"],
              "virtual_s": metrics["virtual_s"]}
    where = f"{nodes:,} nodes {run.start}" + (" (QUICK)" if quick else "")
    return [Figure(f"{run.prefix}_wall_s", wall, "s", run.wall_goal if full else None,
                   detail, note=f"{where}; CPU {cpu:g} s; success "
                                f"{metrics['success_rate']:.1%}"),
            Figure(f"{run.prefix}_rss_mb", metrics["peak_rss_mb"], "MB",
                   run.rss_goal if full else None, {"command": command},
                   note=f"peak RSS, {where}")]


def ratio(quick, metrics):
    """The super-peers' messages per search over flooding's, from the
    metrics of both cold runs (by figure prefix); None if either is
    missing (not run, or failed)."""
    name, numerator, baseline, goal = RATIO
    if numerator not in metrics or baseline not in metrics:
        return None
    mine, theirs = (metrics[prefix]["messages_per_search"]
                    for prefix in (numerator, baseline))
    nodes = {prefix: metrics[prefix]["nodes"] for prefix in (numerator, baseline)}
    return Figure(name, round(mine / theirs, 4) if theirs else None, "",
                  None if quick else goal,
                  {"superpeer_messages_per_search": mine,
                   "flood_messages_per_search": theirs, "nodes": nodes},
                  note=f"super-peers' messages per search over flooding's, cold, "
                       f"{nodes[numerator]:,} against {nodes[baseline]:,} nodes"
                       + (" (QUICK)" if quick else ""))


def failed(error):
    """A failed run's note: FAILED, and why."""
    return f"FAILED: {type(error).__name__}: {error}"[:200]


def row(prefix, command, metrics, wall, cpu):
    """A run as the table's footer names it and the JSON keeps it."""
    return {"figure": prefix, "command": command, "wall_s": wall, "cpu_s": cpu,
            "peak_rss_mb": metrics["peak_rss_mb"],
            "success_rate": metrics["success_rate"]}


def runEach(runs, quick, report, key, suffixes, figuresOf):
    """
    Every run, one at a time, its figures made by
    ``figuresOf(run, quick, metrics, wall, cpu)``; a run that fails yields
    failed figures (its prefix and each of suffixes) and the others still
    run.  The runs are kept in ``report[key]``; return the figures and the
    metrics of the runs that finished, by prefix.
    """
    rows = []
    done = []
    by_prefix = {}
    for each in runs:
        command = each.command(quick)
        try:
            metrics, wall, cpu = simulate(command, each.timeout)
        except FAILURES as e:
            why = failed(e)
            done += [Figure(f"{each.prefix}_{suffix}", note=why) for suffix in suffixes]
            report["errors"][each.prefix] = why
            continue
        done += figuresOf(each, quick, metrics, wall, cpu)
        by_prefix[each.prefix] = metrics
        rows.append(row(each.prefix, command, metrics, wall, cpu))
    report[key] = rows
    return done, by_prefix


def run(quick, report, runs=RUNS):
    """Every run, one at a time (L{runEach}), then the messages ratio."""
    done, by_prefix = runEach(runs, quick, report, "sim_goals", SUFFIXES, figures)
    messages = ratio(quick, by_prefix)
    if messages is not None:
        done.append(messages)
    elif set(RATIO[1:3]) <= {each.prefix for each in runs}:
        done.append(Figure(RATIO[0], note="FAILED: a cold run of flood or "
                                          "superpeer failed"))
    return done
