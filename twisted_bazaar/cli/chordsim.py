"""
What ``bazaar-sim`` adds for schemes with options of their own, and for
the chord experiments (L{twisted_bazaar.sim.chord}): each scheme option as
a flag (``--chord-successors`` ..., beside the generic ``--scheme-option
NAME=VALUE``), and ``--experiment NAME`` with its parameters.
"""

import argparse
import math
import sys

from twisted_bazaar.cli import simoutput
from twisted_bazaar.base.usage import argumentType
from twisted_bazaar.base.options import boundedInt, fraction, rate, seconds
from twisted_bazaar.daemon.registry import discoveryPlugins
from twisted_bazaar.schemes.interfaces import IInProcess
from twisted_bazaar.sim.chord import EXPERIMENTS, churn, failures, pathLength


def _listOf(parse, what):
    def parseList(text):
        try:
            return [parse(part) for part in text.split(",")]
        except ValueError as reason:
            raise argparse.ArgumentTypeError(f"wants {what}, each of them "
                                             f"{str(reason).removeprefix('wants ')}") from None

    return parseList


def _shown(default):
    """A scheme option's default as the user would give it."""
    if isinstance(default, bool):
        return "yes" if default else "no"
    return default


#: Prefix of the argparse destinations of scheme option flags.
FLAG_DEST = "scheme:"


def inProcessDefault(plugin, option):
    """An option's default in a simulation: the plugin's ``inProcess``
    value, if it is an L{IInProcess} with one (chord's puzzle: none for
    drawn keys)."""
    values = plugin.inProcess if IInProcess.providedBy(plugin) else {}
    return values.get(option.name, option.default)


#: Scheme options a daemon takes and bazaar-sim refuses (L{refuseDaemonOnly}),
#: with the reason, and the few words ``--help`` says instead of a default.
DAEMON_ONLY = {
    "chord-puzzle": ("--chord-puzzle is a daemon's: bazaar-sim draws its nodes' keys "
                     "from the seed, and runs its rings without a puzzle",
                     "bazaar-sim draws its nodes' keys from the seed, without it"),
    # Given to every node it made the leaves super-peers too, while the
    # run still counted --superpeers' share of them.
    "super": ("--super is a daemon's: bazaar-sim makes --superpeers' share of its "
              "nodes super-peers (--superpeers 1: every one)",
              "bazaar-sim makes --superpeers' share of its nodes super-peers"),
}


def refuseDaemonOnly(scheme_options):
    """
    @raise ValueError: for a L{DAEMON_ONLY} option, say why: a simulated
        node's key is drawn from the seed, not made to solve a puzzle (a
        ring with one would take none of its nodes); the run, not each
        node, chooses its super-peers.
    """
    for name, value in scheme_options:
        if name in DAEMON_ONLY and value:
            raise ValueError(DAEMON_ONLY[name][0])


def addArguments(p):
    """
    Each scheme's own options as flags (``--chord-successors 3``, the
    same as ``--scheme-option chord-successors=3``), but for those whose
    name bazaar-sim already uses (``--ttl``, ``--superpeers``) and the
    repeatable ones, and the chord experiments.
    """
    taken = {action.dest for action in p._actions}
    schemes = p.add_argument_group(
        "scheme options (for the scheme under test; also --scheme-option NAME=VALUE)")
    for name, plugin in sorted(discoveryPlugins().items()):
        for option in plugin.options:
            dest = option.name.replace("-", "_")
            if dest in taken or option.repeatable:
                continue
            taken.add(dest)
            refused = (f"a daemon's, refused here ({DAEMON_ONLY[option.name][1]}): "
                       if option.name in DAEMON_ONLY else "")
            if option.flag:
                schemes.add_argument(f"--{option.name}", dest=FLAG_DEST + option.name,
                                     action="store_const", const=True, default=argparse.SUPPRESS,
                                     help=f"{refused}{option.help} ({name})")
            elif refused:
                schemes.add_argument(f"--{option.name}", dest=FLAG_DEST + option.name,
                                     metavar="VALUE", type=argumentType(option.parse),
                                     default=argparse.SUPPRESS,
                                     help=f"{refused}{option.help} ({name})")
            else:
                schemes.add_argument(f"--{option.name}", dest=FLAG_DEST + option.name,
                                     metavar="VALUE", type=argumentType(option.parse),
                                     default=argparse.SUPPRESS, help=f"{option.help} "
                                     f"({name}; default {_shown(inProcessDefault(plugin, option))})")
    group = p.add_argument_group("chord experiments (with --discovery chord)")
    add = group.add_argument
    add("--experiment", choices=EXPERIMENTS, help="run a Chord paper experiment "
        "instead of a market: pathlength, failures or churn")
    add("--sizes", type=_listOf(boundedInt(2), "N,N,..."),
        default=[2**k for k in range(6, 15)], help="pathlength: ring sizes")
    add("--lookups", type=argumentType(boundedInt(1)), default=1000,
        help="pathlength, failures: lookups measured per ring")
    add("--fractions", type=_listOf(fraction, "P,P,..."),
        default=[0.1, 0.2, 0.3, 0.4, 0.5], help="failures: fractions of the nodes "
        "that crash at once")
    add("--records", type=argumentType(boundedInt(1)), default=100,
        help="failures: sellers, of one item each")
    add("--repair", type=argumentType(seconds), default=120.0,
        help="failures: virtual seconds of repair before the second measure")
    add("--rates", type=_listOf(rate, "R,R,..."), default=[0.05, 0.2, 0.5, 1, 2, 4],
        help="churn: events (joins, quits, crashes) per second")
    add("--duration", type=argumentType(seconds), default=300.0,
        help="churn: virtual seconds of churn per rate")
    add("--lookup-rate", type=argumentType(rate), default=5.0,
        help="churn: lookups per second")


