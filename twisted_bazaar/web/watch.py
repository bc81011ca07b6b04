"""
L{StatusWatcher}: keeps a L{MarketView} current.  Every ``interval``
seconds it reads the tracker's members and asks each live node ``state``
over one long-lived ``status`` link per node (docs/protocol.md §12a), so
a node logs the view's link once, not once a question.

Its cost is bounded: at most ``inFlight`` connections being opened and
``inFlight`` questions unanswered at a time (the rest wait for a later
round), but that the questions of members in doubt (below) count for at
most half of them, and a question unanswered after ``timeout`` seconds
closes its link, to be opened again.  A member has one link and one
question at most, and the members are asked in turn, those asked
longest ago first.

No member can hold it up for the others: each has ``budget`` seconds to
open its link (connection, channel and ``thisisme``), and one that does
not, or whose question goes unanswered until its link is closed, is in
doubt: it is tried again only after a wait that doubles with each
failure in a row.  A question unanswered for ``budget`` seconds puts its
member in doubt too, while its link waits out ``timeout``.  Members in
doubt take at most half of the connections being opened and of the
questions, and count for at most half against the others, so silent
registrants leave a new node its place.  A node that answers as another
(a proxy at its address) is refused as one that fails.  Its timers and
every link are its own and end when it stops.

A member whose local addresses the tracker named to the watcher (``bazaar
web`` at the member's home) is dialled there at once, and at its address
or through its relay 0.5 s later (at the relay's ways the tracker
named with the member's relayed path first: L{relayedAlong}); its link is the first whose node proves
itself (L{FirstProven}), the others closed.
"""

from twisted.application.service import Service
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from zope.interface import implementer

from twisted_bazaar.wire.ids import shortId
from twisted_bazaar import wire
from twisted_bazaar.base.address import Address, hostPort
from twisted_bazaar.reach.race import FirstProven
from twisted_bazaar.reach.ways import along, relayedAlong, relayedPath
from twisted_bazaar.transports.interface import DialOptions
from twisted_bazaar.transports.path import DIRECT, LAN, NAMED, RELAYED, Path
from twisted_bazaar.status.client import (
    CLIENT_IDS,
    nodeRefusal,
    operatorHello,
    operatorQuestion,
)
from twisted_bazaar.status.messages import BUSY
from twisted_bazaar.net.handshake import channelHash
from twisted_bazaar.net.link import IChannelUp, ILinkOwner, Link
from twisted_bazaar.status.messages import NodeState, State
from twisted_bazaar.status.node import STATUS

#: Seconds between rounds, connections or questions at once, seconds a
#: question may go unanswered, and seconds a member has to open its link,
#: unless told otherwise.
DEFAULT_INTERVAL = 1.0
DEFAULT_IN_FLIGHT = 8
DEFAULT_TIMEOUT = 10.0
DEFAULT_BUDGET = 2.0
#: The longest wait before a member in doubt is tried again.
MAX_RETRY = 60.0


class _Doubt:
    """A member whose last attempt failed: how many in a row, and when it
    may be tried again."""

    __slots__ = ("failures", "retryAt")

    def __init__(self):
        self.failures = 0
        self.retryAt = 0.0


