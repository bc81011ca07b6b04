"""
Whether a timer that just ran was held up by the node not running: a
laptop's suspend, or a stopped process (Ctrl-Z, a frozen container).
As it resumes, its timers all run at once, before the bytes waiting in
its sockets are read: a deadline of silence run then would blame peers
that were not silent.  A busy reactor runs far less late than ASLEEP.
"""

#: Seconds past its time a timer may run before the node is taken to
#: have been asleep meanwhile.
ASLEEP = 5.0


def lateBy(call, clock):
    """Seconds the DelayedCall call, running now, ran past its time."""
    return clock.seconds() - call.getTime()


def slept(call, clock):
    """Whether call, running now, ran ASLEEP seconds or more past its
    time: the node did not run meanwhile."""
    return lateBy(call, clock) >= ASLEEP
