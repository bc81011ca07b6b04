"""
Discovery records: a seller's own signed word that it sells an item.

A L{Record} says "the node of this key sells ``item`` at ``host``:``port``
(and, for a shared file, the content of this ``sha256`` and ``size``,
served on its ``transfer`` port), from ``issued`` until ``expires``",
signed with the seller's Ed25519 key.  Every discovery scheme carries
records, not bare addresses: the node or tracker that stores one checks
it before it stores it (L{recordFault}), and so does the buyer that is
handed one, so nobody but a seller can say what it sells, nor describe
its files.  docs/protocol.md (§11a, "Discovery records") says byte for
byte what the signature covers.

Ownership follows from the signature: of two records of one item by one
seller, the later issued wins (L{newer}); a *withdrawal* is a record of
the seller's that expires as it is issued, and wins over every record
issued before it.  So only the seller can replace or withdraw its
record, and a record it replaced cannot come back.

A seller signs a record when what it says changes (stock, a file), and
again when a quarter of its validity has gone (L{RecordBook}), never per
message; checking one is memoised (L{verified}), so a record copied or
stored again costs no second signature check.
"""

import functools

import attr

from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar import wire
from twisted_bazaar.base.sparing import NOTHING, own
from twisted_bazaar.wire import checkSha256, checkSize
from twisted_bazaar.wire.ids import shortId, wireId
from twisted_bazaar.transports.relay.kind import relayOfPaths
from twisted_bazaar.identity.keys import keyId, verify
from twisted_bazaar.net.fitting import cutToFit
from twisted_bazaar.wire import (
    SELLER_KEYS,
    ProtocolError,
    canonicalFields,
    checkKey,
    checkSig,
    errorCode,
    objectList,
)

#: What a record's signed text starts with: no other signature of the
#: protocol (handshakes, trade messages) starts so.
LABEL = b"bazaar-record:"
#: What the signed text of a record's ``lan`` mark starts with
#: (``lanSig``): the record with its mark.
LAN_LABEL = b"bazaar-record-lan:"
#: Seconds a seller signs its records for.
VALIDITY = 600.0
#: Longest a record may live from its issue: a storing node or a buyer
#: refuses one that expires later (docs/protocol.md, "Discovery records").
MAX_LIFETIME = 3600.0
#: Seconds a record's issue time may lie ahead of the receiver's clock.
CLOCK_SKEW = 60.0
#: Most records of one seller's key that one node (or the index tracker)
#: keeps.
PER_KEY = 1024
#: Largest time on the wire, in milliseconds (exact in every JSON reader).
MAX_MS = 2**53

errorCode("badrecord", "a discovery record that is not the sender's own, is not "
          "signed by its seller's key, or is outside its time bounds")

_millis = wire.intIn(0, MAX_MS, "milliseconds from 0 to 2^53")
_transfer = wire.intIn(1, 65535, "a port from 1 to 65535")

#: The record's fields on the wire, in order: (key, checker, required);
#: its relay travels as a list of paths (``paths``: L{relayOfPaths}).
_FIELDS = (("item", wire.checkItem, True), ("seller", wire.checkNodeId, True),
           ("host", wire.checkHost, True), ("port", wire.checkPort, True),
           ("size", checkSize, False), ("sha256", checkSha256, False),
           ("transfer", _transfer, False), ("issued", _millis, True),
           ("expires", _millis, True), ("key", checkKey, True), ("sig", checkSig, True),
           ("paths", relayOfPaths, False), ("lan", wire.checkHost, False),
           ("lanSig", checkSig, False))
#: The attribute of L{Record} a wire key is held in, where they differ.
_HELD_AS = {"paths": "relay"}
#: The fields of a shared file's description, all three or none.
FILE_FIELDS = ("size", "sha256", "transfer")


