"""
Path routing: messages that carry the ``path`` they travel.

A node forwards such a message only if it is on the path and came from
the node before it on the path (so never one whose path starts with the
node itself), handles it only if it is last, and answers ``wrongway``
otherwise; a message delivered goes, with the link it came on, to the
handlers of its type (L{twisted_bazaar.events.EventBus.deliver}).
The router also keeps
the path table: the shortest known path to other nodes, learned from the
paths that pass through.
"""

from twisted.logger import Logger, LogLevel

from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.wire.ids import shortId, wireId
from twisted_bazaar import wire

#: Default number of destinations kept in the path table.
DEFAULT_PATH_LIMIT = 10_000
PATH_LIMIT = declare(
    "path.destinations", DEFAULT_PATH_LIMIT, "destinations",
    "destinations whose way back the path table keeps (NodeConfig.path_limit), "
    "the oldest forgotten first", owner=__name__)
#: Paths remembered as learned (see L{PathRouter.received}); more, and the
#: memory starts over.
LEARNED_LIMIT = 1024

#: Who the lines of messages that found no link to go on are charged to in
#: the node's peer log: their peer's link is gone, and its address with it.
NO_LINK_GROUP = "peers no longer linked"

#: What the path table keeps for a neighbour (a path of this node and the
#: peer): every link of a simulation has one, and a tuple for it was 56
#: bytes a link end.
_NEIGHBOUR = object()


def _upTo(known, target):
    """The path to target of a known one (not L{_NEIGHBOUR}): all of it if
    it ends at target, else up to target's only place in it (L{learn}
    keeps a prefix of its own where the place would be another)."""
    if known[-1] == target:
        return known
    return known[:known.index(target) + 1]


def _length(known, target):
    """The length of the path to target that known stands for."""
    if known is _NEIGHBOUR:
        return 2
    if known[-1] == target:
        return len(known)
    return known.index(target) + 1


