"""
The bytes a second a relay copies, all its circuits together
(``RelayLimits.rate``), shared max-min fairly among the address groups
its circuits are charged to (their diallers'), and within each group
among the circuits' origins (the keys their diallers proved): a public
node's relay is capped so that the node's own links and trades keep most
of its bandwidth, and the tracker's so that its own messages keep
theirs.

One bucket of ``rate`` bytes a second (at most a second's worth saved
up) bounds them all; beside it each group's recent bytes, and each of
its origins', are counted (decayed with a time constant of L{WINDOW}
seconds).  Only when the bucket runs dry does anyone stop: the groups
past their max-min fair share of the rate (water-filling over those
recent bytes: what the groups under it use is theirs, the rest is split
evenly among the others) hold their origins to the same rule one level
down, the group's share split among its origins, and the origins past
theirs stop reading until the debt is paid back at the rate.  So one
origin never stops the others of its group that are within their part,
as one group never stops another within its share; a group with one
origin stops as a whole.  A group (or origin) within its share keeps
reading (its bytes still count, so the debt is paid later): one group's
excess never stops another's circuits, and a handshake's few bytes
always pass.  A group whose circuits all closed leaves its recent bytes
behind (all such together, as one group that holds no circuits), and an
origin whose circuits in a group all closed leaves its bytes to that
group's, so closing a circuit after a burst moves its debt onto nobody;
one whose circuits close while the bucket is in debt stays stopped until
it is paid, so closing and opening circuits again frees nothing.  While
the bucket stays in debt the shares are worked out again every
L{REFRESH} seconds, so that the groups within theirs, growing, never
outgrow the rate together.  When every group is within its share (the
bucket's debt is older than what the recent bytes still count: so it is
each time the debt was just paid), each may grow to the level that,
given to every group under it, fills a second's worth, and a group past
it stops.
"""

import math

from twisted_bazaar.net.limits import refilled

#: Seconds over which a group's recent bytes are counted (the time
#: constant of their decay), as the bucket saves a second's worth.
WINDOW = 1.0
#: Seconds between two reckonings of the fair share while the bucket
#: stays in debt: the groups within their share when it ran dry may grow.
REFRESH = 0.1
#: The recent bytes of groups (or of a group's origins) whose circuits
#: all closed, together.
_GONE = object()


def _decay(then, now):
    """What recent bytes counted at ``then`` have decayed to by ``now``, as
    a fraction: none for a wall clock stepped back (``now`` before
    ``then``), which grew them by e^600 for a step of 600 s (and raised
    OverflowError past 710 s)."""
    return 1.0 if now <= then else math.exp((then - now) / WINDOW)


def _decayed(entry, now):
    """An entry's recent bytes ([bytes, when counted]) as of ``now``."""
    return entry[0] * _decay(entry[1], now)


