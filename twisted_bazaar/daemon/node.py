"""
A node daemon put together, in the order it must be: its endpoints
(L{nodeEndpoints}), its state (L{openState}: the data dir's lock, the
node's key, its store), then the node and the services that run it
(L{serveNode}, and L{holdDataDir} last).  Each step that can fail raises L{StartupError}, saying
which option and why, before anything is started.
"""

import os
import random

import attr
from twisted.application.service import Service
from twisted.internet.endpoints import serverFromString
from twisted.logger import Logger

from twisted_bazaar.base.listenfault import listenFault
from twisted_bazaar.base.words import plural
from twisted_bazaar.core.node import NodeConfig
from twisted_bazaar.daemon.build import buildNode, serveTransport
from twisted_bazaar.daemon.control import ControlService
from twisted_bazaar.daemon.datamode import keptToItsOwner
from twisted_bazaar.daemon.folderwatch import FolderWatch
from twisted_bazaar.daemon.services import (
    EndpointConnector,
    ListeningService,
    NodeService,
    StartupError,
)
from twisted_bazaar.identity.keys import KEY_FILE, Identity
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.net.byname import clientEndpoint
from twisted_bazaar.net.encrypted import EncryptedClientEndpoint, EncryptedServerEndpoint
from twisted_bazaar.schemes.interfaces import IKeyTest
from twisted_bazaar.status.client import endpointFault
from twisted_bazaar.store import StoreError, openStore
from twisted_bazaar.store.lock import DataDirLock
from twisted_bazaar.reach.reachable.portmap.routers import routerMapper
from twisted_bazaar.transports.tcp.fromport import PunchDialer
from twisted_bazaar.wire.ids import shortId

log = Logger()


def nodeEndpoints(reactor, listen, trackers):
    """The endpoints of --listen and of each tracker (client endpoint
    strings, in order): (server endpoint, [client endpoint, ...])."""
    try:
        server = serverFromString(reactor, listen)
    except (ValueError, TypeError) as e:
        raise StartupError(f"--listen: bad endpoint: {e}")
    return server, [_trackerEndpoint(reactor, tracker) for tracker in trackers]


def _trackerEndpoint(reactor, tracker):
    """The client endpoint of one --tracker; one Twisted cannot make (a
    tls: one's trustRoots= that is no folder of PEM certificates, say) is
    a L{StartupError} that says why in one line."""
    try:
        return clientEndpoint(reactor, tracker)
    except (ValueError, TypeError) as e:
        raise StartupError(f"--tracker: bad endpoint: {e}")
    except Exception as e:
        raise StartupError(f"--tracker: {endpointFault(tracker, e)}")


def nodeConfig(options):
    """The L{NodeConfig} of twistd bazaar-node's parsed options."""
    return NodeConfig(
        host=options["host"],
        neighbours=options["neighbours"],
        max_connections=options["max-connections"],
        direct_slots=options["direct-slots"],
        direct_idle=options["direct-idle"],
        handshake_limit=options["handshake-limit"],
        connection_rate=options["connection-rate"],
        link=options.linkSettings(),
    )


def keyRefusal(scheme):
    """What a node's key must pass for its scheme ((plugin, settings)):
    the ``keyTest`` of an L{IKeyTest} plugin (a chord ring's puzzle), or
    None."""
    plugin, settings = scheme
    return plugin.keyTest(settings) if IKeyTest.providedBy(plugin) else None


@attr.s(auto_attribs=True)
class NodeState:
    """
    What a node daemon opened before it builds its node.

    @ivar lock: the L{DataDirLock} held on --data-dir, or None.
    @ivar identity: the node's L{Identity}.
    @ivar store: its store (durable with --data-dir).
    @ivar pins: the L{KeyPin} of each tracker's key, in order.
    """

    lock: object
    identity: Identity
    store: object
    pins: list


