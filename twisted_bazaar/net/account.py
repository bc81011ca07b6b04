"""
One account of what peers make a node hold: links still in a handshake,
registrations, index entries, transfer slots, event streams, bytes
waiting for a peer that does not read.  Each kind is an L{Account}; every
place that lets a peer make it hold something charges the holder (a link,
a leaf, a stream) to the peer's address group (see
L{twisted_bazaar.base.addressgroup.addressGroup}), to its key once proven, and
to the account's global capacity.

One rule for all of them, max-min fairness among address groups (as
Bitcoin Core protects peers by netgroup when it evicts): while there is
room, anyone takes what it asks for (a lone buyer, or a market on one
machine, loses nothing); once the account is full, a group that asks for
more takes it from the group holding the most, as long as that group is
then left with at least as much as the asker will hold.  So a group
already present keeps its share, a newcomer group always gets one, and
one address, however many connections or keys it has, holds the whole
account only while nobody else wants it.  A group and a key may also be
capped outright (``group_limit``, ``key_limit``).

Pure bookkeeping: the owner asks L{Account.makeRoom} before it grants (or
L{Account.take}, which also moves the units), closes the victims it
names, and tells the account what it granted (L{Account.hold}) and
released (L{Account.release}).  Nothing is charged before it is granted,
so a peer refused costs nothing here.

What an answer costs: with room, a few lookups, whatever the account
holds.  Once full, the largest group is found in a heap of the groups'
totals, built the first time the account is full and told of the
groups changed since when next asked: a call costs O(log groups) for
each group it takes from and each group changed since the last call
(and, amortised, for the heap built again when it grows stale), not a
look at every group: an account a stranger fills with many groups
(the index tracker's entries, links in a handshake) does not make every
later call scan them all.
"""

import heapq
import math

from twisted_bazaar.base.limitregistry import LIMITS
from twisted_bazaar.base.sparing import NOTHING, own


#: What an empty queue of victims gives (a holder may be None).
_NONE = object()


class _Held:
    """What a holder holds that is more than one unit, or under a key the
    account counts: an entry of L{Account._holders}.  A holder of one
    unit whose key is not counted is held as its group alone."""

    __slots__ = ("group", "key", "units")

    def __init__(self, group, key, units):
        self.group = group
        self.key = key
        self.units = units


def _membersOf(members):
    """A group's holders from its entry in L{Account._groups}: a dict of
    them, or the one holder itself."""
    return members if type(members) is dict else (members,)


