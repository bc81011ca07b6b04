"""
Where a node is put together: the one place that builds a node, its
discovery scheme (and the neighbours the scheme keeps), its roles and its
services across NAT (hole punching, the reservation service, the relay
offering service, each started by the tracker's word on its reach,
C{reachChanged}), and plugs them into each other through the node's
narrow face (L{twisted_bazaar.core.node.INode}: C{setDiscovery},
C{setTopology}, C{addRole}, C{addObserver}; the tracker session is plugged
in by L{NodeService}, which owns it and runs the services as its
children).

No part attaches itself in its constructor and none reaches into another's
internals: the daemon (C{twistd bazaar-node}), C{bazaar-buy}, the
simulator and L{twisted_bazaar.testing.Market} all call L{buildNode}, so
a node is wired the same way wherever it runs.
"""


import attr
from twisted.application.service import IService
from zope.interface import implementedBy, providedBy

from twisted_bazaar.net.overlay import OverlayFactory
from twisted_bazaar.net.transfers import NodeTransfers
from twisted_bazaar.reach.dialer import PUNCH_WAIT
from twisted_bazaar.transports.table import overConnector
from twisted_bazaar.core.node import Node
from twisted_bazaar.reach.reachable.offering import RelayOffering
from twisted_bazaar.reach.reachable.portmapping import PortMappingService
from twisted_bazaar.reach.punch.tcp.service import PUNCHER_TAKES, Punching
from twisted_bazaar.reach.reachable.home import RelayHome
from twisted_bazaar.reach.reachable.reachability import PRIVATE
from twisted_bazaar.reach.reachable.reserving import ReservationService
from twisted_bazaar.transports.relay.messages import NODE
from twisted_bazaar.transports.relay.relay import Relay
from twisted_bazaar.base.options import optionDefaults
from twisted_bazaar.schemes.interfaces import IInProcess, ITopologyProvider
from twisted_bazaar.base.blame import why
from twisted_bazaar.daemon.pluginfault import PluginFault, described
from twisted_bazaar.events import INodeEvents, ObsoleteObserver
from twisted_bazaar.core.market import IDiscovery


@attr.s(auto_attribs=True)
class NodeParts:
    """
    A node as L{buildNode} built it.

    @ivar node: the L{Node}.
    @ivar discovery: its scheme (an L{IDiscovery}), or None.
    @ivar roles: role name -> the role, in the order they were built.
    @ivar punching: its hole punches (L{Punching}), or None.
    @ivar reservations: its L{ReservationService}.
    @ivar offering: its L{RelayOffering}, for a node that relays; or None.
    @ivar portmapping: its L{PortMappingService}, for a node that asks its
        router to map its port; or None.
    """

    node: Node
    discovery: object = None
    roles: dict = attr.Factory(dict)
    punching: object = None
    reservations: object = None
    offering: object = None
    portmapping: object = None

    @property
    def peerPorts(self):
        """The ports, besides its listening port, that peers dial the node
        at: (port, what) of its shared files' transfer port and its
        relay's (port 0: not listening)."""
        shop = getattr(self.roles.get("seller"), "files", None)
        return ((getattr(getattr(shop, "server", None), "port", 0), "transfer port"),
                (0 if self.offering is None else self.offering.relay.port,
                 "relay port"))

    @property
    def services(self):
        """The services its runner starts and stops with it
        (L{NodeService}'s children), in order."""
        return [service for service in (self.punching, self.reservations, self.offering,
                                        self.portmapping)
                if service is not None]


def configured(plugin, values, inProcess=True):
    """
    A plugin's settings for option values (names with - or _), its
    options' defaults for the rest: what its ``build`` takes.  For a node
    in this process alone (a test's, the simulator's), the values of an
    L{IInProcess} plugin come over those defaults (a chord ring of drawn
    keys has no puzzle); a node that joins a market of daemons (``bazaar
    buy``'s) says ``inProcess=False``.

    @raise ValueError: if the plugin refuses them (see
        L{IConfigurablePlugin.configure}).
    """
    config = optionDefaults(plugin.options)
    if inProcess and IInProcess.providedBy(plugin):
        config.update(plugin.inProcess)
    config.update({key.replace("_", "-"): value for key, value in values.items()})
    return plugin.configure(config)


