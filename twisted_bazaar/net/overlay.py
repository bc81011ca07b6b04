"""
The node's link table: established links by peer id, connections still in
their handshake, and shutdown.  Which links it opens, takes and keeps (a
slot budget per link purpose, inbound eviction when full, which of two
links to one peer survives) is its
L{Admission<twisted_bazaar.net.admission.Admission>}'s to decide.

Here is the table itself: which link is whose, links made, proven and
lost, and the messages on them handed on; what it tells of its links,
read only; how it opens a link (a dialled one, its handshake finished
before it is handed out, or one for a connection punched to the peer of
a relayed link); and how it stops.  One object a node, in one module (a
simulated node holds one table, and an object more each would cost a
million nodes their memory); what a failed dial says of the peer is
L{twisted_bazaar.net.opening}'s.

Every link of a node is owned here.  The table runs the ``thisisme``
handshake through its L{Greeter<twisted_bazaar.net.greeting.Greeter>}
(which owns the links in their handshake and the dials waiting for them),
and hands each message on an established link to the handler the
node's components registered for the message's type (see
L{twisted_bazaar.core.node.Node.takeFrom}); what no handler takes, and the
address checks (``whoareyou``) it is asked before any handshake, the core
answers itself (L{twisted_bazaar.net.dispatch}).
"""

from collections import OrderedDict

from twisted.internet import defer
from twisted.internet.protocol import Factory
from twisted.logger import Logger, LogLevel
from zope.interface import implementer

from twisted_bazaar.net.link import ILinkOwner, contextFor
from twisted_bazaar.net.opening import NoRoom, NotConnected, dialFailure
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.net.admission import RELAYED_GROUPS, admissionFor, crowded
from twisted_bazaar.net.connections import (
    DEFAULT_CONNECTION_RATE,
    ConnectionManager,
    admitted,
)
from twisted_bazaar.net.dispatch import unhandled
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.net.greeting import OVERLAY, Greeter, IGreetingTable, named
from twisted_bazaar.net.handlers import Handlers
from twisted_bazaar.net.punched import PunchedLinks
from twisted_bazaar.net.reconnect import inWords
from twisted_bazaar.net.recent import STATUS, RecentMessages
from twisted_bazaar.net.standin import StandIns

#: Links a buyer opens to a seller to trade; closed when idle.
DIRECT = "direct"
#: Default links of each purpose a node accepts.
DEFAULT_MAX_CONNECTIONS = 8
DEFAULT_DIRECT_SLOTS = 8
#: Default seconds without a trade message after which a direct link closes.
DEFAULT_DIRECT_IDLE = 30.0
#: Default connections one address group (see
#: L{twisted_bazaar.base.addressgroup.addressGroup}) may hold open before saying
#: thisisme.
DEFAULT_HANDSHAKE_LIMIT = 4
LINKS_LIMIT = declare(
    "overlay.links", DEFAULT_MAX_CONNECTIONS, "links",
    "overlay links a node holds (past them, one gives way or a newcomer is refused)",
    flag="--max-connections", owner=__name__)
DIRECT_LIMIT = declare(
    "overlay.direct", DEFAULT_DIRECT_SLOTS, "links",
    "direct links (buyers trading with a seller) a node holds",
    flag="--direct-slots", owner=__name__)
HANDSHAKES_LIMIT = declare(
    "overlay.handshakes", None, "connections",
    "connections not yet introduced (no thisisme): bounded in all by the links' "
    "slots, per address group by its share", group=DEFAULT_HANDSHAKE_LIMIT,
    flag="--handshake-limit", owner=__name__)
RELAYED_HANDSHAKES_LIMIT = declare(
    "overlay.relayed-handshakes", None, "connections",
    "connections through one relay not yet introduced: charged to the relay's "
    f"address group, {RELAYED_GROUPS} groups' shares, and within it to the group "
    "the relay names for each dialler, one share",
    group=RELAYED_GROUPS * DEFAULT_HANDSHAKE_LIMIT, key=DEFAULT_HANDSHAKE_LIMIT,
    flag="--handshake-limit", owner=__name__)
#: Peers remembered as of no use (L{Overlay.useless}), newest kept.
USELESS_KEPT = 256

