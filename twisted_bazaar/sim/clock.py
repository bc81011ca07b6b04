"""
A virtual clock for large simulations.

``task.Clock`` re-sorts every pending call on each ``callLater``, which is
fine for a unit test and hopeless for a hundred thousand timers.  This one
keeps a heap, drops rescheduled calls lazily and cancelled ones in
batches, and runs each call with the clock set to the call's own time, so
measured latencies are exact.

Its calls are L{HeapCall}s, not C{DelayedCall}s: a simulation makes
millions of them (every link's handshake and keepalive timers, every
scheme's periodic upkeep), and a slotted object a third the size of a
C{DelayedCall}, made without its bookkeeping, is most of what a timer
costs here.
"""

import heapq
import itertools
from types import MethodType

from twisted.internet import error
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from zope.interface import implementer

#: A heap this short is never compacted: sifting past a few cancelled
#: calls costs less than rebuilding it.
COMPACT_MIN = 1024


#: A L{HeapCall}'s state.
_PENDING, _CALLED, _CANCELLED = 0, 1, 2


@implementer(IDelayedCall)
class HeapCall:
    """
    A call pending on a L{HeapClock}: C{DelayedCall}'s interface and
    rescheduling rules (a call moved later keeps its place in the heap
    until it is due, then goes back in at its new time; one moved earlier
    goes in again at once), so that a run makes its calls in the same
    order whichever of the two it uses.

    @ivar time: when the call is due (before any delay still to apply).
    @ivar delayed_time: seconds it was moved later, applied once the heap
        reaches L{time}.
    """

    # Six slots: whether it was called or cancelled is one small int, and
    # its clock is its class's (each clock has a subclass of its own, see
    # L{HeapClock}): a large chord run holds five calls a node.
    __slots__ = ("time", "func", "args", "kw", "_state", "delayed_time")

    #: The L{HeapClock} of the call (set on each clock's own subclass).
    _clock = None

    def __init__(self, time, func, args, kw):
        self.time = time
        self.func = func
        self.args = args
        self.kw = kw
        self._state = _PENDING
        self.delayed_time = 0.0

    @property
    def cancelled(self):
        """Whether the call was cancelled."""
        return self._state == _CANCELLED

    @property
    def called(self):
        """Whether the call ran (or is running)."""
        return self._state == _CALLED

    def getTime(self):
        return self.time + self.delayed_time

    def active(self):
        return self._state == _PENDING

    def cancel(self):
        """Unschedule the call; what it would have called is let go at
        once, its place in the heap later (see L{HeapClock._compact})."""
        self._check()
        self._state = _CANCELLED
        self.func = self.args = self.kw = None
        self._clock._cancelled()

    def reset(self, secondsFromNow):
        self._check()
        new_time = self._clock.now + secondsFromNow
        if new_time < self.time:
            self.delayed_time = 0.0
            self.time = new_time
            self._clock.push(self)
        else:
            self.delayed_time = new_time - self.time

    def delay(self, secondsLater):
        self._check()
        self.delayed_time += secondsLater
        if self.delayed_time < 0.0:
            self.time += self.delayed_time
            self.delayed_time = 0.0
            self._clock.push(self)

    def _check(self):
        if self._state == _CANCELLED:
            raise error.AlreadyCancelled()
        if self._state == _CALLED:
            raise error.AlreadyCalled()


# A timetable's call: (time, sequence, function, what it is a method of
# (or _ALONE), delay still to apply, name, whether an entry of the heap is
# its).  A tuple, made anew when it moves, not an object with a heap entry
# of its own; a method as its function and its object, not a bound method
# made for each call (64 bytes).
_TIME, _SEQUENCE, _FUNCTION, _OWN, _LATER, _NAME, _QUEUED = range(7)

#: A timetable's call's "object" when its function is no method.
_ALONE = object()