@attr.s(frozen=True, slots=True, auto_attribs=True)
class Record:
    """
    One seller's signed record of one item.  Times are milliseconds since
    the Unix epoch (on the node's clock); ``size``, ``sha256`` and
    ``transfer`` are None for an item that is no shared file.
    """

    item: str
    seller: int
    host: str
    port: int
    issued: int
    expires: int
    key: str
    sig: str
    size: int = None
    sha256: str = None
    transfer: int = None
    relay: str = None
    #: The public host a LAN-only seller's tracker sees it at (only nodes
    #: seen there reach it, at its local address), or None.
    lan: str = None
    #: The seller's signature of the record with ``lan`` (L{lanText}):
    #: ``sig`` leaves the mark out, as nodes of 12-01 (28a25090) and
    #: before check it, so they take the record still.
    lanSig: str = None

    @property
    def withdrawn(self):
        """A withdrawal: it expires as it is issued."""
        return self.expires <= self.issued

    @property
    def file(self):
        """The shared file's (size, sha256, transfer), or ()."""
        return () if self.sha256 is None else (self.size, self.sha256, self.transfer)

    def signed(self):
        """The wire fields ``sig`` covers (all but the signatures and
        ``lan``): the seller's id as its wire text, as it is signed."""
        fields = {"item": self.item, "seller": wireId(self.seller), "host": self.host,
                  "port": self.port, "issued": self.issued, "expires": self.expires,
                  "key": self.key}
        for key in FILE_FIELDS:
            value = getattr(self, key)
            if value is not None:
                fields[key] = value
        if self.relay is not None:
            fields["paths"] = relayOfPaths.toWire(self.relay)
        return fields

    def text(self):
        """The bytes ``sig`` signs."""
        return canonicalFields(self.signed(), LABEL)

    def lanText(self):
        """The bytes ``lanSig`` signs: the record with its ``lan``."""
        return canonicalFields(dict(self.signed(), lan=self.lan), LAN_LABEL)

    def asDict(self):
        """The record on the wire: a JSON object."""
        fields = dict(self.signed(), sig=self.sig)
        if self.lan is not None:
            fields["lan"] = self.lan
            if self.lanSig is not None:
                fields["lanSig"] = self.lanSig
        return fields


def checkRecord(value, name):
    """
    A record on the wire: a JSON object with every field of L{Record}
    (``size``, ``sha256`` and ``transfer`` all three or none; ``lanSig``
    read only with ``lan``; other keys are ignored).  It checks the
    fields' types and ranges, not the signature (see L{recordFault}).

    @raise ProtocolError: naming the field that is wrong.
    """
    if type(value) is not dict:
        raise ProtocolError(f"{name} must be a record object")
    if "relay" in value:
        raise ProtocolError(f"{name}.relay is a field of protocol version 1: this end "
                            f"speaks version {wire.PROTOCOL_VERSION}, where a seller's "
                            "relay travels as its paths (docs/protocol.md §3, Paths)")
    values = {}
    for key, checker, required in _FIELDS:
        field = value.get(key)
        if field is None:
            if required:
                raise ProtocolError(f"{name} lacks {key}")
            continue
        values[_HELD_AS.get(key, key)] = checker(field, f"{name}.{key}")
    if "lan" not in values:
        values.pop("lanSig", None)
    described = [key for key in FILE_FIELDS if key in values]
    if described and len(described) != len(FILE_FIELDS):
        raise ProtocolError(f"{name} must have all of size, sha256 and transfer, or "
                            f"none")
    return Record(**values)


def recordObject(record):
    """A record back to its wire object."""
    return record.asDict()


def recordObjects(records):
    """Records back to their wire objects."""
    return [record.asDict() for record in records]


checkRecord.fast = "False"
checkRecord.toWire = recordObject


def recordedSellers(limit):
    """
    A checker for a list of at most ``limit`` sellers (index's
    found.sellers, superpeer's leafHits.sellers and spHit.sellers): each
    an object {id, host, port, record}, ``record`` being the seller's
    (its ``seller`` is ``id``), host and port where the sender found the
    seller.  It gives a tuple of (id, host, port, L{Record}).
    """
    addresses = objectList(SELLER_KEYS, limit, "sellers")

    def check(value, name):
        sellers = []
        for row, entry in zip(addresses(value, name), value):
            if "record" not in entry:
                raise ProtocolError(f"{name} entry lacks record")
            record = checkRecord(entry["record"], f"{name}.record")
            if record.seller != row[0]:
                raise ProtocolError(f"{name} entry names node {shortId(row[0])} with "
                                    f"node {shortId(record.seller)}'s record")
            sellers.append(row + (record,))
        return tuple(sellers)

    check.fast = "False"
    check.toWire = sellerObjects
    return check


def sellerObjects(sellers):
    """Sellers as L{recordedSellers} gives them, back to their wire objects."""
    return [sellerObject(seller) for seller in sellers]