#: The purposes an overlay logs the links of at info until it names one
#: (L{Overlay.setSlots}): none, one set for every overlay.
NO_NEWS = frozenset()


def _levelOf(link, news):
    """Links that come and go with every peer (a status client's, for
    ``bazaar node`` or the web view; a one-shot buyer's overlay, direct,
    chord and leaf links, on every node it meets) are no news to a user
    of the market: logged at debug.  Only the purposes a scheme declares
    news (``news``: super-peers' links to each other) are logged at info;
    a scheme logs what its other links change (a chord node its ring
    neighbours, a super-peer the leaves that register)."""
    return LogLevel.info if link.purpose in news else LogLevel.debug


def _remembered(peers, peer_id):
    """``peers`` (an OrderedDict, or None: made now) with peer_id its
    newest, the oldest past L{USELESS_KEPT} forgotten."""
    if peers is None:
        peers = OrderedDict()
    peers.pop(peer_id, None)
    peers[peer_id] = True
    if len(peers) > USELESS_KEPT:
        peers.popitem(last=False)
    return peers


@implementer(ILinkOwner, IGreetingTable)
class Overlay:
    """
    @ivar _links: peer id -> established L{Link}, in the order they were
        identified: read through L{linkTo}, L{linkEnds}, L{linksOf},
        L{linkedPeers}, L{linkedCount} and the views that hand out no link
        (L{count}, L{crowd}, L{peersOf}, L{outboundPeersOf}), written only
        here and by the greeter (L{holdLink}), so that what stands for a
        link in it is this table's own to choose.
    @ivar news: the link purposes whose links' coming and going is logged
        at info (L{_levelOf}); others at debug.
    @ivar greeter: the L{Greeter} that runs the links' handshakes and
        holds what lasts only while they do (the links in them, their
        state, the dials waiting); an established link keeps only the key
        its peer proved, as L{Link.key}: a simulation holds a million link
        ends.
    @ivar since: each inbound link and when it connected (for eviction),
        in the order they connected, until it is lost: one flat tuple
        (link, time, link, time...; the shared empty one for none), not a
        dict, which took 193 bytes a warm index node for its two; read
        through L{connected} and L{connectedAt}, written only here.
    @ivar admission: the L{twisted_bazaar.net.admission.Admission} that
        decides which links this table opens, takes and keeps: the one of
        every node with the same terms (L{addPurpose}, L{setSlots} give
        this table another).
    @ivar linkContext: the L{twisted_bazaar.net.link.LinkContext} its
        links share (L{twisted_bazaar.net.link.contextFor}).
    """

    # Slots, not a dict: a simulation holds one a node (and the dict of
    # sixteen fields took 48 bytes more than these).
    __slots__ = ("node", "admission", "_connections", "_links", "greeter", "handlers",
                 "since", "_partners", "_closed_waiters", "stopping", "recent",
                 "peer_log", "useless_peers", "_punched", "news", "linkContext")

    log = Logger()

    def __init__(self, node, budgets, handshake_limit=DEFAULT_HANDSHAKE_LIMIT,
                 idle_timeouts=None, connection_rate=DEFAULT_CONNECTION_RATE):
        self.node = node
        #: No purpose's links are news until one is (L{setSlots}).
        self.news = NO_NEWS
        self.linkContext = None
        self.admission = admissionFor(budgets, handshake_limit, idle_timeouts,
                                      connection_rate)
        #: The node's L{ConnectionManager}, made when first asked for
        #: (L{connections}): most simulated nodes never evict anyone.
        self._connections = None
        self._links = {}
        self.greeter = Greeter(self)
        #: Who takes each message class (see Node.takeFrom): a
        #: L{Handlers}, whose table nodes with the same parts share.
        self.handlers = Handlers()
        self.since = ()
        #: Inbound links a sale was made over (never evicted), or None.
        self._partners = None
        #: The Deferreds of L{whenClosed} (a list once there is one).
        self._closed_waiters = ()
        self.stopping = False
        #: A L{twisted_bazaar.net.recent.RecentMessages} in which the
        #: links note every message in and out, if someone may look
        #: (L{NodeStatus}); else None.
        self.recent = None
        #: What peers make this node log, bounded per address group (the
        #: links log through it too).
        self.peer_log = PeerLog(node.clock, node.config.link.verbose)
        #: Peers that proved of no use to this node (L{useless}), newest
        #: last: made when first needed.
        self.useless_peers = None
        #: The connections punched to the peers of inbound links
        #: (L{twisted_bazaar.net.punched.PunchedLinks}): made when first needed.
        self._punched = None

    @property
    def connections(self):
        """The node's connection policy (a L{ConnectionManager}), which
        every table of its connections asks: this one and the transfer
        port's."""
        if self._connections is None:
            self._connections = ConnectionManager(self.node.clock,
                                                  self.admission.connection_rate)
        return self._connections

    # -- what the node's parts ask for (through the Node) --------------------------

    def addPurpose(self, purpose, slots, idle=None, recycle=False):
        """See L{twisted_bazaar.core.node.Node.addPurpose}."""
        self.admission = self.admission.withPurpose(purpose, slots, idle, recycle)

    def setSlots(self, purpose, slots, news=False):
        """See L{twisted_bazaar.core.node.Node.setSlots}."""
        self.admission = self.admission.withSlots(purpose, slots)
        if news:
            self.news = self.news | {purpose}

    def useless(self, peer_id):
        """
        peer_id proved of no use to this node (a seller whose buy is in
        doubt): its link (whoever opened it) is the first to give way
        when this node needs the slot for another peer, so peers that
        take slots and give nothing cannot keep it from the next one.
        """
        self.useless_peers = _remembered(self.useless_peers, peer_id)

    def roomFor(self, purpose):
        """See L{twisted_bazaar.core.node.Node.roomFor}."""
        return self.admission.roomFor(self, purpose)

    def keepRecent(self):
        """See L{twisted_bazaar.core.node.Node.keepRecent}."""
        if self.recent is None:
            self.recent = RecentMessages()
        return self.recent

    def adopt(self, link, peer, address, purpose, key=None):
        """
        Take link, connected by hand, as the end of a handshake with peer
        leaves it (``key``, the key it proved, if any), telling nobody: for
        a simulator that builds the state a market converges to (see
        L{twisted_bazaar.sim.warm}), where what a node would do about a new
        link is already done.
        """
        link.purpose = purpose
        link.identified(peer)
        self.setPurpose(link, purpose)
        self._links[peer] = link
        link.key = key
        link.address = address
        if link.inbound:
            # Since when it is an inbound link, for eviction.
            self._connectedNow(link)
        self.node.paths.learn((self.node.id, peer))

    def adoptStandIn(self, standIn, peer):
        """
        As L{adopt}, a L{StandIn<twisted_bazaar.net.standin.StandIn>} in
        the link's place (in the table, in L{since}, among the clock's
        deadlines as its keepalive check), for a link of a purpose with no
        idle timeout: a simulation's quiet link end, made a link (L{linkFor})
        when a part is handed it.
        """
        links = self._links
        if type(links) is dict:
            links = self._links = StandIns(links)
        node = self.node
        settings = node.config.link
        if settings.ping_interval:
            contextFor(self, node.clock, settings).timers.wake(standIn,
                                                              settings.ping_interval)
        links[peer] = standIn
        if standIn.inbound:
            self._connectedNow(standIn)
        node.paths.learn((node.id, peer))

    def linkFor(self, standIn, peer, address, key, transport):
        """
        The link standIn (L{adoptStandIn}) held peer's place for, on
        transport, as L{adopt} left it, put in its places; its keepalive
        check is standIn's entry among the clock's deadlines (the caller
        makes it the link's).
        """
        link = self.node.buildLink(inbound=standIn.inbound)
        link.attach(transport)
        link.purpose = standIn.purpose
        link.identified(peer, settled=False)
        link.key = key
        link.address = address
        self._links[peer] = link
        since = self.since
        if link.inbound and standIn in since:
            at = since.index(standIn)
            self.since = since[:at] + (link,) + since[at + 1:]
        return link

    # -- the link owner's interface ------------------------------------------------

    def linkMade(self, link):
        if not link.inbound:
            self.greeter.introduce(link)
            return
        takesAPlace = (self._punched is not None
                       and self._punched.takesAPlace(link, self.linkTo))
        if self.node.id is None:
            link.refuse("notiy", "this node has no id yet")
        elif self.stopping:
            link.refuse("noslots", "this node is shutting down")
        elif (silent := self.admission.whyNoHandshake(self, link)) is not None:
            # Silent connections hold slots until their handshake times
            # out: one address group must not be able to take them all.
            link.refuse("noslots", silent)
        elif (self.linkCount() >= self.capacity() and not takesAPlace
              and not self.admission.evict(self, asker=link)):
            link.refuse("noslots", f"all {self.capacity()} connection slots are taken")
        else:
            self._connectedNow(link)
            self.greeter.expect(link)

    def proven(self, link):
        """A unit of stock was sold over link (not a copy of a shared
        file): its peer is a trading partner, never evicted."""
        if link.inbound and self.connectedAt(link) is not None:
            if self._partners is None:
                self._partners = set()
            self._partners.add(link)

    def linkLost(self, link, reason):
        self._forget(link, reason)
        self._checkClosed()

    def messageReceived(self, link, message):
        if link.peer_id is None:
            self.greeter.heard(link, message)
            return
        if message.ROUTED and type(message) not in self.handlers.table.entries:
            # What a node relays: straight to its path router (the handlers'
            # table read here, one call less for every message relayed),
            # with the table for its next hop (one more; the table itself,
            # not its bound get, which was an object made a message).
            self.node.paths.received(link, message, self._links)
        elif not self.handlers.dispatch(type(message), link, message):
            unhandled(self, link, message)

    def reached(self, peer_id):
        """A link to peer_id came up: it is reachable after all, which is
        the node's book of paths' to know (L{Node.reached
        <twisted_bazaar.core.node.Node.reached>}): a dial that found
        nothing listening noted it there."""
        self.node.reached(peer_id)

    def setPurpose(self, link, purpose):
        """Give link a purpose, and that purpose's idle timeout."""
        link.purpose = purpose
        link.setIdleTimeout(self.idle_timeouts.get(purpose))

    def _forget(self, link, reason):
        greeter = self.greeter
        greeter.drop(link)
        if self._punched is not None:
            self._punched.forget(link)
        since = self._disconnected(link)
        if since is not None:
            self.admission.left(self, link, since)
        if self._partners:
            self._partners.discard(link)
        # Its peer proved a key for this link only while it lasted.
        link.key = None
        peer = link.peer_id
        if greeter.waiters:
            greeter.lost(link, NotConnected(inWords(reason)), peer)
        if peer is None or dict.get(self._links, peer) is not link:
            return
        del self._links[peer]
        self.node.paths.forgetVia(peer)
        self.linkLine(link, "link to {who} closed", peer=peer, who=named(link, peer))
        self.node.events.linkRemoved(peer)

    def _connectedNow(self, link):
        """Note the inbound link as connected now (for eviction)."""
        self.since += (link, self.node.clock.seconds())

    def _disconnected(self, link):
        """Forget when the inbound link connected, cutting it out where it
        stood.

        @return: when it did, or None if it is not noted."""
        since = self.since
        if link not in since:
            return None
        at = since.index(link)
        self.since = since[:at] + since[at + 2:]
        return since[at + 1]

    def linkLine(self, link, format, **fields):
        """A link's coming or going: at debug for the links that come and
        go with every peer (L{_levelOf}), else at info through the peer
        log, since a peer opens and closes its links as often as it
        likes."""
        level = _levelOf(link, self.news)
        if level == LogLevel.debug:
            self.log.debug(format, **fields)
        else:
            self.peer_log.emit(self.log, level, groupOf(link), format, **fields)

    # -- what it tells of its links, read only -----------------------------------

    @property
    def budgets(self):
        """purpose -> most established links of it
        (L{twisted_bazaar.net.admission.Admission.budgets})."""
        return self.admission.budgets

    @property
    def idle_timeouts(self):
        """purpose -> seconds a link of it may go without trade
        (L{twisted_bazaar.net.admission.Admission.idle_timeouts})."""
        return self.admission.idle_timeouts

    @property
    def pending(self):
        """The greeter's L{twisted_bazaar.net.greeting.Greeter.pending}, to read."""
        return self.greeter.pending

    def provenKey(self, link):
        """The key link's peer proved in the handshake, or None."""
        if link.key is not None:
            return link.key
        return self.greeter.keyOf(link)

    def connected(self):
        """(link, when it connected) of every inbound link not yet lost, in
        the order they connected: what eviction and its tenures ask."""
        since = self.since
        links = since[::2]
        if type(self._links) is not dict:
            links = self._links.fill(links)
        return zip(links, since[1::2])

    def connectedAt(self, link):
        """When the inbound link connected, or None if it is no inbound
        link of this table (or is lost)."""
        since = self.since
        return since[since.index(link) + 1] if link in since else None

    @property
    def partners(self):
        """The inbound links a sale was made over (never evicted)."""
        return self._partners or ()

    def linkCount(self):
        """Links open or opening; one already closing holds no slot."""
        return (sum(1 for link in self._links.values() if not link.closing)
                + sum(1 for link in self.greeter.pending if not link.closing))

    def count(self, purpose):
        """Established links of purpose, not closing: read from the table
        without handing a link out (admission asks before every dial)."""
        return sum(1 for link in self._links.values()
                   if link.purpose == purpose and not link.closing)

    def crowd(self, purpose):
        """The address group crowding the established links of purpose
        not closing (L{twisted_bazaar.net.admission.crowded}), or None:
        read from the table without handing a link out."""
        return crowded([link for link in self._links.values()
                        if link.purpose == purpose and not link.closing])

    def held(self, purpose):
        """See L{twisted_bazaar.net.admission.Admission.held}."""
        return self.admission.held(self, purpose)

    def capacity(self):
        """See L{twisted_bazaar.net.admission.Admission.capacity}."""
        return self.admission.capacity()

    def linksByPurpose(self):
        """purpose -> established links of it, every purpose this node
        takes links for included (0 for one it has none of)."""
        counts = dict.fromkeys(self.budgets, 0)
        for link in list(self._links.values()):
            counts[link.purpose] = counts.get(link.purpose, 0) + 1
        return counts

    def addressOf(self, peer_id):
        """See L{twisted_bazaar.core.node.Node.addressOf}."""
        link = dict.get(self._links, peer_id)
        return ("", 0) if link is None else link.address

    @property
    def addresses(self):
        """peer id -> (host, port) each linked peer introduced (a view,
        made on each call: each established link keeps its own, as
        L{twisted_bazaar.net.link.Link.address})."""
        return {peer: link.address for peer, link in self._links.items()}

    def linkTo(self, peer_id):
        """The established link to peer_id, or None (a stand-in made
        full: L{StandIns.get<twisted_bazaar.net.standin.StandIns.get>})."""
        return self._links.get(peer_id)

    def linkEnds(self):
        """Every established link, in the order they were identified: an
        iterator of the table itself (list it to close links as it goes)."""
        links = self._links
        if type(links) is not dict:
            return iter(self._links.fill(list(links.values())))
        return iter(links.values())

    def linkedPeers(self):
        """The peer id of every established link, in the same order."""
        return iter(self._links)

    def peersOf(self, purpose):
        """The peer id of every established link of purpose, in the
        table's order (a list: a scheme's neighbours, a leaf's
        super-peers)."""
        return [peer for peer, link in self._links.items() if link.purpose == purpose]

    def outboundPeersOf(self, purpose):
        """The peers of the established links of purpose this node opened,
        in that order, read from the table without handing a link out."""
        return [peer for peer, link in self._links.items()
                if link.purpose == purpose and not link.inbound]

    def linksOf(self, purpose):
        """The established links of purpose, in the order they were
        identified: for a part that sends over each (a flood's router),
        handed those and no other."""
        links = [link for link in self._links.values() if link.purpose == purpose]
        return links if type(self._links) is dict else self._links.fill(links)

    def linkedCount(self):
        """How many links are established."""
        return len(self._links)

    def holdLink(self, peer_id, link):
        """link is established to peer_id (the greeter's handshake is
        done), in place of any link to it before."""
        self._links[peer_id] = link

    def established(self):
        """peer id -> established link: the table itself, for tests to
        read and arrange (the node's parts read it through L{linkTo} and
        L{linkEnds}), holding links only (a stand-in made full)."""
        if type(self._links) is not dict:
            self._links.fill(list(self._links.values()))
        return self._links

    # -- opening a link -------------------------------------------------------------

    def connectTo(self, host, port, peer_id, purpose, dial):
        """
        Open a link of the given purpose to the peer at host:port (peer_id,
        if known) and finish the handshake: ``dial(link)`` connects the
        link (at host:port, or through the peer's relay: the node's
        dialer, L{twisted_bazaar.reach.dialer.Dialer}, says which) and
        returns a Deferred.  An existing link to peer_id is reused, but
        for an overlay link where only a link of another purpose is: the
        peer must take it as one too (it took the searches on a link it
        holds as direct as sent where they do not travel), so a link of
        its own is opened, which the peer admits as an overlay link, and
        the duplicate rule leaves both sides one overlay link
        (L{Greeter._establish}; docs/protocol.md §6).

        @return: a Deferred firing with the peer's id, or failing with
            L{NotConnected}; cancelling it abandons the link and its dial.
        """
        node = self.node
        existing = dict.get(self._links, peer_id) if peer_id is not None else None
        if existing is not None and (purpose != OVERLAY or existing.purpose == OVERLAY):
            return defer.succeed(peer_id)
        refused = self.admission.refusesDial(self, purpose)
        if refused is not None:
            return defer.fail(NoRoom(refused))
        link = node.buildLink(inbound=False)
        link.purpose = purpose
        greeter, dialing = self.greeter, []

        def cancel(waiter):
            greeter.abandon(link)
            link.close("connection abandoned", routine=True)
            if link.transport is None:
                greeter.drop(link)
                self._checkClosed()
            while dialing:
                dialing.pop().cancel()

        def failed(reason):
            if not dialing and reason.check(defer.CancelledError):
                return None
            greeter.abandon(link)
            greeter.drop(link)
            failure = dialFailure(reason, host, port)
            if not waiter.called:
                waiter.errback(failure)
            self._checkClosed()

        # Whoever answers must be the node dialled.
        waiter = greeter.dialled(link, peer_id, cancel)
        dialing.append(dial(link).addErrback(failed))
        return waiter

    def punchedLink(self, shared):
        """
        A link for a connection punched to the peer of ``shared`` (a
        relayed link), of its direction and purpose, so that the duplicate
        rule keeps it in place of ``shared`` once its handshake is done
        (L{twisted_bazaar.reach.punch.tcp.exchange}).  The connection's channel
        proves the peer's key before anything is said on it: an opener's
        link needs no dialled id to check.
        """
        link = self.node.buildLink(inbound=shared.inbound)
        link.purpose = shared.purpose
        if shared.inbound:
            if self._punched is None:
                self._punched = PunchedLinks()
            self._punched.expect(shared, link)
        return link

    # -- stopping ---------------------------------------------------------------------

    def isStopping(self):
        """Whether this node opens and accepts no more links."""
        return self.stopping

    def refuseLinks(self):
        """
        Open and accept no link from now on (the node is stopping, or a
        simulation crashed it); the links it has stay until L{shutdown}.

        @return: True the first time, False once refusing already.
        """
        if self.stopping:
            return False
        self.stopping = True
        return True

    def shutdown(self):
        """Say dc on every link and close them; open no new ones."""
        self.stopping = True
        self.peer_log.close()
        links = list(self._links.values())
        if type(self._links) is not dict:
            links = self._links.fill(links)
        for link in links + list(self.greeter.pending):
            link.disconnect("node shutting down")

    def whenClosed(self):
        """A Deferred that fires once no link is open."""
        d = defer.Deferred(lambda d: self._closed_waiters.remove(d)
                           if d in self._closed_waiters else None)
        if not self._closed_waiters:
            self._closed_waiters = []
        self._closed_waiters.append(d)
        self._checkClosed()
        return d

    def _checkClosed(self):
        if not self._closed_waiters or self._links or self.greeter.pending:
            return
        waiters, self._closed_waiters = self._closed_waiters, ()
        for d in waiters:
            if not d.called:
                d.callback(None)


class OverlayFactory(Factory):
    """The one listening factory every role shares: each inbound
    connection becomes a link of the node."""

    log = Logger()
    noisy = False

    def __init__(self, node):
        self.node = node

    def buildProtocol(self, addr):
        """A link for the connection, or None (closed at once, before the
        channel's handshake) when its address group opens connections
        faster than the node's policy allows."""
        overlay = self.node.overlay
        if not admitted(overlay.connections.rates, addr, overlay.peer_log, self.log):
            return None
        return self.node.buildLink(inbound=True)
