"""
A lookup round the nodes that drop or lie: plain logic, no I/O.

A recursive lookup (L{routing}) goes wherever each hop sends it: one
node on the way that drops it, or answers for the key falsely, ends it.
A I{detour} is asked by the origin itself, hop by hop, over several
paths that share no node (S/Kademlia's disjoint paths, Baumgart and
Mies 2007), and then of the key's holders directly:

 1. The origin's own peers between it and the key are dealt out to
    L{DisjointLookup.paths} paths.  Each path asks one node at a time
    (``chordNext``) for the nodes it knows nearest before the key and
    after it, and goes on with the nearest before the key that no path
    has asked, until it has asked the L{WIDTH} nearest it knows: the
    path has reached the key's predecessor as far as its nodes know.  A
    node that does not answer, or cannot be reached, costs its path one
    step: the path goes on with the next one.
 2. Once every path is done, the nodes nearest at or after the key, of
    all those any answer named, are the key's holders: they are asked
    directly (``direct: true``), a few at a time, the nearest first, in
    place of any that cannot be reached or does not answer, until
    C{holders} answered and no node is known nearer the key than they
    are that has not been asked.
 3. Each node that answered there is asked which nodes it knows on
    either side of itself (``chordNext`` for the place just after its
    own, L{besideKey}: its predecessor first, then its successors).
    Where the key's holder and the nodes after it are all silent, the
    first honest nodes after them are in few tables but their
    neighbours' (a node before the key knows only as many nodes after it
    as its successor list holds), so the paths may not name them all,
    and nodes found farther on, which hold nothing of the key, would
    answer in their place.  These questions find them: from an honest
    node just past the silent ones, its successors; from one farther
    on, its predecessor, a step back towards the key.  Each node named
    nearer the key than the holders heard is asked in turn (step 2).
    Stores take the same detour, so they land where lookups look.

So one lying or silent node stops no path but its own step, and a key's
holders are found as long as one path reaches honest nodes near the key.
What they cost: about C{paths} times the messages of one lookup, and a
round trip per hop instead of a one-way hop: which is why a detour is
taken only when the recursive lookup found nothing usable.
"""

from twisted_bazaar.schemes.chord.ring import SIZE, distance, place, strictlyBetween

#: Nodes a detour asks for the holders at most (those that answer, and
#: those that do not).
MOST_HOLDERS_ASKED = 16
#: A path ends once it asked the nodes it knows that are this many
#: nearest before the key.
WIDTH = 4
#: Nodes one path asks at most (a ring of a million nodes takes about
#: ten steps; made-up nodes that do not answer cost one each).
MOST_STEPS = 32


def besideKey(peer):
    """The key a step 3 question asks a node about: the place just after
    its own, so that it names its predecessor first and, as that key lies
    between it and its last successor, its successors too."""
    return (place(peer.id) + 1) % SIZE


class _Path:
    """One path's nodes: those it learned (id -> peer; those another path
    asked, or that failed, left out), those it asked that answered, and
    the one being asked."""

    __slots__ = ("candidates", "answered", "asking", "done", "steps")

    def __init__(self):
        self.candidates = {}
        self.answered = set()
        self.asking = None
        self.done = False
        self.steps = 0


