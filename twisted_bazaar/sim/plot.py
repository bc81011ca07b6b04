"""
The ``--plot`` figure of bazaar-sim, and the figures drawn from the
``--json`` of several runs (chord experiments; market runs with
adversaries).  matplotlib is an optional extra.
"""


def plot(sim, metrics, path, format=None):
    """Latency and hop distributions, and messages by type per search
    (format: matplotlib's, when path's suffix does not say it)."""
    from matplotlib import pyplot

    figure = runFigure(sim, metrics)
    figure.savefig(path, dpi=100, format=format)
    pyplot.close(figure)


def runFigure(sim, metrics):
    """The figure L{plot} saves, laid out."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (latency, hops, messages) = pyplot.subplots(1, 3, figsize=(15, 4.5))
    config = metrics["config"]
    figure.suptitle(f"bazaar-sim: {metrics['nodes']} nodes, {config['topology']} "
                    f"degree {config['degree']}, ttl {config['ttl']}, "
                    f"{config['discovery']}, seed {config['seed']}")
    latency.hist(sim.record.latency_ms or [0], bins=40, color="tab:blue")
    latency.set_title("search to buyOK (virtual ms)")
    latency.set_xlabel("ms")
    latency.set_ylabel("purchases")
    counts = {}
    for value in sim.record.hops:
        counts[value] = counts.get(value, 0) + 1
    hops.bar(list(counts), list(counts.values()), color="tab:green")
    hops.set_title("hops to first reply")
    hops.set_xlabel("hops")
    hops.set_ylabel("searches")
    floods = max(1, metrics["search_floods"])
    kinds = metrics["messages_by_type"]
    # A bar a kind, lying down: a run has a dozen kinds or more, whose
    # names side by side under upright bars overlap.
    messages.barh(list(kinds), [count / floods for count in kinds.values()],
                  color="tab:orange")
    messages.invert_yaxis()
    messages.tick_params(axis="y", labelsize=8)
    messages.set_title(messagesTitle(metrics))
    messages.set_xscale("log")
    figure.tight_layout()
    return figure


def messagesTitle(metrics):
    """The message panel's title: the trade messages a search took, with a
    thousands comma and one decimal (``482.811`` read like 482,811)."""
    return (f"trade messages per search, by kind ({metrics['messages_per_search']:,.1f} "
            "in all)")


def plotChord(result, path, format=None):
    """The figure of a chord experiment: hops against N (pathlength), or
    failed lookups against the fraction of nodes crashed (failures)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    rows = result["rows"]
    if result["experiment"] == "pathlength":
        sizes = [row["nodes"] for row in rows]
        means = [row["hops"]["mean"] for row in rows]
        low = [mean - row["hops"]["p1"] for mean, row in zip(means, rows)]
        high = [row["hops"]["p99"] - mean for mean, row in zip(means, rows)]
        axes.errorbar(sizes, means, yerr=[low, high], fmt="o-", capsize=4,
                      label="mean hops (bars: p1 to p99)")
        axes.plot(sizes, [row["goal_mean"] for row in rows], "--",
                  label="goal: 1/2 log2 N + 1")
        axes.plot(sizes, [row["goal_mean"] - 1 for row in rows], ":", color="grey",
                  label="1/2 log2 N (the paper's, to the key's predecessor)")
        axes.set_xscale("log", base=2)
        axes.set_xlabel("nodes N")
        axes.set_ylabel("hops per lookup")
        axes.set_title(f"chord path length (seed {result['seed']})")
    elif result["experiment"] == "failures":
        fractions = [row["failed_nodes"] for row in rows]
        axes.plot(fractions, [row["before_repair"]["failed_fraction"] for row in rows],
                  "o-", label="before repair")
        axes.plot(fractions, [row["after_repair"]["failed_fraction"] for row in rows],
                  "s-", label="after repair")
        axes.plot(fractions, fractions, ":", color="grey", label="p")
        axes.set_xlabel("fraction p of nodes crashed at once")
        axes.set_ylabel("fraction of lookups failed")
        axes.set_title(f"chord lookups after simultaneous failures "
                       f"({rows[0]['nodes']} nodes, seed {result['seed']})")
    else:
        rates = [row["events_per_s"] for row in rows]
        axes.plot(rates, [1 - row["failed_fraction"] for row in rows], "o-",
                  label="lookups that reach the holder")
        axes.set_xscale("log")
        axes.set_xlabel("churn: events per second")
        axes.set_ylabel("lookups that reach the holder")
        axes.set_title(f"chord under churn ({rows[0]['nodes']} nodes)")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100, format=format)
    pyplot.close(figure)


