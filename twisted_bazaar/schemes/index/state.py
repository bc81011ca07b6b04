"""
The index of who sells what, as the tracker keeps it for the index scheme.

Plain state, no I/O: the tracker extension
(L{twisted_bazaar.schemes.index.tracker}) feeds it registrations and
departures and asks it for sellers.  An inverted index (item -> sellers) so a lookup
never scans every node.

A tracker's index holds up to 131,072 entries (seller, item), so each
is kept small (docs/benchmarks.md, "index_bytes_per_entry"): an item
with one seller maps to that seller's id, not to a set of one; and a
seller's record is not kept as a L{Record} with its own copies of the
seller's host, port and key, but as one bytes object of what differs
from entry to entry (L{_pack}), rebuilt into an equal L{Record} when
asked for.  A record that would not come back equal is kept whole.
"""

import struct

from twisted_bazaar.core.records import Record, oneOfEachGroup
from twisted_bazaar.net.account import Account
from twisted_bazaar.schemes.index.messages import ENTRIES_LIMIT

#: A packed record's head: whether it describes a shared file, when it
#: was issued and when it expires (milliseconds).
_HEAD = struct.Struct(">?qq")
#: A packed file record's middle: the file's size, transfer port and
#: SHA-256 (its 64 hex digits as 32 bytes).
_FILE = struct.Struct(">qH32s")


def _pack(record):
    """The fields of ``record`` that differ between a seller's entries,
    as bytes; its signature, last, as ASCII text."""
    head = _HEAD.pack(record.sha256 is not None, record.issued, record.expires)
    if record.sha256 is not None:
        head += _FILE.pack(record.size, record.transfer, bytes.fromhex(record.sha256))
    return head + record.sig.encode("ascii")


def _unpack(packed, seller, item, place):
    """The L{Record} that L{_pack} packed, of ``seller``'s ``item``, sold
    at ``place`` (host, port, key)."""
    host, port, key = place
    isFile, issued, expires = _HEAD.unpack_from(packed)
    described = {}
    at = _HEAD.size
    if isFile:
        size, transfer, sha256 = _FILE.unpack_from(packed, at)
        described = {"size": size, "transfer": transfer, "sha256": sha256.hex()}
        at += _FILE.size
    return Record(item=item, seller=seller, host=host, port=port, issued=issued,
                  expires=expires, key=key, sig=packed[at:].decode("ascii"),
                  **described)


class ItemIndex:
    """
    item -> the sellers that registered it, handed out least recently
    handed out first (ties in random order), to spread the load.

    Its entries (seller, item) are an L{Account} of ``capacity`` shared
    fairly among the sellers' address groups: once full, an entry of a
    group holding fewer takes the place of the newest seller's of the
    group holding the most (L{makeRoom}), so that keys from many groups
    cannot grow the tracker without bound, nor keep out a group that
    comes later.  The account charges each seller once, with as many
    units as it has entries.
    """

    def __init__(self, rng, capacity=float("inf")):
        self.rng = rng
        self._shares = Account.of(ENTRIES_LIMIT, capacity)
        #: item -> the id of its one seller, or a set of two or more.
        self._sellers = {}
        #: seller -> {item: its record, packed (L{_pack}), or the
        #: L{Record} itself when packing would not give it back equal}.
        self._entries = {}
        #: seller -> (host, port, key) of the first record it registered,
        #: which its packed records share.
        self._places = {}
        self._handed = {}
        self._turn = 0
        #: seller -> the address group it registered from, while it has
        #: items; group -> how many items its sellers have registered.
        self._groupOf = {}
        self._perGroup = {}

    def register(self, seller, item, record, group=""):
        """seller, of address group ``group``, offers item, as its signed
        ``record`` says (kept until it goes, or the seller registers item
        again)."""
        entries = self._entries.get(seller)
        if entries is None:
            entries = self._entries[seller] = {}
            self._places[seller] = (record.host, record.port, record.key)
        if item not in entries:
            group = self._groupOf.setdefault(seller, group)
            self._perGroup[group] = self._perGroup.get(group, 0) + 1
            self._shares.hold(seller, group, self._shares.units(seller) + 1)
            self._addSeller(item, seller)
        entries[item] = self._kept(seller, item, record)

    def _kept(self, seller, item, record):
        """What an entry keeps of ``record``: packed if that gives it back
        equal (a record's own fields on the wire always do)."""
        try:
            packed = _pack(record)
        except (struct.error, ValueError, TypeError, UnicodeError):
            return record
        if _unpack(packed, seller, item, self._places[seller]) != record:
            return record
        return packed

    def _addSeller(self, item, seller):
        held = self._sellers.get(item)
        if held is None:
            self._sellers[item] = seller
        elif type(held) is set:
            held.add(seller)
        elif held != seller:
            self._sellers[item] = {held, seller}

    def _removeSeller(self, item, seller):
        held = self._sellers[item]
        if type(held) is not set:
            del self._sellers[item]
            return
        held.discard(seller)
        if len(held) == 1:
            self._sellers[item] = next(iter(held))

    def _sellersOf(self, item):
        held = self._sellers.get(item)
        if held is None:
            return ()
        return held if type(held) is set else (held,)

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
        kept = self._entries.get(seller, {}).get(item)
        if type(kept) is not bytes:
            return kept
        return _unpack(kept, seller, item, self._places[seller])

    def inGroup(self, group):
        """How many items the sellers of an address group have registered."""
        return self._perGroup.get(group, 0)

    def unregister(self, seller, item):
        entries = self._entries.get(seller, {})
        if item not in entries:
            return
        del entries[item]
        self._removeSeller(item, seller)
        group = self._groupOf[seller]
        self._perGroup[group] -= 1
        self._shares.hold(seller, group, self._shares.units(seller) - 1)
        if not self._perGroup[group]:
            del self._perGroup[group]
        if not entries:
            del self._entries[seller]
            del self._places[seller]
            del self._groupOf[seller]

    def forget(self, seller):
        """A seller left: every item it offered goes with it."""
        for item in sorted(self._entries.get(seller, ())):
            self.unregister(seller, item)
        self._handed.pop(seller, None)

    def items(self, seller):
        return set(self._entries.get(seller, ()))

    def lookup(self, item, limit, among=None):
        """Up to ``limit`` sellers of item (only those ``among`` the given
        ids, if given), one of each address group before a second of any
        (so that one address's many keys crowd out nobody), and within
        that least recently handed out first; the first one counts as
        handed out now."""
        sellers = sorted(seller for seller in self._sellersOf(item)
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
        for item, held in sorted(self._sellers.items()):
            if type(held) is set:
                count = len(held) if among is None else len(held & among)
            else:
                count = 1 if among is None or held in among else 0
            if count:
                counts[item] = count
        return counts
