"""
Two clocks: timers and every duration on a monotonic one, what crosses the
wire or the disk as a date (a buy's signed expiry, a record's issue and
expiry, a purchase's or a sale's time) on the wall clock.

A daemon's reactor keeps Twisted's time on the wall clock, so a wall clock
stepped back N s (NTP, a VM resumed, ``date -s``) would hold every timer N
s, and one stepped forward fire them all at once and cut quiet links as
silent.  L{splitClock} serves the reactor's ``seconds`` from
C{time.monotonic} instead, and gives it a second clock, ``wallSeconds``,
the wall clock, which the parts that need a date read through
L{wallSeconds}.  A C{task.Clock} (the simulator's, the unit tests') has no
second clock: it is both, so a run stays what it was to the byte; a test
gives it one (L{twisted_bazaar.testing.clocks.SplitClock}) to step the two
apart.
"""

import time


def wallSeconds(clock):
    """The wall time, in seconds since the epoch, by the wall clock that
    came with ``clock`` (L{splitClock}), or ``clock`` itself if none did."""
    wall = getattr(clock, "wallSeconds", None)
    return clock.seconds() if wall is None else wall()


def splitClock(reactor, monotonic=time.monotonic, wall=time.time):
    """
    Serve ``reactor``'s ``seconds`` (its timers' and every duration's
    clock) from ``monotonic``, and give it ``wallSeconds``: ``wall``.  A
    second call changes nothing.

    @raise RuntimeError: if the reactor has a timer already: it would be
        due by the other clock (decades late).
    """
    if getattr(reactor, "wallSeconds", None) is not None:
        return
    if reactor.getDelayedCalls():
        raise RuntimeError("the reactor's clock is split before any timer is made")
    reactor.seconds = monotonic
    reactor.wallSeconds = wall