def sellerObject(seller):
    """A seller as L{recordedSellers} gives it, back to its wire object."""
    seller_id, host, port, record = seller
    return {"id": wireId(seller_id), "host": host, "port": port, "record": record.asDict()}


#: Most bytes one character of a name or host takes on the wire (an
#: escape), and bounds on the rest of a seller entry (id, port, keys,
#: signature, numbers, file fields; a lan mark's key and signature) and
#: of an answer (its id, ids of a path apart).
_MOST_PER_CHAR = 6
_SELLER_FIXED = 640
_LAN_FIXED = 128
_ANSWER_FIXED = 256
_PATH_ID = 40


def fittedSellers(answer, limit):
    """
    An answer that names sellers (index's ``found``, superpeer's
    ``leafHits`` and ``spHit``) cut to its first sellers that fit in a
    frame of ``limit`` bytes (L{cutToFit}), each seller an (id, host,
    port, record) entry.  Each seller's record carries an item and a host
    of the seller's choosing, so a crowd of sellers could make the whole
    answer too big to send, and nobody would hear of the sellers it held:
    put the sellers in a fair order first (L{oneOfEachGroup}), so that
    the ones left out are the crowd's.
    """
    bound = (_MOST_PER_CHAR * len(answer.item) + _ANSWER_FIXED
             + _PATH_ID * len(getattr(answer, "path", ())) + sum(
                 _MOST_PER_CHAR * (len(host) + len(record.item) + len(record.host))
                 + _SELLER_FIXED + lanBytes(record) for _, host, _, record in answer.sellers))
    return cutToFit(answer, "sellers", limit, bound)


def lanBytes(record):
    """A bound on the bytes a record's lan mark takes on the wire (0
    without one), for an answer's bound on its size."""
    if record.lan is None:
        return 0
    return _MOST_PER_CHAR * len(record.lan) + _LAN_FIXED


def oneOfEachGroup(sellers, groupOf):
    """
    ``sellers`` in a fair order: the first of each address group (as
    ``groupOf(seller)`` names it), in the order they come, then the
    second of each, and so on.  However many keys one address registers,
    a seller of another group comes among the first of an answer.
    """
    rounds = []
    seen = {}
    for seller in sellers:
        group = groupOf(seller)
        turn = seen.get(group, 0)
        seen[group] = turn + 1
        if turn == len(rounds):
            rounds.append([])
        rounds[turn].append(seller)
    return [seller for turn in rounds for seller in turn]


def milliseconds(seconds):
    """Clock seconds as a record's time."""
    return int(round(seconds * 1000))


@functools.lru_cache(maxsize=4096)
def verified(record):
    """Whether the record is signed by the key of its seller, and so is
    its ``lan`` mark if it has one (L{Record.lanSig}).  Memoised
    for the last few thousand records: the same record handed to a buyer
    in offers and then fetched from is checked once (a storing node also
    skips the records it holds already)."""
    return (keyId(record.key) == record.seller
            and verify(record.key, record.sig, record.text())
            and (record.lan is None or (record.lanSig is not None and verify(
                record.key, record.lanSig, record.lanText()))))


def future(record, now):
    """Why a record issued past L{CLOCK_SKEW} ahead of ``now`` is refused,
    naming how far ahead: its seller (the node that reads this line from
    the tracker, say) learns what to mend, and by how much."""
    ahead = record.issued / 1000.0 - now
    return (f"it was issued {ahead:,.0f} s in the future: its seller's clock is about "
            f"that far ahead of the clock that checked it (more than the "
            f"{CLOCK_SKEW:g} s allowed)")


def untimely(record, now):
    """Whether a record is refused at ``now`` for its times alone, as a
    seller's clock far from the checker's makes one: issued more than
    L{CLOCK_SKEW} ahead, or (not a withdrawal) expired already."""
    return (record.issued > milliseconds(now + CLOCK_SKEW)
            or (not record.withdrawn and record.expires <= milliseconds(now)))


