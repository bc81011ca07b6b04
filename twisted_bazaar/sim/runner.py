"""
Run one simulation: real nodes, trackers and roles on a
L{twisted_bazaar.testing.MemoryNetwork} driven by a
L{twisted_bazaar.sim.clock.HeapClock}, built by L{twisted_bazaar.sim.build}
(a warm start by L{twisted_bazaar.sim.warm}) and measured by
L{twisted_bazaar.sim.metrics}.

Everything random is drawn from generators seeded from ``SimConfig.seed``,
so the same configuration gives the same metrics; only ``wall_s`` and
``peak_rss_mb`` measure the machine and change from run to run.
"""

import gc
import random
import time

import attr

from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.plugins.bazaar_roles import buyer as buyer_plugin
from twisted_bazaar.sim.attack import Attack, checkAdversaries
from twisted_bazaar.sim.build import Builder
from twisted_bazaar.sim.crypto import signatures
from twisted_bazaar.sim.homes import MAX_HOME_SIZE
from twisted_bazaar.sim.clock import HeapClock
from twisted_bazaar.sim.collector import Collector
from twisted_bazaar.sim.metrics import BuyerProbe, Record, runMetrics
from twisted_bazaar.sim.topology import BUILDERS
from twisted_bazaar.daemon.build import buildRole
from twisted_bazaar.daemon.registry import discoveryPlugins
from twisted_bazaar.testing import Faults, MemoryNetwork, NodeClock

TOPOLOGIES = sorted(BUILDERS) + ["tracker"]
DISCOVERY = sorted(discoveryPlugins())
#: How a run starts: every node joining through the protocols (cold, the
#: default), or in the state they converge to (warm, see L{warm}).
STARTS = ("cold", "warm")


@attr.s(auto_attribs=True, frozen=True)
class SimConfig:
    """One simulation's parameters (the flags of ``bazaar-sim``)."""

    nodes: int = 100
    sellers: float = 0.1
    items: int = 10
    stock: int = None
    searches: int = 100
    degree: int = 4
    topology: str = "random"
    ttl: int = 7
    latency_ms: tuple = (10.0, 50.0)
    drop: float = 0.0
    dup: float = 0.0
    reorder: float = 0.0
    kill: float = 0.0
    discovery: str = "flood"
    #: Fraction of the nodes that serve as super-peers (superpeer scheme).
    superpeers: float = 0.05
    #: (option name, parsed value) pairs for the scheme, e.g. from
    #: ``--scheme-option query-ttl=3``.
    scheme_options: tuple = ()
    seed: int = 1
    warmup: float = 5.0
    #: Cold start: virtual seconds over which the nodes join, at random
    #: times (0: all at once, at time 0); see L{Builder._startAt}.
    join_spread: float = 0.0
    spread: float = 10.0
    max_time: float = 180.0
    #: Keepalive period of every link.  Longer than the daemons' 10 s by
    #: default: idle pings are not what a simulation studies, and with
    #: tens of thousands of links they would be most of its traffic.
    ping_interval: float = 60.0
    #: One of L{STARTS}.
    start: str = "cold"
    #: Signatures: "real" Ed25519, or "fast" (see L{twisted_bazaar.sim.crypto}).
    crypto: str = "real"
    #: Fraction of the nodes that are adversaries, and their kinds, taken
    #: in turn (see L{twisted_bazaar.sim.attack}); no kind, no adversary.
    adversaries: float = 0.0
    adversary: tuple = ()
    #: Fraction of the nodes at home behind a NAT router, and of their
    #: routers those that draw a random port per connection (see
    #: L{twisted_bazaar.sim.homes}).
    nat: float = 0.0
    nat_symmetric: float = 0.0
    #: With --nat: the routers' UDP kinds, (kind, share) pairs, instead of
    #: nat_symmetric (see L{twisted_bazaar.sim.udppunches}); () none.
    nat_mix: tuple = ()
    #: Nodes at home to a home (its router), on its LAN: 1, a router of
    #: its own each (see L{twisted_bazaar.sim.homes.placeHomes}).
    home_size: int = 1


