"""
Flooding: a message spreads over the links a filter allows, at most once
per id per node, until its hop limit runs out.

The flooded message type must have ``id``, ``return_path`` (the ids it
passed, starting with its origin) and ``ttl``.  Each node appends its own
id, remembers who sent it each id (the seen-set, bounded), and learns the
reverse path, so that answers can be path-routed back.
"""

from collections import OrderedDict

import attr
from twisted.logger import Logger, LogLevel

from twisted_bazaar import wire

#: Default number of flood ids remembered for dedup.
DEFAULT_SEEN_LIMIT = 10_000


def everyLink(link):
    """The default filter: a flood goes to every link."""
    return True


class FloodRouter:
    """
    Floods one message type for one node.  A flood whose return path does
    not end with the peer that sent it is dropped (its path is not learned).

    @param arrived: called with each new message that reaches this node
        (its return_path already ends with this node, its ttl lowered).
    @param linkFilter: which links a flood goes to (and is accepted from).
    """

    log = Logger()

    def __init__(self, node, message_type, arrived, linkFilter=everyLink,
                 seen_limit=DEFAULT_SEEN_LIMIT):
        self.node = node
        self.message_type = message_type
        self.arrived = arrived
        self.linkFilter = linkFilter
        self.seen_limit = seen_limit
        #: flood id -> the peer it came from (this node's id for its own).
        self.seen = OrderedDict()
        node.handle(message_type, self.received)

    def links(self):
        return [link for link in self.node.links.values() if self.linkFilter(link)]

    def start(self, message):
        """Flood a message this node originates (return_path is just this
        node); returns how many links it went to."""
        self._remember(message.id, self.node.id)
        payload = wire.encode(message)
        links = self.links()
        for link in links:
            link.sendPayload(payload, message.TYPE)
        return len(links)

    def _remember(self, flood_id, came_from):
        self.seen[flood_id] = came_from
        if len(self.seen) > self.seen_limit:
            self.seen.popitem(last=False)

    def received(self, link, message):
        node = self.node
        if not self.linkFilter(link):
            link.protocolError("wtf", f"{message.TYPE} does not travel on this link")
            return
        if message.id in self.seen or node.id in message.return_path:
            return
        if message.return_path[-1] != link.peer_id:
            # Learning that path would send answers astray: dropped, like a
            # flood seen before.
            link.peerLine(LogLevel.info, "dropping {type} from {peer}: its return path "
                          "does not end with the node that sent it", self.log,
                          type=message.TYPE)
            return
        self._remember(message.id, link.peer_id)
        path = message.return_path + (node.id,)
        node.paths.learn(path[::-1])
        here = attr.evolve(message, return_path=path, ttl=message.ttl - 1)
        self.arrived(here)
        if here.ttl <= 0 or len(path) >= wire.MAX_PATH:
            return
        visited = set(path)
        payload = None
        for link in self.links():
            if link.peer_id not in visited:
                if payload is None:
                    payload = wire.encode(here)
                link.sendPayload(payload, here.TYPE)
