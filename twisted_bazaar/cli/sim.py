"""
``bazaar-sim``: run a deterministic simulation and report its metrics.
"""

import argparse

import attr
import os
import sys
import time

from twisted_bazaar import wire
from twisted_bazaar.cli import chordsim, simoutput, simshards
from twisted_bazaar.cli.common import addVersion, emit, joinDashedValues
from twisted_bazaar.base.usage import DefaultsShown, OneLineParser, argumentType
from twisted_bazaar.base.options import boundedInt, fraction, seconds
from twisted_bazaar.events import ObsoleteObserver
from twisted_bazaar.daemon.build import configured
from twisted_bazaar.daemon.registry import discoveryPlugins
from twisted_bazaar.sim.crypto import CRYPTO, signatures
from twisted_bazaar.sim.homes import MAX_HOME_SIZE
from twisted_bazaar.sim.logs import beginQuietLogging
from twisted_bazaar.sim.adversaries import KINDS
from twisted_bazaar.sim.attack import againstHonest, checkAdversaries
from twisted_bazaar.sim.runner import DISCOVERY, STARTS, TOPOLOGIES, SimConfig, Simulation
from twisted_bazaar.sim.udppunches import parseMix

#: Options whose value a user may begin with "-" (a range mistyped as
#: ``-5..10``), judged by their own type rather than taken for an option.
DASHED_VALUES = ("--latency-ms",)
#: Wall seconds before the progress bar appears.
PROGRESS_AFTER = 2.0


def _count(low, high=None):
    """A whole number from low (to high, if given)."""
    return argumentType(boundedInt(low, high))


_fraction = argumentType(fraction)
_seconds = argumentType(seconds)
_natMix = argumentType(parseMix)


def _latency(text):
    low, sep, high = text.partition("..")
    try:
        low_ms = float(low)
        high_ms = float(high) if sep else low_ms
    except ValueError:
        low_ms = high_ms = -1.0
    if not 0.0 <= low_ms <= high_ms < float("inf"):
        raise argparse.ArgumentTypeError(
            f"wants A..B milliseconds with 0 <= A <= B, not {text!r}")
    return (low_ms, high_ms)


def schemeOptions(discovery, given):
    """
    ``--scheme-option NAME=VALUE`` flags -> ((name, value), ...), each
    value parsed by the scheme's own option.

    @raise ValueError: naming the flag, for an unknown option or a bad value.
    """
    options = {option.name: option for option in discoveryPlugins()[discovery].options}
    parsed = []
    for text in given:
        name, sep, value = text.partition("=")
        option = options.get(name)
        if option is None:
            known = ", ".join(sorted(options)) or "none"
            raise ValueError(f"--scheme-option {text}: the {discovery} scheme has no "
                             f"option {name!r} (its options: {known})")
        try:
            if option.flag:
                if sep:
                    raise ValueError("takes no value")
                parsed.append((name, True))
            elif option.repeatable:
                raise ValueError("is repeatable; not available here")
            else:
                parsed.append((name, option.parse(value)))
        except ValueError as reason:
            raise ValueError(f"--scheme-option {text}: {reason}") from None
    return tuple(parsed)


