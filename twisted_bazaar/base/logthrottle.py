"""
Log lines for frequent events without paying for one line per event.

A seller under load sells thousands of units a second; a line for each
would cost more than the sales (formatting and writing a log event is
several times the work of a sale).  A L{LogThrottle} lets the first few
events of each interval be logged one by one, so that a quiet market's
log still tells every sale, and counts the rest, which its owner sums up
in one line when the interval ends.  With ``verbose`` every event is
logged, as before.
"""

from collections import Counter

#: Seconds in one interval, and the events logged one by one in each.
DEFAULT_INTERVAL = 10.0
DEFAULT_BURST = 10


class LogThrottle:
    """
    Admits at most ``burst`` events per ``interval`` seconds for logging;
    counts the others by key and hands the counts to ``summarize(counts,
    interval)`` at the end of the interval (or at L{flush}).

    The interval's timer runs only while events come: an idle node has no
    timer of this.  The owner calls L{flush} when it stops.
    """

    def __init__(self, clock, summarize, burst=DEFAULT_BURST,
                 interval=DEFAULT_INTERVAL, verbose=False):
        self.clock = clock
        self.summarize = summarize
        self.burst = burst
        self.interval = interval
        self.verbose = verbose
        #: key -> events not logged in the current interval.
        self.suppressed = Counter()
        self._spare = burst
        self._call = None

    def spare(self):
        """How many more events would be admitted now."""
        if self.verbose:
            return 1
        return self._spare if self._call is not None else self.burst

    def admit(self, key=None):
        """
        One event: True when the caller should log it; otherwise it is
        counted under ``key`` for the summary.
        """
        if self.verbose:
            return True
        if self._call is None:
            self._call = self.clock.callLater(self.interval, self._end)
            self._spare = self.burst
        if self._spare > 0:
            self._spare -= 1
            return True
        self.suppressed[key] += 1
        return False

    def _end(self):
        self._call = None
        self._summarize()

    def _summarize(self):
        if self.suppressed:
            counts, self.suppressed = dict(self.suppressed), Counter()
            self.summarize(counts, self.interval)

    def close(self):
        """
        Sum up what was not logged, now, and start no timer again: from
        now on every event is logged (the owner is stopping, and the few
        events left must not leave a timer behind).
        """
        self.flush()
        self.verbose = True

    def flush(self):
        """Sum up what was not logged, now, and cancel the timer."""
        if self._call is not None:
            if self._call.active():
                self._call.cancel()
            self._call = None
        self._summarize()
