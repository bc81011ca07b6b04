"""
The common node every role and scheme plugs into.

A L{Node} holds what every part shares: its identity (id, address; its
registration with a tracker is L{Registration}'s), its clock and random
source, its store, the link table (L{Overlay}), the path
router every node has, the message handlers its components register, and
the L{EventBus} that tells them what happens.  It decides nothing about
discovery or trade itself: a scheme (see L{twisted_bazaar.schemes}) and
roles (see L{twisted_bazaar.roles}) add that.  It builds none of them
either: whoever runs a node (L{twisted_bazaar.daemon.build}) builds its
parts and plugs them in through L{INode}, the narrow face the parts use.
Time comes from the clock it is given, never the global reactor.
"""

from functools import cached_property

import attr

from twisted.logger import Logger
from zope.interface import Attribute, Interface, implementer

from twisted_bazaar.base.lan import toldHost
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar import wire
from twisted_bazaar.reach.dialer import Dialer, Peer
from twisted_bazaar.transports.relay.messages import NODE
from twisted_bazaar.reach.whereabouts import Whereabouts
from twisted_bazaar.reach.ownpaths import ownPaths
from twisted_bazaar.reach.sources import IOwnPaths
from twisted_bazaar.transports.path import MAPPED, RELAYED, firstOf
from twisted_bazaar.events import EventBus
from twisted_bazaar.net.connections import DEFAULT_CONNECTION_RATE
from twisted_bazaar.net.link import Link, LinkSettings
from twisted_bazaar.net.overlay import (
    DEFAULT_DIRECT_IDLE,
    DEFAULT_DIRECT_SLOTS,
    DEFAULT_HANDSHAKE_LIMIT,
    DEFAULT_MAX_CONNECTIONS,
    DIRECT,
    OVERLAY,
    Overlay,
    OverlayFactory,
)
from twisted_bazaar.net.opening import NoRoute, NotConnected, Unreachable
from twisted_bazaar.routing.path import DEFAULT_PATH_LIMIT, PathRouter
from twisted_bazaar.reach.reachable.advertising import AdvertisePace
from twisted_bazaar.core.registration import Registration, storedId
from twisted_bazaar.store import MemoryStore

__all__ = ["INode", "Node", "NodeConfig", "NoRoute", "NotConnected", "Unreachable",
           "OverlayFactory", "DIRECT", "OVERLAY", "Peer"]

#: Default number of peers a node tries to stay linked to.
DEFAULT_NEIGHBOURS = 3


@attr.s(auto_attribs=True, slots=True)
class NodeConfig:
    """What a node is told at start-up (the core flags of ``bazaar-node``).
    Slots: a simulation gives each node one (see
    L{twisted_bazaar.sim.build.Builder.nodeConfig})."""

    host: str = ""
    neighbours: int = DEFAULT_NEIGHBOURS
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    direct_slots: int = DEFAULT_DIRECT_SLOTS
    direct_idle: float = DEFAULT_DIRECT_IDLE
    path_limit: int = DEFAULT_PATH_LIMIT
    handshake_limit: int = DEFAULT_HANDSHAKE_LIMIT
    connection_rate: float = DEFAULT_CONNECTION_RATE
    link: LinkSettings = attr.Factory(LinkSettings)


