"""
The limits that protect a process from a single peer: the largest frame,
the rates of the messages that cost work (a token bucket per peer and
kind, and per address group for work that any number of one address's
links could ask for), the error budget, and the bytes that may wait for a
peer that does not read.  The numbers are defaults; L{twisted_bazaar.net.link.LinkSettings}
holds the ones a process uses.

Each rate bucket a message names (L{twisted_bazaar.wire.message}'s
``bucket``) is declared in the registry of limits as ``link.<bucket>`` by
the module that owns its messages (L{declareBucket}): the core declares
its own (``search``, ``query``, ``ping``, and ``udp``, the tracker's
UDP reach and punch messages), a scheme or plugin its own,
and a link finds each bucket's rate there (L{bucketRate}).
"""

import math

from twisted_bazaar.base.limitregistry import LIMITS, declare

#: Default largest netstring payload accepted or sent, in bytes.
DEFAULT_FRAME_LIMIT = 64 * 1024
#: Default errors a peer may earn in ERROR_WINDOW seconds before it is cut.
DEFAULT_ERROR_LIMIT = 20
ERROR_WINDOW = 60.0
#: Default rates (per second) of the messages that fan out or cost work;
#: a peer may burst to BURST_FACTOR times its rate.  Excess is dropped.
DEFAULT_SEARCH_RATE = 200.0
DEFAULT_PING_RATE = 1.0
BURST_FACTOR = 2.0
#: Default bytes that may wait for a peer that does not read its socket.
DEFAULT_WRITE_LIMIT = 1024 * 1024
#: Bytes that may wait for peers that do not read, over all of a process's
#: links, and for those of one address group (see
#: L{twisted_bazaar.net.account}): past them the link of the group holding
#: the most gives way.
DEFAULT_UNSENT_LIMIT = 32 * 1024 * 1024
DEFAULT_UNSENT_GROUP_LIMIT = 8 * 1024 * 1024

LINK_FRAME_LIMIT = declare(
    "link.frame", DEFAULT_FRAME_LIMIT, "bytes", "largest frame a link takes from a peer",
    flag="--frame-limit", owner=__name__)
LINK_ERRORS_LIMIT = declare(
    "link.errors", DEFAULT_ERROR_LIMIT, "errors/min",
    "errors a peer may earn on one link in ERROR_WINDOW seconds before it is cut",
    flag="--error-limit", owner=__name__)
LINK_WRITE_LIMIT = declare(
    "link.write", DEFAULT_WRITE_LIMIT, "bytes",
    "bytes that may wait for one peer that does not read", flag="--write-limit",
    owner=__name__)
UNSENT_LIMIT = declare(
    "link.unsent", DEFAULT_UNSENT_LIMIT, "bytes",
    "bytes waiting for peers that do not read, over all of a process's links",
    group=DEFAULT_UNSENT_GROUP_LIMIT, owner=__name__)

#: The registry's name of a rate bucket's limit.
BUCKET_PREFIX = "link."


def declareBucket(bucket, rate, doc, flag="--search-rate", owner=""):
    """
    Declare the rate (messages a second one link may send) of the messages
    of ``bucket``; a rate of None: the link's search rate (--search-rate).
    """
    return declare(BUCKET_PREFIX + bucket, rate, "messages/s", doc, flag=flag,
                   owner=owner)


def bucketRate(rates, bucket):
    """
    The rate of ``bucket`` on a link of settings whose ``rates`` are
    given: the settings' own (the core's, set by options), else the one
    its owner declared (L{declareBucket}), else the search rate.
    """
    rate = rates.get(bucket)
    if rate is None and bucket is not None:
        limit = LIMITS.get(BUCKET_PREFIX + bucket)
        rate = limit.default if limit is not None else None
    return rates["search"] if rate is None else rate


SEARCH_LIMIT = declareBucket(
    "search", DEFAULT_SEARCH_RATE, "flooded searches one link may send: each fans out",
    owner=__name__)
