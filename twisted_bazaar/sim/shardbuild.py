"""
Building one shard's part of a warm market (L{twisted_bazaar.sim.shard}).

Every shard draws what a single process draws from the seed, in the same
order: every node's key (so it knows every node's id, and so where each
node is placed: each derives the public keys of a stripe of the nodes
and is given the others', L{twisted_bazaar.sim.shardkeys}), the graph
and the roles.  It builds only the nodes
placed on it (L{shardOf}: by id), and of each link and tracker session
only the ends they hold; an end whose other end another shard holds is
joined to it by id (L{linkId}), which both shards work out alike.  What
each node's build schedules is its own context's (L{ShardClock}), so the
keys, and so the order of everything, are those of any other sharding.
What a node's build leaves at a node of another shard (a chord ring's
records, a leaf's registration) is placed once every shard has built
(L{ShardBuilder.settle}: L{twisted_bazaar.sim.shardring},
L{twisted_bazaar.sim.shardsuper}).
"""

import bisect
import random

from twisted.internet.address import IPv4Address

from twisted_bazaar.core.market import schemeOf
from twisted_bazaar.core.membership import Membership
from twisted_bazaar.core.node import NodeConfig
from twisted_bazaar.daemon.registry import discoveryPlugins
from twisted_bazaar.net.overlay import OVERLAY
from twisted_bazaar.schemes.chord.ring import BITS, place
from twisted_bazaar.sim.build import TRACKER_SCHEMES, Builder
from twisted_bazaar.sim.shardclock import ContextClock
from twisted_bazaar.sim.shardkeys import RunKeys, seedsOf, stripe
from twisted_bazaar.sim.shardring import RingBuild
from twisted_bazaar.sim.shardsuper import SuperPeerBuild
from twisted_bazaar.sim.topology import BUILDERS
from twisted_bazaar.sim.warm import addressOf, admit, adoptEnd, registered
from twisted_bazaar.testing import Market
from twisted_bazaar.tracker import DEFAULT_TRACKER_PORT, TrackerFactory
from twisted_bazaar.transports.relay.limits import RelayLimits

#: The context of the tracker; node number i's is i + 1.
TRACKER = 0
#: The shard that holds the tracker.
TRACKER_SHARD = 0
#: Where the tracker listens, as a node's end of its session notes it
#: (one object for every session).
TRACKER_ADDRESS = IPv4Address("TCP", "tracker", DEFAULT_TRACKER_PORT)
#: A single process's market draws its nodes' keys from a source of the
#: run's seed plus this (L{Market}: its own seed, seed + 3, plus 1).
MARKET_KEYS = 4
#: The port a node of a generated overlay listens on: its host's first
#: (L{MemoryNetwork.listen}).
FIRST_PORT = 40000


#: What the tracker holds for each node of a run, in nodes of the scheme
#: (flood has none to speak of): its shard holds that much fewer nodes.
#: Measured: the index at a million on shards of 414,998 nodes and the
#: tracker and 585,002, 5,925 and 5,830 MB (s39): the tracker 1.74 kB a
#: node of the run, against a node's 9.7 kB then and about 0.9 kB less
#: since the shard's one table of deadlines and its L{CrossEnd}s (s40):
#: 0.19.  Chord at 200,000 on shards of 83,234 nodes and the tracker and
#: 116,766, 1,750 and 1,926 MB (s40, a worker's own about 180 MB): a node
#: 14.95 kB, the tracker 1.63 kB a node of the run: 0.11.  Superpeer at
#: 200,000 on shards of 83,284 nodes and the tracker and 116,716, 997.4 and
#: 1,086.2 MB (s49, placed at 0.17): a node 8.14 kB, the tracker 0.90 kB a
#: node of the run: 0.11 (0.115 at 800,000, s48).  Chord again at 500,000
#: on shards of 222,467 nodes and the tracker and 277,533, 3,624.6 and
#: 3,921.9 MiB (s51, placed at 0.11): a node 14.1 kB, the tracker 0.93 kB
#: a node of the run: 0.07 (0.076 from s48's 100,000).
TRACKER_WEIGHTS = {"index": 0.19, "chord": 0.07, "superpeer": 0.11}


