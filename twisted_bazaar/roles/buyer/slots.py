"""
The buys that wait for a direct slot (L{NoSlot
<twisted_bazaar.roles.buyer.sending.NoSlot>}): said once while any waits,
not once a buy (twenty wants at once said it twelve times in a second),
and woken when a slot may have freed, not only by their want's timer.
"""

from twisted.logger import Logger

from twisted_bazaar.base.words import plural


class SlotWaits:
    """
    The buy ids waiting for a direct slot, and when each began to.

    A spell of waiting (from a first buy waiting to none) is said in two
    lines: as it begins, and as it ends, with how many waited and the
    longest wait.  L{freed} wakes every buy waiting (``wake(buy_id)``: its
    want sends it again) at the next turn of the clock, once for all the
    slots freed in one turn; the want's own timer still sends it again
    within its buy timeout, as a bound.
    """

    log = Logger()

    def __init__(self, clock, wake=None):
        self.clock = clock
        #: Told C{wake(buy_id)} for each buy waiting once a slot may be
        #: free (the buyer's, which has its want send it again).
        self.wake = wake
        #: buy id -> when it began to wait.
        self.waiting = {}
        #: Buys that waited in this spell, and the longest wait (s).
        self._count = 0
        self._longest = 0.0
        self._call = None

    def wait(self, buy, slots):
        """buy found every one of the node's ``slots`` direct slots holding
        a buy or an ask still out; the first of a spell says so."""
        if buy.id in self.waiting:
            return
        if not self.waiting:
            self.log.info("buy {id} of {item} waits for a direct slot: all {slots} "
                          "hold a buy or an ask still out, or are peers' links the "
                          "eviction policy protects (--direct-slots); more that wait "
                          "are said together, once none waits", id=buy.id,
                          item=buy.item, slots=slots)
        self.waiting[buy.id] = self.clock.seconds()
        self._count += 1

    def left(self, buy_id):
        """buy_id waits no more (it left, or its want let it go); the last
        of a spell says how many waited."""
        since = self.waiting.pop(buy_id, None)
        if since is None:
            return
        self._longest = max(self._longest, self.clock.seconds() - since)
        if not self.waiting:
            self.log.info("no buy waits for a direct slot now: {count} waited, the "
                          "longest {seconds:.1f} s", count=plural(self._count, "buy"),
                          seconds=self._longest)
            self._count, self._longest = 0, 0.0

    def freed(self):
        """A direct slot may be free (a buy let go, a link closed): wake the
        buys waiting, at the next turn."""
        if self.waiting and self._call is None and self.wake is not None:
            self._call = self.clock.callLater(0, self._wakeAll)

    def _wakeAll(self):
        self._call = None
        for buy_id in list(self.waiting):
            if buy_id in self.waiting:
                self.wake(buy_id)

    def stop(self):
        """Cancel the wake due; nothing more is said."""
        call, self._call = self._call, None
        if call is not None and call.active():
            call.cancel()
        self.waiting.clear()
        self._count = 0
