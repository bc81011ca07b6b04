"""
A fake clock with a wall clock of its own, for tests that step the wall
clock apart from the timers' (L{twisted_bazaar.base.wallclock}).
"""

from twisted.internet import task


class SplitClock(task.Clock):
    """
    A C{task.Clock} (the timers' and the durations' clock, which only
    L{advance} moves) that carries a wall clock: its time plus an offset
    that L{stepWall} moves, as NTP, a VM resumed or ``date -s`` step a
    machine's wall clock.
    """

    def __init__(self, offset=0.0):
        super().__init__()
        self.offset = offset

    def wallSeconds(self):
        return self.seconds() + self.offset

    def stepWall(self, seconds):
        """Step the wall clock by ``seconds`` (back if negative): no timer
        moves."""
        self.offset += seconds
