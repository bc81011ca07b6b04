"""
The tracker: hands out node ids and introduces nodes to each other.

It never sees a search or a sale.  L{Registry} is the table of live nodes,
plain state with no I/O; L{Tracker} answers the links of L{TrackerFactory}
from it, and hosts the extensions schemes plug in (see
L{twisted_bazaar.tracker.extension}).  Liveness (pings, silence) is the
links' business: a node whose link closes, for any reason, leaves the
table.
"""

import attr
from twisted.internet.protocol import Factory
from twisted.logger import Logger

from twisted_bazaar import wire
from twisted_bazaar.link import Link, LinkSettings
from twisted_bazaar.tracker.extension import trackerExtensionPlugins

#: Node ids are non-negative and below this.
ID_SPACE = 2**31
#: Default port the tracker listens on, and nodes look for it on.
DEFAULT_TRACKER_PORT = 7700
#: Random draws tried before a full scan when picking a node to introduce.
_PICK_TRIES = 16


class _Pool:
    """Node ids with O(1) add, remove and random pick."""

    def __init__(self):
        self.order = []
        self.index = {}

    def __len__(self):
        return len(self.order)

    def add(self, node_id):
        self.index[node_id] = len(self.order)
        self.order.append(node_id)

    def remove(self, node_id):
        slot = self.index.pop(node_id, None)
        if slot is None:
            return
        last = self.order.pop()
        if last != node_id:
            self.order[slot] = last
            self.index[last] = slot


@attr.s(frozen=True, auto_attribs=True)
class Abilities:
    """What a node told the tracker it can do: its discovery scheme (None
    if it did not say) and whether it offers to serve as a super-peer."""

    scheme: str = None
    superpeer: bool = False


class Registry:
    """
    The live table: id -> (host, port), with what each node can do, and
    O(1) random picks (among all nodes, or those of one scheme, or its
    super-peers) so that a tracker of ten thousand nodes stays cheap.
    """

    def __init__(self, rng):
        self.rng = rng
        self.nodes = {}
        self.abilities = {}
        self._pools = {}

    def __len__(self):
        return len(self.nodes)

    def _poolsOf(self, abilities):
        keys = [None]
        if abilities.scheme is not None:
            keys.append(abilities.scheme)
            if abilities.superpeer:
                keys.append((abilities.scheme, "super"))
        return keys

    def join(self, wanted, host, port, abilities=Abilities()):
        """Add a node; it keeps ``wanted`` as its id when that is valid and
        free, else it gets a new random id.  Returns the id."""
        node_id = wanted
        if not 0 <= node_id < ID_SPACE or node_id in self.nodes:
            node_id = self.rng.randrange(ID_SPACE)
            while node_id in self.nodes:
                node_id = self.rng.randrange(ID_SPACE)
        self.nodes[node_id] = (host, port)
        self.abilities[node_id] = abilities
        if port:
            # Port 0 means the node takes no links: never introduce it.
            for key in self._poolsOf(abilities):
                self._pools.setdefault(key, _Pool()).add(node_id)
        return node_id

    def leave(self, node_id):
        if node_id not in self.nodes:
            return
        del self.nodes[node_id]
        for key in self._poolsOf(self.abilities.pop(node_id)):
            pool = self._pools.get(key)
            if pool is not None:
                pool.remove(node_id)
                if not pool and key is not None:
                    del self._pools[key]

    def members(self, scheme=None, superpeer=False):
        """The ids of live nodes that take links: all, or those of scheme
        (its super-peers only, with superpeer)."""
        key = (scheme, "super") if superpeer and scheme is not None else scheme
        pool = self._pools.get(key)
        return list(pool.order) if pool is not None else []

    def pick(self, asker, exclude=(), scheme=None, superpeer=False):
        """A random live node that takes links (of scheme, a super-peer if
        asked), other than ``asker`` and, if possible, not one of
        ``exclude``.  Returns (id, host, port), or None if there is no such
        node."""
        key = (scheme, "super") if superpeer and scheme is not None else scheme
        pool = self._pools.get(key)
        order = pool.order if pool is not None else []
        unwanted = set(exclude)
        unwanted.add(asker)
        for _ in range(_PICK_TRIES if len(order) > 1 else 0):
            candidate = order[self.rng.randrange(len(order))]
            if candidate not in unwanted:
                return (candidate,) + self.nodes[candidate]
        fresh = [n for n in order if n not in unwanted]
        others = fresh or [n for n in order if n != asker]
        if not others:
            return None
        candidate = self.rng.choice(others)
        return (candidate,) + self.nodes[candidate]