class Timetable:
    """
    Named calls of one owner (a chord node's upkeep), each replacing the
    last of its name, as one entry in the clock's heap rather than a
    L{HeapCall} and an entry each: the earliest call's, under the time and
    sequence number the call was given when made.  Every other call of
    the table is due later (or at that time, with a later number), so
    each comes out of the heap, and runs, exactly when and in the order it
    would as a call of its own; a call moved keeps L{HeapCall}'s rules
    (L{_Due}).  An entry whose call was cancelled or moved is skipped
    when it comes out, as a cancelled call's is.

    Each clock and set of names has a subclass: a slot for each name (its
    call, or None), the clock its class's.
    """

    __slots__ = ()

    #: The L{HeapClock} (set on each clock's subclass), and the names.
    _clock = None
    _names = ()

    def __init__(self):
        for name in self._names:
            setattr(self, name, None)

    def later(self, name, delay, function):
        """Run function after delay, replacing what was due under name."""
        clock = self._clock
        own = getattr(function, "__self__", None)
        if type(function) is MethodType and own is not None:
            function = function.__func__
        else:
            own = _ALONE
        setattr(self, name, (clock.now + max(0.0, delay), next(clock._sequence),
                             function, own, 0.0, name, False))
        self._queue()

    def due(self, name):
        """The call still to come under name (an C{IDelayedCall}), or None."""
        return None if getattr(self, name) is None else _Due(self, name)

    def cancel(self, name):
        """Cancel what is due under name, if anything."""
        if getattr(self, name) is not None:
            setattr(self, name, None)
            self._queue()

    def cancelAll(self):
        """Cancel every call still due."""
        for name in self._names:
            setattr(self, name, None)

    def _delay(self, name, later):
        """The call under name is due ``later`` seconds after its time: it
        stays where it is until then (as a L{HeapCall} moved later)."""
        call = getattr(self, name)
        setattr(self, name, call[:_LATER] + (later,) + call[_NAME:])

    def _advance(self, name, time):
        """The call under name is due at time, earlier than it was: in
        again at a new number (as a L{HeapCall} moved earlier)."""
        call = getattr(self, name)
        setattr(self, name, (time, next(self._clock._sequence), call[_FUNCTION],
                             call[_OWN], 0.0, name, False))
        self._queue()

    def _queue(self):
        """The heap holds an entry for the earliest call (unless it has one
        already: each call has one at most, its own time and number)."""
        head = None
        for name in self._names:
            call = getattr(self, name)
            if call is not None and (head is None or call[0] < head[0]
                                     or (call[0] == head[0] and call[1] < head[1])):
                head = call
        if head is None or head[_QUEUED]:
            return
        head = head[:_QUEUED] + (True,)
        setattr(self, head[_NAME], head)
        # The table itself is the entry's function, the call its arguments
        # (L{__call__}).
        heapq.heappush(self._clock.heap, (head[0], head[1], None, self, head))

    def __call__(self, time, sequence, function, own, later, name, queued):
        """An entry of the table's came out of the heap (its call's fields
        are the arguments): run the call, if it is still the one under
        its name."""
        call = getattr(self, name)
        if call is None or call[_SEQUENCE] != sequence:
            return
        later = call[_LATER]
        if later:
            # Moved later: in again at its time, under a new number.
            setattr(self, name, (call[_TIME] + later, next(self._clock._sequence),
                                 function, own, 0.0, name, False))
            self._queue()
            return
        setattr(self, name, None)
        self._queue()
        if own is _ALONE:
            function()
        else:
            function(own)


@implementer(IDelayedCall)
class _Due:
    """A timetable's call under one name, as an C{IDelayedCall}: made when
    asked for (L{Timetable.due}), not kept."""

    __slots__ = ("table", "name")

    def __init__(self, table, name):
        self.table = table
        self.name = name

    def _call(self):
        call = getattr(self.table, self.name)
        if call is None:
            raise error.AlreadyCancelled()
        return call

    def getTime(self):
        call = self._call()
        return call[_TIME] + call[_LATER]

    def active(self):
        return getattr(self.table, self.name) is not None

    def cancel(self):
        self._call()
        self.table.cancel(self.name)

    def reset(self, secondsFromNow):
        call = self._call()
        new_time = self.table._clock.now + secondsFromNow
        if new_time < call[_TIME]:
            self.table._advance(self.name, new_time)
        else:
            self.table._delay(self.name, new_time - call[_TIME])

    def delay(self, secondsLater):
        call = self._call()
        later = call[_LATER] + secondsLater
        if later < 0.0:
            self.table._advance(self.name, call[_TIME] + later)
        else:
            self.table._delay(self.name, later)