class Account:
    """
    ``capacity`` units held by holders (connections, leaves, streams...),
    each charged to an address group and, if proven, a key.

    @ivar used: units held now.
    @ivar group_limit: most units one group may hold (None: only the
        capacity bounds it).
    @ivar key_limit: most units one key may hold (None: no bound of its
        own).
    @ivar oldest_first: which holder of a group gives way first: the
        oldest (for connections still in a handshake: the nearest to
        timing out, and the likeliest to be silent on purpose) or, by
        default, the newest (what a group holding too much added last).
    """

    # Slots, and its tables the shared empty one until it holds something
    # (L{twisted_bazaar.base.sparing}): a simulated seller holds three
    # accounts that nearly always stay empty, 0.6 kB each as a dict of
    # fields and four empty dicts.
    __slots__ = ("limit", "capacity", "group_limit", "key_limit", "oldest_first", "used",
                 "_holders", "_groups", "_totals", "_keys", "_ranking", "__weakref__")

    def __init__(self, limit, capacity=None, group_limit=None, key_limit=None,
                 oldest_first=False, holders=None):
        """
        The account of a declared L{Limit
        <twisted_bazaar.base.limitregistry.Limit>}: its default, group and
        key shares unless the owner's options say otherwise (None: the
        declared one; a capacity of None in both: unbounded).

        @param holders: where what each holder holds is kept (see
            L{_holders}): a dict of the account's own if None, else an
            owner's mutable mapping that keeps it in its own record of
            each holder (the tracker's registry entries: a dict's entry
            less for every node of a run).

        @raise TypeError: the limit is not the one declared under its name
            in the registry (L{LIMITS}): every pool a peer can fill is
            declared, so an operator sees it and a test tries it.
        """
        if not LIMITS.declares(limit):
            raise TypeError(f"an Account holds a declared limit "
                            f"(base.limitregistry.declare), not {limit!r}")
        #: The L{Limit <twisted_bazaar.base.limitregistry.Limit>} this
        #: account holds.
        self.limit = limit
        capacity = limit.default if capacity is None else capacity
        self.capacity = math.inf if capacity is None else capacity
        self.group_limit = limit.group if group_limit is None else group_limit
        self.key_limit = limit.key if key_limit is None else key_limit
        self.oldest_first = oldest_first
        self.used = 0
        #: holder -> its group, for a holder of one unit whose key is not
        #: counted (a tracker's node: 64 bytes of a tuple less each), else
        #: a L{_Held} (L{_heldBy}).
        self._holders = NOTHING if holders is None else holders
        #: group -> its holders, in the order they came: the holder itself
        #: for a group of one (the usual group: a node of its own
        #: address), else a dict of holder -> None (an ordered set; no
        #: holder is a dict).  What each holds is in L{_holders}.  A dict
        #: for each group was 250 bytes of every registration of a tracker
        #: of a million nodes, and a 1-tuple 48 (L{_membersOf}).
        self._groups = NOTHING
        #: group -> units its holders hold, for a group of more than one
        #: holder (a dict in L{_groups}); a group of one holds what its
        #: holder does (L{held}): a tracker's million nodes, each in a
        #: group of its own, were an entry each here too.
        self._totals = NOTHING
        #: key -> units its holders hold (proven keys only), kept only
        #: by an account that bounds a key's units (C{key_limit}): in any
        #: other, no one asks it, and a tracker's million proven keys
        #: were an entry each.
        self._keys = NOTHING
        #: The groups by total (L{_Ranking}), once the account has been
        #: full: None until then, so an account never full pays nothing.
        self._ranking = None
        LIMITS.built(self)

    @classmethod
    def of(cls, limit, capacity=None, group_limit=None, key_limit=None,
           oldest_first=False, holders=None):
        """The account of a declared limit: the constructor, by the name
        its owners build with (C{Account.of(LIMIT, ...)})."""
        return cls(limit, capacity, group_limit, key_limit, oldest_first, holders)

    def __contains__(self, holder):
        return holder in self._holders

    def __iter__(self):
        return iter(list(self._holders))

    def __len__(self):
        """Holders."""
        return len(self._holders)

    def held(self, group):
        """Units the group holds."""
        members = self._groups.get(group, _NONE)
        if members is _NONE:
            return 0
        if type(members) is dict:
            return self._totals[group]
        return self._heldBy(members)[2]

    def heldBy(self, key):
        """Units the key holds, in an account that bounds them (one with a
        C{key_limit}; 0 in any other, which does not count them)."""
        return self._keys.get(key, 0)

    def holders(self, group):
        """The group's holders, oldest first."""
        members = self._groups.get(group, _NONE)
        return [] if members is _NONE else list(_membersOf(members))

    def units(self, holder):
        """Units the holder holds (0 if none)."""
        return self._heldBy(holder)[2]

    def _heldBy(self, holder):
        """(group, key counted or None, units) of holder; (None, None, 0)
        if it holds nothing."""
        entry = self._holders.get(holder, _NONE)
        if entry is _NONE:
            return None, None, 0
        if type(entry) is _Held:
            return entry.group, entry.key, entry.units
        return entry, None, 1

    def makeRoom(self, group, units=1, holder=None, key=None, yielding=None):
        """
        What must go for ``holder`` (of ``group``, and ``key`` if proven;
        a new holder if None) to hold ``units`` in all.  Nothing changes
        here.

        @param yielding: when no other group holds more than the asker
            would (more groups than units), a holder for which
            ``yielding(holder)`` is true, of a group holding as much as
            the asker would, may still give way for one unit: of the group
            that has held longest, its oldest holder first (its turn is
            over).  None: no such holder.
        @return: the holders to release (and close) first, in order, an
            empty list when there is room; None when the group (or key)
            may not have them: over its limit, or the account full and no
            other group holding more than the asker would.
        """
        victims = self._makeRoom(group, units, holder, key)
        if victims is not None or yielding is None or units != 1 or holder in self:
            return victims
        if self.group_limit is not None and self.held(group) + 1 > self.group_limit:
            return None
        if key is not None and self.key_limit is not None \
                and self.heldBy(key) + 1 > self.key_limit:
            return None
        mine = self.held(group) + 1
        # Every group, in order: a group holds at least one unit, so no
        # more groups than the capacity, and only the file server's pools
        # of transfer connections and slots (tens of units) ask this.
        for other, members in self._groups.items():
            members = _membersOf(members)
            if other == group or self.held(other) < mine:
                continue
            for candidate in members:
                if self._heldBy(candidate)[2] == 1 and yielding(candidate):
                    return [candidate]
        return None

    def _makeRoom(self, group, units, holder, key):
        """L{makeRoom} from groups holding more than the asker would."""
        current_group, current_key, current = self._heldBy(holder)
        same = current_group == group
        if same and units <= current:
            return []
        if key is not None and self.key_limit is not None:
            keyed = self.heldBy(key) - (current if current_key == key else 0) + units
            if keyed > self.key_limit:
                return None
        mine = self.held(group) - (current if same else 0) + units
        if self.group_limit is not None and mine > self.group_limit:
            return None
        need = self.used - current + units - self.capacity
        if need <= 0:
            # Room enough: what every other group holds is not looked at
            # (it is as many groups as holders when each has its own
            # address, and a tracker of a million nodes asked it of each).
            return []
        return self._victims(group, holder, current_group, 0 if same else current,
                             mine, need)

    def _victims(self, group, holder, current_group, current, mine, need):
        """
        The holders to give up for L{_makeRoom}'s ``need`` units, each
        from the group then holding the most (the earliest of those
        holding as much), as it would be left by the victims before it,
        ``group`` left out and ``current_group`` counted without the
        asker's ``current`` units; None if that would leave a group with
        less than ``mine``.  Nothing the account holds changes: what comes
        off the heap is put back, but for stale entries.
        """
        if self._ranking is None:
            self._ranking = _Ranking(self._groups)
        heap = self._ranking.ranked(self)
        entered, held = self._ranking.entered, self.held
        # group -> what it would hold, for the groups looked at here (the
        # asker's current group, those chosen), and the same as a heap.
        left = {}
        looked = []
        if current:
            left[current_group] = held(current_group) - current
            looked.append((-left[current_group], entered[current_group], current_group))
        taken = []
        queues = {}
        victims = []
        try:
            while need > 0:
                while heap:
                    negative, entry, other = heap[0]
                    if entered.get(other) != entry or held(other) != -negative:
                        heapq.heappop(heap)
                    elif other == group or other in left:
                        taken.append(heapq.heappop(heap))
                    else:
                        break
                while looked and left[looked[0][2]] != -looked[0][0]:
                    heapq.heappop(looked)
                if heap and (not looked or heap[0] < looked[0]):
                    top = heapq.heappop(heap)
                    taken.append(top)
                    largest = top[2]
                    left[largest] = -top[0]
                elif looked:
                    largest = looked[0][2]
                else:
                    return None
                queue = queues.get(largest)
                if queue is None:
                    members = _membersOf(self._groups[largest])
                    queue = queues[largest] = (
                        each for each in (members if self.oldest_first else reversed(members))
                        if each is not holder)
                victim = next(queue, _NONE)
                if victim is _NONE:
                    return None
                given = self._heldBy(victim)[2]
                if left[largest] - given < mine:
                    return None
                victims.append(victim)
                left[largest] -= given
                heapq.heappush(looked, (-left[largest], entered[largest], largest))
                need -= given
            return victims
        finally:
            for each in taken:
                heapq.heappush(heap, each)

    def take(self, holder, group, units=1, key=None):
        """
        L{makeRoom}, and if there is room, release the victims and charge
        the holder: the victims (for the owner to close), or None when
        the holder may not have the units (nothing changed).
        """
        victims = self.makeRoom(group, units, holder, key)
        if victims is None:
            return None
        for victim in victims:
            self.release(victim)
        self.hold(holder, group, units, key)
        return victims

    def admits(self, group, units=1):
        """
        Whether ``group`` may take ``units`` more where nothing may give
        way (what a peer was promised stays promised): while what it
        would hold is no more than the room left now.  A group alone fills half
        the account; each more group fills a share of what is left, and
        a group holding less than the room left always gets in, so the
        groups already there never shut a new one out.
        """
        return self.held(group) + units <= self.capacity - self.used

    def refusal(self, group, what, key=None):
        """Why a group (or key) was refused ``what`` (a plural noun), for
        the error's info."""
        if key is not None and self.key_limit is not None \
                and self.heldBy(key) >= self.key_limit:
            return f"your key holds {self.heldBy(key)} {what} already"
        if self.group_limit is not None and self.held(group) >= self.group_limit:
            return f"your address group holds {self.held(group)} {what} already"
        return (f"all {self.capacity} {what} are taken, and no other address group "
                "holds more of them than yours would")

    def hold(self, holder, group, units=1, key=None):
        """The holder holds ``units`` (of ``group``, and ``key`` if proven)
        from now on, in place of what it held; 0 releases it."""
        self.release(holder)
        if units <= 0:
            return
        if self.key_limit is None:
            key = None
        own(self, "_holders")[holder] = (group if units == 1 and key is None
                                         else _Held(group, key, units))
        groups = own(self, "_groups")
        members = groups.get(group, _NONE)
        if members is _NONE:
            groups[group] = holder
        elif type(members) is not dict:
            groups[group] = dict.fromkeys((members, holder))
            own(self, "_totals")[group] = self._heldBy(members)[2] + units
        else:
            members[holder] = None
            self._totals[group] += units
        if self._ranking is not None:
            self._ranking.changed(group)
        if key is not None:
            keys = own(self, "_keys")
            keys[key] = keys.get(key, 0) + units
        self.used += units

    def release(self, holder):
        """The holder holds nothing any more (idempotent)."""
        if holder not in self._holders:
            return
        group, key, units = self._heldBy(holder)
        del self._holders[holder]
        members = self._groups[group]
        if type(members) is not dict:
            members = ()
        else:
            del members[holder]
            self._totals[group] -= units
        if not members:
            del self._groups[group]
            self._totals.pop(group, None)
            if self._ranking is not None:
                self._ranking.gone(group)
        elif self._ranking is not None:
            self._ranking.changed(group)
        if key is not None:
            self._keys[key] -= units
            if not self._keys[key]:
                del self._keys[key]
        self.used -= units


