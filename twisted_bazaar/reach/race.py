"""
One dial's ways to a peer, raced (L{Race}): as go-libp2p's dial ranker and
happy eyeballs (RFC 8305) do, the ways that apply start by their rank, the
best at once, each later one by the node's clock only if nothing has
connected yet, or at once when every way running failed; the first to
connect (the peer's id or key proven on it) wins, the others are
cancelled, and one that connected anyway is closed.  The dial fails only
when every way failed, saying each one's reason.

A race owns its one timer (the next start) and the Deferreds of the ways
running: the race's end, or its cancellation, cancels them.  A dial that
one way alone applies to runs no race (a simulated node's dials nearly
all: nothing more is made for them).

The race ranks its ways itself (L{rank}), the one ranker of every dial:
a node's dialer's (L{twisted_bazaar.reach.dialer.Dialer}) and a client's
without a node (L{FirstProven}: ``bazaar node``, ``bazaar list``, the
web view's watcher), whose ways (L{twisted_bazaar.reach.ways.ClientWay})
win when their node proves itself on them.
"""

import attr
from twisted.internet import defer
from twisted.python.failure import Failure

from twisted_bazaar.net.opening import NotConnected
from twisted_bazaar.net.reconnect import inWords

__all__ = ["Race", "Way", "DialFailed", "FirstProven", "WayFailed", "rank"]


class DialFailed(Exception):
    """Every way to a peer failed: each one's reason, in the order they
    failed."""

    def __str__(self):
        return self.args[0]


@attr.s(frozen=True, slots=True)
class Way:
    """
    One way of a race: C{start()} (a Deferred, or None when the way no
    longer applies), ``delay`` seconds after the dial started, and
    whether ways ranked after it wait for it to fail (``holds``).
    """

    start = attr.ib()
    delay = attr.ib()
    holds = attr.ib(default=False)


def rank(ways):
    """ways best first: by the delay each declares; of those of the same
    delay, one that holds the others back first (QUIC at a UDP path
    before TCP), then as given."""
    return sorted(ways, key=lambda way: (way.delay, not way.holds))


class Race:
    """
    The ways of one dial, raced: see the module's docstring.

    @ivar waiting: the L{Way}s not started yet, best (least delay) first.
    @ivar running: the started ways' Deferreds -> their L{Way}.
    """

    def __init__(self, clock, ways, lose, together=True):
        """
        @param ways: the L{Way}s, ranked here (L{rank}).
        @param lose: C{lose(result)}, for what a way connected after
            another won (a connection of the caller's own: closed).
        @param together: False: a way starts only when those before it
            failed (a link of a node without a key: its peer keeps the
            newest of two links it does not wait for a proof on, and the
            winner would be the one it closes).
        """
        self.clock = clock
        self.waiting = rank(ways)
        self.lose = lose
        self.together = together
        self.running = {}
        self.failures = []
        self.timer = None
        self.began = clock.seconds()
        self.over = False
        self.result = defer.Deferred(self._cancelled)

    def run(self):
        """Start the best ways; the Deferred of the dial's result."""
        self._startNext()
        return self.result

    # -- starting ------------------------------------------------------------------

    def _startNext(self):
        """Start the best way waiting, and every other of the same delay
        (all at once: those ranked the same start together)."""
        if self.waiting:
            first = self.waiting[0].delay
            self._startWhile(lambda way: way.delay <= first)
        self._settle()

    def _due(self):
        """The timer: the ways whose delay has passed start."""
        self.timer = None
        elapsed = self.clock.seconds() - self.began
        self._startWhile(lambda way: way.delay <= elapsed)
        self._settle()

    def _startWhile(self, due):
        while self.waiting and not self.over and due(self.waiting[0]):
            if self._held():
                return
            way = self.waiting.pop(0)
            d = way.start()
            if d is None:
                continue
            self.running[d] = way
            d.addCallbacks(self._won, self._failed, (d,), None, (d,))

    def _held(self):
        """Whether a way running holds the later ones back."""
        return any(way.holds or not self.together for way in self.running.values())

    def _settle(self):
        """After a change: fail if nothing runs or waits, start the next at
        once if nothing runs, the ways due if nothing holds them back,
        else time the next start."""
        if self.over:
            return
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.running:
            if not self.waiting:
                self._finish(_allFailed(self.failures))
                return
            self._startNext()
            return
        if self.waiting and not self._held():
            wait = self.began + self.waiting[0].delay - self.clock.seconds()
            if wait <= 0:
                self._due()
                return
            self.timer = self.clock.callLater(wait, self._due)

    # -- ending --------------------------------------------------------------------

    def _won(self, result, d):
        self.running.pop(d, None)
        if self.over:
            # Connected after another won (or after the dial was given up).
            self.lose(result)
            return None
        self._finish(result)
        return None

    def _failed(self, reason, d):
        self.running.pop(d, None)
        if self.over:
            return None
        self.failures.append(reason)
        self._settle()
        return None

    def _finish(self, result):
        """The race is over with result (a winner's, or a failure)."""
        self._stop()
        self.result.callback(result)

    def _stop(self):
        """Nothing more starts; the ways running are cancelled."""
        self.over = True
        self.waiting = []
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        running, self.running = self.running, {}
        for d in running:
            d.cancel()

    def _cancelled(self, result):
        self._stop()


