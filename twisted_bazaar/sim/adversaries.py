"""
What an adversarial node does (``bazaar-sim --adversary KIND``): the real
node, its scheme and roles, with one behaviour changed.

An adversary speaks the protocol as a modified node would: its messages
are well formed, and it signs with its own key only (it never holds
another node's).  Its changed behaviour is plugged in as a wrapper of the
real handlers of its node (L{Withhold}, L{Misroute}) or as a subclass of
the real seller role (L{NotYetSeller}, L{SquatSeller}); a L{sybil} is a
withholder whose key was ground for a chosen place.  Nothing here is
reachable from a daemon: the simulator is above every daemon layer
(``.importlinter``).

 - ``withhold``: drops what it would relay or serve: searches and
   queries, key-routed requests and stores (records it would hold), a
   chord detour's questions, and every path-routed message (offers,
   answers, buys) it should pass on.
 - ``misroute``: answers every search, query or key-routed request it
   should pass on or serve, at once, with a made-up answer: itself as the
   seller, at an address where nothing listens (its record signed with
   its own key), itself as the holder, or a made-up node as the one that
   holds a key; a chord detour's question, with made-up nodes where
   nothing listens, nearest the key on either side; it passes nothing on.
 - ``sybil``: one attacker's many keys, each a withholder; in chord each
   key is ground (L{grindBetween}) to sit on the items' keys, holder and
   replicas, and the keys ground are counted.
 - ``notyet``: sells a wanted item, and answers every buy with a signed
   ``notyet`` (L{NotYetSeller}).
 - ``squat``: claims a wanted item it does not have, and answers every
   buy with a signed ``soldout`` (L{SquatSeller}).
"""

from twisted_bazaar.core.records import RecordBook
from twisted_bazaar import wire
from twisted_bazaar.identity.keys import Identity, signedIf
from twisted_bazaar.wire.ids import KEYED
from twisted_bazaar.wire.trade import Buy
from twisted_bazaar.roles.seller import Seller
from twisted_bazaar.schemes.chord.messages import (
    ChordFind,
    ChordFound,
    ChordNext,
    ChordNextIs,
    ChordRecords,
    ChordRequest,
    ChordStore,
    ChordStored,
)
from twisted_bazaar.schemes.chord.ring import SIZE, between, place
from twisted_bazaar.schemes.chord.state import Peer
from twisted_bazaar.schemes.flood.messages import Reply, Search
from twisted_bazaar.schemes.superpeer.messages import LeafHits, LeafQuery, SpHit, SpQuery

#: The kinds of adversary, in the order the options list them.
KINDS = ("withhold", "misroute", "sybil", "notyet", "squat")

#: Searches, queries and key-routed requests: what a withholder drops and
#: a misrouter answers falsely instead of passing on or serving.
REQUESTS = (Search, SpQuery, LeafQuery, ChordFind, ChordRequest, ChordStore, ChordNext)

#: The port of every made-up address (on a host nobody listens at).
NOWHERE_PORT = 1


def nowhere(node):
    """A made-up address of node's: a host nothing listens at."""
    return (f"nowhere-{node.host}", NOWHERE_PORT)


def routedTypes():
    """Every path-routed message type but error (whose path-routed and
    plain forms share a class, and which the overlay handles itself)."""
    return [cls for cls in wire.MESSAGE_TYPES.values()
            if cls.ROUTED and cls is not wire.Error]


class Withhold:
    """
    A node that drops what it should relay or serve: each request type of
    L{REQUESTS} that comes from a peer, and each path-routed message that
    is not for it.  Its own searches, lookups and upkeep, and what is
    delivered to it, go on as the real code has them.

    @ivar dropped: messages it dropped.
    """

    def __init__(self, node):
        self.node = node
        self.dropped = 0
        handlers = node.overlay.handlers
        for kind in REQUESTS:
            if kind in handlers:
                handlers.add(kind, self.request, replace=True)
        for kind in routedTypes():
            # A handler before the path router's relaying (the overlay asks
            # its handlers first): what is for this node goes on to the
            # router, which delivers it.
            if kind not in handlers:
                handlers.add(kind, self._relay(node.paths.received))

    def request(self, link, message):
        """A search, query or request from a peer: dropped."""
        self.dropped += 1

    def _relay(self, passOn):
        node = self.node

        def relayed(link, message):
            if message.path[-1] == node.id:
                passOn(link, message)
            else:
                self.dropped += 1

        return relayed


