"""
Build and run one simulation: real nodes, trackers and roles on a
L{twisted_bazaar.testing.MemoryNetwork} driven by a
L{twisted_bazaar.sim.clock.HeapClock}.

Everything random is drawn from generators seeded from ``SimConfig.seed``,
so the same configuration gives the same metrics; only ``wall_s`` and
``peak_rss_mb`` measure the machine and change from run to run.
"""

import copy
import gc
import random
import time

import attr

from twisted_bazaar import wire
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.core.membership import Membership
from twisted_bazaar.core.node import NodeConfig
from twisted_bazaar.net.overlay import OVERLAY, OverlayFactory
from twisted_bazaar.plugins.bazaar_roles import buyer as buyer_plugin
from twisted_bazaar.plugins.bazaar_roles import seller as seller_plugin
from twisted_bazaar.roles.seller import DEFAULT_LEASE
from twisted_bazaar.sim import warm
from twisted_bazaar.sim.attack import Attack, checkAdversaries
from twisted_bazaar.sim.crypto import signatures
from twisted_bazaar.sim.homes import homeMetrics, placeHomes
from twisted_bazaar.sim.clock import HeapClock
from twisted_bazaar.sim.metrics import BuyerProbe, Record, peakRssMB, percentiles
from twisted_bazaar.sim.smallrandom import SmallRandom
from twisted_bazaar.sim.topology import BUILDERS
from twisted_bazaar.daemon.build import buildNode, buildRole, configured, plugScheme
from twisted_bazaar.daemon.registry import discoveryPlugins
from twisted_bazaar.schemes.superpeer.messages import SUPER
from twisted_bazaar.testing import Faults, Market, MemoryConnector, MemoryNetwork, NodeClock
from twisted_bazaar.tracker import DEFAULT_TRACKER_PORT

TOPOLOGIES = sorted(BUILDERS) + ["tracker"]
DISCOVERY = sorted(discoveryPlugins())
#: The schemes whose nodes join through the tracker whatever the topology:
#: the tracker tells leaves who the super-peers are.
TRACKER_SCHEMES = ("superpeer",)
#: Virtual seconds at least between two full collections of a run's
#: objects, and how much what is frozen must have grown since the last
#: (see L{Simulation._settle}).
FULL_COLLECTION = 30.0
FULL_GROWTH = 1.25
#: How a run starts: every node joining through the protocols (cold, the
#: default), or in the state they converge to (warm, see L{warm}).
STARTS = ("cold", "warm")
#: With staggered joins, leaves join from this many seconds on: the
#: super-peers, all at time 0, are known to the tracker by then.
LEAVES_AFTER = 1.0


def _nothing(node):
    """A node of a flood joins by its links alone."""


def tradeTypes():
    """Message types that belong to trading, as opposed to upkeep
    (handshakes, keepalive, introductions, and the messages a scheme marks
    with a true C{upkeep} class attribute, like Chord's ring maintenance):
    every other type a scheme or role declares, and error."""
    return {name for name, cls in wire.MESSAGE_TYPES.items()
            if cls.__module__ != wire.ThisIsMe.__module__
            and not getattr(cls, "upkeep", False)} | {"error"}


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
    #: times (0: all at once, at time 0); see L{Simulation._startAt}.
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


