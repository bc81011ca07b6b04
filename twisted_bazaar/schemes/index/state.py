"""
The index of who sells what, as the tracker keeps it for the index scheme.

Plain state, no I/O: the tracker extension
(L{twisted_bazaar.schemes.index.tracker}) feeds it registrations and
departures and asks it for sellers.  An inverted index (item -> sellers) so a lookup
never scans every node.
"""

from twisted_bazaar.core.records import oneOfEachGroup
from twisted_bazaar.net.account import Account


class ItemIndex:
    """
    item -> the sellers that registered it, handed out least recently
    handed out first (ties in random order), to spread the load.

    Its entries (seller, item) are an L{Account} of ``capacity`` shared
    fairly among the sellers' address groups: once full, an entry of a
    group holding fewer takes the place of the newest seller's of the
    group holding the most (L{makeRoom}), so that keys from many groups
    cannot grow the tracker without bound, nor keep out a group that
    comes later.
    """

    def __init__(self, rng, capacity=float("inf")):
        self.rng = rng
        self._shares = Account(capacity)
        self._sellers = {}
        self._items = {}
        self._handed = {}
        self._turn = 0
        #: (seller, item) -> the seller's signed record of it.
        self._records = {}
        #: seller -> the address group it registered from, while it has
        #: items; group -> how many items its sellers have registered.
        self._groupOf = {}
        self._perGroup = {}

    def register(self, seller, item, record, group=""):
        """seller, of address group ``group``, offers item, as its signed
        ``record`` says (kept until it goes, or the seller registers item
        again)."""
        if item not in self._items.get(seller, ()):
            group = self._groupOf.setdefault(seller, group)
            self._perGroup[group] = self._perGroup.get(group, 0) + 1
            self._shares.hold(seller, group, self._shares.units(seller) + 1)
        self._sellers.setdefault(item, set()).add(seller)
        self._items.setdefault(seller, set()).add(item)
        self._records[(seller, item)] = record

    def makeRoom(self, seller, group):
        """
        The sellers whose items must go (L{forget}) before ``seller``, of
        address group ``group`` (unless it has a group already), may
        register one more item: [] when there is room, None when the
        index is full and no other group holds more than the seller's
        would.
        """
        return self._shares.makeRoom(self._groupOf.get(seller, group),
                                     self._shares.units(seller) + 1, seller)

    def refusal(self, seller, group):
        """Why L{makeRoom} said None, for the error's info."""
        return self._shares.refusal(self._groupOf.get(seller, group), "index entries")

    def record(self, seller, item):
        """seller's record of item, or None."""
        return self._records.get((seller, item))

    def inGroup(self, group):
        """How many items the sellers of an address group have registered."""
        return self._perGroup.get(group, 0)

    def unregister(self, seller, item):
        if item not in self._items.get(seller, ()):
            return
        del self._records[(seller, item)]
        self._sellers[item].discard(seller)
        if not self._sellers[item]:
            del self._sellers[item]
        items = self._items[seller]
        items.discard(item)
        group = self._groupOf[seller]
        self._perGroup[group] -= 1
        self._shares.hold(seller, group, self._shares.units(seller) - 1)
        if not self._perGroup[group]:
            del self._perGroup[group]
        if not items:
            del self._items[seller]
            del self._groupOf[seller]

    def forget(self, seller):
        """A seller left: every item it offered goes with it."""
        for item in sorted(self._items.get(seller, ())):
            self.unregister(seller, item)
        self._handed.pop(seller, None)

    def items(self, seller):
        return set(self._items.get(seller, ()))

    def lookup(self, item, limit, among=None):
        """Up to ``limit`` sellers of item (only those ``among`` the given
        ids, if given), one of each address group before a second of any
        (so that one address's many keys crowd out nobody), and within
        that least recently handed out first; the first one counts as
        handed out now."""
        sellers = sorted(seller for seller in self._sellers.get(item, ())
                         if among is None or seller in among)
        keyed = sorted((self._handed.get(seller, 0), self.rng.random(), seller)
                       for seller in sellers)
        chosen = oneOfEachGroup([seller for _, _, seller in keyed],
                                self._groupOf.get)[:limit]
        if chosen:
            self._turn += 1
            self._handed[chosen[0]] = self._turn
        return chosen

    def listing(self, among=None):
        """item -> number of sellers (only those ``among`` the given ids,
        if given), for every item on offer."""
        counts = {}
        for item, sellers in sorted(self._sellers.items()):
            count = len(sellers) if among is None else len(sellers & among)
            if count:
                counts[item] = count
        return counts