def parser():
    defaults = SimConfig()
    p = OneLineParser(
        prog="bazaar-sim",
        description="Run N real twisted-bazaar nodes in one process on in-memory "
        "links and virtual time, and report metrics.  The same --seed gives the "
        "same metrics (all but wall_s and peak_rss_mb, which measure the machine).  "
        "'bazaar-sim sweep' runs a grid of runs on Dask (bazaar-sim sweep --help).",
        formatter_class=DefaultsShown)
    add = p.add_argument
    add("--nodes", type=_count(2), default=defaults.nodes, help="number of nodes")
    add("--sellers", type=_fraction, default=defaults.sellers,
        help="fraction of the nodes that sell (at least one)")
    add("--items", type=_count(1), default=defaults.items,
        help="number of distinct items; seller i sells item i mod K")
    add("--stock", type=_count(0), default=None,
        help="units each seller starts with (none: enough for every purchase)")
    add("--searches", type=_count(0), default=defaults.searches,
        help="purchases attempted in all, spread over the buyers")
    add("--degree", type=_count(1), default=defaults.degree,
        help="average links per node in the overlay")
    add("--topology", choices=TOPOLOGIES, default=defaults.topology,
        help="overlay shape; 'tracker' joins nodes through a real tracker")
    add("--ttl", type=_count(1, wire.MAX_TTL), default=defaults.ttl,
        help="hop limit of searches")
    add("--latency-ms", type=_latency, default=defaults.latency_ms, metavar="A..B",
        help="one-way link delay in milliseconds, drawn per message")
    add("--drop", type=_fraction, default=0.0, help="probability a message is lost")
    add("--dup", type=_fraction, default=0.0,
        help="probability a message is delivered twice")
    add("--reorder", type=_fraction, default=0.0,
        help="probability a message is overtaken by later ones")
    add("--kill", type=_fraction, default=0.0,
        help="fraction of nodes killed abruptly mid-run")
    add("--discovery", choices=DISCOVERY, default=defaults.discovery,
        help="discovery scheme under test")
    add("--superpeers", type=_fraction, default=defaults.superpeers,
        help="fraction of the nodes that serve as super-peers (superpeer scheme; "
        "at least one)")
    add("--scheme-option", action="append", default=[], metavar="NAME=VALUE",
        help="an option of the discovery scheme, as bazaar-node takes it (e.g. "
        "query-ttl=3, dynamic-querying=no); repeatable; most scheme options are "
        "also flags of their own (below)")
    add("--seed", type=argumentType(boundedInt(None)), default=defaults.seed,
        help="random seed")
    add("--max-time", type=_seconds, default=defaults.max_time,
        help="virtual seconds after which the run stops")
    add("--start", choices=STARTS, default=defaults.start,
        help="cold: every node joins through the protocols at time 0; warm: the "
        "run starts in the state they converge to (links established, tracker "
        "table, ring, super-peers' indexes), and measures the searches "
        "(docs/simulator.md, 'Warm start')")
    add("--join-spread", type=_seconds, default=defaults.join_spread,
        metavar="SECONDS",
        help="cold start: the nodes join at random times over this many virtual "
        "seconds (super-peers all at 0, leaves from 1 s on); each buyer starts 5 "
        "to 15 s after its own join (default 0: every node joins at time 0)")
    add("--crypto", choices=CRYPTO, default=defaults.crypto,
        help="real: Ed25519 signatures, as the daemons make them; fast: the same "
        "protocol and message sizes with cheap deterministic signatures that "
        "prove nothing, for the simulator only (same metrics, less wall time)")
    add("--ping-interval", type=_seconds, default=defaults.ping_interval,
        help="keepalive period of every link, in virtual seconds (the daemons "
        "use 10; the default here keeps idle pings from swamping large runs)")
    add("--adversaries", type=_fraction, default=None, metavar="FRACTION",
        help="fraction of the nodes that are adversaries, drawn among those that "
        "neither buy nor sell (docs/simulator.md, 'Adversaries')")
    add("--adversary", action="append", default=[], choices=KINDS, metavar="KIND",
        help=f"what the adversaries do, one of: {', '.join(KINDS)}; repeatable (the "
        "adversaries take the kinds in turn)")
    add("--nat", type=_fraction, default=defaults.nat, metavar="FRACTION",
        help="fraction of the nodes at home behind a NAT router of their own: "
        "they dial out, nobody can dial them (super-peers stay public; cold "
        "start only; docs/simulator.md, 'Behind NAT')")
    add("--nat-symmetric", type=_fraction, default=defaults.nat_symmetric,
        metavar="FRACTION",
        help="with --nat: fraction of the routers that draw a random source port "
        "per connection (a symmetric NAT); the others keep source ports")
    add("--nat-mix", type=_natMix, default=defaults.nat_mix, metavar="MIX",
        help="with --nat: the routers' kinds for UDP, 'field' (a realistic mix, "
        "docs/simulator.md, 'NAT types') or KIND=SHARE,... (or +) of full-cone, "
        "port-restricted, symmetric-sequential, symmetric-random; a run then "
        "models a UDP punch for each pair whose TCP punch failed (nat.direct)")
    add("--home-size", type=_count(1, MAX_HOME_SIZE), default=defaults.home_size,
        metavar="N",
        help="with --nat: the nodes at home share their routers N to a home, each "
        "at a local address on its home's LAN, which it tells the tracker; the "
        "machines of one home trade over their LAN, not through a relay (default 1: "
        "a router of its own each, no LAN; docs/simulator.md, 'Shared LANs')")
    add("--no-baseline", action="store_true",
        help="with --adversaries: do not also run the same seed without them (the "
        "run the extra messages and latency are measured against)")
    chordsim.addArguments(p)
    simshards.addArguments(p)
    add("--json", metavar="FILE", help="write the metrics as JSON to FILE, once the run "
        "ended (a run that fails leaves FILE as it was)")
    add("--plot", metavar="FILE.png",
        help="plot latency and hop distributions, in the format of the name's "
        "suffix (.png, .svg, .pdf...; needs matplotlib)")
    add("--quiet", action="store_true",
        help="no table, no progress bar: only the --json file (or the --plot); "
        "refused without one of them, as it would print nothing")
    addVersion(p)
    return p


