"""
``bazaar``: look at a running market.

    bazaar [--tracker ADDRESS ...] [--timeout S] [--json] status
    bazaar [--tracker ADDRESS ...] [--timeout S] [--json] list
    bazaar [--tracker ADDRESS] [--timeout S] [--json] node [ADDRESS|ID]
        [--data-dir DIR]
    bazaar [--tracker ADDRESS] buy ITEM [--quantity N] [--timeout S]
        [--discovery SCHEME] [--listen ENDPOINT] [--host HOST] [--json]
        [--downloads DIR] [--download-give-up S]
    bazaar restock --data-dir DIR [--add] [--timeout S] [--json] ITEM=N ...

An ADDRESS is HOST:PORT or a client endpoint string such as
``tcp:127.0.0.1:7700`` (L{twisted_bazaar.base.address}).  An ID is a
node's id, or (as git takes a commit's) a prefix of at least 4
characters that starts no other live node's id: ``node`` then asks the
tracker where that node listens.

``status`` asks the tracker for its live nodes (``members``); ``list``
asks the tracker's index (``list``) and every live node (``state``) what
is on offer (a shared file once, by name, size and hash); ``node`` asks
one node for its state: its public facts, or, with the ``--data-dir`` of
the node (whose key proves its operator), the whole of it (its bag,
buys, messages and downloads too); ``buy`` joins the
market as a buyer (see L{twisted_bazaar.cli.buy}), buys (and fetches a
shared file, showing its progress), and leaves;
``restock`` sets a running seller's stock over its owner's control
socket (see L{twisted_bazaar.cli.restock}).  ``status`` and ``list``
take ``--tracker`` again, for a market of several trackers: each is
asked, and their answers put together (L{twisted_bazaar.cli.trackers}).
Exit status 0 when answered (bought), 1 with the reason when not, 2 for
bad arguments (the reason in one line: L{twisted_bazaar.base.usage}; with
``--json``, either reason as an object's ``error`` too), and 130 or 143
when Ctrl-C or SIGTERM stopped it (a buy leaves the market first).

The command line, its help and the console script's C{main} are
L{twisted_bazaar.cli.arguments}'s, which imports this module (and the
node with it) only once the line is parsed, and which this module never
imports: here are the commands (L{COMMANDS}) and L{run}, which runs one.
"""

import gc
import os
import shutil
import signal
import sys
from fractions import Fraction

from twisted.internet import defer, task
from twisted.internet.endpoints import serverFromString

from twisted_bazaar.base.wallclock import splitClock
from twisted_bazaar.reach.reachable.reachability import PRIVATE, PUBLIC, UNKNOWN, behind
from twisted_bazaar.base.address import Address, hostPort
from twisted_bazaar.net.byname import clientEndpoint
from twisted_bazaar.base.text import jsonText, shown, shownData
from twisted_bazaar.base.words import plural
from twisted_bazaar.cli.progress import Progress, byteSize, downloadLine
from twisted_bazaar.files.names import itemHash
from twisted_bazaar.reach.peerhosts import TrackerScopes
from twisted_bazaar.status.client import (
    ClientError,
    NotTheNodeDialled,
    WrongPort,
    askNode,
    askState,
    askTracker,
)
from twisted_bazaar.cli.buy import BuyError, OneShotBuy, renderBuy
from twisted_bazaar.cli.common import SERVERS, UNSERVED, emit
from twisted_bazaar.cli.commandlog import beginCommandLog
from twisted_bazaar.tap.stopsignals import stopOnce
from twisted_bazaar.cli.restock import nodeRuns, renderRestock, restock
from twisted_bazaar.cli.trackers import (
    askEach,
    mergedIndex,
    mergedMembers,
    trackerEntries,
    trackerLines,
    trackerPins,
)
from twisted_bazaar.daemon.allocator import tuneForStreaming
from twisted_bazaar.daemon.listenfamily import onTrackersFamily
from twisted_bazaar.daemon.pluginfault import PluginFault
from twisted_bazaar.daemon.registry import discoveryPlugins, transportPlugins
from twisted_bazaar.daemon.tracker import TRACKER_KEY_FILE, isTrackersDir
from twisted_bazaar.schemes.index.messages import List, Listing
from twisted_bazaar.status.messages import MemberList, Members, NodeState
from twisted_bazaar.net.recent import STATUS_PURPOSES
from twisted_bazaar.status.shown import CONTENT_ID, shownFile
from twisted_bazaar.wire.ids import SHORT, UnknownId, matchId, wireId
from twisted_bazaar.daemon.services import EndpointConnector
from twisted_bazaar.daemon.statefolders import currentFolderRefusal
from twisted_bazaar.transports.path import DIRECT
from twisted_bazaar.transports.tcp.fromport import PunchDialer
from twisted_bazaar.reach.ways import phrase
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.net.encrypted import EncryptedClientEndpoint, EncryptedServerEndpoint
from twisted_bazaar.base.addressgroup import addressGroup

#: The scheme ``bazaar buy`` joins a market without live nodes with.
DEFAULT_SCHEME = "flood"
#: Schemes a message about the market's schemes names, at most.
_SHOWN_SCHEMES = 5


# -- the questions -----------------------------------------------------------------

