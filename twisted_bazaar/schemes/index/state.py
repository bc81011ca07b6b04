"""
The index of who sells what, as the tracker keeps it for the index scheme.

Plain state, no I/O: the tracker extension
(L{twisted_bazaar.schemes.index.tracker}) feeds it registrations and
departures and asks it for sellers.  An inverted index (item -> sellers) so a lookup
never scans every node.
"""


class ItemIndex:
    """
    item -> the sellers that registered it, handed out least recently
    handed out first (ties in random order), to spread the load.
    """

    def __init__(self, rng):
        self.rng = rng
        self._sellers = {}
        self._items = {}
        self._handed = {}
        self._turn = 0
        #: (seller, item) -> what the seller's register described.
        self._details = {}

    def register(self, seller, item, details=()):
        """seller offers item; ``details`` is what its register described
        (a shared file's (size, sha256, transfer)), kept until it goes."""
        self._sellers.setdefault(item, set()).add(seller)
        self._items.setdefault(seller, set()).add(item)
        if any(value is not None for value in details):
            self._details[(seller, item)] = tuple(details)
        else:
            self._details.pop((seller, item), None)

    def details(self, seller, item):
        """What seller's register of item described, or ()."""
        return self._details.get((seller, item), ())

    def unregister(self, seller, item):
        self._details.pop((seller, item), None)
        sellers = self._sellers.get(item)
        if sellers is not None:
            sellers.discard(seller)
            if not sellers:
                del self._sellers[item]
        items = self._items.get(seller)
        if items is not None:
            items.discard(item)
            if not items:
                del self._items[seller]

    def forget(self, seller):
        """A seller left: every item it offered goes with it."""
        for item in sorted(self._items.get(seller, ())):
            self.unregister(seller, item)
        self._handed.pop(seller, None)

    def items(self, seller):
        return set(self._items.get(seller, ()))

    def lookup(self, item, limit, among=None):
        """Up to ``limit`` sellers of item (only those ``among`` the given
        ids, if given), least recently handed out first; the first one
        counts as handed out now."""
        sellers = sorted(seller for seller in self._sellers.get(item, ())
                         if among is None or seller in among)
        keyed = sorted((self._handed.get(seller, 0), self.rng.random(), seller)
                       for seller in sellers)
        chosen = [seller for _, _, seller in keyed[:limit]]
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
