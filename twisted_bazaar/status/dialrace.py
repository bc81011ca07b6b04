"""
The ways a client without a node (``bazaar node``, ``bazaar list``, the
web view's watcher) tries to a node at once, happy-eyeballs style
(L{FirstProven}): a node's local addresses, which the tracker names only
to an asker at its home (docs/protocol.md §12a), at once; its relay, or
its address, after L{RELAY_DELAY}.  The first whose node proves itself
(its ``thisisme``, checked as on any path) wins; the others are stopped.
As go-libp2p's dial ranker does, so that a housemate is asked over the
LAN, and a node whose LAN path is dead costs half a second more.
"""

#: The kinds of a way to a node, as a client names it.
LAN, RELAY, DIRECT = "lan", "relay", "direct"
#: Seconds the other ways wait after the LAN's start (go-libp2p's relay
#: delay): a LAN answers in milliseconds, and a relay costs a circuit.
RELAY_DELAY = 0.5
#: How each kind reads in a sentence.
WORDS = {LAN: "over the LAN at", RELAY: "through the relay at", DIRECT: "at"}


class Way:
    """One way tried: its kind, where in words, and how to start and
    stop it (``start()``, ``stop()``: the caller's)."""

    __slots__ = ("kind", "where", "start", "stop", "started", "failed")

    def __init__(self, kind, where, start, stop):
        self.kind = kind
        self.where = where
        self.start = start
        self.stop = stop
        self.started = False
        self.failed = False

    def __str__(self):
        return f"{WORDS[self.kind]} {self.where}"


class FirstProven:
    """
    Starts the L{LAN} ways at once and the rest after ``delay`` (at once
    if there is no LAN way, or when every way started has failed), and
    keeps the first proven: its owner says when a way's node proved
    itself (L{proven}) or when a way failed (L{failed}).  Its one timer
    is its own, cancelled once a way wins, or every way failed, or at
    L{stop}.
    """

    def __init__(self, clock, ways, delay=RELAY_DELAY):
        self.clock = clock
        self.ways = list(ways)
        self.delay = delay
        #: The way that won, or None.
        self.winner = None
        self._later = None

    def begin(self):
        """Start the LAN ways now, the others after the delay."""
        first = [way for way in self.ways if way.kind == LAN]
        if not first or len(first) == len(self.ways):
            self._startRest()
            return
        self._later = self.clock.callLater(self.delay, self._startRest)
        for way in first:
            # A way may fail at once, and so start the rest already.
            if not way.started and self.winner is None:
                self._start(way)

    def _start(self, way):
        way.started = True
        way.start()

    def _startRest(self):
        self._later = None
        for way in self.ways:
            if not way.started and self.winner is None:
                self._start(way)

    def proven(self, way):
        """way's node proved itself: whether it wins (the first to), the
        others then stopped.  A later one is to be closed by its owner."""
        if self.winner is not None:
            return self.winner is way
        self.winner = way
        self._cancel()
        for other in self.ways:
            if other is not way and other.started and not other.failed:
                other.failed = True
                other.stop()
        return True

    def failed(self, way):
        """
        way failed before it won: the ways not started yet start now.
        Whether the dial failed as a whole (every way failed, or the
        winner itself was lost).
        """
        if way is self.winner:
            return True
        if self.winner is not None or way.failed:
            return False
        way.failed = True
        if any(not other.started for other in self.ways):
            self._cancel()
            self._startRest()
        return all(other.failed for other in self.ways)

    def stop(self):
        """Stop every way started but the winner, and not failed; no more
        start."""
        self._cancel()
        for way in self.ways:
            if way.started and not way.failed and way is not self.winner:
                way.failed = True
                way.stop()
            way.started = True

    def _cancel(self):
        later, self._later = self._later, None
        if later is not None and later.active():
            later.cancel()
