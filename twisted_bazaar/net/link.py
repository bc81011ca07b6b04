"""
One connection: the protocol that turns a peer's frames into messages for
its owner, and back.  This is its life (connected, closed, lost), what
every link of an owner shares (L{LinkContext}), how it names its peer in
the log, its reading and its writing; its timers (handshake, keepalive,
idle) are its L{Keepalive}'s, a base of it that owns them
(L{twisted_bazaar.net.keepalive}), the frame loop every framed connection
shares is L{twisted_bazaar.net.framed.FrameLoop}, the framing
L{twisted_bazaar.wire.framing}, the limits that protect the process from a
single peer L{twisted_bazaar.net.limits}, coalesced writes
L{twisted_bazaar.net.batch}.

A L{Link} knows nothing of routing or trade.  It turns bytes into
messages and hands them to its owner (an L{ILinkOwner}: the node's
overlay, its tracker session, the tracker, the tracker's address check),
and it answers the questions every connection has to
answer the same way: a broken frame closes the link, a message that does
not decode is answered with ``error{wtf}`` (and, before the handshake is
done, ends the link), a ping gets a pong and a pong fires the wait of the
ping it answers, and a peer that never introduces itself or falls silent
is dropped.

A peer's mistakes cost it: each bad message, and each ``error`` it sends
about the link itself (one without a ``path``), counts toward its error
budget (L{twisted_bazaar.net.limits.spend}), and the link is cut when the
budget is spent.  The lines a peer makes the link log go through its
owner's L{PeerLog}, if it has one, so that no peer can make the log grow
faster than a bounded rate.

Its writing: a frame over the limit is not sent.  A peer that does not
read is noticed when the transport pauses the link (it is the transport's
producer): what is written meanwhile is counted and charged to the
process's account of unsent bytes (L{LinkSettings.unsent}, shared fairly
among address groups), and the link is dropped when what waits for it is
over the write limit, or when the account has no room for it (its group
holds the most) or gives its room to a group holding fewer.

Reading and writing are this one class's (docs/architecture.md, "The
link: one object"): every relayed message passes both, and a call
through a part there would cost the relay.
"""

from twisted.internet import defer
from twisted.internet.error import ConnectionAborted, ConnectionDone
from twisted.internet.interfaces import (
    ILoggingContext,
    IProtocol,
    IPushProducer,
    IReactorFDSet,
)
from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure

from zope.interface import Interface, implementer

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.logthrottle import peerFields
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar import wire
from twisted_bazaar.base.lan import peerHost
from twisted_bazaar.net.batch import FLUSH_BYTES, WriteBatch
from twisted_bazaar.net.capabilities import (
    IChannelProtocol,
    IHeldWrites,
    IQueuedBeside,
    IRelayedTransport,
    ISecureTransport,
)
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.net.framed import FrameLoop
from twisted_bazaar.net.keepalive import (
    DEAD_AFTER_INTERVALS,
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_PING_INTERVAL,
    Keepalive,
)
from twisted_bazaar.net.limits import (
    BURST_FACTOR,
    DEFAULT_ERROR_LIMIT,
    DEFAULT_FRAME_LIMIT,
    DEFAULT_PING_RATE,
    DEFAULT_SEARCH_RATE,
    DEFAULT_WRITE_LIMIT,
    ERROR_WINDOW,
    UNSENT_LIMIT,
    TokenBucket,
    bucketIn,
    bucketRate,
    spend,
)
from twisted_bazaar.net.account import Account
from twisted_bazaar.net.recent import IN, OUT, STATUS_PURPOSES
from twisted_bazaar.net.timers import deadlinesFor

#: The names other modules take from here (the limits and timers' defaults
#: among them, where they were first defined).
__all__ = ["ILinkOwner", "Link", "LinkSettings", "TokenBucket", "WriteBatch",
           "BURST_FACTOR", "DEAD_AFTER_INTERVALS", "DEFAULT_ERROR_LIMIT",
           "DEFAULT_FRAME_LIMIT", "DEFAULT_HANDSHAKE_TIMEOUT", "DEFAULT_PING_INTERVAL",
           "DEFAULT_PING_RATE", "DEFAULT_SEARCH_RATE", "DEFAULT_WRITE_LIMIT",
           "ERROR_WINDOW", "FLUSH_BYTES"]


class ClosedHere(ConnectionDone):
    """A link this side closed (L{Link.close}: a dc said or heard, a peer
    left silent or cut off), closed cleanly: told so to its owner, whose
    line would otherwise say Twisted's "Connection was closed cleanly",
    which reads as the peer's doing."""

    def __str__(self):
        return "this side closed the connection"


class CutHere(ConnectionAborted):
    """A link this side cut (L{Link.drop}: its peer silent too long), with
    why: its owner's line said only "this node cut the connection"."""

    def __str__(self):
        return f"this node cut the connection ({self.args[0]})"


class BrokenHere(ClosedHere):
    """A link this side closed as its peer broke the framing
    (L{Link.framingBroken}), with how (a L{FrameError}'s reason): its
    owner can say what the peer sent (L{overLimit})."""

    def __str__(self):
        return f"this node closed the connection: the peer broke the framing ({self.args[0]})"


