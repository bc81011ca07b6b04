"""
The tracker: hands out node ids and introduces nodes to each other.

It never sees a search or a sale.  :class:`Registry` is the table of live
nodes, plain state with no I/O; :class:`Tracker` answers the links of
:class:`TrackerFactory` from it.  Liveness (pings, silence) is the links'
business: a node whose link closes, for any reason, leaves the table.
"""

import json

from twisted.internet.protocol import Factory
from twisted.logger import Logger

from twisted_bazaar import wire
from twisted_bazaar.index import ItemIndex
from twisted_bazaar.link import Link, LinkSettings

#: Node ids are non-negative and below this.
ID_SPACE = 2**31
#: Default port the tracker listens on, and nodes look for it on.
DEFAULT_TRACKER_PORT = 7700
#: Random draws tried before a full scan when picking a node to introduce.
_PICK_TRIES = 16


class Registry:
    """
    The live table: id -> (host, port), with O(1) random picks so that a
    tracker of ten thousand nodes stays cheap.
    """

    def __init__(self, rng):
        self.rng = rng
        self.nodes = {}
        self._order = []
        self._index = {}

    def __len__(self):
        return len(self.nodes)

    def join(self, wanted, host, port):
        """Add a node; it keeps ``wanted`` as its id when that is valid and
        free, else it gets a new random id.  Returns the id."""
        node_id = wanted
        if not 0 <= node_id < ID_SPACE or node_id in self.nodes:
            node_id = self.rng.randrange(ID_SPACE)
            while node_id in self.nodes:
                node_id = self.rng.randrange(ID_SPACE)
        self.nodes[node_id] = (host, port)
        if port:
            # Port 0 means the node takes no links: never introduce it.
            self._index[node_id] = len(self._order)
            self._order.append(node_id)
        return node_id

    def leave(self, node_id):
        if node_id not in self.nodes:
            return
        del self.nodes[node_id]
        slot = self._index.pop(node_id, None)
        if slot is None:
            return
        last = self._order.pop()
        if last != node_id:
            self._order[slot] = last
            self._index[last] = slot

    def pick(self, asker, exclude=()):
        """A random live node that takes links, other than ``asker`` and, if
        possible, not one of ``exclude``.  Returns (id, host, port), or None
        if there is no such node."""
        order = self._order
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
    """Answers tracker links: registration, introductions, departures."""

    log = Logger()

    def __init__(self, clock, rng, settings=None):
        self.clock = clock
        self.registry = Registry(rng)
        self.index = ItemIndex(rng)
        self.settings = settings or LinkSettings()
        self.links = {}

    def linkMade(self, link):
        pass

    def linkLost(self, link, reason):
        node_id = link.peer_id
        if node_id is not None and self.links.get(node_id) is link:
            del self.links[node_id]
            self.registry.leave(node_id)
            self.index.forget(node_id)
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
        elif kind in _INDEX_HANDLERS:
            _INDEX_HANDLERS[kind](self, link, message)
        elif kind is wire.ThisIsMe:
            if message.id != link.peer_id:
                link.protocolError("wtf", f"you are node {link.peer_id}", close=True)
        elif kind is wire.Dc:
            link.close("node said dc")
        else:
            link.protocolError("wtf", f"the tracker does not handle {message.TYPE}")

    def _register(self, link, hello):
        host = hello.host or getattr(link.transport.getPeer(), "host", "")
        node_id = self.registry.join(hello.id, host, hello.port)
        self.links[node_id] = link
        link.identified(node_id)
        link.send(wire.ThisIsYou(node_id, hello.port))
        self.log.info("node {id} joined from {host}:{port} ({n} live)", id=node_id,
                      host=host, port=hello.port, n=len(self.registry))

    def _introduce(self, link, request):
        found = self.registry.pick(link.peer_id, request.exclude)
        if found is None:
            link.send(wire.NodeReply(-1, "", 0))
        else:
            link.send(wire.NodeReply(*found))


    # -- the index (--discovery index) -----------------------------------------

    def _registerItem(self, link, message):
        self.index.register(link.peer_id, message.item)
        link.send(wire.Ack(message.item))

    def _unregisterItem(self, link, message):
        self.index.unregister(link.peer_id, message.item)
        link.send(wire.Ack(message.item))

    def _lookup(self, link, message):
        nodes = self.registry.nodes
        # A node that said port 0 takes no links, so no buyer could reach it.
        sellers = tuple((seller,) + nodes[seller]
                        for seller in self.index.lookup(message.item, wire.MAX_FOUND)
                        if seller in nodes and nodes[seller][1])
        link.send(wire.Found(message.item, sellers))

    def _list(self, link, message):
        """Everything on offer, in name order, cut short where it would no
        longer fit in one frame (or MAX_LISTING items)."""
        room = self.settings.frame_limit - 64
        items = {}
        for item, count in self.index.listing().items():
            room -= len(json.dumps(item, ensure_ascii=False).encode("utf-8")) + 22
            if room < 0 or len(items) == wire.MAX_LISTING:
                break
            items[item] = count
        link.send(wire.Listing(items))


_INDEX_HANDLERS = {
    wire.Register: Tracker._registerItem,
    wire.Unregister: Tracker._unregisterItem,
    wire.Lookup: Tracker._lookup,
    wire.List: Tracker._list,
}


class TrackerFactory(Factory):
    """Listening factory of the tracker daemon."""

    noisy = False

    def __init__(self, tracker):
        self.tracker = tracker

    def buildProtocol(self, addr):
        return Link(self.tracker, self.tracker.clock, self.tracker.settings,
                    inbound=True)
