"""
One timer per clock for the deadlines every link keeps (its handshake
timeout, its next keepalive check), instead of one DelayedCall per link.

A simulation of a hundred thousand nodes holds a few hundred thousand
links, each with a deadline that moves on every check: as DelayedCalls they
fill the clock's queue (and a clock's calls are what a test inspects for
what a node left behind).  A L{Deadlines} keeps them apart, by time, and
asks its clock for one call, at the earliest: each deadline still runs at
its exact time, in the order deadlines of the same time were set.

Deadlines are kept in buckets, one per time, and a heap of the times:
the keepalive checks of a large run fall on a few times (a link checked
every ping interval from when it was made), so a link's check costs a
place in a bucket.  A keepalive check is a resident deadline: the link
itself (its L{twisted_bazaar.net.keepalive.Keepalive}, a base of it)
waits in its bucket (see L{Deadlines.wake}), rather than a L{Deadline}
object, its time and a sequence number for it, 130 bytes a link end.
"""

import heapq
import math
import weakref

from twisted.logger import Logger

from twisted_bazaar.base.asleep import ASLEEP

#: id(clock) -> its L{Deadlines}, held weakly: an entry goes once nothing
#: holds its deadlines (no link, no call pending), and the clock with it.
#: (Keyed weakly by the clock, the entry would hold its own key: the
#: deadlines hold their clock, so no clock, and no network of a
#: simulation run in one process, would ever go.)  While an entry is
#: there its deadlines hold the clock, so no other clock has that id.
_byClock = weakref.WeakValueDictionary()


def deadlinesFor(clock):
    """
    The L{Deadlines} every link on clock shares (made on first use): the
    clock's own if it keeps one (a C{deadlines} attribute, as a sharded
    simulation's clock of each of its nodes does,
    L{twisted_bazaar.sim.shardclock.ContextClock}), else kept in a table
    of clocks, held weakly (L{_byClock}: they go with the clock's last
    link and call).
    """
    deadlines = _keptFor(clock)
    if deadlines is None:
        deadlines = _byClock[id(clock)] = Deadlines(clock)
    return deadlines


#: What a clock without a C{deadlines} attribute has there.
_NO_SLOT = object()


def _keptFor(clock):
    """The L{Deadlines} of clock if any were made (L{deadlinesFor}), else
    None: the clock's own, or its entry in the table of clocks."""
    own = getattr(clock, "deadlines", _NO_SLOT)
    return _byClock.get(id(clock)) if own is _NO_SLOT else own


def sleptLately(clock):
    """
    Seconds the node just did not run (a stopped process, a suspended
    laptop), as the deadlines of clock saw on resuming, if it resumed in
    the last L{ASLEEP} seconds; else None.  What a peer did meanwhile (cut
    the node's links as silent) is then likely this node's doing.
    """
    resumed = getattr(_keptFor(clock), "resumed", None)
    if resumed is None or clock.seconds() - resumed[0] >= ASLEEP:
        return None
    return resumed[1]


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

    __slots__ = ("when", "function", "subject", "owner")

    def __init__(self, when, function, subject, owner):
        self.when = when
        self.function = function
        self.subject = subject
        self.owner = owner

    def active(self):
        """Whether it is still to run."""
        return self.function is not None

    def cancel(self):
        """Do not run it (idempotent)."""
        if self.function is not None:
            self.function = self.subject = None
            self.owner._cancelled()


def _live(entry, when):
    """Whether a bucket's entry is still to run: a L{Deadline} not run or
    cancelled, or a resident still due at the bucket's time."""
    if type(entry) is Deadline:
        return entry.function is not None
    return entry._due == when


def runEntry(entry, when):
    """
    Run a bucket's entry of time ``when`` if it is still to run, as
    L{Deadlines} does (it runs once; a failure is logged): for a table of
    deadlines kept elsewhere, a sharded simulation's
    (L{twisted_bazaar.sim.sharddeadlines}).
    """
    if type(entry) is Deadline:
        function, subject = entry.function, entry.subject
        if function is None:
            return
        entry.function = entry.subject = None
    elif entry._due == when:
        entry._due = None
        function, subject = entry._expire, ALONE
    else:
        return
    try:
        if subject is ALONE:
            function()
        else:
            function(subject)
    except Exception:
        Deadlines.log.failure("a deadline failed")


def wokenAt(resident, when):
    """resident is due at when (see L{Deadlines.wake}), in a table kept
    elsewhere (see L{runEntry})."""
    resident._due = when


def letGo(resident):
    """resident is no longer due (see L{Deadlines.unwake}), in a table
    kept elsewhere (see L{runEntry})."""
    resident._due = None


