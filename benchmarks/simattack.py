"""
Issue 36's goals against adversaries, as ``sim_attack_<scheme>_<kind>_success``:
the purchase success of a warm start of 10,000 nodes, 20 % of them
adversaries of one kind, 500 searches, seed 1, for each discovery scheme
and each kind (goal 0.99, flood's 0.95).  QUICK runs the same commands
with 300 nodes and 60 searches, against no goal: with 500 searches, 300
nodes would have no node left that neither buys nor sells, where the
adversaries are drawn.

Outside chord an id places no node, so a sybil is a withholder, the
same run to the metric (docs/simulator.md, "Adversaries";
tests/sim/test_attack.py): its figure is the withhold run's, said so in
its note, and that run is not made twice.

Each run as L{benchmarks.simgoals} makes them: ``bazaar-sim`` in a
subprocess of its own with ``--crypto fast``; the figure's detail keeps
its command, wall and CPU seconds, peak RSS, double sells and what the
adversaries section says of the buyers' finds.  A 10,000-node chord run
took up to 1,142 s here (docs/simulator.md), hence RUN_TIMEOUT.
"""

from benchmarks import simgoals
from benchmarks.harness import Figure
from twisted_bazaar.sim.adversaries import KINDS

SCHEMES = ("flood", "index", "superpeer", "chord")
NODES, SEARCHES = 10_000, 500
QUICK_NODES, QUICK_SEARCHES = 300, 60
FRACTION = "0.2"
GOAL = (">=", 0.99)
#: Flood's goal is issue 36's lower one: a search reaches only what its
#: ttl does.
GOALS = {"flood": (">=", 0.95)}
#: Seconds one run may take before it is killed.
RUN_TIMEOUT = 2400.0


def prefix(scheme, kind):
    return f"sim_attack_{scheme}_{kind}"


def names():
    """Every figure this benchmark yields."""
    return [f"{prefix(scheme, kind)}_success" for scheme in SCHEMES for kind in KINDS]


def ranAs(scheme, kind):
    """The kind whose run gives this kind's figure: a sybil outside chord
    is a withholder."""
    return "withhold" if kind == "sybil" and scheme != "chord" else kind


def command(scheme, kind, quick):
    nodes, searches = (QUICK_NODES, QUICK_SEARCHES) if quick else (NODES, SEARCHES)
    return ["bazaar-sim", "--nodes", str(nodes), "--searches", str(searches),
            "--seed", "1", "--start", "warm", "--crypto", "fast", "--discovery", scheme,
            "--adversaries", FRACTION, "--adversary", kind, "--no-baseline", "--quiet"]


def figure(scheme, kind, quick, metrics, wall, cpu):
    """The success figure of one kind against one scheme, from the metrics
    of the run L{ranAs} names."""
    ran = ranAs(scheme, kind)
    adversaries = metrics["adversaries"]
    detail = {"command": command(scheme, ran, quick), "wall_s": wall,
              "run_wall_s": metrics["wall_s"], "cpu_s": cpu,
              "peak_rss_mb": metrics["peak_rss_mb"],
              "double_sells": metrics["double_sells"],
              "finds_with_honest_seller": adversaries["finds_with_honest_seller"],
              "lookups_honest_holder": adversaries["lookups_honest_holder"]}
    nodes = QUICK_NODES if quick else NODES
    note = (f"{nodes:,} nodes, {float(FRACTION):.0%} {ran}; wall {wall:g} s, "
            f"CPU {cpu:g} s, {metrics['peak_rss_mb']:g} MB")
    if ran != kind:
        detail["same_run_as"] = ran
        note = f"the withhold run: outside chord a sybil is a withholder; {note}"
    return Figure(f"{prefix(scheme, kind)}_success", metrics["success_rate"], "",
                  None if quick else GOALS.get(scheme, GOAL), detail,
                  note + (" (QUICK)" if quick else ""))


def run(quick, report):
    """Each scheme against each kind, one run at a time; a run that fails
    yields a failed figure and the others still run."""
    done = []
    rows = []
    for scheme in SCHEMES:
        # kind -> (metrics, wall, cpu) of its run, or why it failed.
        outcomes = {}
        for kind in KINDS:
            ran = ranAs(scheme, kind)
            if ran not in outcomes:
                line = command(scheme, ran, quick)
                try:
                    outcomes[ran] = simgoals.simulate(line, RUN_TIMEOUT)
                except simgoals.FAILURES as e:
                    outcomes[ran] = simgoals.failed(e)
                    report["errors"][prefix(scheme, ran)] = outcomes[ran]
                else:
                    rows.append(simgoals.row(prefix(scheme, ran), line, *outcomes[ran]))
            outcome = outcomes[ran]
            if isinstance(outcome, str):
                done.append(Figure(f"{prefix(scheme, kind)}_success", note=outcome))
            else:
                done.append(figure(scheme, kind, quick, *outcome))
    report["sim_attack"] = rows
    return done
