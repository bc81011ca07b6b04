"""
A pooled resource shared fairly among address groups (see
L{twisted_bazaar.net.eviction.addressGroup}): a seller's transfer slots
and transfer connections, a super-peer's index entries, a tracker's
connections still to register.

One rule for all of them, max-min fairness: while there is room, anyone
takes what it asks for (a lone buyer, or a market on one machine, loses
nothing); once the pool is full, a group that asks for more takes it
from the group holding the most, as long as that group is then left
with at least as much as the asker will hold.  So one address, however
many connections or keys it has, can hold the whole pool only while
nobody else wants it, and never keeps a newcomer out.  A group may also
be capped outright (``group_limit``).

Pure bookkeeping: the owner asks L{FairPool.makeRoom} before it grants,
closes the victims it names, and tells the pool what it granted
(L{FairPool.hold}) and released (L{FairPool.release}).
"""


class FairPool:
    """
    ``capacity`` units held by holders (connections, leaves...), each of
    an address group.

    @ivar used: units held now.
    @ivar group_limit: most units one group may hold (None: only the
        capacity bounds it).
    @ivar oldest_first: which holder of a group gives way first: the
        oldest (for connections still in a handshake: the nearest to
        timing out, and the likeliest to be silent on purpose) or, by
        default, the newest (what a group holding too much added last).
    """

    def __init__(self, capacity, group_limit=None, oldest_first=False):
        self.capacity = capacity
        self.group_limit = group_limit
        self.oldest_first = oldest_first
        self.used = 0
        #: holder -> (group, units)
        self._holders = {}
        #: group -> {holder: units}, in the order the holders came.
        self._groups = {}
        #: group -> units its holders hold.
        self._totals = {}

    def __contains__(self, holder):
        return holder in self._holders

    def __iter__(self):
        return iter(list(self._holders))

    def __len__(self):
        """Holders."""
        return len(self._holders)

    def held(self, group):
        """Units the group holds."""
        return self._totals.get(group, 0)

    def units(self, holder):
        """Units the holder holds (0 if none)."""
        entry = self._holders.get(holder)
        return entry[1] if entry is not None else 0

    def makeRoom(self, group, units=1, holder=None):
        """
        What must go for ``holder`` (of ``group``; a new holder if None)
        to hold ``units`` in all.  Nothing changes here.

        @return: the holders to release (and close) first, in order, an
            empty list when there is room; None when the group may not
            have them: over its ``group_limit``, or the pool full and no
            other group holding more than the asker would.
        """
        current_group, current = self._holders.get(holder, (None, 0))
        same = current_group == group
        if same and units <= current:
            return []
        mine = self.held(group) - (current if same else 0) + units
        if self.group_limit is not None and mine > self.group_limit:
            return None
        need = self.used - current + units - self.capacity
        victims = []
        left = {g: total for g, total in self._totals.items() if g != group}
        if not same and current:
            left[current_group] -= current
        queues = {}
        while need > 0:
            if not left:
                return None
            largest = max(left, key=left.get)
            queue = queues.get(largest)
            if queue is None:
                queue = queues[largest] = [h for h in self._groups[largest]
                                           if h is not holder]
                if not self.oldest_first:
                    queue.reverse()
            if not queue:
                return None
            victim = queue.pop(0)
            given = self._groups[largest][victim]
            if left[largest] - given < mine:
                return None
            victims.append(victim)
            left[largest] -= given
            need -= given
        return victims

    def hold(self, holder, group, units=1):
        """The holder holds ``units`` (of ``group``) from now on, in place
        of what it held; 0 releases it."""
        self.release(holder)
        if units <= 0:
            return
        self._holders[holder] = (group, units)
        self._groups.setdefault(group, {})[holder] = units
        self._totals[group] = self._totals.get(group, 0) + units
        self.used += units

    def release(self, holder):
        """The holder holds nothing any more (idempotent)."""
        entry = self._holders.pop(holder, None)
        if entry is None:
            return
        group, units = entry
        members = self._groups[group]
        del members[holder]
        self._totals[group] -= units
        if not members:
            del self._groups[group]
            del self._totals[group]
        self.used -= units