@implementer(IReactorTime)
class HeapClock:
    """IReactorTime on a heap; time moves only in advance()/runFor().

    The heap holds (time, sequence, L{HeapCall}) for calls and (time,
    sequence, None, callable, args) for L{schedule}'s; the sequence breaks
    ties in the order the entries were pushed.
    """

    def __init__(self):
        #: The class of this clock's calls: a L{HeapCall} that knows its
        #: clock without a slot for it on each call.  It, the heap and
        #: L{push} are a subclass's too (a shard's clock keys its entries
        #: otherwise, L{twisted_bazaar.sim.shardclock}).
        self.Call = type("HeapCall", (HeapCall,), {"__slots__": (), "_clock": self})
        self.now = 0.0
        self.heap = []
        self._sequence = itertools.count()
        #: Calls cancelled since the heap was last compacted.
        self._cancellations = 0
        #: names -> this clock's L{Timetable} class for them.
        self._tables = {}

    def seconds(self):
        return self.now

    def timetable(self, names):
        """
        A L{Timetable} of calls under names, one entry of the heap at a
        time (L{twisted_bazaar.base.timetable.timetableFor}); None from a
        clock that runs its heap otherwise (a shard's), whose owners take
        a call for each name.
        """
        if type(self).runFor is not HeapClock.runFor:
            return None
        names = tuple(names)
        made = self._tables.get(names)
        if made is None:
            made = self._tables[names] = type(
                "Timetable", (Timetable,),
                {"__slots__": names, "_clock": self, "_names": names})
        return made()

    def callLater(self, delay, callable, *args, **kw):
        # No empty dict kept with each pending call (kw is None then): a
        # large run holds a keepalive call for each of a million link ends.
        call = self.Call(self.now + max(0.0, delay), callable, args, kw or None)
        heapq.heappush(self.heap, (call.time, next(self._sequence), call))
        return call

    def schedule(self, delay, callable, *args):
        """
        callLater for calls that are never cancelled, such as the delivery
        of a message: no L{HeapCall} is made, which matters when there are
        millions of them.
        """
        heapq.heappush(self.heap, (self.now + max(0.0, delay),
                                    next(self._sequence), None, callable, args))

    def push(self, call):
        """A call moved: in again at its time (its old entry is skipped)."""
        heapq.heappush(self.heap, (call.time, next(self._sequence), call))

    def _cancelled(self):
        """
        A call was cancelled.  Its entry would be skipped when popped, but
        a timer that is cancelled and made again (a link's keepalive, a
        scheme's upkeep) would fill the heap meanwhile: once the calls
        cancelled outnumber half the heap, it is rebuilt without them.
        """
        self._cancellations += 1
        heap = self.heap
        if self._cancellations * 2 > len(heap) and len(heap) > COMPACT_MIN:
            self._compact()

    def _compact(self):
        """
        Drop the entries of cancelled (and finished) calls.  Every other
        entry keeps its (time, sequence), so the calls come out of the
        rebuilt heap in exactly the order they would have.
        """
        heap = self.heap
        heap[:] = [entry for entry in heap if entry[2] is None
                   or entry[2]._state == _PENDING]
        heapq.heapify(heap)
        self._cancellations = 0

    def getDelayedCalls(self):
        return [entry[2] for entry in self.heap
                if entry[2] is not None and entry[0] == entry[2].time
                and entry[2]._state == _PENDING]

    def runFor(self, seconds):
        """Run every call due in the next ``seconds``, each at its own time."""
        end = self.now + seconds
        heap = self.heap
        pop = heapq.heappop
        while heap and heap[0][0] <= end:
            entry = pop(heap)
            call = entry[2]
            if call is None:
                self.now = entry[0]
                entry[3](*entry[4])
                continue
            if call._state or entry[0] != call.time:
                continue
            if call.delayed_time:
                # reset() or delay() to a later time only notes the delay.
                call.time += call.delayed_time
                call.delayed_time = 0.0
                self.push(call)
                continue
            self.now = entry[0]
            call._state = _CALLED
            func, args, kw = call.func, call.args, call.kw
            call.func = call.args = call.kw = None
            if kw:
                func(*args, **kw)
            else:
                func(*args)
        self.now = end

    advance = runFor