QUERY_LIMIT = declareBucket(
    "query", DEFAULT_SEARCH_RATE, "questions one link may ask (an index's, a tracker's, "
    "a seller's): each costs the answerer work", owner=__name__)
PING_LIMIT = declareBucket(
    "ping", DEFAULT_PING_RATE, "pings one link may send: each costs an answer",
    flag="--ping-rate", owner=__name__)
#: A buy costs its seller a close or a sale written to its store and an
#: answer signed; unrated, one link's flood of buys of an item never
#: stocked kept a seller's core busy and its honest buyers waiting
#: (docs/reliability.md, "The seventeenth round").
#: A buy's bucket: taken by the seller the buy is for (L{Link.withinRate
#: <twisted_bazaar.net.link.Link.withinRate>}), not by a node that hands it on.
BUY_BUCKET = "buy"
BUY_LIMIT = declareBucket(
    BUY_BUCKET, None, "buys one link may send (the link's search rate): each costs "
    "the seller a write and a signature", owner=__name__)
#: The bucket of the tracker's UDP reach and punch messages
#: (L{twisted_bazaar.wire.udpreach}, below this layer).
UDP_LIMIT = declareBucket(
    "udp", None, "UDP reach and punch messages one link may send (the link's "
    "search rate)", owner=__name__)


#: A token, less what floating point loses in adding up its parts: an
#: asker told to wait (L{TokenBucket.wait}) that waits just that long is
#: answered, not told to wait another millisecond.
_WHOLE = 1.0 - 1e-9


def _short(tokens, rate, now):
    """
    Whether ``tokens`` fall short of a whole one, beyond what floating
    point loses: in adding up their parts (L{_WHOLE}), and in the clock's
    reading, whose last place at a wall clock's epoch (1.8e9 s) is 0.24 us:
    a wait of 0.1 s added to it fell 1.2e-6 of a token short at 10 a
    second, and its asker was refused again.  Only a refusal pays for it.
    """
    return tokens < _WHOLE and tokens < _WHOLE - rate * math.ulp(now)


def refilled(tokens, rate, burst, now, then):
    """
    A bucket's ``tokens`` counted at ``then``, refilled at ``rate`` a
    second up to ``burst``, as they are at ``now``.  Time is the daemon's
    wall clock, so ``now`` may come before ``then``: a clock stepped back
    (NTP, a VM resumed) refills nothing and takes nothing.  A step back
    of 600 s took 600 s of tokens, so a node refused every connection
    (the tracker's address check too) for 10 minutes.
    """
    return min(burst, tokens + max(0.0, now - then) * rate)