def schemeFlags(args):
    """
    The scheme option flags given: ((name, value), ...).

    @raise ValueError: for a flag of another scheme than the one under test.
    """
    known = {option.name for option in discoveryPlugins()[args.discovery].options}
    given = []
    for dest, value in sorted(vars(args).items()):
        if not dest.startswith(FLAG_DEST):
            continue
        name = dest[len(FLAG_DEST):]
        if name not in known:
            raise ValueError(f"--{name}: not an option of the {args.discovery} scheme "
                             f"(its options: {', '.join(sorted(known)) or 'none'})")
        given.append((name, value))
    return tuple(given)


def run(parser, args, options):
    """Run the experiment named by --experiment; print (and write) its rows."""
    if args.discovery != "chord":
        parser.error("--experiment needs --discovery chord")
    plugin = discoveryPlugins()["chord"]
    config = {option.name: inProcessDefault(plugin, option) for option in plugin.options}
    config.update(options)
    try:
        settings = plugin.configure(config)
    except ValueError as reason:
        parser.error(str(reason))
    latency = args.latency_ms
    result = {"experiment": args.experiment, "seed": args.seed,
              "settings": {key: value for key, value in sorted(config.items())},
              "rows": []}

    # Each row as it is done: on a terminal, the table itself, row by row;
    # else on stderr (progress), the whole table on stdout at the end.
    # Both on one terminal printed every row twice.
    live = not args.quiet and sys.stdout.isatty()

    def report(row):
        line = table(dict(result, rows=[row]))
        if live:
            print(line, flush=True)
        elif not args.quiet:
            sys.stderr.write(line + "\n")

    if args.experiment == "pathlength":
        rows = pathLength(args.sizes, args.lookups, args.seed, settings, latency, report)
    elif args.experiment == "failures":
        spared = args.nodes - args.records
        crashed = round(max(args.fractions) * args.nodes)
        if crashed > spared:
            parser.error(f"--records {args.records} with --nodes {args.nodes} leaves "
                         f"{max(spared, 0)} nodes that sell nothing, and --fractions "
                         f"crashes up to {crashed} of them (a seller never crashes): "
                         "give fewer --records or more --nodes")
        rows = failures(args.nodes, args.fractions, args.records, args.lookups, args.seed,
                        settings, args.repair, latency, report)
    else:
        rows = churn(args.nodes, args.rates, args.duration, args.lookup_rate, args.seed,
                     settings, 60.0, latency, report)
    result["rows"] = rows

    def draw(target, fmt):
        from twisted_bazaar.sim.plot import plotChord

        plotChord(result, target, format=fmt)

    status = simoutput.save(args, result, draw)
    if not args.quiet and not live:
        print(table(result))
    return status


def table(result):
    """The rows of an experiment, one line each."""
    lines = []
    for row in result["rows"]:
        if result["experiment"] == "pathlength":
            hops = row["hops"]
            lines.append(f"N={row['nodes']:<6} hops mean {hops['mean']} p1 {hops['p1']} "
                         f"p50 {hops['p50']} p99 {hops['p99']} (goal mean <= "
                         f"{row['goal_mean']}, 1/2 log2 N = "
                         f"{0.5 * math.log2(row['nodes']):g}); failed "
                         f"{row['failed']}/{row['lookups']}; invariant violations "
                         f"{row['invariant_violations']}; wall {row['wall_s']} s")
        elif result["experiment"] == "failures":
            before, after = row["before_repair"], row["after_repair"]
            lines.append(f"p={row['failed_nodes']:<4} failed lookups before repair "
                         f"{before['failed_fraction']} ({before['failed']}/"
                         f"{before['lookups']}), after {after['failed_fraction']} "
                         f"({after['failed']}/{after['lookups']}); invariant "
                         f"violations after repair "
                         f"{row['invariant_violations_after_repair']}; wall "
                         f"{row['wall_s']} s")
        else:
            events = row["events"]
            lines.append(f"rate={row['events_per_s']:<5} events/s ({events['join']} joins, "
                         f"{events['quit']} quits, {events['crash']} crashes): success "
                         f"{1 - row['failed_fraction']:.4f} ({row['lookups'] - row['failed']}/"
                         f"{row['lookups']}), hops mean {row['hops']['mean']}; "
                         f"invariant violations after quiet "
                         f"{row['invariant_violations_after_quiet']}; wall {row['wall_s']} s")
    return "\n".join(lines)