def arcs(shards, weight):
    """
    Where each shard's arc of the ring ends (the last at the ring's end):
    equal arcs, but the tracker's shard's made shorter by what the
    tracker holds (``weight``, L{TRACKER_WEIGHTS}), so that every shard
    holds about as much.
    """
    share = [1.0] * shards
    if weight and shards > 1:
        each = (1.0 + weight) / shards
        share = [each] * shards
        share[TRACKER_SHARD] = max(0.0, each - weight)
    total = sum(share)
    ends, reached = [], 0.0
    for part in share[:-1]:
        reached += part
        ends.append(int(reached / total * (1 << BITS)))
    return ends + [1 << BITS]


def shardOf(node_id, ends):
    """The shard that holds the node of that id: the arc of the ring it
    falls in (L{arcs}), so a shard holds a run of chord's ring."""
    return bisect.bisect_right(ends, place(node_id))


def contextOf(host):
    """The context of the node on a host label (``n5``: 6; the tracker's: 0)."""
    return int(host[1:]) + 1 if host[:1] == "n" else TRACKER


def linkId(opener, acceptor, contexts):
    """The id of the opener's end of a link a warm start makes between two
    contexts (the acceptor's is one more): negative, as no connection
    made during the run has one (L{ShardNetwork.connect})."""
    return (-(opener * contexts + acceptor) - 1) << 1


class Stub:
    """A node another shard holds, as this one needs to know it: its id,
    key and address (and as a L{warm.admit} and L{adoptEnd} read them),
    and C{where}, the (host, port) its peers here name it by (the warm
    build's), for a quiet end that makes its link later
    (L{twisted_bazaar.sim.shardnet._QuietCross})."""

    __slots__ = ("id", "key", "host", "port", "address", "where")
    config = NodeConfig()

    def __init__(self, identity, host, port):
        self.id = identity.id
        self.key = identity.key
        self.host = host
        self.port = port
        self.address = IPv4Address("TCP", host, port)
        self.where = None

    def nameBy(self, addresses):
        """Its C{where} taken from addresses, the warm build's one (host,
        port) tuple a node's peers here name it by (L{addressOf})."""
        self.where = addressOf(self, addresses)

    @property
    def identity(self):
        return self


