"""
The account that bounds the book of paths (L{BookAccount}, the base of
L{twisted_bazaar.reach.book.PathBook}): the table of what the book holds
of each peer (L{Entry}), kept to at most L{BOOK_PEERS} peers, and which
peer goes past that bound.

The book is an account (docs/protocol.md §6, "The book of paths"): it
holds at most L{BOOK_PEERS} peers, and a peer's claims (a relay named in
its ``thisisme``, an address heard from a peer's word) are charged to the
address group its connection came from (the peer whose word named it).
Past the bound, the claims of the heaviest group go first, the
least lately written of them; only when no peer is held on a claim alone
do the tracker's words go, the least lately written first, then the paths
a punch met and the local addresses where a peer proved its key; a path
this node's operator configured (``--quic-peer``) never goes.  A peer
held by a note of this node's own that it is unreachable alone goes
right after the claims, so strangers' keys, however many, and their
made-up addresses, dialled and failed, push out only claims and such
notes.

What the wire's words mean as paths, and what this node's dials noted,
is the book's; this part knows only which entry is held, charged to
whom, and which goes.  A base, not a part the book holds: a book is
one object, a simulated node's as any (docs/simulator.md, "Memory a
node"); its tables are the shared empty one until written, and again
once emptied (base/sparing.py).
"""

from collections import Counter

from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.base.sparing import NOTHING, own
from twisted_bazaar.transports.path import CONFIGURED, SEEN
from twisted_bazaar.transports.relay.messages import FILES, NODE

__all__ = ["BookAccount", "Entry", "BOOK_PEERS", "KEPT"]

BOOK_PEERS = declare(
    "book.peers", 1024, "peers",
    "peers whose paths a node keeps: a peer's claim of a relay is charged to the "
    "group its connection came from, and past the bound the heaviest group's claims "
    "go first; the tracker's words go only when no claim is left, a configured path "
    "never", owner=__name__)
#: Peers whose paths a node keeps (L{BOOK_PEERS}).
KEPT = BOOK_PEERS.default


class Entry:
    """What the book holds of one peer: the tracker's last word
    (``host``, ``port``, ``relay``, ``lan`` as its ``nodereply`` named
    them, and its other paths, ``named``: a tuple, a UDP port's, a
    transport plugin's; ``at`` when; ``at`` None when it named nothing), and the relay
    it is to be reached through as last noted (``noted``), whose word
    ``word`` is; the address of its links as a peer's word last gave it
    (``said``: (host, port, the address group of the peer whose word it
    is, when), one flat tuple; or None: the tracker's, if any, is
    dialled); the address of its transfer port as a peer's word last gave
    it (``transfer``, the same shape: an offer's, L{PathBook.heard}
    with the purpose L{FILES}); the paths added of other kinds (``more``, a tuple:
    L{PathBook.add}), a local address where the peer proved its key
    among them (L{PathBook.lanReached}); and the local addresses of it
    that failed lately (``failed``, a tuple of (host, until when):
    L{PathBook.lanFailed}), which hold nothing of it by themselves; and
    until when it is taken as unreachable (``unreached``, or None:
    L{PathBook.unreached}), which holds it."""

    __slots__ = ("host", "port", "relay", "lan", "named", "at", "noted", "word", "said",
                 "transfer", "more", "failed", "unreached")

    def __init__(self):
        self.host = ""
        self.port = 0
        self.relay = None
        self.lan = ()
        self.named = ()
        self.at = None
        self.noted = None
        self.word = None
        self.said = None
        self.transfer = None
        self.more = ()
        self.failed = ()
        self.unreached = None

    def empty(self):
        return self.unnoted() and self.unreached is None

    def unnoted(self):
        """Whether no word of a path to the peer is held (a note that it
        is unreachable aside)."""
        return (self.at is None and self.noted is None and self.said is None
                and self.transfer is None and not self.more)

    def hear(self, said, purpose=NODE):
        """The address heard of the peer's links (of its transfer port:
        ``purpose`` L{FILES}) is now ``said`` (None: none)."""
        if purpose == FILES:
            self.transfer = said
        else:
            self.said = said

    def unreachedUntil(self, until):
        """The peer is taken as unreachable until ``until`` (None: not)."""
        self.unreached = until


