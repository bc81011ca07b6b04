"""
Recording fakes for the buyer's parts: a node that records what is
routed and connected, a buyer (the parts' boss) that records what the
parts ask of it, and a want that records its inputs.
"""

import random

from twisted.internet import defer, task

from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.core.market import Offer
from twisted_bazaar.roles.trades import TradeLog
from twisted_bazaar.store import MemoryStore, PendingBuy


class FakeLink:
    closing = False
    transport = None

    def __init__(self, node=None):
        self.pings = []
        #: The node whose peer log the lines a message delivered on this
        #: link causes go through, charged to one address group.
        self.node = node

    def peerLine(self, level, format, logger=None, **fields):
        fields["peer"] = "node 2 at 10.0.0.2:5000"
        self.node.peer_log.emit(logger, level, "10.0.0.0/16", format, **fields)

    def ping(self):
        d = defer.Deferred()
        self.pings.append(d)
        return d


class FakeNode:
    """The parts of a node the buyer's parts use, recording."""

    def __init__(self, node_id=1):
        self.id = node_id
        self.clock = task.Clock()
        self.rng = random.Random(0)
        self.identity = None
        self.links = {}
        self.proven = set()
        self.routed = []
        #: First hops with no link: a message routed to one goes nowhere.
        self.unlinked = set()
        self.connecting = []
        #: (peer, relay) noted, as the buyer noted them.
        self.relays = []
        self.heardAt = {}
        self.ready = True
        self.stopping = False
        self.membership = None
        #: The node's hole punches (INode.punching): none.
        self.punching = None
        self.useless_peers = []
        #: The node's peer log: every line a delivered message causes is
        #: charged to one address group here (L{FakeLink}).
        self.peer_log = PeerLog(self.clock)
        #: Peers whose link waits for a better one (a punch under way).
        self.waiting = set()
        #: The peers of the links filling every direct slot (none: a slot
        #: is free), and those given up to make room (L{roomFor}).
        self.full = []
        self.retired = []

    def useless(self, peer_id):
        self.useless_peers.append(peer_id)

    def spares(self, peer_id, purpose):
        """As a node's: its link to peer_id is of no use unless its roles
        use it (L{usesLinkTo}, the buyer's book's, where a test gives it)."""
        return not self.usesLinkTo(peer_id)

    def usesLinkTo(self, peer_id):
        return False

    def roomFor(self, purpose):
        """A direct slot is free unless a test took them all
        (L{full}: the peers of the links in them); else one whose
        peer is spare (L{spares}) is given up, as the overlay gives it up."""
        spared = next((peer for peer in self.full if self.spares(peer, purpose)), None)
        if spared is not None:
            self.full.remove(spared)
            self.retired.append(spared)
        return not self.full or spared is not None

    def slotsFor(self, purpose):
        return 8

    def route(self, message):
        if message.path[1] in self.unlinked:
            return False
        self.routed.append(message)
        return True

    def isProven(self, link):
        return link in self.proven

    def linkTo(self, peer_id):
        return self.links.get(peer_id)

    def linkReady(self, peer_id):
        return peer_id in self.links and peer_id not in self.waiting

    def heard(self, peer_id, host, port, namedBy=None, purpose="node", relay=None):
        self.heardAt[peer_id] = (host, port)
        if relay is not None:
            self.relays.append((peer_id, relay))

    def connectTo(self, peer_id, purpose):
        """A dial by id, at the address last heard (as the book of paths
        holds it)."""
        d = defer.Deferred()
        self.connecting.append((self.heardAt[peer_id] + (peer_id, purpose), d))
        return d


class RecordingBoss:
    """The buyer, as its parts see it: records each call."""

    def __init__(self, book):
        self.book = book
        self.store = MemoryStore()
        self.calls = []
        self.trades = TradeLog(task.Clock())

    def forget(self, buy_id):
        self.calls.append(("forget", buy_id))
        self.book.forget(buy_id)

    def doubtsResolved(self, item):
        self.calls.append(("doubtsResolved", item))

    def sellerRefuses(self, seller):
        self.calls.append(("sellerRefuses", seller))

    def sellerSoldNothing(self, seller):
        self.calls.append(("sellerSoldNothing", seller))

    def bought(self, purchase, want, doubted):
        self.calls.append(("bought", purchase.buy_id, want, doubted))

    def storeFailed(self, reason, what, buy_id):
        self.calls.append(("storeFailed", what, buy_id))


class RecordingWant:
    """A want holding one buy: records the inputs it is fed."""

    def __init__(self, pending):
        self.pending = pending
        self.offer = Offer(pending.seller, pending.path)
        self.inputs = []

    def pendingBuy(self):
        return self.pending

    def __getattr__(self, name):
        if name in ("soldOut", "buyOK", "unanswered", "notCommitted", "refused"):
            return lambda *args: self.inputs.append((name,) + args)
        raise AttributeError(name)


def pendingBuy(buy_id=7, item="apple", seller=5, host="", port=0, **kw):
    return PendingBuy(buy_id, item, seller, (1, 3, seller), host, port,
                      expires=kw.pop("expires", 10**12), **kw)

