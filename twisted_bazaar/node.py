"""
The common node every role runs on: links, the thisisme handshake,
flooding with dedup, path routing and the path dictionary.

The node decides; it never touches a socket.  Links bring it messages and
carry its answers; a connector opens new links; roles (buyer, seller, ...)
get told about searches and about path-routed messages addressed to this
node.  Time comes from the clock it is given, never the global reactor.
"""

from collections import OrderedDict

import attr
from twisted.internet import defer
from twisted.internet.protocol import Factory
from twisted.logger import Logger

from twisted_bazaar import wire
from twisted_bazaar.link import Link, LinkSettings
from twisted_bazaar.store import MemoryStore

#: Default number of peers a node tries to stay linked to.
DEFAULT_NEIGHBOURS = 3
#: Default most links a node accepts.
DEFAULT_MAX_CONNECTIONS = 8
#: Default number of search ids remembered for dedup.
DEFAULT_SEEN_LIMIT = 10_000
#: Default number of destinations kept in the path dictionary.
DEFAULT_PATH_LIMIT = 10_000
#: Default connections one host may hold open before saying thisisme.
DEFAULT_HANDSHAKE_LIMIT = 4


@attr.s(auto_attribs=True)
class NodeConfig:
    """What a node is told at start-up (the flags of ``bazaar-node``)."""

    host: str = ""
    neighbours: int = DEFAULT_NEIGHBOURS
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    ttl: int = wire.DEFAULT_TTL
    seen_limit: int = DEFAULT_SEEN_LIMIT
    path_limit: int = DEFAULT_PATH_LIMIT
    handshake_limit: int = DEFAULT_HANDSHAKE_LIMIT
    link: LinkSettings = attr.Factory(LinkSettings)


class NotConnected(Exception):
    """A link to the peer could not be made or did not finish its handshake."""


class Unreachable(NotConnected):
    """Not even a connection could be made: nothing listens at the peer's
    address (unlike a peer that answers, then refuses the link)."""