def recordFault(record, now, seller=None, item=None, alive=False):
    """
    Why a node must not take ``record`` at clock time ``now`` (seconds),
    or None if it may: it is not its seller's (the key's id is not
    ``seller``, or the signature is wrong), names another ``seller`` or
    ``item`` than the message it came in, was issued more than
    L{CLOCK_SKEW} ahead of now, or expires more than L{MAX_LIFETIME}
    after its issue; with ``alive``, also if it has expired (a
    withdrawal has).
    """
    if seller is not None and record.seller != seller:
        return (f"it is node {shortId(record.seller)}'s record, not node "
                f"{shortId(seller)}'s")
    if item is not None and record.item != item:
        return "it is a record of another item"
    if record.issued > milliseconds(now + CLOCK_SKEW):
        return future(record, now)
    if record.expires - record.issued > milliseconds(MAX_LIFETIME):
        return f"it lives longer than {MAX_LIFETIME:g} s"
    if alive and not live(record, now):
        return "it has expired"
    if not verified(record):
        return f"it is not signed by the key of node {shortId(record.seller)}"
    return None


def live(record, now):
    """Whether the record still holds at clock time now."""
    return record.expires > milliseconds(now) and not record.withdrawn


def newer(record, than):
    """Whether ``record`` replaces ``than`` (the same item and seller):
    issued later, or the same record again."""
    return record.issued > than.issued or record == than


def signRecord(identity, item, host, port, issued, expires, described=None, relay=None,
               lan=None):
    """The record of item signed by ``identity`` (times in milliseconds;
    ``described``: a shared file's size, sha256 and transfer, or None;
    ``relay``: the relay the seller is reached through, or None; ``lan``:
    the public host a LAN-only seller is seen at, or None)."""
    unsigned = Record(item=item, seller=identity.id, host=host, port=port, issued=issued,
                      expires=expires, key=identity.key, sig="", relay=relay, lan=lan,
                      **(described or {}))
    lanSig = None if lan is None else identity.sign(unsigned.lanText())
    return attr.evolve(unsigned, sig=identity.sign(unsigned.text()), lanSig=lanSig)


class RecordBook:
    """
    One seller's records, signed with its L{Identity}: the one it stands
    by for each item, signed anew when what it says changes or a quarter
    of its L{VALIDITY} has gone, so that a scheme can send a record with
    every store or register at no cost, and one it sends again every half
    of the validity (L{renewal}) always has half of it left.  Issue times
    only grow, so each record (a withdrawal too) replaces the one before.
    """

    # One a node of a scheme with records (a million in a simulation),
    # nearly all of which sell nothing: slotted, and its records the
    # shared empty table until the first (L{own}).
    __slots__ = ("identity", "clock", "validity", "renewal", "_current", "_issued")

    def __init__(self, identity, clock, validity=VALIDITY):
        """
        @param identity: the seller's L{Identity}; None for a node without
            a key, which can sign no record (so sells nothing through a
            scheme, and says so: L{record} raises RuntimeError).
        """
        self.identity = identity
        self.clock = clock
        self.validity = validity
        #: Seconds between two sendings of every record, for a scheme whose
        #: records live only as long as they are sent again.
        self.renewal = validity / 2
        self._current = NOTHING
        self._issued = -1

    def _issue(self):
        self._issued = max(milliseconds(wallSeconds(self.clock)), self._issued + 1)
        return self._issued

    def _sign(self, item, host, port, lifetime, described, relay=None, lan=None):
        if self.identity is None:
            raise RuntimeError("a node without a key cannot sign discovery records")
        issued = self._issue()
        return signRecord(self.identity, item, host, port, issued,
                          issued + milliseconds(lifetime), described, relay, lan)

    def record(self, item, host, port, described=None, relay=None, lan=None):
        """
        The record of ``item``, sold at host:port (or through ``relay``,
        ``HOST:PORT``, for a seller that cannot be dialled; or, ``lan``
        a public host, only to nodes seen at that host: a LAN-only
        seller's), and a shared file if ``described`` (its size, sha256
        and transfer, as L{twisted_bazaar.core.market.fileDescription}
        gives them).
        """
        described = {key: described[key] for key in FILE_FIELDS} if described else {}
        held = self._current.get(item)
        now = milliseconds(wallSeconds(self.clock))
        if (held is not None
                and (held.host, held.port, held.relay, held.lan) == (host, port, relay, lan)
                and dict(zip(FILE_FIELDS, held.file)) == described
                and now - held.issued < milliseconds(self.validity / 4)):
            return held
        held = own(self, "_current")[item] = self._sign(item, host, port, self.validity,
                                                described, relay, lan)
        return held

    def withdrawal(self, item, host, port):
        """A withdrawal of ``item``: it replaces every record of it
        signed before."""
        self._current.pop(item, None)
        return self._sign(item, host, port, 0, {})