def openState(reactor, data_dir, refusal, pinFor, restockWith=None, onFailure=None,
              said=None):
    """
    Open a node's state: with a data dir, lock it, then read (or make)
    its key and the trackers' pins, restock it (``restockWith``: item ->
    units), and open its store; without one, a store in memory and a new
    key.  A key the scheme refuses (``refusal``) is never taken.  If
    anything after the lock fails (a store another program made, a key
    puzzle stopped by Ctrl-C), what this start made in the data dir is
    removed and the lock released: a failed start leaves nothing of its
    own there, and nothing else is touched.

    @param pinFor: the data dir (or None) -> each tracker's L{KeyPin}.
    @param onFailure: told why when the daemon must end because its
        store's writer is gone for good (L{writerGone}), or None.
    @param said: a list given the call that logs what the data dir held
        (its restock, what was restored), for the daemon to log once its
        start has succeeded: a start that fails removes a data dir it
        made, and says only why; None: logged here.
    @raise StartupError: when the data dir cannot be used.
    """
    lock = None
    lines = []
    try:
        if data_dir is not None:
            lock = DataDirLock(data_dir)
            lock.acquire()
            for line in keptToItsOwner(data_dir):
                log.warn("{line}", line=line)
            identity = Identity.inDirectory(data_dir, refusal)
            # Each tracker's key: pinned, or known from its first
            # contact on.
            pins = pinFor(data_dir)
        if restockWith is not None:
            lines.append(restock(data_dir, restockWith))
        store = openStore(data_dir, reactor, onBroken=None if onFailure is None
                          else lambda why: onFailure(writerGone(data_dir, why)))
    except BaseException as e:
        if lock is not None:
            # Nothing when the lock was not had (another node's folder).
            lock.undo()
            lock.release()
        if isinstance(e, OSError) and not e.filename and data_dir is not None:
            raise StartupError(f"--data-dir: cannot use data dir {data_dir}: "
                               f"{e.strerror or e}") from None
        if isinstance(e, (OSError, ValueError, StoreError)):
            raise StartupError(f"--data-dir: {e}") from None
        raise
    if not store.durable:
        # Said once the start succeeded, as a data dir's line is: it came
        # before twistd's own "starting up".
        lines.append("no --data-dir: this node's state lives in memory and is lost "
                     "when it stops")
        identity = Identity.generate(refusal)
        pins = pinFor(None)
    else:
        lines.append(restoredLine(data_dir, store, identity))

    def tell():
        for line in lines:
            log.info("{line}", line=line)

    if said is None:
        tell()
    else:
        said.append(tell)
    return NodeState(lock, identity, store, pins)


def sayNoRole():
    """A node with no role: said once its start has succeeded (it came
    before twistd's own "starting up")."""
    log.info("no --role: this node buys and sells nothing; it relays and serves its "
             "discovery scheme")


def writerGone(directory, why):
    """
    The line a node ends with when its store's writer is gone for good
    (``why``): no sale or purchase can be recorded any more, so it stops
    rather than take buys it could never confirm.  What it confirmed was
    on disk first; what was not written is undone, and never confirmed.
    """
    return (f"--data-dir {directory}: {why.rstrip('.')}; this node can record nothing more, so "
            "it stops (what it confirmed is on disk; what was not written is "
            "undone, unconfirmed)")


def lockGone(directory, why):
    """The line a node ends with when its data dir's lock file is removed
    while it runs (``why``): a second node started on the folder would
    take a new lock, and share its ledger and key."""
    return (f"--data-dir {directory}: {why}, so another node could start on this data "
            "dir and share its ledger and key; this one stops rather than share them "
            "(what it confirmed is on disk; started again, it takes a new lock)")


def restock(directory, stock):
    """
    ``--restock``: set each ``--sell`` item's units in the data dir to its
    count, keeping the ledger, before the node opens its store (the write
    is committed at once, on this thread).

    @return: the line for the log.
    @raise StoreError: when the data dir cannot be written.
    """
    store = openStore(directory)
    try:
        before = store.inventory()
        failures = []
        store.restock(stock, seed=stock).addErrback(failures.append)
        if failures:
            raise StoreError(failures[0].getErrorMessage())
    finally:
        store.close()
    changes = ", ".join(f"{item}={units} (was {before.get(item, 0)})"
                        for item, units in sorted(stock.items()))
    return f"data dir {directory}: restocked {changes}; its ledger is kept"


