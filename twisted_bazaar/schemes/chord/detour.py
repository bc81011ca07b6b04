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
    C{holders} answered.

So one lying or silent node stops no path but its own step, and a key's
holders are found as long as one path reaches honest nodes near the key.
What they cost: about C{paths} times the messages of one lookup, and a
round trip per hop instead of a one-way hop: which is why a detour is
taken only when the recursive lookup found nothing usable.
"""

from twisted_bazaar.schemes.chord.ring import distance, place, strictlyBetween

#: Nodes a detour asks for the holders at most (those that answer, and
#: those that do not).
MOST_HOLDERS_ASKED = 16
#: A path ends once it asked the nodes it knows that are this many
#: nearest before the key.
WIDTH = 4
#: Nodes one path asks at most (a ring of a million nodes takes about
#: ten steps; made-up nodes that do not answer cost one each).
MOST_STEPS = 32


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
        self._heldAnswered = 0
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

    def nextHolders(self):
        """The nodes to ask directly now, once every path is done: the
        nearest at or after the key not asked yet, as many as keep
        C{holders} answered or being asked."""
        if not self.pathsDone:
            return []
        wanted = self.holders - self._heldAnswered - len(self._heldAsking)
        if wanted <= 0 or len(self._heldAsked) >= MOST_HOLDERS_ASKED:
            return []
        order = sorted((peer for peer in self.known.values()
                        if peer.id not in self._heldAsked), key=self._after)
        chosen = order[:min(wanted, MOST_HOLDERS_ASKED - len(self._heldAsked))]
        for peer in chosen:
            self._heldAsked.add(peer.id)
            self._heldAsking.add(peer.id)
        return chosen

    def holderAnswered(self, peer):
        if peer.id in self._heldAsking:
            self._heldAsking.discard(peer.id)
            self._heldAnswered += 1

    def holderFailed(self, peer):
        self._heldAsking.discard(peer.id)

    @property
    def finished(self):
        """Nothing is being asked and nothing more will be."""
        if not self.pathsDone or self._heldAsking:
            return False
        return (self._heldAnswered >= self.holders
                or len(self._heldAsked) >= MOST_HOLDERS_ASKED
                or not any(peer.id not in self._heldAsked
                           for peer in self.known.values()))