class DisjointLookup:
    """
    The state of one detour towards C{key}.  The caller sends what
    L{nextQuestions} and L{nextHolders} return, and reports each answer
    or failure; L{finished} says when nothing more will be asked.

    @ivar known: every node any answer named, id -> peer (holder
        candidates).
    @ivar used: the ids asked by any path (no node is asked twice).
    """

    def __init__(self, key, me, peers, paths, holders=3):
        """
        @param me: the origin's id (never asked, never a holder).
        @param peers: the origin's own peers (successors, fingers,
            predecessor).
        @param paths: how many (C{--chord-paths}).
        """
        self.key = key
        self.me = me
        self.holders = holders
        self.paths = [_Path() for _ in range(max(1, paths))]
        self.known = {}
        self.used = {me}
        self._heldAsked = set()
        self._heldAsking = set()
        #: id -> peer of the nodes asked directly that answered.
        self._heldBy = {}
        #: Of those, the ones asked which nodes are before them.
        self._backAsked = set()
        self._backAsking = set()
        start = [peer for peer in self._learn(peers) if self._onTheWay(peer)]
        for index, peer in enumerate(sorted(start, key=self._before)):
            self.paths[index % len(self.paths)].candidates[peer.id] = peer

    # -- distances ---------------------------------------------------------------

    def _before(self, peer):
        """Steps from the peer to the key: the nearer before it, the less."""
        return distance(place(peer.id), self.key)

    def _after(self, peer):
        """Steps from the key to the peer: the key's holder has the least."""
        return distance(self.key, place(peer.id))

    def _onTheWay(self, peer):
        """Does the peer lie between the origin and the key (a step a
        path may take), rather than at or after the key (a holder)?"""
        return strictlyBetween(peer.id, self.me, self.key)

    def _learn(self, peers):
        """Note the nodes named; those new to this lookup."""
        new = []
        for peer in peers:
            if peer.id == self.me:
                continue
            if peer.id not in self.known:
                self.known[peer.id] = peer
                new.append(peer)
        return new

    # -- the paths -------------------------------------------------------------------

    def nextQuestions(self):
        """(path index, peer) to send ``chordNext`` to now: one per path
        that is not waiting for an answer and not done."""
        asks = []
        for index, path in enumerate(self.paths):
            if path.done or path.asking is not None:
                continue
            peer = self._nearest(path) if path.steps < MOST_STEPS else None
            if peer is None:
                path.done = True
                continue
            path.steps += 1
            path.asking = peer
            self.used.add(peer.id)
            asks.append((index, peer))
        return asks

    def _nearest(self, path):
        """
        The path's next node: of the L{WIDTH} nodes nearest before the
        key that it knows, the nearest it has not asked; None once it
        asked them all.  (Not "none nearer than the nearest that
        answered": a liar near the key answers too, with made-up nodes,
        and the path must still ask the real ones it knew.)
        """
        mine = path.answered
        for peer_id in [peer_id for peer_id in path.candidates
                        if peer_id in self.used and peer_id not in mine]:
            del path.candidates[peer_id]
        nearest = sorted(path.candidates.values(), key=self._before)[:WIDTH]
        for peer in nearest:
            if peer.id not in mine:
                return peer
        return None

    def answered(self, index, peer, nodes):
        """Path ``index``'s node answered ``chordNext`` with nodes."""
        path = self.paths[index]
        if path.asking is None or path.asking.id != peer.id:
            return
        path.asking = None
        path.answered.add(peer.id)
        path.candidates[peer.id] = peer
        self._learn(nodes)
        for node in nodes:
            if node.id not in self.used and node.id != self.me and self._onTheWay(node):
                path.candidates.setdefault(node.id, node)

    def failed(self, index, peer):
        """Path ``index``'s node did not answer, or could not be reached."""
        path = self.paths[index]
        if path.asking is not None and path.asking.id == peer.id:
            path.asking = None
        path.candidates.pop(peer.id, None)
        self.known.pop(peer.id, None)

    @property
    def pathsDone(self):
        return all(path.done for path in self.paths)

    # -- the holders ---------------------------------------------------------------------

    def _holdersToAsk(self):
        """The nodes step 2 asks next: while fewer than C{holders} answered,
        the nearest at or after the key not asked yet, as many as keep
        C{holders} answered or being asked; then any not asked that lies
        nearer the key than the C{holders} nearest that answered (one
        that a walk back named)."""
        room = MOST_HOLDERS_ASKED - len(self._heldAsked)
        if not self.pathsDone or room <= 0:
            return []
        order = sorted((peer for peer in self.known.values()
                        if peer.id not in self._heldAsked), key=self._after)
        answered = sorted(self._heldBy.values(), key=self._after)
        if len(answered) >= self.holders:
            farthest = self._after(answered[self.holders - 1])
            chosen = [peer for peer in order if self._after(peer) < farthest]
        else:
            chosen = order[:max(0, self.holders - len(answered) - len(self._heldAsking))]
        return chosen[:room]

    def nextHolders(self):
        """The nodes to ask directly now, once every path is done (step 2)."""
        chosen = self._holdersToAsk()
        for peer in chosen:
            self._heldAsked.add(peer.id)
            self._heldAsking.add(peer.id)
        return chosen

    def holderAnswered(self, peer):
        if peer.id in self._heldAsking:
            self._heldAsking.discard(peer.id)
            self._heldBy[peer.id] = peer

    def holderFailed(self, peer):
        self._heldAsking.discard(peer.id)

    def nextBackQuestions(self):
        """The nodes that answered step 2 and are yet to be asked which
        nodes they know nearest before themselves (step 3)."""
        asks = [peer for peer in self._heldBy.values() if peer.id not in self._backAsked]
        for peer in asks:
            self._backAsked.add(peer.id)
            self._backAsking.add(peer.id)
        return asks

    def backAnswered(self, peer, nodes):
        """peer named these nodes as the nearest before it."""
        if peer.id in self._backAsking:
            self._backAsking.discard(peer.id)
            self._learn(nodes)

    def backFailed(self, peer):
        self._backAsking.discard(peer.id)

    @property
    def finished(self):
        """Nothing is being asked and nothing more will be."""
        if not self.pathsDone or self._heldAsking or self._backAsking:
            return False
        return not self._holdersToAsk() and all(
            peer_id in self._backAsked for peer_id in self._heldBy)