def _closedBy(here, reason, seldom=None):
    """The reason a link's owner is told: a clean close this side made
    (``here``) is L{ClosedHere}, or a L{BrokenHere} after a broken frame;
    an abort after L{Link.drop} a L{CutHere} saying why; any other reason
    as it is."""
    value = getattr(reason, "value", reason)
    cut = seldom and seldom.cut
    if here and type(value) is ConnectionDone and not value.args:
        if seldom and seldom.broken:
            return Failure(BrokenHere(seldom.broken))
        return Failure(ClosedHere())
    if cut and type(value) is ConnectionAborted:
        return Failure(CutHere(cut))
    return reason


class LinkSettings:
    """
    The tunables every link of one process shares.

    A plain object rather than per-link arguments, so a node can build many
    links cheaply and a test can change one value.  Slots: a simulation's
    nodes share one, which counts what each sends apart (L{statsOf}; see
    L{twisted_bazaar.sim.build.NodeLinkSettings}).
    """

    __slots__ = ("frame_limit", "handshake_timeout", "ping_interval", "error_limit",
                 "search_rate", "ping_rate", "write_limit", "verbose", "stats",
                 "traffic", "rates", "dropped", "coalesce", "writes", "unsent")

    def __init__(
        self,
        frame_limit=DEFAULT_FRAME_LIMIT,
        handshake_timeout=DEFAULT_HANDSHAKE_TIMEOUT,
        ping_interval=DEFAULT_PING_INTERVAL,
        error_limit=DEFAULT_ERROR_LIMIT,
        search_rate=DEFAULT_SEARCH_RATE,
        ping_rate=DEFAULT_PING_RATE,
        write_limit=DEFAULT_WRITE_LIMIT,
        verbose=False,
        stats=None,
        traffic=None,
        coalesce=None,
    ):
        self.frame_limit = frame_limit
        self.handshake_timeout = handshake_timeout
        self.ping_interval = ping_interval
        self.error_limit = error_limit
        self.search_rate = search_rate
        self.ping_rate = ping_rate
        self.write_limit = write_limit
        self.verbose = verbose
        #: If a dict, message type -> number sent, counted by every link.
        self.stats = stats
        #: If a L{twisted_bazaar.metrics.traffic.Traffic}, told of every
        #: message in and out, drop and protocol error, by every link.
        self.traffic = traffic
        #: Rate limits of the core's buckets (see L{wire.message}'s
        #: ``bucket``), as this process's options set them: messages a
        #: second one peer may send.  Flooded searches fan out, queries
        #: cost work, pings cost an answer.  A bucket a scheme or plugin
        #: owns has the rate it declared (L{bucketRate}).
        self.rates = {"search": search_rate, "query": search_rate,
                      "ping": ping_rate}
        #: message type -> number dropped by rate limits, over every link.
        self.dropped = {}
        #: Whether links coalesce the frames they send during a burst of
        #: reads into one write (see L{WriteBatch}): True, False, or None
        #: for "when the link's clock is a real reactor".  A reactor's
        #: transport costs as much per write as the node spends relaying a
        #: message; a memory transport (tests, the simulator) costs
        #: nothing, and there each write is a delivery of its own.
        self.coalesce = coalesce
        #: The burst every coalescing link of these settings takes part in.
        self.writes = WriteBatch()
        #: The bytes waiting for peers that do not read, over every link of
        #: these settings: charged to each peer's address group, shared
        #: fairly, bounded in all (L{DEFAULT_UNSENT_LIMIT}).
        self.unsent = Account.of(UNSENT_LIMIT)

    def statsOf(self, owner):
        """The dict that counts what owner's links send, message type ->
        number (None: nothing counts): L{stats}, for every owner."""
        return self.stats


class LinkContext:
    """
    What every link of one owner holds alike: the owner, its clock, link
    settings, what counts its sends, deadlines, write batch,
    recent-message log and peer log.

    One object per owner, not seven slots per link: a simulation holds a
    million link ends, and these were 56 bytes of each.
    """

    __slots__ = ("owner", "clock", "settings", "stats", "timers", "batch", "recent",
                 "peer_log")

    def __init__(self, owner, clock, settings, batch):
        self.owner = owner
        self.clock = clock
        self.settings = settings
        #: The dict that counts what these links send, or None
        #: (L{LinkSettings.statsOf}).
        self.stats = settings.statsOf(owner)
        #: The deadlines of every link on this clock (see L{Keepalive}).
        self.timers = deadlinesFor(clock)
        #: The L{WriteBatch} these links coalesce their writes in, or None.
        self.batch = batch
        #: The owner's L{RecentMessages}, if it keeps one: told of each
        #: message sent and received (keepalives aside).
        self.recent = getattr(owner, "recent", None)
        #: The owner's L{PeerLog}, if it keeps one: the lines a peer
        #: causes go through it.
        self.peer_log = getattr(owner, "peer_log", None)

    def fits(self, owner, clock, settings, batch):
        """Whether a link of owner on clock with settings (and batch) can
        share this context: what it would read of them is what this holds."""
        return (self.owner is owner and self.clock is clock
                and self.settings is settings and self.batch is batch
                and self.recent is getattr(owner, "recent", None)
                and self.peer_log is getattr(owner, "peer_log", None))