class INode(Interface):
    """
    What a scheme, a topology, the tracker session, a role, the overlay,
    the reach services and whoever runs the node ask of it: every name
    they use, so that C{verifyObject(INode, node)} says a node (or a
    stand-in for one) has them.  The ``set`` and ``add`` methods are the
    builder's (L{twisted_bazaar.daemon.build}).
    """

    id = Attribute("This node's id, None until the tracker names it.")

    def linkTo(peer_id):
        """The established link to peer_id, or None."""

    def linkEnds():
        """Every established link, in the order they were identified."""

    def peersOf(purpose):
        """The peers of the established links of purpose, in that order."""

    def outboundPeersOf(purpose):
        """The peers of the established links of purpose this node opened,
        in that order."""

    def linksOf(purpose):
        """The established links of purpose, in that order: for a part
        that sends over each."""

    def crowd(purpose):
        """The address group crowding the established links of purpose
        (L{twisted_bazaar.net.admission.crowded}), or None."""

    discovery = Attribute("The scheme's IDiscovery, once plugged in.")
    topology = Attribute("The scheme's ITopology, if it keeps neighbours.")
    membership = Attribute("The tracker session, when the node has one.")
    roles = Attribute("The roles plugged in, in order (read only).")

    # What every part reads: the node's clock, randomness, key, settings,
    # durable state and events.
    clock = Attribute("The node's clock (IReactorTime): every timer's.")
    rng = Attribute("The node's random.Random (a simulation's is seeded).")
    identity = Attribute("The node's key pair (Identity), or None for a node "
                         "that proves nothing.")
    config = Attribute("The node's NodeConfig.")
    store = Attribute("Where the node's durable state lives (IStore).")
    events = Attribute("The EventBus its parts observe (L{addObserver}).")

    # Where it is and how it is reached.
    host = Attribute("The host peers reach this node at (its own word).")
    port = Attribute("The port it listens on, 0 before it does.")
    udpPort = Attribute("The UDP port it serves QUIC on, which it tells the "
                        "tracker (thisisme's udp), or None.")
    ready = Attribute("True once it was registered (as L{registered} says) in "
                      "this run: its parts talk to peers from then on.")
    registered = Attribute("True while a tracker holds it registered, as the "
                           "tracker has shown, its id on disk (read only).")
    wasRegistered = Attribute("True once it was registered at some time in this run "
                              "(and so said it was ready; read only).")
    reach = Attribute("Whether other nodes can dial it (Reachability), as the "
                      "tracker last found it.")
    relay = Attribute("The relay (HOST:PORT) it is reached through, or None "
                      "(read only: its reservation announces it through its "
                      "dialer's sources of paths, L{setRelay} when it is gone, "
                      "else in a round of its advertising pace).")
    advertising = Attribute("The pace of its rounds of advertising its address "
                            "anew (reach.reachable.advertising.AdvertisePace).")
    stopping = Attribute("True once the node is stopping (read only).")

    # The parts that work below the roles and the schemes, which some of
    # them reach into (the link table's peer log, the path table).
    overlay = Attribute("The link table (Overlay).")
    paths = Attribute("The PathRouter.")
    connector = Attribute("The connector the node was given (IConnector): "
                          "TCP under the channel, or the memory network.")
    dialer = Attribute("The one way it reaches a peer (reach.dialer.Dialer): its "
                       "ways, its transports, the punch wait; made when first "
                       "asked.")
    whereabouts = Attribute("What it knows of where its peers are "
                            "(reach.whereabouts.Whereabouts): the book of paths, "
                            "its local addresses, the host checks.")
    connections = Attribute("The connection policy every table of its "
                            "connections asks (read only).")
    transferFactory = Attribute("The factory of its file transfer port, once "
                                "it listens, else None.")
    stopper = Attribute("Called with why when a part asks the node to stop "
                        "(L{requestStop}), set by whoever runs it; or None.")

    def addObserver(observer):
        """Tell observer (an INodeEvents) of this node's events."""

    def slotsFor(purpose):
        """The number of established links of ``purpose`` held at most."""

    def whereIs(peer_id):
        """Ask the tracker where peer_id is now: a Deferred of (host, port),
        or None when it names no address (the book of paths asks it)."""

    def advertisedPaths():
        """The paths its transports name of themselves (its thisisme's
        ``paths``), asked without making its dialer."""

    def noteRelay(peer_id, relay, named=False, group=""):
        """Remember that peer_id is reached through relay (None: directly),
        as it says on a connection from address group ``group``, or as the
        tracker named it (``named``)."""

    def notePaths(peer_id, paths, group=""):
        """Remember the ways peer_id names of itself (its ``thisisme``'s
        paths, None: none) on a connection from address group ``group``."""

    def reached(peer_id):
        """A link to peer_id came up (the overlay's word): it is reachable."""

    def unreachable(peer_id):
        """Whether nothing listened where this node last dialled peer_id,
        lately, and no link to it came up since."""

    def fromProvenAuthor(link, message, author):
        """Whether the routed message delivered on link came from author
        itself, on a link where it proved its key."""

    def linksByPurpose():
        """purpose -> established links of it (a view's figures)."""

    def buildLink(inbound):
        """A new L{Link} of the overlay (the overlay's own call)."""

    def introduction(purpose=None, nonce=None, sig=None):
        """This node's thisisme (the overlay's greeting sends it)."""

    def setAddress(host, port):
        """Where peers can reach this node."""

    def setId(node_id, accepted=True):
        """The tracker named this node (``accepted``: and holds it
        registered, as far as it has shown)."""

    def trackerAccepted():
        """The tracker showed it holds this node registered."""

    def trackerLeft():
        """The tracker session ended: no tracker holds this node now."""

    def setUdpPort(port):
        """The UDP port this node serves QUIC on from now on (None: none),
        told to its tracker in its next thisisme (its QUIC service's
        word)."""

    def setRelay(relay):
        """The relay (HOST:PORT) this node is reached through from now on,
        None: none (its reservation service's word); the parts are told
        (C{relayChanged})."""

    def setReach(reach):
        """Whether other nodes can dial it (a L{Reachability}) from now
        on, as its tracker's check found it (its tracker session's word)."""

    def advertiseFrom(local):
        """Without a host of its own, the host it advertises from now on
        is where its tracker connection leaves from, ``local``, as
        L{toldHost} says with its reach; whether that changed it."""

    def advertiseRelay(relay):
        """The relay (HOST:PORT) this node is reached through from now on,
        applied in a round of its advertising pace (C{advertising}), which
        tells the parts once for every kind changed in it
        (C{relayChanged}): its reservation's word."""

    def requestStop(why):
        """A part has nothing left to do: ask whoever runs the node to
        stop it."""

    def shutdown():
        """Tell the parts the node is stopping, then close every link."""

    def whenClosed():
        """A Deferred that fires once no link is open."""

    def takeFrom(part, table=None):
        """Have part take the messages of its class's C{takes} table (or
        ``table``): message class -> function(part, link, message)."""

    def addPurpose(purpose, slots, idle=None, recycle=False):
        """Hold up to ``slots`` links of ``purpose``, closed when idle
        (and, if recycled, the quietest of this node's own making way for
        a new one)."""

    def setSlots(purpose, slots, news=False):
        """Change the number of links of ``purpose`` held; with ``news``,
        their coming and going is logged at info, not debug."""

    def isProven(link):
        """Whether link's peer proved its key in the handshake."""

    def useless(peer_id):
        """The peer proved of no use: a link this node opened to it gives
        way first when the node needs the slot for another peer."""

    def spares(peer_id, purpose):
        """Whether this node's own link of purpose to peer_id is of no use
        now: a direct link no role has work out over."""

    def roomFor(purpose):
        """Whether a link of purpose may be opened now as far as its slots
        go, a link this node opened of it, to a peer it has no use for now
        (L{spares}), retired to make room if they are full."""

    def provenKey(link):
        """The key link's peer proved, or None."""

    def addressOf(peer_id):
        """The (host, port) a linked peer listens on."""

    def keepRecent():
        """The ring of the node's last messages in and out, kept from now."""

    def heard(peer_id, host, port, namedBy=None, purpose=NODE, relay=None):
        """peer_id's links (its transfer port: ``purpose`` FILES) are at
        host:port, through ``relay`` if given, as a peer's word names
        them (``namedBy``: its address group, see L{Peer.namedBy}): into
        the book of paths, where L{connectTo} (L{transferTo}) reads
        them."""

    def connectTo(peer_id, purpose=OVERLAY):
        """Open (or reuse) a link to peer_id, by whichever way the book of
        paths holds for it; a Deferred of the peer's id."""

    def transferTo(peer_id, key, protocol):
        """A connection of protocol's (``protocol()``) to peer_id's
        transfer port, the peer proving key, where the book of paths last
        heard it; a Deferred of the protocol connected."""

    def connectAt(host, port, purpose):
        """Open a link to whoever answers at host:port, an address this
        node's operator configured, whose id is not known (a
        ``--superpeer-neighbour``); a Deferred of the peer's id."""

    def dial(peer, purpose, protocol=None):
        """Reach a L{Peer} for purpose: a link (protocol None) or a
        connection of a protocol the caller makes (``protocol()``), by
        whichever way the node's dialer finds; a Deferred of the peer's
        id, or of the protocol connected."""

    def linkReady(peer_id):
        """Whether a link to peer_id is up and no better one is on its
        way (a punch that may replace a relayed link): what is sent to
        the peer can go on it at once."""

    def route(message, traded=True, payload=None):
        """Send a path-routed message on (``traded``: whether a ``buyOK``
        answers a trade that makes its first hop a trading partner;
        ``payload``: its wire payload, when built already)."""

    def setDiscovery(discovery):
        """Plug in the node's scheme."""

    def setTopology(topology):
        """Plug in the scheme's choice of neighbours."""

    def setMembership(membership):
        """Plug in the tracker session."""

    def addRole(role):
        """Plug in one more role."""


