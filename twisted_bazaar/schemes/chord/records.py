"""
The records a Chord node holds: each seller's signed record of each item
(L{twisted_bazaar.core.records.Record}), kept until it expires.  Soft
state: a seller stores its records again and again, and a record nobody
stores again vanishes, at the latest when its signature says so.

Who may change what is the records' business, not the sender's: of two
records of one item and seller, the one issued later wins, a withdrawal
included, so only a seller replaces or withdraws its records, and a
copy that missed a change cannot undo it.  Quotas bound what one seller
key (L{PER_KEY}) and one origin, the address group a record came from
(a quarter of the store), may hold here.  Plain state, no I/O and no
timers: the caller passes the time and checks signatures first.
"""

from typing import NamedTuple

from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.base.sparing import NOTHING, own
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.core.records import CLOCK_SKEW, MAX_LIFETIME, PER_KEY, newer
from twisted_bazaar.schemes.chord.ring import between, keyOf

#: The origin of this node's own records (its stores of its own items,
#: whose key it holds): named and charged like those an address group
#: brought (L{Held.origin}), where "" named nobody.
OWN = "this node"

#: Default most records one node holds.
DEFAULT_MAX_RECORDS = 100_000
RECORDS_LIMIT = declare(
    "chord.records", DEFAULT_MAX_RECORDS, "records",
    "records of other nodes' sellers one chord node holds", flag="--chord-max-records",
    owner=__name__)


class Held(NamedTuple):
    """
    A seller's record as this node holds it: kept until ``expires``
    (wall clock seconds, as the record's own: the lifetime its store or
    copy gave it, never past the record's own expiry), held without a
    break since ``since``, and first
    taken from ``origin`` (the address group of the link it came on;
    L{OWN} for this node's own; "" for one that came over no link, placed
    by a simulator).  A withdrawal is held as long as a record
    issued before it could still be valid, so that none comes back.
    """

    record: object
    expires: float
    since: float
    origin: str

    @property
    def item(self):
        return self.record.item

    @property
    def seller(self):
        return self.record.seller

    def live(self, now):
        return self.expires > now and not self.record.withdrawn