class Simulation:
    """One run: build the network, let buyers loose, collect metrics."""

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
        #: What every node's link settings share (see L{nodeConfig}).
        self._node_links = LinkSettings(ping_interval=config.ping_interval)
        #: node -> messages it sent, by type.
        self.node_stats = {}
        #: The scheme's options: the hop limit only means something to
        #: schemes that flood.
        self.scheme_options = {"ttl": config.ttl} if config.discovery == "flood" else {}
        self.scheme_options.update(config.scheme_options)
        self.superpeers = set()
        self.nodes = []
        self.sellers = {}
        self.buyers = {}
        self.initial_stock = {}
        self.record = Record()
        self.killed = set()
        self.failed_links = 0
        self.market = None
        #: node -> when it joins, in a cold start with staggered joins.
        self.join_at = {}
        self._joins = None
        #: Clock time of the run's next full collection (L{_settle}), if
        #: what is frozen has grown enough by then.
        self._next_full = FULL_COLLECTION
        #: Objects frozen after the build or the last full collection.
        self._frozen = 0
        #: The adversaries (L{Attack}), if the run has any kind of them.
        self.attack = Attack(self) if config.adversary else None
        #: (scheme name, options) -> the scheme's settings (see L{_schemeSettings}).
        self._scheme_settings = {}
        #: The nodes at home behind routers (L{Homes}), with --nat.
        self.homes = None

    # -- building ------------------------------------------------------------

    def nodeConfig(self):
        """A node's config, with a link settings of its own that counts
        what it sends (see L{node_stats}); the rest of the link settings
        (rates, write batch) is shared, as a daemon's links share one."""
        config = self.config
        link = copy.copy(self._node_links)
        link.stats = {}
        return NodeConfig(
            neighbours=config.degree if config.topology == "tracker" else 0,
            max_connections=max(3 * config.degree, config.degree + 24),
            link=link)

    def _counted(self, node):
        self.node_stats[node] = node.config.link.stats
        return node

    def build(self):
        config = self.config
        if config.topology == "tracker" or config.discovery != "flood":
            self.market = Market(self.network, seed=config.seed + 3,
                                 link_settings=self.settings)
        if config.start == "warm":
            if config.discovery in TRACKER_SCHEMES:
                self._warmSuperPeers()
            else:
                self._warmDirect()
            return
        if config.discovery in TRACKER_SCHEMES:
            self._buildSuperPeers()
        elif config.topology == "tracker":
            self.nodes = [self._counted(self.market.buildNode(
                self.nodeConfig(), discovery=config.discovery,
                scheme=self.scheme_options)) for _ in range(config.nodes)]
            self._startAt(self.nodes, self.market.startNode, 0.0)
        else:
            self._buildDirect()
        self._assignRoles()
        if config.nat:
            self.homes = placeHomes(self.network, self.nodes, config.seed, config.nat,
                                    config.nat_symmetric, public=self.superpeers)

    def _schemeSettings(self, plugin, options):
        """
        The settings L{configured} makes of a scheme's options, made once a
        run for each set of options and shared by every node given them:
        they are frozen, and a node of a million-node run would otherwise
        hold a copy of its own (a chord node's C{ChordSettings}, 184
        bytes).
        """
        try:
            key = (plugin.name, tuple(sorted(options.items())))
            settings = self._scheme_settings.get(key)
        except TypeError:
            # An option of a value that cannot be a key: made each time.
            return configured(plugin, options)
        if settings is None:
            settings = self._scheme_settings[key] = configured(plugin, options)
        return settings

    def _superPeerOptions(self):
        """How many super-peers, and the scheme options of a super-peer and
        of a leaf."""
        config = self.config
        count = max(1, min(config.nodes, round(config.superpeers * config.nodes)))
        options = dict(self.scheme_options)
        supers = dict(options, super=True)
        if config.topology != "tracker":
            supers["superpeer-links"] = 0
        return count, supers, options

    def _buildSuperPeers(self):
        """
        Super-peers first, then leaves, all joining through the tracker.
        With ``--topology tracker`` the super-peers find each other through
        it too; with a generated graph, they link along that graph (of
        ``--degree``) instead, once they are registered.
        """
        config = self.config
        count, supers, options = self._superPeerOptions()
        plugin = discoveryPlugins()[config.discovery]
        for index in range(config.nodes):
            scheme = supers if index < count else options
            self.nodes.append(self._counted(self.market.buildNode(
                self.nodeConfig(), discovery=config.discovery, scheme=scheme,
                scheme_settings=self._schemeSettings(plugin, scheme))))
        self.superpeers.update(self.nodes[:count])
        # Super-peers first, at once; leaves from 1 s on, once the tracker
        # has checked the super-peers and can name them.
        for node in self.nodes[:count]:
            self.market.startNode(node)
        self._startAt(self.nodes[count:], self.market.startNode, LEAVES_AFTER)
        if config.topology != "tracker":
            self.clock.callLater(1.0, self._linkSuperPeers, self.nodes[:count])

    def _superPeerGraph(self, supers):
        """The graph the super-peers link along, with the slots it needs."""
        for node in supers:
            node.setSlots(SUPER, node.config.max_connections)
        return BUILDERS[self.config.topology](len(supers), self.config.degree, self.rng)

    def _linkSuperPeers(self, supers):
        edges = self._superPeerGraph(supers)
        for a, b in edges:
            target = supers[b]
            if target.id is not None and supers[a].id is not None:
                supers[a].connectTo(target.host, target.port, target.id,
                                    SUPER).addErrback(self._linkFailed)

    def _joinTracker(self, node):
        """A node of a fixed overlay still registers with the tracker when
        its discovery scheme needs one (the index); it asks for no peers."""
        membership = Membership(node)
        node.setMembership(membership)
        membership.startService()
        protocol = membership.factory.buildProtocol(None)
        self.network.connect(self.market.tracker_host, DEFAULT_TRACKER_PORT, protocol,
                             from_host=node.host).addErrback(self._linkFailed)

    def _directNode(self, index, scheme, taken):
        """Node number index of a generated overlay: its key drawn from the
        seed (one whose id is not ``taken``), listening, with its id and
        its scheme."""
        host = f"n{index}"
        rng = random.Random(self.rng.getrandbits(64))
        identity = self._key(rng, taken)
        # Listening and named before its scheme is built, as a node of a
        # generated overlay is from the start.
        node = self._counted(buildNode(self.clock, self._nodeRandom(rng),
                                       MemoryConnector(self.network, host),
                                       self.nodeConfig(), identity=identity).node)
        self._listen(node, host)
        plugScheme(node, scheme.build(node, self._schemeSettings(scheme, self.scheme_options)))
        return node

    @staticmethod
    def _key(rng, taken):
        """A node's key pair drawn from rng, one whose id is not ``taken``
        (now taken)."""
        identity = Identity.fromRandom(rng)
        while identity.id in taken:
            # Two keys whose ids collide: the second draws again.
            identity = Identity.fromRandom(rng)
        taken.add(identity.id)
        return identity

    def _nodeRandom(self, rng):
        """A node's random source once its key is drawn from rng: rng
        itself, or in a warm start a small one seeded from it (see
        L{SmallRandom}: 2.5 kB less a node)."""
        if self.config.start == "warm":
            return SmallRandom(rng.getrandbits(64))
        return rng

    def _listen(self, node, host):
        """The node listens on host, and is named by its key."""
        port = self.network.listen(OverlayFactory(node), host)
        node.setAddress(host, port.getHost().port)
        node.setId(node.identity.id)

    def _buildDirect(self):
        """
        The nodes of a generated overlay, each joining (with the tracker,
        if the scheme has one) at its time; a is linked to b along each
        edge (a, b) of the graph once both have joined (but with chord,
        whose daemons keep no overlay neighbours).
        """
        config = self.config
        scheme = discoveryPlugins()[config.discovery]
        taken = set()
        for index in range(config.nodes):
            node = self._directNode(index, scheme, taken)
            # Joins the tracker (if the scheme has one) at its time: without
            # a spread, at once, before the next node is made, as always.
            join = _nothing if self.market is None else self._joinTracker
            self._startAt([node], join, 0.0)
            self.nodes.append(node)
        edges = BUILDERS[config.topology](config.nodes, config.degree, self.rng)
        if config.discovery == "chord":
            # Drawn all the same (the roles drawn next stay those of the
            # seed), but not linked: a chord daemon keeps no overlay
            # neighbours, its links are the ring's (as a warm start).
            edges = ()
        for a, b in edges:
            opener, target = self.nodes[a], self.nodes[b]
            when = max(self.join_at.get(opener, 0.0), self.join_at.get(target, 0.0))
            if when:
                self.clock.callLater(when, self._linkUnlessKilled, opener, target)
            else:
                self._link(opener, target)

    def _link(self, opener, target):
        d = opener.connectTo(target.host, target.port, target.id)
        d.addErrback(self._linkFailed)

    def _linkUnlessKilled(self, opener, target):
        """An edge whose ends have both joined, unless its opener crashed
        first (one whose target crashed fails, as any link to it does)."""
        if opener not in self.killed:
            self._link(opener, target)

    def _startAt(self, nodes, start, after):
        """
        start(node) for each of nodes: at once, or with ``--join-spread S``
        each at a random time in [after, after + S), drawn from a source of
        its own (a run without the flag draws what it drew before it).
        """
        spread = self.config.join_spread
        if not spread:
            for node in nodes:
                start(node)
            return
        if self._joins is None:
            self._joins = random.Random(self.config.seed + 5)
        for node in nodes:
            when = self.join_at[node] = after + self._joins.random() * spread
            self.clock.callLater(when, self._startUnlessKilled, start, node)

    def _startUnlessKilled(self, start, node):
        """A node crashed (L{kill}) before its time never joins."""
        if node not in self.killed:
            start(node)

    def _warmDirect(self):
        """
        A warm start of a generated overlay: the same nodes, graph and
        roles as a cold start draws from the seed; the graph's links
        established, or for chord the ring placed instead (a chord daemon
        keeps no overlay neighbours: its links are the ring's), every
        node registered with the tracker if the scheme has one (see
        L{warm}).
        """
        config = self.config
        scheme = discoveryPlugins()[config.discovery]
        taken = set()
        self.nodes = [self._directNode(index, scheme, taken)
                      for index in range(config.nodes)]
        edges = BUILDERS[config.topology](config.nodes, config.degree, self.rng)
        self._assignRoles()
        if config.discovery == "chord":
            # Where adversaries lie on the way, a store's route decides
            # where its record goes (a misrouter acknowledges it falsely, a
            # withholder makes it detour): their runs store through the ring.
            warm.placeRing(self.network, self.nodes, records=self.attack is None)
        else:
            warm.linkGraph(self.network, self.nodes, edges, OVERLAY)
        if self.market is not None:
            for node in self.nodes:
                warm.joinTracker(self.market, node)

    def _warmSuperPeers(self):
        """
        A warm start of the superpeer scheme: the nodes a cold start makes
        (as the market makes them), the super-peers linked along the graph,
        each leaf linked to and registered with its super-peers, every node
        registered with the tracker, and the scheme started (see L{warm}).
        """
        config = self.config
        count, supers, options = self._superPeerOptions()
        taken = set()
        plugin = discoveryPlugins()[config.discovery]
        for index in range(config.nodes):
            rng = self.market.nodeRandom()
            scheme = supers if index < count else options
            node = self.market.buildNode(self.nodeConfig(), discovery=config.discovery,
                                         scheme=scheme,
                                         scheme_settings=self._schemeSettings(plugin,
                                                                              scheme),
                                         identity=self._key(rng, taken),
                                         rng=self._nodeRandom(rng))
            self._listen(self._counted(node), node.connector.from_host)
            if index < count:
                self.superpeers.add(node)
            self.nodes.append(node)
        self._assignRoles()
        edges = self._superPeerGraph(self.nodes[:count])
        warm.linkSuperPeers(self.network, self.nodes[:count], self.nodes[count:], edges,
                            self.rng)
        for node in self.nodes:
            warm.joinTracker(self.market, node)
        for node in self.nodes:
            node.discovery.startService()

    def _linkFailed(self, reason):
        """An overlay link that did not form (its handshake was lost to a
        fault, say): counted, and the graph goes on without it."""
        self.failed_links += 1

    def _assignRoles(self):
        config, rng = self.config, self.rng
        order = list(range(len(self.nodes)))
        rng.shuffle(order)
        seller_count = max(1, min(len(order) - 1, round(config.sellers * len(order))))
        seller_indexes, buyer_indexes = order[:seller_count], order[seller_count:]
        items = [f"item{k}" for k in range(config.items)]
        offered = items[:seller_count]  # buyers want only what someone sells
        plans = []
        shares = self._shares(config.searches, len(buyer_indexes))
        for index, quantity in zip(buyer_indexes, shares):
            if quantity:
                # A buyer starts warmup..warmup + spread seconds after it
                # joined.
                start = (self.join_at.get(self.nodes[index], 0.0) + config.warmup
                         + rng.random() * config.spread)
                plans.append((start, self.nodes[index], rng.choice(offered), quantity))
        # A search reserves a unit at each seller it reaches, one per buyer,
        # so a seller with its item's purchases plus one unit per buyer of
        # it never turns a buyer away for lack of stock.
        demand = {}
        for _, _, item, quantity in plans:
            demand[item] = demand.get(item, 0) + quantity + 1
        for i, index in enumerate(seller_indexes):
            item = items[i % len(items)]
            stock = demand.get(item, 0) if config.stock is None else config.stock
            node = self.nodes[index]
            self.initial_stock[node] = {item: stock}
            self.sellers[node] = buildRole(
                node, seller_plugin, {"stock": {item: stock}, "lease": DEFAULT_LEASE})
        for start, node, item, quantity in plans:
            self.clock.callLater(start, self._startBuyer, node, item, quantity)
            self.buyers[node] = None
        if self.attack is not None:
            self.attack.plant()

    def _shares(self, total, buyers):
        """Spread ``total`` purchases over ``buyers`` buyers, at random."""
        shares = [total // buyers] * buyers
        for i in self.rng.sample(range(buyers), total % buyers):
            shares[i] += 1
        return shares

    def _startBuyer(self, node, item, quantity):
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
            # Dead, not just cut off: no new links either way.
            node.overlay.refuseLinks()
            self.network.crash(node.host)

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
                self._buildFrozen()
                self._runUntilDone(progress)
            finally:
                gc.unfreeze()
        return self.metrics(time.perf_counter() - started)

    def _runUntilDone(self, progress):
        config = self.config
        kill_at = config.warmup + config.spread / 2 if config.kill else None
        while self.clock.seconds() < config.max_time:
            self.clock.runFor(1.0)
            self._settle()
            if kill_at is not None and self.clock.seconds() >= kill_at:
                self.kill()
                kill_at = None
            if progress is not None:
                progress(self)
            if self.clock.seconds() >= config.warmup + config.spread and self.done():
                break

    def _settle(self):
        """
        After each virtual second, keep what the run made and still holds
        out of the collector's way, as the build's is (L{_buildFrozen}):
        the young generations are collected (their garbage is not kept),
        and what lives on is frozen.  A cold run makes most of its objects
        as it goes (links, records, the ring's state), and the collector,
        which scans every object it tracks each time they grow by a
        quarter, took a quarter of a cold 10,000-node chord run so (19
        full collections, 12 s of 67).  Everything is collected in full,
        so that the cycles that died while frozen are freed, once what is
        frozen has grown by a quarter (L{FULL_GROWTH}) since the build or
        the last full collection, as Python's own rule has it for its
        oldest generation, and at most every L{FULL_COLLECTION} virtual
        seconds.  A warm run makes few objects that last: a warm flood
        run of 100,000 nodes froze 5.37 million in its build, and a full
        collection of them took 3.4 s of CPU and freed 632.
        """
        gc.collect(1)
        now = self.clock.seconds()
        if now >= self._next_full:
            self._next_full = now + FULL_COLLECTION
            # Counted here only: counting walks every frozen object.
            if gc.get_freeze_count() >= self._frozen * FULL_GROWTH:
                gc.unfreeze()
                gc.collect()
                gc.freeze()
                self._frozen = gc.get_freeze_count()
        gc.freeze()

    def _buildFrozen(self):
        """
        L{build}, with Python's collector kept out of it and of what it
        built: a build makes millions of objects that live as long as the
        run, and a collector that scans them all each time the heap grows
        by a quarter took a fifth of a 10,000-node run.  What the build
        made is frozen (L{gc.freeze}) until the run is over; what the run
        makes is collected as usual.  Nothing a run computes depends on
        when the collector runs.
        """
        enabled = gc.isenabled()
        gc.disable()
        try:
            self.build()
        finally:
            if enabled:
                gc.enable()
        gc.freeze()
        self._frozen = gc.get_freeze_count()

    def purchases(self):
        return sum(purchase.units for role in self.buyers.values() if role is not None
                   for purchase in role.bag)

    # -- measuring --------------------------------------------------------------

    def metrics(self, wall_s):
        config = self.config
        alive = [node for node in self.nodes if node not in self.killed]
        edges = sum(len(node.links) for node in alive) // 2
        floods = self.record.floods
        stats = dict(self.stats)
        for sent in self.node_stats.values():
            for kind, count in sent.items():
                stats[kind] = stats.get(kind, 0) + count
        trade_types = tradeTypes()
        trade = sum(stats.get(kind, 0) for kind in trade_types)
        # The tracker counts as a node: with the index it answers every
        # lookup.
        busiest = max(sum(sent.get(kind, 0) for kind in trade_types)
                      for sent in [self.stats, *self.node_stats.values()])
        purchases = self.purchases()
        searches = config.searches
        metrics = {
            "config": attr.asdict(config),
            "nodes": config.nodes,
            "edges": edges,
            "searches": searches,
            "search_floods": floods,
            "purchases": purchases,
            "success_rate": round(min(purchases, searches) / searches, 6)
            if searches else None,
            "double_sells": self._doubleSells(),
            "messages_per_search": round(trade / floods, 3) if floods else None,
            "search_messages_per_search": round(stats.get("search", 0) / floods, 3)
            if floods else None,
            "messages_by_type": dict(sorted(stats.items())),
            "busiest_node_messages": busiest,
            "superpeers": len(self.superpeers),
            "hops_to_first_reply": percentiles(self.record.hops),
            "lookup_hops": percentiles(self.record.lookup_hops),
            "latency_ms": percentiles(self.record.latency_ms),
            "virtual_s": round(self.clock.seconds(), 3),
            "killed": len(self.killed),
            "failed_links": self.failed_links,
            "faults": dict(self.network.faults.counts) if self.network.faults else {},
            "bytes_per_node": round(self.network.bytes_written / config.nodes, 1),
            "wall_s": round(wall_s, 3),
            "peak_rss_mb": peakRssMB(),
        }
        if self.attack is not None:
            metrics["adversaries"] = self.attack.metrics()
        if self.homes is not None:
            metrics["nat"] = homeMetrics(self.homes, self.nodes, self.sellers, self.buyers)
        return metrics

    def _doubleSells(self):
        """Units sold beyond a seller's stock, plus buy ids in two ledgers."""
        over = 0
        seen = {}
        for node, seller in self.sellers.items():
            for item, initial in self.initial_stock[node].items():
                sold = sum(sale.units for sale in seller.ledger.values() if sale.item == item)
                over += max(0, sold - initial)
            for buy_id in seller.ledger:
                seen[buy_id] = seen.get(buy_id, 0) + 1
        return over + sum(count - 1 for count in seen.values() if count > 1)