class ShardBuilder:
    """
    Builds one shard's part of a warm market of any scheme into a
    L{twisted_bazaar.sim.shard.ShardSimulation} (see the module), with a
    single process's L{Builder} for the parts of it they share: each node
    on a clock of its own (L{ContextClock}).
    """

    def __init__(self, sim, shard, shards):
        self.sim = sim
        self.shard = shard
        self.shards = shards
        self.parts = Builder(sim, clocks=lambda index: ContextClock(sim.clock, index + 1))
        #: What a chord ring's or a super-peer overlay's build leaves for
        #: L{settle} (a L{RingBuild} or L{SuperPeerBuild}), or None.
        self.overlay = None
        #: How many of the run's nodes are super-peers (the first).
        self.superpeers = 0
        #: Each node's seed (L{drawKeys}), until L{build}.
        self._seeds = None
        #: Whether its links of a purpose that does not close when idle are
        #: built as quiet ends (L{link}): not a flood's, whose searches take
        #: every end by 20 virtual seconds, so that a quiet end there is
        #: only an end made twice (CPU, not memory: its peak comes after).
        self.quiet = sim.config.discovery != "flood"

    def drawKeys(self):
        """Every node's seed drawn, as a single process draws them, and the
        public keys of this shard's stripe of the nodes derived
        (L{twisted_bazaar.sim.shardkeys.stripe}), for L{build} on every
        shard."""
        sim, config = self.sim, self.sim.config
        source = sim.rng
        if config.discovery in TRACKER_SCHEMES:
            # Drawn as a single process's market draws them
            # (L{Market.nodeRandom}).
            source = random.Random(config.seed + MARKET_KEYS)
        self._seeds = seedsOf(source, config.nodes)
        return stripe(self._seeds, self.shard, self.shards)

    def build(self, stripes):
        """
        Build this shard's nodes, links and tracker sessions, given every
        shard's L{drawKeys}: shard -> what it places on that shard's nodes
        (a chord ring's records, L{RingBuild.link}; leaves' registrations,
        L{SuperPeerBuild.link}), for L{settle} there once every shard has
        built.
        """
        if self._seeds is None:
            raise RuntimeError(f"shard {self.shard} was built before its keys were drawn")
        keys = RunKeys(self._seeds, stripes)
        self._seeds = None
        sim, config = self.sim, self.sim.config
        clock, network = sim.clock, sim.network
        contexts = config.nodes + 1
        if config.discovery != "flood" and self.shard == TRACKER_SHARD:
            clock.enter(TRACKER)
            sim.market = Market(network, seed=config.seed + 3,
                                link_settings=sim.settings, relay=RelayLimits())
        scheme = discoveryPlugins()[config.discovery]
        parts = self.parts
        taken = set()
        ends = arcs(self.shards, TRACKER_WEIGHTS.get(config.discovery, 0.0))
        count, supers, others = 0, None, parts.scheme_options
        if config.discovery in TRACKER_SCHEMES:
            # The super-peers first, as a single process builds them.
            count, supers, others = parts.superPeerOptions()
        self.superpeers = count
        everyone = []
        placement = network.placement = bytearray(contexts)
        placement[TRACKER] = TRACKER_SHARD
        # A node's id places it: this shard's get key pairs, the others'
        # only what is known of their keys.
        ours = lambda node_id: shardOf(node_id, ends) == self.shard  # noqa: E731
        for index in range(config.nodes):
            rng, identity = keys.draw(index, taken, ours)
            shard = placement[index + 1] = shardOf(identity.id, ends)
            if shard == self.shard:
                clock.enter(index + 1)
                node = parts.buildDirectNode(index, scheme, rng, identity,
                                             supers if index < count else others)
                if index < count:
                    sim.superpeers.add(node)
                if node.port != FIRST_PORT:
                    raise RuntimeError(f"node {index} listens on {node.port}, "
                                       f"not {FIRST_PORT}")
                sim.nodes.append(node)
                everyone.append(node)
            else:
                everyone.append(Stub(identity, f"n{index}", FIRST_PORT))
        edges = ()
        if not count:
            # The super-peers' graph is drawn once the roles are.
            edges = BUILDERS[config.topology](config.nodes, config.degree, sim.rng)
        parts.placeRoles(*parts.drawRoles(everyone),
                         own=lambda index: self._own(everyone, index))
        addresses = {}
        if config.discovery == "chord":
            # The ring, not the graph: a chord daemon's links are the
            # ring's (L{warm.buildDirect}).
            self.overlay = RingBuild(self, everyone,
                                     parts.schemeSettings(scheme, parts.scheme_options)
                                     .successors)
        elif count:
            self.overlay = SuperPeerBuild(self, everyone, count, (
                parts.schemeSettings(scheme, supers), parts.schemeSettings(scheme, others)))
        else:
            for a, b in edges:
                self.link(everyone, a, b, contexts, addresses, OVERLAY)
            if config.discovery != "flood":
                self._joinTrackers(everyone)
            return {}
        return self.overlay.link(contexts, addresses)

    def settle(self, placements):
        """
        What the other shards' builds (and this one's) placed here
        (L{build}), taken: for a chord ring, every node here placed; for
        super-peers, the leaves indexed.  Then every node here registered
        with the tracker (as a single process has it: a chord node
        registered before it has its place would look for one), and a
        super-peer market's schemes started (L{warm.buildSuperPeers}).
        """
        overlay, self.overlay = self.overlay, None
        if overlay is None:
            return
        overlay.settle(placements)
        self._joinTrackers(overlay.everyone)
        if isinstance(overlay, SuperPeerBuild):
            for node in self.sim.nodes:
                self.sim.clock.enter(contextOf(node.host))
                node.discovery.startService()

    def _joinTrackers(self, everyone):
        """The ends this shard holds of every node's tracker session."""
        contexts = len(everyone) + 1
        for index, node in enumerate(everyone):
            self._joinTracker(node, index + 1, contexts)

    def _own(self, everyone, index):
        """Node number index if this shard holds it (its context now the
        current one), else None."""
        if self.sim.network.placement[index + 1] != self.shard:
            return None
        self.sim.clock.enter(index + 1)
        return everyone[index]

    def link(self, everyone, a, b, contexts, addresses, purpose):
        """The ends this shard holds of a link of purpose from node
        number a to node number b (as L{warm.establish} makes both)."""
        sim = self.sim
        clock, network = sim.clock, sim.network
        placement = network.placement
        opener, acceptor = everyone[a], everyone[b]
        here_a, here_b = placement[a + 1] == self.shard, placement[b + 1] == self.shard
        if not (here_a or here_b):
            return
        # A node's context is the int its clock holds, not a new one an
        # end (each end keeps its own and its other end's: 28 bytes each).
        ctx_a = opener.clock.context if here_a else a + 1
        ctx_b = acceptor.clock.context if here_b else b + 1
        if self.quiet and all(node.overlay.idle_timeouts.get(purpose) is None
                              for node, here in ((opener, here_a), (acceptor, here_b))
                              if here):
            # Quiet ends, as L{warm.establish} makes them where neither
            # end's purpose closes when idle (another shard's end its own).
            self._quietLink(opener, ctx_a, here_a, acceptor, ctx_b, here_b,
                            linkId(ctx_a, ctx_b, contexts), addresses, purpose)
            return
        out = into = None
        if here_a:
            clock.enter(ctx_a)
            out = opener.buildLink(inbound=False)
        if here_b:
            clock.enter(ctx_b)
            into = acceptor.buildLink(inbound=True)
        if here_a and here_b:
            ends = network.pairHere(out, ctx_a, opener.host, opener.port, into, ctx_b,
                                    acceptor.host, acceptor.port)
        elif here_a:
            ends = (network.half(out, ctx_a, self._address(opener),
                                 linkId(ctx_a, ctx_b, contexts), ctx_b,
                                 acceptor.address), None)
        else:
            ends = (None, network.half(into, ctx_b, self._address(acceptor),
                                       linkId(ctx_a, ctx_b, contexts) | 1, ctx_a,
                                       opener.address))
        if here_a:
            clock.enter(ctx_a)
            adoptEnd(opener, out, ends[0], acceptor, purpose, True, addresses)
        if here_b:
            clock.enter(ctx_b)
            adoptEnd(acceptor, into, ends[1], opener, purpose, True, addresses)

    def _quietLink(self, opener, ctx_a, here_a, acceptor, ctx_b, here_b, end_id,
                   addresses, purpose):
        """L{link}'s ends as quiet ones: a pair if both nodes are here, else
        this shard's half, which knows the other node by its L{Stub}."""
        sim = self.sim
        clock, network = sim.clock, sim.network
        if here_a and here_b:
            ends = network.quietHere(opener.overlay, ctx_a, acceptor.overlay, ctx_b,
                                     purpose)
        elif here_a:
            acceptor.nameBy(addresses)
            ends = (network.quietHalf(opener.overlay, ctx_a, self._address(opener),
                                      end_id, ctx_b, acceptor, purpose, False), None)
        else:
            opener.nameBy(addresses)
            ends = (None, network.quietHalf(acceptor.overlay, ctx_b,
                                            self._address(acceptor), end_id | 1, ctx_a,
                                            opener, purpose, True))
        if here_a:
            clock.enter(ctx_a)
            opener.overlay.adoptStandIn(ends[0], acceptor.id)
        if here_b:
            clock.enter(ctx_b)
            acceptor.overlay.adoptStandIn(ends[1], opener.id)

    def _address(self, node):
        """The address of node's listening port (one object for all the
        connections that come from it, as L{MemoryNetwork.pair} has it)."""
        return self.sim.network.listenerAt(node.host, node.port).address

    def _joinTracker(self, node, ctx, contexts):
        """The ends this shard holds of node's session with the tracker (as
        L{warm.joinTracker} makes both)."""
        sim = self.sim
        clock, network = sim.clock, sim.network
        here_node = network.placement[ctx] == self.shard
        here_tracker = self.shard == TRACKER_SHARD
        if not (here_node or here_tracker):
            return
        market = sim.market
        end_id = linkId(ctx, TRACKER, contexts)
        if here_node:
            ctx = node.clock.context
            clock.enter(ctx)
            membership = Membership(node)
            node.setMembership(membership)
            membership.startService()
            ours = membership.buildLink()
        if here_tracker:
            clock.enter(TRACKER)
            theirs = TrackerFactory(market.tracker).buildProtocol(None)
        if here_node and here_tracker:
            mine, its = network.pairHere(ours, ctx, node.host, node.port, theirs,
                                         TRACKER, market.tracker_host,
                                         DEFAULT_TRACKER_PORT)
        elif here_node:
            mine = network.half(ours, ctx, self._address(node), end_id, TRACKER,
                                TRACKER_ADDRESS)
        else:
            listening = network.listenerAt(market.tracker_host, DEFAULT_TRACKER_PORT)
            # node is another shard's: its Stub, which holds its address.
            stub = node
            its = network.half(theirs, TRACKER, listening.address, end_id | 1, ctx,
                               stub.address)
        if here_tracker:
            clock.enter(TRACKER)
            scheme = (schemeOf(node.discovery) if here_node
                      else (self.sim.config.discovery,
                            ctx <= self.superpeers if self.superpeers else None))
            admit(market.tracker, theirs, its, node, scheme)
        if here_node:
            clock.enter(ctx)
            registered(membership, ours, mine)