def status(reactor, args):
    pins = trackerPins(args)
    if len(args.trackers) > 1:
        d = askEach(reactor, args.trackers, pins, Members(), MemberList, args.timeout)
        return d.addCallback(lambda answers: dict(
            statusObject(mergedMembers(answers)), trackers=trackerEntries(answers)))
    d = askTracker(reactor, args.tracker, Members(), MemberList, args.timeout,
                   pin=pins[0])
    return d.addCallback(statusObject)


def statusObject(answer):
    out = {"total": answer.total,
           "nodes": [{"id": wireId(i), "host": h, "port": p, "scheme": s}
                     for i, h, p, s in answer.nodes]}
    if answer.lanOnly:
        # Live too, reached only over a LAN this machine is not on: the
        # tracker names them to nobody here.
        out["lanOnly"] = answer.lanOnly
    return out


@defer.inlineCallbacks
def listing(reactor, args):
    several = len(args.trackers) > 1
    # The key each tracker proves to the first question is the one the
    # second must prove: another there is an impostor's, refused.
    pins = trackerPins(args)
    # Where the connections leave from says which hosts named in the
    # answers are dialled, as a node dials them.
    scopes = TrackerScopes()
    if several:
        answers = yield askEach(reactor, args.trackers, pins, Members(), MemberList,
                                args.timeout, scopes)
        members = mergedMembers(answers)
        index = Listing(mergedIndex((yield askEach(
            reactor, args.trackers, pins, List(), Listing, args.timeout))))
    else:
        members = yield askTracker(reactor, args.tracker, Members(), MemberList,
                                   args.timeout, pin=pins[0], scopes=scopes)
        index = yield askTracker(reactor, args.tracker, List(), Listing, args.timeout,
                                 pin=pins[0])
    # Each member by its id: whoever answers at its address must be it;
    # over the LAN first where the tracker named its local addresses.
    relays, lans = members.relays or {}, members.lans or {}
    transports = nodeTransports(reactor, args)
    paths = members.paths or {}
    asked = [_askMember(reactor, args, scopes, transports, node_id, host, port,
                        relays.get(node_id), lans.get(node_id, ()), paths.get(node_id, ()))
             for node_id, host, port, _ in members.nodes]
    results = yield defer.DeferredList(asked, consumeErrors=True)
    states, unreachable = [], []
    for (ok, value), (node_id, host, port, _) in zip(results, members.nodes):
        if ok:
            states.append(value)
        else:
            unreachable.append({"id": wireId(node_id), "host": host, "port": port,
                                "why": value.getErrorMessage()})
    listed = listObject(index.items, states, unreachable)
    if len(members.nodes) < members.total:
        # The tracker's list was cut short to fit one frame: the nodes past
        # it were not asked, and no figure here counts them.
        listed.update(asked=len(members.nodes), live=members.total)
    if members.lanOnly:
        listed["lanOnly"] = members.lanOnly
    return dict(listed, trackers=trackerEntries(answers)) if several else listed


def _askMember(reactor, args, scopes, transports, node_id, host, port, relay, lan, paths):
    """Ask a member its state, unless the node's rules dial no host the
    tracker named it at (L{TrackerScopes.whyNot}): then fail, saying why."""
    why = scopes.whyNot(host, port, relay)
    if why is not None:
        return defer.fail(ClientError(f"not dialled: {why}"))
    return askNode(reactor, Address.tcp(host, port), _state(), NodeState, args.timeout,
                   dialled=node_id, relay=relay, transports=transports, lan=lan,
                   paths=paths)


def _state():
    from twisted_bazaar.status.messages import State

    return State()


def nodeTransports(reactor, args):
    """What this client dials nodes through
    (L{twisted_bazaar.cli.webview.nodeTransports}: a transport its
    --tracker's endpoint kinds bring too), imported only by the commands
    that ask nodes: the web view's modules are a tenth of ``bazaar buy``'s
    start-up."""
    from twisted_bazaar.cli import webview

    return webview.nodeTransports(reactor, args.timeout,
                                  tuple(tracker.kind for tracker in args.trackers))


def listObject(index, states, unreachable=()):
    """What is on offer: per item, units in stock over the nodes that
    answered and the sellers holding some; per shared file (a file is
    listed once, by name, never as units), its size, content id and
    sellers, and each node whose answer held only its first files
    (``filesCut``: a seller of thousands, its answer cut to one frame),
    and likewise each whose answer held only its first items (``stockCut``);
    and the index's seller counts (a file's content item, ``sha256:``,
    left out: its name stands for it)."""
    items, files = {}, {}
    for state in states:
        for item, units in state.stock.items():
            entry = items.setdefault(item, {"units": 0, "sellers": []})
            entry["units"] += units
            if units:
                entry["sellers"].append(wireId(state.id))
        for name, size, content_id, _ in state.files:
            entry = files.setdefault((name, content_id), {
                "name": name, "size": size, CONTENT_ID: content_id, "sellers": []})
            entry["sellers"].append(wireId(state.id))
    obj = {"items": dict(sorted(items.items())),
           "files": [entry for _, entry in sorted(files.items())],
           "index": {item: count for item, count in sorted(index.items())
                     if itemHash(item) is None},
           "unreachable": list(unreachable)}
    cut = [{"id": wireId(state.id), "listed": len(state.files), "shared": state.files_shared}
           for state in states if (state.files_shared or 0) > len(state.files)]
    if cut:
        obj["filesCut"] = cut
    cut = [{"id": wireId(state.id), "listed": len(state.stock), "held": state.stock_items}
           for state in states if (state.stock_items or 0) > len(state.stock)]
    if cut:
        obj["stockCut"] = cut
    return obj