class Simulation:
    """
    One run: build the market (L{Builder}), let buyers loose, run until
    they are done, and measure it (L{runMetrics}).

    @ivar nodes: every node, in the order built.
    @ivar sellers: node -> its seller role.
    @ivar buyers: node -> its buyer role, None until it starts.
    @ivar superpeers: the super-peers (superpeer scheme).
    @ivar initial_stock: seller node -> item -> its stock at the start.
    @ivar join_at: node -> when it joins, in a cold start with staggered
        joins.
    @ivar killed: the nodes crashed (L{kill}).
    @ivar failed_links: overlay links that did not form.
    @ivar market: the L{Market} of the tracker and its nodes, if the run
        has a tracker.
    """

    def __init__(self, config):
        """
        @raise ValueError: for a warm start of the tracker topology, whose
            overlay is the tracker's introductions: a cold start's.
        """
        if config.start == "warm" and config.topology == "tracker":
            raise ValueError("--start warm builds the overlay of a generated "
                             "--topology (random, ring, smallworld); the tracker's "
                             "introductions are a cold start's")
        if config.start == "warm" and config.nat:
            raise ValueError("--nat puts nodes behind routers that let no connection "
                             "in: a warm start's links are placed, not dialled; "
                             "use --start cold")
        if not 1 <= config.home_size <= MAX_HOME_SIZE:
            raise ValueError(f"--home-size {config.home_size} is not between 1 and "
                             f"{MAX_HOME_SIZE} (the hosts of a home's /24)")
        if config.home_size > 1 and not config.nat:
            raise ValueError("--home-size puts nodes at home on a shared LAN: it needs "
                             "--nat, the fraction of the nodes at home")
        if config.nat_symmetric and not config.nat:
            raise ValueError("--nat-symmetric makes some of the routers of the nodes at "
                             "home symmetric: it needs --nat, the fraction of the nodes "
                             "at home")
        if config.nat_mix and not config.nat:
            raise ValueError("--nat-mix draws the kinds of the routers of the nodes at "
                             "home: it needs --nat, the fraction of the nodes at home")
        if config.nat_mix and config.nat_symmetric:
            raise ValueError("--nat-mix draws each router's kind, symmetric ones "
                             "included: give it or --nat-symmetric, not both")
        if config.start == "warm" and config.join_spread:
            raise ValueError("--join-spread staggers a cold start's joins; a warm "
                             "start has no joins")
        if not 0 <= config.join_spread <= config.max_time:
            raise ValueError(f"--join-spread {config.join_spread:g} is not between 0 "
                             f"and --max-time {config.max_time:g}")
        checkAdversaries(config.adversaries, config.adversary)
        if ("sybil" in config.adversary and config.discovery == "chord"
                and config.start != "warm"):
            raise ValueError("--adversary sybil grinds chord ids for a place on the "
                             "ring a warm start builds: add --start warm")
        self.config = config
        self.rng = random.Random(config.seed)
        self.clock = HeapClock()
        low, high = config.latency_ms
        faults = None
        if config.drop or config.dup or config.reorder:
            faults = Faults(random.Random(config.seed + 2), config.drop, config.dup,
                            config.reorder, reorder_delay=max(high / 1000.0, 0.01))
        self.network = MemoryNetwork(self.clock, random.Random(config.seed + 1),
                                     (low / 1000.0, high / 1000.0), faults)
        #: Messages the tracker sent, by type (each node counts its own).
        self.stats = {}
        self.settings = LinkSettings(stats=self.stats,
                                     ping_interval=config.ping_interval)
        #: node -> messages it sent, by type.
        self.node_stats = {}
        self.superpeers = set()
        self.nodes = []
        self.sellers = {}
        self.buyers = {}
        self.initial_stock = {}
        self.record = Record()
        self.killed = set()
        self.failed_links = 0
        self.market = None
        self.join_at = {}
        #: Python's collector kept out of the run's way.
        self.collector = Collector()
        #: The adversaries (L{Attack}), if the run has any kind of them.
        self.attack = Attack(self) if config.adversary else None
        #: The nodes at home behind routers (L{Homes}), with --nat.
        self.homes = None
        #: With --nat, what became of the nodes' hole punches
        #: (L{twisted_bazaar.sim.punches.PunchCounts}).
        self.punches = None
        #: With --nat, the pairs that went direct
        #: (L{twisted_bazaar.sim.udppunches.DirectShare}).
        self.direct = None
        self.builder = Builder(self)

    def build(self):
        """Build the market (L{Builder.build})."""
        self.builder.build()

    def startBuyer(self, node, item, quantity):
        """node starts buying quantity of item, unless it crashed."""
        if node in self.killed:
            return
        BuyerProbe(node, self.record)
        if self.attack is not None:
            self.attack.watch(node)
        role = buildRole(node, buyer_plugin, {"wants": [item], "quantity": quantity,
                                              "search_window": 1.0, "buy_timeout": 2.0})
        self.buyers[node] = role
        role.nodeReady()

    # -- running -------------------------------------------------------------

    def kill(self):
        """Crash a fraction of the nodes at once, mid-run."""
        count = round(self.config.kill * len(self.nodes))
        for node in self.rng.sample(self.nodes, count):
            self.killed.add(node)
            if self.market is not None and node in self.market.services:
                self.market.crash(node)
            elif isinstance(node.clock, NodeClock):
                # A warm start's market node: what the market's crash does.
                node.clock.stopped = True
            # Dead, not just cut off: no new links either way.  Its
            # host, not the address it names (a node at home names its
            # local one).
            node.overlay.refuseLinks()
            self.network.crash(node.connector.from_host)

    def done(self):
        return all(role is not None and role.satisfied
                   for node, role in self.buyers.items() if node not in self.killed)

    def run(self, progress=None):
        """Build, run until every live buyer is satisfied (or max_time), and
        return the metrics; all of it with the configured signatures (see
        L{twisted_bazaar.sim.crypto})."""
        started = time.perf_counter()
        config = self.config
        with signatures(config.crypto):
            try:
                self.collector.frozen(self.build)
                self._runUntilDone(progress)
            finally:
                gc.unfreeze()
                self.end()
        return self.metrics(time.perf_counter() - started)

    def end(self):
        """The run has ended (its clock advances no more): the NAT model's
        timers are cancelled (L{PunchCounts.stop
        <twisted_bazaar.sim.punches.PunchCounts.stop>}, L{DirectShare.stop
        <twisted_bazaar.sim.udppunches.DirectShare.stop>}), and the dials
        of the overlay's kept edges (L{Builder.stop}); what they counted
        is kept for the metrics."""
        for model in (self.punches, self.direct):
            if model is not None:
                model.stop()
        self.builder.stop()

    def _runUntilDone(self, progress):
        config = self.config
        kill_at = config.warmup + config.spread / 2 if config.kill else None
        while self.clock.seconds() < config.max_time:
            self.clock.runFor(1.0)
            self.collector.settle(self.clock.seconds())
            if kill_at is not None and self.clock.seconds() >= kill_at:
                self.kill()
                kill_at = None
            if progress is not None:
                progress(self)
            if self.clock.seconds() >= config.warmup + config.spread and self.done():
                break

    def purchases(self):
        return sum(purchase.units for role in self.buyers.values() if role is not None
                   for purchase in role.bag)

    # -- measuring --------------------------------------------------------------

    def metrics(self, wall_s):
        """The run's metrics (L{runMetrics}), wall_s seconds long."""
        return runMetrics(self, wall_s)
