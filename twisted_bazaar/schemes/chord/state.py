"""
What a Chord node knows of the ring: its successor list, its predecessor,
its finger table, and its missed pings.  Plain state and decisions, no I/O:
the node's L{ChordDiscovery <twisted_bazaar.schemes.chord.node.ChordDiscovery>}
feeds it answers and asks it where to send things.
"""

from bisect import bisect_right
from typing import NamedTuple

from twisted_bazaar.base.sparing import NOTHING, own
from twisted_bazaar.schemes.chord.ring import (
    BITS,
    between,
    distance,
    fingerStart,
    place,
    strictlyBetween,
)


class Peer(NamedTuple):
    """A node on the ring and where to reach it (on the wire: [id, host,
    port])."""

    id: int
    host: str
    port: int


#: Peers a ``chordNext`` answer names before the key, and at or after it.
NEAR_BEFORE = 4
NEAR_AFTER = 4


def _always(peer_id):
    return True


def _nearer(me, known, guess):
    """Of a known finger and a guess for it (each a peer or None), the one
    nearer after me: the nearer its start."""
    if known is None or guess is None:
        return guess if known is None else known
    return guess if distance(me, guess.id) < distance(me, known.id) else known


class Fingers:
    """
    A node's finger table: finger i (0 to BITS - 1) -> L{Peer} or None,
    held as runs of equal fingers.  Of 128 fingers all but about log2(N)
    repeat the one before (in a ring of N nodes, the low ones are all the
    successor), so a node keeps a few runs, not 128 entries.  Iterating
    gives each run's finger (None included).
    """

    __slots__ = ("_starts", "_peers")

    def __init__(self, runs=()):
        """@param runs: (first index, peer or None) pairs, in increasing
        index order."""
        runs = list(runs)
        if runs and runs[0][0] == 0:
            self._store(runs)
        else:
            self._store([(0, None)] + runs)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.asList()[index]
        return self._peers[bisect_right(self._starts, index) - 1]

    def __setitem__(self, index, peer):
        self.set(index, index + 1, peer)

    def __eq__(self, other):
        if isinstance(other, Fingers):
            return self.runs() == other.runs()
        return isinstance(other, list) and self.asList() == other

    __hash__ = None

    def __iter__(self):
        return iter(self._peers)

    def __len__(self):
        return BITS

    def runs(self):
        """(first index, peer or None) of each run."""
        return list(zip(self._starts, self._peers))

    def digest(self):
        """A hash of the runs, to tell whether they changed: a few bytes to
        keep, where a copy of the runs would cost a large ring megabytes."""
        return hash(tuple(self.runs()))

    def asList(self):
        """Every finger, index by index (for tests and tools)."""
        return [self[index] for index in range(BITS)]

    def set(self, first, stop, peer):
        """Fingers first to stop - 1 are peer."""
        after = self[stop] if stop < BITS else None
        runs = [(start, each) for start, each in self.runs() if start < first]
        runs.append((first, peer))
        if stop < BITS:
            runs.append((stop, after))
        runs += [(start, each) for start, each in self.runs() if start > stop]
        self._store(runs)

    def remove(self, peer_id):
        """Every finger that is peer_id becomes None."""
        self._store([(start, None if each is not None and each.id == peer_id else each)
                     for start, each in self.runs()])

    def _store(self, runs):
        starts, peers = [], []
        for start, peer in runs:
            if not peers or peers[-1] != peer:
                starts.append(start)
                peers.append(peer)
        self._starts, self._peers = starts, peers