@defer.inlineCallbacks
def node(reactor, args):
    """
    Ask one node its state: as its operator with --data-dir (the key
    there must be the node's), as a stranger otherwise.  A node named by
    id, or by the key in --data-dir, must prove that id.
    """
    operator = _operator(args.data_dir)
    address, dialled = args.address, None
    if operator is not None:
        dialled = operator.id
        if isinstance(address, str):
            try:
                matchId(address, [dialled])
            except UnknownId:
                raise ClientError(f"the key in {args.data_dir} is node "
                                  f"{wireId(dialled)}'s, not that of {address}") from None
    transports, ways = nodeTransports(reactor, args), []
    if address is None or isinstance(address, str):
        members = yield askTracker(reactor, args.tracker, Members(), MemberList,
                                   args.timeout, args.tracker_key)
        if address is None:
            dialled, address, relay = ownNodeAddress(args.data_dir, dialled, members)
        else:
            dialled, address, relay = nodeAddress(address, members)
        state = yield askState(reactor, address, args.timeout, dialled, operator,
                               relay=relay, transports=transports,
                               lan=(members.lans or {}).get(dialled, ()),
                               reached=ways.append,
                               paths=(members.paths or {}).get(dialled, ()))
        return nodeObject(state, ways[0])
    try:
        state = yield askState(reactor, address, args.timeout, dialled, operator,
                               transports=transports, reached=ways.append)
    except WrongPort:
        raise
    except NotTheNodeDialled as other:
        # Another node answered there, and proved it: no relay is in
        # question, the key given is another node's.
        raise ClientError(f"the key in {args.data_dir} is node {wireId(dialled)}'s, "
                          f"not that of the node at {address} (node "
                          f"{wireId(other.answered)})") from None
    except ClientError as direct:
        # A node at home listed at that address, which nobody dials, is
        # reached through its relay (over the LAN first, from its home).
        try:
            listed = yield askTracker(reactor, args.tracker, Members(), MemberList,
                                      args.timeout, args.tracker_key)
        except ClientError as why:
            listed = why
        relayed, relay = relayedAt(address, listed, direct)
        if dialled is not None and relayed != dialled:
            raise ClientError(f"{direct}; the node the tracker lists there, "
                              f"{wireId(relayed)}, is not the key's in "
                              f"{args.data_dir}") from None
        state = yield askState(reactor, address, args.timeout, relayed, operator,
                               relay=relay, transports=transports,
                               lan=(listed.lans or {}).get(relayed, ()),
                               reached=ways.append)
    return nodeObject(state, ways[0])


def _operator(data_dir):
    """The node key in --data-dir DIR, or None without one; a tracker's
    state directory is named as one (an operator's likely mix-up)."""
    if data_dir is None:
        return None
    try:
        return Identity.read(data_dir)
    except FileNotFoundError:
        if isTrackersDir(data_dir):
            raise ClientError(f"--data-dir {data_dir}: no node key there (node.key), "
                              f"but a tracker's ({TRACKER_KEY_FILE}): it is a tracker's "
                              "state directory; give the --data-dir of a node you "
                              "run") from None
        raise ClientError(f"--data-dir {data_dir}: no node key there (node.key): "
                          "is it the --data-dir of a node?") from None
    except (OSError, ValueError) as e:
        raise ClientError(f"--data-dir {data_dir}: cannot read the node's key: "
                          f"{e}") from None


def nodeAddress(typed, members):
    """
    The live node that ``typed`` (an id or a prefix of one) names, where
    it listens and the relay it is reached through (None: dialled
    directly), from the tracker's ``memberlist``: (id, L{Address}, relay).

    @raise ClientError: if it names no live node, or several (listed).
    """
    where = {node_id: (host, port) for node_id, host, port, _ in members.nodes}
    try:
        found = matchId(typed, where)
    except UnknownId as reason:
        raise ClientError(f"{reason} (among the tracker's {len(where)} live "
                          "nodes that take links)") from None
    return found, Address.tcp(*where[found]), (members.relays or {}).get(found)


def ownNodeAddress(data_dir, node_id, members):
    """L{nodeAddress} of the node whose key is in ``data_dir`` (its id
    ``node_id``), saying, when the tracker does not list it, whether a
    node runs with that data dir (one holds its lock) or none does."""
    try:
        return nodeAddress(wireId(node_id), members)
    except ClientError:
        pass
    where = (f"node {wireId(node_id)}, whose key is in {data_dir}, is not among the "
             f"tracker's {plural(len(members.nodes), 'live node')} that take links")
    if not nodeRuns(data_dir):
        raise ClientError(f"{where}: no node runs with --data-dir {data_dir} (start "
                          f"it, then ask again)")
    raise ClientError(f"{where}: a node runs with --data-dir {data_dir}, but has not "
                      "registered with this tracker (just started, or another "
                      "--tracker?)")


