"""
Building one simulation's market: its nodes (on a generated overlay, or
joining through the tracker), the super-peers of that scheme, and the
roles (sellers with their stock, buyers with their wants and start
times), all drawn from the run's seed in one fixed order, so the same
configuration builds the same market.  A warm start builds the same
nodes and roles, in the state they converge to (L{warm}).
"""

import random

from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.core.membership import Membership
from twisted_bazaar.core.node import NodeConfig
from twisted_bazaar.net.overlay import OVERLAY, OverlayFactory
from twisted_bazaar.plugins.bazaar_roles import seller as seller_plugin
from twisted_bazaar.roles.seller import DEFAULT_LEASE
from twisted_bazaar.sim import warm
from twisted_bazaar.transports.relay.limits import NODE_LIMITS, RelayLimits
from twisted_bazaar.sim.homes import placeHomes
from twisted_bazaar.sim.keptedges import EdgeKeeper
from twisted_bazaar.sim.punches import plugPunching
from twisted_bazaar.sim.udppunches import NO_UDP, plugDirectShare
from twisted_bazaar.sim.smallrandom import SmallRandom
from twisted_bazaar.sim.topology import BUILDERS
from twisted_bazaar.daemon.build import buildNode, buildRole, configured, plugScheme
from twisted_bazaar.daemon.registry import discoveryPlugins
from twisted_bazaar.schemes.superpeer.messages import SUPER
from twisted_bazaar.testing import Market, MemoryClientEndpoint, MemoryConnector
from twisted_bazaar.tracker import DEFAULT_TRACKER_PORT

#: The schemes whose nodes join through the tracker whatever the topology:
#: the tracker tells leaves who the super-peers are.
TRACKER_SCHEMES = ("superpeer",)
#: With staggered joins, leaves join from this many seconds on: the
#: super-peers, all at time 0, are known to the tracker by then.
LEAVES_AFTER = 1.0


class NodeLinkSettings(LinkSettings):
    """
    The link settings every node of a run shares, which count what each
    node sends apart, in the run's table of node -> message type -> number
    (L{Simulation.node_stats}): a node's links are its overlay's, its
    tracker session's and, for a super-peer, its address checks', each an
    owner that names its node (C{node}; a tracker's check names None).
    One for the run, not a copy a node (152 bytes, and a config of its
    own to hold it, 112).
    """

    __slots__ = ("counts",)

    def __init__(self, counts, **settings):
        super().__init__(**settings)
        self.counts = counts

    def statsOf(self, owner):
        """The dict of the node owner's links are sent for, if it is
        counted; else L{stats} (None: nothing counts)."""
        return self.counts.get(owner.node, self.stats)


def _nothing(node):
    """A node of a flood joins by its links alone."""


