"""
The dial of a client without a node (``bazaar node``, ``bazaar list``,
the web view's watcher) to one node (L{FirstProven}): its ways, each a
path dialled by the transports it is given (a node's kind,
L{twisted_bazaar.transports.table.Transports}), raced by the dialer's own
race (L{twisted_bazaar.reach.race.Race}): the node's local addresses,
which the tracker names only to an asker at its home (docs/protocol.md
§12a), at once; its relay, or its address, after the dialer's
L{RELAY_DELAY}, or at once when every way running failed.  The first
whose node proves itself (its ``thisisme``, checked by the way's owner as
on any path) wins; the others are stopped.  As go-libp2p's dial ranker
does, so that a housemate is asked over the LAN, and a node whose LAN
path is dead costs half a second more.

It needs no node (a status client runs without one), so the dialer
(L{twisted_bazaar.reach.dialer.Dialer}, a node's) is not its caller; it
is, with the dialer, the only caller of the transports outside them
(tests/test_dials.py).  The kinds of a way are the book's
(L{twisted_bazaar.transports.path}): defined once.
"""

from twisted.internet import defer
from twisted.python.failure import Failure

from twisted_bazaar.reach.race import Race, Way as RaceWay
from twisted_bazaar.reach.ways import RELAY_DELAY
from twisted_bazaar.transports.path import DIRECT, LAN, RELAYED

__all__ = ["DIRECT", "LAN", "RELAYED", "RELAY_DELAY", "PHRASES", "FirstProven", "Way",
           "WayFailed", "phrase"]

#: How each kind of way reads in a sentence.
PHRASES = {LAN: "over the LAN at", RELAYED: "through the relay at", DIRECT: "at"}


def phrase(kind):
    """How a way of kind reads in a sentence: one of a transport plugin's
    kinds reads ``over KIND at``."""
    return PHRASES.get(kind) or f"over {kind} at"


class WayFailed(Exception):
    """A way's owner said it failed (L{FirstProven.failed})."""


class Way:
    """
    One way tried: its kind, where in words, and the protocol its owner
    connects along it (a link); dialled along a path by the race's
    transports (L{along}) or, for an address dialled as typed (the
    tracker's endpoint string), by its owner's C{connect(protocol)}
    (L{asTyped}).
    """

    __slots__ = ("kind", "where", "protocol", "dial")

    def __init__(self, kind, where, protocol, dial=None):
        """
        @param dial: C{dial(transports)}, the Deferred of its connection
            (None: a way only told, never started).
        """
        self.kind = kind
        self.where = where
        self.protocol = protocol
        self.dial = dial

    def __str__(self):
        return f"{phrase(self.kind)} {self.where}"


def along(path, protocol, where, options=None):
    """The L{Way} along path (of kind LAN, DIRECT, RELAYED, or a transport
    plugin's), with the
    transport's options (a circuit's target), dialled by the race's
    transports: the peer's key is its owner's to check, on its
    ``thisisme``."""
    return Way(path.kind, where, protocol,
               lambda transports: transports.dial(path, None, lambda: protocol, options))


def asTyped(where, protocol, connect):
    """The L{Way} to an address as typed (kind DIRECT), connected by
    C{connect(protocol)}, the owner's (an endpoint string's, the
    tracker's: no path)."""
    return Way(DIRECT, where, protocol, lambda transports: connect(protocol))


class FirstProven:
    """
    The ways of one client's dial, raced (L{Race}): its owner starts it
    (L{begin}), says when a way's node proved itself (L{proven}) or when
    a way failed (L{failed}), and is told when a way's connection failed
    (``unreachable(way, reason)``: its owner then says it failed, or
    not), when a way is stopped (``close(way)``: its protocol to close)
    and when every way failed (``allFailed()``).  The race owns its one
    timer and each way's connection under way, which it cancels when it
    stops the way; L{stop} gives the dial up.
    """

    def __init__(self, clock, transports, ways, allFailed, unreachable, close=None,
                 delay=RELAY_DELAY):
        """
        @param transports: what dials the ways along paths (None: only
            ways dialled as typed).
        @param close: C{close(way)}, or None: its protocol's C{close()}
            (a L{twisted_bazaar.net.link.Link}'s, the owners' own).
        """
        self.clock = clock
        self.transports = transports
        self.ways = list(ways)
        self.allFailed = allFailed
        self.unreachable = unreachable
        self.close = _closeLink if close is None else close
        self.delay = delay
        #: The way that won, or None.
        self.winner = None
        self._race = None
        #: Each way started -> the Deferred its proof fires; and while it
        #: connects, the Deferred of its connection.
        self._proofs = {}
        self._dialing = {}

    def begin(self):
        """Start the LAN ways now, the others after the delay (at once
        if there is no LAN way)."""
        ranked = sorted((RaceWay(self._starter(way), 0.0 if way.kind == LAN else self.delay)
                         for way in self.ways), key=lambda way: way.delay)
        self._race = Race(self.clock, ranked, _lose)
        self._race.run().addCallbacks(self._won, self._lost)

    def _starter(self, way):
        def start():
            proof = self._proofs[way] = defer.Deferred(lambda d: self._stopWay(way))
            dialing = self._dialing[way] = way.dial(self.transports)
            dialing.addCallbacks(self._connected, self._unreachable, (way,), None, (way,))
            return proof
        return start

    def _connected(self, result, way):
        self._dialing.pop(way, None)

    def _unreachable(self, reason, way):
        self._dialing.pop(way, None)
        if not reason.check(defer.CancelledError):
            self.unreachable(way, reason)

    def _stopWay(self, way):
        """way is no longer needed: its protocol closed, its connection
        under way given up."""
        dialing = self._dialing.pop(way, None)
        self.close(way)
        if dialing is not None and not dialing.called:
            dialing.cancel()

    def _won(self, way):
        self.winner = way

    def _lost(self, reason):
        if not reason.check(defer.CancelledError):
            self.allFailed()

    def proven(self, way):
        """way's node proved itself: whether it wins (the first to), the
        others then stopped.  A later one is to be closed by its owner."""
        proof = self._proofs.get(way)
        if proof is not None and not proof.called:
            proof.callback(way)
        return self.winner is way

    def failed(self, way):
        """
        way failed before it won (its connection, or its node's proof):
        the race goes on without it, the ways waiting starting at once if
        none runs, and ``allFailed()`` told when none is left.  Whether
        it was the winner, lost: the dial's own failure.
        """
        if way is self.winner:
            return True
        proof = self._proofs.get(way)
        if proof is not None and not proof.called:
            proof.errback(Failure(WayFailed(str(way))))
        return False

    def stop(self):
        """Stop every way started but the winner, and not failed; start
        no more."""
        race = self._race
        if race is not None and not race.over:
            race.result.cancel()


def _closeLink(way):
    """A way stopped: its link closed."""
    way.protocol.close()


def _lose(way):
    """A way proven after another won: its owner closes it (L{FirstProven.proven}
    says it lost)."""