@implementer(INode, IOwnPaths)
class Node(Registration):
    """
    One peer of the overlay.

    @ivar id: this node's id, None until the tracker assigns one.
    @ivar overlay: the link table (L{Overlay}).
    @ivar paths: the L{PathRouter}.
    @ivar events: the L{EventBus}; components add themselves with
        L{addObserver}.
    @ivar discovery: the scheme's L{IDiscovery}, once one is attached.
    @ivar membership: the tracker session, when the node has one.
    @ivar topology: the scheme's choice of neighbours, if it needs any.
    @ivar store: where the node's durable state lives.
    """

    log = Logger()
    #: The factory of the node's file transfer port, once it listens (a
    #: relayed circuit for ``files`` is taken by its protocol), else None.
    transferFactory = None
    #: The relay (``HOST:PORT``) this node is reached through, which it
    #: advertises with its address; None while it holds no reservation (it
    #: is dialled directly).  Its reservation announces it through its
    #: dialer's sources of paths (L{advertisePath}, L{withdrawPath}).
    relay = None
    #: The UDP port this node serves QUIC on while it does (its QUIC
    #: service says it), told to the tracker in its ``thisisme``; None
    #: without one.
    udpPort = None
    #: Told ``stopper(why)`` when a component asks for the node to stop
    #: (see L{requestStop}); set by whoever runs the node (a daemon's
    #: service), None on the class: a simulated node holds no entry for it.
    stopper = None
    #: The transports given to the node, for its L{dialer}; None: TCP and
    #: the relay's circuits over its connector.
    _transports = None
    #: Whether the node was made without a key pair (its L{dialer} proves
    #: none): set on the few that are.
    _keyless = False

    def __init__(self, clock, rng, connector, config=None, store=None, identity=None,
                 transports=None):
        self.clock = clock
        self.rng = rng
        #: The node's key pair (L{Identity}), or None for a node that
        #: proves nothing (as old peers did; some unit tests use one).
        self.identity = identity
        self.config = config or NodeConfig()
        self.store = store if store is not None else MemoryStore()
        #: The id the node had last time, if its store remembers one; it
        #: asks the tracker for it again.  One that is not its key's (a key
        #: replaced, or an id of a version before ids were their keys') is
        #: not asked for: the tracker refuses it at every attempt, and
        #: names the node by its key's id.
        self.id = storedId(self.store, identity)
        #: True once the node was registered (L{registered}) in this run,
        #: and said so: its roles start then, not when a tracker named it
        #: (a tracker may yet refuse its proof).
        self.ready = False
        # Its registration's own state, here in the order of the node's
        # attributes (each node's the same: one table of their names for
        # every node, docs/simulator.md, "Memory a node").
        Registration.__init__(self)
        self.port = 0
        self.host = self.config.host
        self.events = EventBus()
        self.paths = PathRouter(self, self.config.path_limit)
        self.overlay = Overlay(
            self, {OVERLAY: self.config.max_connections,
                   DIRECT: self.config.direct_slots},
            self.config.handshake_limit, {DIRECT: self.config.direct_idle},
            self.config.connection_rate)
        #: What it knows of where its peers are (L{Whereabouts}: the book
        #: of paths, its local addresses, the host checks), each part
        #: made when first needed: a simulated node that never dials holds
        #: none of them, its links' greetings telling it of no relay
        #: (L{noteRelay}) and its tracker link leaving from nowhere (a
        #: simulation's, made up whole).  It holds the node's tracker
        #: session and reach (L{membership}, L{reach}).
        self.whereabouts = Whereabouts(clock, self.overlay.peer_log,
                                       self.config.link.handshake_timeout)
        # Its way to its peers: the connector it was given until a part
        # first asks for its dialer (L{dialer}), then the dialer, which
        # holds the connector.  One attribute for both, each node's from
        # the start: a node that dials holds what it held when its dialer
        # was made with it (a second attribute was 16 bytes more of each
        # of a chord run's nodes, which all dial), and a C{cached_property}
        # would give each node that dials a table of its attributes'
        # names of its own.
        self._reach = connector
        # The transports given, for the dialer: None (TCP and the relay's
        # circuits over the connector) on the class.
        if transports is not None:
            self._transports = transports
        if identity is None:
            # Its dialer races no link's ways (L{Dialer}'s ``keyed``),
            # whatever key the node is given later, as when it was made
            # with the node.
            self._keyless = True
        self.discovery = None
        self.topology = None
        #: The roles plugged in (see L{addRole}), in order: a list from
        #: the first (most simulated nodes have none).
        self.roles = ()

    # -- what components use ------------------------------------------------

    @property
    def membership(self):
        """The tracker session, when the node has one (L{setMembership}):
        held by its whereabouts, which asks it where peers are."""
        return self.whereabouts.session

    @membership.setter
    def membership(self, membership):
        self.whereabouts.setSession(membership)

    @property
    def reach(self):
        """Whether other nodes can dial this one, as the tracker last found
        it (L{Reachability}, L{setReach}): held by its whereabouts, which
        read it (the host the tracker sees it at, whether it is public)."""
        return self.whereabouts.reach

    @reach.setter
    def reach(self, reach):
        self.whereabouts.setReach(reach)

    @property
    def links(self):
        """peer id -> established link: the overlay's table itself, to
        read (a role written against it; tests arrange links in it); the
        node's own parts ask L{linkTo} and L{linkEnds}."""
        return self.overlay.established()

    def linkTo(self, peer_id):
        """The established link to peer_id, or None."""
        return self.overlay.linkTo(peer_id)

    def linkEnds(self):
        """Every established link, in the order they were identified."""
        return self.overlay.linkEnds()

    def peersOf(self, purpose):
        """The peers of the established links of purpose, in that order."""
        return self.overlay.peersOf(purpose)

    def outboundPeersOf(self, purpose):
        """The peers of the established links of purpose this node opened,
        in that order: the table answers without handing its links out."""
        return self.overlay.outboundPeersOf(purpose)

    def linksOf(self, purpose):
        """The established links of purpose, in that order: for a part
        that sends over each."""
        return self.overlay.linksOf(purpose)

    def crowd(self, purpose):
        """The address group crowding the established links of purpose
        (L{twisted_bazaar.net.admission.crowded}), or None: the table
        answers without handing its links out."""
        return self.overlay.crowd(purpose)

    @property
    def stopping(self):
        return self.overlay.isStopping()

    def useless(self, peer_id):
        """peer_id proved of no use to a part of this node (a seller whose
        buy is in doubt): see L{Overlay.useless}."""
        self.overlay.useless(peer_id)

    def spares(self, peer_id, purpose):
        """See L{INode.spares}: only the roles use the direct links this
        node opens; every other link is the node's own, always of use."""
        return purpose == DIRECT and not any(role.usesLinkTo(peer_id) for role in self.roles)

    def roomFor(self, purpose):
        """See L{Admission.roomFor <twisted_bazaar.net.admission.Admission.roomFor>}."""
        return self.overlay.roomFor(purpose)

    @property
    def connections(self):
        """The node's connection policy, which every table of its
        connections asks (see L{twisted_bazaar.net.connections})."""
        return self.overlay.connections

    def addObserver(self, observer):
        """Tell observer (an L{INodeEvents}) of this node's events."""
        self.events.addObserver(observer)

    def takeFrom(self, part, table=None):
        """
        Have part take the messages of its class's table (``table``, by
        default its C{takes}: message class -> function(part, link,
        message)) that arrive on an established link: the one way a part
        says what it takes (L{twisted_bazaar.net.handlers}).  A path-routed
        type needs none: see L{handle}.

        @raise ValueError: if one of the types has a handler already.
        """
        self.overlay.handlers.addPart(part, table)

    def addPurpose(self, purpose, slots, idle=None, recycle=False):
        """
        Let this node hold ``slots`` established links of ``purpose`` (a
        view's own kind of link), closed after ``idle`` seconds without
        trade if given.  A purpose keeps the budget it was given first; to
        change it, see L{setSlots}.

        @param recycle: the links are a cache, each good for one question
            at a time (a chord node's finger links): when this node opens
            one with every slot taken, the one of its own that carried
            nothing for longest is closed to make room, rather than the new
            one refused.  Not for links a trade may be waiting on.
        """
        self.overlay.addPurpose(purpose, slots, idle, recycle)

    def setSlots(self, purpose, slots, news=False):
        """The number of established links of ``purpose`` this node holds
        from now on (a super-peer's leaves, a chord node's ring links);
        with ``news``, their coming and going is logged at info (a
        super-peer's links to the others), else at debug."""
        self.overlay.setSlots(purpose, slots, news)

    def slotsFor(self, purpose):
        """The number of established links of ``purpose`` this node
        holds at most (0 for a purpose it takes none of)."""
        return self.overlay.admission.slotsFor(purpose)

    def keepRecent(self):
        """
        Have every link made from now on note the messages it sends and
        receives in one L{RecentMessages} ring (for a node's status), and
        return it: the same one on every call.
        """
        return self.overlay.keepRecent()

    def isProven(self, link):
        """Whether the peer on link proved its key in the handshake."""
        return self.overlay.provenKey(link) is not None

    def provenKey(self, link):
        """The key the peer on link proved in the handshake, or None."""
        return self.overlay.provenKey(link)

    def addressOf(self, peer_id):
        """The (host, port) a linked peer listens on, ("", 0) if unknown."""
        return self.overlay.addressOf(peer_id)

    def noteRelay(self, peer_id, relay, named=False, group=""):
        """peer_id is reached through relay (None: directly, which forgets
        any relay noted for it), as it says itself on a connection from
        address group ``group`` (which its claim is charged to), or as the
        tracker named it (``named``): L{connectTo} dials it there (the
        book of paths holds it: L{Whereabouts.notePeer})."""
        self.whereabouts.notePeer(peer_id, relay, named, group)

    def notePaths(self, peer_id, paths, group=""):
        """peer_id names its ways (its ``thisisme``'s paths, None: none)
        on a connection from address group ``group``: the relay among them
        is its claim (L{noteRelay}); the rest it names only to the
        tracker."""
        relayed = firstOf(paths, RELAYED)
        self.noteRelay(peer_id, None if relayed is None else relayed.relay, group=group)

    def reached(self, peer_id):
        """A link to peer_id came up (the link table's word): what the book
        noted of it as unreachable goes (L{Whereabouts.reached}); a node
        that noted nothing makes no book for it."""
        self.whereabouts.reached(peer_id)

    def unreachable(self, peer_id):
        """Whether nothing listened where this node last dialled peer_id,
        lately, and no link to it came up since (L{Whereabouts.unreachable}):
        a scheme need not believe a record of a seller it could not reach
        (a made-up address).  Asking makes no book."""
        return self.whereabouts.unreachable(peer_id)

    def whereIs(self, peer_id):
        """See L{twisted_bazaar.reach.book.PathBook.whereIs}."""
        return self.whereabouts.book.whereIs(peer_id)

    @property
    def dialer(self):
        """
        Reaches peers: directly, punched, or through the relay they
        advertise (L{Dialer}), by the transports given (those built where
        the node is: L{twisted_bazaar.daemon.build.buildNode}), or, if
        none, TCP and the relay's circuits over the connector, made when
        first dialled through (L{Dialer.transports}); built with what it
        reads, not the node, and the node as the one listener its sources
        of paths tell of this node's own paths (L{IOwnPaths}: it
        advertises them).  Made when first asked: a quiet node of a warm
        simulation never dials (132 to 137 bytes of each).
        """
        reach = self._reach
        if type(reach) is Dialer:
            return reach
        dialer = self._reach = Dialer(self.clock, reach, self._transports, self.overlay,
                                      self.whereabouts, not self._keyless, self)
        return dialer

    @property
    def connector(self):
        """The connector the node was given (an L{IConnector}: dials a
        host and port, listens for the node's other ports), which its
        L{dialer} dials through."""
        reach = self._reach
        return reach.connector if type(reach) is Dialer else reach

    def advertisedPaths(self):
        """The paths this node's transports name of themselves (its
        dialer's L{advertised <Dialer.advertised>}), asked without making
        its dialer: () while none was given or made."""
        reach = self._reach
        if type(reach) is Dialer:
            return reach.advertised()
        return () if self._transports is None else self._transports.advertised()

    def heard(self, peer_id, host, port, namedBy=None, purpose=NODE, relay=None):
        """See L{Whereabouts.heard}."""
        self.whereabouts.heard(peer_id, host, port, namedBy, purpose, relay)

    def connectTo(self, peer_id, purpose=OVERLAY):
        """A link to peer_id (L{Dialer.link}): at the address the book of
        paths holds for its links (L{heard}, the tracker's ``nodereply``),
        through the relay noted for it (L{noteRelay}), if any."""
        return self.dialer.link(peer_id, purpose)

    def transferTo(self, peer_id, key, protocol):
        """See L{Dialer.transfer}."""
        return self.dialer.transfer(peer_id, key, protocol)

    def connectAt(self, host, port, purpose):
        """See L{Dialer.linkAt}."""
        return self.dialer.linkAt(host, port, purpose)

    def dial(self, peer, purpose, protocol=None):
        """See L{Dialer.dial}."""
        return self.dialer.dial(peer, purpose, protocol)

    def linkReady(self, peer_id):
        """See L{Dialer.ready}."""
        return self.dialer.ready(peer_id)

    def route(self, message, traded=True, payload=None):
        """See L{PathRouter.route}."""
        return self.paths.route(message, traded, payload)

    def fromProvenAuthor(self, link, message, author):
        """
        Whether the routed message delivered on link came from author
        itself (its path is [author, this node]) on a link where author
        proved its key: no relay could have forged or altered it.
        """
        return (link is not None and self.isProven(link)
                and message.path == (author, self.id))

    def pathTo(self, peer_id):
        """The shortest known path to a peer, or None."""
        return self.paths.pathTo(peer_id)

    def linkCount(self):
        return self.overlay.linkCount()

    def linksByPurpose(self):
        """purpose -> established links of it, every purpose this node
        takes links for included (a view's figures: metrics, status)."""
        return self.overlay.linksByPurpose()

    # -- what the builder plugs in (see twisted_bazaar.daemon.build) -------------

    def setDiscovery(self, discovery):
        """The node's discovery scheme (an L{IDiscovery})."""
        self.discovery = discovery

    def setTopology(self, topology):
        """The scheme's choice of neighbours (an L{ITopology})."""
        self.topology = topology

    def setMembership(self, membership):
        """The node's tracker session (which its book of paths asks where
        a peer is)."""
        self.membership = membership

    def addRole(self, role):
        """One more role; a role already plugged in is not added twice."""
        if role not in self.roles:
            self.roles = [*self.roles, role]

    # -- identity -------------------------------------------------------------

    def setAddress(self, host, port):
        """Where peers can reach this node; the port is the listening one."""
        if host:
            self.host = host
        self.port = port

    def setUdpPort(self, port):
        """See L{INode.setUdpPort}."""
        self.udpPort = port

    def setRelay(self, relay):
        """The relay this node is reached through from now on (None:
        none), as its reservation service holds it
        (L{twisted_bazaar.reach.reachable.reserving}); the parts that advertise the
        node's address are told (C{relayChanged})."""
        self.relay = relay
        self.events.relayChanged()

    def setReach(self, reach):
        """See L{INode.setReach}: the node's own state, which its tracker
        session's L{Reaching
        <twisted_bazaar.reach.reachable.reaching.Reaching>} finds and the
        parts read (C{reachChanged} tells them, once the node holds it)."""
        self.reach = reach

    def advertiseFrom(self, local):
        """See L{INode.advertiseFrom}: where the tracker connection leaves
        from, unless that is a local address (a home's), then where the
        tracker saw it (L{toldHost}; "" until it said).  The caller says
        when a new host is advertised (its pace,
        L{twisted_bazaar.reach.reachable.reaching})."""
        told = toldHost(local, self.reach.seen_host)
        changed, self.host = told != self.host, told
        return changed

    def advertiseRelay(self, relay):
        """The relay this node is reached through from now on, applied in
        a round of its advertising pace (L{advertising}, the reservation
        service's change of kind "relay"): the round tells the parts
        (C{relayChanged}) once, for this and any other kind it applies."""
        self.relay = relay

    def advertisePath(self, path):
        """See L{IOwnPaths.advertisePath}: a way to this node itself that
        one of its sources found, told by its dialer's sources (the node
        is the listener its dialer was built with).  The relay that holds its
        reservation is advertised from now on (L{advertiseRelay}: the
        source's round of the node's pace tells its parts); a port its
        router maps has the tracker asked to check it there (``checkme``:
        the node is named at a mapped port only as the tracker sees it).
        Whether it was news: a relay already advertised is not."""
        if path.kind == RELAYED:
            if self.relay == path.relay:
                return False
            self.advertiseRelay(path.relay)
            return True
        if path.kind == MAPPED and self.membership is not None:
            self.membership.send(wire.CheckMe())
            return True
        return False

    def withdrawPath(self, path):
        """See L{IOwnPaths.withdrawPath}: the relay that held this node's
        reservation holds it no more: none is advertised (its parts told
        at once, L{setRelay})."""
        if path.kind == RELAYED and self.relay is not None:
            self.setRelay(None)

    @cached_property
    def advertising(self):
        """When the node advertises its address anew for a new host or
        relay (one round: its parts told, C{relayChanged}): made at the
        first such change, since most nodes never have one (a simulated
        million would each hold one, 577 bytes, for nothing)."""
        return AdvertisePace(self.clock, self.events.relayChanged)

    def buildLink(self, inbound):
        return Link(self.overlay, self.clock, self.config.link, inbound)

    def introduction(self, purpose=None, nonce=None, sig=None):
        """
        This node's thisisme, with its key: an opener names the link's
        purpose (left out for overlay links, as old peers expect); nonce
        is this node's for the handshake, sig its proof to the other side
        (both made by the link's L{LinkHandshake}, in the overlay).
        """
        purpose = None if purpose in (None, OVERLAY) else purpose
        identity = self.identity
        if identity is None:
            return wire.ThisIsMe(self.id, self.port, self.host, purpose=purpose,
                                 paths=ownPaths(self.relay))
        return wire.ThisIsMe(self.id, self.port, self.host, purpose=purpose,
                             key=identity.key, nonce=nonce, sig=sig,
                             paths=ownPaths(self.relay))

    # -- shutdown -------------------------------------------------------------

    def requestStop(self, why):
        """
        A component has nothing left to do (a buyer told to exit once its
        wants are met): ask whoever runs the node to stop it, in order.  A
        node run by nobody who listens (no L{stopper}) goes on.
        """
        if self.stopper is None or self.stopping:
            return
        self.log.info("node {id} stopping: {why}", id=shortId(self.id), why=why)
        self.stopper(why)

    def shutdown(self):
        """Tell components the node is stopping, then say dc on every link."""
        if self.overlay.refuseLinks():
            self.events.nodeStopping()
        self.overlay.shutdown()

    def whenClosed(self):
        """A Deferred that fires once no link is open."""
        return self.overlay.whenClosed()