def merged(results):
    """Results of one chord experiment (several runs, say one size each)
    as one: their rows together, in the order of their first column.

    @raise ValueError: for results of different experiments or seeds.
    """
    kinds = {(result["experiment"], result["seed"]) for result in results}
    if len(kinds) != 1:
        raise ValueError("the files are of different experiments or seeds: "
                         + ", ".join(f"{kind} seed {seed}" for kind, seed in sorted(kinds)))
    key = {"pathlength": "nodes", "failures": "failed_nodes"}.get(
        results[0]["experiment"], "events_per_s")
    rows = sorted((row for result in results for row in result["rows"]),
                  key=lambda row: row[key])
    return dict(results[0], rows=rows)


#: Each scheme's goal for purchase success with 20 % adversaries
#: (docs/simulator.md, "Adversaries"), drawn beside its curves.
ATTACK_GOALS = {"flood": 0.95, "index": 0.99, "superpeer": 0.99, "chord": 0.99}


def isMarketRun(result):
    """Is result the ``--json`` of a market run (not of a chord experiment)?"""
    return isinstance(result, dict) and "success_rate" in result and "config" in result


def attackCurves(results):
    """
    The market runs' purchase success against their fraction of
    adversaries: {scheme: {kind: [(fraction, success), ...]}}, each curve
    in the order of its fractions.  An honest run (no adversaries) is the
    point at 0 of every curve of its scheme.

    @raise ValueError: for runs of other sizes or seeds, or two runs of
        one point.
    """
    sizes = {(result["nodes"], result["config"]["seed"]) for result in results}
    if len(sizes) != 1:
        raise ValueError("the runs are of different sizes or seeds: " + ", ".join(
            f"{nodes} nodes seed {seed}" for nodes, seed in sorted(sizes)))
    points, honest = {}, {}
    for result in results:
        config = result["config"]
        scheme, fraction = config["discovery"], config["adversaries"] or 0.0
        if not fraction:
            honest[scheme] = result["success_rate"]
            continue
        curve = points.setdefault(scheme, {}).setdefault("+".join(config["adversary"]), {})
        if fraction in curve:
            raise ValueError(f"two runs of {scheme} with {fraction:g} "
                             f"{'+'.join(config['adversary'])}")
        curve[fraction] = result["success_rate"]
    curves = {}
    for scheme in sorted(set(points) | set(honest)):
        kinds = points.get(scheme, {})
        curves[scheme] = {}
        for kind in sorted(kinds):
            curve = dict(kinds[kind])
            if scheme in honest:
                curve[0.0] = honest[scheme]
            curves[scheme][kind] = sorted(curve.items())
        if not kinds:
            curves[scheme]["honest"] = [(0.0, honest[scheme])]
    return curves


