"""The ``--plot`` figure of bazaar-sim (matplotlib is an optional extra)."""


def plot(sim, metrics, path):
    """Latency and hop distributions, and messages by type per search."""
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
    messages.bar(list(kinds), [count / floods for count in kinds.values()],
                 color="tab:orange")
    messages.set_title(f"messages per search ({metrics['messages_per_search']} "
                       "trade messages)")
    messages.set_yscale("log")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def plotChord(result, path):
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
    figure.savefig(path, dpi=100)
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


def main(argv=None):
    """
    ``python -m twisted_bazaar.sim.plot OUT.png RESULT.json...``: draw the
    figure of a chord experiment from the ``--json`` files of its runs
    (``--experiment pathlength --sizes 32768`` and so on), their rows
    together, without running anything again.
    """
    import argparse
    import json
    import sys

    p = argparse.ArgumentParser(prog="python -m twisted_bazaar.sim.plot",
                                description="Draw a chord experiment's figure from "
                                "the --json files of its runs.")
    p.add_argument("out", metavar="OUT.png")
    p.add_argument("results", metavar="RESULT.json", nargs="+")
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
            result["experiment"], result["seed"], result["rows"]
        except OSError as e:
            p.error(f"cannot read {path}: {e.strerror}")
        except (ValueError, KeyError, TypeError):
            p.error(f"{path} is not the --json of a chord experiment")
        results.append(result)
    try:
        plotChord(merged(results), args.out)
    except ValueError as reason:
        p.error(str(reason))
    except OSError as e:
        p.error(f"cannot write {args.out}: {e.strerror}")
    sys.stdout.write(f"{args.out}: {sum(len(r['rows']) for r in results)} rows\n")


if __name__ == "__main__":
    main()
