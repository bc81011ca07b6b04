"""
The link deadlines of every node of a shard in one table, rather than a
L{Deadlines <twisted_bazaar.net.timers.Deadlines>} for each node (its
object, heap, table of buckets, the entries it kept and its call on the
clock: 716 bytes a node of a shard of 20,000 index nodes).

A single process's L{Deadlines} runs the deadlines of one time in the
order they were set, an order that would depend on which nodes share a
shard.  Here a time's deadlines run as one entry of the shard's clock,
keyed L{FIRST}: before every other entry of that time, by context, and in
the order each context set its own.  What a context sees is then the same
whichever nodes share its shard: its deadlines of a time run before the
calls and messages it has at that time, in the order it set them.
"""

from twisted_bazaar.net.timers import ALONE, Deadline, letGo, runEntry, wokenAt

#: The key of a time's deadlines on the shard's clock: before any other
#: entry of that time (a context's keys are never negative).  At most one
#: entry of a time waits at once: a deadline set for a time whose entry
#: already ran (a delay of 0) makes a new one.
FIRST = -1


class ShardDeadlines:
    """
    Every deadline of one shard: time -> its bucket, a list of the time
    (one float for the bucket's residents, as in L{Deadlines}) then
    (context, entry) pairs in the order they were set.  An entry is a
    L{Deadline} or a resident (see L{Deadlines}).  Nothing is cancelled on
    the clock: a bucket whose deadlines were all cancelled runs empty.
    """

    __slots__ = ("clock", "_buckets")

    def __init__(self, clock):
        """
        @param clock: the shard's L{twisted_bazaar.sim.shardclock.ShardClock}.
        """
        self.clock = clock
        self._buckets = {}

    def forContext(self, context):
        """The deadlines of one context (what its links' L{LinkContext
        <twisted_bazaar.net.link.LinkContext>} holds)."""
        return ContextDeadlines(self, context)

    def _push(self, context, when, entry):
        """entry set by context for when; returns the bucket's time (an
        object equal to when)."""
        bucket = self._buckets.get(when)
        if bucket is None:
            self._buckets[when] = [when, context, entry]
            self.clock.deliver(when, FIRST, context, self._fire, (when,))
            return when
        bucket.append(context)
        bucket.append(entry)
        return bucket[0]

    def _cancelled(self):
        """A L{Deadline} was cancelled: its entry is skipped when its time
        comes (see the class)."""

    def _fire(self, when):
        """Run the deadlines of when, by context (see the module)."""
        bucket = self._buckets.pop(when)
        clock = self.clock
        count = len(bucket)
        order = range(1, count, 2)
        # Set in order of context, as a bucket filled by the run of an
        # earlier one is: else sorted (stably, each context's own order kept).
        for index in range(3, count, 2):
            if bucket[index] < bucket[index - 2]:
                order = sorted(order, key=bucket.__getitem__)
                break
        enter = clock.enter
        for index in order:
            enter(bucket[index])
            runEntry(bucket[index + 1], when)


class ContextDeadlines:
    """
    One context's L{ShardDeadlines}: what L{Deadlines} offers a link (see
    L{twisted_bazaar.net.keepalive.Keepalive}), the context named.
    """

    __slots__ = ("table", "context")

    def __init__(self, table, context):
        self.table = table
        self.context = context

    def callLater(self, delay, function, subject=ALONE):
        """Run ``function()`` in ``delay`` seconds, or ``function(subject)``
        if given one; returns its L{Deadline}."""
        table = self.table
        deadline = Deadline(table.clock.now + max(0.0, delay), function, subject, table)
        table._push(self.context, deadline.when, deadline)
        return deadline

    def wake(self, resident, delay):
        """Run ``resident._expire()`` in ``delay`` seconds."""
        table = self.table
        when = table.clock.now + max(0.0, delay)
        wokenAt(resident, table._push(self.context, when, resident))

    def unwake(self, resident):
        """Do not run resident's L{wake} (idempotent)."""
        letGo(resident)
