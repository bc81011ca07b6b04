"""
Which piece of a file to ask which seller for: plain logic, no I/O.

Every seller holding the content may serve pieces at once; each piece is
verified on arrival.  A seller whose piece fails verification is I{bad}:
it gets no more pieces, so a bad seller costs one piece.  A seller whose
connection fails is I{down}; its piece goes back to the missing ones for
another seller.  Pieces go in order from the first, so that the part
file fills from its start; the sellers are taken in random order (by the caller), so
the first one found is not always the one that serves.

A piece whose bytes are all in is I{checking} until its hash is known:
its seller is free to fetch the next one meanwhile.
"""


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

    @property
    def finished(self):
        return len(self.done) == self.count

    def busy(self, seller):
        """Is the seller fetching as many pieces as it may?"""
        return sum(1 for each in self.inflight.values() if each == seller) >= self.depth

    def assign(self, seller):
        """The next piece for ``seller`` to fetch, or None (nothing left, or
        the seller is bad or busy)."""
        if seller in self.bad or self.busy(seller) or not self.missing:
            return None
        piece = self.missing.pop(0)
        self.inflight[piece] = seller
        self.down.discard(seller)
        return piece

    def arrived(self, piece):
        """All the piece's bytes are in; its hash is being checked."""
        self.checking[piece] = self.inflight.pop(piece)

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
        self.down.add(seller)
        self._putBack(piece)

    def _putBack(self, piece):
        # First in line again: it was the one most needed.
        self.missing.insert(0, piece)
