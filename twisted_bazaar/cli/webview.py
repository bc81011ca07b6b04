"""
``bazaar web``: the web view of a market, served by this command rather
than by the tracker, and so run by whoever holds a node's key: given the
node's ``--data-dir``, it asks that node as its operator (protocol.md
§12a), whose page then shows what only its operator is told (its bag,
pending buys, downloads, recent messages), and asks every other node as
a stranger.  It reads the tracker's live nodes (``members``) each round,
as the tracker's own ``--web`` view reads its registry.
"""

import random
import sys

from twisted.internet import defer
from twisted.internet.endpoints import serverFromString

from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.daemon.services import EndpointConnector
from twisted_bazaar.status.client import ClientError, askTracker
from twisted_bazaar.status.messages import MemberList, Members
from twisted_bazaar.traversal.connector import RelayedConnector
from twisted_bazaar.web.resources import webSite
from twisted_bazaar.web.view import SILENT, MarketView
from twisted_bazaar.web.watch import StatusWatcher
from twisted_bazaar.wire.ids import shortId

#: Where ``bazaar web`` listens unless told: loopback only.
DEFAULT_LISTEN = "tcp:8080:interface=127.0.0.1"


class TrackerMembers:
    """
    The tracker's live nodes for a L{StatusWatcher} that is not the
    tracker: each round reads the last list the tracker gave, and asks it
    again (one question at a time; a tracker that does not answer leaves
    the last list as it was, and the view is told so, and why).  The view
    is told how many live nodes the tracker counts, which its list, cut
    to one frame, may not all name.
    """

    def __init__(self, reactor, address, timeout, key, view):
        self.reactor = reactor
        self.address = address
        self.timeout = timeout
        self.key = key
        self.view = view
        self.rows = []
        self.relays = {}
        self._asking = None

    def refresh(self):
        """Ask the tracker now: a Deferred firing once it answered, or
        failing with L{ClientError}."""
        d = self._asking = askTracker(self.reactor, self.address, Members(), MemberList,
                                      self.timeout, self.key)

        def answered(answer):
            self.rows = list(answer.nodes)
            self.relays = dict(answer.relays or {})
            self.view.liveSeen(answer.total)
            self.view.trackerAnswered()

        def failed(reason):
            reason.trap(ClientError)
            self.view.trackerSilent(reason.getErrorMessage())
            return reason

        def done(result):
            self._asking = None
            return result

        return d.addCallbacks(answered, failed).addBoth(done)

    def members(self):
        """The live nodes as the tracker last gave them; asks it again."""
        if self._asking is None:
            self.refresh().addErrback(lambda reason: reason.trap(ClientError))
        return list(self.rows)

    def relayOf(self, node_id):
        return self.relays.get(node_id)

    def stop(self):
        if self._asking is not None:
            self._asking.cancel()


def webConnector(reactor):
    """
    The view's connector: TCP with a channel key of its own, and through
    a relay to a node at home, the relay being the one the tracker's
    ``memberlist`` names for it (L{TrackerMembers.relayOf}), dialled as
    named, as the tracker's own view dials its own.
    """
    return RelayedConnector(EndpointConnector(reactor, channel=ChannelKey.generate()),
                            reactor)


def listeningOn(address):
    """Where a port listens, in words: ``HOST:PORT``, or ``unix:PATH`` for
    a Unix socket (``--listen unix:PATH``), which has no host."""
    if hasattr(address, "host"):
        return f"{address.host}:{address.port}"
    return f"unix:{address.name.decode() if isinstance(address.name, bytes) else address.name}"


def announce(where, operator, json):
    """
    Say where the view listens, and as whom, once it does: on stdout, or
    with ``--json`` on stderr, since stdout then holds one JSON object
    (what was served, once stopped) and nothing else.
    """
    whose = (f", as the operator of node {shortId(operator.id)}" if operator is not None
             else ", as a stranger to every node (--data-dir DIR of a node: as its "
                  "operator)")
    out = sys.stderr if json else sys.stdout
    out.write(f"web view listening on {where}{whose}\n")
    out.flush()


@defer.inlineCallbacks
def serve(reactor, args, operator):
    """
    Serve the web view until the command is stopped (Ctrl-C, SIGTERM):
    then stop asking, and fire with what it served.

    @param operator: the L{Identity} in --data-dir, or None.
    """
    view = MarketView(reactor, silent=max(SILENT, 3 * args.poll))
    members = TrackerMembers(reactor, args.tracker, args.timeout, args.tracker_key, view)
    yield members.refresh()
    watcher = StatusWatcher(
        reactor, members.members,
        webConnector(reactor),
        view, LinkSettings(), random.Random(), interval=args.poll,
        relayOf=members.relayOf, operators=[operator] if operator is not None else [])
    try:
        port = yield serverFromString(reactor, args.listen).listen(webSite(view))
    except Exception as e:
        raise ClientError(f"--listen {args.listen}: cannot listen: {e}") from None
    where = listeningOn(port.getHost())
    announce(where, operator, args.json)
    watcher.startService()
    stopped = defer.Deferred()

    def stop():
        watcher.stopService()
        members.stop()
        port.stopListening()
        stopped.callback({"listened": where,
                          "operator": None if operator is None else str(operator.id)})

    reactor.addSystemEventTrigger("before", "shutdown", stop)
    served = yield stopped
    return served
