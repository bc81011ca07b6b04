"""
The figures ``bazaar-sim sweep --plot`` draws in its folder, from the
``--json`` of its runs, and which grid gives which (L{GRIDS}):

- runs with ``--adversaries``: purchase success against their fraction,
  a figure for each size and seed (L{twisted_bazaar.sim.plot.plotAttack});
- honest runs of several ``--nodes``: wall time and peak RSS against N,
  for each seed (L{twisted_bazaar.sim.plot.plotScale});
- honest runs of several ``--nat`` fractions: purchase success, latency
  and relay load against the fraction, for each size and seed
  (L{twisted_bazaar.sim.plot.plotNat});
- honest runs of several schemes or seeds at one size: the schemes side
  by side, each seed a point (L{plotSchemes}).

A grid that gives none is told why, and so is a figure that cannot be
drawn; either way the sweep ends non-zero.
"""

import os

#: Which grid gives which figure, as --plot's help and its refusal say it.
GRIDS = ("--adversaries F,...: success against the fraction of adversaries "
         "(success-N-seedS.png); several --nodes: wall time and memory against N "
         "(growth-seedS.png); several --nat: success, latency and relay load against "
         "the fraction at home (nat-N-seedS.png); several --discovery or seeds at one "
         "--nodes: the schemes side by side (schemes-N.png)")


def _nat(result):
    return result["config"].get("nat", 0.0) or 0.0


def _honest(result):
    return not result["config"]["adversaries"]


def drawFigures(folder, results):
    """
    Draw every figure the results make, in folder.

    @return: (a line for each figure drawn or not drawn, or saying why
        none is; whether every figure the grid makes was drawn).
    """
    from twisted_bazaar.sim import plot

    said, complete = [], True

    def draw(filename, how):
        nonlocal complete
        line, drawn = _draw(folder, filename, how)
        said.append(line)
        complete = complete and drawn

    seeds = sorted({r["config"]["seed"] for r in results})
    sizes = sorted({r["nodes"] for r in results})
    for seed in seeds:
        honest = [r for r in results if r["config"]["seed"] == seed and _honest(r)]
        if len({r["nodes"] for r in honest}) > 1:
            draw(f"growth-seed{seed}.png",
                 lambda path: plot.plotScale(plot.scaleCurves(honest),
                                             plot.scaleTitle(honest), path))
        for nodes in sizes:
            group = [r for r in results if r["config"]["seed"] == seed and r["nodes"] == nodes]
            if not all(map(_honest, group)):
                draw(f"success-{nodes}-seed{seed}.png",
                     lambda path: plot.plotAttack(plot.attackCurves(group), nodes, seed,
                                                  path))
            elif len({_nat(r) for r in group}) > 1:
                draw(f"nat-{nodes}-seed{seed}.png",
                     lambda path: plot.plotNat(plot.natCurves(group), nodes, seed, path))
    # The runs of an adversary sweep (their size and seed) are its figure's.
    attacked = {(r["nodes"], r["config"]["seed"]) for r in results if not _honest(r)}
    for nodes in sizes:
        for nat in sorted({_nat(r) for r in results if r["nodes"] == nodes}):
            group = [r for r in results if r["nodes"] == nodes and _nat(r) == nat
                     and (nodes, r["config"]["seed"]) not in attacked]
            kinds = {(r["config"]["discovery"], r["config"]["seed"]) for r in group}
            if len({kind for kind, _ in kinds}) > 1 or len({s for _, s in kinds}) > 1:
                name = f"schemes-{nodes}" + (f"-nat{nat:g}" if nat else "") + ".png"
                draw(name, lambda path: plotSchemes(schemeRows(group), nodes, nat, path))
    if not said:
        return [f"--plot: nothing to draw: this grid makes no figure; {GRIDS}"], False
    return said, complete


def schemeRows(results):
    """
    Each scheme's runs as points: {scheme: [(seed, success, latency p50
    ms, messages per search), ...]}, in the order of their seeds.

    @raise ValueError: for two runs of one scheme and seed (the grid varies
        something this figure does not draw).
    """
    rows = {}
    for result in results:
        config = result["config"]
        points = rows.setdefault(config["discovery"], {})
        if config["seed"] in points:
            raise ValueError(f"two runs of {config['discovery']} with seed "
                             f"{config['seed']}: the grid varies a flag this figure "
                             "does not draw")
        points[config["seed"]] = (config["seed"], result["success_rate"],
                                  result["latency_ms"]["p50"],
                                  result["messages_per_search"])
    return {scheme: sorted(points.values()) for scheme, points in sorted(rows.items())}


#: The panels of L{plotSchemes}: (the point's index, the axis's label).
SCHEME_PANELS = ((1, "purchase success"), (2, "search to buyOK, p50 (virtual ms)"),
                 (3, "messages per search"))


def plotSchemes(rows, nodes, nat, path):
    """Purchase success, latency and messages per search, one column per
    scheme, each seed's run a point and their mean a bar."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    schemes = list(rows)
    figure, panels = pyplot.subplots(1, len(SCHEME_PANELS), figsize=(13, 4.2))
    for axes, (index, label) in zip(panels, SCHEME_PANELS):
        for x, scheme in enumerate(schemes):
            values = [point[index] or 0 for point in rows[scheme]]
            axes.bar(x, sum(values) / len(values), width=0.6, alpha=0.35)
            axes.plot([x] * len(values), values, "ko", markersize=4)
        axes.set_xticks(range(len(schemes)), schemes)
        axes.set_ylabel(label)
    panels[0].set_ylim(0, 1.02)
    seeds = sorted({point[0] for points in rows.values() for point in points})
    figure.suptitle(f"bazaar-sim: {nodes} nodes"
                    + (f", {nat:g} at home" if nat else "")
                    + f", seeds {', '.join(map(str, seeds))} (a point each, the bar "
                    "their mean)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def _draw(folder, filename, draw):
    """Draw one figure: (what came of it, in a line; whether it is drawn)."""
    path = os.path.join(folder, filename)
    try:
        draw(path)
    except ValueError as reason:
        return f"--plot: {path} not drawn: {reason}", False
    except OSError as e:
        return f"--plot: cannot write {path}: {e.strerror}", False
    return f"--plot: {path}", True
