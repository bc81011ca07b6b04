"""
A market of real nodes on a L{MemoryNetwork}, for tests (yours too).

L{Market} builds a tracker and nodes on it with the very services the
daemons use::

    market = Market()
    seller = market.addNode(seller={"stock": {"apple": 3}})
    buyer = market.addNode(buyer={"wants": ["apple"]})
    market.run(10)
    assert [p.item for p in market.role(buyer, "buyer").bag] == ["apple"]

Role settings are the keyword arguments of the role's ``build`` (see
L{IRolePlugin.configure}), keyed by role name; scheme settings are the
scheme's option values (see L{twisted_bazaar.daemon.build.configured}).  Every node runs on its own
L{NodeClock}, so that L{Market.leftovers} can tell what a stopped node
left behind.
"""

import copy
import random

import attr

from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.metrics.node import NodeMetrics
from twisted_bazaar.core.node import NodeConfig
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.daemon.build import buildNode, configured
from twisted_bazaar.daemon.node import RelayListening
from twisted_bazaar.daemon.registry import (
    discoveryPlugins,
    hostExtensions,
    rolePlugins,
    trackerExtensionPlugins,
)
from twisted_bazaar.daemon.services import NodeService, trackerService
from twisted_bazaar.testing.memory import (
    MemoryClientEndpoint,
    MemoryConnector,
    MemoryNetwork,
    MemoryServerEndpoint,
)
from twisted_bazaar.tracker import DEFAULT_TRACKER_PORT, Tracker
from twisted_bazaar.transports.relay.relay import Relay

#: The port of the tracker's relay, when a market has one.
RELAY_PORT = 7701


class NodeClock:
    """
    One node's view of the shared clock.  It remembers what the node
    scheduled (so a test can see what is still pending), and a simulated
    ``kill -9`` stops it: once ``stopped``, nothing the node scheduled runs
    any more.
    """

    def __init__(self, clock):
        self.clock = clock
        wall = getattr(clock, "wallSeconds", None)
        if wall is not None:
            # The shared clock's own wall clock (L{SplitClock}); a test may
            # set one node's apart.
            self.wallSeconds = wall
        self.stopped = False
        self._calls = []
        self._prune_at = 64

    def seconds(self):
        return self.clock.seconds()

    def callLater(self, delay, function, *args, **kwargs):
        # No empty dict kept with each pending call: a simulation holds
        # hundreds of thousands.
        call = self.clock.callLater(delay, self._unlessStopped, function, args,
                                    kwargs or None)
        self._calls.append(call)
        if len(self._calls) >= self._prune_at:
            self._calls = self.getDelayedCalls()
            self._prune_at = 64 + 2 * len(self._calls)
        return call

    def _unlessStopped(self, function, args, kwargs):
        if not self.stopped:
            if kwargs:
                function(*args, **kwargs)
            else:
                function(*args)

    def getDelayedCalls(self):
        """The calls this node scheduled that have yet to run."""
        return [call for call in self._calls if call.active()]


