"""
A seller's stock and the leases on it: the counted units it starts with
(from --sell, or what its data dir has left), and the units held for the
buyers whose searches it answered, each for a lease.
"""

#: Default seconds a unit stays reserved for a buyer after its search.
DEFAULT_LEASE = 10.0
#: Of an item's stock, the share that may be reserved at once (all buyers
#: together: none of them proves who it is), and the share the searches
#: of one link may hold.  The rest is sold to whoever buys first, so that
#: searches in made-up names cannot keep every unit from a real buyer.
RESERVED_SHARE = 2
LINK_SHARE = 4


def startingStock(store, given, log, onNotSeeded):
    """
    The stock a seller starts with: ``given`` (--sell) in a new data dir,
    whose seed is written (``onNotSeeded`` called if that fails); else
    what the data dir has left, with a warning when --sell differs from
    what it began with.
    """
    seeded = store.seededWith()
    if seeded is None:
        # Sales made before the seed is on disk are committed after it:
        # the store writes in order.
        store.seedInventory(given).addErrback(onNotSeeded)
        return dict(given)
    stock = store.inventory()
    if seeded != given:
        log.warn("--sell {given} differs from the stock this data dir "
                 "began with ({seeded}); keeping what is left: {left} "
                 "(start it with --restock to set the stock to --sell, or "
                 "restock it as it runs: bazaar restock --data-dir DIR)",
                 given=describeStock(given), seeded=describeStock(seeded),
                 left=describeStock(stock))
    return stock


def describeStock(stock):
    return ", ".join(f"{item}={units}" for item, units in sorted(stock.items()))


class Leases:
    """
    The units of a stock held for buyers: a buyer holds at most one unit
    of an item, for ``lease`` seconds after its search (or its last
    one); all buyers together at most 1/RESERVED_SHARE of the item's
    stock, and those whose searches came through one neighbour at most
    1/LINK_SHARE of it (at least one unit).

    @ivar stock: item -> units not yet sold (the seller's, held ones
        included).
    """

    def __init__(self, clock, stock, lease):
        self.clock = clock
        self.stock = stock
        self.lease = lease
        #: (buyer, item) -> the timer of its lease; item -> units held.
        self._reservations = {}
        self._held = {}
        #: (buyer, item) -> the neighbour its reservation's search came
        #: through; (neighbour, item) -> units held for such searches.
        self._via = {}
        self._held_via = {}

    def __len__(self):
        """Reservations held now."""
        return len(self._reservations)

    def __contains__(self, key):
        """Whether (buyer, item) holds a unit."""
        return key in self._reservations

    def free(self, item):
        """Units of item that nobody holds a reservation for."""
        return self.stock.get(item, 0) - self._held.get(item, 0)

    def freeFor(self, buyer, item):
        """Units of item free for buyer to buy now: the unit held for it,
        if any, is one of them (its hold is released: a sale takes it)."""
        key = (buyer, item)
        if key in self._reservations:
            self.release(key)
        return self.stock.get(item, 0) - self._held.get(item, 0)

    def offer(self, item, buyer, via):
        """
        Hold a unit of ``item`` for ``buyer`` for the lease (refreshing a
        hold it already has) if the limits allow.  False when none is
        free (then nothing is held).
        """
        key = (buyer, item)
        lease = self._reservations.get(key)
        if lease is not None:
            lease.reset(self.lease)
            return True
        if self.free(item) <= 0:
            return False
        stock = self.stock[item]
        link = (via, item)
        if (self._held.get(item, 0) < stock // RESERVED_SHARE
                and self._held_via.get(link, 0) < max(1, stock // LINK_SHARE)):
            _count(self._held, item, 1)
            _count(self._held_via, link, 1)
            self._via[key] = via
            self._reservations[key] = self.clock.callLater(self.lease, self.release, key)
        return True

    def release(self, key):
        """A reservation lapsed, or was used: the unit is free again."""
        call = self._reservations.pop(key, None)
        if call is None:
            return
        if call.active():
            call.cancel()
        item = key[1]
        _count(self._held, item, -1)
        _count(self._held_via, (self._via.pop(key), item), -1)

    def releaseAll(self):
        """Release every reservation, and cancel its timer."""
        for key in list(self._reservations):
            self.release(key)


def _count(counts, key, change):
    """Add change to counts[key], dropping keys that reach 0."""
    value = counts.get(key, 0) + change
    if value:
        counts[key] = value
    else:
        counts.pop(key, None)
