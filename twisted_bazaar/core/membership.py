"""
A node's session with the tracker: registering, keeping its id, and
asking the tracker questions.

L{Membership} owns the node's link to the tracker.  The connection itself
is kept up by a L{Reconnector} (reconnecting with backoff, and saying why
and when in the log); each time it
comes up the node says thisisme with the id it already has, so a restarted
tracker gives it back.  A node of several trackers (``--tracker`` given
again) has one session at a time, with the first of them that takes it;
the L{Reconnector} moves it to the next when its tracker fails, and back
to one named before once it answers.  The session is an explicit state machine
(L{_MOVES}): idle -> introducing -> registered, back to idle when the link
goes, and stopped for good.  A node with a key sends its proof to the
tracker's thisisyou, which the tracker takes without a word (or refuses,
with an error and a close); the node pings it behind its proof, which
the tracker answers only once it registered the node, and says it is
registered (and ready) only on that pong, when its parts start
(C{trackerRegistered}; a ``reach`` heard before it waits for it).

Questions (``nodereq``, ``whereis``, L{TrackerQuestions
<twisted_bazaar.core.trackerquestions.TrackerQuestions>}, a mixin of the
session) are answered by the tracker in order,
each with one ``nodereply``; C{ask} returns a Deferred per question, each
waited on for a bounded time (L{twisted_bazaar.core.questions}); a
tracker that leaves several in a row unanswered is left, as if lost.  Every
message from the tracker goes to the handler of its type (a part's
table, L{parts}): the session's own (``reach``, ``nodereply``, ``error``,
``dc``), a scheme's answers, the reservation service's relay messages
(L{twisted_bazaar.reach.reachable.reserving}); an ``error`` is logged, then handed
to the handler registered for its code (L{handleError}); a type nobody
registered is refused (``error{wtf}``).  The tracker tells the node what
each check of its address finds (``reach``); the node keeps that as its
reachability (L{twisted_bazaar.reach.reachable.reachability}), and tells the node's parts
(C{reachChanged}), which act on it: hole punching, the reservation
service (found private, it reserves at a relay), the relay offering
service (found public, it offers the node's own relay,
L{twisted_bazaar.reach.reachable.offering}).  When the tracker link closes the parts
are told so too (C{trackerLost}).
"""

from twisted.internet import defer
from twisted.internet.protocol import Factory
from twisted.logger import Logger, LogLevel
from zope.interface import implementer

from twisted_bazaar.net.reconnect import inWords
from twisted_bazaar.wire.ids import shortId, wireId
from twisted_bazaar.base.backoff import exponential
from twisted_bazaar.base.slotservice import SlotService
from twisted_bazaar import wire
from twisted_bazaar.core.market import schemeOf
from twisted_bazaar.reach.ownpaths import ownPaths
from twisted_bazaar.reach.reachable.reaching import Reaching
from twisted_bazaar.core.sessionhandlers import SessionParts
from twisted_bazaar.core.trackerquestions import TrackerQuestions
from twisted_bazaar.core.trackersrelay import TrackersRelay, atHostOf
from twisted_bazaar.identity.proofs import REGISTER
from twisted_bazaar.net.handshake import PLAIN, LinkHandshake, channelKey
from twisted_bazaar.net.link import ILinkOwner, Link, OwnContext
from twisted_bazaar.net.timers import deadlinesFor
from twisted_bazaar.net.reconnect import Reconnector

#: How the tracker link is named in logs.
TRACKER = "tracker"

#: The states of a tracker session (L{Membership.state}): no tracker link;
#: the link up and thisisme sent, waiting for thisisyou; named by the
#: tracker; shutting down, no new session.
IDLE, INTRODUCING, REGISTERED, STOPPED = "idle", "introducing", "registered", "stopped"


class NoMove(Exception):
    """A tracker session was given an input its state does not take."""


