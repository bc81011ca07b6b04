"""
Log lines for frequent events without paying for one line per event.

A seller under load sells thousands of units a second; a line for each
would cost more than the sales (formatting and writing a log event is
several times the work of a sale).  A L{LogThrottle} lets the first few
events of each interval be logged one by one, so that a quiet market's
log still tells every sale, and counts the rest, which its owner sums up
in one line when the interval ends.  With ``verbose`` every event is
logged, as before.

The same holds for lines a peer makes a node write (its errors, the
links it gets closed, its refusals): a L{PeerLog} logs a few of each kind
from each address group per interval, and sums up the rest, so that no
peer can make a node's log grow faster than a bounded rate, however many
messages or connections it spends on it.
"""

from collections import Counter

from twisted.logger import Logger

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.base.text import FIELD_LIMIT, shown
from twisted_bazaar.base.words import plural

#: Seconds in one interval, and the events logged one by one in each.
DEFAULT_INTERVAL = 10.0
DEFAULT_BURST = 10


#: Lines of one kind (joined, left, checked) about the members of one
#: address group (a tracker's nodes, a super-peer's leaves) logged one by
#: one per interval of a member log; the rest are summed up.  A market
#: started on one machine logs every node it starts at once, up to this
#: many; a stranger joining and leaving in a loop gets the log no further.
MEMBER_LINES = 32

class LogThrottle:
    """
    Admits at most ``burst`` events per ``interval`` seconds for logging;
    counts the others by key and hands the counts to ``summarize(counts,
    interval)`` at the end of the interval (or at L{flush}).

    An interval begins with the first event after the last one ended; its
    timer runs only once an event of it was not logged, to sum it up: a
    node whose events are all logged has no timer of this.  The owner
    calls L{flush} (or L{close}) when it stops.
    """

    def __init__(self, clock, summarize, burst=DEFAULT_BURST,
                 interval=DEFAULT_INTERVAL, verbose=False, per_key=None,
                 keys=None):
        """
        @param per_key: most events of one key admitted per interval, on
            top of ``burst`` in all (None: no bound per key).
        @param keys: most keys counted apart per interval; the events of
            further keys are counted under None (None: no bound).
        """
        self.clock = clock
        self.summarize = summarize
        self.burst = burst
        self.interval = interval
        self.verbose = verbose
        self.per_key = per_key
        self.keys = keys
        #: key -> events not logged in the current interval.
        self.suppressed = Counter()
        #: key -> events admitted in the current interval (with per_key).
        self._admitted = Counter()
        self._spare = burst
        #: When the current interval began (None: none is going on).
        self._start = None
        self._call = None

    def _inInterval(self, now):
        """Is an interval going on at ``now``?"""
        return self._start is not None and (self._call is not None
                                            or now - self._start < self.interval)

    def spare(self):
        """How many more events would be admitted now."""
        if self.verbose:
            return 1
        return self._spare if self._inInterval(self.clock.seconds()) else self.burst

    def admit(self, key=None, weight=1):
        """
        One event: True when the caller should log it; otherwise it is
        counted under ``key`` for the summary, as ``weight`` (a sale of
        five units counts five, say).
        """
        if self.verbose:
            return True
        now = self.clock.seconds()
        if not self._inInterval(now):
            self._start = now
            self._spare = self.burst
            self._admitted.clear()
        if self._spare > 0 and (self.per_key is None
                                or self._admitted[key] < self.per_key):
            self._spare -= 1
            if self.per_key is not None:
                self._admitted[key] += 1
            return True
        if (self.keys is not None and key not in self.suppressed
                and len(self.suppressed) >= self.keys):
            key = None
        self.suppressed[key] += weight
        if self._call is None:
            self._call = self.clock.callLater(self._start + self.interval - now,
                                              self._end)
        return False

    def _end(self):
        self._call = None
        self._start = None
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
        self._start = None
        self._summarize()


#: A peer's lines of one kind logged one by one per interval, and the
#: lines from every peer in all; the address groups whose further lines
#: are counted apart for the summary.
PEER_BURST = 5
PEERS_BURST = 100
PEER_KEYS = 64
PEER_LINES_LIMIT = declare(
    "log.peer-lines", PEERS_BURST, "lines/interval",
    "lines what peers do makes a node log one by one per interval, in all; the "
    "rest are summed up", group=PEER_BURST, owner=__name__)


