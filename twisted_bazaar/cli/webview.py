"""
``bazaar web``: the web view of a market, served by this command rather
than by the tracker, and so run by whoever holds a node's key: given the
node's ``--data-dir``, it asks that node as its operator (protocol.md
§12a), whose page then shows what only its operator is told (its bag,
pending buys, downloads, recent messages), and asks every other node as
a stranger.  It reads the tracker's live nodes (``members``) each round,
as the tracker's own ``--web`` view reads its registry.
"""

import errno
import random
import socket
import sys

from twisted.internet import defer
from twisted.internet.endpoints import serverFromString
from twisted.internet.error import CannotListenError

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.options import optionDefaults
from twisted_bazaar.base.listenfault import listenFault
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.daemon.registry import transportPlugins
from twisted_bazaar.daemon.services import CONNECT_TIMEOUT, EndpointConnector
from twisted_bazaar.status.client import ClientError, askTracker
from twisted_bazaar.status.messages import MemberList, Members
from twisted_bazaar.cli.common import WEB_LISTEN
from twisted_bazaar.cli.trackers import trackerPinOf
from twisted_bazaar.transports.table import overConnector
from twisted_bazaar.base.httphosts import ServedNames
from twisted_bazaar.web.access import OperatorToken
from twisted_bazaar.web.publicview import TwoViews
from twisted_bazaar.web.resources import webGuard, webSite
from twisted_bazaar.web.view import SILENT, MarketView
from twisted_bazaar.web.watch import StatusWatcher
from twisted_bazaar.wire.ids import shortId, wireId

#: Where ``bazaar web`` listens unless told (loopback only).
DEFAULT_LISTEN = WEB_LISTEN


class TrackerMembers:
    """
    The tracker's live nodes for a L{StatusWatcher} that is not the
    tracker: each round reads the last list the tracker gave, and asks it
    again (one question at a time; a tracker that does not answer leaves
    the last list as it was, and the view is told so, and why).  The view
    is told how many live nodes the tracker counts, which its list, cut
    to one frame, may not all name.
    """

    def __init__(self, reactor, address, timeout, pin, view):
        """
        @param pin: the L{KeyPin} of the tracker's key: every question
            goes to the holder of the key it holds (--tracker-key, the one
            the node's data dir keeps, or else the first one proven), and
            another key's answer is refused before anything is read.
        """
        self.reactor = reactor
        self.address = address
        self.timeout = timeout
        self.pin = pin
        self.view = view
        self.rows = []
        self.relays = {}
        self.lans = {}
        self.paths = {}
        self._asking = None

    def refresh(self):
        """Ask the tracker now: a Deferred firing once it answered, or
        failing with L{ClientError}."""
        d = self._asking = askTracker(self.reactor, self.address, Members(), MemberList,
                                      self.timeout, pin=self.pin)

        def answered(answer):
            self.rows = list(answer.nodes)
            self.relays = dict(answer.relays or {})
            self.lans = dict(answer.lans or {})
            self.paths = dict(answer.paths or {})
            # Its LAN-only nodes behind another router are live too.
            self.view.liveSeen(answer.total + (answer.lanOnly or 0))
            self.view.trackerAnswered()

        def failed(reason):
            if reason.check(defer.CancelledError):
                # Stopped (the view is): nothing to tell it.
                return reason
            reason.trap(ClientError)
            # Another key at the tracker's address is an impostor's: its
            # list is never read; the page warns, and shows the last list.
            self.view.trackerSilent(reason.getErrorMessage(),
                                    impostor=self.pin.impostor is not None)
            return reason

        def done(result):
            self._asking = None
            return result

        return d.addCallbacks(answered, failed).addBoth(done)

    def members(self):
        """The live nodes as the tracker last gave them; asks it again."""
        if self._asking is None:
            self.refresh().addErrback(
                lambda reason: reason.trap(ClientError, defer.CancelledError))
        return list(self.rows)

    def relayOf(self, node_id):
        return self.relays.get(node_id)

    def lanOf(self, node_id):
        """The local addresses the tracker named for node_id to this
        view (it runs at the node's home), or None."""
        return self.lans.get(node_id)

    def pathsOf(self, node_id):
        """The paths of other kinds the tracker named for node_id (a
        transport plugin's port): a tuple."""
        return self.paths.get(node_id, ())

    def stop(self):
        if self._asking is not None:
            self._asking.cancel()


def nodeTransports(reactor, timeout=CONNECT_TIMEOUT, trackerKinds=()):
    """
    What a client dials nodes through (the view, ``bazaar node``, ``bazaar
    list``): a node's own transports, TCP under a channel key of the
    client's own, each connection given ``timeout`` seconds, and a
    relay's circuit to a node at home, the relay being the one the
    tracker's ``memberlist`` names for it (L{TrackerMembers.relayOf}),
    dialled as named, as the tracker's own view dials its own; and, for
    a client that reaches its tracker by a transport plugin's endpoint
    kind (``trackerKinds``, from a network that may let out only that
    transport), that transport, dial-only, as a node's there
    (L{ITransportPlugin.nodeTransport}).
    """
    connector = EndpointConnector(reactor, timeout, channel=ChannelKey.generate())
    makers = [plugin.nodeTransport(reactor, optionDefaults(plugin.nodeOptions), "",
                                   _listensOnNone, trackerKinds=trackerKinds)
              for plugin in transportPlugins().values()] if trackerKinds else ()
    more = tuple(make(connector.channel, connector.peerLog).transport
                 for make in makers if make is not None)
    return overConnector(connector, reactor, more=more)


def _listensOnNone(why):
    """A client's transport listens on no port: nothing to fail."""