@implementer(ILinkOwner)
class Membership(TrackerQuestions, OwnContext, SlotService):
    """
    The node's tracker session.  Parts of it are made when first needed:
    what it knows of the tracker's own relay (L{TrackersRelay}), the
    handlers its node's parts register (L{SessionParts}), its link
    factory (L{factory}) and what it does with a reach (L{Reaching}).

    @ivar link: the tracker link while it is up, else None.
    """

    log = Logger()
    @property
    def awaits(self):
        """What its tracker link waits for once its thisisme is sent (the
        link's refusal at the handshake's deadline names it): thisisyou,
        then, from a node that proved its key, the pong to the ping behind
        its proof."""
        return "thisisyou" if self._handshake is not None else "pong to the proof's ping"

    # Slots, not a dict: a simulated node holds one (40 bytes less).
    # L{TrackerQuestions}' own field, _asked, is among them (a base with
    # slots of its own would not combine with L{SlotService}'s).
    __slots__ = ("node", "clock", "state", "link", "timers", "_factory",
                 "_reaching", "_local", "_handshake", "_taken", "_heldReach",
                 "_namedBy", "_asked", "_ways", "_client", "_parts", "_relays")

    def __init__(self, node, endpoint=None, retry_initial=0.5, retry_max=30.0,
                 address=None, others=(), ways=()):
        """
        @param address: where the tracker is, as the log should say it
            (``127.0.0.1:7700``).
        @param others: (endpoint, address) of more trackers (``--tracker``
            given again), in order: the node registers with one at a time
            and moves on to the next when its tracker fails, refuses it or
            is lost, and back to one named before once it answers again
            (asked every ``retry_max`` seconds; L{Reconnector}).
        @param ways: for each tracker, in the same order, the path the
            node dials its relay by (L{trackerWay}), or None.
        """
        SlotService.__init__(self)
        self.node = node
        self.clock = node.clock
        #: Its clock's deadlines, where its link waits: it is its link's
        #: context itself (L{OwnContext}), one at a time.
        self.timers = deadlinesFor(self.clock)
        #: The session's L{SessionParts}, once a part registered; the
        #: tracker's relay (L{TrackersRelay}) once it named one.
        self._parts = self._relays = None
        #: Where the session is (L{_MOVES}): one of L{IDLE},
        #: L{INTRODUCING}, L{REGISTERED} and L{STOPPED}.
        self.state = IDLE
        self.link = None
        #: L{factory}, made when first asked for: a simulated node's
        #: tracker link is built by hand (L{buildLink}), and a million
        #: nodes held one each for nothing (80 bytes).
        self._factory = None
        #: What it does with a reach, kept while a new host waits on the
        #: node's pace (L{Reaching.heard}): made for each reach until then,
        #: and most nodes never have a new host (632 bytes each, with its
        #: closures, a node that heard its reach once held for nothing).
        self._reaching = None
        #: Where the tracker connection leaves from, when the host the
        #: node tells everyone is chosen from it (no --host), else None.
        self._local = None
        #: This node's side of the registration handshake on the tracker
        #: link (L{LinkHandshake}), until the tracker names it.
        self._handshake = None
        #: Whether the tracker on this link has shown it registered the
        #: node (L{_accepted}), until the link goes.
        self._taken = False
        #: The tracker's latest ``reach`` heard before it showed it took
        #: the node, else None (L{_reached}).
        self._heldReach = None
        #: Which of the node's trackers (its index in the
        #: L{Reconnector}'s) the node last registered with, or None: what
        #: it named of peers is this node's word on them until the node
        #: registers with another.
        self._namedBy = None
        # Its questions' own state, in the order of the session's
        # attributes (one table of their names for every session).
        TrackerQuestions.__init__(self)
        self._ways = tuple(ways)
        self._client = None
        if endpoint is not None:
            policy = exponential(retry_initial, retry_max, node.rng)
            what = f"the tracker at {address}" if address else "the tracker"
            self._client = Reconnector(
                endpoint, self.factory, node.clock, policy, what,
                others=[(other, f"the tracker at {where}") for other, where in others],
                probe_interval=retry_max, onMove=self._moveBack)

    @property
    def factory(self):
        """What builds each tracker link (L{buildLink}), for a
        connector's endpoint."""
        factory = self._factory
        if factory is None:
            factory = self._factory = _TrackerClientFactory(self)
        return factory

    @property
    def linkSettings(self):
        """The settings of its links: the node's."""
        return self.node.config.link

    def buildLink(self):
        """A new tracker link of this session, not yet connected."""
        return Link(self, self.clock, self.linkSettings, inbound=False)

    # -- the state machine ---------------------------------------------------
    # Its own table (L{_MOVES}), not automat's: automat made each session a
    # transitioner and a closure for each input it took, 0.2 kB of every
    # simulated node (docs/simulator.md, "twelfth round").

    def _move(self, name, *args):
        """Take input ``name``: to its next state, then its output, if any
        (L{_MOVES}); an input the state does not take is a bug."""
        move = _MOVES.get((self.state, name))
        if move is None:
            raise NoMove(f"the tracker session takes no {name} when {self.state}")
        self.state, output = move
        if output is not None:
            output(self, *args)

    def connected(self, link):
        """The tracker link came up."""
        self._move("connected", link)

    def named(self, link, answer):
        """The tracker said thisisyou."""
        self._move("named", link, answer)

    def lost(self, link, reason):
        """The tracker link closed."""
        self._move("lost", link, reason)

    def stop(self):
        """The node is stopping."""
        self._move("stop")

    def _introduce(self, link):
        self.link = link
        node = self.node
        if not node.config.host and (not node.host or self._local is not None):
            # Without --host a node tells everyone where this connection
            # leaves from, but never a local address (a home's): there,
            # where the tracker sees it (L{Node.advertiseFrom}).
            self._local = getattr(link.transport.getHost(), "host", "") or ""
            node.advertiseFrom(self._local)
        handshake = self._handshake = LinkHandshake()
        link.send(_hello(node, link, handshake))

    def _register(self, link, answer):
        handshake, self._handshake = self._handshake, None
        proving = handshake.proves and answer.nonce is not None
        if proving:
            # The tracker registers a node with a key once it proves it
            # holds it, to this tracker, in this registration (the
            # tracker proves nothing: it is who the node connected to).
            link.send(wire.Proof(handshake.prove(answer.key, answer.nonce)))
        handshake.establish()
        # A proving node's handshake ends with the pong to its ping: till
        # then its deadline runs, so that a tracker that took the proof and
        # never answers (or a ping or pong lost to a simulation's faults)
        # ends the link, to be dialled again, not hold it unregistered.
        link.identified(TRACKER, settled=not proving)
        if self._client is not None:
            # A tracker that refuses (noslots) is tried less and less often.
            self._client.succeeded()
            tracker = self._client.index
            if self._namedBy is not None and tracker != self._namedBy:
                self.node.whereabouts.trackerChanged()
            self._namedBy = tracker
        self.node.setId(answer.id, accepted=False)
        if proving:
            # The tracker takes a proof without a word, and answers a ping
            # only on a connection it registered: the pong of this one,
            # sent behind the proof, is the sign (a link that closes
            # first fails it: refused, or lost).
            link.ping().addCallbacks(self._accepted, lambda _: None,
                                     callbackArgs=(link, answer.id))
        else:
            self._accepted(answer, link, answer.id)

    def _accepted(self, _, link, node_id):
        """The tracker showed it registered this node: said, and told;
        only now do the parts start (C{trackerRegistered}), and the
        session carry their messages and questions (L{isRegistered})."""
        if link is not self.link:
            return
        link.watchSilence()
        self._taken = True
        self.log.info("registered with the tracker as node {short} (id {id}){at}",
                      short=shortId(node_id), id=wireId(node_id), at=_at(self._client))
        self.node.trackerAccepted()
        self.node.events.trackerRegistered()
        held, self._heldReach = self._heldReach, None
        if held is not None:
            self._reached(link, held)

    def _forget(self, link, reason):
        self.link = None
        self._taken = False
        self._heldReach = None
        self.node.trackerLeft()
        if self._relays is not None:
            self._relays = None
        self.node.events.trackerLost()
        self.clearQuestions(inWords(reason))

    def _refuseLink(self, link):
        link.close("the node is stopping", routine=True)

    def _leave(self):
        self.clearQuestions("the node is stopping")
        if self.link is not None:
            self.link.disconnect("node shutting down")

    def _moveBack(self, why):
        """A tracker named before this one answers again: leave this one
        (saying dc), to register there (L{Reconnector})."""
        if self.link is not None:
            self.link.disconnect(why)

    # -- the link owner's interface --------------------------------------------

    def linkMade(self, link):
        self.connected(link)

    def linkLost(self, link, reason):
        if link is self.link:
            self.lost(link, reason)
        if self._client is not None:
            # Shutting down, the node said dc: no reconnection.
            self._client.lost(reason, again=not self.node.stopping)

    def messageReceived(self, link, message):
        """A message from the tracker, to the handler its type has: before
        the tracker named the node, L{_INTRODUCING}'s; then the session's
        own (L{_SESSION}), or a part's (L{parts}); none: refused."""
        kind = type(message)
        if link.peer_id is None:
            handler = _INTRODUCING.get(kind)
        else:
            handler = _SESSION.get(kind)
            if handler is None and self._parts is not None:
                if self._parts.dispatch(kind, link, message):
                    return
        if handler is None:
            self.unexpected(message, link)
        else:
            handler(self, link, message)

    @property
    def parts(self):
        """What the node's parts have the session do with the tracker's
        messages and errors (L{SessionParts}: C{takeFrom}, C{handleError}),
        made at the first registration."""
        if self._parts is None:
            self._parts = SessionParts(_SESSION)
        return self._parts

    def unexpected(self, message, link=None):
        """The tracker sent what this node does not expect of it now
        (before it named the node, or a type nobody registered, or a
        relay message a part has no use for): ``error{wtf}``."""
        if link is None:
            link = self.link
        before = " before thisisyou" if link.peer_id is None else ""
        link.protocolError("wtf", f"a node does not expect {message.TYPE} from the "
                           f"tracker{before}")

    def _named(self, link, answer):
        handshake = self._handshake
        fault = _namingFault(answer, None if handshake is None or handshake.ownKey is None
                             else self.node.identity.id, channelKey(link.transport))
        if fault is not None:
            link.protocolError("wtf", fault, close=True)
            return
        self.named(link, answer)

    def _trackerSays(self, link, error):
        """An ``error`` from the registered session: logged, then handed
        to the part that registered its code (L{SessionParts.erred}); at
        debug when that part gets over it by itself (L{SessionParts.routine})."""
        _said(self, link, error, self._parts is not None and self._parts.routine(error))
        if self._parts is not None:
            self._parts.erred(error)

    def _reached(self, link, message):
        """What the tracker's check of the node found (L{Reaching.heard}),
        which has its parts reserve or offer a relay: kept until the
        tracker showed it took the node (a tracker may send it before the
        pong behind the proof), the latest only."""
        if not self._taken:
            self._heldReach = message
            return
        reaching = self._reaching
        if reaching is None:
            node = self.node
            reaching = Reaching(
                node.whereabouts, node.setReach, node.events, node.overlay.peer_log,
                lambda: node.advertising, node.advertiseFrom, lambda: node.host)
        if reaching.heard(self.link, self._local, message, self.log):
            self._reaching = reaching

    # -- the tracker's own relay (L{TrackersRelay}) ----------------------------------

    @property
    def trackersRelay(self):
        """What the session knows of the tracker's own relay on this
        connection (L{TrackersRelay}), made when first told of one."""
        if self._relays is None:
            self._relays = TrackersRelay()
        return self._relays

    def isTrackerRelay(self, relay):
        """Whether relay (``HOST:PORT``) is the tracker's own, on this
        connection (L{TrackersRelay.holds})."""
        return self._relays is not None and self._relays.holds(relay)

    @property
    def trackerWay(self):
        """The path this node dials its tracker's relay by: the one the
        transport it reaches the tracker by serves it at (a reservation
        there is kept the way the tracker was reached: a node whose
        network lets only HTTP(S) out reaches no other port), or None:
        the relay's own port, as the tracker names it."""
        index = 0 if self._client is None else self._client.index
        return self._ways[index] if index < len(self._ways) else None

    def atTrackersHost(self, relay):
        """Whether relay (``HOST:PORT``) is at the host this node's tracker
        connection reaches (L{atHostOf})."""
        return atHostOf(self.link, relay)

    # -- what schemes and roles use -----------------------------------------------

    @property
    def isRegistered(self):
        """True while the tracker link is up and the tracker has shown
        it registered this node (a node with a key: it answered the ping
        behind the proof)."""
        return self.link is not None and self._taken

    def send(self, message):
        """Send to the tracker if registered; False if there is no tracker."""
        if not self.isRegistered:
            return False
        self.link.send(message)
        return True

    def trackerSilent(self, why):
        """Questions left unanswered: leave the tracker, as if lost."""
        if self.link is not None:
            self.log.warn("leaving the tracker{at}: {why}", at=_at(self._client), why=why)
            self.link.disconnect(why)

    # -- IService -------------------------------------------------------------------

    def startService(self):
        super().startService()
        if self._client is not None:
            self._client.start()

    def stopsWhen(self, stopping):
        """``stopping()`` says whether the daemon is stopping before it
        tells the node (a stop signal came; the reactor's shutdown, a turn
        later, stops the node): a tracker lost meanwhile (one stopped by
        the same signal) is not said lost, nor tried again."""
        if self._client is not None:
            self._client.stopsWhen(stopping)

    def leaving(self):
        """The node begins to stop, its parts first (which may still ask
        the tracker): the tracker is not tried again, and a loss of it
        from now on is no loss to say (a tracker stopped at the same
        moment)."""
        if self._client is not None:
            self._client.stopTrying()

    def stopService(self):
        super().stopService()
        self.stop()
        if self._reaching is not None:
            self._reaching.stop()
        if self._client is not None:
            return self._client.stop()
        return defer.succeed(None)