class Neighbourhood:
    """
    One node's view of the ring around it.

    @ivar successors: the next live nodes clockwise, nearest first, at most
        C{length}, never this node itself (empty: alone on the ring).
    @ivar predecessor: the previous node, or None while unknown.
    @ivar fingers: L{Fingers}: finger i is the first node at or after
        C{me + 2^i}.
    """

    # Slots, not a dict: a simulation holds one a node.
    __slots__ = ("me", "length", "successors", "predecessor", "fingers", "_missed")

    def __init__(self, me, length):
        self.me = me
        self.length = length
        self.successors = []
        self.predecessor = None
        self.fingers = Fingers()
        #: peer id -> pings it missed in a row: L{NOTHING} until one is
        #: missed, as on nearly every node of a large simulated ring.
        self._missed = NOTHING

    # -- reading ---------------------------------------------------------------

    @property
    def successor(self):
        return self.successors[0] if self.successors else None

    @property
    def alone(self):
        return not self.successors

    def responsible(self, key):
        """Does this node hold key: is it in (predecessor, me]?  Alone, it
        holds every key; with no known predecessor, none for sure."""
        if self.alone:
            return True
        if self.predecessor is None:
            return False
        return between(key, self.predecessor.id, self.me.id)

    def watched(self):
        """The peers whose pings count: successors and predecessor."""
        peers = list(self.successors)
        pred = self.predecessor
        if pred is not None and pred not in peers:
            peers.append(pred)
        return peers

    def pinged(self):
        """The peers this node pings: its first successor and its
        predecessor.  The later successors are the first's own list, which
        it keeps by pinging its own first successor, and so on round the
        ring: a dead one drops out of the list a stabilization later."""
        peers = self.successors[:1]
        pred = self.predecessor
        if pred is not None and pred not in peers:
            peers.append(pred)
        return peers

    def closestPreceding(self, key, usable=_always):
        """The known, usable peer closest before key (in (me, key)), or None."""
        me = self.me.id
        best, best_distance = None, -1
        for peer in list(self.fingers) + self.successors:
            if peer is None or not strictlyBetween(peer.id, me, key):
                continue
            far = distance(me, peer.id)
            if far > best_distance and usable(peer.id):
                best, best_distance = peer, far
        return best

    def nextHop(self, key, usable=_always):
        """
        Where a message for key goes from here: the first usable successor
        if key lies between this node and it; else the usable peer closest
        before key; else the first usable successor or finger (the message
        then lands past key, and that node holds a replica).  None if
        nothing is usable.
        """
        live = [peer for peer in self.successors if usable(peer.id)]
        if live and between(key, self.me.id, live[0].id):
            return live[0]
        best = self.closestPreceding(key, usable)
        if best is not None:
            return best
        return live[0] if live else self.nearest(usable)

    def known(self):
        """Every distinct peer this node knows: successors, predecessor
        and fingers."""
        peers = {}
        for peer in self.successors + [self.predecessor] + list(self.fingers):
            if peer is not None:
                peers.setdefault(peer.id, peer)
        return list(peers.values())

    def nearKey(self, key, before=NEAR_BEFORE, after=NEAR_AFTER):
        """
        What this node answers a detour's ``chordNext`` for key: its
        ``before`` known peers nearest before key, the nearest first; then,
        if key lies between this node and its last successor (its
        successors are the key's holder and the next ones), those at or
        after key; then the ``after`` known peers nearest at or after key
        not named yet.  The last are fingers, mostly: where the key's
        holder, the nodes after it and its predecessor are all silent,
        the first honest nodes after them are known, beyond their silent
        neighbours, as the fingers of nodes before the key.
        """
        known = self.known()
        peers = sorted(known, key=lambda peer: distance(peer.id, key))
        nodes = [peer for peer in peers if place(peer.id) != key][:before]
        succs = self.successors
        if succs and between(key, self.me.id, succs[-1].id):
            nodes += [peer for peer in succs
                      if between(peer.id, key - 1, succs[-1].id) and peer not in nodes]
        nearest = sorted(known, key=lambda peer: distance(key, peer.id))[:after]
        nodes += [peer for peer in nearest if peer not in nodes]
        return nodes

    def nearest(self, usable=_always):
        """The usable successor or finger nearest after this node, or None."""
        peers = [peer for peer in self.successors + list(self.fingers)
                 if peer is not None and usable(peer.id)]
        return min(peers, key=lambda peer: distance(self.me.id, peer.id), default=None)

    # -- changing ----------------------------------------------------------------

    def adopt(self, first, theirs):
        """
        Successors become the nearest of ``first`` and ``theirs`` (its own
        successor list), in clockwise order from this node, each once and
        never this node; returns True if the list changed.  Sorting, rather
        than trusting the order given, puts right a list learnt from a
        neighbour that was itself misplaced.
        """
        me = self.me.id
        chosen = {}
        for peer in [first] + list(theirs):
            if peer.id != me:
                chosen.setdefault(peer.id, peer)
        nearest = sorted(chosen.values(), key=lambda peer: distance(me, peer.id))
        nearest = nearest[:self.length]
        changed = nearest != self.successors
        self.successors = nearest
        return changed

    def notified(self, candidate):
        """
        ``candidate`` thinks it may be this node's predecessor (Chord's
        notify).  Returns the previous predecessor if candidate took its
        place (it may be None), else the candidate itself.
        """
        pred = self.predecessor
        if candidate.id == self.me.id:
            return candidate
        if pred is None or strictlyBetween(candidate.id, pred.id, self.me.id):
            self.predecessor = candidate
            if self.alone:
                # A ring of one that someone joined: it is our successor too.
                self.successors = [candidate]
            return pred
        return candidate

    def guessFingers(self, peers):
        """
        Guess the fingers from ``peers`` (those the tracker names): finger
        i is guessed as the nearest of them at or after its start, me +
        2^i.  A guess takes the place of a finger this node has none for,
        or whose finger lies past the guess (every finger lies at or after
        its start, so the guess is the nearer to it, the better); a finger
        nearer its start than the guess stays.  A guess is an address like
        any finger, used as a next hop, dropped if nothing listens there,
        and put right by finger repair.  Returns True if a finger changed.
        """
        me = self.me.id
        near = sorted({peer.id: peer for peer in peers if peer.id != me}.values(),
                      key=lambda peer: distance(me, peer.id))
        # A peer d away is the nearest at or after me + 2^i for every i
        # from the one after the last peer's up to the last bit of d.
        runs, first = [], 0
        for peer in near:
            last = distance(me, peer.id).bit_length() - 1
            if last >= first:
                runs.append((first, peer))
                first = last + 1
        if first < BITS:
            runs.append((first, None))
        guessed = Fingers(runs)
        before = self.fingers.runs()
        if before != [(0, None)]:
            guessed = Fingers([(index, _nearer(me, known, guess)) for index, (known, guess)
                               in enumerate(zip(self.fingers.asList(), guessed.asList()))])
        self.fingers = guessed
        return guessed.runs() != before

    def setFinger(self, index, peer):
        """
        Finger ``index`` is ``peer``; so is every later finger whose start
        falls before it.  Returns the index of the next finger to look up
        (0 after the last).
        """
        me = self.me.id
        first = index
        while index < BITS and between(fingerStart(me, index), me, peer.id):
            index += 1
        if index > first:
            self.fingers.set(first, index, peer if peer.id != me else None)
        else:
            # An answer from before the ring changed: move on all the same.
            index += 1
        return 0 if index == BITS else index

    def departed(self, peer_id, pred, succs):
        """
        ``peer_id`` left the ring politely, naming its predecessor and
        successors: it is forgotten, its successors take its place in ours,
        and its predecessor becomes ours if it was our predecessor.
        """
        ids = [peer.id for peer in self.successors]
        was_pred = self.predecessor is not None and self.predecessor.id == peer_id
        if peer_id in ids:
            place = ids.index(peer_id)
            rest = self.successors[:place] + list(succs)
            self.successors = []
            if rest:
                self.adopt(rest[0], rest[1:])
        self.remove(peer_id)
        if was_pred and pred is not None and pred.id != self.me.id:
            self.predecessor = pred

    def remove(self, peer_id):
        """Forget a peer everywhere (it is dead or left).  Returns True if
        it was a successor or the predecessor."""
        self._missed.pop(peer_id, None)
        before = len(self.successors)
        self.successors = [peer for peer in self.successors if peer.id != peer_id]
        neighbour = len(self.successors) != before
        if self.predecessor is not None and self.predecessor.id == peer_id:
            self.predecessor = None
            neighbour = True
        self.fingers.remove(peer_id)
        return neighbour

    def missed(self, peer_id):
        """One more ping of the peer went unanswered; how many in a row."""
        count = self._missed.get(peer_id, 0) + 1
        own(self, "_missed")[peer_id] = count
        return count

    def answered(self, peer_id):
        self._missed.pop(peer_id, None)