def relayedAt(address, members, direct):
    """
    The node that the tracker's ``memberlist`` (or why the tracker did
    not answer: a L{ClientError}) lists at ``address`` with a relay, for a
    node that did not answer there (``direct``, why): (id, relay).

    @raise ClientError: saying why not, after ``direct``.
    """
    if isinstance(members, Exception):
        raise ClientError(f"{direct}; nor could the tracker say whether a node there "
                          f"is reached through a relay: {members}")
    relays = members.relays or {}
    for node_id, host, port, _ in members.nodes:
        if (host, port) == (address.host, address.port) and node_id in relays:
            return node_id, relays[node_id]
    raise ClientError(f"{direct}; nor does the tracker list a node there reached "
                      "through a relay (ask a node at home by its id, as bazaar "
                      "status lists it: bazaar node ID)")


#: What a node tells only its operator, as ``bazaar node`` names it.
WITHHELD = ("links other than overlay links", "bag", "pending buys",
            "recent messages", "downloads", "copies of shared files sold", "limits",
            "relay use", "trades", "roles", "where the tracker saw it come from")


def nodeObject(state, way=None):
    """A node's state as ``--json`` gives it: ``operator`` says whether it
    was told as to its operator; a stranger's answer (``operator`` false)
    has ``withheld`` naming what it lacks, and no bag, pending, recent,
    downloads or roles (the operator's, where the node says them).  (The
    wire's ``public`` is not a name for it here: it reads like the node's
    reach.)  ``asked`` says how this client reached it (way, a L{ClientWay
    <twisted_bazaar.reach.ways.ClientWay>}: ``lan``, ``relay`` or
    ``direct``, and where)."""
    wired = state.asDict()
    obj = {"id": wireId(state.id), "host": state.host, "port": state.port,
           "scheme": state.scheme, "links": wired["links"],
           "stock": dict(state.stock), "files": list(map(shownFile, wired["files"])),
           "reach": state.reach}
    if state.files_shared is not None:
        obj["filesShared"] = state.files_shared
    if state.stock_items is not None:
        obj["stockItems"] = state.stock_items
    if way is not None:
        obj["asked"] = {"path": way.kind, "at": way.where}
    if state.relay is not None:
        obj["relay"] = state.relay
    if state.public:
        return dict(obj, operator=False, withheld=list(WITHHELD))
    seen = (None if not state.seen_host
            else {"host": state.seen_host, "port": state.seen_port})
    whole = dict(obj, operator=True, bag=dict(state.bag), pending=state.pending,
                 recent=wired["recent"], downloads=list(map(shownFile, wired["downloads"])),
                 seen=seen, limits=wired["limits"], trades=wired["trades"])
    if state.local_host is not None:
        whole["localHost"] = state.local_host
    if "relaying" in wired:
        whole["relaying"] = wired["relaying"]
    if state.roles is not None:
        whole["roles"] = list(state.roles)
    return whole


@defer.inlineCallbacks
def buy(reactor, args):
    """Ask the tracker which scheme its market runs, then buy as a node of
    that scheme, within what is left of --timeout."""
    started = reactor.seconds()
    members = yield askTracker(reactor, args.tracker, Members(), MemberList,
                               args.timeout, args.tracker_key)
    scheme = marketScheme(members, discoveryPlugins(), getattr(args, "discovery", None))
    if args.quantity > 1 and itemHash(args.item) is not None:
        sys.stderr.write(f"bazaar: warning: {args.item} is a shared file: it is bought "
                         f"once, not {args.quantity} times (--quantity counts units "
                         f"of counted items)\n")
    progress = None if args.json else Progress(
        _write, sys.stdout.isatty(), lambda: shutil.get_terminal_size().columns)
    # A file bought comes through the channel, opened here.
    tuneForStreaming()
    identity = Identity.generate()
    channel = ChannelKey.generate(identity)
    connector = EndpointConnector(reactor, channel=channel)
    downloads, refused = _downloads(getattr(args, "downloads", None))
    # On an IPv6 tracker's family, as a node's: a seller dials the buyer
    # there (a file's fetch through a relay, a punch).
    listen = onTrackersFamily(args.listen, [args.tracker])
    purchase = OneShotBuy(
        reactor, connector,
        EncryptedServerEndpoint(serverFromString(reactor, listen), channel, reactor),
        EncryptedClientEndpoint(clientEndpoint(reactor, args.tracker.endpoint),
                                channel, reactor, expected=args.tracker_key),
        str(args.tracker), args.item, args.quantity, args.timeout, scheme, args.host or "",
        listen_description=listen, downloads=downloads, refused=refused,
        give_up=args.download_give_up, progress=progress, identity=identity,
        notice=noticeFor(args), announce=None if args.json else _announce,
        punch=_punchOf(reactor, channel, connector, not args.no_punch),
        quic=_quicOf(reactor, channel, None if args.no_quic else args.quic_port or 0),
        transports=_transportsOf(args), tracker_kinds=(args.tracker.kind,),
        tracker_at=args.tracker)
    finished = purchase.run(started)
    shuttingDown = []

    def interrupted():
        # Ctrl-C or SIGTERM stops the reactor: first end the purchase,
        # saying what was bought, and have the node leave in order.
        shuttingDown.append(True)
        signum = getattr(reactor, "_exitSignal", None)
        if signum is not None:
            return purchase.interrupt(f"interrupted by {_signalName(signum)}")

    trigger = reactor.addSystemEventTrigger("before", "shutdown", interrupted)
    try:
        result = yield finished
    except BuyError as e:
        others = unaskedSchemes(members, scheme)
        if e.result["purchases"] or not others or not e.started or not e.unfound:
            raise
        raise BuyError(f"{e}; only the {scheme} scheme's nodes were asked, not "
                       f"those of {others}: --discovery SCHEME buys through them",
                       e.result) from None
    finally:
        if not shuttingDown:
            reactor.removeSystemEventTrigger(trigger)
    return result