#: (state, input) -> (next state, what the session does, or None): every
#: input a state takes (L{Membership._move}).
_MOVES = {
    (IDLE, "connected"): (INTRODUCING, Membership._introduce),
    (IDLE, "stop"): (STOPPED, None),
    (INTRODUCING, "named"): (REGISTERED, Membership._register),
    (INTRODUCING, "lost"): (IDLE, Membership._forget),
    (INTRODUCING, "stop"): (STOPPED, Membership._leave),
    (REGISTERED, "lost"): (IDLE, Membership._forget),
    (REGISTERED, "stop"): (STOPPED, Membership._leave),
    (STOPPED, "connected"): (STOPPED, Membership._refuseLink),
    (STOPPED, "named"): (STOPPED, None),
    (STOPPED, "lost"): (STOPPED, Membership._forget),
    (STOPPED, "stop"): (STOPPED, None),
}


#: The tracker's error codes a node's line says in words, not by the
#: wire's name: its refusals in the normal run of a market (many nodes of
#: one address group starting at once).
_SAID = {"noudp": "the tracker refused a UDP check or punch"}


def _said(session, link, error, routine=False):
    what = _SAID.get(error.code) or f"tracker says {error.code}"
    session.log.emit(LogLevel.debug if routine else LogLevel.info, "{what}: {info}",
                     what=what, code=error.code, info=error.info)