def restoredLine(directory, store, identity=None):
    """What a node found in its data dir, in one line for the log: the
    node is its key's (``identity``), whatever id the data dir names."""
    node_id = store.nodeId()
    was = ""
    if identity is not None and node_id is not None and node_id != identity.id:
        was = (f" (its key's id; the data dir named node {shortId(node_id)}, of "
               "another key or of a version before ids were their keys')")
        node_id = identity.id
    inventory = store.inventory()
    bag = store.bag()
    pending = store.pending()
    if node_id is None and not inventory and not bag and not pending:
        return f"data dir {directory}: new, nothing to restore"
    stock = ", ".join(f"{item}={units}" for item, units in sorted(inventory.items()))
    held = {}
    for purchase in bag:
        held[purchase.item] = held.get(purchase.item, 0) + purchase.units
    contents = ", ".join(f"{item} x{n}" for item, n in sorted(held.items()))
    return (f"data dir {directory}: restored node "
            f"{'(no id yet)' if node_id is None else shortId(node_id)}{was}; "
            f"stock: {stock or 'none'}; bag: {sum(held.values())}"
            f"{f' ({contents})' if contents else ''}; pending buys: {len(pending)}")


def unofferedLine(directory, store, selling):
    """
    The line that says a data dir's stock is not offered, or None: a node
    started without ``--role seller`` (``selling`` false) on a seller's
    data dir runs under its identity, and sells none of the units its
    ledger holds.
    """
    held = {item: units for item, units in store.inventory().items() if units}
    if selling or not held:
        return None
    stock = ", ".join(f"{item}={units}" for item, units in sorted(held.items()))
    return (f"data dir {directory} holds a seller's stock ({stock}) that this node "
            "does not offer: it runs without --role seller, as the node of that data "
            "dir (its key); start it with --role seller to sell it")


def unsentLine(directory, store, buying):
    """
    The line that says a data dir's pending buys are not sent again, or
    None: a node started without ``--role buyer`` (``buying`` false) on a
    buyer's data dir resends none, so a unit sold for one is not
    collected until a buyer runs on it.
    """
    pending = store.pending()
    if buying or not pending:
        return None
    items = ", ".join(sorted({entry.item for entry in pending}))
    return (f"data dir {directory} holds {plural(len(pending), 'pending buy')} "
            f"({items}) that this node does not send again: it runs without --role "
            "buyer, so a unit a seller sold for one is not collected; start it with "
            "--role buyer to collect it")


@attr.s(auto_attribs=True)
class NodeSite:
    """
    Where a node daemon meets the world.

    @ivar listen: the server endpoint of --listen (plain, not yet sealed).
    @ivar trackers: each tracker's client endpoint (plain), in order.
    @ivar listen_description: --listen as given.
    @ivar tracker_addresses: each tracker's address, for the log.
    @ivar interface: the interface to listen on for other services (the
        seller's file transfers): --listen's.
    @ivar tracker_ways: each tracker's path its relay is dialled by (a
        L{Path}: the transport the tracker is reached by serves it), or
        None: the relay's own TCP port.
    """

    listen: object
    trackers: list
    listen_description: str
    tracker_addresses: list
    interface: str
    tracker_ways: list = attr.Factory(list)