def unaskedSchemes(members, scheme):
    """The other schemes the market's live nodes run (a buy runs one:
    their sellers were not asked), as ``index (2 nodes)``, or ""."""
    counts = {}
    for _, _, _, each in members.nodes:
        if each and each != scheme:
            counts[each] = counts.get(each, 0) + 1
    ranked = sorted(counts, key=lambda each: (-counts[each], each))
    named = ", ".join(f"{each} ({plural(counts[each], 'node')})"
                      for each in ranked[:_SHOWN_SCHEMES])
    if len(ranked) > _SHOWN_SCHEMES:
        named += f" and {plural(len(ranked) - _SHOWN_SCHEMES, 'more scheme')}"
    return named


def _punchOf(reactor, channel, connector, punch):
    """How the buying node hole-punches (C{OneShotBuy}'s ``punch``), as a
    daemon does: in the background, nothing waiting for it (the punch
    follows the tracker's check of this node, some 5 s behind a router),
    a file's remaining pieces moving to the punched path when it comes;
    or None (``--no-punch``): it punches none."""
    if not punch:
        return None
    return PunchDialer(reactor, channel, connector.peerLog), 0, True


def _transportsOf(args):
    """(plugin, its node options' values) of each transport plugin, as
    ``bazaar buy``'s command line gave them (L{twisted_bazaar.cli.arguments.
    transportOptions})."""
    return [(plugin, {option.name: getattr(args, option.name.replace("-", "_"))
                      for option in plugin.nodeOptions})
            for plugin in transportPlugins().values()]


def _quicOf(reactor, channel, port):
    """The service of the buying node's QUIC socket on UDP ``port``
    (``--quic-port``), as C{OneShotBuy} plugs it, or None
    (``--no-quic``)."""
    if port is None:
        return None
    # Imported here: a buy with --no-quic does not load qh3.
    from twisted_bazaar.daemon.quic import QuicService
    return QuicService(reactor, channel, port)


def _downloads(given):
    """(--downloads, or the current folder; why no file may be fetched
    into it, or None).  --downloads was checked as it was read; the
    current folder is not refused at once, since a counted item needs no
    folder: one of a daemon's state refuses a file's offers once found
    (L{currentFolderRefusal}), and one that takes no writes ends the buy
    with the disk's reason (L{twisted_bazaar.roles.files.fetch})."""
    if given is not None:
        return given, None
    folder = os.path.abspath(os.curdir)
    return folder, currentFolderRefusal(folder)


def noticeFor(args):
    """Where a buy says what is happening while it waits (nothing on
    offer yet): a line on stderr, on a terminal or not, so that a user
    or a log sees why it waits; nowhere with --json, whose reader takes
    the outcome's object."""
    return None if args.json else _notice


def _notice(text):
    # It names the item asked for, as typed: shown, as the final error
    # line shows it, so that no escape sequence in it reaches a terminal.
    sys.stderr.write(f"bazaar: {shown(text)}\n")
    sys.stderr.flush()


def _announce(line):
    # A purchase, said as it is made: the item as typed is shown, as the
    # final lines show it.
    _write(f"{shown(line)}\n")


def _write(text):
    sys.stdout.write(text)
    sys.stdout.flush()


def marketScheme(members, installed, chosen=None):
    """
    The discovery scheme to buy with: ``chosen`` (``--discovery``) when
    some live node runs it; else the one the market's live nodes run
    (from the tracker's ``memberlist``), of those installed here.

    Any node may claim any scheme, so a claim is not a fact of the market,
    and many nodes are as cheap to one party as one: each address group
    (L{twisted_bazaar.base.addressgroup.addressGroup}) has one vote, for the
    scheme most of its nodes run (shared out evenly among the schemes
    its nodes are split between), and the scheme with the most votes
    wins.  A stray node that says ``chord`` in a flood market does not
    stop a buyer, nor do many nodes of one group outvote another group;
    a market split evenly stops it.

    @param installed: the names of the schemes installed here.
    @raise ClientError: saying which ``--discovery`` to give, when the
        market's schemes tie, or none of its nodes runs ``chosen``, or
        none of its schemes is installed here.
    """
    counts, claims = {}, {}
    for _, host, _, scheme in members.nodes:
        if scheme:
            counts[scheme] = counts.get(scheme, 0) + 1
            group = claims.setdefault(addressGroup(host), {})
            group[scheme] = group.get(scheme, 0) + 1
    votes = dict.fromkeys(counts, Fraction(0))
    for group in claims.values():
        most = max(group.values())
        leading = [scheme for scheme, n in group.items() if n == most]
        for scheme in leading:
            votes[scheme] += Fraction(1, len(leading))
    ranked = sorted(counts, key=lambda scheme: (-votes[scheme], -counts[scheme], scheme))
    running = ", ".join(f"{scheme} ({plural(counts[scheme], 'node')})"
                        for scheme in ranked[:_SHOWN_SCHEMES])
    if len(ranked) > _SHOWN_SCHEMES:
        running += f" and {plural(len(ranked) - _SHOWN_SCHEMES, 'more scheme')}"
    if chosen is not None:
        if counts and chosen not in counts:
            raise ClientError(f"no live node runs the {chosen} scheme; the "
                              f"market's nodes run {running}: "
                              f"{_schemesToGive(ranked, votes)}")
        return chosen
    if not counts:
        return DEFAULT_SCHEME
    usable = [scheme for scheme in ranked if scheme in installed]
    if not usable:
        raise ClientError(f"the market runs the {ranked[0]} scheme, which is not "
                          f"installed here (installed: {', '.join(sorted(installed))})")
    if len(usable) > 1 and votes[usable[0]] == votes[usable[1]]:
        raise ClientError(f"the market's nodes run several schemes, {running}: "
                          f"give --discovery with the one to buy through")
    return usable[0]