@implementer(ILinkOwner, IChannelUp)
class _Session:
    """One node's status link: open (within the member's budget),
    introduce, check who answered, ask, take answers."""

    log = Logger()

    def __init__(self, watcher, node_id, address):
        self.watcher = watcher
        self.node_id = node_id
        self.address = address
        self.doubted = node_id in watcher.doubts
        #: The link asked on: the first way's whose node proved itself.
        self.link = None
        self.ready = False
        self.asked_at = None
        #: When it was last asked (None: not yet): the rounds ask those
        #: asked longest ago first.
        self.last_asked = None
        #: Each way's link being tried -> its L{ClientWay
        #: <twisted_bazaar.reach.ways.ClientWay>}.
        self.ways = {}
        self.race = None
        self._budget = None
        #: The operator's hello of each link, until its channel is up to
        #: bind it to.
        self._hellos = {}

    def open(self):
        """Dial the node: at its local addresses at once where the tracker
        named them to this watcher (L{StatusWatcher.lanOf}), and at its
        address, or through its relay, after L{RELAY_DELAY
        <twisted_bazaar.reach.ways.RELAY_DELAY>}; the first way whose node
        proves itself is asked (L{FirstProven}, which dials them by the
        watcher's transports)."""
        watcher = self.watcher
        self._budget = watcher.clock.callLater(watcher.budget, self._overBudget)
        host, port = self.address
        relay = watcher.relayOf(self.node_id) if watcher.relayOf is not None else None
        lan = watcher.lanOf(self.node_id) if watcher.lanOf is not None else None
        paths = watcher.pathsOf(self.node_id)
        ways = [self._way(Path(LAN, each, port, word=NAMED), f"{Address.tcp(each, port)}")
                for each in lan or ()]
        ways += [self._way(path, f"{Address.tcp(path.host, path.port)}")
                 for path in paths
                 if path.kind != RELAYED and watcher.transports.canDial(path)]
        if relay is None:
            ways.append(self._way(Path(DIRECT, host, port, word=NAMED),
                                  f"{Address.tcp(host, port)}"))
        else:
            # Through the relay at its ways the tracker named with the
            # node's relayed path (a public node's transport plugin's port), then
            # at its own port.
            relayed = relayedPath(paths, relay, host, port)
            ways.append(self._way(relayed, relay, DialOptions(target=self.node_id),
                                  relayedAlong))
        self.race = FirstProven(watcher.clock, watcher.transports, ways,
                                self._everyWayFailed, self._unreachable)
        self.race.begin()

    def _way(self, path, where, options=None, way=along):
        """A way to the node: a link of its own, dialled along path (with
        options: through its relay, to it) by C{way} (L{along}, or
        L{relayedAlong} for a relayed path)."""
        link = Link(self, self.watcher.clock, self.watcher.settings, inbound=False)
        self.ways[link] = way(path, link, where, options)
        return self.ways[link]

    def _unreachable(self, way, reason):
        self.log.debug("web view: cannot reach node {id} {way}: {why}",
                       id=shortId(self.node_id), way=str(way),
                       why=reason.getErrorMessage())
        self._wayLost(way)

    def _wayLost(self, way):
        """A way failed before it won, or the winner was lost: the session
        ends with the winner (L{_everyWayFailed}: with the last way)."""
        if self.race.failed(way):
            self._everyWayFailed()

    def _everyWayFailed(self):
        self._endBudget()
        self.watcher.sessionEnded(self, failed=not self.ready)

    def _overBudget(self):
        self._budget = None
        self.log.debug("web view: node {id} at {where} did not open a status "
                       "link within {budget:g} s", id=shortId(self.node_id),
                       where=hostPort(*self.address),
                       budget=self.watcher.budget)
        self.watcher.sessionEnded(self, failed=True)
        self.close()

    def _endBudget(self):
        budget, self._budget = self._budget, None
        if budget is not None and budget.active():
            budget.cancel()

    def ask(self):
        """Ask the node its state: as its operator, with the proof of its
        key bound to this link's channel, where the watcher holds the key;
        as a stranger otherwise."""
        self.asked_at = self.last_asked = self.watcher.clock.seconds()
        operator = self.watcher.operators.get(self.node_id)
        self.link.send(State() if operator is None else operatorQuestion(operator)(self.link))

    def close(self):
        """Say ``dc`` and close; stop every way still being tried."""
        self._endBudget()
        if self.race is not None:
            self.race.stop()
        if self.link is not None and self.link.transport is not None:
            self.link.disconnect()

    # -- the link's owner ------------------------------------------------

    def linkMade(self, link):
        client = self.watcher.rng.randrange(*CLIENT_IDS)
        operator = self.watcher.operators.get(self.node_id)
        if operator is None:
            link.send(wire.ThisIsMe(client, 0, "", purpose=STATUS))
            return
        # The node's own key held: its thisisme proves the operator, bound
        # to the channel, which takes one of the operator's own slots
        # (protocol.md §12a), so strangers holding the node's status slots
        # cannot keep its operator's view out.
        self._hellos[link] = operatorHello(client, operator)
        if channelHash(link.transport) is not None:
            self.channelUp(link)

    def channelUp(self, link):
        """The channel's handshake is done: the operator's hello, a proof
        bound to its hash, is said now, before anything else."""
        hello = self._hellos.pop(link, None)
        if hello is not None:
            link.send(hello(link))

    def messageReceived(self, link, message):
        if link.peer_id is None and type(message) is not wire.Error:
            self._introduced(link, message)
            return
        handler = _TAKES.get(type(message))
        if handler is not None:
            handler(self, link, message)

    def _refused(self, link, error):
        if error.code == BUSY and self.ready and link is self.link:
            # Asked past the node's rate (another viewer, or a stranger
            # from this address group): a round missed, the link kept,
            # and a later round asks again.
            self.asked_at = None
            return
        link.close(f"{error.code}: {error.info}")

    def _state(self, link, state):
        self.asked_at = None
        self.watcher.answered(self)
        self.watcher.view.stateSeen(state)

    def _introduced(self, link, hello):
        """The node's first message must be its thisisme."""
        why = (nodeRefusal(link, hello, self.node_id) if type(hello) is wire.ThisIsMe
               else f"expected node {shortId(self.node_id)}'s thisisme")
        if why is not None:
            link.close(why)
            return
        way = self.ways[link]
        if not self.race.proven(way):
            link.close()
            return
        self.log.debug("web view: asking node {id} {way}", id=shortId(self.node_id),
                       way=str(way))
        self.link = link
        self._endBudget()
        link.identified(hello.id)
        self.ready = True
        self.watcher.sessionReady(self)

    def linkLost(self, link, reason):
        self._hellos.pop(link, None)
        if link is self.link:
            self._endBudget()
            self.watcher.sessionEnded(self, failed=False)
        elif self.link is None:
            self._wayLost(self.ways[link])


