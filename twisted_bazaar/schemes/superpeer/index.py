"""
A super-peer's inverted index of what its leaves sell.

Plain state, no I/O (L{twisted_bazaar.schemes.superpeer.superpeer} feeds
it what leaves send).  item -> leaves, kept up to date one entry at a
time: a register, an update or a departure touches only that leaf's
entries, never a scan of every leaf.  Bounded per leaf and in total; what
would break a bound, or the index's consistency, is refused whole with a
L{Refused} that names the protocol's error code.  A leaf's entry holds
its signed record of the item (checked by the super-peer before it comes
here), which goes with the entry.

The entries are shared fairly among the leaves' address groups (see
L{twisted_bazaar.net.account}): a full index makes room for a leaf of a
group holding fewer entries by dropping the newest leaves of the group
holding the most, so that no address, however many leaves it registers
(taking links or not), keeps the others out.
"""

from collections import OrderedDict

from twisted_bazaar.base.lan import sameHost
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.core.records import live, oneOfEachGroup
from twisted_bazaar.net.account import Account
from twisted_bazaar.schemes.superpeer.settings import DEFAULT_INDEX_ENTRIES
from twisted_bazaar.wire.ids import wireId


class Refused(Exception):
    """
    A register or update the index will not take; nothing was changed.

    @ivar code: the error code to answer with (``toomany``, ``full``,
        ``unknown``, ``claimed``).
    @ivar info: the reason, for humans.
    """

    def __init__(self, code, info):
        super().__init__(f"{code}: {info}")
        self.code = code
        self.info = info

ENTRIES_LIMIT = declare(
    "superpeer.index", DEFAULT_INDEX_ENTRIES, "entries",
    "entries (leaf, item) a super-peer's index holds, shared fairly among the "
    "leaves' address groups", flag="--index-entries", owner=__name__)