def plugScheme(node, discovery):
    """Plug a scheme into node: its discovery, and the neighbours it keeps
    (its ``topology``) if it is an L{ITopologyProvider}.  Returns the
    scheme."""
    node.setDiscovery(discovery)
    if ITopologyProvider.providedBy(discovery):
        node.setTopology(discovery.topology)
    return discovery


def plugMembership(node, membership):
    """Plug a tracker session into node (L{NodeService} does, for the
    session it owns); returns the session."""
    node.setMembership(membership)
    return membership


def plugRole(node, role):
    """Plug a role into node (it runs as a service of the node's);
    returns the role."""
    node.addRole(role)
    return role


def punchingOf(node, labels=False, enabled=True, udp=True):
    """node's L{Punching}, built with the parts of node it uses (not the
    node: reach/ never holds it) and added to its dialer's sources of
    paths, not yet plugged into node (L{plugPunching} does).

    @param labels: whether the hosts punched are labels (a memory
        network's), not IP addresses.
    @param enabled: False: it punches none, and refuses its peers'
        punches.
    @param udp: False: the node serves no UDP (no QUIC socket): its
        refusals say no UDP punch can work with it either."""
    asks = _NodeAsks(node)
    punching = Punching(node.clock, node.rng, node.overlay, node.whereabouts, node.events,
                        node.dialer.sources, asks.transfers, asks.unnamed, labels,
                        enabled=enabled, udp=udp)
    node.dialer.sources.add(punching)
    return punching


class _NodeAsks:
    """What a node's punching and its reservation's home ask of the node
    (L{punchingOf}, L{relayHome}), through bound methods of one small
    object: a closure for each question, made for each node of a
    simulation behind NAT, cost 200 bytes each (six a node that
    reserves); a bound method 64."""

    __slots__ = ("_node", "_wayOut")

    def __init__(self, node, wayOut=()):
        self._node = node
        self._wayOut = wayOut

    def transfers(self):
        """The factory of the node's transfer port, or None."""
        return self._node.transferFactory

    def unnamed(self):
        """See L{unnamed}."""
        return unnamed(self._node)

    def ownId(self):
        """The node's id now."""
        return self._node.id

    def takes(self, purpose):
        """The factory of the protocol a circuit for purpose runs."""
        node = self._node
        return OverlayFactory(node) if purpose == NODE else node.transferFactory

    def pace(self):
        """The node's pace of advertising (made at its first use)."""
        return self._node.advertising

    def wayOut(self):
        """The ways out its transport plugins name."""
        return self._wayOut


def unnamed(node):
    """Whether the tracker names node nowhere yet, but will: its check
    found it private, and it has a key but no reservation yet (until it
    holds one, a peer asking the tracker where it is would be told
    nothing, and refuse its punch)."""
    return node.reach.state == PRIVATE and node.identity is not None and node.relay is None


def plugPunching(node, dialer, wait=PUNCH_WAIT, enabled=True, udp=True):
    """Have node punch over its relayed links (L{punchingOf}): it takes
    the punch messages and observes node's events, and node's dialer
    dials the paths its punches find from a port by ``dialer`` (a
    L{twisted_bazaar.transports.tcp.fromport.PunchDialer}, or the
    simulator's, whose nodes are built before their punching), a link
    waiting up to ``wait`` seconds for its punch (0: nothing waits; a file
    started on the relay moves to the punched path,
    L{twisted_bazaar.roles.files.moves}); not ``enabled``: it punches
    none, and refuses its peers' punches; not ``udp``: it serves no UDP (no
    QUIC socket), which its refusals say.  Returns the L{Punching}, one
    of its dialer's sources of paths."""
    punching = punchingOf(node, not dialer.addressed, enabled, udp)
    node.takeFrom(punching.puncher, PUNCHER_TAKES)
    node.takeFrom(punching)
    node.addObserver(punching)
    node.dialer.punchesWith(wait=wait, fromPort=dialer)
    return punching