def _schemesToGive(ranked, votes):
    """Which --discovery to give: the scheme with the most votes, or
    every one tied with it (a market split evenly has no one to name)."""
    tied = [scheme for scheme in ranked if votes[scheme] == votes[ranked[0]]]
    if len(tied) == 1:
        return f"give --discovery {tied[0]}"
    named = " or ".join(f"--discovery {scheme}" for scheme in tied[:_SHOWN_SCHEMES])
    if len(tied) > _SHOWN_SCHEMES:
        more = len(tied) - _SHOWN_SCHEMES
        named += f" (or one of the {more} more schemes tied with them)"
    return f"give {named}, which the market's address groups are split between"


# -- text -----------------------------------------------------------------------

def _short(text):
    """A node id (its wire text, as in --json) as people read it: a key's
    id's first 8 hex digits, a keyless id whole."""
    return text[:SHORT] if len(text) == 32 else text or "-"


def renderStatus(obj):
    lines = trackerLines(obj.get("trackers", ()))
    lines += [plural(obj['total'], "live node")
             + (f" (showing {len(obj['nodes'])})" if len(obj["nodes"]) < obj["total"]
                else "")]
    for entry in obj["nodes"]:
        lines.append(f"  node {_short(entry['id']):>10}  {hostPort(entry['host'], entry['port'])}  "
                     f"{entry['scheme'] or '-'}")
    return "\n".join(lines + _lanOnlyLines(obj))


def renderList(obj):
    lines = []
    query = (f"live query of {obj['asked']} of the {plural(obj['live'], 'live node')}: "
             f"the tracker's list holds no more" if "asked" in obj
             else "live query of every node")
    if obj["items"]:
        lines.append(f"in stock ({query}):")
        for item, entry in obj["items"].items():
            if not entry["units"]:
                # A seller's stock keeps an item it sold out of: listed as
                # "sellers: -", it read as an item still on offer.
                lines.append(f"  {item}: sold out (0 units at every node that "
                             "answered)")
                continue
            sellers = ", ".join(_short(s) for s in entry["sellers"])
            lines.append(f"  {item}: {plural(entry['units'], 'unit')}, sellers: "
                         f"{sellers}")
    else:
        lines.append(f"in stock ({query}): nothing")
    for entry in obj.get("stockCut", ()):
        lines.append(f"  and more: node {_short(entry['id'])} holds {entry['held']:,} "
                     f"items, its answer held the first {entry['listed']:,} by name "
                     "(all that fit)")
    if obj.get("files") or obj.get("filesCut"):
        lines.append(f"shared files ({query}):")
        for entry in obj["files"]:
            sellers = ", ".join(_short(s) for s in entry["sellers"])
            lines.append(f"  {entry['name']}: {byteSize(entry['size'])}, content id "
                         f"{entry[CONTENT_ID][:16]}…, sellers: {sellers}")
        for entry in obj.get("filesCut", ()):
            lines.append(f"  and more: node {_short(entry['id'])} shares "
                         f"{entry['shared']:,} files, its answer held the first "
                         f"{entry['listed']:,} by name (all that fit)")
    if obj["index"]:
        # Built once for every asker: LAN-only sellers, named only to
        # their classmates, are not counted (docs/running.md).
        lines.append("in the tracker's index (sellers per item it names to every "
                     "buyer; not those reached only on a LAN):")
        lines += [f"  {item}: {count}" for item, count in obj["index"].items()]
    for entry in obj["unreachable"]:
        lines.append(f"not answered: node {_short(entry['id'])} at "
                     f"{hostPort(entry['host'], entry['port'])}: {entry['why']}")
    lines += _lanOnlyLines(obj)
    return "\n".join(lines + trackerLines(obj.get("trackers", ())))


def _lanOnlyLines(obj):
    """The line saying how many live nodes the tracker named nobody here,
    reached only over a LAN this machine is not on (none if none is)."""
    if not obj.get("lanOnly"):
        return []
    return [f"and {plural(obj['lanOnly'], 'live node')} more, reached only on a LAN "
            "behind a router this machine is not behind (docs/running.md, \"Two "
            "machines at one home\")"]