class StatusWatcher(Service):
    """
    Asks every live node its state, round after round, into a view.

    @ivar sessions: node id -> its status link's session.
    """

    def __init__(self, clock, members, transports, view, settings, rng,
                 interval=DEFAULT_INTERVAL, inFlight=DEFAULT_IN_FLIGHT,
                 timeout=DEFAULT_TIMEOUT, budget=DEFAULT_BUDGET, relayOf=None,
                 operators=(), lanOf=None, pathsOf=lambda node_id: (),
                 unlisted=None):
        """
        @param members: returns the live nodes as (id, host, port, scheme)
            rows (L{StatusExtension.members}).
        @param unlisted: returns how many live nodes members leaves out
            (the tracker's LAN-only ones, listed to nobody off their LAN),
            which the view counts live all the same; None: none.
        @param relayOf: returns the relay a node id is reached through (a
            node the tracker relays for), or None; its status link goes
            through that relay (the transports must hold a relayed kind).
        @param lanOf: returns the local addresses of a node id the tracker
            named to this watcher (at the node's home), or None; its status
            link is tried there first (L{FirstProven}).
        @param pathsOf: returns the paths of other kinds (a transport
            plugin's) the tracker named for a node id; its status link is
            tried at each the transports dial too, beside its address.
        @param transports: opens links, as a node's do
            (L{twisted_bazaar.transports.table.Transports}).
        @param view: the L{MarketView} to keep current.
        @param settings: the links' L{LinkSettings}.
        @param budget: seconds each member has to open its status link.
        @param operators: the node keys (L{Identity}) the watcher holds:
            the nodes they are of are asked as by their operator, and tell
            it their whole state.
        """
        self.clock = clock
        self.members = members
        self.transports = transports
        self.view = view
        self.settings = settings
        self.rng = rng
        self.interval = interval
        self.inFlight = inFlight
        self.timeout = timeout
        self.budget = budget
        self.relayOf = relayOf
        self.lanOf = lanOf
        self.pathsOf = pathsOf
        self.unlisted = unlisted
        self.operators = {identity.id: identity for identity in operators}
        self.sessions = {}
        #: node id -> its L{_Doubt}, for the members whose last attempt
        #: failed.
        self.doubts = {}
        self._loop = None

    def startService(self):
        super().startService()
        self._loop = LoopingCall(self.round)
        self._loop.clock = self.clock
        self._loop.start(self.interval, now=True)

    def stopService(self):
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None
        for session in list(self.sessions.values()):
            session.close()

    def round(self):
        """Read the members, open the links that are missing, ask the nodes
        not already asked (within the bounds, members in doubt last and
        in at most half of them), and publish what changed since the last
        round."""
        rows = self.members()
        self.view.membersSeen(rows)
        if self.unlisted is not None:
            self.view.liveSeen(len(rows) + self.unlisted())
        now = self.clock.seconds()
        live = {row[0]: (row[1], row[2]) for row in rows}
        for node_id in set(self.doubts) - set(live):
            del self.doubts[node_id]
        for node_id, session in list(self.sessions.items()):
            waited = None if session.asked_at is None else now - session.asked_at
            if waited is not None and waited > self.budget:
                session.doubted = True
            stale = waited is not None and waited > self.timeout
            if live.get(node_id) != session.address or stale:
                self.sessionEnded(session, failed=stale)
                session.close()
        opening, asking = self._slots(opening=True), self._slots()
        for node_id, address in sorted(live.items(), key=self._turn):
            session = self.sessions.get(node_id)
            doubt = self.doubts.get(node_id)
            if session is None:
                if (doubt is None or now >= doubt.retryAt) and opening.take(doubt):
                    session = self.sessions[node_id] = _Session(self, node_id, address)
                    session.open()
            elif session.ready and session.asked_at is None and asking.take(doubt):
                session.ask()
        self.view.publish()

    def _turn(self, row):
        """A member's place in a round: members in doubt last; those asked
        longest ago (or never) first, so that more members than questions
        at once are each asked in turn, not the first ids by id every
        round while the others wait for their link to be closed idle."""
        session = self.sessions.get(row[0])
        asked = -1.0 if session is None or session.last_asked is None else session.last_asked
        return row[0] in self.doubts, asked, row[0]

    def _slots(self, opening=False):
        """The L{_Slots} of the links being opened, or of the questions."""
        return _Slots(self.inFlight, [
            session.doubted for session in self.sessions.values()
            if (not session.ready if opening else session.asked_at is not None)])

    def sessionReady(self, session):
        """A session's link is open: ask at once, if a question is free
        (else a later round asks)."""
        if self._slots().take(self.doubts.get(session.node_id)):
            session.ask()

    def answered(self, session):
        """A member answered: it is no longer in doubt."""
        self.doubts.pop(session.node_id, None)
        session.doubted = False

    def sessionEnded(self, session, failed=False):
        """A session's link is gone: forget it (a later round reopens it).
        One that failed puts its member in doubt for twice as long as the
        last time (a budget at first, L{MAX_RETRY} at most)."""
        if self.sessions.get(session.node_id) is not session:
            return
        del self.sessions[session.node_id]
        if failed:
            doubt = self.doubts.setdefault(session.node_id, _Doubt())
            doubt.failures += 1
            doubt.retryAt = self.clock.seconds() + min(
                self.budget * 2 ** (doubt.failures - 1), MAX_RETRY)


class _Slots:
    """
    Connections being opened (or questions unanswered) at once: at most
    ``limit``, those of members in doubt counted as half of it at most;
    members in doubt take at most half (at least one).  Silent members
    cannot keep the others waiting.
    """

    def __init__(self, limit, doubted):
        self.limit = limit
        self.half = max(1, limit // 2)
        self.doubted = sum(doubted)
        self.others = len(doubted) - self.doubted

    def take(self, doubt):
        """Take one for a member (in doubt if doubt is not None), if free."""
        if doubt is not None:
            if self.doubted >= self.half or self.others + self.doubted >= self.limit:
                return False
            self.doubted += 1
            return True
        if self.others + min(self.doubted, self.half) >= self.limit:
            return False
        self.others += 1
        return True


#: What a watch session takes once the node said who it is: message class
#: -> function(session, link, message).
_TAKES = {wire.Error: _Session._refused, NodeState: _Session._state}
