"""
The policy every connection a node takes goes through, apart from the
tables that hold the connections (L{twisted_bazaar.net.overlay.Overlay}
for links, L{twisted_bazaar.files.server.TransferService} for file
transfers).

Three things are charged to a peer's address group here, whatever kind
of connection it opens:

 - **New connections per second** (L{RateLimit}): a group over its rate
   is closed at the first byte, before the channel's handshake costs any
   cryptography, so one group's flood of handshakes takes a bounded share
   of a core.
 - **Tenure** (L{Tenure}): since when a group has held connections here
   without a break.  Grace from eviction runs from the group's tenure,
   not from a connection's age, so a group that replaces its connections
   before they are old keeps no slot young: churning costs the churner.
 - **Slots** by purpose: which inbound connection gives way for a
   newcomer is L{twisted_bazaar.net.eviction.chooseVictim}'s answer, from
   the facts the tables gather; the tables count what they hold and ask.

Pure logic on a clock that is passed in: nothing here opens or closes a
connection.
"""

from collections import OrderedDict

from twisted.logger import LogLevel

from twisted_bazaar.base.limitregistry import LIMITS, declare
from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.net.eviction import GRACE
from twisted_bazaar.net.limits import refilled

#: Default new connections one address group may open a second, sustained
#: (and at once, after a pause): far above what a peer needs (a node opens
#: one link to another; a buyer one transfer connection per seller), and a
#: few per cent of a core in handshakes.
DEFAULT_CONNECTION_RATE = 100.0
CONNECTIONS_LIMIT = declare(
    "net.connections", DEFAULT_CONNECTION_RATE, "connections/s",
    "new connections one address group may open (links, transfers, relay "
    "connections: each costs a handshake)", group=DEFAULT_CONNECTION_RATE,
    flag="--connection-rate", owner=__name__)
#: Connections of one group refused in a row (none taken between) that
#: make a flood, which the kernel turns away from then on
#: (L{twisted_bazaar.net.syngate}): a client that merely opens a burst
#: too many is still closed one by one, as it would be anywhere.
REFUSALS_BEFORE_GATE = 64
#: Seconds a group that has closed its last connection keeps its tenure:
#: one that comes back within them comes back as old as it was.
REMEMBER = 6 * GRACE
#: Address groups a node keeps a rate or a tenure for, the newest kept:
#: a group forgotten starts afresh (a full bucket, a new tenure), so the
#: bound matters only to an attacker with more groups than this.
GROUPS_KEPT = 4096


class RateLimit:
    """
    A token bucket per address group: ``rate`` tokens a second, at most
    one second's worth (and at least one) saved up; each new connection
    takes one.  A rate of 0 limits nothing.
    """

    __slots__ = ("clock", "limit", "rate", "burst", "kept", "_buckets", "gates")

    def __init__(self, clock, limit, rate=None, kept=GROUPS_KEPT):
        """
        @param limit: the declared L{Limit
            <twisted_bazaar.base.limitregistry.Limit>} this rate is (its
            ``group`` share: the rate of one group).
        @param rate: the rate of one group, if not the declared one.
        """
        if not LIMITS.declares(limit):
            raise TypeError(f"a RateLimit is of a declared limit, not {limit!r}")
        self.clock = clock
        self.limit = limit
        self.rate = limit.group if rate is None else rate
        self.burst = max(1.0, self.rate)
        self.kept = kept
        #: group -> (tokens left, when counted, connections refused since
        #: its last one taken), the newest last; None until a connection
        #: is counted.
        self._buckets = None
        #: The kernel filters (L{twisted_bazaar.net.syngate.SynGate}) of
        #: the listening sockets this rate counts for: a group refused
        #: many times in a row is turned away by each until it may
        #: connect again.
        self.gates = ()

    def admit(self, group):
        """Whether ``group`` may open a connection now (and if so, it
        took a token)."""
        if not self.rate:
            return True
        now = self.clock.seconds()
        if self._buckets is None:
            self._buckets = OrderedDict()
        tokens, then, refused = self._buckets.pop(group, (self.burst, now, 0))
        tokens = refilled(tokens, self.rate, self.burst, now, then)
        if tokens < 1:
            self._buckets[group] = (tokens, now, refused + 1)
            return False
        self._buckets[group] = (tokens - 1, now, 0)
        if len(self._buckets) > self.kept:
            self._buckets.popitem(last=False)
        return True

    def refusedInARow(self, group):
        """Connections of ``group`` refused since the last one it opened."""
        bucket = self._buckets.get(group) if self._buckets else None
        return 0 if bucket is None else bucket[2]

    def untilNext(self, group):
        """Seconds until ``group`` may open a connection again (0: now)."""
        if not self.rate or not self._buckets or group not in self._buckets:
            return 0.0
        tokens, then, _ = self._buckets[group]
        tokens = refilled(tokens, self.rate, self.burst, self.clock.seconds(), then)
        return max(0.0, (1 - tokens) / self.rate)