class PeerLog:
    """
    Log lines a peer causes, at most L{PEER_BURST} (or ``burst``) of each
    kind (format and level) from one address group, and L{PEERS_BURST} in
    all, per interval; the others are summed up at the end of the
    interval, one line per kind and group: "N more lines like '...' from
    GROUP in the last 10 s" (the groups past L{PEER_KEYS} in one line
    together).  What the peer sent is shown in its lines, and cut short
    (L{peerFields}).  A line that says what the node now holds (``latest``:
    a chord node's ring neighbours) is one whose last word matters: the
    last one not logged is logged after the summary, so the log ends on
    the node's state, not on one it left.

    The owner (a tracker, a node's overlay, a seller's transfer service)
    calls L{close} when it stops.
    """

    log = Logger()

    # Every simulated node's overlay keeps one, and almost none ever logs
    # a line: the throttle (an object, its dict, two counters and a bound
    # method, 0.6 kB) is made at the first line, not before.
    __slots__ = ("_clock", "_verbose", "_interval", "_burst", "_throttle", "_latest")

    def __init__(self, clock, verbose=False, interval=DEFAULT_INTERVAL,
                 burst=PEER_BURST):
        """
        @param burst: lines of one kind from one address group logged one
            by one per interval (L{PEER_BURST} unless given).
        """
        self._clock = clock
        self._verbose = verbose
        self._interval = interval
        self._burst = burst
        self._throttle = None
        #: (level, format) -> (logger, fields) of the last line of a
        #: ``latest`` kind not logged this interval (made when first needed;
        #: bounded by the kinds in the code, not by the peers).
        self._latest = None

    @property
    def throttle(self):
        """The L{LogThrottle} of these lines (made when first needed)."""
        throttle = self._throttle
        if throttle is None:
            throttle = self._throttle = LogThrottle(
                self._clock, self._summarize, PEERS_BURST, self._interval,
                self._verbose, per_key=self._burst, keys=PEER_KEYS)
        return throttle

    def emit(self, logger, level, group, format, latest=False, **fields):
        """Log ``format`` with ``fields`` at ``level`` (a L{LogLevel}) on
        ``logger``, unless the group has had its share of such lines; its
        texts shown and cut short (L{peerFields}).  With ``latest``, the
        last such line not logged is logged when the interval ends."""
        if self.throttle.admit((group, level, format)):
            logger.emit(level, format, **peerFields(fields))
        elif latest:
            if self._latest is None:
                self._latest = {}
            self._latest[level, format] = (logger, fields)

    def _summarize(self, counts, interval):
        for key, count in sorted(counts.items(), key=_order):
            if key is None:
                self.log.warn("{lines} from other address groups in the "
                              "last {interval:g} s, not logged", count=count,
                              lines=plural(count, "more line"), interval=interval)
                continue
            group, level, format = key
            self.log.emit(level, "{lines} like {line!r} from {group} in "
                          "the last {interval:g} s, not logged", count=count,
                          lines=plural(count, "more line"), line=format, group=group,
                          interval=interval)
        latest, self._latest = self._latest, None
        for (level, format), (logger, fields) in (latest or {}).items():
            logger.emit(level, format, **peerFields(fields))

    def close(self):
        if self._throttle is None:
            # Nothing was counted: from now on every line is logged.
            self._verbose = True
        else:
            self._throttle.close()


def peerFields(fields):
    """
    A line's fields with every text shown as a reader may see it and cut
    to L{FIELD_LIMIT} characters (L{twisted_bazaar.base.text.shown}): a
    peer's text, wherever the log goes (syslog too), neither commands a
    terminal nor makes a line longer than a reader reads.  A ``where``
    given as (host, port) is shown here as L{hostPort} shows it: made only
    for a line written, not for every registration a throttle drops.
    """
    where = fields.get("where")
    if type(where) is tuple:
        fields["where"] = hostPort(*where)
    for key, value in fields.items():
        if type(value) is str:
            fields[key] = shown(value, FIELD_LIMIT)
    return fields


def _order(entry):
    """Summaries by group, level and line; the other groups' last."""
    key = entry[0]
    return (1,) if key is None else (0, key[0], key[1].name, key[2])