def _allFailed(failures):
    """The failure of a dial every way of which failed: the one way's
    own; of several, each one's reason, in the order they failed, the
    last (the fallback most often: a relay's, whose word on whether the
    peer listens counts) saying what kind: L{NotConnected} (a link's, or
    L{twisted_bazaar.net.opening.Unreachable}) keeps its class."""
    if len(failures) == 1:
        return failures[0]
    if not failures:
        return Failure(DialFailed("no way to the peer applied"))
    # Each in the project's words, without Twisted's full stop before the
    # next reason ("Connection refused.; no QUIC answer").
    why = "; ".join(inWords(failure) for failure in failures)
    last = failures[-1]
    if last.check(NotConnected):
        return Failure(type(last.value)(why))
    return Failure(DialFailed(why))


class WayFailed(Exception):
    """A client's way's owner said it failed (L{FirstProven.failed})."""


class FirstProven:
    """
    The ways of the dial of a client without a node to one node (each a
    L{ClientWay <twisted_bazaar.reach.ways.ClientWay>}: along a path,
    dialled by the transports given, or the tracker's endpoint as typed),
    raced: the node's local addresses at once, its relay or its address
    after the dialer's L{RELAY_DELAY
    <twisted_bazaar.reach.ways.RELAY_DELAY>}, or at once when every way
    running failed, as each way declares; the first whose node proves
    itself (its ``thisisme``, checked by the way's owner as on any path)
    wins, the others are stopped.  So a housemate is asked over the LAN,
    and a node whose LAN path is dead costs half a second more.

    Its owner starts it (L{begin}), says when a way's node proved itself
    (L{proven}) or when a way failed (L{failed}), and is told when a way's
    connection failed (``unreachable(way, reason)``: its owner then says
    it failed, or not), when a way is stopped (``close(way)``: its
    protocol to close) and when every way failed (``allFailed()``).  The
    race owns its one timer and each way's connection under way, which it
    cancels when it stops the way; L{stop} gives the dial up.
    """

    def __init__(self, clock, transports, ways, allFailed, unreachable, close=None):
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
        #: The way that won, or None.
        self.winner = None
        self._race = None
        #: Each way started -> the Deferred its proof fires; and while it
        #: connects, the Deferred of its connection.
        self._proofs = {}
        self._dialing = {}

    def begin(self):
        """Start the best ways now (the LAN's), the others after their
        delay (at once if no way runs)."""
        self._race = Race(self.clock, [Way(self._starter(way), way.delay, way.holds)
                                       for way in self.ways], _proven)
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
    """A client's way stopped: its link closed."""
    way.protocol.close()


def _proven(way):
    """A client's way proven after another won: its owner closes it
    (L{FirstProven.proven} says it lost)."""