def _dc(session, link, message):
    link.close("tracker said dc", routine=True)


#: What the tracker may send before it names the node: type ->
#: function(session, link, message); one table for every node.
_INTRODUCING = {wire.ThisIsYou: Membership._named, wire.Error: _said}
#: What the registered session takes itself; parts add others
#: (L{Membership.parts}).
_SESSION = {wire.Reach: Membership._reached, wire.NodeReply: Membership.answered,
            wire.Error: Membership._trackerSays, wire.Dc: _dc}


def _hello(node, link, handshake):
    """The node's thisisme on a new tracker link, begun with handshake.
    Only an explicit --host is advertised; without one the tracker records
    the address it sees this connection come from."""
    scheme, superpeer = schemeOf(node.discovery)
    nonce = handshake.begin(node.identity, REGISTER)
    # A simulation's tracker link, made up whole, leaves from nowhere: it
    # names no local address, and makes the node no whereabouts.
    lan = None if link.transport is None else node.whereabouts.announce(link)
    return wire.ThisIsMe(-1 if node.id is None else node.id, node.port,
                         node.config.host, scheme=scheme, superpeer=superpeer,
                         key=handshake.ownKey, nonce=nonce, reach=True,
                         paths=ownPaths(lan=lan, udp=node.udpPort,
                                        more=node.advertisedPaths()))