class LeafIndex:
    """
    @ivar per_leaf: most items one leaf may have indexed.
    @ivar total: most entries (leaf, item) in the whole index.
    @ivar entries: entries held now.
    @ivar evicted: called with each leaf dropped to make room for another
        (after the change that needed the room is made), if given.
    """

    def __init__(self, per_leaf, total, evicted=None):
        self.per_leaf = per_leaf
        self.total = total
        self.evicted = evicted
        self.entries = 0
        #: leaf -> entries, by the address group of each leaf.
        self._shares = Account.of(ENTRIES_LIMIT, total)
        #: leaf -> {item: units}
        self._stock = {}
        #: leaf -> (host, port) it registered
        self._addresses = {}
        #: (host, port) -> the listed leaf that holds it: the one found
        #: there by a check (or registered as listed).
        self._owners = {}
        #: item -> OrderedDict of leaves (keys only), next to hand out first
        self._leaves = {}
        #: leaf -> {item: its record}, for entries it has
        self._records = {}
        #: Leaves whose entries are kept but not named (their address is
        #: not checked yet).
        self._unlisted = set()
        #: LAN-only leaf -> the public host its link comes from: named
        #: only to askers whose links come from there too.
        self._near = {}
        #: leaf -> the address group its entries count against.
        self._groups = {}

    def __contains__(self, leaf):
        return leaf in self._stock

    def __len__(self):
        """Leaves registered."""
        return len(self._stock)

    def items(self, leaf):
        """item -> units the leaf has indexed (a copy)."""
        return dict(self._stock.get(leaf, {}))

    def group(self, leaf):
        """The address group the leaf's entries count against, or None."""
        return self._groups.get(leaf)

    def address(self, leaf):
        return self._addresses.get(leaf)

    def records(self, leaf):
        """item -> the leaf's record of it (a copy)."""
        return dict(self._records.get(leaf, {}))

    # -- changes -------------------------------------------------------------

    def register(self, leaf, address, items, records, listed=True, group=None,
                 near=None, claims=True):
        """
        The leaf's whole inventory, replacing what it had; items with 0
        units are left out.  An unlisted leaf is named by no L{lookup}
        until L{list} is called for it; one listed ``near`` a host, only
        to askers at that host (L{list}); a listed one claims its address
        only with ``claims`` (L{list}).  ``records`` holds the leaf's
        record of each item it names with units above 0.  ``group`` is the
        address group the leaf's entries count against (the leaf alone, if
        None).  Returns the
        number of entries it now has.

        An address is claimed only by a listed leaf: one whose address was
        checked.  An unlisted leaf claims nothing, so that a register
        nobody checked (one listing nothing is never checked) cannot keep
        the leaf that is there out.

        @raise Refused: C{claimed} if another listed leaf holds that
            address, C{toomany} over the per-leaf bound, C{full} over the
            total.
        """
        owner = self._owners.get(address) if address[1] else None
        if owner is not None and owner != leaf:
            raise Refused("claimed", f"{address[0]}:{address[1]} is registered by "
                          f"leaf {wireId(owner)}")
        stocked = {item: units for item, units in items.items() if units > 0}
        group = ("leaf", leaf) if group is None else group
        victims = self._checkRoom(leaf, group, len(stocked))
        self.forget(leaf)
        self._addresses[leaf] = address
        self._stock[leaf] = {}
        self._records[leaf] = {}
        if near is not None:
            self._near[leaf] = near
        elif listed:
            if claims:
                self._claim(leaf)
        else:
            self._unlisted.add(leaf)
        for item, units in sorted(stocked.items()):
            self._set(leaf, item, units, records[item])
        self._shares.hold(leaf, group, len(stocked))
        self._groups[leaf] = group
        self._dropped(victims)
        return len(stocked)

    def update(self, leaf, items, records):
        """
        What changed: item -> units now, 0 withdrawing the item.  Each
        item given units above 0 takes its record in ``records``.  Returns
        the number of entries the leaf now has.

        @raise Refused: C{unknown} if the leaf never registered, or
            withdraws an item it does not have indexed; C{toomany} or
            C{full} over a bound.
        """
        stock = self._stock.get(leaf)
        if stock is None:
            raise Refused("unknown", "send leafRegister before leafUpdate")
        strangers = sorted(item for item, units in items.items()
                           if units == 0 and item not in stock)
        if strangers:
            raise Refused("unknown", f"you have no {strangers[0][:64]!r} to withdraw")
        added = sum(1 for item, units in items.items() if units and item not in stock)
        removed = sum(1 for item, units in items.items() if not units)
        group = self._groups[leaf]
        victims = self._checkRoom(leaf, group, len(stock) + added - removed)
        for item, units in sorted(items.items()):
            if units:
                self._set(leaf, item, units, records[item])
            else:
                self._unset(leaf, item)
        self._shares.hold(leaf, group, len(stock))
        self._dropped(victims)
        return len(stock)

    def list(self, leaf, near=None, claims=True):
        """Name a registered leaf in lookups from now on: its address was
        checked, and it claims that address (not without ``claims``: a
        leaf checked through its relay was not found at its address,
        which the machines behind its router share).  With ``near`` (a
        host), a LAN-only leaf, whose address no check reached: named only to
        askers whose links come from that host, claiming nothing (so
        that it keeps no leaf a check finds there out)."""
        if leaf in self._unlisted:
            self._unlisted.discard(leaf)
            if near is None:
                if claims:
                    self._claim(leaf)
            else:
                self._near[leaf] = near

    def _claim(self, leaf):
        """The listed leaf holds its address (port 0 takes no connections:
        nobody to impersonate)."""
        address = self._addresses[leaf]
        if address[1]:
            self._owners[address] = leaf

    def listed(self, leaf):
        return leaf in self._stock and leaf not in self._unlisted

    def forget(self, leaf):
        """The leaf left (its link closed): every entry of it goes."""
        self._unlisted.discard(leaf)
        self._near.pop(leaf, None)
        for item in list(self._stock.get(leaf, ())):
            self._unset(leaf, item)
        self._stock.pop(leaf, None)
        self._records.pop(leaf, None)
        self._groups.pop(leaf, None)
        self._shares.release(leaf)
        address = self._addresses.pop(leaf, None)
        if address is not None and self._owners.get(address) == leaf:
            del self._owners[address]

    def _checkRoom(self, leaf, group, wanted):
        """
        The leaves to drop so that leaf (of group) may have ``wanted``
        entries: those the fair share of the entries gives up (see
        L{Account.makeRoom}); none if there is room.

        @raise Refused: C{toomany} over the per-leaf bound, C{full} when
            the index is full and no other address group holds more than
            the leaf's would.
        """
        if wanted > self.per_leaf:
            raise Refused("toomany", f"{wanted} items is over this super-peer's "
                          f"bound of {self.per_leaf} per leaf")
        victims = self._shares.makeRoom(group, wanted, leaf)
        if victims is None:
            raise Refused("full", f"this super-peer's index holds at most "
                          f"{self.total} entries, and no other address group holds "
                          "more of them than yours would")
        for victim in victims:
            self.forget(victim)
        return victims

    def _dropped(self, victims):
        if self.evicted is not None:
            for victim in victims:
                self.evicted(victim)

    def _set(self, leaf, item, units, record):
        stock = self._stock[leaf]
        if item not in stock:
            self.entries += 1
            self._leaves.setdefault(item, OrderedDict())[leaf] = None
        stock[item] = units
        self._records[leaf][item] = record

    def _unset(self, leaf, item):
        del self._stock[leaf][item]
        del self._records[leaf][item]
        self.entries -= 1
        leaves = self._leaves[item]
        del leaves[leaf]
        if not leaves:
            del self._leaves[item]

    # -- questions -----------------------------------------------------------

    def lookup(self, item, limit, now, near=None):
        """
        Up to ``limit`` leaves with the item, as (leaf, host, port,
        record), those whose record has expired at clock time ``now``
        left out, and LAN-only ones but for an asker at host ``near``
        (L{list}), one of each address group before a second of any (so
        that one address's many leaves crowd out nobody); the first one
        named moves to the back, so that the load is spread.
        """
        leaves = self._leaves.get(item)
        if not leaves or limit < 1:
            return []
        unlisted, groups, lan = self._unlisted, self._groups, self._near
        firsts, rest, seen = [], [], set()
        for leaf in leaves:
            if leaf in unlisted or not live(self._records[leaf][item], now):
                continue
            if leaf in lan and not (near and sameHost(near, lan[leaf])):
                continue
            group = groups.get(leaf)
            if group in seen:
                rest.append(leaf)
                continue
            seen.add(group)
            firsts.append(leaf)
            if len(firsts) == limit:
                break
        chosen = [(leaf,) + self._addresses[leaf] + (self._records[leaf][item],)
                  for leaf in oneOfEachGroup(firsts + rest, groups.get)[:limit]]
        if chosen:
            leaves.move_to_end(chosen[0][0])
        return chosen
