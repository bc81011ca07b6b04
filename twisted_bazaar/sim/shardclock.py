"""
One shard's virtual clock: a L{HeapClock} whose order does not depend on
which nodes share it.

A L{HeapClock} breaks ties between calls due at the same time by the
order they were made in the whole process, so what runs first depends on
every node of the process.  A sharded run (L{twisted_bazaar.sim.shard})
must run each node's calls in the same order whichever shard holds it,
and whichever other nodes that shard holds.  So each call belongs to a
*context* (a node, or the tracker: an int, see L{context}), and is keyed
by the context that made it and how many entries that context had made
before: (time, key), key = maker << L{SEQ_BITS} | its count.  A node's
code runs the same way given the same calls in the same order, so the
keys it makes are the same in every sharding, and so is the order of
everything; a message from another shard carries its key and goes into
the heap where it would have gone had its sender been here.
"""

import heapq
import math

from twisted.internet.interfaces import IReactorTime
from zope.interface import implementer

from twisted_bazaar.sim.clock import HeapCall, HeapClock, _CALLED
from twisted_bazaar.sim.sharddeadlines import ShardDeadlines

#: Bits of a key left for the entries one context makes.
SEQ_BITS = 40


class ContextCall(HeapCall):
    """A L{HeapCall} that runs in the context that made it (L{ctx})."""

    __slots__ = ("ctx",)


@implementer(IReactorTime)
class ContextClock:
    """
    One node's clock on a L{ShardClock}: what it schedules is its
    context's, whatever runs when it does.  Its links' deadlines are its
    context's part of the shard's one table of them
    (L{twisted_bazaar.sim.sharddeadlines}): a L{Deadlines
    <twisted_bazaar.net.timers.Deadlines>} of the clock's would run the
    deadlines of every node on it in the order they were set, an order
    that would depend on which nodes share a shard.
    """

    __slots__ = ("clock", "context", "_deadlines", "__weakref__")

    def __init__(self, clock, context):
        self.clock = clock
        self.context = context
        self._deadlines = None

    @property
    def deadlines(self):
        """The node's links' deadlines, kept here rather than in
        L{deadlinesFor <twisted_bazaar.net.timers.deadlinesFor>}'s table of
        clocks (made on first use)."""
        if self._deadlines is None:
            self._deadlines = self.clock.deadlineTable.forContext(self.context)
        return self._deadlines

    def seconds(self):
        return self.clock.now

    def callLater(self, delay, callable, *args, **kw):
        return self.clock.callIn(self.context, delay, callable, args, kw)

    def getDelayedCalls(self):
        return [call for call in self.clock.getDelayedCalls() if call.ctx == self.context]


class ShardClock(HeapClock):
    """
    A L{HeapClock} ordered by (time, key) (see the module), run a window
    at a time (L{runUntil}).

    @ivar context: the context whose code runs now: what it schedules is
        its own, and keyed by its count.
    """

    def __init__(self, contexts):
        """
        @param contexts: how many contexts there are (0 to contexts - 1).
        """
        super().__init__()
        self.Call = type("HeapCall", (ContextCall,), {"__slots__": (), "_clock": self})
        self.context = 0
        #: context -> entries it made: a list, not a dict, as a run has a
        #: context for each of a million nodes.
        self._made = [0] * contexts
        #: Entries run (calls, deliveries, and a time's link deadlines as one).
        self.events = 0
        #: The links' deadlines of every context (see L{ContextClock}).
        self.deadlineTable = ShardDeadlines(self)

    def enter(self, context):
        """Run as ``context`` from now on: what the code that runs next
        schedules is its own (a shard's build, node by node)."""
        self.context = context

    def key(self):
        """The next key of the current context (see the module)."""
        context = self.context
        made = self._made[context]
        self._made[context] = made + 1
        return (context << SEQ_BITS) | made

    def callLater(self, delay, callable, *args, **kw):
        return self.callIn(self.context, delay, callable, args, kw)

    def callIn(self, context, delay, callable, args, kw):
        """callLater of that context's: keyed by its count, run in it."""
        call = self.Call(self.now + max(0.0, delay), callable, args, kw or None)
        call.ctx = context
        made = self._made[context]
        self._made[context] = made + 1
        heapq.heappush(self.heap, (call.time, (context << SEQ_BITS) | made, call))
        return call

    def schedule(self, delay, callable, *args):
        """A call never cancelled, in the current context (see
        L{HeapClock.schedule})."""
        self.deliver(self.now + max(0.0, delay), self.key(), self.context,
                     callable, args)

    def deliver(self, when, key, context, callable, args):
        """
        callable(*args) at time ``when``, in ``context``, ordered by
        ``key``: a message whose key its sender made (here or on another
        shard).
        """
        heapq.heappush(self.heap, (when, key, None, callable, args, context))

    def push(self, call):
        heapq.heappush(self.heap, (call.time, self.key(), call))

    def nextTime(self):
        """When the next entry is due (a cancelled call's included), or None."""
        return self.heap[0][0] if self.heap else None

    def runUntil(self, end, inclusive=False):
        """
        Run every entry due before ``end`` (and at it if ``inclusive``,
        else that is the next window's), each at its own time and in its
        own context; the clock then reads ``end``.
        """
        heap = self.heap
        pop = heapq.heappop
        ran = 0
        # Entries due up to last, the float just below end unless inclusive.
        last = end if inclusive else math.nextafter(end, -math.inf)
        while heap and heap[0][0] <= last:
            entry = pop(heap)
            call = entry[2]
            ran += 1
            if call is None:
                self.now = entry[0]
                self.context = entry[5]
                entry[3](*entry[4])
                continue
            if call._state or entry[0] != call.time:
                continue
            self.context = call.ctx
            if call.delayed_time:
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
        self.events += ran

    def runFor(self, seconds):
        """Windows only (L{runUntil}): a shard's clock moves no other way."""
        self.runUntil(self.now + seconds)

    advance = runFor