class RecordStore:
    """item -> seller -> L{Held}, with the item's ring key kept alongside,
    and how many each seller key and each origin hold."""

    __slots__ = ("limit", "per_key", "per_origin", "_items", "_keys", "_count", "_byKey",
                 "_byOrigin", "_ranked")

    def __init__(self, limit=DEFAULT_MAX_RECORDS, per_key=PER_KEY, per_origin=None):
        self.limit = limit
        self.per_key = per_key
        #: Most records taken from one origin: a quarter of the store.
        self.per_origin = per_origin or max(1, limit // 4)
        #: item -> seller -> L{Held}.  This and the other tables are
        #: L{NOTHING} until written: nearly every node of a large simulated
        #: ring holds no record (1,950 of 2,000 at the end of a warm run).
        self._items = NOTHING
        self._keys = NOTHING
        self._count = 0
        self._byKey = NOTHING
        self._byOrigin = NOTHING
        #: item -> (its live records as L{sellers} ranks them, the time they
        #: were ranked, the time the first of them expires): a holder
        #: answers many requests for an item between two changes to it,
        #: and ranking a busy item's records (10,000 at a simulated
        #: million nodes) for each would cost a twentieth of a run.
        self._ranked = NOTHING

    def __len__(self):
        return self._count

    def held(self, item, seller):
        """The L{Held} record of item by seller, or None."""
        return self._items.get(item, {}).get(seller)

    def put(self, record, lifetime, now, origin=""):
        """
        Hold a seller's record (its signature checked by the caller) for
        ``lifetime`` seconds at most, or its withdrawal.

        @return: None if it is held, else why not (L{refusal}).
        """
        fault = self.refusal(record, lifetime, now, origin)
        if fault is not None:
            return fault
        old = self.held(record.item, record.seller)
        until = self._until(record, lifetime, now)
        if old is None:
            self._add(record, Held(record, until, now, origin))
            return None
        since = old.since if old.live(now) else now
        if record == old.record:
            until = max(until, old.expires)
        self._items[record.item][record.seller] = Held(record, until, since, old.origin)
        self._ranked.pop(record.item, None)
        return None

    def refusal(self, record, lifetime, now, origin=""):
        """
        Why L{put} would not hold the record, or None if it would: the
        record held for that item and seller is newer (or another record
        of the same issue time), it has expired, or taking a new one
        would break a quota or the store's limit.  Asked before the
        record's signature is checked, so that a record it would refuse
        (one of a pool signed beforehand, sent again and again) costs
        no check.
        """
        old = self.held(record.item, record.seller)
        if old is not None and old.record.key != record.key and old.live(now):
            # Two keys with one id (ids narrowed in a test, or a collision):
            # the first holder keeps its record while it lives.
            return (f"node {shortId(record.seller)}'s record is held already, signed "
                    "by another key: the first holder of an id keeps it")
        if old is not None and not newer(record, old.record):
            return "a newer record of that seller is held"
        if not record.withdrawn and self._until(record, lifetime, now) <= now:
            return "it has expired"
        return self._room(record.seller, origin) if old is None else None

    @staticmethod
    def _until(record, lifetime, now):
        """Until when a record put now is held."""
        if record.withdrawn:
            # Every record issued before it has expired by then.
            return record.issued / 1000.0 + MAX_LIFETIME + CLOCK_SKEW
        return min(now + lifetime, record.expires / 1000.0)

    def keyFull(self, seller):
        """Does seller's key have as many records here as one key may?"""
        return self._byKey.get(seller, 0) >= self.per_key

    def _room(self, seller, origin):
        if self._count >= self.limit:
            return f"this node holds {self.limit} records, its most"
        if self.keyFull(seller):
            return (f"node {shortId(seller)} has {self.per_key} records here, the most "
                    "one key may")
        if self._byOrigin.get(origin, 0) >= self.per_origin:
            return (f"{self.per_origin} records came from {origin}, the most one "
                    f"address group may store here")
        return None

    def _add(self, record, held):
        sellers = self._items.get(record.item)
        if sellers is None:
            sellers = own(self, "_items")[record.item] = {}
            own(self, "_keys")[record.item] = keyOf(record.item)
        sellers[record.seller] = held
        self._ranked.pop(record.item, None)
        self._count += 1
        own(self, "_byKey")[record.seller] = self._byKey.get(record.seller, 0) + 1
        own(self, "_byOrigin")[held.origin] = self._byOrigin.get(held.origin, 0) + 1

    def remove(self, item, seller):
        sellers = self._items.get(item)
        held = sellers.pop(seller, None) if sellers is not None else None
        if held is None:
            return
        self._ranked.pop(item, None)
        self._count -= 1
        for counts, key in ((self._byKey, seller), (self._byOrigin, held.origin)):
            counts[key] -= 1
            if not counts[key]:
                del counts[key]
        if not sellers:
            del self._items[item]
            del self._keys[item]

    def sellers(self, item, now):
        """
        The live records of item, in the order a holder names them: the
        first of each origin, then the second of each, and so on; within
        a round, those held longest first.  Sellers from one origin cannot
        crowd out the others, nor newcomers those held for long.
        """
        cached = self._ranked.get(item)
        if cached is not None and cached[1] <= now < cached[2]:
            return list(cached[0])
        live = sorted((held for held in self._items.get(item, {}).values()
                       if held.live(now)), key=lambda held: (held.since, held.seller))
        rank, ranked = {}, []
        for held in live:
            rank[held.origin] = rank.get(held.origin, -1) + 1
            ranked.append((rank[held.origin], held.since, held.seller, held))
        ranked = tuple(held for *_, held in sorted(ranked, key=lambda row: row[:3]))
        if ranked:
            own(self, "_ranked")[item] = (ranked, now, min(held.expires for held in ranked))
        return list(ranked)

    def purge(self, now):
        """Drop every expired record and withdrawal; returns how many went."""
        gone = [(held.item, held.seller) for held in self._all() if held.expires <= now]
        for item, seller in gone:
            self.remove(item, seller)
        return len(gone)

    def inRange(self, low, high, now):
        """The records and withdrawals held whose key lies in (low, high]."""
        return [held for held in self._all() if held.expires > now
                and between(self._keys[held.item], low, high)]

    def records(self, now):
        """Every record and withdrawal held, by item and seller."""
        return [held for held in self._all() if held.expires > now]

    def _all(self):
        for item in sorted(self._items):
            sellers = self._items[item]
            for seller in sorted(sellers):
                yield sellers[seller]