def admitted(rates, addr, peer_log, logger, what="connection"):
    """
    Whether a new connection from ``addr`` is within its address group's
    ``rates`` (a L{RateLimit}); if not, one line through ``peer_log``,
    and the factory builds no protocol for it: the connection is closed
    at once, before the channel's handshake costs anything.  A group
    refused L{REFUSALS_BEFORE_GATE} times in a row is a flood: its next
    connections are turned away by the kernel until it may connect again
    (the rate's L{gates <RateLimit.gates>}).
    """
    host = getattr(addr, "host", "") or ""
    group = addressGroup(host)
    if rates.admit(group):
        return True
    if rates.gates and rates.refusedInARow(group) >= REFUSALS_BEFORE_GATE:
        wait, blocked = rates.untilNext(group), False
        for gate in rates.gates:
            blocked = gate.block(group, wait) or blocked
        if blocked:
            peer_log.emit(logger, LogLevel.info, group, "turning away new connections "
                          "from {source} in the kernel for a while: {n} in a row were "
                          "over its rate", source=group, n=rates.refusedInARow(group))
    peer_log.emit(logger, LogLevel.info, group, "closed a {what} from {host}: its "
                  "address group opens more than {rate:g} a second", what=what,
                  host=host, rate=rates.rate)
    return False


class Tenure:
    """
    Since when each address group has held connections without a break.

    A group's tenure is the oldest of its connections' start times and of
    its floor: when a group's connection closes, the group's tenure then
    is kept as its floor for L{REMEMBER} seconds, so the connection that
    replaces it (before or after it closed) is as old as the group.  No
    floor is kept for a group whose connections never close (nearly every
    peer of a simulated node): L{floors} stays empty until one does.
    """

    __slots__ = ("clock", "remember", "kept", "floors")

    def __init__(self, clock, remember=REMEMBER, kept=GROUPS_KEPT):
        self.clock = clock
        self.remember = remember
        self.kept = kept
        #: group -> (tenure, when its last connection closed), the latest
        #: closed last; None until a connection closes.
        self.floors = None

    def of(self, group, oldest):
        """The tenure of ``group``, whose oldest open connection (or the
        one asking) started at ``oldest``."""
        if self.floors is None:
            return oldest
        floor = self.floors.get(group)
        if floor is None:
            return oldest
        since, closed = floor
        if self.clock.seconds() - closed > self.remember:
            del self.floors[group]
            return oldest
        return min(since, oldest)

    def closed(self, group, oldest):
        """A connection of ``group`` closed; ``oldest`` is when the oldest
        connection the group held (that one included) started."""
        since = self.of(group, oldest)
        if self.floors is None:
            self.floors = OrderedDict()
        self.floors.pop(group, None)
        self.floors[group] = (since, self.clock.seconds())
        if len(self.floors) > self.kept:
            self.floors.popitem(last=False)


class ConnectionManager:
    """
    A node's connection policy: the rate and tenure of each address group,
    shared by every table of connections the node has (its links, its
    transfer port), and the grace period that tenure protects.
    """

    __slots__ = ("clock", "grace", "rates", "tenure")

    def __init__(self, clock, rate=DEFAULT_CONNECTION_RATE, grace=GRACE):
        self.clock = clock
        self.grace = grace
        self.rates = RateLimit(clock, CONNECTIONS_LIMIT, rate)
        self.tenure = Tenure(clock)

    def tenureOf(self, group, oldest):
        """See L{Tenure.of}."""
        return self.tenure.of(group, oldest)

    def closed(self, group, oldest):
        """See L{Tenure.closed}."""
        self.tenure.closed(group, oldest)

    def hadItsTurn(self, group, since):
        """
        Whether a connection of ``group`` made at ``since`` may give way to
        a newcomer when every group holds as much as the newcomer's would
        (more groups than slots): once its group has been here for the
        grace period, counted from its tenure, so a group that replaces
        its connection gains nothing.
        """
        return self.clock.seconds() - self.tenureOf(group, since) >= self.grace