def serveNode(reactor, state, site, config, scheme, roles, retry, onFailure,
              meter=None, punch=True, relay=None, port_mapping=True,
              quic=None, transports=(), wayOut=()):
    """
    Build a node (L{buildNode}) on an opened state and the service that
    runs it, every connection sealed by one channel key (the node's key,
    proven in each handshake: protocol.md §2.1), and hole punching over
    its relayed links (L{twisted_bazaar.reach.punch.tcp.service.Punching}).

    @param scheme: (plugin, settings) of the discovery scheme.
    @param roles: (plugin, settings) of each role.
    @param retry: (first, longest) seconds between reconnections to the
        tracker.
    @param onFailure: called with a reason when the daemon must end (a
        port that cannot listen, the tracker lost for good).
    @param meter: the node -> its metrics, to meter it; or None.
    @param punch: whether the node hole-punches over its relayed links
        (L{twisted_bazaar.daemon.build.plugPunching}), in the background:
        nothing waits for a punch, and a file started through a relay
        moves to the punched path when it comes
        (L{twisted_bazaar.roles.files.moves}); False: the node punches
        none, and refuses its peers' punches.
    @param relay: (the server endpoint of the node's relay, plain; its
        L{RelayLimits}; the endpoint as the user wrote it) for a node that
        relays for nodes at home once found reachable, or None.
    @param port_mapping: whether the node asks its router to map its port
        once found unreachable (L{twisted_bazaar.reach.reachable.portmapping}).
    @param quic: (UDP port, peers) of the node's QUIC socket
        (L{twisted_bazaar.daemon.quic.QuicService}), or None for none.
    @param transports: makers of the node's other transports, each
        called with the channel key and the peer log before the node is
        built and giving what has the transport (C{transport}, handed to
        the node's dialer) and the service that runs it for the node,
        once built (C{serve(book, links, transfers, relay)}: the node's
        book of paths, the factories of its links, of its transfers and
        of its relay (or None), not the node; it serves that relay on its
        port too): a transport plugin's
        (L{twisted_bazaar.transports.plugin.ITransportPlugin.nodeTransport}).
    @param wayOut: the ways out its transport plugins name, said when no
        circuit through its relay opens
        (L{twisted_bazaar.daemon.build.plugReservations}).
    @return: (the L{NodeService}, the L{NodeParts}, the metrics or None).
    """
    channel = ChannelKey.generate(state.identity)
    connector = EndpointConnector(
        reactor, interface=site.interface, channel=channel,
        # Only the seller's file shop listens through it: a seller that
        # cannot serve its files ends, as one that cannot --listen does.
        onListenFailure=lambda port, reason: onFailure(
            f"--transfer-port {port}: cannot serve shared files: "
            f"{listenFault(reason.value)}"))
    metered = []
    quicService, more = None, ()
    if quic is not None:
        # Imported here: qh3 is loaded only by a node that serves QUIC,
        # not by every simulated node's process (testing/market imports
        # this module), which it cost 2.5 MB.
        from twisted_bazaar.daemon.quic import QuicService
        quicService = QuicService(reactor, channel, quic[0], site.interface, quic[1])
        more = (quicService.transport,)
    added = [make(channel, connector.peerLog) for make in transports]
    more += tuple(each.transport for each in added)
    parts = buildNode(reactor, random.Random(), connector, config, state.store,
                      state.identity, scheme, roles,
                      meter=(lambda node: metered.append(meter(node)))
                      if meter is not None else None,
                      punch=(PunchDialer(reactor, channel, connector.peerLog), 0, punch,
                             quic is not None),
                      relay=None if relay is None else (relay[1], config.connection_rate),
                      portmap=routerMapper(reactor) if port_mapping else None,
                      more=more, wayOut=wayOut)
    node = parts.node
    # Each tracker proves the key its own pin holds.
    trackers = [(EncryptedClientEndpoint(endpoint, channel, reactor, pin=pin), address)
                for endpoint, pin, address in zip(site.trackers, state.pins,
                                                  site.tracker_addresses)]
    service = NodeService(
        reactor, parts.node, EncryptedServerEndpoint(site.listen, channel, reactor),
        trackers[0][0], *retry, onFailure=onFailure,
        listen_description=site.listen_description, tracker_address=trackers[0][1],
        onStopRequested=lambda why: reactor.stop(), other_trackers=trackers[1:],
        services=parts.services, roles=parts.roles, tracker_ways=site.tracker_ways)
    if quicService is not None:
        quicService.serve(node, parts.punching, onFailure)
        quicService.setServiceParent(service)
    # Its relay served on each added transport's port too: a node at a home
    # that lets only HTTP(S) out reaches it nowhere else.
    relayFactory = None if parts.offering is None else parts.offering.relay.factory()
    for each in added:
        serveTransport(each, node, relayFactory).setServiceParent(service)
    if relay is not None:
        endpoint, _, description = relay
        relayService(reactor, parts.offering, channel, endpoint, description,
                     onFailure).setServiceParent(parts.offering)
    return service, parts, metered[0] if metered else None