def _linked(link):
    """The other end of a node's link, in words: a node, or a status client
    (this command, the web view; of purpose ``operator``, one that proved
    the node's key), whose id is no node's."""
    return ("a status client" if link["purpose"] in STATUS_PURPOSES
            else f"node {_short(link['id'])}")


def _where(link):
    """Where a link's peer is: the address it introduced, ``at HOST:PORT``;
    one that listens on no port (a status client says port 0) is only
    ``from HOST``, where its connection comes from, never at port 0."""
    if link["port"]:
        return f"at {hostPort(link['host'], link['port'])}"
    return f"from {link['host']}"


#: A link's flags (the node's word) -> how its line says them.
LINK_WAYS = (("relayed", "through a relay"), ("quic", "over QUIC"))


def _way(link):
    """A link's purpose, and how it runs where the node says: through a
    relay's circuit, over QUIC (``direct, over QUIC``)."""
    return ", ".join([link["purpose"]] + [words for flag, words in LINK_WAYS
                                          if link.get(flag)])


def _peer(peer_id):
    """The peer of a recent message, in words: a node, or a connection
    that had not yet said who it is (its first ``thisisme``)."""
    return "a new connection" if not peer_id else f"node {_short(peer_id)}"


#: What each reachability (L{twisted_bazaar.reach.reachable.reachability}) means, in
#: ``bazaar node``'s text (a private one's guess is L{_reached}'s).
REACH_WORDS = {PUBLIC: "yes", UNKNOWN: "not known yet"}


def _reached(obj):
    """Whether other nodes can dial the node, in words; for one they
    cannot, what keeps them out, as the node's own log guesses it
    (L{behind}: a firewall where the tracker saw it come from the address
    its connection leaves from, an IPv6 home's; NAT otherwise)."""
    if obj["reach"] != PRIVATE:
        return REACH_WORDS.get(obj["reach"], obj["reach"])
    return f"no ({behind(obj.get('localHost'), (obj.get('seen') or {}).get('host', ''))})"


def limitLine(entry):
    """One pool against its limit: ``link.unsent  0 of 33554432 bytes,
    8388608 a group``."""
    held = (f"{entry['used']} {entry['unit']}, no bound" if entry["limit"] is None
            else f"{entry['used']} of {entry['limit']} {entry['unit']}")
    share = "" if entry["group"] is None else f", {entry['group']} a group"
    return f"{entry['name']}  {held}{share}"


def relayingLine(use):
    """A node's relay use, as its operator reads it: ``relaying for nodes
    at home: 2 reservations, 3 circuits, 1.5 MiB copied``."""
    return (f"relaying for nodes at home: {plural(use['reservations'], 'reservation')}, "
            f"{plural(use['circuits'], 'circuit')}, {byteSize(use['bytes'])} copied")


def renderNode(obj):
    def counts(values):
        return ", ".join(f"{item} {n}" for item, n in values.items()) or "-"

    public = not obj.get("operator", True)
    lines = [f"node {_short(obj['id'])} at {hostPort(obj['host'], obj['port'])} ({obj['scheme']})"]
    if "roles" in obj:
        lines.append(f"roles: {', '.join(obj['roles']) or 'none'}")
    if obj.get("reach"):
        seen = obj.get("seen")
        lines.append(f"reachable from outside: {_reached(obj)}"
                     + (f" (the tracker saw it come from {hostPort(seen['host'], seen['port'])})"
                        if seen else ""))
    if obj.get("relay"):
        lines.append(f"reached through the relay at {obj['relay']}")
    if obj.get("asked", {}).get("path", DIRECT) != DIRECT:
        # Over the LAN, or through a relay: the address said is not where
        # it was asked.
        lines.append(f"asked {phrase(obj['asked']['path'])} {obj['asked']['at']}")
    lines.append(f"{'overlay ' if public else ''}links: {len(obj['links'])}")
    lines += [f"  {_linked(link)} {_where(link)} ({_way(link)})" for link in obj["links"]]
    held = obj.get("stockItems", len(obj["stock"]))
    lines.append("stock: " + (
        f"{held:,} items (the first {len(obj['stock']):,} by name: all that fit in its "
        f"answer): " if held > len(obj["stock"]) else "") + counts(obj["stock"]))
    if not public:
        lines += [f"bag: {counts(obj['bag'])}", f"pending buys: {obj['pending']}"]
    listed = obj.get("files", ())
    shared = obj.get("filesShared", len(listed))
    if shared:
        lines.append(f"shared files: {shared:,}" + (
            f" (the first {len(listed):,} by name: all that fit in its answer)"
            if shared > len(listed) else ""))
        lines += [f"  {entry['name']}  {byteSize(entry['size'])}  content id "
                  f"{entry[CONTENT_ID][:16]}…"
                  + (f"  sold {entry['sold']}" if "sold" in entry else "")
                  for entry in listed]
    if obj.get("downloads"):
        lines.append(f"downloads: {len(obj['downloads'])}")
        lines += [f"  {downloadLine(entry)}" for entry in obj["downloads"]]
    if obj.get("relaying"):
        lines.append(relayingLine(obj["relaying"]))
    if obj.get("limits"):
        lines.append("limits (used of the most it holds; a group's share):")
        lines += [f"  {limitLine(entry)}" for entry in obj["limits"]]
    if obj.get("recent"):
        lines.append("recent messages (newest last):")
        lines += [f"  {entry['ago'] / 1000:6.1f} s ago  "
                  f"{'<- from' if entry['dir'] == 'in' else '-> to  '} "
                  f"{_peer(entry['peer'])}  "
                  f"{entry['type']}" for entry in obj["recent"]]
    if obj.get("trades"):
        lines.append("trades (newest last; each buy's path, buyer first):")
        lines += [f"  {entry['ago'] / 1000:6.1f} s ago  {entry['item']} x{entry['units']}  "
                  + " -> ".join(_short(each) for each in entry["path"])
                  for entry in obj["trades"]]
    if public:
        lines.append(f"withheld (its operator's, told to --data-dir of the node): "
                     f"{', '.join(obj['withheld'])}")
    return "\n".join(lines)


