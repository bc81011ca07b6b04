"""
Stop signals held over code that swallows every exception: Twisted's
C{getPlugins} logs and drops whatever a plugin's import raises, a
KeyboardInterrupt too.  A Ctrl-C there, as a daemon loaded its plugins,
dropped the plugin (``option --sell not recognized``, exit 2), or, a
plugin the run did not need, the Ctrl-C itself: the daemon ran on.
Held, the signal reaches its own handler once that code has ended.
"""

import contextlib
import signal

#: The signals held: those that stop a program.
HELD = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def heldSignals(signals=signal):
    """
    Within it, each of L{HELD} is noted; after it, the handlers are as
    they were, and each signal noted is raised again, once, for them.
    One ignored stays ignored; outside the main thread, where no handler
    is set, nothing is held.

    @param signals: what sets, reads and raises them (L{signal}).
    """
    came = []
    try:
        with handledBy(lambda number, frame: came.append(number), HELD, signals):
            yield
    finally:
        for signum in dict.fromkeys(came):
            signals.raise_signal(signum)


@contextlib.contextmanager
def handledBy(handler, signums, signals=signal):
    """
    Within it, each of signums goes to handler; after it, the handlers
    are as they were.  One ignored (as a shell's background job starts
    with SIGINT) stays ignored, and one whose handler is not Python's
    (which could not be put back) is left alone; outside the main
    thread, where no handler is set, nothing changes.

    @param signals: what sets and reads the handlers (L{signal}).
    """
    before = {}
    for signum in signums:
        current = signals.getsignal(signum)
        if current in (signal.SIG_IGN, None):
            continue
        try:
            signals.signal(signum, handler)
        except ValueError:
            continue  # not the main thread
        before[signum] = current
    try:
        yield
    finally:
        for signum, current in before.items():
            signals.signal(signum, current)