class Node:
    """
    One peer of the overlay.

    @ivar id: this node's id, None until the tracker assigns one.
    @ivar links: peer id -> established L{Link}.
    @ivar path_dict: peer id -> shortest known path (a tuple of ids from
        this node to the peer, both included).
    @ivar addresses: peer id -> (host, port) each linked peer introduced.
    @ivar store: where the node's durable state lives (see L{store}).
    """

    log = Logger()

    def __init__(self, clock, rng, connector, config=None, store=None):
        self.clock = clock
        self.rng = rng
        self.connector = connector
        self.config = config or NodeConfig()
        self.store = store if store is not None else MemoryStore()
        #: The id the node had last time, if its store remembers one; it
        #: asks the tracker for it again.
        self.id = self.store.nodeId()
        #: True once the tracker (or a simulation) has confirmed the id.
        self.ready = False
        self.port = 0
        self.host = self.config.host
        self.links = {}
        self.pending = set()
        self.path_dict = OrderedDict()
        self.addresses = {}
        self.observers = []
        #: The discovery scheme (see L{twisted_bazaar.discovery}).
        self.discovery = None
        #: The tracker session, when the node has one.
        self.membership = None
        self._seen = OrderedDict()
        self._waiters = {}
        self._closed_waiters = []
        self.stopping = False

    # -- set-up ------------------------------------------------------------

    def addObserver(self, observer):
        """
        Add a role or other component.  It is told, through whichever of
        these methods it has: ``nodeReady()``, ``linkAdded(peer_id)``,
        ``linkRemoved(peer_id)``, ``searchStarted(search)``,
        ``searchReceived(search)``, ``delivered(message)``,
        ``nodeStopping()``, and the events other parts announce through
        L{notify}: ``trackerRegistered()`` (membership),
        ``findStarted(item)``, ``offerArrived(item, offer)`` and
        ``offersFound(item, offers)`` (discovery).
        """
        self.observers.append(observer)

    def notify(self, event, *args):
        """Tell every observer that has a method named ``event``."""
        for observer in self.observers:
            method = getattr(observer, event, None)
            if method is not None:
                method(*args)

    def setAddress(self, host, port):
        """Where peers can reach this node; the port is the listening one."""
        if host:
            self.host = host
        self.port = port

    def setId(self, node_id):
        """The tracker named this node."""
        first = not self.ready
        if self.id is not None and node_id != self.id:
            self.log.warn("tracker gave this node a new id {new} (was {old})",
                          new=node_id, old=self.id)
        self.id = node_id
        self.ready = True
        if self.store.nodeId() != node_id:
            stored = self.store.setNodeId(node_id)
            stored.addErrback(self._idNotStored, node_id)
        else:
            stored = defer.succeed(None)
        if first:
            # Announced once the id is on disk (at once with an inline
            # store): a node killed after saying its id comes back with it.
            stored.addCallback(self._announceReady, node_id)

    def _idNotStored(self, reason, node_id):
        self.log.warn("could not store node id {id}: {why}", id=node_id,
                      why=reason.getErrorMessage())

    def _announceReady(self, _, node_id):
        self.log.info("node {id} ready, listening on port {port}", id=node_id,
                      port=self.port)
        self.notify("nodeReady")

    def buildLink(self, inbound):
        return Link(self, self.clock, self.config.link, inbound)

    def introduction(self):
        return wire.ThisIsMe(self.id, self.port, self.host)

    # -- links ----------------------------------------------------------------

    def connectTo(self, host, port, peer_id=None):
        """
        Open a link to host:port and finish the handshake.

        @return: a Deferred firing with the peer's id, or failing with
            L{NotConnected}.
        """
        if peer_id is not None and peer_id in self.links:
            return defer.succeed(peer_id)
        if self.id is None:
            return defer.fail(NotConnected("this node has no id yet"))
        if self.linkCount() >= self.config.max_connections:
            return defer.fail(NotConnected("no free connection slots"))
        link = self.buildLink(inbound=False)
        waiter = self._waiters[link] = defer.Deferred()

        def failed(reason):
            self._waiters.pop(link, None)
            self.pending.discard(link)
            if not waiter.called:
                waiter.errback(Unreachable(f"{host}:{port}: {reason.getErrorMessage()}"))
            self._checkClosed()

        self.pending.add(link)
        self.connector.connect(host, port, link).addErrback(failed)
        return waiter

    def linkCount(self):
        return len(self.links) + len(self.pending)

    def linkMade(self, link):
        if not link.inbound:
            link.send(self.introduction())
            return
        if self.id is None:
            link.refuse("notiy", "this node has no id yet")
        elif self.stopping:
            link.refuse("noslots", "this node is shutting down")
        elif self.linkCount() >= self.config.max_connections:
            link.refuse("noslots", f"all {self.config.max_connections} "
                        "connection slots are taken")
        elif self._handshaking(link) >= self.config.handshake_limit:
            # Silent connections hold slots until their handshake times
            # out: one host must not be able to take them all.
            link.refuse("noslots", f"{self.config.handshake_limit} connections "
                        "from your address are still to say thisisme")
        else:
            self.pending.add(link)

    def _handshaking(self, link):
        """Inbound connections from link's host still in their handshake."""
        host = _hostOf(link)
        return sum(1 for other in self.pending if other.inbound and _hostOf(other) == host)

    def linkLost(self, link, reason):
        self._forget(link, reason)
        self._checkClosed()

    def _forget(self, link, reason):
        self.pending.discard(link)
        waiter = self._waiters.pop(link, None)
        peer = link.peer_id
        if waiter is not None and not waiter.called:
            if peer is not None and peer in self.links:
                waiter.callback(peer)
            else:
                waiter.errback(NotConnected(reason.getErrorMessage()))
        if peer is None or self.links.get(peer) is not link:
            return
        del self.links[peer]
        self.addresses.pop(peer, None)
        for target in [t for t, p in self.path_dict.items() if p[1] == peer]:
            del self.path_dict[target]
        self.log.info("link to node {peer} closed", peer=peer)
        self.notify("linkRemoved", peer)

    def _accept(self, link, hello):
        """The peer said thisisme: make the link an established one."""
        peer = hello.id
        if peer < 0:
            link.refuse("notiy", "register with the tracker before linking")
            return
        if peer == self.id:
            link.refuse("wtf", "that is this node's own id")
            return
        self.pending.discard(link)
        existing = self.links.get(peer)
        if existing is not None and not self._replaces(link, existing, peer):
            link.peer_id = peer
            link.disconnect(f"already linked to node {peer}")
            return
        link.identified(peer)
        if link.inbound:
            link.send(self.introduction())
        self.links[peer] = link
        if existing is not None:
            existing.disconnect("replaced by a newer link")
        address = link.transport.getPeer()
        self.addresses[peer] = (hello.host or getattr(address, "host", ""), hello.port)
        self._learn((self.id, peer))
        waiter = self._waiters.pop(link, None)
        if waiter is not None and not waiter.called:
            waiter.callback(peer)
        if existing is None:
            self.log.info("linked to node {peer}", peer=peer)
            self.notify("linkAdded", peer)

    def _replaces(self, new, old, peer):
        """
        Two links to one peer: which survives?  When both nodes connected
        to each other at once, both sides keep the link opened by the lower
        id, so they agree without talking.  Otherwise the newer one wins:
        the older is probably a dead connection not yet noticed.
        """
        if new.inbound == old.inbound:
            return True
        new_opener = peer if new.inbound else self.id
        return new_opener == min(self.id, peer)

    # -- receiving ---------------------------------------------------------------

    def messageReceived(self, link, message):
        kind = type(message)
        if link.peer_id is None:
            if kind is wire.ThisIsMe:
                self._accept(link, message)
            elif kind is wire.Error:
                self.log.info("{peer} refused the link: {code}: {info}",
                              peer=link.describe(), code=message.code, info=message.info)
            else:
                link.protocolError("wtf", f"say thisisme before {message.TYPE}",
                                   close=True)
            return
        if kind is wire.Search:
            self._onSearch(link, message)
        elif kind in wire.ROUTED_TYPES:
            self._onRouted(link, message)
        elif kind is wire.Error:
            if message.path is not None:
                self._onRouted(link, message)
            else:
                self.log.info("{peer} says {code}: {info}", peer=link.describe(),
                              code=message.code, info=message.info)
        elif kind is wire.Dc:
            link.close("peer said dc")
        elif kind is wire.ThisIsMe:
            if message.id != link.peer_id:
                link.protocolError("wtf", f"this link belongs to node {link.peer_id}",
                                   close=True)
        else:
            link.protocolError("wtf", f"{message.TYPE} is for the tracker")

    # -- searches --------------------------------------------------------------

    def search(self, item, ttl=None):
        """Flood a new search for item; return its id."""
        search_id = self.rng.randrange(1, wire.ID_LIMIT)
        self._remember(search_id, self.id)
        message = wire.Search(search_id, item, (self.id,),
                              self.config.ttl if ttl is None else ttl)
        self.notify("searchStarted", message)
        payload = wire.encode(message)
        for link in list(self.links.values()):
            link.sendPayload(payload, "search")
        return search_id

    def _remember(self, search_id, came_from):
        self._seen[search_id] = came_from
        if len(self._seen) > self.config.seen_limit:
            self._seen.popitem(last=False)

    def _onSearch(self, link, search):
        if search.id in self._seen or self.id in search.return_path:
            return
        self._remember(search.id, link.peer_id)
        path = search.return_path + (self.id,)
        self._learn(path[::-1])
        here = wire.Search(search.id, search.item, path, search.ttl - 1)
        self.notify("searchReceived", here)
        if here.ttl <= 0 or len(path) >= wire.MAX_PATH:
            return
        visited = set(path)
        payload = None
        for peer, out in list(self.links.items()):
            if peer not in visited:
                if payload is None:
                    payload = wire.encode(here)
                out.sendPayload(payload, "search")

    # -- path routing ------------------------------------------------------------

    def route(self, message):
        """
        Send a message whose path starts at this node to the next hop.

        @return: True if it left, False if there is no link to the next hop.
        """
        next_hop = message.path[1] if len(message.path) > 1 else None
        link = self.links.get(next_hop)
        if link is None:
            self.log.info("cannot send {type} to node {next}: no link",
                          type=message.TYPE, next=next_hop)
            return False
        link.send(message)
        return True

    def _onRouted(self, link, message):
        path = message.path
        try:
            here = path.index(self.id)
        except ValueError:
            if type(message) is wire.Error:
                return
            # Counted like any bad message, so a peer cannot spray them.
            link.protocolError("wrongway", f"node {self.id} is not on the path "
                               f"of this {message.TYPE}")
            return
        self._learn(path[here::-1])
        self._learn(path[here:])
        if here == len(path) - 1:
            self.notify("delivered", message)
            return
        next_hop = self.links.get(path[here + 1])
        if next_hop is None:
            self.log.info("dropping {type} {id}: no link to next hop {next}",
                          type=message.TYPE, id=message.id, next=path[here + 1])
            return
        # Relayed unchanged: the received bytes go on as they came.
        next_hop.sendPayload(link.payload, message.TYPE)

    def _learn(self, path):
        """Record path (from this node) and every prefix of it, if shorter
        than what is known."""
        known = self.path_dict
        current = known.get(path[-1])
        if current is not None and len(current) <= len(path):
            # Known as well already; its prefixes were learned with it.
            return
        for end in range(2, len(path) + 1):
            target = path[end - 1]
            current = known.get(target)
            if current is None or end < len(current):
                known[target] = path[:end]
                known.move_to_end(target)
                if len(known) > self.config.path_limit:
                    known.popitem(last=False)

    def pathTo(self, peer_id):
        """The shortest known path to a peer, or None."""
        return self.path_dict.get(peer_id)

    # -- shutdown ----------------------------------------------------------------

    def shutdown(self):
        """Say dc on every link and close them."""
        self.stopping = True
        self.notify("nodeStopping")
        for link in list(self.links.values()) + list(self.pending):
            link.disconnect("node shutting down")

    def whenClosed(self):
        """A Deferred that fires once no link is open."""
        d = defer.Deferred()
        self._closed_waiters.append(d)
        self._checkClosed()
        return d

    def _checkClosed(self):
        if not self._closed_waiters or self.links or self.pending:
            return
        waiters, self._closed_waiters = self._closed_waiters, []
        for d in waiters:
            if not d.called:
                d.callback(None)


def _hostOf(link):
    return getattr(link.transport.getPeer(), "host", None)


class NodeFactory(Factory):
    """The one listening factory every role shares: each inbound
    connection becomes a link of the node."""

    noisy = False

    def __init__(self, node):
        self.node = node

    def buildProtocol(self, addr):
        return self.node.buildLink(inbound=True)