def web(reactor, args):
    """Serve the web view, as the operator of the node in --data-dir."""
    from twisted_bazaar.cli.webview import serve

    return serve(reactor, args, _operator(args.data_dir))


def renderWeb(obj):
    """Nothing more to say once the view is stopped: its first line said
    where it listened."""
    return ""


COMMANDS = {"status": (status, renderStatus), "list": (listing, renderList),
            "node": (node, renderNode), "buy": (buy, renderBuy),
            "restock": (restock, renderRestock), "web": (web, renderWeb)}

#: The exit status of a command stopped by a signal is 128 + its number,
#: as a shell reports it: 130 for Ctrl-C (SIGINT), 143 for SIGTERM.
SIGNALLED = 128


def run(args, reactor=None, own=False):
    """
    Run the command ``args`` names (as L{twisted_bazaar.cli.arguments.parse}
    parsed them: its C{main} calls this) and say what came of it: the answer
    (or what a failed buy bought all the same) on stdout, the reason it
    failed on stderr; with --json, one JSON object on stdout in either
    case (a failure's reason in its ``error``).

    @param reactor: the reactor to run on (default: the global one).
    @param own: whether this is the command's own process (the console
        script's), which exits once it is done.
    @return: the exit status: 0 answered, 1 failed, 128 + the signal's
        number when a signal stopped it.
    """
    command, render = COMMANDS[args.command]
    if own:
        # The command's own process: what it imported lives until it
        # exits, and the collector need not walk it again, above all at
        # exit (about 0.35 s of `bazaar buy`'s 3.3 s on a busy 2-core
        # machine, 0.03 s frozen).
        gc.freeze()
        beginCommandLog()
    outcome = {}

    def answered(obj):
        outcome["obj"] = obj

    def failed(reason):
        if reason.check(KeyboardInterrupt):
            # Ctrl-C as the command began, before the reactor put its
            # handler in place (its module still loading): a traceback
            # and "error: failed", status 1.
            outcome["signum"] = signal.SIGINT
            return
        # A plugin installed beside the project that cannot be used (two
        # schemes of one name...) is said as the daemons say it.
        reason.trap(ClientError, PluginFault)
        outcome["error"] = str(reason.value)
        outcome["obj"] = getattr(reason.value, "result", None)

    # The command's own process, on the global reactor: its deadlines and
    # its node's timers on the monotonic clock, its dates on the wall's.
    splits = own and reactor is None

    def go(reactor):
        outcome["reactor"] = reactor
        if splits:
            splitClock(reactor)
        if own:
            # A signal while the command ends (its deadline, a Ctrl-C
            # before) is only noted: the reactor's own handler raised
            # ReactorNotRunning, a traceback above the command's line.
            stopOnce(reactor)
        d = defer.maybeDeferred(command, reactor, args)
        d.addCallbacks(answered, failed)
        return d

    signum = None
    try:
        task.react(go, [], _reactor=reactor)
    except SystemExit as e:
        if e.code not in (0, None) and "error" not in outcome:
            outcome["error"] = "failed"
    except KeyboardInterrupt:
        # Ctrl-C before the reactor took over the signal.
        signum = signal.SIGINT
    signum = (getattr(outcome.get("reactor"), "_exitSignal", None) or outcome.get("signum")
              or signum)
    if signum is not None and args.command in SERVERS and "error" not in outcome:
        outcome.setdefault("obj", dict(UNSERVED))
    if signum is not None and "error" not in outcome and "obj" not in outcome:
        outcome["error"] = f"interrupted by {_signalName(signum)}"
    obj, error = outcome.get("obj"), outcome.get("error")
    # What peers said is in obj and error: shown as a terminal may show it
    # (every string, whatever field it is in), or as JSON, which escapes it.
    if args.json:
        emit(jsonText(dict(obj or {}, **({"error": error} if error else {}))))
    elif obj is not None:
        text = render(shownData(obj))
        if text:
            emit(text)
    if error:
        sys.stderr.write(f"bazaar: error: {shown(error)}\n")
    if signum is not None and not (args.command in SERVERS and "obj" in outcome):
        return SIGNALLED + signum
    return 1 if error else 0


def _signalName(signum):
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"