def listeningOn(address):
    """Where a port listens, in words: ``HOST:PORT``, or ``unix:PATH`` for
    a Unix socket (``--listen unix:PATH``), which has no host."""
    if hasattr(address, "host"):
        return hostPort(address.host, address.port)
    return f"unix:{address.name.decode() if isinstance(address.name, bytes) else address.name}"


def linkHost(address):
    """Where a browser on this machine reaches a port: its address, or
    loopback's for a port on every interface."""
    host = getattr(address, "host", None)
    if host in ("", "0.0.0.0"):
        return f"127.0.0.1:{address.port}"
    if host == "::":
        return f"[::1]:{address.port}"
    return None if host is None else hostPort(host, address.port)


def whatServed(where, operator):
    """What ``bazaar --json web`` prints once stopped: where it listened,
    and the whole id of the node it is the operator of (its wire text, as
    ``bazaar --json status`` gives it), or None.  It printed the id's
    number in memory, 2**128 above the key's, an id no other output has."""
    return {"listened": where, "operator": None if operator is None else wireId(operator.id)}


def announce(where, operator, json, link=None, kept=None):
    """
    Say where the view listens, and as whom, once it does: on stdout, or
    with ``--json`` on stderr, since stdout then holds one JSON object
    (what was served, once stopped) and nothing else; and the link that
    gives a browser the operator's token, said once, here only (never in
    a log), and where it is kept.
    """
    whose = (f", as the operator of node {shortId(operator.id)}" if operator is not None
             else ", as a stranger to every node (--data-dir DIR of a node: as its "
                  "operator)")
    out = sys.stderr if json else sys.stdout
    out.write(f"web view listening on {where}{whose}\n")
    if link is not None:
        out.write(f"open {link} to see its own state (the token is kept in {kept}, "
                  f"readable by you alone); without the token the page shows the "
                  f"public market only\n")
    elif kept is not None:
        out.write(f"its own state is shown with the token kept in {kept} (readable by "
                  f"you alone): open /?token=TOKEN where the view is reached, or send "
                  f"Authorization: Bearer TOKEN; without it the page shows the public "
                  f"market only\n")
    out.flush()


#: Ports after a taken one looked at for a free one to advise.
NEAR_PORTS = 10


def portFree(interface, port):
    """Whether a TCP port can be listened on at interface now (bound and
    let go at once: advice only, another program may take it next)."""
    with socket.socket(socket.AF_INET6 if ":" in interface else socket.AF_INET) as probe:
        try:
            probe.bind((interface, port))
        except OSError:
            return False
    return True


def cannotListen(listen, error, isFree=portFree):
    """Why ``--listen`` could not listen, in words; for a port taken, with
    what to do: the tracker's ``--web`` (the quick start's on 8080, this
    command's default) or another view may hold it, and the first of the
    next L{NEAR_PORTS} that is free now (``isFree(interface, port)``) is
    one to choose; with none, ``tcp:0`` (any free one)."""
    why = f"--listen {listen}: cannot listen: {listenFault(error)}"
    if (isinstance(error, CannotListenError)
            and getattr(error.socketError, "errno", None) == errno.EADDRINUSE):
        interface = error.interface or "127.0.0.1"
        free = next((port for port in range(error.port + 1,
                                            min(error.port + 1 + NEAR_PORTS, 65536))
                     if isFree(interface, port)), 0)
        why = (f"--listen {listen}: cannot listen: port {error.port} of {interface} is in "
               f"use (a tracker's --web, or another bazaar web, may hold it); choose a "
               f"free port with --listen, such as --listen tcp:{free}:interface="
               f"{interface}" + (" (any free one)" if free == 0 else " (free now)"))
    return why


@defer.inlineCallbacks
def serve(reactor, args, operator):
    """
    Serve the web view until the command is stopped (Ctrl-C, SIGTERM):
    then stop asking, and fire with what it served.

    @param operator: the L{Identity} in --data-dir, or None.
    """
    silent = max(SILENT, 3 * args.poll)
    # The operator's node's state is kept apart from what any request is
    # shown: the public view never holds it.
    view = (MarketView(reactor, silent=silent) if operator is None
            else TwoViews(reactor, silent=silent))
    members = TrackerMembers(reactor, args.tracker, args.timeout,
                             trackerPinOf(args.tracker_key, args.data_dir), view)
    yield members.refresh()
    watcher = StatusWatcher(
        reactor, members.members,
        nodeTransports(reactor, trackerKinds=(args.tracker.kind,)),
        view, LinkSettings(), random.Random(), interval=args.poll,
        relayOf=members.relayOf, lanOf=members.lanOf, pathsOf=members.pathsOf,
        operators=[operator] if operator is not None else [])
    token = None if operator is None else OperatorToken()
    kept = None
    if token is not None:
        try:
            kept = token.keep(args.data_dir)
        except OSError as e:
            raise ClientError(f"--data-dir {args.data_dir}: cannot keep the web view's "
                              f"token there: {e.strerror or e}") from None
    names, guard = ServedNames(names=getattr(args, "names", ())), webGuard(reactor)
    site = (webSite(view, names, guard=guard) if operator is None
            else webSite(view.whole, names, public=view.public, token=token, guard=guard))
    try:
        port = yield serverFromString(reactor, args.listen).listen(site)
    except Exception as e:
        raise ClientError(cannotListen(args.listen, e)) from None
    names.listening(port)
    where = listeningOn(port.getHost())
    here = linkHost(port.getHost())
    announce(where, operator, args.json,
             None if token is None or here is None else token.link(here), kept)
    watcher.startService()
    stopped = defer.Deferred()

    def stop():
        watcher.stopService()
        members.stop()
        port.stopListening()
        stopped.callback(whatServed(where, operator))

    reactor.addSystemEventTrigger("before", "shutdown", stop)
    served = yield stopped
    return served