def batchOf(clock, settings):
    """The L{WriteBatch} links on clock with settings coalesce their
    writes in, or None (L{LinkSettings.coalesce})."""
    coalesce = settings.coalesce
    if coalesce is None:
        coalesce = IReactorFDSet.providedBy(clock)
    return settings.writes if coalesce else None


class OwnContext:
    """
    A link owner that is its links' L{LinkContext} itself: one that holds
    a link at a time (a node's tracker session), whose own fields say
    what a context would hold, where a context was an object of 96 bytes
    more for each node of a simulation.  A subclass has a C{clock}, the
    C{timers} of that clock (L{deadlinesFor}, held: its link waits
    there), and the settings it builds its links with (C{linkSettings});
    it builds each link with that clock and those settings.
    """

    __slots__ = ()

    #: It keeps no recent messages and no peer log of its own.
    recent = peer_log = None

    @property
    def linkContext(self):
        """Its links' context: itself (L{contextFor})."""
        return self

    @property
    def owner(self):
        return self

    @property
    def settings(self):
        return self.linkSettings

    @property
    def stats(self):
        return self.linkSettings.statsOf(self)

    @property
    def batch(self):
        return batchOf(self.clock, self.linkSettings)


def contextFor(owner, clock, settings):
    """
    The L{LinkContext} of a new link of owner: the owner itself if it is
    an L{OwnContext}; else the one its owner's last link was given, if it
    still fits, else a new one (kept on the owner, for the next link,
    when the owner takes attributes).
    """
    context = getattr(owner, "linkContext", None)
    if context is owner:
        return owner
    batch = batchOf(clock, settings)
    if type(context) is LinkContext and context.fits(owner, clock, settings, batch):
        return context
    context = LinkContext(owner, clock, settings, batch)
    try:
        owner.linkContext = context
    except AttributeError:
        pass
    return context


class _Seldom:
    """
    What only some links ever need, in one object made when first needed
    (L{Link._seldomThings}) rather than seven slots on each: its idle
    timeout (a direct link's, a status client's), the times of
    its peer's recent errors (see L{spend}), its drops by message type,
    the Deferreds of its pings waiting for their pongs, by nonce, the
    bytes sent while its transport paused it (None while it does not) and
    how many of them are charged to L{LinkSettings.unsent}, and the
    frames it holds back during a burst (their size, then the frames; see
    L{WriteBatch}).
    """

    __slots__ = ("errors", "dropped", "pongs", "waiting", "charged", "held", "idle",
                 "cut", "broken")

    def __init__(self):
        #: The link's idle timeout (L{Link.idle_timeout}), if it has one.
        self.idle = None
        self.errors = ()
        self.dropped = None
        self.pongs = None
        self.waiting = None
        self.charged = 0
        self.held = ()
        #: Why the link cut its connection (L{Link.drop}), if it did.
        self.cut = None
        #: How the peer broke the framing (L{Link.framingBroken}), if it did.
        self.broken = None

    def cutFor(self, why):
        """The link cut its connection (L{Link.drop}) for why."""
        self.cut = why

    def brokenBy(self, how):
        """The peer broke the framing (L{Link.framingBroken}), as how says."""
        self.broken = how

    def keepIdle(self, idle):
        """The link's idle timeout is now idle (None: none)."""
        self.idle = idle


class ILinkOwner(Interface):
    """
    What a L{Link} hands its connection's life and messages to: the
    overlay (which takes status clients' links too), the node's tracker
    session, the tracker and the tracker's address check.  Pings,
    pongs and undecodable input never reach it.  An owner that keeps a
    L{twisted_bazaar.net.recent.RecentMessages} as ``recent`` has each
    message sent and received noted there; one whose links it opens wait
    for another answer than the peer's thisisme names it as ``awaits``
    (L{Link.awaited}).
    """

    def linkMade(link):
        """The connection is up; nothing has been said on it yet."""

    def messageReceived(link, message):
        """A decoded message, within its rate limit, arrived on link."""

    def linkLost(link, reason):
        """The connection is gone (a Failure says why)."""


class IChannelUp(Interface):
    """
    An L{ILinkOwner} told when the encrypted channel under its link has
    finished its handshake: one that signs the channel's handshake hash
    in its first message (an operator's proof, L{twisted_bazaar.status}).
    """

    def channelUp(link):
        """The channel under link is up: its handshake hash is known."""


