"""
The ways a client without a node (``bazaar node``, ``bazaar list``, the
web view's watcher) tries to a node, raced by the node's own race
(L{twisted_bazaar.reach.race.Race}, L{FirstProven}): a node's local
addresses, which the tracker names only to an asker at its home
(docs/protocol.md §12a), at once; its relay, or its address, after the
dialer's L{RELAY_DELAY}, or at once when every way running failed.  The
first whose node proves itself (its ``thisisme``, checked as on any
path) wins; the others are stopped.  As go-libp2p's dial ranker does, so
that a housemate is asked over the LAN, and a node whose LAN path is
dead costs half a second more.

The kinds of a way are the book's (L{twisted_bazaar.transports.path}):
defined once.
"""

from twisted.internet import defer
from twisted.python.failure import Failure

from twisted_bazaar.reach.dialer import RELAY_DELAY
from twisted_bazaar.reach.race import Race, Way as RaceWay
from twisted_bazaar.transports.path import DIRECT, LAN, RELAYED

__all__ = ["DIRECT", "LAN", "RELAYED", "RELAY_DELAY", "WORDS", "FirstProven", "Way",
           "WayFailed"]

#: How each kind reads in a sentence.
WORDS = {LAN: "over the LAN at", RELAYED: "through the relay at", DIRECT: "at"}


class WayFailed(Exception):
    """A way's owner said it failed (L{FirstProven.failed})."""


class Way:
    """One way tried: its kind, where in words, and how to start and
    stop it (``start()``, ``stop()``: the caller's)."""

    __slots__ = ("kind", "where", "start", "stop", "_proof")

    def __init__(self, kind, where, start, stop):
        self.kind = kind
        self.where = where
        self.start = start
        self.stop = stop
        #: While it runs in the race: the Deferred its proof fires.
        self._proof = None

    def __str__(self):
        return f"{WORDS[self.kind]} {self.where}"


class FirstProven:
    """
    The ways of one client's question, raced (L{Race}): its owner starts
    it (L{begin}), says when a way's node proved itself (L{proven}) or
    when a way failed (L{failed}), and is told when every way failed
    (``allFailed()``).  The race owns its one timer and stops the ways it
    no longer needs (their ``stop``); L{stop} gives the question up.
    """

    def __init__(self, clock, ways, allFailed, delay=RELAY_DELAY):
        self.clock = clock
        self.ways = list(ways)
        self.allFailed = allFailed
        self.delay = delay
        #: The way that won, or None.
        self.winner = None
        self._race = None

    def begin(self):
        """Start the LAN ways now, the others after the delay (at once
        if there is no LAN way)."""
        ranked = sorted((RaceWay(self._starter(way), 0.0 if way.kind == LAN else self.delay)
                         for way in self.ways), key=lambda way: way.delay)
        self._race = Race(self.clock, ranked, _lose)
        self._race.run().addCallbacks(self._won, self._lost)

    def _starter(self, way):
        def start():
            way._proof = defer.Deferred(lambda d: way.stop())
            way.start()
            return way._proof
        return start

    def _won(self, way):
        self.winner = way

    def _lost(self, reason):
        if not reason.check(defer.CancelledError):
            self.allFailed()

    def proven(self, way):
        """way's node proved itself: whether it wins (the first to), the
        others then stopped.  A later one is to be closed by its owner."""
        proof = way._proof
        if proof is not None and not proof.called:
            proof.callback(way)
        return self.winner is way

    def failed(self, way):
        """
        way failed before it won (its start's connection, or its node's
        proof): the race goes on without it, the ways waiting starting at
        once if none runs, and ``allFailed()`` told when none is left.
        Whether it was the winner, lost: the question's own failure.
        """
        if way is self.winner:
            return True
        proof = way._proof
        if proof is not None and not proof.called:
            proof.errback(Failure(WayFailed(str(way))))
        return False

    def stop(self):
        """Stop every way started but the winner, and not failed; start
        no more."""
        race = self._race
        if race is not None and not race.over:
            race.result.cancel()


def _lose(way):
    """A way proven after another won: its owner closes it (L{FirstProven.proven}
    says it lost)."""
