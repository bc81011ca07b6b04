"""
Where a simulation's time and memory go.

    python -m benchmarks.simprofile [--memory] [--top N] BAZAAR-SIM-FLAGS...

runs one market simulation (the flags are ``bazaar-sim``'s) under cProfile
and prints the share of the run's time by kind of work (L{CATEGORIES}:
signatures, the codec, logging, the clock, links...) and the functions
that cost most.  A builtin's time (a dict lookup, a heap pop) counts for
the kind of work of the functions that called it.

With ``--memory`` it runs the same simulation under ``tracemalloc``
instead, up to the moment the first buyer may start (``warmup`` virtual
seconds: every node built and, with a warm start, linked), and prints the
bytes the run then holds per node: by the file that allocated them, and by
type (a census of the objects the garbage collector tracks, shallow
sizes).  ``tracemalloc`` slows a run about threefold, and cProfile about
twofold: read the shares, not the wall times.
"""

import cProfile
import gc
import pstats
import sys
import tracemalloc
from collections import Counter

from benchmarks.harness import summary
from twisted_bazaar.cli import sim as cli
from twisted_bazaar.sim.crypto import signatures
from twisted_bazaar.sim.logs import beginQuietLogging
from twisted_bazaar.sim.runner import Simulation
from twisted_bazaar.base.options import boundedInt
from twisted_bazaar.base.usage import OneLineParser, argumentType

#: (kind of work, substrings of a function's file or name), first match
#: wins; checked against "file:function".
CATEGORIES = (
    ("signatures (Ed25519, keys)", ("ed25519", "identity/", "sim/crypto", "blake2b",
                                    "base64", "binascii", "hashlib", "sha256")),
    # The codec's message classes are made with exec: "<string>".
    ("codec (JSON, message checks)", ("wire/", "json/", "attr/", "<string>")),
    ("logging (events made and dropped)", ("twisted/logger/", "constantly/")),
    ("plugin look-ups", ("twisted/plugin.py", "twisted/python/modules.py",
                         "twisted/python/filepath.py", "twisted/python/zippath",
                         "twisted/python/reflect.py", "twisted/python/compat.py",
                         "importlib", "zipimport", "_pickle", "posixpath",
                         "genericpath")),
    ("clock (timers, deliveries)", ("sim/clock.py", "heapq", "testing/market.py:callLater",
                                    "NodeClock")),
    ("memory transports", ("testing/memory.py",)),
    ("links (framing, keepalive, limits)", ("net/link.py",)),
    ("overlay (handshakes, link table)", ("net/", "ipaddress")),
    ("Deferreds", ("twisted/internet/defer.py",)),
    ("path routing", ("routing/",)),
    ("scheme", ("schemes/",)),
    ("roles (buyers, sellers)", ("roles/",)),
    ("tracker", ("tracker/",)),
    ("node core (events, membership)", ("core/", "automat/")),
    ("simulator (set-up, metrics)", ("sim/", "cli/")),
)
OTHER = "other"


def category(func):
    """The kind of work of a pstats function key (file, line, name), or
    None for a builtin (counted for its callers)."""
    filename, _, name = func
    if filename == "~":
        for label, marks in CATEGORIES[:1]:
            if any(mark in name for mark in marks):
                return label
        return None
    where = f"{filename}:{name}"
    for label, marks in CATEGORIES:
        if any(mark in where for mark in marks):
            return label
    return OTHER


def shares(stats):
    """Kind of work -> seconds of its own time (builtins included), from a
    L{pstats.Stats}."""
    raw = stats.stats
    totals = Counter()
    for func, (_, _, own, _, callers) in raw.items():
        label = category(func)
        if label is not None:
            totals[label] += own
            continue
        # A builtin: split its time over its callers, as they called it.
        edge_total = sum(edge[2] for edge in callers.values()) or 1.0
        for caller, edge in callers.items():
            label = category(caller) or OTHER
            totals[label] += own * edge[2] / edge_total
    return totals


def profileTime(config, top, out):
    profiler = cProfile.Profile()
    sim = Simulation(config)
    profiler.enable()
    metrics = sim.run()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=out)
    totals = shares(stats)
    whole = sum(totals.values()) or 1.0
    out.write(f"{config.nodes:,} nodes, {config.discovery}: {metrics['virtual_s']} "
              f"virtual s, {sum(metrics['messages_by_type'].values()):,} messages, "
              f"success {metrics['success_rate']}; {whole:.1f} s under the profiler\n\n")
    out.write("| kind of work | share | seconds |\n|---|---|---|\n")
    for label, seconds in totals.most_common():
        out.write(f"| {label} | {100 * seconds / whole:.1f} % | {seconds:.1f} |\n")
    out.write("\n")
    stats.strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    return metrics


def census():
    """type name -> (objects, shallow bytes) of what the collector tracks."""
    counts = Counter()
    sizes = Counter()
    for obj in gc.get_objects():
        name = type(obj).__qualname__
        counts[name] += 1
        sizes[name] += sys.getsizeof(obj)
    return counts, sizes


def profileMemory(config, top, out):
    gc.collect()
    counts_before, sizes_before = census()
    tracemalloc.start(1)
    before = tracemalloc.take_snapshot()
    with signatures(config.crypto):
        sim = Simulation(config)
        sim.build()
        sim.clock.runFor(config.warmup)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    counts, sizes = census()
    nodes = config.nodes
    links = sum(len(node.links) for node in sim.nodes)
    held = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    out.write(f"{nodes:,} nodes, {config.discovery}, at {sim.clock.seconds():g} virtual s: "
              f"{held / 2**20:.1f} MiB traced, {held / nodes:,.0f} bytes per node; "
              f"{links / nodes:.1f} link ends per node\n\n")
    out.write("| allocated in | bytes per node | share |\n|---|---|---|\n")
    for stat in after.compare_to(before, "filename")[:top]:
        where = stat.traceback[0].filename.split("site-packages/")[-1]
        where = where.split("twisted_bazaar/")[-1]
        out.write(f"| {where} | {stat.size_diff / nodes:,.0f} | "
                  f"{100 * stat.size_diff / held:.1f} % |\n")
    out.write("\n| type | objects per node | bytes per node (shallow) |\n|---|---|---|\n")
    grown = Counter({name: sizes[name] - sizes_before.get(name, 0) for name in sizes})
    for name, size in grown.most_common(top):
        made = counts[name] - counts_before.get(name, 0)
        out.write(f"| {name} | {made / nodes:.2f} | {size / nodes:,.0f} |\n")


def main(argv=None, out=None):
    out = sys.stdout if out is None else out
    p = OneLineParser(prog="python -m benchmarks.simprofile",
                      description=summary(__doc__),
                      epilog="Every other flag is bazaar-sim's.")
    p.add_argument("--memory", action="store_true",
                   help="bytes per node (tracemalloc) instead of time (cProfile)")
    p.add_argument("--top", type=argumentType(boundedInt(1)), default=25,
                   help="rows of each table")
    ours, rest = p.parse_known_args(argv)
    if argv is None:
        # What bazaar-sim does as a program (see twisted_bazaar.sim.logs).
        beginQuietLogging()
    sim_parser = cli.parser()
    args = sim_parser.parse_args(rest)
    if args.experiment:
        p.error("profiles market runs only, not --experiment")
    try:
        config = cli.simConfig(args, cli.allSchemeOptions(args))
    except ValueError as reason:
        p.error(str(reason))
    if ours.memory:
        profileMemory(config, ours.top, out)
    else:
        profileTime(config, ours.top, out)


if __name__ == "__main__":
    main()