class Progress:
    """
    A progress bar on stderr, shown once a run takes a while: on a
    terminal one line redrawn in place; elsewhere (a log file) a line
    each time another tenth of the purchases is made, as a redrawn bar
    would be one line of thousands of carriage returns there.
    """

    def __init__(self, stream=None, terminal=None):
        self.stream = sys.stderr if stream is None else stream
        if terminal is None:
            isatty = getattr(self.stream, "isatty", None)
            terminal = bool(isatty and isatty())
        self.terminal = terminal
        self.started = time.perf_counter()
        self.shown = False
        self.tenths = None

    def __call__(self, sim):
        self.show(sim.config.searches, sim.purchases(), sim.clock.seconds())

    def show(self, searches, purchases, virtual_s):
        """The bar at purchases of searches, virtual_s into the run."""
        elapsed = time.perf_counter() - self.started
        if elapsed < PROGRESS_AFTER:
            return
        wanted = searches or 1
        done = min(purchases, wanted)
        width = 30
        filled = width * done // wanted
        line = (f"[{'#' * filled}{'.' * (width - filled)}] {done}/{wanted} purchases, "
                f"virtual {virtual_s:.0f} s, wall {elapsed:.0f} s")
        if self.terminal:
            self.stream.write("\r" + line)
        else:
            tenths = 10 * done // wanted
            if tenths == self.tenths:
                return
            self.tenths = tenths
            self.stream.write(line + "\n")
        self.shown = True
        self.stream.flush()

    def finish(self):
        if self.shown and self.terminal:
            self.stream.write("\n")


#: What a find is, per discovery scheme, in the table.
FINDS = {"flood": "finds (search floods)", "index": "finds (index lookups)",
         "superpeer": "finds (queries to super-peers)"}


