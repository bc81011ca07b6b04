"""
L{StatusWatcher}: keeps a L{MarketView} current.  Every ``interval``
seconds it reads the tracker's members and asks each live node ``state``
over one long-lived ``status`` link per node (docs/protocol.md §12a), so
a node logs the view's link once, not once a question.

Its cost is bounded: at most ``inFlight`` connections being opened and
``inFlight`` questions unanswered at a time (the rest wait for a later
round), and a question unanswered after ``timeout`` seconds closes its
link, to be opened again.  Its one timer and every link are its own and
end when it stops.
"""

from twisted.application.service import Service
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from zope.interface import implementer

from twisted_bazaar.wire.ids import shortId
from twisted_bazaar import wire
from twisted_bazaar.status.client import CLIENT_IDS
from twisted_bazaar.net.link import ILinkOwner, Link
from twisted_bazaar.status.messages import NodeState, State
from twisted_bazaar.status.node import STATUS

#: Seconds between rounds, connections or questions at once, and seconds
#: a question may go unanswered, unless told otherwise.
DEFAULT_INTERVAL = 1.0
DEFAULT_IN_FLIGHT = 8
DEFAULT_TIMEOUT = 10.0


@implementer(ILinkOwner)
class _Session:
    """One node's status link: open, introduce, ask, take answers."""

    log = Logger()

    def __init__(self, watcher, node_id, address):
        self.watcher = watcher
        self.node_id = node_id
        self.address = address
        self.link = None
        self.ready = False
        self.asked_at = None
        self.connecting = None

    def open(self):
        watcher = self.watcher
        self.link = Link(self, watcher.clock, watcher.settings, inbound=False)
        self.connecting = watcher.connector.connect(*self.address, self.link)
        self.connecting.addBoth(self._connected)

    def _connected(self, result):
        self.connecting = None
        if not isinstance(result, Link):
            self.log.debug("web view: cannot reach node {id} at {host}:{port}: "
                           "{why}", id=shortId(self.node_id), host=self.address[0],
                           port=self.address[1], why=result.getErrorMessage())
            self.watcher.sessionEnded(self)

    def ask(self):
        self.asked_at = self.watcher.clock.seconds()
        self.link.send(State())

    def close(self):
        """Say ``dc`` and close; stop connecting if still at it."""
        if self.connecting is not None:
            self.link.close()
            self.connecting.cancel()
        elif self.link.transport is not None:
            self.link.disconnect()

    # -- the link's owner ------------------------------------------------

    def linkMade(self, link):
        link.send(wire.ThisIsMe(self.watcher.rng.randrange(*CLIENT_IDS), 0, "",
                                purpose=STATUS))

    def messageReceived(self, link, message):
        kind = type(message)
        if kind is wire.Error:
            link.close(f"{message.code}: {message.info}")
        elif link.peer_id is None:
            if kind is wire.ThisIsMe and message.id == self.node_id:
                link.identified(message.id)
                self.ready = True
            else:
                link.close(f"expected node {shortId(self.node_id)}")
        elif kind is NodeState:
            self.asked_at = None
            self.watcher.view.stateSeen(message)

    def linkLost(self, link, reason):
        self.watcher.sessionEnded(self)


class StatusWatcher(Service):
    """
    Asks every live node its state, round after round, into a view.

    @ivar sessions: node id -> its status link's session.
    """

    def __init__(self, clock, members, connector, view, settings, rng,
                 interval=DEFAULT_INTERVAL, inFlight=DEFAULT_IN_FLIGHT,
                 timeout=DEFAULT_TIMEOUT):
        """
        @param members: returns the live nodes as (id, host, port, scheme)
            rows (L{StatusExtension.members}).
        @param connector: opens links, as a node's does
            (L{twisted_bazaar.daemon.services.EndpointConnector}).
        @param view: the L{MarketView} to keep current.
        @param settings: the links' L{LinkSettings}.
        """
        self.clock = clock
        self.members = members
        self.connector = connector
        self.view = view
        self.settings = settings
        self.rng = rng
        self.interval = interval
        self.inFlight = inFlight
        self.timeout = timeout
        self.sessions = {}
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
        not already asked (within the bounds), and publish what changed
        since the last round."""
        rows = self.members()
        self.view.membersSeen(rows)
        now = self.clock.seconds()
        live = {row[0]: (row[1], row[2]) for row in rows}
        for node_id, session in list(self.sessions.items()):
            stale = session.asked_at is not None and now - session.asked_at > self.timeout
            if live.get(node_id) != session.address or stale:
                session.close()
                del self.sessions[node_id]
        opening = sum(1 for s in self.sessions.values() if not s.ready)
        asking = sum(1 for s in self.sessions.values() if s.asked_at is not None)
        for node_id, address in sorted(live.items()):
            session = self.sessions.get(node_id)
            if session is None:
                if opening < self.inFlight:
                    opening += 1
                    session = self.sessions[node_id] = _Session(self, node_id, address)
                    session.open()
            elif session.ready and session.asked_at is None and asking < self.inFlight:
                asking += 1
                session.ask()
        self.view.publish()

    def sessionEnded(self, session):
        """A session's link is gone: forget it (a later round reopens it)."""
        if self.sessions.get(session.node_id) is session:
            del self.sessions[session.node_id]
