"""
Which piece of a file to ask which seller for: plain logic, no I/O.

Every seller holding the content may serve pieces at once; each piece is
verified on arrival.  Every seller of a file holds all of it (a seller
shares whole files), so no piece is rarer than another: what differs is
the sellers' speed.  The fastest sellers are given pieces first
(L{PieceSchedule.fastestFirst}), and a seller much slower than the
fastest one is I{slow} (L{PieceSchedule.slowSellers}): the caller drops
it, and its pieces go to the others.  A seller whose piece fails verification is I{bad}:
it gets no more pieces, so a bad seller costs one piece.  A seller whose
connection fails is I{down}; its piece goes back to the missing ones for
another seller.  Pieces go in order from the first, so that the part
file fills from its start; the sellers not yet measured come in the
order the caller gives (L{twisted_bazaar.files.sources}: the seller paid
first).

A piece whose bytes are all in is I{checking} until its hash is known:
its seller is free to fetch the next one meanwhile.
"""

import bisect

#: Weight of the newest piece in a seller's speed (a moving average).
SPEED_WEIGHT = 0.5
#: A seller whose piece is out SLOW_FACTOR times as long as the fastest
#: seller takes for one (and at least SLOW_MIN seconds) is slow.
SLOW_FACTOR = 8.0
SLOW_MIN = 2.0
_NEVER = float("-inf")


class PieceSchedule:
    """
    @ivar missing: pieces nobody has yet, nor is fetching.
    @ivar inflight: piece -> the seller fetching it.
    @ivar checking: piece -> the seller whose bytes for it are being checked.
    @ivar done: pieces verified and on disk.
    @ivar bad: sellers that sent a wrong piece.
    @ivar served: seller -> pieces it delivered.
    """

    def __init__(self, count, have=(), depth=1):
        self.count = count
        #: Pieces one seller may be fetching at once.
        self.depth = depth
        self.done = set(have)
        self.missing = [piece for piece in range(count) if piece not in self.done]
        self.inflight = {}
        self.checking = {}
        self.bad = set()
        self.down = set()
        self.served = {}
        #: seller -> seconds it takes for a piece (a moving average).
        self.pieceTime = {}
        #: piece -> when it was asked for; seller -> when its last piece
        #: came (a piece asked behind another starts when that one ends).
        self._asked = {}
        self._lastArrival = {}

    @property
    def finished(self):
        return len(self.done) == self.count

    def busy(self, seller):
        """Is the seller fetching as many pieces as it may?"""
        return sum(1 for each in self.inflight.values() if each == seller) >= self.depth

    def assign(self, seller, now=0.0):
        """The next piece for ``seller`` to fetch, or None (nothing left, or
        the seller is bad or busy)."""
        if seller in self.bad or self.busy(seller) or not self.missing:
            return None
        piece = self.missing.pop(0)
        self.inflight[piece] = seller
        self._asked[piece] = now
        self.down.discard(seller)
        return piece

    def arrived(self, piece, now=0.0):
        """All the piece's bytes are in; its hash is being checked."""
        seller = self.checking[piece] = self.inflight.pop(piece)
        began = max(self._asked.pop(piece, now), self._lastArrival.get(seller, _NEVER))
        self._lastArrival[seller] = now
        took = max(now - began, 0.0)
        before = self.pieceTime.get(seller)
        self.pieceTime[seller] = took if before is None else (
            SPEED_WEIGHT * took + (1 - SPEED_WEIGHT) * before)

    def fastestFirst(self, sellers):
        """
        sellers, the fastest first; those not yet measured (each must
        serve a piece to be measured) right after the fastest measured
        one, in the order given.  Not before it: any key can offer the
        content and never answer, and a buyer that keeps finding such
        keys would give each of them pieces before the seller serving it.
        """
        times = self.pieceTime
        fastest = min(times.values(), default=0.0)
        return sorted(sellers, key=lambda seller: (
            (times[seller], 0) if seller in times else (fastest, 1)))

    def slowSellers(self, now):
        """
        Sellers fetching a piece for SLOW_FACTOR times as long as the
        fastest measured seller takes for one (and at least SLOW_MIN
        seconds): with a faster seller at hand, their pieces are better
        asked of it.
        """
        return {seller for seller, at in self._slowFrom() if now >= at}

    def slowAt(self, now):
        """When the next seller not yet slow at ``now`` becomes slow if its
        piece does not come (see L{slowSellers}), or None: a seller that
        holds the last pieces is then known slow without waiting for
        another piece to arrive."""
        return min((at for _, at in self._slowFrom() if at > now), default=None)

    def _slowFrom(self):
        """(seller, when it is slow) for each piece in flight, but the
        fastest measured seller's; none before a seller is measured."""
        if not self.pieceTime:
            return []
        fastest = min(self.pieceTime.values())
        limit = max(SLOW_FACTOR * fastest, SLOW_MIN)
        return [(seller, max(self._asked[piece],
                             self._lastArrival.get(seller, _NEVER)) + limit)
                for piece, seller in self.inflight.items()
                if self.pieceTime.get(seller) != fastest]

    def completed(self, piece, seller):
        """The piece matched its hash."""
        del self.checking[piece]
        self.done.add(piece)
        self.served[seller] = self.served.get(seller, 0) + 1

    def corrupt(self, piece, seller):
        """The piece did not match its hash: the seller is bad."""
        del self.checking[piece]
        self.bad.add(seller)
        self._putBack(piece)

    def failed(self, piece, seller):
        """The seller could not deliver the piece (gone, stalled, refused)."""
        del self.inflight[piece]
        self._asked.pop(piece, None)
        self.down.add(seller)
        self._putBack(piece)

    def handedOver(self, piece):
        """
        The seller's connection closed under the piece after bringing
        bytes (a relay's circuit that carried all it may): the piece goes
        back among the missing in its order, and its seller is not down,
        to be asked again at once on a new connection.
        """
        del self.inflight[piece]
        self._asked.pop(piece, None)
        bisect.insort(self.missing, piece)

    def _putBack(self, piece):
        # First in line again: it was the one most needed.
        self.missing.insert(0, piece)