class Deadlines:
    """
    Deadlines on one clock, behind a single DelayedCall: the one of the
    earliest, moved when an earlier one is set and cancelled when none is
    left (so a stopped node leaves no call behind).

    A deadline is a L{Deadline} (L{callLater}), or a resident (L{wake}):
    an object with a C{_due} attribute, which these deadlines own while
    it is woken (the time it is due; None once it ran or was let go of;
    before it is woken it may hold anything that is no time, a link's
    handshake L{Deadline}), and an C{_expire()} method, run then.  A resident is woken again only once it ran or was let go of
    (L{unwake}) and its time has come: at most one of its entries is live.

    @ivar live: deadlines set and not yet run or cancelled.
    """

    __slots__ = ("clock", "_times", "_buckets", "_held", "live", "_call", "_at",
                 "resumed", "__weakref__")

    log = Logger()

    def __init__(self, clock):
        self.clock = clock
        #: The times of the buckets, a heap; time -> its bucket: one
        #: entry, or a list of the time and the entries in the order they
        #: were set (a resident that joins it takes that time as its
        #: C{_due}, rather than a float of its own).
        self._times = []
        self._buckets = {}
        #: Entries in the buckets, live or not.
        self._held = 0
        self.live = 0
        self._call = None
        self._at = None
        #: (when, seconds) of the last time a call of these deadlines ran
        #: L{ASLEEP} seconds late or more: the node did not run for about
        #: that long (None: never).
        self.resumed = None

    def _push(self, when, entry):
        """Put entry in the bucket of when; returns the bucket's time (an
        object equal to when)."""
        buckets = self._buckets
        bucket = buckets.get(when)
        if bucket is None:
            buckets[when] = entry
            heapq.heappush(self._times, when)
        elif type(bucket) is list:
            when = bucket[0]
            bucket.append(entry)
        else:
            buckets[when] = [when, bucket, entry]
        self._held += 1
        self.live += 1
        if self._at is None or when < self._at:
            self._arm()
        return when

    def callLater(self, delay, function, subject=ALONE):
        """Run ``function()`` in ``delay`` seconds, or ``function(subject)``
        if given one; returns its L{Deadline}."""
        deadline = Deadline(self.clock.seconds() + max(0.0, delay), function,
                            subject, self)
        self._push(deadline.when, deadline)
        return deadline

    def wake(self, resident, delay):
        """Run ``resident._expire()`` in ``delay`` seconds (its C{_due}
        says when, until then)."""
        when = resident._due = self.clock.seconds() + max(0.0, delay)
        # Then the bucket's own time, if it has one: one float for all.
        resident._due = self._push(when, resident)

    def unwake(self, resident):
        """Do not run resident's L{wake} (idempotent)."""
        if resident._due is not None:
            resident._due = None
            self._cancelled()

    def _cancelled(self):
        self.live -= 1
        if not self.live:
            self._times.clear()
            self._buckets.clear()
            self._held = 0
            self._disarm()
        elif self._held > 64 and self._held > 2 * self.live:
            # A deadline moved on every check leaves its old entry behind.
            self._compact()

    def _compact(self):
        """Drop the entries that will not run (the order of the others
        stays)."""
        buckets = {}
        held = 0
        for when, bucket in self._buckets.items():
            if type(bucket) is list:
                kept = [entry for entry in bucket[1:] if _live(entry, when)]
                if len(kept) > 1:
                    buckets[when] = [bucket[0]] + kept
                elif kept:
                    buckets[when] = kept[0]
                held += len(kept)
            elif _live(bucket, when):
                buckets[when] = bucket
                held += 1
        self._buckets = buckets
        self._times = list(buckets)
        heapq.heapify(self._times)
        self._held = held

    def _disarm(self):
        if self._call is not None:
            if self._call.active():
                self._call.cancel()
            self._call = self._at = None

    def _arm(self):
        """One call, at the earliest deadline still live."""
        times, buckets = self._times, self._buckets
        while times:
            when = times[0]
            bucket = buckets[when]
            if type(bucket) is not list:
                if _live(bucket, when):
                    break
                dead = 1
            else:
                dead = 0
                for entry in bucket[1:]:
                    if _live(entry, when):
                        break
                    dead += 1
                if dead < len(bucket) - 1:
                    # Not looked at again: the bucket's live entry leads.
                    del bucket[1:1 + dead]
                    self._held -= dead
                    break
            heapq.heappop(times)
            del buckets[when]
            self._held -= dead
        if not times:
            self._disarm()
            return
        when = times[0]
        if self._at == when and self._call is not None and self._call.active():
            return
        self._disarm()
        self._at = when
        self._call = self.clock.callLater(delayTo(self.clock.seconds(), when),
                                          self._fire)

    def _fire(self):
        """Run every deadline due, earliest first; but first, if this call
        runs L{ASLEEP} seconds late or more, let the reactor read what
        waits in the sockets: the node did not run meanwhile (a laptop's
        stopped process, a frozen container), and a deadline of silence
        run before its peers' pings are read would cut links that were
        not silent (keepalive's C{silent for 33 s} as a node resumed)."""
        now = self.clock.seconds()
        if now - self._at >= ASLEEP:
            self.resumed = (now, now - self._at)
            # Run again after one turn of the reactor: its timers run
            # before it reads its sockets, a call of 0 s after.
            self._at = now
            self._call = self.clock.callLater(0, self._fire)
            return
        # Due: up to the time this call was set for, too (the clock's sum
        # of now and a delay may fall an ulp short of it).
        due = max(now, self._at)
        self._call = self._at = None
        times, buckets = self._times, self._buckets
        while times and times[0] <= due:
            when = heapq.heappop(times)
            bucket = buckets.pop(when)
            entries = bucket[1:] if type(bucket) is list else (bucket,)
            self._held -= len(entries)
            for entry in entries:
                if type(entry) is Deadline:
                    function, subject = entry.function, entry.subject
                    if function is None:
                        continue
                    entry.function = entry.subject = None
                elif entry._due == when:
                    entry._due = None
                    function, subject = entry._expire, ALONE
                else:
                    continue
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
            # What ran may have cleared or rebuilt them.
            times, buckets = self._times, self._buckets
        self._arm()