def relayHome(node, wayOut=()):
    """What node's reservation, its accepts of circuits and its probes use
    of it (L{RelayHome}): its relayed path announced through node's
    dialer's sources of paths, which pass it on to the node
    (L{Node.advertisePath}); ``wayOut``, the ways out its transport plugins
    name, said when no circuit opens."""
    asks = _NodeAsks(node, wayOut)
    return RelayHome(node.clock, node.overlay.peer_log, node.dialer,
                     node.whereabouts.tracker, asks.ownId, node.identity, asks.takes,
                     node.events, node.dialer.sources, asks.pace, asks.wayOut)


class NodeReservations(ReservationService):
    """A node's reservations, their home made of the node when first
    needed (L{relayHome}): the node holds nothing more for it, where a
    bound method held 64 bytes a node (every simulated node has one)."""

    # Slots, not a dict, as its base's.
    __slots__ = ("wayOut",)

    def __init__(self, node, wayOut=()):
        ReservationService.__init__(self, node)
        #: The ways out its transport plugins name (L{plugReservations}):
        #: none, one empty tuple for all, on a simulated node.
        self.wayOut = wayOut

    def makeHome(self, node):
        return relayHome(node, self.wayOut)


def plugReservations(node, wayOut=()):
    """Have node reserve at a relay whenever its tracker finds it private,
    naming ``wayOut`` (the ways out its transport plugins name, such as
    a relay reached over another transport) when no circuit opens;
    returns the
    L{ReservationService}."""
    service = NodeReservations(node, tuple(wayOut) if wayOut else ())
    node.addObserver(service)
    return service


def plugRelayOffer(node, limits, connection_rate=0):
    """Give node a relay of its own (L{Relay}, with ``limits``, new
    connections to it limited to ``connection_rate`` a second for each
    address group, 0: none), offered to its tracker whenever the tracker
    finds the node public; returns the L{RelayOffering}, whose child
    serves the relay's port (added by whoever runs the node)."""
    relay = Relay(node.clock, node.overlay.peer_log, limits, connection_rate,
                  here=True, name="node")
    service = RelayOffering(node.whereabouts.tracker, relay)
    node.addObserver(service)
    return service


def plugPortMapping(node, makeMapper, otherPorts=lambda: ()):
    """Have node ask its router to map its ports once its tracker finds it
    private (``makeMapper``, and ``otherPorts``, the ports besides its
    listening port: see L{PortMappingService}), one of its dialer's
    sources of paths, its mapped port announced through them to node
    (L{Node.advertisePath}); returns the L{PortMappingService}."""
    service = PortMappingService(
        makeMapper, lambda: ((node.port, "listening port"), *otherPorts()),
        node.dialer.sources)
    node.dialer.sources.add(service)
    node.addObserver(service)
    return service


def plugAcross(parts, punch=None, relay=None, portmap=None, wayOut=()):
    """
    Plug the services across NAT into a built node (its L{NodeParts}),
    in the order they hear of its reach (C{reachChanged}): hole punching
    (``punch``: see L{plugPunching}; None: none), the reservation
    service, the relay offering service (``relay``: (limits, connection
    rate), see L{plugRelayOffer}; None: the node relays for nobody), the
    port mapping service (``portmap``: its mapper's maker, see
    L{plugPortMapping}; None: the node asks its router for nothing).
    ``wayOut``: the ways out the reservation names (L{plugReservations}).
    L{buildNode} calls it last.  Returns parts.
    """
    node = parts.node
    if punch is not None:
        parts.punching = plugPunching(node, *punch)
    parts.reservations = plugReservations(node, wayOut)
    if relay is not None:
        parts.offering = plugRelayOffer(node, *relay)
    if portmap is not None:
        parts.portmapping = plugPortMapping(node, portmap, lambda: parts.peerPorts)
    return parts


def serveTransport(made, node, relay=None):
    """The service that runs a transport plugin's made transport
    (L{twisted_bazaar.transports.plugin.ITransportPlugin.nodeTransport}'s)
    for node, once built: given node's book of paths and the factories
    of its links and transfers, not the node (transports/ never holds
    it), and ``relay``, the factory of node's relay to serve there too
    (or None: it relays for nobody)."""
    return made.serve(node.whereabouts.book, OverlayFactory(node), NodeTransfers(node),
                      relay)


