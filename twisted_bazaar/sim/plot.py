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