class Throttle:
    """
    A token bucket of ``rate`` bytes a second (0: no cap) shared by
    groups, and within each group by its origins: when it runs dry,
    ``pause(group, origin)`` for each origin past its fair share of its
    group's, in each group past its fair share, and ``resume(group,
    origin)`` for each once the debt is paid.  An origin of None is the
    group's one origin, for a caller that tells none.
    """

    def __init__(self, clock, rate, pause, resume):
        self.clock = clock
        self.rate = rate
        self._pause = pause
        self._resume = resume
        self._allowance = float(rate)
        self._last = clock.seconds()
        self._timer = None
        #: group -> [recent bytes, when counted], all its origins together
        self._recent = {}
        #: group -> {origin: [recent bytes, when counted]}
        self._origins = {}
        #: (group, origin) stopped until the debt is paid.
        self._paused = set()
        #: The fair share (in recent bytes) the groups were held to when
        #: the bucket ran dry (or last while it stayed so), and when.
        self._share = math.inf
        self._divided = 0.0
        #: group past the share -> the level its origins are held to.
        self._levels = {}

    @property
    def paused(self):
        """Whether the bucket is in debt (some origins stopped reading)."""
        return self._timer is not None

    def holds(self, group, origin=None):
        """Whether the circuits of ``origin`` in ``group`` are stopped
        until the debt is paid."""
        return (group, origin) in self._paused

    def spend(self, group, count, origin=None):
        """
        ``count`` bytes were copied for ``origin`` of ``group``.

        @return: whether that origin's circuits must stop reading now (it
            is past its share of its group's, the group past its share,
            while the bucket is in debt).
        """
        rate = self.rate
        if not rate:
            return False
        now = self.clock.seconds()
        self._allowance = allowance = refilled(self._allowance, rate, float(rate), now,
                                               self._last) - count
        self._last = now
        used, mine = self._count(group, origin, count, now)
        if allowance >= 0:
            return False
        wait = -allowance / rate
        if self._timer is None:
            self._timer = self.clock.callLater(wait, self._paid)
            self._divide(now)
        else:
            # Bytes on their way when it ran dry, or an origin within its
            # share: paid back later.
            self._timer.reset(wait)
            if now - self._divided >= REFRESH:
                # The groups within their share grow: their shares are
                # worked out again, so that together they never outgrow
                # the rate.
                self._divide(now)
            elif used > self._share:
                level = self._levels.get(group)
                if level is None:
                    self._hold(group, now)
                elif mine > level and (group, origin) not in self._paused:
                    self._stop(group, origin)
        return (group, origin) in self._paused

    def _count(self, group, origin, count, now):
        """Add ``count`` to the recent bytes of ``group`` and of its
        ``origin``: (the group's, the origin's).  On the relay's every
        read: one decay for both where they were counted last together
        (a group of one origin)."""
        entry = self._recent.get(group)
        if entry is None:
            entry = self._recent[group] = [0.0, now]
            origins = self._origins[group] = {}
        else:
            origins = self._origins[group]
        mine = origins.get(origin)
        if mine is None:
            mine = origins[origin] = [0.0, now]
        then = entry[1]
        decay = _decay(then, now)
        entry[0], entry[1] = entry[0] * decay + count, now
        if mine[1] != then:
            decay = _decay(mine[1], now)
        mine[0], mine[1] = mine[0] * decay + count, now
        return entry[0], mine[0]

    def _stop(self, group, origin):
        self._paused.add((group, origin))
        self._pause(group, origin)

    def _divide(self, now):
        """The bucket is dry: the groups past their fair share hold their
        origins to theirs (none resumes before the debt is paid)."""
        self._divided = now
        recent = {}
        for group, entry in self._recent.items():
            used = _decayed(entry, now)
            if used >= 1.0:
                recent[group] = used
        # What has decayed to nothing is forgotten.
        self._recent = {group: [used, now] for group, used in recent.items()}
        self._origins = {group: {origin: entry for origin, entry in origins.items()
                                 if _decayed(entry, now) >= 1.0}
                         for group, origins in self._origins.items() if group in recent}
        self._share = share = fairShare(recent.values(), self.rate * WINDOW)
        self._levels = {}
        recent.pop(_GONE, None)
        for group, used in recent.items():
            if used > share:
                self._hold(group, now)

    def _hold(self, group, now):
        """``group`` is past the share: its origins past their fair share
        of it stop (max-min among its origins, as among the groups)."""
        origins = self._origins.get(group, {})
        used = {origin: _decayed(entry, now) for origin, entry in origins.items()}
        self._levels[group] = level = fairShare(used.values(), self._share)
        for origin, spent in used.items():
            if origin is not _GONE and spent > level \
                    and (group, origin) not in self._paused:
                self._stop(group, origin)

    def _paid(self):
        self._timer = None
        self._share = math.inf
        self._levels = {}
        paused, self._paused = self._paused, set()
        for group, origin in paused:
            self._resume(group, origin)

    def forget(self, group):
        """
        ``group`` holds no circuits any more.  While the bucket is in
        debt it stays as it is (stopped, if it was: a circuit it opens
        again starts stopped); otherwise its recent bytes go to those of
        the groups gone (they still count for the shares, as one group
        with nothing to stop).
        """
        if self._timer is not None:
            return
        recent = self._recent.pop(group, None)
        self._origins.pop(group, None)
        if recent is not None:
            self._merge(self._recent, recent)
            self._origins.setdefault(_GONE, {})
            self._merge(self._origins[_GONE], recent)

    def forgetOrigin(self, group, origin):
        """
        ``origin`` holds no circuits in ``group`` any more (its group
        still does): as L{forget}, one level down, its recent bytes go to
        those of its group's origins gone.
        """
        if self._timer is not None:
            return
        origins = self._origins.get(group)
        recent = None if origins is None else origins.pop(origin, None)
        if recent is not None:
            self._merge(origins, recent)

    def _merge(self, table, recent):
        """Add an entry's recent bytes to those gone in ``table``."""
        now = self.clock.seconds()
        gone = table.setdefault(_GONE, [0.0, now])
        gone[0], gone[1] = _decayed(gone, now) + _decayed(recent, now), now

    def stop(self):
        """Cancel the wait for the debt (the relay stops)."""
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()


def fairShare(demands, capacity):
    """
    The max-min fair share of ``capacity`` among ``demands``
    (water-filling): every demand under it is met whole, and the rest of
    the capacity is split evenly among the others.  When every demand
    fits, the level each may grow to: what is left, split evenly, raises
    the demands under it to it, and a demand over it may not grow.
    Infinite for no demands.
    """
    if not demands:
        return math.inf
    left, count = capacity, len(demands)
    for demand in sorted(demands):
        if demand * count > left:
            return left / count
        left -= demand
        count -= 1
    left, count = capacity, len(demands)
    for demand in sorted(demands, reverse=True):
        if left >= demand * count:
            return left / count
        left -= demand
        count -= 1
    return 0.0
