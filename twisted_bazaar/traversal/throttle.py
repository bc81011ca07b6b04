"""
The bytes a second a relay copies, all its circuits together
(``RelayLimits.rate``), shared max-min fairly among the address groups
its circuits are charged to (their diallers'): a public node's relay is
capped so that the node's own links and trades keep most of its
bandwidth, and the tracker's so that its own messages keep theirs.

One bucket of ``rate`` bytes a second (at most a second's worth saved
up) bounds them all; beside it each group's recent bytes are
counted (decayed with a time constant of L{WINDOW} seconds).  Only when
the bucket runs dry does anyone stop: the groups past their max-min fair
share of the rate (water-filling over those recent bytes: what the
groups under it use is theirs, the rest is split evenly among the
others) stop reading until the debt is paid back at the rate.  A group
within its share keeps reading (its bytes still count, so the debt is
paid later): one group's excess never stops another's circuits, and a
handshake's few bytes always pass.  A group whose circuits all closed
leaves its recent bytes behind (all such together, as one group that
holds no circuits), so closing a circuit after a burst moves its debt
onto nobody; one whose circuits close while the bucket is in debt stays
stopped until it is paid, so closing and opening circuits again frees
nothing.  While the bucket stays in debt the shares are worked out again
every L{REFRESH} seconds, so that the groups within theirs, growing,
never outgrow the rate together.  When every group is within its share
(the bucket's debt is older than what the recent bytes still count: so
it is each time the debt was just paid), each may grow to the level
that, given to every group under it, fills a second's worth, and a group
past it stops.
"""

import math

#: Seconds over which a group's recent bytes are counted (the time
#: constant of their decay), as the bucket saves a second's worth.
WINDOW = 1.0
#: Seconds between two reckonings of the fair share while the bucket
#: stays in debt: the groups within their share when it ran dry may grow.
REFRESH = 0.1
#: The recent bytes of groups whose circuits all closed, together.
_GONE = object()


class Throttle:
    """
    A token bucket of ``rate`` bytes a second (0: no cap) shared by
    groups: when it runs dry, ``pause(group)`` for each group past its
    fair share, and ``resume(group)`` for each once the debt is paid.
    """

    def __init__(self, clock, rate, pause, resume):
        self.clock = clock
        self.rate = rate
        self._pause = pause
        self._resume = resume
        self._allowance = float(rate)
        self._last = clock.seconds()
        self._timer = None
        #: group -> [recent bytes, when counted]
        self._recent = {}
        #: Groups stopped until the debt is paid.
        self._paused = set()
        #: The fair share (in recent bytes) the groups were held to when
        #: the bucket ran dry (or last while it stayed so), and when.
        self._share = math.inf
        self._divided = 0.0

    @property
    def paused(self):
        """Whether the bucket is in debt (some groups stopped reading)."""
        return self._timer is not None

    def holds(self, group):
        """Whether ``group``'s circuits are stopped until the debt is paid."""
        return group in self._paused

    def spend(self, group, count):
        """
        ``count`` bytes were copied for ``group``.

        @return: whether that group's circuits must stop reading now (it is
            past its share while the bucket is in debt).
        """
        rate = self.rate
        if not rate:
            return False
        now = self.clock.seconds()
        saved = self._allowance + (now - self._last) * rate
        self._allowance = allowance = min(float(rate), saved) - count
        self._last = now
        recent = self._recent.get(group)
        if recent is None:
            recent = self._recent[group] = [0.0, now]
        used = recent[0] * math.exp((recent[1] - now) / WINDOW) + count
        recent[0], recent[1] = used, now
        if allowance >= 0:
            return False
        wait = -allowance / rate
        if self._timer is None:
            self._timer = self.clock.callLater(wait, self._paid)
            self._divide(now)
            return group in self._paused
        # Bytes on their way when it ran dry, or a group within its share:
        # paid back later.
        self._timer.reset(wait)
        if now - self._divided >= REFRESH:
            # The groups within their share grow: their shares are worked
            # out again, so that together they never outgrow the rate.
            self._divide(now)
        elif group not in self._paused and used > self._share:
            self._paused.add(group)
            self._pause(group)
        return group in self._paused

    def _divide(self, now):
        """The bucket is dry: the groups past their fair share stop (none
        resumes before the debt is paid)."""
        self._divided = now
        recent = {}
        for group, (used, when) in self._recent.items():
            used *= math.exp((when - now) / WINDOW)
            if used >= 1.0:
                recent[group] = used
        # What has decayed to nothing is forgotten.
        self._recent = {group: [used, now] for group, used in recent.items()}
        self._share = share = fairShare(recent.values(), self.rate * WINDOW)
        recent.pop(_GONE, None)
        paused = self._paused
        for group, used in recent.items():
            if used > share and group not in paused:
                paused.add(group)
                self._pause(group)

    def _paid(self):
        self._timer = None
        self._share = math.inf
        paused, self._paused = self._paused, set()
        for group in paused:
            self._resume(group)

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
        if recent is None:
            return
        now = self.clock.seconds()
        gone = self._recent.setdefault(_GONE, [0.0, now])
        gone[0] = (gone[0] * math.exp((gone[1] - now) / WINDOW)
                   + recent[0] * math.exp((recent[1] - now) / WINDOW))
        gone[1] = now

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
