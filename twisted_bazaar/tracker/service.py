"""
The tracker as its links' owner: registration (with a proof of the
node's key), connect-back address checks, introductions, departures, and
the messages of the extensions it hosts (see
L{twisted_bazaar.tracker.extension}); what one address group may make it
hold or do is bounded here.
"""

import math

from twisted.logger import Logger, LogLevel
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.base.lan import peerHost
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.base.logthrottle import MEMBER_LINES, PeerLog
from twisted_bazaar.base.words import plural
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.net.account import Account
from twisted_bazaar.net.connections import CONNECTIONS_LIMIT, RateLimit
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.net.handlers import Handlers
from twisted_bazaar.net.link import ILinkOwner, LinkSettings
from twisted_bazaar.net.recent import STATUS
from twisted_bazaar.tracker.checks import (  # noqa: F401 (the package's names)
    CHECK_GROUP_LIMIT,
    CHECK_LIMIT,
    RECHECK_FIRST,
    RECHECK_MAX,
    AddressChecks,
)
from twisted_bazaar.tracker.closing import LinksClosing
from twisted_bazaar.tracker.grouppace import GroupPace
from twisted_bazaar.tracker.introductions import Introductions
from twisted_bazaar.tracker.keyproofs import KeyProofs
from twisted_bazaar.tracker.registry import Abilities, Registry
from twisted_bazaar.tracker.relays import NAME_TIMEOUT
from twisted_bazaar.tracker.reserving import OWN_RELAY_REFUSED, Reservations
from twisted_bazaar.tracker.udpreach import UdpReach
from twisted_bazaar.transports.table import overConnector
from twisted_bazaar.transports.relay.messages import RelayOffer, RelayReserve, RelayReserved
from twisted_bazaar.wire.ids import shortId, wireId

#: Registrations advertising a port that one address group (see
#: L{twisted_bazaar.base.addressgroup.addressGroup}) may make a second, in bursts
#: of twice that; and the most live nodes it may hold registered.
JOIN_RATE = 20.0
GROUP_LIMIT = 256
#: Questions (messages of QUESTION_BUCKETS: ``lookup``, ``list``,
#: ``members``...) the nodes of one address group may ask a second, all
#: their connections together, in bursts of twice that.  Each link has a
#: rate of its own, but a group may hold GROUP_LIMIT registered links:
#: without this, one address's questions could take the tracker's time.
QUESTION_RATE = 400.0
#: The rate bucket of those questions (L{wire.message}'s ``bucket``); an
#: extension whose questions have a bucket of their own charges them
#: itself (L{Tracker.mayAsk}).
QUESTION_BUCKETS = ("query",)
#: ``nodereq`` and ``whereis`` looked up for the nodes of one address
#: group a second, all their connections together, in bursts of twice
#: that; past it, each is answered as if nobody were known (see
#: L{twisted_bazaar.tracker.introductions}).
LOOKUP_RATE = 400.0
#: Descriptors the daemon keeps for its address checks (CHECK_LIMIT) and
#: its own files: its log, its listening sockets (see L{registeredLimit}).
RESERVED_DESCRIPTORS = 64
#: Address groups whose registration rate is remembered, newest kept.
_RATE_GROUPS = 10_000
#: Default connections the tracker keeps open before they register (no
#: thisisyou yet): in all, and from one address group.  Each holds a
#: descriptor for up to the handshake timeout; past these, a connection is
#: refused at once, or (the pool full, its group holding less than
#: another) the oldest one of the group holding the most gives way.
PENDING_LIMIT = 256
PENDING_GROUP_LIMIT = 64

JOINS_LIMIT = declare(
    "tracker.joins", JOIN_RATE, "registrations/s",
    "registrations advertising a port (each costs a check) from one address group",
    group=JOIN_RATE, owner=__name__)
QUESTIONS_LIMIT = declare(
    "tracker.questions", QUESTION_RATE, "messages/s",
    "questions the nodes of one address group ask, all their links together",
    group=QUESTION_RATE, owner=__name__)
LOOKUPS_LIMIT = declare(
    "tracker.lookups", LOOKUP_RATE, "messages/s",
    "nodereq and whereis looked up for the nodes of one address group",
    group=LOOKUP_RATE, owner=__name__)
PENDING_ACCOUNT = declare(
    "tracker.pending", PENDING_LIMIT, "connections",
    "connections to the tracker that have not registered yet (each holds a "
    "descriptor)", group=PENDING_GROUP_LIMIT, flag="--pending-limit", owner=__name__)