class TokenBucket:
    """A token bucket: ``rate`` tokens a second, holding at most ``burst``."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate, now):
        self.rate = rate
        self.burst = max(1.0, rate * BURST_FACTOR)
        self.tokens = self.burst
        self.stamp = now

    def take(self, now, cost=1.0):
        """Whether a whole token is held now; if so, ``cost`` is taken: a
        cost above one leaves the bucket in debt, which the taker repays
        before it holds a whole token again (a message of many units of
        work, taken whole)."""
        # refilled() and _short() inline: a link takes a token for every
        # rated message it reads, a relayed buy among them (two calls were
        # a tenth of what relaying a message cost, benchmarks.callcount).
        tokens = self.tokens
        elapsed = now - self.stamp
        if elapsed > 0.0:
            tokens += elapsed * self.rate
            if tokens > self.burst:
                tokens = self.burst
        self.stamp = now
        if tokens < _WHOLE and tokens < _WHOLE - self.rate * math.ulp(now):
            self.tokens = tokens
            return False
        self.tokens = tokens - cost
        return True

    def wait(self, now):
        """Seconds from ``now`` until a whole token is held (0 if one is):
        when a refused asker may ask again."""
        tokens = refilled(self.tokens, self.rate, self.burst, now, self.stamp)
        if not _short(tokens, self.rate, now):
            return 0.0
        return (1.0 - tokens) / self.rate


class _Taken(TokenBucket):
    """
    A bucket of a table (L{bucketIn}) before its first take: the take
    leaves the table its time, if the bucket is then full less the token
    taken, else a L{TokenBucket} of its state.
    """

    __slots__ = ("table", "name")

    def take(self, now, cost=1.0):
        within = TokenBucket.take(self, now, cost)
        if self.tokens == self.burst - 1.0:
            self.table[self.name] = now
        else:
            kept = self.table[self.name] = TokenBucket(self.rate, now)
            kept.tokens = self.tokens
        return within


def bucketIn(table, name, rate, now, held):
    """
    The bucket of name in table (name -> a L{TokenBucket}, or the time of
    its one take, which left it full less a token), held there as
    ``held``, to take from now.  Most of a link's buckets are taken once
    (its peer's one ping of a simulation's run, a search now and then):
    kept as that time, not as a bucket of 112 bytes with its floats (every
    link end of a flood simulation held one for its keepalive's ping).
    None held: a new bucket, full, whose take puts in table what it
    leaves; a time held: a L{TokenBucket} of the state that take left, in
    table, kept from now on.
    """
    if held is None:
        bucket = _Taken(rate, now)
        bucket.table = table
        bucket.name = name
        return bucket
    bucket = table[name] = TokenBucket(rate, held)
    bucket.tokens = bucket.burst - 1.0
    return bucket


class GroupRates:
    """
    A token bucket per address group (see
    L{twisted_bazaar.base.addressgroup.addressGroup}): for work whose cost a
    per-link rate does not bound, since one address may hold many links.
    The ``remembered`` groups seen last are kept (a group forgotten
    starts again with a full bucket), in a plain dict in the order they
    were last seen: every super-peer, relay and tracker holds several of
    these, a simulated run hundreds of thousands.
    """

    __slots__ = ("limit", "rate", "remembered", "_buckets")

    def __init__(self, limit, rate=None, remembered=10_000):
        """
        @param limit: the declared L{Limit
            <twisted_bazaar.base.limitregistry.Limit>} these rates are
            (its ``group`` share: the rate of one group).
        @param rate: the rate of one group, if not the declared one.
        """
        if not LIMITS.declares(limit):
            raise TypeError(f"GroupRates are of a declared limit, not {limit!r}")
        self.limit = limit
        self.rate = limit.group if rate is None else rate
        self.remembered = remembered
        self._buckets = {}

    def take(self, group, now, cost=1.0):
        """Whether the group may have one more now (it is counted if so):
        one whole, or ``cost`` of one (a share of a frame, say), or of
        several (L{TokenBucket.take}: a message of many records)."""
        buckets = self._buckets
        bucket = buckets.pop(group, None) or TokenBucket(self.rate, now)
        buckets[group] = bucket
        if len(buckets) > self.remembered:
            del buckets[next(iter(buckets))]
        return bucket.take(now, cost)

    def wait(self, group, now):
        """Seconds from ``now`` until the group may have one more (0 if
        it may now): what an asker refused by L{take} is told."""
        bucket = self._buckets.get(group)
        return 0.0 if bucket is None else bucket.wait(now)


def spend(errors, now, limit):
    """
    Note one more error of a peer's at ``now`` in ``errors`` (the times of
    its earlier ones, pruned here to the last ERROR_WINDOW seconds); True
    if that is more than ``limit`` in the window.  Those after ``now`` (a
    wall clock stepped back) are pruned too: they counted until the clock
    came back to them, so a step of 600 s kept a peer's errors 660 s.

    @return: (over the limit?, the errors list to keep).
    """
    errors = [t for t in errors if now - ERROR_WINDOW < t <= now]
    errors.append(now)
    return len(errors) > limit, errors