@implementer(IProtocol, ILoggingContext, IPushProducer, IChannelProtocol, IQueuedBeside)
class Link(FrameLoop, Keepalive):
    """
    A framed, decoded connection to one peer, on behalf of an
    L{ILinkOwner}.

    @ivar peer_id: the peer's id once the owner has called L{identified},
        else None.
    @ivar inbound: True when the peer connected to us.
    """

    log = Logger()

    # Slots, not a dict of thirty-odd fields, for what a link keeps: a
    # process may hold hundreds of thousands of links (a simulation), and
    # the slots take a fifth of the room.  No base class has a dict either
    # (IProtocol is provided here, not inherited from Twisted's Protocol,
    # whose instances have one: 40 bytes more a link end).  What every
    # link of an owner holds alike is in one L{LinkContext} they share.
    # Its keepalive's one slot, _due, is here (L{Keepalive}, a base: two
    # bases with slots of their own do not combine); whether it is
    # connected is whether it has its transport, not a slot.
    __slots__ = ("transport", "_context", "inbound",
                 "peer_id", "key", "address", "payload", "closing", "deaf", "purpose",
                 "_due", "_last_traffic", "_last_heard", "_nonce",
                 "_buckets", "_seldom")

    def __init__(self, owner, clock, settings, inbound):
        self.transport = None
        #: The owner, clock, settings, deadlines, write batch, recent
        #: messages and peer log, shared with the owner's other links.
        self._context = contextFor(owner, clock, settings)
        # No frame held (L{FrameLoop}): most links of a large simulation
        # never end a read within one.
        self.resetFrames()
        self.inbound = inbound
        self.peer_id = None
        #: The key the peer proved it holds in the handshake, if it proved
        #: one (set by the owner once the link is established), else None.
        self.key = None
        #: Where the peer listens, (host, port), as it introduced itself
        #: (set by the owner once the link is established), else None.
        self.address = None
        #: The bytes of the message the owner is handling, for relaying.
        self.payload = None
        self.closing = False
        #: True once incoming frames are ignored; a retired link (see
        #: L{retire}) stops sending but keeps reading until it closes.
        self.deaf = False
        #: What the link is for (its slot budget), set by the owner.
        self.purpose = None
        # No deadline of its keepalive's waits (L{Keepalive}).
        self.resetKeepalive()
        self._last_traffic = 0.0
        self._last_heard = 0.0
        self._nonce = 0
        # The containers below are made when first needed (None or an
        # empty tuple until then): most links of a large simulation never
        # see an error, a rate limit, a ping of their own or a burst, and
        # these, empty, were a quarter of what a link end held.
        self._buckets = None
        #: The L{_Seldom} things of this link (its peer's errors, its
        #: drops, its pings' pongs, its paused sends, its held frames),
        #: once it has any.
        self._seldom = None

    @property
    def owner(self):
        """The L{ILinkOwner} this link hands its life and messages to."""
        return self._context.owner

    @property
    def clock(self):
        """The link's clock (an C{IReactorTime})."""
        return self._context.clock

    @property
    def settings(self):
        """The L{LinkSettings} of the link's process."""
        return self._context.settings

    @property
    def timers(self):
        """The L{twisted_bazaar.net.timers.Deadlines} of the link's clock."""
        return self._context.timers

    @property
    def idle_timeout(self):
        """Seconds without a trade message after which the link is closed
        politely (None: never), set by the owner per purpose
        (L{setIdleTimeout})."""
        seldom = self._seldom
        return None if seldom is None else seldom.idle

    @property
    def connected(self):
        """1 once the link has its transport (IProtocol's), else 0."""
        return 0 if self.transport is None else 1

    #: What Twisted's Protocol has, for whoever asks a protocol for it.
    factory = None

    # -- life cycle -------------------------------------------------------

    def makeConnection(self, transport):
        """The transport is connected (IProtocol)."""
        self.transport = transport
        self.connectionMade()

    def attach(self, transport):
        """The transport is connected, as a handshake over it left it: no
        C{connectionMade}, nobody told (a simulation's links built as a
        converged market holds them, L{twisted_bazaar.sim.warm})."""
        self.transport = transport

    def channelUp(self):
        """The encrypted channel under the link finished its handshake
        (L{twisted_bazaar.net.encrypted}): its owner is told, if it asks
        to be (an L{IChannelUp}: one that signs the channel's handshake
        hash in its first message)."""
        owner = self._context.owner
        if IChannelUp.providedBy(owner):
            owner.channelUp(self)

    def logPrefix(self):
        """The prefix of the transport's log lines (ILoggingContext)."""
        return self.__class__.__name__

    def connectionMade(self):
        if self.closing:
            # Closed while still connecting (the node is stopping): hang up.
            self.transport.loseConnection()
            return
        self._last_heard = self._last_traffic = self._context.clock.seconds()
        # The transport pauses us when its send buffer fills: that is how a
        # peer that does not read is noticed (see sendPayload).
        self.transport.registerProducer(self, True)
        self.watchHandshake()
        self._context.owner.linkMade(self)

    def _seldomThings(self):
        """This link's L{_Seldom}, made when first needed."""
        seldom = self._seldom
        if seldom is None:
            seldom = self._seldom = _Seldom()
        return seldom

    def connectionLost(self, reason=ConnectionDone()):
        seldom = self._seldom
        reason = _closedBy(self.closing, reason, seldom)
        self.closing = self.deaf = True
        self.unwatch()
        if seldom is not None:
            seldom.held = ()
            if seldom.waiting is not None:
                seldom.waiting = None
                seldom.charged = 0
                self._context.settings.unsent.release(self)
        pongs = None if seldom is None else seldom.pongs
        if pongs:
            seldom.pongs = None
            for waiting in pongs.values():
                waiting.errback(reason)
        self._context.owner.linkLost(self, reason)

    def close(self, reason=None, routine=False):
        """Flush what was written, then close.  Idempotent.

        @param routine: the close is part of a healthy market (a ``dc``, a
            finished check): its reason is logged at debug, not info."""
        if self.closing:
            return
        if reason:
            self.peerLine(LogLevel.debug if routine else LogLevel.info,
                          "closing link to {peer}: {reason}",
                          reason=reason)
        self.closing = self.deaf = True
        if self.transport is not None:
            self.flushWrites()
            # Registered as the transport's producer when it connected (a
            # link closed before that never gets here again): a TLS
            # transport does not hang up while a producer is registered,
            # and this link produces nothing more anyway.
            self.transport.unregisterProducer()
            self.transport.loseConnection()

    def drop(self, reason):
        """Close now, what was written left unsent: a peer silent this long
        reads none of it (and over QUIC, a close would wait for an
        acknowledgement that cannot come)."""
        closing = self.closing
        self.close(reason)
        if self.transport is not None:
            if not closing:
                self._seldomThings().cutFor(reason)
            self.transport.abortConnection()

    def disconnect(self, reason=None):
        """Say ``dc``, then close: the polite way to leave."""
        self.send(wire.Dc())
        self.close(reason, routine=True)

    def retire(self, reason):
        """
        Say ``dc`` and close, but keep handing what the peer already sent
        to the owner until the connection is gone: a link replaced by a
        newer one to the same peer must not lose a message in flight on it.
        """
        self.disconnect(reason)
        self.deaf = False

    def refuse(self, code, info, routine=False):
        """Answer with an error and close: for peers we will not keep
        (``routine``: as L{close}'s)."""
        self.send(wire.Error(code, info))
        self.close(f"{code}: {info}", routine)

    def awaited(self):
        """What the link's handshake still waits for, as the refusal at its
        deadline names it: the encrypted channel's handshake, then, on a
        link the peer opened, its thisisme, and on one this side opened,
        the answer its owner awaits (C{awaits}: a node's tracker session
        waits for thisisyou, then, from a node with a key, the pong to its
        proof's ping; a peer answers thisisme)."""
        secure = ISecureTransport(self.transport, None)
        if secure is not None and secure.handshakeHash is None:
            return "channel handshake"
        if self.inbound:
            return "thisisme"
        return getattr(self._context.owner, "awaits", "thisisme")

    def identified(self, peer_id, settled=True):
        """The owner accepted the peer's introduction: the handshake clock
        stops, and its keepalive watches for silence (not ``settled``: the
        clock runs on until the owner calls C{watchSilence}, a last step
        of its handshake still to come)."""
        self.peer_id = peer_id
        if settled:
            self.watchSilence()

    def keyProven(self, key):
        """The peer proved it holds key (its base64url text), for an owner
        whose handshake is not the overlay's (the tracker's registration,
        L{twisted_bazaar.tracker.keyproofs}), or None: it proved none."""
        self.key = key

    def setIdleTimeout(self, idle):
        """Close the link politely after ``idle`` seconds without trade
        (None: never)."""
        seldom = self._seldom
        if idle is not None and seldom is None:
            seldom = self._seldomThings()
        if seldom is not None:
            seldom.keepIdle(idle)
        self.idleChanged()

    def nextNonce(self):
        """The nonce of a ping of the keepalive's (one not used on this
        link before)."""
        self._nonce += 1
        return self._nonce

    @property
    def lastTraffic(self):
        """When the link last carried a message other than a keepalive
        (either way), on its clock."""
        return self._last_traffic

    @property
    def lastHeard(self):
        """When the peer last sent a message that decoded, on the link's
        clock."""
        return self._last_heard

    def describe(self):
        """A short name for logs: the peer's id if known, and its address;
        a status client's id is a temporary one, no node's.  Over a relay's
        circuit the address is the relay's, said so: the punch's lines
        named "node 5f3a… at" the relay, where the peer was meant, then
        the peer's own address as the relay's (the circuit's peer)."""
        address = self.transport.getPeer() if self.transport else None
        where = hostPort(peerHost(self.transport) or "?", getattr(address, "port", "?"))
        if self.purpose in STATUS_PURPOSES:
            return f"a status client at {where}"
        if self.peer_id is None:
            return where
        if type(self.peer_id) is str:  # the tracker link, named by membership
            return f"{self.peer_id} at {where}"
        relayed = None if self.transport is None else IRelayedTransport(self.transport,
                                                                          None)
        if relayed is not None:
            relay = relayed.relayAt or where
            return f"node {shortId(self.peer_id)} (through the relay at {relay})"
        return f"node {shortId(self.peer_id)} at {where}"

    def peerLine(self, level, format, logger=None, latest=False, **fields):
        """
        Log a line this peer caused (``peer`` in the format names it) on
        ``logger`` (the link's own by default): through the owner's
        L{PeerLog}, which bounds what one address group gets logged, or
        straight away if the owner keeps none.  ``latest``: the line says
        what the node now holds (L{PeerLog.emit}).
        """
        logger = logger or self.log
        fields["peer"] = self.describe()
        peer_log = self._context.peer_log
        if peer_log is None:
            logger.emit(level, format, **peerFields(fields))
        else:
            peer_log.emit(logger, level, groupOf(self), format, latest, **fields)

    # -- reading: what the peer sends ------------------------------------------

    def dataReceived(self, data):
        """
        Read a burst: split it into messages (L{FrameLoop.readFrames});
        with a write batch, what is sent meanwhile goes out when the
        outermost read is done (see L{twisted_bazaar.net.batch.WriteBatch}).
        """
        batch = self._context.batch
        if batch is None:
            self.readFrames(data)
            return
        batch.depth += 1
        try:
            self.readFrames(data)
        finally:
            batch.depth -= 1
            if not batch.depth and batch.dirty:
                batch.flush()

    @property
    def MAX_LENGTH(self):  # noqa: N802 (the frame loop's name, Twisted's)
        """The link's frame limit (the registry's ``link.frame``)."""
        return self._context.settings.frame_limit

    def unframed(self, data, start):
        """A deaf link reads nothing more (L{FrameLoop})."""
        return None

    def framingBroken(self, reason):
        self.peerLine(LogLevel.warn, "broken netstring from {peer}: {reason}",
                      reason=reason)
        if not self.closing:
            self._seldomThings().brokenBy(reason)
        self.close()

    def stringReceived(self, data):
        """
        One frame from the peer, in steps: decoded (L{_undecodable} if
        not), counted (--metrics), noted as heard, held to its kind's
        rate, logged with --verbose; then a ping or a pong is answered
        here, a complaint about the link itself is charged to the error
        budget, and every other message goes to the link's owner.  The
        steps every message takes are inline: this runs once a frame.
        """
        if self.deaf:
            return
        try:
            message = wire.decode(data)
        except wire.ProtocolError as e:
            self._undecodable(e)
            return
        context = self._context
        settings = context.settings
        if settings.traffic is not None:
            settings.traffic.messageReceived(message.TYPE, len(data))
        # Only a message that makes sense shows the peer is alive: garbage
        # must not keep a dead peer's link open.
        now = self._last_heard = context.clock.seconds()
        if message.BUCKET is not None:
            buckets = self._buckets
            bucket = None if buckets is None else buckets.get(message.BUCKET)
            if type(bucket) is not TokenBucket:
                bucket = self._bucket(message.BUCKET, now, bucket)
            if not bucket.take(now):
                self.dropOverRate(message.TYPE, bucket.rate)
                return
        if settings.verbose:
            self.log.info("<- {peer} {frame}", peer=self.describe(),
                          frame=data.decode("utf-8"))
        kind = type(message)
        if kind in _OWN and _OWN[kind](self, message):
            # A test of the table, no call: every message a node relays
            # comes this way (docs/architecture.md, "Taking a message").
            return
        # To the link's owner, noting the traffic (and, but on a status
        # link, the recent messages seen): inline, since every relayed
        # message comes this way.
        self._last_traffic = now
        recent = context.recent
        if recent is not None and self.purpose not in STATUS_PURPOSES:
            recent.note((now, IN, self.peer_id, message.TYPE))
        self.payload = data
        context.owner.messageReceived(self, message)
        # Not kept past its handling: a quiet link would hold its last
        # message for as long as it lives.
        self.payload = None

    def _undecodable(self, error):
        """A frame that does not decode (a L{wire.ProtocolError}) is
        refused, and before the handshake is done ends the link (after
        it, the link stays open: docs/protocol.md §14)."""
        if self._context.settings.verbose:
            self.log.info("<- {peer} undecodable: {info}", peer=self.describe(),
                          info=error.info)
        self.protocolError(error.code, error.info, answer=error.answerable,
                           close=self.peer_id is None)

    def withinRate(self, name, kind):
        """
        Whether a message of ``kind`` taken now is within this link's rate
        of bucket ``name``; one over it is dropped (L{dropOverRate}).  For
        a message rated where it is taken, not at each link that hands it
        on: a buy, at its seller (each costs the seller a write and a
        signature; a node that relays it pays only the relaying).
        """
        now = self._context.clock.seconds()
        buckets = self._buckets
        bucket = None if buckets is None else buckets.get(name)
        if type(bucket) is not TokenBucket:
            bucket = self._bucket(name, now, bucket)
        if bucket.take(now):
            return True
        self.dropOverRate(kind, bucket.rate)
        return False

    def _bucket(self, name, now, held):
        """The token bucket of a rated kind of message on this link, held
        as the time of its last take or not yet (L{bucketIn}): made at its
        first message; a message over its bucket's rate is dropped
        (L{dropOverRate})."""
        buckets = self._buckets
        if buckets is None:
            buckets = self._buckets = {}
        return bucketIn(buckets, name, bucketRate(self._context.settings.rates, name),
                        now, held)

    def _pinged(self, message):
        """A ping is answered with its pong, once the peer has said who
        it is (before that, it ends the link)."""
        if self.peer_id is not None:
            self.send(wire.Pong(message.nonce))
        else:
            self.protocolError("wtf", "say thisisme before ping", close=True)
        return True

    def _ponged(self, message):
        """A pong fires the wait of the ping it answers, if any (before
        the peer has said who it is, it ends the link)."""
        if self.peer_id is None:
            self.protocolError("wtf", "say thisisme before pong", close=True)
            return True
        seldom = self._seldom
        pongs = None if seldom is None else seldom.pongs
        waiting = pongs.pop(message.nonce, None) if pongs else None
        if waiting is not None:
            waiting.callback(None)
        return True

    def _erred(self, error):
        """An error about the link itself costs its sender as a bad
        message would (L{_earn}): a flood of well-formed errors is cut off
        (taken here); one within the budget, or one with a path, goes to
        the owner."""
        return error.path is None and self._earn()

    def dropOverRate(self, kind, rate):
        """A message over its rate (this link's, or one its owner keeps
        for many links): dropped, counted, and logged once."""
        seldom = self._seldomThings()
        dropped = seldom.dropped
        if dropped is None:
            dropped = seldom.dropped = {}
        count = dropped.get(kind, 0)
        if not count:
            self.peerLine(LogLevel.warn, "{peer} sends {kind} faster than {rate:g}/s; "
                          "dropping the excess", kind=kind, rate=rate)
        dropped[kind] = count + 1
        total = self.settings.dropped
        total[kind] = total.get(kind, 0) + 1
        if self.settings.traffic is not None:
            self.settings.traffic.messageDropped("rate", kind)

    def protocolError(self, code, info, answer=True, close=False):
        """
        The peer sent something wrong: answer it (unless it was an error
        itself), and cut the peer off if it closes or keeps doing so.
        """
        if answer:
            self.send(wire.Error(code, info))
        if self.settings.traffic is not None:
            self.settings.traffic.protocolError(code)
        if close:
            self.close(f"{code}: {info}")
        else:
            self._earn()

    def _earn(self):
        """
        The peer spent one more of its error budget (``error_limit`` in
        ERROR_WINDOW seconds): True if that was one too many, and the link
        is closed.
        """
        seldom = self._seldomThings()
        over, errors = spend(seldom.errors, self.clock.seconds(),
                             self.settings.error_limit)
        seldom.errors = errors
        if over:
            self.close(f"{len(errors)} bad messages in {ERROR_WINDOW:g} s")
            return True
        return False

    @property
    def dropped(self):
        """message type -> number this peer sent past its rate limit."""
        seldom = self._seldom
        return {} if seldom is None or seldom.dropped is None else seldom.dropped

    def ping(self):
        """
        Ping the peer now.  The Deferred fires when its pong comes back:
        the stream is in order, so the peer has then read everything sent
        on this link before the ping.  It fails if the link closes first,
        and never fires if the peer does not answer (cancel it).
        """
        if self.closing or self.transport is None or self.peer_id is None:
            return defer.fail(ConnectionDone("the link is closing"))
        self._nonce += 1
        nonce = self._nonce
        seldom = self._seldomThings()
        if seldom.pongs is None:
            seldom.pongs = {}
        waiting = seldom.pongs[nonce] = defer.Deferred(
            lambda d: seldom.pongs and seldom.pongs.pop(nonce, None))
        self.send(wire.Ping(nonce))
        return waiting

    # -- writing: what the link sends ------------------------------------------

    def send(self, message):
        """Encode and send one message; a closing link drops it quietly."""
        if not self.closing and self.transport is not None:
            self.sendPayload(wire.encode(message), message.TYPE)

    def sendPayload(self, payload, kind):
        """
        Send a message already encoded: one relayed unchanged, or one
        encoded once for many links.  ``kind`` is its type, for counting.
        """
        if self.closing or self.transport is None:
            return
        context = self._context
        settings = context.settings
        if len(payload) > settings.frame_limit:
            # What a peer asks for (or sends on to be relayed) can make
            # this happen again and again: bounded as a peer's lines are.
            self.peerLine(LogLevel.error, "not sending {type} to {peer}: {size} bytes "
                          "is over the frame limit", type=kind, size=len(payload))
            if settings.traffic is not None:
                settings.traffic.messageDropped("oversize", kind)
            return
        seldom = self._seldom
        if seldom is not None and seldom.waiting is not None and self._waits(
                seldom, len(payload), kind):
            return
        if kind != "ping" and kind != "pong":
            now = self._last_traffic = context.clock.seconds()
            recent = context.recent
            if recent is not None and self.purpose not in STATUS_PURPOSES:
                recent.note((now, OUT, self.peer_id, kind))
        stats = context.stats
        if stats is not None:
            stats[kind] = stats.get(kind, 0) + 1
        traffic = settings.traffic
        if traffic is not None:
            traffic.messageSent(kind, len(payload))
        if settings.verbose:
            self.log.info("-> {peer} {frame}", peer=self.describe(),
                          frame=payload.decode("utf-8"))
        batch = context.batch
        if batch is None or not batch.depth:
            self.transport.write(b"%d:%b," % (len(payload), payload))  # frame(), inline
            return
        if seldom is None:
            seldom = self._seldomThings()
        held = seldom.held
        if not held:
            batch.dirty.append(self)
            held = seldom.held = [0]
        framed = b"%d:%b," % (len(payload), payload)  # frame(payload), inline
        held.append(framed)
        held[0] += len(framed)
        if held[0] >= FLUSH_BYTES:
            self.flushWrites()

    def queuedBeside(self, size):
        """
        The transport queues ``size`` bytes of its own for the peer (a
        pong to the peer's ping): while it has paused this link they wait as what
        the link writes does, charged alike (L{IQueuedBeside
        <twisted_bazaar.net.capabilities.IQueuedBeside>}); False if the
        link is dropped for them, or is closing.
        """
        if self.closing or self.transport is None:
            return False
        seldom = self._seldom
        if seldom is None or seldom.waiting is None:
            return True
        return not self._waits(seldom, size, None)

    def _waits(self, seldom, size, kind):
        """``size`` more bytes wait for the peer of a paused link: counted
        against the write limit and charged to the account; True if the
        link is dropped for them."""
        settings = self._context.settings
        seldom.waiting += size
        if seldom.waiting > settings.write_limit:
            self._notReading(f"over {settings.write_limit} bytes waiting", kind)
            return True
        return seldom.waiting > seldom.charged and self._charge(seldom, kind)

    def _charge(self, seldom, kind):
        """
        Charge what waits for the peer to the process's account of unsent
        bytes, a sixteenth of the write limit ahead, so that a paused link
        goes to the account a few times a spell, not once a message.  The
        links that give way for it are dropped; True if this one is.
        """
        settings = self._context.settings
        charge = seldom.waiting + (settings.write_limit >> 4)
        victims = settings.unsent.take(self, groupOf(self), charge)
        if victims is None:
            self._notReading("its address group holds the most of the "
                             f"{settings.unsent.capacity} bytes this process keeps "
                             "for peers that do not read", kind)
            return True
        seldom.charged = charge
        for victim in victims:
            victim._notReading("its bytes waiting gave way to those of a peer of an "
                               "address group holding fewer", None)
        return False

    def _notReading(self, why, kind):
        """The peer does not read, and what waits for it is over a bound:
        the link goes at once, with what it had unsent."""
        settings = self._context.settings
        self.peerLine(LogLevel.warn, "{peer} is not reading: {why}; dropping the link",
                      why=why)
        self.closing = self.deaf = True
        seldom = self._seldom
        seldom.held = ()
        seldom.waiting = None
        seldom.charged = 0
        settings.unsent.release(self)
        self.transport.abortConnection()
        if settings.traffic is not None and kind is not None:
            settings.traffic.messageDropped("slow-reader", kind)

    def flushWrites(self):
        """Hand the frames held back during a burst to the transport, in
        one write."""
        seldom = self._seldom
        held = () if seldom is None else seldom.held
        if not held:
            return
        seldom.held = ()
        if self.transport is None:
            return
        data = held[1] if len(held) == 2 else b"".join(held[1:])
        batch = self._context.batch
        if batch is not None and batch.depth:
            # In the middle of a burst (FLUSH_BYTES held): more follows on
            # this turn, so the transport gathers it and sends once, at
            # the turn's end, not a send each FLUSH_BYTES (a relayed
            # stream: net/sendnow.py).
            transport = self.transport
            if IHeldWrites.providedBy(transport):
                transport.writeLater(data)
            else:
                transport.write(data)
        else:
            self.transport.write(data)

    # -- IPushProducer: the transport's view of our sending -------------------

    def pauseProducing(self):
        """
        The send buffer is full: count what we add to it from now on.

        A reactor's transport calls this again on every write while its
        buffer stays full, so only the first call of a paused spell starts
        the count.
        """
        seldom = self._seldomThings()
        if seldom.waiting is None:
            seldom.waiting = 0

    def resumeProducing(self):
        self._drained()

    def stopProducing(self):
        self._drained()

    def _drained(self):
        """Nothing waits for the peer any more: its bytes are uncharged."""
        seldom = self._seldom
        if seldom is not None and seldom.waiting is not None:
            seldom.waiting = None
            seldom.charged = 0
            self._context.settings.unsent.release(self)


#: What a link takes itself, before its owner: message class ->
#: function(link, message), true if the link took it (else the owner
#: gets it too).
_OWN = {wire.Ping: Link._pinged, wire.Pong: Link._ponged, wire.Error: Link._erred}
