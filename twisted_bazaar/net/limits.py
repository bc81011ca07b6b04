"""
The limits that protect a process from a single peer: the largest frame,
the rates of the messages that cost work (a token bucket per peer and
kind, and per address group for work that any number of one address's
links could ask for), the error budget, and the bytes that may wait for a
peer that does not read.  The numbers are defaults; L{twisted_bazaar.net.link.LinkSettings}
holds the ones a process uses.
"""

from collections import OrderedDict

#: Default largest netstring payload accepted or sent, in bytes.
DEFAULT_FRAME_LIMIT = 64 * 1024
#: Default errors a peer may earn in ERROR_WINDOW seconds before it is cut.
DEFAULT_ERROR_LIMIT = 20
ERROR_WINDOW = 60.0
#: Default rates (per second) of the messages that fan out or cost work;
#: a peer may burst to BURST_FACTOR times its rate.  Excess is dropped.
DEFAULT_SEARCH_RATE = 200.0
DEFAULT_PING_RATE = 1.0
#: Rate of item registrations (and unregistrations) one node may send.
REGISTER_RATE = 512.0
#: Rate of an index's listings one peer is answered: a listing is built
#: at most once a second, and may be a whole frame, so a burst of ``list``
#: answered in full would queue more for the asker than it can read in
#: one turn of the reactor (past the write limit) and drop it.
LISTING_RATE = 1.0
BURST_FACTOR = 2.0
#: Default bytes that may wait for a peer that does not read its socket.
DEFAULT_WRITE_LIMIT = 1024 * 1024
#: Bytes that may wait for peers that do not read, over all of a process's
#: links, and for those of one address group (see
#: L{twisted_bazaar.net.account}): past them the link of the group holding
#: the most gives way.
DEFAULT_UNSENT_LIMIT = 32 * 1024 * 1024
DEFAULT_UNSENT_GROUP_LIMIT = 8 * 1024 * 1024


class TokenBucket:
    """A token bucket: ``rate`` tokens a second, holding at most ``burst``."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate, now):
        self.rate = rate
        self.burst = max(1.0, rate * BURST_FACTOR)
        self.tokens = self.burst
        self.stamp = now

    def take(self, now):
        tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if tokens < 1.0:
            self.tokens = tokens
            return False
        self.tokens = tokens - 1.0
        return True


class GroupRates:
    """
    A token bucket per address group (see
    L{twisted_bazaar.net.eviction.addressGroup}): for work whose cost a
    per-link rate does not bound, since one address may hold many links.
    The ``remembered`` groups seen last are kept (a group forgotten
    starts again with a full bucket).
    """

    def __init__(self, rate, remembered=10_000):
        self.rate = rate
        self.remembered = remembered
        self._buckets = OrderedDict()

    def take(self, group, now):
        """Whether the group may have one more now (it is counted if so)."""
        buckets = self._buckets
        bucket = buckets.pop(group, None) or TokenBucket(self.rate, now)
        buckets[group] = bucket
        if len(buckets) > self.remembered:
            buckets.popitem(last=False)
        return bucket.take(now)


def spend(errors, now, limit):
    """
    Note one more error of a peer's at ``now`` in ``errors`` (the times of
    its earlier ones, pruned here to the last ERROR_WINDOW seconds); True
    if that is more than ``limit`` in the window.

    @return: (over the limit?, the errors list to keep).
    """
    errors = [t for t in errors if t > now - ERROR_WINDOW]
    errors.append(now)
    return len(errors) > limit, errors
