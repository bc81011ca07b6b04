"""
One timer per clock for the deadlines every link keeps (its handshake
timeout, its next keepalive check), instead of one DelayedCall per link.

A simulation of a hundred thousand nodes holds a few hundred thousand
links, each with a deadline that moves on every check: as DelayedCalls they
fill the clock's queue (and a clock's calls are what a test inspects for
what a node left behind).  A L{Deadlines} keeps them in a heap of its own
and asks its clock for one call, at the earliest: each deadline still runs
at its exact time, in the order deadlines of the same time were set.
"""

import heapq
import math
import weakref

from twisted.logger import Logger

#: clock -> its L{Deadlines}; a clock that goes away takes its own along.
_byClock = weakref.WeakKeyDictionary()


def deadlinesFor(clock):
    """The L{Deadlines} every link on clock shares (made on first use)."""
    deadlines = _byClock.get(clock)
    if deadlines is None:
        deadlines = _byClock[clock] = Deadlines(clock)
    return deadlines


def delayTo(now, when):
    """
    The delay a clock at ``now`` is given for a call at ``when``: one it
    adds to ``now`` without passing ``when`` (``when - now`` may pass it
    by the last bit, and the call would run late; it may fall a bit short,
    and L{Deadlines} then runs the deadline with the call anyway).  A few
    steps at most: the sum can only be off when ``now`` is under half of
    ``when``, and then a step of the delay is one of the sum.
    """
    if when <= now:
        return 0.0
    delay = when - now
    for _ in range(8):
        if now + delay <= when:
            break
        delay = math.nextafter(delay, 0.0)
    return delay


#: A deadline's subject when its function takes no argument.
ALONE = object()


class Deadline:
    """
    One function due at one time; L{cancel} it while it waits.

    @ivar subject: what the function is called with, or L{ALONE} (called
        with nothing): a link's deadline names the link and an unbound
        method rather than hold a bound method, 64 bytes less a link end.
    """

    __slots__ = ("when", "sequence", "function", "subject", "owner")

    def __init__(self, when, sequence, function, subject, owner):
        self.when = when
        self.sequence = sequence
        self.function = function
        self.subject = subject
        self.owner = owner

    def __lt__(self, other):
        return (self.when, self.sequence) < (other.when, other.sequence)

    def active(self):
        """Whether it is still to run."""
        return self.function is not None

    def cancel(self):
        """Do not run it (idempotent)."""
        if self.function is not None:
            self.function = self.subject = None
            self.owner._cancelled()


class Deadlines:
    """
    Deadlines on one clock, behind a single DelayedCall: the one of the
    earliest, moved when an earlier one is set and cancelled when none is
    left (so a stopped node leaves no call behind).

    @ivar live: deadlines set and not yet run or cancelled.
    """

    log = Logger()

    def __init__(self, clock):
        self.clock = clock
        self._heap = []
        self._sequence = 0
        self.live = 0
        self._call = None
        self._at = None

    def callLater(self, delay, function, subject=ALONE):
        """Run ``function()`` in ``delay`` seconds, or ``function(subject)``
        if given one; returns its L{Deadline}."""
        self._sequence += 1
        deadline = Deadline(self.clock.seconds() + max(0.0, delay), self._sequence,
                            function, subject, self)
        heapq.heappush(self._heap, deadline)
        self.live += 1
        if self._at is None or deadline.when < self._at:
            self._arm()
        return deadline

    def _cancelled(self):
        self.live -= 1
        if not self.live:
            self._heap.clear()
            self._disarm()
        elif len(self._heap) > 64 and len(self._heap) > 2 * self.live:
            # A deadline moved on every check leaves its old entry behind.
            self._heap = [d for d in self._heap if d.function is not None]
            heapq.heapify(self._heap)

    def _disarm(self):
        if self._call is not None:
            if self._call.active():
                self._call.cancel()
            self._call = self._at = None

    def _arm(self):
        """One call, at the earliest deadline still live."""
        heap = self._heap
        while heap and heap[0].function is None:
            heapq.heappop(heap)
        if not heap:
            self._disarm()
            return
        when = heap[0].when
        if self._at == when and self._call is not None and self._call.active():
            return
        self._disarm()
        self._at = when
        self._call = self.clock.callLater(delayTo(self.clock.seconds(), when),
                                          self._fire)

    def _fire(self):
        """Run every deadline due, earliest first."""
        # Due: up to the time this call was set for, too (the clock's sum
        # of now and a delay may fall an ulp short of it).
        due = max(self.clock.seconds(), self._at)
        self._call = self._at = None
        heap = self._heap
        while heap and heap[0].when <= due:
            deadline = heapq.heappop(heap)
            function, subject = deadline.function, deadline.subject
            if function is None:
                continue
            deadline.function = deadline.subject = None
            self.live -= 1
            try:
                if subject is ALONE:
                    function()
                else:
                    function(subject)
            except Exception:
                # As the clock would for a call of its own: logged, and
                # the other deadlines due still run.
                self.log.failure("a deadline failed")
        self._arm()