class Builder:
    """
    Builds a L{Simulation}'s market into it: its C{market}, C{nodes},
    C{superpeers}, C{sellers}, C{buyers} (started by
    L{Simulation.startBuyer} at their times), C{initial_stock},
    C{join_at} and, with --nat, its C{homes}.
    """

    def __init__(self, sim, clocks=None):
        """
        @param clocks: index -> the clock of node number index, for a
            node of a generated overlay; None: the run's, for every node.
        """
        self.sim = sim
        self.clocks = clocks
        config = sim.config
        #: What every node is configured with (see L{nodeConfig}).
        self._node_config = NodeConfig(
            neighbours=config.degree if config.topology == "tracker" else 0,
            max_connections=max(3 * config.degree, config.degree + 24),
            link=NodeLinkSettings(sim.node_stats, ping_interval=config.ping_interval))
        #: The scheme's options: the hop limit only means something to
        #: schemes that flood.
        self.scheme_options = {"ttl": config.ttl} if config.discovery == "flood" else {}
        self.scheme_options.update(config.scheme_options)
        #: The source of the join times of a cold start with staggered joins.
        self._joins = None
        #: (scheme name, options) -> the scheme's settings (see L{schemeSettings}).
        self._scheme_settings = {}
        #: opener -> the L{EdgeKeeper} of the edges it opens, in a run whose
        #: links lose, repeat or reorder messages; the source of their
        #: delays, made at the first.
        self.keepers = {}
        self._redials = None
        #: The super-peers' edges waiting for their ends' ids, if any.
        self._supersLater = None

    def nodeConfig(self):
        """A node's config: the one every node of the run shares, whose
        link settings count what each node sends apart
        (L{NodeLinkSettings}), once L{counted}."""
        return self._node_config

    def counted(self, node):
        """node, its sent messages counted in the run's metrics (in
        L{Simulation.node_stats}), from its first link on."""
        self.sim.node_stats[node] = {}
        return node

    def build(self):
        """Build the market: every node joining through the protocols (a
        cold start), or in the state they converge to (warm, L{warm})."""
        sim, config = self.sim, self.sim.config
        if config.topology == "tracker" or config.discovery != "flood":
            # The tracker relays for the nodes it cannot dial, as a
            # tracker daemon does by default (protocol.md §5a); with nodes
            # at home, so does every public node, as a node daemon does.
            sim.market = Market(sim.network, seed=config.seed + 3,
                                link_settings=sim.settings, relay=RelayLimits(),
                                node_relay=NODE_LIMITS if config.nat else None)
        if config.start == "warm":
            if config.discovery in TRACKER_SCHEMES:
                warm.buildSuperPeers(self)
            else:
                warm.buildDirect(self)
            return
        if config.discovery in TRACKER_SCHEMES:
            self._buildSuperPeers()
        elif config.topology == "tracker":
            sim.nodes = [self.counted(sim.market.buildNode(
                self.nodeConfig(), discovery=config.discovery,
                scheme=self.scheme_options)) for _ in range(config.nodes)]
            self._startAt(sim.nodes, sim.market.startNode, 0.0)
        else:
            self._buildDirect()
        self.assignRoles()
        if config.nat:
            kinds = {} if config.nat_mix else NO_UDP
            sim.homes = placeHomes(sim.network, sim.nodes, config.seed, config.nat,
                                   config.nat_symmetric, public=sim.superpeers,
                                   home_size=config.home_size, mix=config.nat_mix,
                                   kinds=kinds)
            sim.punches = plugPunching(sim.network, sim.nodes)
            low, high = config.latency_ms
            sim.direct = plugDirectShare(sim.homes, sim.nodes, config.seed, kinds,
                                         (low + high) / 2000)

    def schemeSettings(self, plugin, options):
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

    def superPeerOptions(self):
        """How many super-peers, and the scheme options of a super-peer and
        of a leaf."""
        config = self.sim.config
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
        sim, config = self.sim, self.sim.config
        count, supers, options = self.superPeerOptions()
        plugin = discoveryPlugins()[config.discovery]
        for index in range(config.nodes):
            scheme = supers if index < count else options
            sim.nodes.append(self.counted(sim.market.buildNode(
                self.nodeConfig(), discovery=config.discovery, scheme=scheme,
                scheme_settings=self.schemeSettings(plugin, scheme))))
        sim.superpeers.update(sim.nodes[:count])
        # Super-peers first, at once; leaves from 1 s on, once the tracker
        # has checked the super-peers and can name them.
        for node in sim.nodes[:count]:
            sim.market.startNode(node)
        self._startAt(sim.nodes[count:], sim.market.startNode, LEAVES_AFTER)
        if config.topology != "tracker":
            sim.clock.callLater(1.0, self._linkSuperPeers, sim.nodes[:count])

    def superPeerGraph(self, supers):
        """The graph the super-peers link along, with the slots it needs."""
        for node in supers:
            node.setSlots(SUPER, node.config.max_connections)
        config = self.sim.config
        return BUILDERS[config.topology](len(supers), config.degree, self.sim.rng)

    def _linkSuperPeers(self, supers):
        edges = self.superPeerGraph(supers)
        self._linkSupers([(supers[a], supers[b]) for a, b in edges])

    def _linkSupers(self, pairs):
        """Link each (opener, target) pair of super-peers whose ends have
        ids.  In a run whose links lose, repeat or reorder messages, a
        super-peer whose registration lost one has none yet: its edges
        wait, tried again each second (they were left out for the run,
        and the super-peer with them: its own purchase never made)."""
        self._supersLater = None
        config = self.sim.config
        faulty = config.drop or config.dup or config.reorder
        waiting = []
        for opener, target in pairs:
            if opener in self.sim.killed:
                continue
            if target.id is not None and opener.id is not None:
                self._link(opener, target, SUPER)
            elif faulty:
                waiting.append((opener, target))
        if waiting:
            self._supersLater = self.sim.clock.callLater(1.0, self._linkSupers, waiting)

    def _joinTracker(self, node):
        """A node of a fixed overlay still registers with the tracker when
        its discovery scheme needs one (the index); it asks for no peers.
        In a run whose links lose, repeat or reorder messages it tries
        again as a daemon does (L{Membership}'s reconnector) when a try
        fails: one connection, whose handshake a lost message ended, left
        the node out of the market for the whole run (the index, cold, at
        --drop 0.05: 0.73 of its searches bought at 300 nodes, flood
        0.99).  Elsewhere its one connection is made (a reconnector is a
        kilobyte a node more, for a try that cannot fail)."""
        sim = self.sim
        config = sim.config
        host = sim.market.tracker_host
        faulty = config.drop or config.dup or config.reorder
        membership = Membership(node, MemoryClientEndpoint(
            sim.network, node.host, host, DEFAULT_TRACKER_PORT) if faulty else None)
        node.setMembership(membership)
        membership.startService()
        if not faulty:
            d = sim.network.connect(host, DEFAULT_TRACKER_PORT, membership.buildLink(),
                                    from_host=node.host)
            d.addErrback(self._linkFailed)

    def directNode(self, index, scheme, taken):
        """Node number index of a generated overlay: its key drawn from the
        seed (one whose id is not ``taken``), listening, with its id and
        its scheme."""
        rng = random.Random(self.sim.rng.getrandbits(64))
        return self.buildDirectNode(index, scheme, rng, self.key(rng, taken))

    def buildDirectNode(self, index, scheme, rng, identity, options=None):
        """Node number index of a generated overlay, of the key L{directNode}
        drew from rng (which it draws on from), with the scheme's options
        (the run's, unless given)."""
        sim = self.sim
        host = f"n{index}"
        # Listening and named before its scheme is built, as a node of a
        # generated overlay is from the start.
        clock = sim.clock if self.clocks is None else self.clocks(index)
        node = self.counted(buildNode(clock, self.nodeRandom(rng),
                                      MemoryConnector(sim.network, host),
                                      self.nodeConfig(), identity=identity).node)
        self.listen(node, host)
        options = self.scheme_options if options is None else options
        plugScheme(node, scheme.build(node, self.schemeSettings(scheme, options)))
        return node

    @staticmethod
    def key(rng, taken):
        """A node's key pair drawn from rng, one whose id is not ``taken``
        (now taken)."""
        identity = Identity.fromRandom(rng)
        while identity.id in taken:
            # Two keys whose ids collide: the second draws again.
            identity = Identity.fromRandom(rng)
        taken.add(identity.id)
        return identity

    def nodeRandom(self, rng):
        """A node's random source once its key is drawn from rng: rng
        itself, or in a warm start a small one seeded from it (see
        L{SmallRandom}: 2.5 kB less a node)."""
        if self.sim.config.start == "warm":
            return SmallRandom(rng.getrandbits(64))
        return rng

    def listen(self, node, host):
        """The node listens on host, and is named by its key."""
        port = self.sim.network.listen(OverlayFactory(node), host)
        node.setAddress(host, port.getHost().port)
        node.setId(node.identity.id)

    def _buildDirect(self):
        """
        The nodes of a generated overlay, each joining (with the tracker,
        if the scheme has one) at its time; a is linked to b along each
        edge (a, b) of the graph once both have joined (but with chord,
        whose daemons keep no overlay neighbours).
        """
        sim, config = self.sim, self.sim.config
        scheme = discoveryPlugins()[config.discovery]
        taken = set()
        for index in range(config.nodes):
            node = self.directNode(index, scheme, taken)
            # Joins the tracker (if the scheme has one) at its time: without
            # a spread, at once, before the next node is made, as always.
            join = _nothing if sim.market is None else self._joinTracker
            self._startAt([node], join, 0.0)
            sim.nodes.append(node)
        edges = BUILDERS[config.topology](config.nodes, config.degree, sim.rng)
        if config.discovery == "chord":
            # Drawn all the same (the roles drawn next stay those of the
            # seed), but not linked: a chord daemon keeps no overlay
            # neighbours, its links are the ring's (as a warm start).
            edges = ()
        for a, b in edges:
            opener, target = sim.nodes[a], sim.nodes[b]
            when = max(sim.join_at.get(opener, 0.0), sim.join_at.get(target, 0.0))
            if when:
                sim.clock.callLater(when, self._linkUnlessKilled, opener, target)
            else:
                self._link(opener, target)

    def _link(self, opener, target, purpose=OVERLAY):
        config = self.sim.config
        if config.drop or config.dup or config.reorder:
            self._keeper(opener).keep(target.id, target.host, target.port, purpose)
            return
        # The generated overlay names the edge's far end, as a peer's
        # word would: a claim, kept until the dial settles.
        opener.heard(target.id, target.host, target.port)
        d = opener.connectTo(target.id, purpose)
        d.addErrback(self._linkFailed)

    def _keeper(self, opener):
        """opener's L{EdgeKeeper}: a try can fail, and a daemon would
        seek another neighbour where a generated overlay has none to
        offer."""
        keeper = self.keepers.get(opener)
        if keeper is None:
            if self._redials is None:
                self._redials = random.Random(self.sim.config.seed + 6)
            keeper = self.keepers[opener] = EdgeKeeper(
                opener, self._redials, lambda: opener in self.sim.killed,
                self._linkFailed)
        return keeper

    def stop(self):
        """The run ended: the keepers' dials waiting, and the super-peers'
        edges waiting for ids, are cancelled."""
        for keeper in self.keepers.values():
            keeper.stop()
        if self._supersLater is not None and self._supersLater.active():
            self._supersLater.cancel()
        self._supersLater = None

    def _linkUnlessKilled(self, opener, target):
        """An edge whose ends have both joined, unless its opener crashed
        first (one whose target crashed fails, as any link to it does)."""
        if opener not in self.sim.killed:
            self._link(opener, target)

    def _startAt(self, nodes, start, after):
        """
        start(node) for each of nodes: at once, or with ``--join-spread S``
        each at a random time in [after, after + S), drawn from a source of
        its own (a run without the flag draws what it drew before it).
        """
        sim = self.sim
        spread = sim.config.join_spread
        if not spread:
            for node in nodes:
                start(node)
            return
        if self._joins is None:
            self._joins = random.Random(sim.config.seed + 5)
        for node in nodes:
            when = sim.join_at[node] = after + self._joins.random() * spread
            sim.clock.callLater(when, self._startUnlessKilled, start, node)

    def _startUnlessKilled(self, start, node):
        """A node crashed (L{Simulation.kill}) before its time never joins."""
        if node not in self.sim.killed:
            start(node)

    def _linkFailed(self, reason):
        """An overlay link that did not form (its handshake was lost to a
        fault, say): counted (its opener's keeper, if any, dials again)."""
        self.sim.failed_links += 1

    def assignRoles(self):
        """Draw the sellers, with their stock, and the buyers, with what
        they want and when they start (L{drawRoles}); give them their
        roles (L{placeRoles}); plant the adversaries."""
        sim = self.sim
        self.placeRoles(*self.drawRoles(sim.nodes), own=sim.nodes.__getitem__)
        if sim.attack is not None:
            sim.attack.plant()

    def drawRoles(self, nodes):
        """
        The roles of nodes (every node of the run, in the order built),
        drawn from the run's seed: ([(seller's index, item, stock)],
        [(start, buyer's index, item, quantity)]).
        """
        sim = self.sim
        config, rng = sim.config, sim.rng
        order = list(range(len(nodes)))
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
                start = (sim.join_at.get(nodes[index], 0.0) + config.warmup
                         + rng.random() * config.spread)
                plans.append((start, index, rng.choice(offered), quantity))
        # A search reserves a unit at each seller it reaches, one per buyer,
        # so a seller with its item's purchases plus one unit per buyer of
        # it never turns a buyer away for lack of stock.
        demand = {}
        for _, _, item, quantity in plans:
            demand[item] = demand.get(item, 0) + quantity + 1
        sellers = []
        for i, index in enumerate(seller_indexes):
            item = items[i % len(items)]
            stock = demand.get(item, 0) if config.stock is None else config.stock
            sellers.append((index, item, stock))
        return sellers, plans

    def placeRoles(self, sellers, plans, own):
        """
        The roles L{drawRoles} drew, given to the nodes: own(index) -> the
        node of that index, or None for a node held elsewhere (another
        shard's, L{twisted_bazaar.sim.shardbuild}).
        """
        sim = self.sim
        for index, item, stock in sellers:
            node = own(index)
            if node is not None:
                sim.initial_stock[node] = {item: stock}
                sim.sellers[node] = buildRole(
                    node, seller_plugin, {"stock": {item: stock}, "lease": DEFAULT_LEASE})
        for start, index, item, quantity in plans:
            node = own(index)
            if node is not None:
                sim.clock.callLater(start, sim.startBuyer, node, item, quantity)
                sim.buyers[node] = None

    def _shares(self, total, buyers):
        """Spread ``total`` purchases over ``buyers`` buyers, at random."""
        shares = [total // buyers] * buyers
        for i in self.sim.rng.sample(range(buyers), total % buyers):
            shares[i] += 1
        return shares