class Market:
    """
    A tracker and any number of nodes on a L{MemoryNetwork}, built and
    started with the daemons' own services.
    """

    def __init__(self, network=None, seed=0, link_settings=None, relay=None,
                 node_relay=None):
        """
        @param relay: the L{RelayLimits} of a relay for the tracker to
            serve on port L{RELAY_PORT} of its host (protocol.md §5a), or
            None for none.
        @param node_relay: the L{RelayLimits} of a relay for each node to
            serve on a port of its host (offered to the tracker once the
            node is found reachable), or None for none.
        """
        self.network = network if network is not None else MemoryNetwork(
            rng=random.Random(seed))
        self.clock = self.network.clock
        self.rng = random.Random(seed + 1)
        self.link_settings = link_settings or LinkSettings()
        # Looked up once: each look-up reads the plugin caches from disk,
        # which is most of what adding a node costs in a large simulation.
        self._schemes = discoveryPlugins()
        self._roles = rolePlugins()
        self.tracker_host = "tracker"
        # No bound on the connections still to register in all (only per
        # address group): a simulation starts thousands of nodes at once,
        # and in memory there are no descriptors to run out of.
        self.tracker = Tracker(self.clock, random.Random(seed + 2), self.link_settings,
                               connector=MemoryConnector(self.network, self.tracker_host),
                               identity=Identity.fromRandom(random.Random(seed + 3)),
                               pending_limit=None)
        hostExtensions(self.tracker, trackerExtensionPlugins())
        self.tracker_service = trackerService(
            self.clock, self.tracker,
            MemoryServerEndpoint(self.network, self.tracker_host, DEFAULT_TRACKER_PORT))
        self.tracker_service.startService()
        if relay is not None:
            self.tracker.relay = Relay(self.clock, self.tracker.peer_log, relay)
            self.network.listen(self.tracker.relay.factory(), self.tracker_host,
                                RELAY_PORT)
            self.tracker.relay.port = RELAY_PORT
        self.node_relay = node_relay
        self.services = {}
        #: node -> its L{NodeParts}, as L{buildNode} made them.
        self.parts = {}
        #: node -> its L{NodeMetrics}, for nodes added with ``metrics``.
        self.metrics = {}
        #: Nodes stopped at their own request -> their stopService Deferred.
        self.stopped = {}
        self.roles = {}
        #: Each node's scheme options, so that a restart keeps them.
        self.schemes = {}
        self._count = 0

    def addNode(self, config=None, discovery="flood", store=None, scheme=None,
                identity=None, metrics=False, host=None, transports=(), **roles):
        """
        Start a node carrying the given roles, e.g.
        ``addNode(seller={"stock": {"apple": 2}})``, with the named
        discovery scheme (its options in ``scheme``, a dict), and its key
        pair (a new one unless ``identity`` is given).  Returns the Node; it
        gets its id from the tracker once the clock runs.  With
        ``metrics``, the node gets its own L{NodeMetrics} (in
        L{Market.metrics}), as ``--metrics`` gives a daemon.  Each node is
        on a host of its own unless ``host`` names one (nodes on one host
        are one address group, as one machine's would be).  ``transports``:
        see L{buildNode}.
        """
        node = self.buildNode(config, discovery, store, scheme, identity, host=host,
                              metrics=metrics, transports=transports, **roles)
        self.startNode(node)
        return node

    def startNode(self, node):
        """Start a node L{buildNode} made, as L{addNode} starts its own: it
        listens and joins the tracker (a simulator's staggered joins build
        every node first and start each at its time)."""
        host = node.connector.from_host
        service = NodeService(
            node.clock, node, MemoryServerEndpoint(self.network, host),
            MemoryClientEndpoint(self.network, host, self.tracker_host,
                                 DEFAULT_TRACKER_PORT),
            onStopRequested=lambda why: self._stopRequested(node),
            services=self.parts[node].services, roles=self.parts[node].roles)
        offering = self.parts[node].offering
        if offering is not None:
            # Its relay's port, started and stopped with its offering, as a
            # daemon's.
            RelayListening(node.clock, MemoryServerEndpoint(self.network, host),
                           offering.relay, None, "relay").setServiceParent(offering)
        self.services[node] = service
        service.startService()

    def nodeRandom(self):
        """The random source of the next node L{addNode} makes, drawn from
        the market's seed; its key pair is drawn from it first."""
        return random.Random(self.rng.getrandbits(64))

    def buildNode(self, config=None, discovery="flood", store=None, scheme=None,
                  identity=None, rng=None, host=None, metrics=False, scheme_settings=None,
                  transports=(), **roles):
        """
        A node as L{addNode} makes it (the same host name, random source
        and key pair for the same seed, unless ``rng`` and ``identity``
        are given), with its scheme and roles, but not started: it does
        not listen, has no id and knows no tracker (its host name is
        ``node.connector.from_host``); with ``metrics``, metered as
        L{addNode} meters it.  For a simulator that builds the state a
        market converges to by itself (see L{twisted_bazaar.sim.warm}).
        ``scheme_settings``, if given, are the scheme's settings as
        L{configured} makes them from ``scheme``, made once and shared by
        many nodes (settings are frozen): a simulator's million nodes
        would hold a copy each.  ``transports``: those its dialer has
        beyond TCP and the relay's circuits (a test's QUIC).
        """
        self._count += 1
        host = host or f"node{self._count}"
        config = config or NodeConfig(link=self.link_settings)
        if metrics:
            # The metrics count into the node's link settings: its own.
            config = attr.evolve(config, link=copy.copy(config.link))
        rng = rng or self.nodeRandom()
        plugin = self._schemes[discovery]
        options = dict(scheme or {})
        parts = buildNode(NodeClock(self.clock), rng, MemoryConnector(self.network, host),
                          config, store, identity or Identity.fromRandom(rng),
                          (plugin, configured(plugin, options) if scheme_settings is None
                           else scheme_settings),
                          [(self._roles[name], settings)
                           for name, settings in roles.items()],
                          meter=self._meter if metrics else None,
                          relay=None if self.node_relay is None else (self.node_relay, 0),
                          more=transports)
        node = parts.node
        self.schemes[node] = options
        self.roles[node] = parts.roles
        self.parts[node] = parts
        return node

    def _meter(self, node):
        """Meter a node as ``--metrics`` meters a daemon's (before its
        parts, whose store it meters)."""
        self.metrics[node] = NodeMetrics(node)

    def _stopRequested(self, node):
        """A node asked to be stopped (L{Node.requestStop}): stop it as its
        daemon would, once the current event is over; it leaves
        L{nodes}."""
        self.clock.callLater(0, self._stopAsked, node)

    def _stopAsked(self, node):
        service = self.services.pop(node, None)
        if service is not None:
            self.stopped[node] = service.stopService()

    def relayOf(self, node):
        """node's own relay (its relay offering's, with ``node_relay``),
        or None."""
        offering = self.parts[node].offering
        return None if offering is None else offering.relay

    def role(self, node, name):
        return self.roles[node][name]

    def stop(self, node):
        """Shut a node down politely (dc on every link)."""
        d = self.services.pop(node).stopService()
        self.network.run(5)
        return d

    def crash(self, node):
        """Kill a node abruptly: its connections drop without a dc, its port
        closes, and nothing it scheduled runs any more (unflushed work is
        lost).  Its store is left as the crash left it; the files it had
        open close, and so the locks they held go (a download's part file:
        L{twisted_bazaar.files.downloads.PartFile}), as a process's death
        closes them."""
        self.services.pop(node)
        node.clock.stopped = True
        self.network.crash(node.connector.from_host)
        fetcher = getattr(self.roles[node].get("buyer"), "fetcher", None)
        for download in getattr(fetcher, "downloads", {}).values():
            download.part.close()

    def restart(self, node, store, **roles):
        """
        Start a crashed node again, as rerunning its command would: a new
        process (on a new host) with the given store, which should be the
        old data dir opened afresh, its discovery scheme with the same
        options, and the given roles.  It keeps its key pair, as a daemon
        keeps it in its data dir.
        """
        return self.addNode(node.config, node.discovery.name, store,
                            self.schemes[node], identity=node.identity, **roles)

    def leftovers(self, node):
        """
        What a stopped node left behind: its timers still pending and its
        connections still open.  Both are empty for a node that stopped
        cleanly.
        """
        host = node.connector.from_host
        open_ends = [end for pair in self.network.connections for end in pair
                     if end.host.host == host and end.connected]
        return {"delayed_calls": node.clock.getDelayedCalls(),
                "connections": open_ends}

    def run(self, seconds):
        self.network.run(seconds)

    @property
    def nodes(self):
        return list(self.services)