class BookAccount:
    """
    The table of a book's peers, bounded: see the module's docstring.
    The words written into an entry are the subclass's
    (L{twisted_bazaar.reach.book.PathBook}).
    """

    __slots__ = ("where", "_peers", "_claims")

    def __init__(self, where):
        """
        @param where: the node's whereabouts, whose book this is
            (L{twisted_bazaar.reach.whereabouts.Whereabouts}): what it reads
            of the node, the time (C{now()}) that dates the tracker's word
            and the tracker session it asks (C{tracker()},
            L{PathBook.ask}).
        """
        self.where = where
        #: peer id -> its L{Entry}, the least lately written first.
        self._peers = NOTHING
        #: peer id -> the address group its claim is charged to, for each
        #: peer held on its own claim alone (no word of the tracker's, no
        #: path added).
        self._claims = NOTHING

    # -- the account: which entry is held, charged to whom, and which goes ------

    def _write(self, peer_id, group=None, unreached=None):
        """The entry of peer_id, made or moved to the most lately written;
        a claim's (``group``: the address group charged) or another
        word's, which frees it of any claim's charge; or ``unreached``, a
        note of this node's own that neither charges nor frees it, noted
        before the bound is kept (L{PathBook.unreached})."""
        peers = own(self, "_peers")
        held = peers.pop(peer_id, None)
        if held is None:
            held = Entry()
        peers[peer_id] = held
        if unreached is not None:
            # A note of this node's own dial: a claim's charge stays.
            held.unreachedUntil(unreached)
        elif group is not None and held.at is None and not held.more:
            own(self, "_claims")[peer_id] = group
        else:
            self._claims.pop(peer_id, None)
        while len(peers) > KEPT:
            victim = self._victim(peer_id)
            if victim is None:
                break
            del peers[victim]
            self._claims.pop(victim, None)
        return held

    def _victim(self, writing):
        """The peer to forget past the bound: the least lately written
        claim of the heaviest group; else the least lately written peer
        held by a note that it is unreachable alone (the one being
        written among them); else, but for the peer being written, the
        least lately written peer the tracker named, then one a punch
        met; never one with a configured path (None: every other peer
        has one)."""
        claims = self._claims
        if claims:
            heaviest = max(Counter(claims.values()).items(), key=lambda each: each[1])[0]
            for peer_id in self._peers:
                if peer_id in claims and claims[peer_id] == heaviest:
                    return peer_id
        for peer_id, held in self._peers.items():
            if held.unreached is not None and held.unnoted():
                return peer_id
        seen, now = None, self.where.now()
        for peer_id, held in self._peers.items():
            if peer_id == writing:
                continue
            words = {path.word for path in held.more
                     if path.expires is None or path.expires > now}
            if CONFIGURED in words:
                continue
            if SEEN not in words:
                return peer_id
            if seen is None:
                seen = peer_id
        return seen

    def _drop(self, peer_id, held):
        """Forget peer_id if nothing is held of it; the tables, once
        empty, the shared empty one again (a simulated node that dialled
        a peer once holds no table for it)."""
        if held.empty():
            self._peers.pop(peer_id, None)
            self._claims.pop(peer_id, None)
            if not self._peers:
                self._peers = self._claims = NOTHING

    def entry(self, peer_id):
        """The L{Entry} held of peer_id, or None."""
        return self._peers.get(peer_id)

    def entries(self):
        """Every (peer id, L{Entry}) held, the least lately written first,
        as a list (the caller may drop what it walks)."""
        return list(self._peers.items())

    def empty(self):
        """Whether the book holds nothing (its tables the shared empty
        one)."""
        return self._peers is NOTHING