class Tracker:
    """
    Answers tracker links: registration, introductions, departures, and
    the messages of the extensions it hosts.

    @ivar extensions: extension name -> L{ITrackerExtension}.
    """

    log = Logger()

    def __init__(self, clock, rng, settings=None, extensions=None):
        self.clock = clock
        self.rng = rng
        self.registry = Registry(rng)
        self.settings = settings or LinkSettings()
        self.links = {}
        self.extensions = {}
        self._handlers = {}
        plugins = trackerExtensionPlugins() if extensions is None else extensions
        for name, plugin in sorted(plugins.items()):
            self.addExtension(name, plugin.build(self))

    def addExtension(self, name, extension):
        """Host an extension: its messages come to it from now on.

        @raise ValueError: if another extension handles one of its message
            types, or it claims a core message (the extension is then not
            added at all).
        """
        for kind in extension.handlers:
            if kind in self._handlers:
                raise ValueError(f"{kind.TYPE} is handled by two tracker extensions")
            if kind.__module__ == wire.ThisIsMe.__module__:
                raise ValueError(f"{kind.TYPE} is the core's; an extension cannot "
                                 "take it over")
        self._handlers.update(extension.handlers)
        self.extensions[name] = extension

    def linkMade(self, link):
        pass

    def linkLost(self, link, reason):
        node_id = link.peer_id
        if node_id is not None and self.links.get(node_id) is link:
            del self.links[node_id]
            self.registry.leave(node_id)
            for extension in self.extensions.values():
                extension.nodeLeft(node_id)
            self.log.info("node {id} left ({n} live)", id=node_id, n=len(self.registry))

    def messageReceived(self, link, message):
        kind = type(message)
        if kind is wire.Error:
            self.log.info("{peer} says {code}: {info}", peer=link.describe(),
                          code=message.code, info=message.info)
        elif link.peer_id is None:
            if kind is wire.ThisIsMe:
                self._register(link, message)
            else:
                link.protocolError("wtf", f"say thisisme before {message.TYPE}",
                                   close=True)
        elif kind is wire.NodeReq:
            self._introduce(link, message)
        elif kind is wire.WhereIs:
            host, port = self.registry.nodes.get(message.id, ("", 0))
            link.send(wire.NodeReply(message.id, host, port))
        elif kind in self._handlers:
            self._handlers[kind](link, message)
        elif kind is wire.ThisIsMe:
            if message.id != link.peer_id:
                link.protocolError("wtf", f"you are node {link.peer_id}", close=True)
        elif kind is wire.Dc:
            link.close("node said dc")
        else:
            link.protocolError("wtf", f"the tracker does not handle {message.TYPE}")

    def _register(self, link, hello):
        host = hello.host or getattr(link.transport.getPeer(), "host", "")
        abilities = Abilities(hello.scheme, bool(hello.superpeer))
        node_id = self.registry.join(hello.id, host, hello.port, abilities)
        self.links[node_id] = link
        link.identified(node_id)
        link.send(wire.ThisIsYou(node_id, hello.port))
        self.log.info("node {id} joined from {host}:{port} ({n} live)", id=node_id,
                      host=host, port=hello.port, n=len(self.registry))

    def _introduce(self, link, request):
        found = self.registry.pick(link.peer_id, request.exclude, request.scheme,
                                   bool(request.superpeer))
        if found is None:
            link.send(wire.NodeReply(-1, "", 0))
        else:
            link.send(wire.NodeReply(*found))


class TrackerFactory(Factory):
    """Listening factory of the tracker daemon."""

    noisy = False

    def __init__(self, tracker):
        self.tracker = tracker

    def buildProtocol(self, addr):
        return Link(self.tracker, self.tracker.clock, self.tracker.settings,
                    inbound=True)