def table(metrics):
    """The summary printed on stdout."""
    discovery = metrics.get("config", {}).get("discovery", "flood")
    rows = [
        ("nodes / edges", f"{metrics['nodes']} / {metrics['edges']}"),
        ("purchases / searches", f"{metrics['purchases']} / {metrics['searches']}"),
        ("success rate", f"{metrics['success_rate']}"),
        ("double sells", f"{metrics['double_sells']}"),
        (FINDS.get(discovery, f"finds ({discovery})"), f"{metrics['search_floods']}"),
        ("messages per find", f"{metrics['messages_per_search']}"),
        ("busiest node's messages", f"{metrics['busiest_node_messages']}"),
    ]
    keys = ["hops_to_first_reply", "latency_ms"]
    if metrics.get("lookup_hops", {}).get("mean") is not None:
        keys.insert(1, "lookup_hops")
    for key in keys:
        stats = metrics[key]
        rows.append((key.replace("_", " "),
                     " ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                              for k, v in stats.items())))
    rows += adversaryRows(metrics)
    rows += homeRows(metrics)
    rows += [
        ("messages by type", ", ".join(f"{k}={v}" for k, v in
                                       metrics["messages_by_type"].items())),
        ("bytes sent per node", f"{metrics['bytes_per_node']}"),
        ("virtual time", f"{metrics['virtual_s']} s"),
        ("wall time", f"{metrics['wall_s']} s"),
        ("peak RSS", f"{metrics['peak_rss_mb']} MB"),
    ]
    rows += shardRows(metrics)
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def shardRows(metrics):
    """The table's rows about a sharded run's shards, if it had any: each
    one's nodes, peak memory, wall time, events and what it sent the
    others."""
    shards = metrics.get("shards")
    if shards is None:
        return []
    return [(f"shard {each['shard']} of {shards['count']}",
             f"{each['nodes']} nodes, peak RSS {each['peak_rss_mb']} MB, wall "
             f"{each['wall_s']} s, {each['events']} events, "
             f"{each['messages_to_other_shards']} messages "
             f"({each['bytes_to_other_shards']} bytes) to other shards")
            for each in shards["each"]]


def homeRows(metrics):
    """The table's rows about the nodes at home (``--nat``), if any: the
    homes, the units bought by the way they came, and the bytes the relays
    carried (the tracker's and the nodes' own)."""
    nat = metrics.get("nat")
    if nat is None:
        return []
    paths = nat["bought_by_path"]
    relayed = (nat["relayed_bytes"] or 0) + nat["peer_relayed_bytes"]
    return [
        ("nodes at home / homes", f"{nat['nodes_at_home']} / {nat['homes']}"),
        ("bought over", ", ".join(f"{path}={count}" for path, count in paths.items())),
        ("relay bytes", f"{relayed} (tracker's {nat['relayed_bytes']}, nodes' "
         f"{nat['peer_relayed_bytes']})"),
        ("direct share", _directShare(nat["direct"])),
    ]


def _directShare(direct):
    """The table's line of the pairs that went through a relay: the share
    direct, of how many, by TCP and UDP punches."""
    udp = "not modelled" if direct["udp_punched"] is None else direct["udp_punched"]
    return (f"{direct['direct_share']} of {direct['tried']} pairs through a relay "
            f"(TCP-punched {direct['tcp_punched']}, UDP-punched {udp})")


def adversaryRows(metrics):
    """The table's rows about the adversaries, if the run had any kind."""
    attack = metrics.get("adversaries")
    if attack is None:
        return []
    kinds = ", ".join(f"{kind}={count}" for kind, count in attack["by_kind"].items())
    rows = [
        ("adversaries", f"{attack['count']} of {metrics['nodes']}"
         + (f": {kinds}" if kinds else "")),
        ("finds with an honest seller", _shareOf(attack['finds_with_honest_seller'],
                                                 attack['finds'])),
    ]
    if attack.get("lookups_honest_holder") is not None:
        rows.append(("lookups to an honest holder", f"{attack['lookups_honest_holder']}"))
    rows.append(("adversaries spent", f"{attack['keys_generated']} keys "
                 f"({attack['keys_ground']} ground), {attack['messages_sent']} messages "
                 f"sent, {attack['dropped']} dropped, {attack['answered_falsely']} "
                 "answered falsely"))
    compared = attack.get("against_honest")
    if compared is not None:
        rows.append(("against the honest run",
                     f"success {compared['success_rate']} -> {metrics['success_rate']}, "
                     f"{compared['extra_messages']:+d} messages "
                     f"({_signed(compared['extra_messages_per_search'])} per find), "
                     f"latency mean {_signed(compared['extra_latency_ms_mean'])} ms, "
                     f"p95 {_signed(compared['extra_latency_ms_p95'])} ms"))
    return rows


def _shareOf(share, count):
    """A share of count things, as the table shows it: the share is not a
    count ("1.0 of 100" read as one find of a hundred)."""
    return "n/a" if share is None else f"{share:.1%} of {count}"


def _signed(value):
    return "n/a" if value is None else f"{value:+.1f}"


def allSchemeOptions(args):
    """
    The scheme's options from its own flags and ``--scheme-option``, as
    ((name, value), ...).

    @raise ValueError: naming the flag, for a bad or unknown option, one
        given both ways, or values the scheme refuses together (chord's
        --chord-expiry not above --chord-refresh): refused here, before
        the run, which would otherwise meet them building its first node.
    """
    flags = chordsim.schemeFlags(args)
    scheme_options = flags + schemeOptions(args.discovery, args.scheme_option)
    both = sorted({name for name, _ in flags} & {name for name, _ in scheme_options[len(flags):]})
    if both:
        raise ValueError(f"--{both[0]} and --scheme-option {both[0]}=...: give the "
                         f"option one way")
    configured(discoveryPlugins()[args.discovery], dict(scheme_options))
    return scheme_options


#: The chord experiments' own flags (their dests), by experiment.
EXPERIMENT_FLAGS = {"pathlength": ("sizes", "lookups"),
                    "failures": ("lookups", "fractions", "records", "repair"),
                    "churn": ("rates", "duration", "lookup_rate")}


def refuseIdle(args, flags):
    """
    Refuse a flag given a value the run would not use: the run would be
    the same as without it, and say nothing (a sweep over it would run
    one run again and again).

    @param flags: the L{parser} args came from, whose defaults they are
        held against (one built for this alone cost a run as much as its
        own: some 200 arguments).
    @raise ValueError: naming the flag and what it needs.
    """
    defaults = flags.parse_args([])
    if args.discovery != "superpeer" and args.superpeers != defaults.superpeers:
        raise ValueError(f"--superpeers is the superpeer scheme's share of super-peers: "
                         f"the {args.discovery} scheme has none (add --discovery "
                         f"superpeer)")
    if args.no_baseline and args.adversaries is None:
        raise ValueError("--no-baseline leaves out the honest run an --adversaries run "
                         "is measured against: without --adversaries there is none")
    used = EXPERIMENT_FLAGS.get(args.experiment, ())
    for dest in sorted({dest for flags in EXPERIMENT_FLAGS.values() for dest in flags}):
        if dest in used or getattr(args, dest) == getattr(defaults, dest):
            continue
        owners = " or ".join(name for name, flags in EXPERIMENT_FLAGS.items()
                             if dest in flags)
        raise ValueError(f"--{dest.replace('_', '-')} is a parameter of --experiment "
                         f"{owners}" + (f", not of {args.experiment}" if args.experiment
                                        else ", which is not run (add it, with "
                                        "--discovery chord)"))


def simConfig(args, scheme_options):
    """The L{SimConfig} of a market run's flags."""
    return SimConfig(
        nodes=args.nodes, sellers=args.sellers, items=args.items, stock=args.stock,
        searches=args.searches, degree=args.degree, topology=args.topology,
        ttl=args.ttl, latency_ms=args.latency_ms, drop=args.drop, dup=args.dup,
        reorder=args.reorder, kill=args.kill, discovery=args.discovery,
        superpeers=args.superpeers, scheme_options=scheme_options,
        seed=args.seed, max_time=args.max_time, ping_interval=args.ping_interval,
        start=args.start, crypto=args.crypto, join_spread=args.join_spread,
        adversaries=args.adversaries or 0.0, adversary=tuple(args.adversary),
        nat=args.nat, nat_symmetric=args.nat_symmetric, nat_mix=args.nat_mix,
        home_size=args.home_size)


def simulation(args, scheme_options, flags):
    """
    The L{Simulation} of a market run's flags, checked as the run checks
    them before it starts.

    @param flags: the L{parser} args came from (L{refuseIdle}).
    @raise ValueError: naming the flag, for flags the run refuses.
    """
    checkAdversaries(args.adversaries, args.adversary)
    refuseIdle(args, flags)
    if args.topology != "tracker" and "superpeer-links" in dict(scheme_options):
        # The run gives its super-peers none to ask for (superPeerOptions).
        raise ValueError(f"--superpeer-links is how many super-peers a super-peer asks "
                         f"the tracker for: with --topology {args.topology} they link "
                         f"along that graph instead (add --topology tracker)")
    return Simulation(simConfig(args, scheme_options))


def main(argv=None):
    """One run (``bazaar-sim sweep`` is L{twisted_bazaar.cli.simcommand}'s)."""
    flags = parser()
    words = sys.argv[1:] if argv is None else argv
    args = flags.parse_args(joinDashedValues(words, DASHED_VALUES))
    if argv is None:
        # Run as a program (not called by a test): nobody reads the nodes'
        # info logs, so they are dropped at once (see sim.logs).
        beginQuietLogging()
    if args.quiet and not (args.json or args.plot):
        flags.error("--quiet prints nothing: add --json FILE (or --plot "
                    "FILE.png), or drop --quiet to see the table")
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            flags.error("--plot needs matplotlib: pip install 'twisted-bazaar[plot]'")
    try:
        simoutput.check(args)
    except simoutput.OutputError as reason:
        flags.error(str(reason))
    try:
        scheme_options = allSchemeOptions(args)
        chordsim.refuseDaemonOnly(scheme_options)
        refuseIdle(args, flags)
    except ValueError as reason:
        flags.error(str(reason))
    if args.experiment:
        with signatures(args.crypto):
            return chordsim.run(flags, args, dict(scheme_options))
    try:
        sim = simulation(args, scheme_options, flags)
    except ValueError as reason:
        flags.error(str(reason))
    config = sim.config
    try:
        simshards.check(args, config)
    except simshards.Refused as reason:
        flags.error(str(reason))
    metrics = _measured(args, sim, config)

    def draw(target, fmt):
        from twisted_bazaar.sim.plot import plot

        plot(sim, metrics, target, format=fmt)

    status = simoutput.save(args, metrics, draw)
    if not args.quiet:
        emit(table(metrics))
    if argv is None:
        leave(status)
    return status


def _measured(args, sim, config):
    """The run's metrics: of the shards (--shards) or one process, set
    against an honest baseline's when adversaries play."""
    honest = None
    if config.adversaries and not args.no_baseline:
        honest = _run(Simulation(attr.evolve(config, adversaries=0.0, adversary=())),
                      args.quiet)
    if args.shards is None:
        metrics = _run(sim, args.quiet)
    else:
        metrics = _runSharded(args, config)
    if honest is not None:
        againstHonest(metrics, honest)
    return metrics


def _run(sim, quiet):
    """Run a simulation, with a progress bar unless quiet; its metrics."""
    progress = None if quiet else Progress()
    try:
        metrics = sim.run(progress)
    except ObsoleteObserver as e:
        # A plugin written for an API nodes no longer have: its author's
        # fix, said in one line rather than a traceback.
        sys.stderr.write(f"\nbazaar-sim: error: {e}\n")
        raise SystemExit(1) from None
    if progress is not None:
        progress.finish()
    return metrics


def _runSharded(args, config):
    """A run in shards (L{simshards}), with a progress bar unless quiet;
    its merged metrics."""
    progress = None if args.quiet else Progress()
    try:
        metrics = simshards.run(
            args, config,
            None if progress is None else
            lambda purchases, virtual_s: progress.show(config.searches, purchases,
                                                       virtual_s))
    except simshards.Refused as reason:
        sys.stderr.write(f"bazaar-sim: error: {reason}\n")
        raise SystemExit(2) from None
    except simshards.Failed as reason:
        sys.stderr.write(f"bazaar-sim: error: {reason}\n")
        raise SystemExit(1) from None
    if progress is not None:
        progress.finish()
    return metrics


def leave(status):
    """
    End the program at once, its output flushed: a large run holds
    millions of objects, and the interpreter would take them apart one by
    one before exiting (a quarter of a 100,000-node run's wall time).
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    sys.exit(main())