def plotAttack(curves, nodes, seed, path):
    """Purchase success against the fraction of adversaries, one panel
    per scheme, one curve per kind, with the scheme's goal at 20 %."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    schemes = list(curves)
    figure, panels = pyplot.subplots(1, len(schemes), figsize=(4.2 * len(schemes), 4.2),
                                     sharey=True, squeeze=False)
    for axes, scheme in zip(panels[0], schemes):
        for kind, curve in curves[scheme].items():
            axes.plot([x for x, _ in curve], [y for _, y in curve], "o-", label=kind)
        goal = ATTACK_GOALS.get(scheme)
        if goal is not None:
            axes.plot([0.2], [goal], "k_", markersize=18, label=f"goal at 0.2: {goal}")
        axes.set_title(scheme)
        axes.set_xlabel("fraction of adversaries")
        axes.set_ylim(0, 1.02)
        axes.legend(fontsize="small", loc="lower left")
    panels[0][0].set_ylabel("purchase success")
    figure.suptitle(f"bazaar-sim: {nodes} nodes, warm, seed {seed}")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


#: The goals for a warm run of a million nodes (docs/simulator.md, "A
#: million nodes"), drawn beside the scale curves: wall seconds and peak
#: RSS in MiB.
MILLION_GOALS = {"wall_s": 900.0, "peak_rss_mb": 16_384.0}


def isScaleSeries(results):
    """Are results honest market runs of more than one size (how wall
    time and memory grow with N), not an adversary sweep of one size?"""
    return (len({result["nodes"] for result in results}) > 1
            and not any(result["config"]["adversaries"] for result in results))


def scaleCurves(results):
    """
    Wall time and peak RSS against the number of nodes:
    {scheme: [(nodes, wall seconds, peak RSS MiB), ...]}, each in the
    order of its sizes.

    @raise ValueError: for runs of other seeds, runs with adversaries, or
        two runs of one scheme and size.
    """
    seeds = {result["config"]["seed"] for result in results}
    if len(seeds) != 1:
        raise ValueError("the runs are of different seeds: "
                         + ", ".join(str(seed) for seed in sorted(seeds)))
    curves = {}
    for result in results:
        config = result["config"]
        if config["adversaries"]:
            raise ValueError("a run with adversaries is no point of how a run grows")
        curve = curves.setdefault(config["discovery"], {})
        if result["nodes"] in curve:
            raise ValueError(f"two runs of {config['discovery']} with "
                             f"{result['nodes']} nodes")
        curve[result["nodes"]] = (result["nodes"], result["wall_s"], result["peak_rss_mb"])
    return {scheme: sorted(curve.values()) for scheme, curve in sorted(curves.items())}


def scaleTitle(results):
    """
    The title of a figure of how runs grow: what they share, their start,
    searches and seed, and their shards (a sharded run's peak RSS is its
    largest shard's).  It said "warm runs, 500 searches" of any runs.

    @raise ValueError: for runs that differ in one of these.
    """
    said = []
    for name, value in (("--start", lambda r: r["config"].get("start", "warm")),
                        ("--searches", lambda r: r["config"].get("searches")),
                        ("--seed", lambda r: r["config"]["seed"]),
                        ("--shards", lambda r: (r.get("shards") or {}).get("count"))):
        values = {value(result) for result in results}
        if len(values) != 1:
            raise ValueError(f"the runs are of different {name}: "
                             + ", ".join(str(v) for v in sorted(values, key=str)))
        said.append(values.pop())
    start, searches, seed, shards = said
    title = f"bazaar-sim: {start} runs, {searches} searches, seed {seed}"
    if shards is not None:
        title += f", {shards} shards (peak RSS: the largest shard's)"
    return title


def plotScale(curves, title, path):
    """Wall time and peak RSS against N, log-log, one curve per scheme,
    with the million-node goals, under title (L{scaleTitle})."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (wall, memory) = pyplot.subplots(1, 2, figsize=(11, 4.5))
    for scheme, curve in curves.items():
        sizes = [nodes for nodes, _, _ in curve]
        wall.plot(sizes, [seconds / 60 for _, seconds, _ in curve], "o-", label=scheme)
        memory.plot(sizes, [mib / 1024 for _, _, mib in curve], "o-", label=scheme)
    wall.plot([1_000_000], [MILLION_GOALS["wall_s"] / 60], "k_", markersize=18,
              label="goal at a million")
    memory.plot([1_000_000], [MILLION_GOALS["peak_rss_mb"] / 1024], "k_", markersize=18,
                label="goal at a million")
    for axes, label in ((wall, "wall time (minutes)"), (memory, "peak RSS (GiB)")):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("nodes")
        axes.set_ylabel(label)
        axes.legend(fontsize="small", loc="upper left")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def isNatSeries(results):
    """Are results market runs with nodes at home (``--nat``) at more than
    one fraction, and no adversaries: purchases against the fraction?"""
    return (len({result["config"].get("nat", 0.0) for result in results}) > 1
            and not any(result["config"]["adversaries"] for result in results))


def relayedBytes(nat):
    """The bytes every relay of a run carried, the tracker's and the public
    nodes' (``nat`` of its --json), or None where it measured none."""
    counts = [nat.get(key) for key in ("relayed_bytes", "peer_relayed_bytes")]
    counts = [count for count in counts if count is not None]
    return sum(counts) if counts else None


def natCurves(results):
    """
    Purchase success, latency and relay load against the fraction of the
    nodes at home: {scheme: [(fraction, success, latency p50 ms, latency
    p95 ms, bytes relayed per purchase by every relay, the tracker's and
    the public nodes', or None), ...]}, each in the order of its fractions.

    @raise ValueError: for runs of other sizes or seeds, runs with
        adversaries, or two runs of one scheme and fraction.
    """
    sizes = {(result["nodes"], result["config"]["seed"]) for result in results}
    if len(sizes) != 1:
        raise ValueError("the runs are of different sizes or seeds: " + ", ".join(
            f"{nodes} nodes seed {seed}" for nodes, seed in sorted(sizes)))
    curves = {}
    for result in results:
        config = result["config"]
        if config["adversaries"]:
            raise ValueError("a run with adversaries is no point of how NAT costs")
        fraction = config.get("nat", 0.0)
        curve = curves.setdefault(config["discovery"], {})
        if fraction in curve:
            raise ValueError(f"two runs of {config['discovery']} with --nat {fraction:g}")
        latency = result["latency_ms"]
        relayed = relayedBytes(result.get("nat", {}))
        purchases = result["purchases"]
        curve[fraction] = (fraction, result["success_rate"], latency["p50"],
                           latency["p95"],
                           None if relayed is None else relayed / max(1, purchases))
    return {scheme: sorted(curve.values()) for scheme, curve in sorted(curves.items())}


def relayPanel(curves):
    """
    What a NAT figure shows of relay load (L{natCurves}' last value):
    (whether it has a panel of bytes relayed per purchase, a line that says
    what the figure leaves out, or "").  The panel is on a log scale,
    which only a positive value is drawn on: a sweep whose relays carried
    no byte at any fraction gets no panel but the line saying so, rather
    than an empty panel.
    """
    measured = [(scheme, point[0], point[4]) for scheme, curve in curves.items()
                for point in curve if point[4] is not None]
    if not measured:
        return False, "no panel of bytes relayed: the runs did not measure it"
    if not any(carried for _, _, carried in measured):
        return False, ("no panel of bytes relayed: no byte went through a relay "
                       "at any fraction")
    zeros = [f"{scheme} at {fraction:g}" for scheme, fraction, carried in measured
             if not carried and fraction]
    return True, ("no byte relayed (not drawn on the log scale): " + ", ".join(zeros)
                  if zeros else "")


def plotNat(curves, nodes, seed, path):
    """
    Purchase success, latency (p50 and p95) and, where relays carried
    bytes, bytes relayed per purchase, against the fraction of nodes at
    home (L{relayPanel}).

    @return: the y labels of the panels drawn, and the title.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    relayed, note = relayPanel(curves)
    figure, panels = pyplot.subplots(1, 3 if relayed else 2,
                                     figsize=(15 if relayed else 10.5, 4.5))
    success, latency = panels[0], panels[1]
    for scheme, curve in curves.items():
        fractions = [point[0] for point in curve]
        line, = success.plot(fractions, [point[1] for point in curve], "o-", label=scheme)
        latency.plot(fractions, [point[2] or 0 for point in curve], "o-",
                     color=line.get_color(), label=f"{scheme} p50")
        latency.plot(fractions, [point[3] or 0 for point in curve], "s:",
                     color=line.get_color(), label=f"{scheme} p95")
        carried = [(point[0], point[4]) for point in curve if point[4]]
        if relayed and carried:
            panels[2].plot([x for x, _ in carried], [y for _, y in carried], "o-",
                           color=line.get_color(), label=scheme)
    success.set_ylim(0, 1.02)
    success.set_ylabel("purchase success")
    latency.set_yscale("log")
    latency.set_ylabel("search to buyOK (virtual ms)")
    if relayed:
        panels[2].set_yscale("log")
        panels[2].set_ylabel("bytes relayed per purchase")
    for axes in panels:
        axes.set_xlabel("fraction of nodes at home (behind NAT)")
        axes.legend(fontsize="small")
    title = f"bazaar-sim: {nodes} nodes, cold start, seed {seed}"
    if note:
        title += "\n" + note
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return [axes.get_ylabel() for axes in panels], title


def main(argv=None):
    """
    ``python -m twisted_bazaar.sim.plot OUT.png RESULT.json...``: draw the
    figure of a chord experiment from the ``--json`` files of its runs
    (``--experiment pathlength --sizes 32768`` and so on), their rows
    together; or, from the ``--json`` files of market runs with
    ``--adversaries``, purchase success against the fraction of
    adversaries; from those of honest market runs of several sizes, wall
    time and peak RSS against the number of nodes; from those of runs with
    several ``--nat`` fractions, purchase success, latency and relay load
    against that fraction; without running anything again.
    """
    import json
    import sys

    from twisted_bazaar.base.usage import OneLineParser

    p = OneLineParser(prog="python -m twisted_bazaar.sim.plot",
                      description="Draw a chord experiment's figure from the --json "
                      "files of its runs, or purchase success against the fraction of "
                      "adversaries from those of market runs (bazaar-sim "
                      "--adversaries), or wall time and peak RSS against N from honest "
                      "market runs of several sizes, or purchase success, latency and "
                      "relay load against the fraction of nodes at home from runs of "
                      "several --nat fractions.")
    p.add_argument("out", metavar="OUT.png", help="the figure to write (PNG)")
    p.add_argument("results", metavar="RESULT.json", nargs="+",
                   help="the --json files of the runs to draw")
    args = p.parse_args(argv)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        p.error("drawing needs matplotlib: pip install 'twisted-bazaar[plot]'")
    results = []
    for path in args.results:
        try:
            with open(path, encoding="utf-8") as f:
                result = json.load(f)
            if isMarketRun(result):
                config = result["config"]
                (config["discovery"], config["seed"], config["adversary"],
                 config["adversaries"], result["nodes"], result["wall_s"],
                 result["peak_rss_mb"])
            else:
                result["experiment"], result["seed"], result["rows"]
        except OSError as e:
            p.error(f"cannot read {path}: {e.strerror}")
        except (ValueError, KeyError, TypeError):
            p.error(f"{path} is not the --json of a chord experiment or a market run")
        results.append(result)
    market = [isMarketRun(result) for result in results]
    if any(market) and not all(market):
        p.error("the files mix market runs and chord experiments")
    try:
        if all(market) and isNatSeries(results):
            plotNat(natCurves(results), results[0]["nodes"],
                    results[0]["config"]["seed"], args.out)
            told = f"{len(results)} runs"
        elif all(market) and isScaleSeries(results):
            plotScale(scaleCurves(results), scaleTitle(results), args.out)
            told = f"{len(results)} runs"
        elif all(market):
            plotAttack(attackCurves(results), results[0]["nodes"],
                       results[0]["config"]["seed"], args.out)
            told = f"{len(results)} runs"
        else:
            plotChord(merged(results), args.out)
            told = f"{sum(len(r['rows']) for r in results)} rows"
    except ValueError as reason:
        p.error(str(reason))
    except OSError as e:
        p.error(f"cannot write {args.out}: {e.strerror}")
    sys.stdout.write(f"{args.out}: {told}\n")


if __name__ == "__main__":
    main()