def _at(client):
    """`` at ADDRESS`` of the tracker client (a L{Reconnector}) is
    connected to, for a node of several trackers; empty for one of one."""
    if client is None or len(client.targets) == 1:
        return ""
    return " " + client.what.removeprefix("the tracker ")


def _namingFault(answer, own_id, channel=PLAIN):
    """Why a thisisyou cannot be taken by a node whose key's id is
    ``own_id`` (None: no key), on a connection whose channel proved the
    key ``channel`` (L{channelKey}), or None."""
    if (answer.key is None) != (answer.nonce is None):
        return "thisisyou names the tracker's key and nonce together, or neither"
    if answer.key is not None and channel is not PLAIN and answer.key != channel:
        # The node's proof names the key of thisisyou as its verifier:
        # it must be the key of the peer at the other end of this
        # channel, as a thisisme's must (protocol.md §2.1), never one the
        # sender only said.
        if channel is None:
            return "thisisyou names a key on a connection whose channel proved none"
        return ("thisisyou names a key that is not the one this connection's channel "
                "proved")
    if own_id is not None and answer.id != own_id:
        # A node with a key is its key's id, at every tracker: one that
        # took another (a lying tracker's) said it, with its key, in
        # every thisisme, and every peer and relay refused it, while
        # the tracker kept it registered: it never moved on.
        return (f"thisisyou names node {wireId(answer.id)}: a node with a key is "
                f"its key's id, {wireId(own_id)}")
    return None


class _TrackerClientFactory(Factory):
    """What the L{Reconnector} uses to build each tracker connection."""

    noisy = False

    def __init__(self, membership):
        self.membership = membership

    def buildProtocol(self, addr):
        return self.membership.buildLink()