class PathRouter:
    """
    Relays and delivers path-routed messages for one node.

    The path table: peer id -> shortest known path, least recently
    improved first, in a dict (which keeps that order too, not an
    C{OrderedDict}: that costs twice the room, and every simulated node
    holds one); a neighbour's path is kept as L{_NEIGHBOUR}, and every
    other as the path it was learned from, shared by the peers on it, up
    to the peer's first place in it (L{_upTo}): a prefix of its own for
    each was most of what a flooding node held, 15 kB of each of 4,000
    at the end of a run.
    """

    # Slots, not a dict: a simulation holds one a node.
    __slots__ = ("node", "limit", "_table", "_learned", "_via")

    log = Logger()

    def __init__(self, node, limit=DEFAULT_PATH_LIMIT):
        self.node = node
        self.limit = limit
        self._table = {}
        #: Paths L{received} learned from, while learning them again would
        #: change nothing (no entry was dropped since): the messages of a
        #: trade, or a stream along one path, teach the table once.  None
        #: until a path is learned (an empty set is 216 bytes, on every
        #: simulated node).
        self._learned = None
        #: first hop -> how many targets' known paths (longer than a
        #: neighbour's) go through it, so that L{forgetVia} reads the
        #: table only when a closed link's peer was the first hop of some
        #: (a count, not the set of them: a set per first hop was 24 MB
        #: more in a 1,000-node flood); None until such a path is known,
        #: a first hop with none left dropped.
        self._via = None

    def route(self, message, traded=True, payload=None):
        """
        Send a message whose path starts at this node to the next hop.

        @param traded: for a message that proves its first hop a trading
            partner (a ``buyOK``), whether it answers a trade that counts:
            False for a copy of a shared file, which took nothing from the
            seller and costs a stranger nothing (docs/protocol.md §6,
            "Eviction").
        @param payload: the message's wire payload when its sender built
            it already (a batch-signed ``buyOK``), else None: encoded here.
        @return: True if it left, False if there is no link to the next hop.
        """
        next_hop = message.path[1] if len(message.path) > 1 else None
        # The overlay's own lookup, as in L{received}: a call less for
        # every answer a seller sends.
        link = self.node.overlay.linkTo(next_hop)
        if link is None:
            self._noLink(message, next_hop)
            return False
        if payload is None:
            link.send(message)
        else:
            link.sendPayload(payload, message.TYPE)
        if message.PROVES and traded:
            self.node.overlay.proven(link)
        return True

    def _noLink(self, message, next_hop):
        """
        Say that message found no link to go on.  A peer makes these as
        fast as it sends: buys or asks, then its link closed before their
        answers leave.  So they go through the node's peer log, charged
        all together to L{NO_LINK_GROUP}, since the link that would say
        whose address group they are is gone.
        """
        self.node.overlay.peer_log.emit(self.log, LogLevel.info, NO_LINK_GROUP,
                                        "cannot send {type} to node {next}: no link",
                                        type=message.TYPE, next=shortId(next_hop))

    def received(self, link, message, links=None):
        """A routed message came in on link: deliver it here, or pass it on
        unchanged (the received bytes go on as they came).

        @param links: what the overlay hands with every message it relays
            for its next hop, peer id -> link through its C{get} (its
            table: no call of Python's, and no bound method made, a
            message); None for the overlay's
            L{linkTo<twisted_bazaar.net.overlay.Overlay.linkTo>}."""
        node = self.node
        path = message.path
        try:
            here = path.index(node.id)
        except ValueError:
            # Counted like any bad message, so a peer cannot spray them (an
            # error is not answered, but counted all the same).
            link.protocolError("wrongway", f"node {wireId(node.id)} is not on the path "
                               f"of this {message.TYPE}",
                               answer=type(message) is not wire.Error)
            return
        if not here or path[here - 1] != link.peer_id:
            # Only the node before this one may hand it on: nobody can slip
            # a message into a path (claim to be a seller, or a buyer) from
            # elsewhere.  A path that starts here is this node's own: one
            # that comes in from a peer is in this node's name, and relayed
            # it would reach the next hop as if this node had sent it.
            why = (f"node {wireId(node.id)} starts the path of this {message.TYPE}, so it "
                   "cannot come from another node" if not here else
                   f"this {message.TYPE} must come from node {path[here - 1]}")
            link.protocolError("wrongway", why, answer=type(message) is not wire.Error)
            return
        learned = self._learned
        if learned is None:
            learned = self._learned = set()
        if path not in learned:
            # Learning only ever shortens entries, so once learned, a path
            # teaches nothing new until an entry is dropped (an eviction
            # below, forgetVia, clear), which forgets every learned path.
            if len(learned) >= LEARNED_LIMIT:
                learned.clear()
            learned.add(path)
            self.learn(path[here::-1])
            self.learn(path[here:])
        if here == len(path) - 1:
            # To the handlers of its type, with the link it came on.
            node.events.deliver(link, message)
            return
        if links is None:
            next_hop = node.overlay.linkTo(path[here + 1])
        else:
            next_hop = links.get(path[here + 1])
        if next_hop is None:
            link.peerLine(LogLevel.info, "dropping {type} from {peer}: no link to next "
                          "hop {next}", self.log, type=message.TYPE,
                          next=shortId(path[here + 1]))
            return
        next_hop.sendPayload(link.payload, message.TYPE)

    def learn(self, path):
        """Record path (from this node) and every prefix of it, if shorter
        than what is known."""
        known = self._table
        target = path[-1]
        current = known.get(target)
        # (A neighbour's mark stands for a path of 2.)  L{_length} inline:
        # this is every relayed message's path, most often known already.
        if current is not None and (
                2 if current is _NEIGHBOUR else len(current) if current[-1] == target
                else current.index(target) + 1) <= len(path):
            # Known as well already; its prefixes were learned with it.
            return
        for end in range(2, len(path) + 1):
            target = path[end - 1]
            current = known.get(target)
            if current is None or end < _length(current, target):
                if current is not None:
                    # Moved to the end: most recently improved.
                    del known[target]
                    if current is not _NEIGHBOUR:
                        self._uncount(current)
                if end == 2:
                    known[target] = _NEIGHBOUR
                else:
                    # The path itself where L{_upTo} finds the target's
                    # place in it: the end, or its only place (as it is
                    # unless the path passes it twice).
                    shared = end == len(path) or (path[-1] != target
                                                  and path.index(target) == end - 1)
                    known[target] = path if shared else path[:end]
                    via = self._via
                    if via is None:
                        via = self._via = {}
                    via[path[1]] = via.get(path[1], 0) + 1
                if len(known) > self.limit:
                    dropped = known.pop(next(iter(known)))
                    if dropped is not _NEIGHBOUR:
                        self._uncount(dropped)
                    self._learned = None

    def _uncount(self, path):
        """A known path longer than a neighbour's is dropped: one fewer
        through its first hop."""
        via = self._via
        left = via[path[1]] - 1
        if left:
            via[path[1]] = left
        else:
            del via[path[1]]

    @property
    def table(self):
        """peer id -> shortest known path (a tuple of ids from this node to
        the peer, both included), least recently improved first (a view,
        made on each call)."""
        return {target: self.pathTo(target) for target in self._table}

    def pathTo(self, peer_id):
        """The shortest known path to a peer, or None."""
        known = self._table.get(peer_id)
        if known is _NEIGHBOUR:
            return (self.node.id, peer_id)
        return None if known is None else _upTo(known, peer_id)

    def forgetVia(self, peer_id):
        """A link closed: no path through that neighbour holds any more."""
        self._learned = None
        table = self._table
        if table.get(peer_id) is _NEIGHBOUR:
            del table[peer_id]
        via = self._via
        if via is not None and via.pop(peer_id, 0):
            for target in [t for t, p in table.items()
                           if p is not _NEIGHBOUR and p[1] == peer_id]:
                del table[target]

    def clear(self):
        """This node's id changed: every path it knows starts with the old
        one."""
        self._learned = None
        self._via = None
        self._table.clear()
