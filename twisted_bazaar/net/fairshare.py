"""
A rate of work shared max-min fairly among the parties that ask for it,
and the same nested one level down (the parties within each party).

A relay that floods what its peers send passes their work on to its
neighbours, and each neighbour takes only so much a second from one link
(L{twisted_bazaar.net.limits}): past that, the neighbour drops at random,
and one address group's many links would crowd everyone else's floods
out.  So the relay spends a budget of its own, ``capacity`` units a
window of ``window`` seconds (a window begins with the first unit after
the last one ended), and shares it as Gnutella's flow control shares
what an outgoing connection can carry among the incoming ones: max-min
fairly.  Each party is held to a level: the water level of the demand
the parties showed in the window before (L{level}), so a party that
asked for less than an even part never meets it and the others split
the rest evenly; and never more than the budget less a ``reserve``
part, so that a party with no demand yet (a newcomer, or everyone in a
window that follows a quiet one) finds room while a heavy party takes
all it may.  A unit is refused only to a party that took its level in
the window, or once the window's whole budget is spent.

Pure bookkeeping on the caller's clock readings: no timers.
"""

#: The part of the budget no one party may take in a window.
DEFAULT_RESERVE = 0.125
#: Parties counted apart in one window; further ones share one count.
DEFAULT_KEYS = 1024

#: Where a party is counted once a window has DEFAULT_KEYS parties.
OTHERS = ("others",)


def level(demands, capacity):
    """
    The max-min fair level of ``capacity`` among ``demands`` (units each
    party asked for): every party that asked for less gets what it asked,
    and each of the others gets the level.  Infinite when the capacity
    covers every demand.
    """
    left = float(capacity)
    ordered = sorted(demands)
    count = len(ordered)
    for index, demand in enumerate(ordered):
        parties = count - index
        if demand * parties > left:
            return left / parties
        left -= demand
    return float("inf")


class FairShare:
    """
    ``capacity`` units a window shared max-min fairly among keys, by the
    demand each key showed in the window before (see the module's
    docstring): for each unit the owner calls L{roll}, then L{want},
    then L{take} if L{want} allows it.

    @ivar level: the most units one key may take in this window.
    @ivar contended: whether the keys asked for more than the shares hold
        (the budget less its reserve) in the window before this one.
    """

    # Slots, not a dict: a simulation holds one a node.
    __slots__ = ("capacity", "window", "reserve", "keys", "start", "asked", "taken", "demand",
                 "used", "level", "contended")

    def __init__(self, capacity, window=1.0, reserve=DEFAULT_RESERVE,
                 keys=DEFAULT_KEYS):
        self.capacity = capacity
        self.window = window
        self.reserve = reserve
        self.keys = keys
        #: When the current window began (None: none yet).
        self.start = None
        #: key -> units asked for in the current window, and taken.
        self.asked = {}
        self.taken = {}
        #: Units asked for in the current window, and taken, by every key.
        self.demand = 0
        self.used = 0
        self.level = capacity * (1.0 - reserve)
        self.contended = False

    def roll(self, now):
        """
        Begin a new window if the current one is over: the demand of the
        one that ended (if it ended less than a window ago) sets the
        level of the new one.  True if a new window began.
        """
        start = self.start
        if start is not None and now < start + self.window:
            return False
        most = self.capacity * (1.0 - self.reserve)
        self.contended = (start is not None and now < start + 2 * self.window
                          and self.demand > most)
        self.level = min(most, level(self.asked.values(), most)) if self.contended else most
        self.start = now
        self.asked = {}
        self.taken = {}
        self.demand = self.used = 0
        return True

    def want(self, key):
        """
        Count one unit of demand of ``key``'s in this window (after
        L{roll}): the key it is counted under (L{OTHERS} for a key past
        the window's first ``keys``), and whether that key may take it.
        """
        asked = self.asked
        count = asked.get(key)
        if count is None:
            if len(asked) >= self.keys:
                key = OTHERS
                count = asked.get(key, 0)
            else:
                count = 0
        asked[key] = count + 1
        self.demand += 1
        return key, self.used < self.capacity and self.taken.get(key, 0) < self.level

    def take(self, key):
        """Take one unit for ``key`` (as L{want} named it), allowed or not:
        what the owner spends anyway counts against the budget."""
        self.taken[key] = self.taken.get(key, 0) + 1
        self.used += 1


class NestedShare:
    """
    ``capacity`` units a window shared max-min fairly among outer keys
    (address groups), and each outer key's level shared so among its
    inner keys (the origins of what its links send): a unit is taken only
    if both its outer and its inner key may take one.

    @ivar refused: units refused in all.
    """

    def __init__(self, capacity, window=1.0, reserve=DEFAULT_RESERVE,
                 keys=DEFAULT_KEYS):
        self.outer = FairShare(capacity, window, reserve, keys)
        self.reserve = reserve
        self.keys = keys
        #: outer key -> the L{FairShare} of its level among its inner keys.
        self.inner = {}
        self.refused = 0

    def _roll(self, now):
        """Begin a new window if the current one is over.  If the outer
        keys asked for more than their shares hold in the one that ended,
        the inner shares of those that asked go on, each with its key's
        new level as its capacity; otherwise nobody was short, and each
        inner share starts afresh when first asked."""
        outer = self.outer
        asked = outer.asked
        if not outer.roll(now):
            return
        inner, self.inner = self.inner, {}
        if not outer.contended:
            return
        for key in asked:
            share = inner.get(key)
            if share is not None:
                share.capacity = outer.level
                share.roll(now)
                self.inner[key] = share

    def _newInner(self, key):
        """The inner share of an outer key that has none yet in this
        window."""
        outer = self.outer
        inner = self.inner[key] = FairShare(outer.level, outer.window, self.reserve,
                                            self.keys)
        # Its windows are the outer share's.
        inner.start = outer.start
        return inner

    def ask(self, outerKey, innerKey, now):
        """One unit for innerKey within outerKey now: True if taken, False
        if refused (counted in L{refused})."""
        outer = self.outer
        start = outer.start
        if start is None or now >= start + outer.window:
            self._roll(now)
        outerKey, allowed = outer.want(outerKey)
        inner = self.inner.get(outerKey) or self._newInner(outerKey)
        innerKey, innerAllowed = inner.want(innerKey)
        if not (allowed and innerAllowed):
            self.refused += 1
            return False
        outer.take(outerKey)
        inner.take(innerKey)
        return True

    def spend(self, outerKey, innerKey, now):
        """A unit spent anyway (this node's own): counted as demand and
        taken, never refused."""
        self._roll(now)
        outerKey = self.outer.want(outerKey)[0]
        self.outer.take(outerKey)
        inner = self.inner.get(outerKey) or self._newInner(outerKey)
        inner.take(inner.want(innerKey)[0])