class _Ranking:
    """
    An account's groups by total, most first, for a full account to find
    the group holding the most without looking at every group: a heap of
    (-total, entry, group), some entries stale, told of the groups
    changed only when next asked.  A group's entry is a number growing in
    the order the account's groups have (the order they got their first
    holder), so that of groups holding as much the earlier comes first,
    as C{max()} over the totals had it.
    """

    __slots__ = ("heap", "entered", "_changed", "_entries")

    def __init__(self, groups):
        #: group -> its entry.
        self.entered = {group: entry for entry, group in enumerate(groups)}
        self._entries = len(self.entered)
        self._changed = set()
        self.heap = None

    def changed(self, group):
        """The group's total changed (it may have just got its first
        holder)."""
        if group not in self.entered:
            self.entered[group] = self._entries
            self._entries += 1
        self._changed.add(group)

    def gone(self, group):
        """The group holds nothing: its entries are stale."""
        del self.entered[group]
        self._changed.discard(group)

    def ranked(self, account):
        """
        The heap, told of every change since it was last asked: built
        from the account's groups the first time, and again when stale
        entries would make up more than half of it (which costs one entry
        for each change since).
        """
        heap, changed, entered, held = self.heap, self._changed, self.entered, account.held
        if heap is not None and len(heap) + len(changed) <= 2 * len(entered) + 64:
            for group in changed:
                heapq.heappush(heap, (-held(group), entered[group], group))
        else:
            heap = self.heap = [(-held(group), entered[group], group)
                                for group in account._groups]
            heapq.heapify(heap)
        changed.clear()
        return heap


def accountsHeld(registry=LIMITS):
    """
    What the accounts alive in this process hold against their limits, one
    row per declared limit that has any (a daemon runs one node, so these
    are its): (name, unit, units held, capacity or None for unbounded,
    a group's share or None), by name.  Several accounts of one limit
    (nodes sharing a process) are summed.
    """
    rows = []
    for limit in registry:
        accounts = registry.accounts(limit.name)
        if not accounts:
            continue
        capacity = sum(account.capacity for account in accounts)
        groups = {account.group_limit for account in accounts}
        group = groups.pop() if len(groups) == 1 else None
        rows.append((limit.name, limit.unit, sum(account.used for account in accounts),
                     None if capacity == math.inf else int(capacity),
                     None if group is None else int(group)))
    return rows
