"""
A virtual clock for large simulations.

``task.Clock`` re-sorts every pending call on each ``callLater``, which is
fine for a unit test and hopeless for a hundred thousand timers.  This one
keeps a heap, drops cancelled and rescheduled calls lazily, and runs each
call with the clock set to the call's own time, so measured latencies are
exact.
"""

import heapq
import itertools

from twisted.internet.base import DelayedCall
from twisted.internet.interfaces import IReactorTime
from zope.interface import implementer


@implementer(IReactorTime)
class HeapClock:
    """IReactorTime on a heap; time moves only in advance()/runFor()."""

    def __init__(self):
        self.now = 0.0
        self._heap = []
        self._sequence = itertools.count()

    def seconds(self):
        return self.now

    def callLater(self, delay, callable, *args, **kw):
        call = DelayedCall(self.now + max(0.0, delay), callable, args, kw,
                           self._cancelled, self._moved, self.seconds)
        heapq.heappush(self._heap, (call.time, next(self._sequence), call))
        return call

    def schedule(self, delay, callable, *args):
        """
        callLater for calls that are never cancelled, such as the delivery
        of a message: no DelayedCall is made, which matters when there are
        millions of them.
        """
        heapq.heappush(self._heap, (self.now + max(0.0, delay),
                                    next(self._sequence), None, callable, args))

    def _cancelled(self, call):
        """Cancelled calls stay in the heap and are skipped when popped."""

    def _moved(self, call):
        heapq.heappush(self._heap, (call.time, next(self._sequence), call))

    def getDelayedCalls(self):
        return [entry[2] for entry in self._heap
                if entry[2] is not None and entry[0] == entry[2].time
                and not (entry[2].cancelled or entry[2].called)]

    def runFor(self, seconds):
        """Run every call due in the next ``seconds``, each at its own time."""
        end = self.now + seconds
        heap = self._heap
        pop = heapq.heappop
        while heap and heap[0][0] <= end:
            entry = pop(heap)
            call = entry[2]
            if call is None:
                self.now = entry[0]
                entry[3](*entry[4])
                continue
            if call.cancelled or call.called or entry[0] != call.time:
                continue
            if call.delayed_time:
                # reset() or delay() to a later time only notes the delay.
                call.activate_delay()
                self._moved(call)
                continue
            self.now = entry[0]
            call.called = 1
            call.func(*call.args, **call.kw)
        self.now = end

    advance = runFor