class Misroute(Withhold):
    """
    A node that answers, at once and falsely, every request it should
    pass on or serve (L{request}), and drops the path-routed messages it
    should relay, as a withholder.

    @ivar answered: requests it answered falsely.
    """

    def __init__(self, node):
        super().__init__(node)
        self.answered = 0
        self.book = RecordBook(node.identity, node.clock)
        self._seen = set()

    def request(self, link, message):
        """Answer a request falsely (L{_MISROUTED}): a flood once per id
        (it comes back over other links); a leaf's query and a detour's
        question on the link they came on, the rest routed back."""
        made, once, onLink = _MISROUTED[type(message)]
        if once:
            if message.id in self._seen:
                return
            self._seen.add(message.id)
        answer = made(self, message)
        self.answered += 1
        if onLink:
            link.send(answer)
        else:
            self.node.route(answer)

    def _back(self, return_path):
        """The path of an answer from this node to a request's origin."""
        return (self.node.id,) + tuple(reversed(return_path))

    def _me(self, item):
        """This node as the seller of item, at a made-up address:
        (host, port, its record saying so, signed by it)."""
        host, port = nowhere(self.node)
        return host, port, self.book.record(item, host, port)

    def _reply(self, message):
        """A search: this node sells the item."""
        node = self.node
        host, port, _ = self._me(message.item)
        return signedIf(node.identity, Reply(message.id, message.item,
                                             self._back(message.return_path),
                                             node.id, host, port))

    def _spHit(self, message):
        """A super-peer's query: this node sells the item."""
        host, port, record = self._me(message.item)
        return SpHit(message.id, message.item, self._back(message.return_path),
                     ((self.node.id, host, port, record),))

    def _leafHits(self, message):
        """A leaf's query: this node sells the item."""
        host, port, record = self._me(message.item)
        return LeafHits(message.id, message.item, ((self.node.id, host, port, record),))

    def _nextIs(self, message):
        """A detour's step: made-up nodes where nothing listens, the
        nearest before the key and its holders, to lead the detour
        astray."""
        host, port = nowhere(self.node)
        return ChordNextIs(message.nonce, tuple(
            Peer(KEYED | ((message.key + step) & (SIZE - 1)), host, port)
            for step in (-2, -1, 0, 1, 2)))

    def _records(self, message):
        """A chordRequest: this node's own record is the one held."""
        return ChordRecords(message.id, message.item, self._back(message.return_path),
                            len(message.return_path), self.node.id,
                            (self._me(message.item)[2],))

    def _stored(self, message):
        """A chordStore: said stored, and dropped."""
        return ChordStored(message.id, message.item, self._back(message.return_path),
                           len(message.return_path), self.node.id)

    def _found(self, message):
        """A chordFind: a made-up node holds the key."""
        node = self.node
        host, port = nowhere(node)
        return ChordFound(message.id, message.key, self._back(message.return_path),
                          len(message.return_path), Peer(node.id ^ 1, host, port), ())


#: What a misrouter answers each request of L{REQUESTS} with: request
#: class -> (function(misroute, message) of the made-up answer, whether
#: it is a flood answered once per id, whether the answer goes back on
#: the link it came on rather than routed).
_MISROUTED = {
    Search: (Misroute._reply, True, False),
    SpQuery: (Misroute._spHit, True, False),
    LeafQuery: (Misroute._leafHits, False, True),
    ChordNext: (Misroute._nextIs, False, True),
    ChordRequest: (Misroute._records, False, False),
    ChordStore: (Misroute._stored, False, False),
    ChordFind: (Misroute._found, False, False),
}


class NotYetSeller(Seller):
    """A seller that answers every buy it trusts with a signed ``notyet``:
    never sold, never refused for good, so the buyer may wait to ask
    again."""

    def _notYet(self, link, message):
        if self.answering.trusted(message, link):
            self.answering.notYet(message, f"buy {message.id} cannot be sold just now")

    delivers = {**Seller.delivers, Buy: _notYet}


class SquatSeller(Seller):
    """A seller of an item it claims and does not have: it offers and
    reserves as a seller does, and answers every buy it trusts with a
    signed ``soldout``."""

    def _soldOut(self, link, message):
        if self.answering.trusted(message, link):
            self.answering.refuse(message, "soldout", f"no {message.item} left to sell")

    delivers = {**Seller.delivers, Buy: _soldOut}


def grindBetween(rng, low, high):
    """
    Key pairs drawn from rng until one's ring place lies in (low, high]
    (clockwise), as an attacker grinds its way onto a stretch of the ring:
    for a stretch of 1/n of the ring, n key pairs on average.

    @return: (the L{Identity}, how many key pairs were made).
    """
    made = 0
    while True:
        identity = Identity.fromRandom(rng)
        made += 1
        if between(place(identity.id), low, high):
            return identity, made