class RelayListening(ListeningService):
    """A node's relay's port: the relay grants reservations once it
    listens, and stops (closing every connection to it) when the port
    closes."""

    def __init__(self, reactor, endpoint, relay, onFailure, description):
        super().__init__(reactor, endpoint, relay.factory(), "relay", self._portIs,
                         onFailure, description)
        self.relay = relay

    def _portIs(self, port):
        self.relay.port = port.getHost().port

    def stopService(self):
        self.relay.port = 0
        self.relay.stop()
        return super().stopService()


def relayService(reactor, offering, channel, endpoint, description, onFailure):
    """
    The port of the node's relay (protocol.md §5a, the relay of its
    L{RelayOffering <twisted_bazaar.reach.reachable.offering.RelayOffering>}),
    served on ``endpoint`` sealed by the node's channel key; a child of
    the offering, which offers the relay to the tracker once the node is
    found reachable.
    """
    peer_log = offering.relay.peer_log  # the node's, which its relay logs to
    sealed = EncryptedServerEndpoint(endpoint, channel, reactor, peerLog=peer_log)
    return RelayListening(reactor, sealed, offering.relay, onFailure, description)


def holdDataDir(reactor, service, state, seller, buying=False, onFailure=None):
    """With a data dir, the last children of a node daemon's service: the
    lock stamped with the pid once it runs, the control socket (for
    ``seller``, a L{Seller} or None), and, with ``onFailure``, a watch
    of the folder and its lock file that tells it the line the node ends
    with if either is moved or deleted while it runs (L{FolderWatch}: its
    ledger could no longer be kept; another node could take the folder),
    and of its key file, written back if it goes (L{keyGone}).  What the data dir holds that no role of the node
    takes up is said (``buying``: it has the buyer role)."""
    if state.lock is None:
        return
    for line in (unofferedLine(state.lock.directory, state.store, seller is not None),
                 unsentLine(state.lock.directory, state.store, buying)):
        if line is not None:
            log.warn("{line}", line=line)
    service.lock = state.lock
    LockStamp(state.lock).setServiceParent(service)
    ControlService(reactor, state.lock.directory, seller).setServiceParent(service)
    if onFailure is not None:
        directory, lock = state.lock.directory, state.lock.path
        files = [(lock, f"its lock file {lock}",
                  lambda why: onFailure(lockGone(directory, why)))]
        if state.identity is not None:
            key = os.path.join(directory, KEY_FILE)
            files.append((key, f"its key file {key}",
                          lambda why: keyGone(state.identity, key, why, onFailure)))
        FolderWatch(reactor, directory, lambda why: onFailure(writerGone(directory, why)),
                    files=files).setServiceParent(service)


def keyGone(identity, path, why, onFailure):
    """
    A node's key file moved or deleted while it runs (``why``): started
    again, the node would make a new key, and be another node over this
    one's ledger.  Written back from memory, it runs on (True); where
    that cannot be, or another key is in its place, ``onFailure`` is told
    the line it ends with.
    """
    try:
        written = identity.writeNew(path)
    except OSError as e:
        return onFailure(f"--data-dir: {why}, and it cannot be written back "
                         f"({e.strerror or e}); this node stops, its key lost with the "
                         "file: started again, it would be another node")
    if not written:
        return onFailure(f"--data-dir: {why}, another key in its place; this node "
                         "stops rather than start again as another")
    log.warn("{why}: written back from this node's memory, so that it is the same "
             "node at its next start", why=why)
    return True


class LockStamp(Service):
    """Writes the daemon's pid into its data dir's lock once it runs (after
    twistd has forked into the background, when it does)."""

    def __init__(self, lock):
        self.lock = lock

    def startService(self):
        super().startService()
        self.lock.stamp()
