"""
The records a Chord node holds: "seller S sells item X at host:port",
each until it expires, with the description of X if S shares it as a
file (its size, SHA-256 and S's transfer port), which goes with the
record.  Soft state: a seller refreshes its records, and a
record nobody refreshes vanishes.  Plain state, no I/O and no timers: the
caller passes the time.
"""

from typing import NamedTuple

from twisted_bazaar.schemes.chord.ring import between, keyOf

#: Default most records one node holds.
DEFAULT_MAX_RECORDS = 100_000


class Record(NamedTuple):
    """One seller of one item, until ``expires`` (clock seconds); its
    ``details`` are the (size, sha256, transfer) of a shared file, or
    ()."""

    item: str
    seller: int
    host: str
    port: int
    expires: float
    details: tuple = ()


class RecordStore:
    """item -> seller -> L{Record}, with the item's ring key kept alongside."""

    def __init__(self, limit=DEFAULT_MAX_RECORDS):
        self.limit = limit
        self._items = {}
        self._keys = {}
        self._count = 0
        #: (item, seller) -> clock time until which a copy may not come back.
        self._withdrawn = {}

    def __len__(self):
        return self._count

    def put(self, record, copy=False, now=0.0):
        """
        Hold a record, or extend the one held for the same item and seller
        (the later expiry wins; the description is the new record's).  A copy (from another node, not from the
        seller) of a record withdrawn since is refused: a replica that
        missed the withdrawal must not bring it back.  Returns False if the
        record is refused, or the store is full and the record is new.
        """
        pair = (record.item, record.seller)
        if copy and self._withdrawn.get(pair, 0) > now:
            return False
        self._withdrawn.pop(pair, None)
        sellers = self._items.get(record.item)
        old = sellers.get(record.seller) if sellers is not None else None
        if old is None:
            if self._count >= self.limit:
                return False
            if sellers is None:
                sellers = self._items[record.item] = {}
                self._keys[record.item] = keyOf(record.item)
            self._count += 1
        elif old.expires > record.expires:
            record = record._replace(expires=old.expires)
        sellers[record.seller] = record
        return True

    def withdraw(self, item, seller, until):
        """The seller no longer sells item: drop its record, and refuse
        copies of it until ``until`` (when every copy has expired)."""
        self._withdrawn[(item, seller)] = until
        self.remove(item, seller)

    def remove(self, item, seller):
        sellers = self._items.get(item)
        if sellers is not None and sellers.pop(seller, None) is not None:
            self._count -= 1
            if not sellers:
                del self._items[item]
                del self._keys[item]

    def sellers(self, item, now):
        """The live records of item, by seller id."""
        return sorted((record for record in self._items.get(item, {}).values()
                       if record.expires > now), key=lambda record: record.seller)

    def purge(self, now):
        """Drop every expired record; returns how many went."""
        gone = [(record.item, record.seller) for record in self._all()
                if record.expires <= now]
        for item, seller in gone:
            self.remove(item, seller)
        self._withdrawn = {pair: until for pair, until in self._withdrawn.items()
                           if until > now}
        return len(gone)

    def inRange(self, low, high, now):
        """The live records whose key lies in (low, high]."""
        return [record for record in self._all() if record.expires > now
                and between(self._keys[record.item], low, high)]

    def records(self, now):
        """Every live record, by item and seller."""
        return [record for record in self._all() if record.expires > now]

    def _all(self):
        for item in sorted(self._items):
            sellers = self._items[item]
            for seller in sorted(sellers):
                yield sellers[seller]