def buildRole(node, plugin, settings):
    """Build a role of plugin for node (``settings`` as its ``configure``
    returns them) and plug it in.

    @raise PluginFault: naming the plugin, if its build raised or made
        something that is no role (a service and a node observer)."""
    role = built(plugin, "role", node, settings, ROLE,
                 "subclass twisted_bazaar.roles.Role")
    return plugRole(node, role)


def builtScheme(node, plugin, settings):
    """Build a scheme of plugin for node (not plugged in yet).

    @raise PluginFault: naming the plugin, if its build raised or made
        something that is no scheme (a service and an L{IDiscovery})."""
    return built(plugin, "discovery scheme", node, settings, SCHEME,
                 'see "Adding a discovery scheme" in docs/architecture.md')


#: What a role provides, and a scheme (L{built}'s interfaces).
ROLE = (IService, INodeEvents)
SCHEME = (IService, IDiscovery)
#: (class, interfaces) pairs L{built} found providing: checked once a class.
_PROVIDING = set()


def built(plugin, kind, node, settings, interfaces, fix):
    """What plugin's ``build(node, settings)`` made, checked to provide
    each of interfaces.

    @raise PluginFault: naming the plugin, if its build raised (the
        error chained, for a test's traceback) or made something that
        lacks one of interfaces (``fix`` says how to get it)."""
    try:
        made = plugin.build(node, settings)
    except ObsoleteObserver:
        raise       # it names the observer's class, and its fix
    except Exception as e:
        raise PluginFault(f"{described(plugin, kind)} failed to build: {why(e)}") from e
    key = (type(made), interfaces)
    if key in _PROVIDING:
        return made
    lacks = [interface.__name__ for interface in interfaces
             if not interface.providedBy(made)]
    if not lacks and providedBy(made) is implementedBy(type(made)):
        # What its class provides, nothing declared of this object alone
        # (every object of a class that declares an interface has a
        # __provides__): a simulation builds a million of one class,
        # checked once.
        _PROVIDING.add(key)
    if lacks:
        raise PluginFault(f"{described(plugin, kind)} built {type(made).__name__}, "
                          f"which does not provide {' or '.join(lacks)}: {fix}")
    return made


def buildNode(clock, rng, connector, config=None, store=None, identity=None,
              scheme=None, roles=(), meter=None, punch=None, relay=None,
              portmap=None, more=(), wayOut=()):
    """
    Build a node and its parts, wired together.

    @param scheme: (the scheme's plugin, its settings), or None for a node
        without one (some tests).
    @param roles: (plugin, settings) for each role, in order.
    @param punch: (what its TCP transport dials punches from a port by,
        the seconds a link waits for one, whether it punches at all, and
        optionally whether it serves UDP) for a node that punches over its
        relayed links, its punches asked of its dialer (see
        L{plugPunching}), plugged in after its roles; or None.
    @param relay: (its L{RelayLimits}, the connection rate) for a node
        that relays for nodes at home (L{plugRelayOffer}), or None.
    @param portmap: the maker of the mapper of a node that asks its
        router to map its port (L{plugPortMapping}), or None.
    @param more: the transports its dialer has beyond TCP and the
        relay's circuits over connector (QUIC's:
        L{twisted_bazaar.daemon.quic.quicTransport}).
    @param wayOut: the ways out its transport plugins name
        (L{plugReservations}).
    @param meter: if given, called with the node before its parts are
        built (a daemon's metrics, which meter the store the parts use).
    @return: the L{NodeParts}.
    """
    # A node that neither punches nor has more transports is given none:
    # its dialer makes TCP's and the relay's when it first dials (a
    # simulated node that never dials holds none).
    transports = (None if punch is None and not more else
                  overConnector(connector, clock, None if punch is None else punch[0],
                                more))
    node = Node(clock, rng, connector, config, store, identity, transports)
    if meter is not None:
        meter(node)
    parts = NodeParts(node)
    if scheme is not None:
        plugin, settings = scheme
        parts.discovery = plugScheme(node, builtScheme(node, plugin, settings))
    for plugin, settings in roles:
        parts.roles[plugin.name] = buildRole(node, plugin, settings)
    return plugAcross(parts, punch, relay, portmap, wayOut)
