"""
Flooding: a message spreads over the links a filter allows, at most once
per id per node, until its hop limit runs out.

The flooded message type must have ``id``, ``return_path`` (the ids it
passed, starting with its origin) and ``ttl``.  Each node appends its own
id, remembers who sent it each id (the seen-set, bounded), and learns the
reverse path, so that answers can be path-routed back.

What a node passes on is bounded too: its neighbours each take at most
their per-link rate of the type from it, and past that they drop at
random, whoever's floods they are.  So the router forwards at most that
rate itself, a second at a time, and shares it max-min fairly among the
address groups of the links floods come in on and, within a group, among
their origins (L{twisted_bazaar.net.fairshare.NestedShare}): a group with
fifteen links gets no more forwarded than a group with one, and the floods
refused are the heaviest group's.  Its own floods count in the budget too
(under a group of their own), and are never refused.
"""


import attr
from twisted.logger import Logger, LogLevel

from twisted_bazaar import wire
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.net.fairshare import NestedShare
from twisted_bazaar.net.limits import bucketRate

#: Default number of flood ids remembered for dedup.
DEFAULT_SEEN_LIMIT = 10_000
SEEN_LIMIT = declare(
    "flood.seen", DEFAULT_SEEN_LIMIT, "ids",
    "flood ids remembered to drop repeats, the oldest forgotten first",
    flag="--seen-limit", owner=__name__)
FORWARDING_LIMIT = declare(
    "flood.forwarding", None, "messages/s",
    "floods a node passes on, all links together (its bucket's rate: the search "
    "rate), shared among address groups, then origins", flag="--search-rate",
    owner=__name__)


#: The group this node's own floods are counted under in its budget (no
#: address group is a tuple).
OWN = ("own",)


def everyLink(link):
    """The default filter: a flood goes to every link."""
    return True


class OfPurpose:
    """
    A filter that allows the links of one purpose: the router asks the
    node for those links alone (L{twisted_bazaar.core.node.Node.linksOf})
    rather than for every link to test, so a part hands out no link it
    does not send over (a simulation's quiet links may be kept as less
    than a link until one is handed out, issue 95).
    """

    __slots__ = ("purpose",)

    def __init__(self, purpose):
        self.purpose = purpose

    def __call__(self, link):
        return link.purpose == self.purpose


class FloodRouter:
    """
    Floods one message type for one node.  A flood whose return path does
    not end with the peer that sent it is dropped (its path is not learned).

    @param arrived: called with each new message that reaches this node
        (its return_path already ends with this node, its ttl lowered).
    @param linkFilter: which links a flood goes to (and is accepted from):
        a function of a link, or an L{OfPurpose}.
    @param rate: floods forwarded a second, shared fairly (None: the
        per-link rate of the type's bucket in the node's link settings,
        what a neighbour with the same settings takes from one link).
    @ivar budget: the L{NestedShare} of what it forwards; its
        C{refused} counts the floods it did not forward.
    """

    # Slots, not a dict: a simulation holds one a node.
    __slots__ = ("node", "message_type", "arrived", "linkFilter", "seen_limit", "seen", "budget")

    log = Logger()

    def __init__(self, node, message_type, arrived, linkFilter=everyLink,
                 seen_limit=DEFAULT_SEEN_LIMIT, rate=None):
        self.node = node
        self.message_type = message_type
        self.arrived = arrived
        self.linkFilter = linkFilter
        self.seen_limit = seen_limit
        #: flood id -> the peer it came from (this node's id for its own),
        #: oldest first: a dict, which keeps that order, not an
        #: C{OrderedDict}, which took twice the room (8.4 kB of each
        #: flooding node of 4,000 at the end of a run).
        self.seen = {}
        if rate is None:
            rate = bucketRate(node.config.link.rates, message_type.BUCKET)
        self.budget = NestedShare(rate)
        node.takeFrom(self, {message_type: FloodRouter.received})

    def links(self):
        allowed = self.linkFilter
        if type(allowed) is OfPurpose:
            return self.node.linksOf(allowed.purpose)
        return [link for link in self.node.linkEnds() if allowed(link)]

    def start(self, message):
        """Flood a message this node originates (return_path is just this
        node); returns how many links it went to."""
        node = self.node
        self._remember(message.id, node.id)
        self.budget.spend(OWN, node.id, node.clock.seconds())
        payload = wire.encode(message)
        links = self.links()
        for link in links:
            link.sendPayload(payload, message.TYPE)
        return len(links)

    def _remember(self, flood_id, came_from):
        self.seen[flood_id] = came_from
        if len(self.seen) > self.seen_limit:
            del self.seen[next(iter(self.seen))]

    def received(self, link, message):
        node = self.node
        allowed = self.linkFilter
        if (link.purpose != allowed.purpose if type(allowed) is OfPurpose
                else not allowed(link)):
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
        onward = [other for other in self.links() if other.peer_id not in visited]
        if not onward:
            return
        if not self.budget.ask(groupOf(link), message.return_path[0],
                               node.clock.seconds()):
            traffic = node.config.link.traffic
            if traffic is not None:
                traffic.messageDropped("share", message.TYPE)
            return
        payload = wire.encode(here)
        for other in onward:
            other.sendPayload(payload, here.TYPE)
