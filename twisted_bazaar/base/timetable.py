"""
Named calls of one owner, each replacing the last of its name: a chord
node's upkeep (stabilize, ping, fingers, purge, probe).

L{timetableFor} gives the clock's own timetable if it keeps one (the
simulator's L{twisted_bazaar.sim.clock.HeapClock}: every name's call in
one entry of its heap, 0.3 kB a simulated chord node less), else a
L{CallTable}, a call of the clock's for each name.  Either runs each call
when, and in the order, a call of its own would run.
"""

def timetableFor(clock, names):
    """
    A timetable of calls under names on clock: the clock's own
    (C{clock.timetable(names)}, if it makes one), else a L{CallTable}.
    """
    make = getattr(clock, "timetable", None)
    table = make(names) if make is not None else None
    return table if table is not None else CallTable(clock)


class CallTable:
    """
    A timetable as one C{callLater} of the clock's for each name.

    A call that ran stays under its name until the next (L{due} tells it
    is no longer active): no wrapper takes it out.
    """

    __slots__ = ("clock", "_calls")

    def __init__(self, clock):
        self.clock = clock
        self._calls = {}

    def later(self, name, delay, function):
        """Run function after delay, replacing what was due under name."""
        self.cancel(name)
        self._calls[name] = self.clock.callLater(delay, function)

    def due(self, name):
        """The call (an C{IDelayedCall}) still to come under name, or None."""
        call = self._calls.get(name)
        return call if call is not None and call.active() else None

    def cancel(self, name):
        """Cancel what is due under name, if anything."""
        call = self._calls.pop(name, None)
        if call is not None and call.active():
            call.cancel()

    def cancelAll(self):
        """Cancel every call still due."""
        for name in list(self._calls):
            self.cancel(name)