REGISTERED_LIMIT = declare(
    "tracker.registered", None, "nodes",
    "nodes registered at once (the daemon's bound: what its descriptors allow)",
    group=GROUP_LIMIT, flag="--registered-limit", owner=__name__)


def registeredLimit(descriptors, pending_limit, ports, watched=False):
    """
    The most nodes a tracker that may open ``descriptors`` files keeps
    registered: each holds its connection's descriptor (two when the web
    view is ``watched``: it keeps a status link to each node), and the
    connections still to register (``pending_limit``), those its other
    ports hold before they are its own (``ports``: the accounts of the web
    view's, the metrics', the relay's and each transport's openings) and
    the tracker's own files and address checks (L{RESERVED_DESCRIPTORS})
    must still find theirs.  At least one.
    """
    left = descriptors - pending_limit - ports - RESERVED_DESCRIPTORS
    return max(1, left // 2 if watched else left)


def _levelOf(link):
    """A status client (``bazaar status``, the web view) registering for a
    question is no news to a user of the market: its join and leave are
    logged at debug."""
    return LogLevel.debug if link.purpose == STATUS else LogLevel.info


@implementer(ILinkOwner)
class Tracker:
    """
    Answers tracker links: registration, introductions, departures, and
    the messages of the extensions it hosts.

    @ivar extensions: extension name -> L{ITrackerExtension}, built from
        the plugins (name -> L{ITrackerExtensionPlugin}) that whoever builds
        the tracker passes in (the daemon passes every installed one).
    """

    log = Logger()

    def __init__(self, clock, rng, settings=None, extensions=None, connector=None,
                 identity=None, pending_limit=PENDING_LIMIT,
                 pending_group_limit=PENDING_GROUP_LIMIT, registered_limit=None,
                 check_limit=None, connection_rate=0, relay=None,
                 relay_name_timeout=NAME_TIMEOUT, transports=None, relay_host=None):
        """
        @param connector: what the checks of the nodes' addresses dial
            over (an L{IConnector
            <twisted_bazaar.transports.connector.IConnector>}), or None:
            no address is checked.
        @param transports: the transports the checks dial by
            (L{twisted_bazaar.transports.table.Transports}); None: TCP and
            the relay's circuits over connector.
        @param identity: the tracker's own key pair (L{Identity}), which
            nodes prove their keys to; a fresh one if not given (nodes
            learn it anew at each registration, so nothing needs it kept).
        @param pending_limit: most connections still to register, in all
            (None: no bound but the one per group, for a tracker on an
            in-memory network, which has no descriptors to run out of).
        @param pending_group_limit: the same, from one address group.
        @param registered_limit: most nodes registered at once, in all
            (None: no bound but L{GROUP_LIMIT} per group; the daemon's is
            what its descriptors allow, L{registeredLimit}).
        @param check_limit: most address checks at once, in all (None: no
            bound but L{CHECK_GROUP_LIMIT} per group; the daemon's is
            L{CHECK_LIMIT}).
        @param connection_rate: new connections one address group may open
            a second (see L{RateLimit}); past it, closed before the
            channel's handshake.  0: no limit (the daemon's is its
            --connection-rate, by default
            L{twisted_bazaar.net.connections.DEFAULT_CONNECTION_RATE}).
        @param relay: the tracker's L{twisted_bazaar.transports.relay.relay.Relay}
            (the relay of last resort for the nodes it cannot dial), or
            None: a ``relayReserve`` is refused.
        @param relay_name_timeout: seconds a public node's relay named to
            a node at home holds its place before the node confirms it
            (L{NAME_TIMEOUT}).
        @param relay_host: the IP address its relay is named at (its
            ``--host``: nodes reach it through a port forward, at the
            router's address), or None: the tracker's own address on each
            node's connection.
        """
        self.clock = clock
        self.identity = identity if identity is not None else Identity.generate()
        self.rng = rng
        self.registry = Registry(rng)
        #: Status clients registered (a `bazaar status`, the web view's
        #: questions): in the registry, but no node of the market.
        self.statusClients = 0
        #: Set by L{stop}: the links that close from then on are its own.
        self.stopping = False
        #: The links L{closeLinks} closes, until all are lost.
        self._closing = None
        self.settings = settings or LinkSettings()
        #: What peers make the tracker log, bounded per address group (its
        #: links log through it too).
        self.peer_log = PeerLog(clock, self.settings.verbose)
        #: The lines of nodes joining, leaving and being checked, which a
        #: peer causes by registering: bounded per address group as well.
        self.member_log = PeerLog(clock, self.settings.verbose, burst=MEMBER_LINES)
        #: New connections per address group
        #: (L{twisted_bazaar.tracker.factory.TrackerFactory}).
        self.connection_rates = RateLimit(clock, CONNECTIONS_LIMIT, connection_rate)
        #: Links not registered yet, shared fairly among address groups.
        self.pending = Account.of(PENDING_ACCOUNT, math.inf if pending_limit is None
                                  else pending_limit, pending_group_limit,
                                  oldest_first=True)
        #: Registered nodes, by id, shared fairly among address groups:
        #: past the bound, a node of a group holding fewer takes the place
        #: of the newest node of the group holding the most.  What it
        #: holds of each is kept in the node's registry entry, found by
        #: its id: the account reads no link (a quiet session's entry
        #: answers it alone).
        self.registered = Account.of(REGISTERED_LIMIT, registered_limit,
                                     holders=self.registry.charges)
        #: The connector given (whether its hosts are addresses, what
        #: resolves a name); None: addresses are not checked.
        self.connector = connector
        #: Open the connect-back checks, the transport of each kind of
        #: path over the connector given, as a node's dials go (no node
        #: here: its clock and connector); None with no connector.
        self.transports = transports if connector is None or transports is not None else (
            overConnector(connector, clock))
        #: The connect-back checks of the nodes' addresses.
        self.checks = AddressChecks(self, check_limit)
        #: Each address group's rates of registrations with a port and of
        #: questions.
        self.pace = GroupPace(clock, JOINS_LIMIT, QUESTIONS_LIMIT, _RATE_GROUPS)
        #: Its answers to nodereq and whereis, within their rate.
        self.introductions = Introductions(self, LOOKUPS_LIMIT, _RATE_GROUPS)
        #: The keys nodes prove as they register, and what a connection
        #: not registered yet takes: a thisisme, its proof, or an error.
        self.proofs = KeyProofs(self)
        self._introducing = Handlers()
        self._introducing.addPart(self, _INTRODUCING)
        self._introducing.addPart(self.proofs)
        #: id -> the tracker's end of each registered node's session,
        #: kept in the node's entry of the registry.
        self.links = self.registry.links
        self.relay = relay
        #: Which relay holds each node it cannot dial (L{Reservations}).
        self.reservations = Reservations(self, rng, relay_name_timeout, relay_host)
        #: The relays of public nodes, named to the nodes it cannot dial
        #: before its own.
        self.relays = self.reservations.pool
        self.extensions = {}
        #: What a registered node's messages go to: the tracker's own
        #: (L{_REGISTERED}), then each extension's.
        self._takes = Handlers()
        #: The extensions' message types behind the question rate (their
        #: handlers are the extensions' own functions: no closure of this
        #: tracker's goes into the handler tables every tracker shares).
        self._charged = set()
        self._takes.addPart(self, _REGISTERED)
        self._takes.addPart(self.introductions)
        #: Its UDP reach checks and punches (no UDP port until the daemon
        #: gives it its two).
        self.udp = UdpReach(self)
        self._takes.addPart(self.udp)
        for name, plugin in sorted((extensions or {}).items()):
            self.addExtension(name, plugin.build(self))

    def addExtension(self, name, extension):
        """Host an extension: its messages come to it from now on.

        Its table (L{ITrackerExtension.takes}) goes in the tracker's, each
        handler behind the question rate for the messages of
        QUESTION_BUCKETS.

        @raise ValueError: if another extension handles one of its message
            types, or it claims a core message or one the tracker takes
            (the extension is then not added at all).
        @raise TypeError: if it declares no table (an extension of an older
            form, a C{handlers} dict, which no tracker reads any more).
        """
        try:
            table = extension.takes
        except AttributeError:
            raise TypeError(f"the tracker extension {name!r} declares no takes table "
                            "(ITrackerExtension.takes: message class -> "
                            "function(extension, link, message)); a handlers dict "
                            "is no longer read") from None
        for kind in table:
            if kind.__module__ == wire.ThisIsMe.__module__ or kind in _REGISTERED:
                raise ValueError(f"{kind.TYPE} is the core's; an extension cannot "
                                 "take it over")
            if kind in self._takes:
                raise ValueError(f"{kind.TYPE} is handled by two tracker extensions")
        self._takes.addPart(extension, table)
        self._charged.update(kind for kind in table if kind.BUCKET in QUESTION_BUCKETS)
        self.extensions[name] = extension

    def linkMade(self, link):
        """
        A connection came in: it waits for its registration in the pool of
        pending connections, or is refused now if its address group has
        its share of it.
        """
        group = groupOf(link)
        victims = self.pending.makeRoom(group)
        if victims is None:
            held, limit = self.pending.held(group), self.pending.group_limit
            link.refuse("noslots", f"{held} connections from your address group are "
                        "still to register" if limit is not None and held >= limit
                        else f"{self.pending.used} connections are still to register")
            return
        for victim in victims:
            self.pending.release(victim)
            victim.refuse("noslots", "evicted to make room for a connection from "
                          "another address group")
        self.pending.hold(link, group)

    def linkLost(self, link, reason):
        self.pending.release(link)
        self.proofs.linkLost(link)
        self.drop(link)
        if self._closing is not None:
            self._closing.lost(link)

    def drop(self, link):
        """Forget the node registered on link, if it still is."""
        node_id = link.peer_id
        if node_id is not None and self.links.get(node_id) is link:
            # Released while its entry holds the link: the account keeps
            # what it holds of the node there.
            self.registered.release(node_id)
            del self.links[node_id]
            self.checks.forget(node_id)
            self.reservations.leave(node_id)
            self.udp.forget(node_id)
            self.registry.leave(node_id)
            for extension in self.extensions.values():
                extension.nodeLeft(node_id)
            if link.purpose == STATUS:
                self.statusClients -= 1
            if self.stopping:
                return  # no node left: L{stop} said why their links close
            self.memberLine(groupOf(link), _levelOf(link), "node {id} left ({n} live)",
                             id=shortId(node_id), n=self.live)

    def messageReceived(self, link, message):
        """A node's message, to the handler its type has: before the node
        registered, L{_INTRODUCING}'s or its key proofs' (L{KeyProofs});
        then the tracker's own (L{_REGISTERED}) or an extension's (one of
        QUESTION_BUCKETS only within the question rate, else dropped); any
        other is answered ``error{wtf}``."""
        kind = type(message)
        if link.peer_id is None:
            if not self._introducing.dispatch(kind, link, message):
                link.protocolError("wtf", f"say thisisme before {message.TYPE}",
                                   close=True)
        elif kind in self._charged and not self.mayAsk(link, kind):
            return
        elif not self._takes.dispatch(kind, link, message):
            link.protocolError("wtf", f"the tracker does not handle {message.TYPE}")

    def _said(self, link, error):
        link.peerLine(LogLevel.info, "{peer} says {code}: {info}", self.log,
                      code=error.code, info=error.info)
        if error.code == "wtf" and error.info.startswith(OWN_RELAY_REFUSED):
            self.reservations.refusedHere(link, error.info)

    def _reserveAsked(self, link, request):
        self.reservations.reserve(link)

    def _heldAtPeer(self, link, message):
        self.reservations.heldAtPeer(link, message)

    def _relayOffered(self, link, offer):
        self.reservations.offered(link, offer)

    def _introducedAgain(self, link, hello):
        if hello.id != link.peer_id:
            link.protocolError("wtf", f"you are node {wireId(link.peer_id)}", close=True)

    def _dc(self, link, message):
        link.close("node said dc", routine=True)

    def _checkAsked(self, link, request):
        self.checks.again(link.peer_id)

    def mayAsk(self, link, kind):
        """Whether link's address group may ask one more question (of
        ``kind``) now (see QUESTION_RATE); if not, the question is dropped.
        Asked here for the messages of QUESTION_BUCKETS, and by an
        extension for its questions of a bucket of its own (L{GroupPace})."""
        return self.pace.mayAsk(link, kind)

    def admit(self, link, hello):
        """
        Register the node on link as a registration (with hello's key
        proven, if it has one) and a passed address check leave it, with
        the id hello names: for a simulator that builds the state a market
        converges to (see L{twisted_bazaar.sim.warm}).
        """
        # Its key proven, as a registration's proof leaves it on the link.
        link.keyProven(hello.key)
        self.join(link, hello, hello.id, checking=False)

    def join(self, link, hello, proven=None, checking=None):
        """Register the node on link: with its key's id, if proven, else
        with the id it asks for if free, or a random one.  Its registration
        is charged to its address group (and key) once its entry holds
        the link; the nodes that give way for it (see L{registered}) are
        dropped and told why first."""
        group = groupOf(link)
        victims = self.registered.makeRoom(group, key=proven)
        if victims is None:
            link.refuse("noslots", self.registered.refusal(group, "registrations"))
            return
        for victim in victims:
            victim = self.links[victim]
            self.drop(victim)
            victim.refuse("noslots", "evicted to make room for a node of another "
                          "address group")
        seen = peerHost(link.transport)
        # A node of port 0 is never checked: the host it names is one
        # nobody vouched for, so it is recorded where it is seen.
        host = (hello.host or seen) if hello.port else seen
        abilities = Abilities.of(hello.scheme, bool(hello.superpeer))
        if checking is None:
            checking = self.connector is not None and hello.port != 0
        # A keyless node never gets a key's id: it was refused asking
        # for one.
        wanted = proven if proven is not None else hello.id
        node_id = self.registry.join(wanted, host,
                                     hello.port, abilities, verified=not checking)
        self.links[node_id] = link
        self.registry.said(node_id, seen, hello.paths)
        if hello.reach:
            self.checks.telling.add(node_id)
        self.pending.release(link)
        link.identified(node_id)
        self.registered.hold(node_id, group, key=proven)
        if hello.purpose == STATUS:
            link.purpose = STATUS
            self.statusClients += 1
        if proven is None:
            link.send(wire.ThisIsYou(node_id, hello.port))
        if host == seen:
            self.memberLine(group, _levelOf(link), "node {id} joined from {where} "
                             "({n} live)", id=shortId(node_id),
                             where=(host, hello.port), host=host,
                             port=hello.port, n=self.live)
        else:
            self.memberLine(group, _levelOf(link), "node {id} joined from {seen}, "
                             "registered at {where} ({n} live)", id=shortId(node_id),
                             seen=seen, where=(host, hello.port), host=host,
                             port=hello.port, n=self.live)
        if checking:
            self.checks.check(node_id)

    @property
    def live(self):
        """The nodes registered, status clients left out: what the log's
        ``(N live)`` and ``bazaar_tracker_nodes`` say."""
        return len(self.registry) - self.statusClients

    @property
    def checking(self):
        """Node ids whose address check is in flight, by address group."""
        return self.checks.checking

    def memberLine(self, group, level, format, **fields):
        """Log a line about a node registering, leaving or being checked,
        bounded per address group (L{member_log}, L{MEMBER_LINES}): each
        costs a stranger one registration, which is cheap."""
        self.member_log.emit(self.log, level, group, format, **fields)

    def closeLinks(self, grace):
        """Close every registered node's link (L{LinksClosing}); a Deferred
        that fires once all are lost, or after C{grace} seconds."""
        links = [self.links.get(node_id) for node_id in list(self.links)]
        closing = self._closing = LinksClosing(self.clock, links, grace)
        closing.close()
        return closing.done

    def stop(self, ran=True):
        """Cancel every check in flight or scheduled, and sum up the peers'
        lines not logged; its nodes' links close with it.

        @param ran: False for a tracker whose port never listened (a failed
            start): it never ran, so it says nothing of stopping."""
        self.stopping = True
        if ran and self.live:
            self.log.info("tracker stopping: closing the links of its {nodes}",
                          nodes=plural(self.live, "live node"))
        elif ran:
            self.log.info("tracker stopping: no node is live")
        self.checks.stopAll()
        self.reservations.stop()
        self.udp.stop()
        self.peer_log.close()
        self.member_log.close()


#: What the tracker takes itself of a connection before it registers a
#: node, beside its key proofs' (L{KeyProofs.takes}): message class ->
#: function(tracker, link, message).
_INTRODUCING = {wire.Error: Tracker._said}
#: What it takes itself of a registered node; extensions add theirs.
_REGISTERED = {wire.Error: Tracker._said, RelayReserve: Tracker._reserveAsked,
               RelayReserved: Tracker._heldAtPeer, RelayOffer: Tracker._relayOffered,
               wire.ThisIsMe: Tracker._introducedAgain, wire.Dc: Tracker._dc,
               wire.CheckMe: Tracker._checkAsked}
