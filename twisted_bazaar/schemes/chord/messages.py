"""
The messages of the Chord scheme (see docs/protocol.md, "The chord
scheme").  Ring upkeep between linked nodes: ``chordPing``/``chordPong``,
``chordStabilize``/``chordState``, ``chordQuit``, ``chordTransfer``/
``chordTransferred``.  Key-routed requests, passed on hop by hop towards
the node that holds their key, each carrying its ``returnPath``:
``chordFind``, ``chordRequest``, ``chordStore``; their answers
(``chordFound``, ``chordRecords``, ``chordStored``) are path-routed back.

A peer is sent as ``[id, host, port]`` and a record as
``[item, seller, host, port, lifetime]`` (lifetime in milliseconds).  A
seller that shares the item as a file describes it in its chordStore
(optional ``size``, ``sha256`` and ``transfer``); the record keeps the
description, and sends it as a sixth element of its list (an object with
those keys), and chordRecords as a fourth element of the seller's.
"""

from typing import NamedTuple

from twisted_bazaar.files.messages import (
    OFFER_FIELDS,
    descriptionObject,
    offerDescription,
)
from twisted_bazaar.wire import (
    MAX_PATH,
    REQUIRED,
    Message,
    ProtocolError,
    checkFlag,
    checkHost,
    checkId,
    checkItem,
    checkPath,
    checkPort,
    frozen,
    intIn,
    message,
)
from twisted_bazaar.schemes.chord.ring import SIZE
from twisted_bazaar.schemes.chord.settings import MAX_SUCCESSORS
from twisted_bazaar.schemes.chord.state import Peer

#: Most records one chordTransfer carries.
MAX_TRANSFER = 64
#: Most sellers one chordRecords names.
MAX_SELLERS = 64
#: Longest lifetime of a record, in milliseconds (a day).
MAX_LIFETIME_MS = 86_400_000
#: The rate-limit bucket of the messages a peer can make this node work for.
BUCKET = "chord"

checkPosition = intIn(0, SIZE - 1, f"a ring position from 0 to {SIZE - 1}")
checkLifetime = intIn(0, MAX_LIFETIME_MS, f"milliseconds from 0 to {MAX_LIFETIME_MS}")
checkHops = intIn(0, MAX_PATH, f"from 0 to {MAX_PATH}")
checkCount = intIn(0, MAX_TRANSFER, f"from 0 to {MAX_TRANSFER}")


def _list(value, name, most, what):
    if type(value) is not list or len(value) > most:
        raise ProtocolError(f"{name} must be a list of at most {most} {what}")
    return value


def checkPeer(value, name):
    """A peer: [id, host, port]."""
    if type(value) is not list or len(value) != 3:
        raise ProtocolError(f"{name} must be a list [id, host, port]")
    return Peer(checkPosition(value[0], name + " id"), checkHost(value[1], name + " host"),
                checkPort(value[2], name + " port"))


def _peers(most):
    def check(value, name):
        peers = tuple(checkPeer(each, f"{name} entry")
                      for each in _list(value, name, most, "peers"))
        if len({peer.id for peer in peers}) != len(peers):
            raise ProtocolError(f"{name} must not repeat a node")
        return peers

    check.fast = "False"
    return check


class Handed(NamedTuple):
    """A record as it travels: its lifetime left in milliseconds (0:
    withdraw it), and the description of a shared file, as the L{Record}
    holds it."""

    item: str
    seller: int
    host: str
    port: int
    lifetime: int
    details: tuple = ()

    @classmethod
    def of(cls, record, now):
        """A held L{Record} as sent at clock time now: at least 1 ms while
        it lives, 0 once it has expired."""
        left = 0 if record.expires <= now else max(1, round((record.expires - now) * 1000))
        return cls(record.item, record.seller, record.host, record.port, left,
                   record.details)

    def asList(self):
        """On the wire: the description, if any, as a sixth element."""
        row = [self.item, self.seller, self.host, self.port, self.lifetime]
        return row + [descriptionObject(self.details)] if self.details else row


class Described(NamedTuple):
    """A seller named by chordRecords, with the description of the file
    it shares (on the wire: [id, host, port, {size, sha256, transfer}])."""

    id: int
    host: str
    port: int
    size: int
    sha256: str
    transfer: int


def sellerOf(seller, host, port, details):
    """A seller as chordRecords names it: a L{Described} if ``details``
    (a record's) describes a file, else a L{Peer}."""
    if details:
        return Described(seller, host, port, *details)
    return Peer(seller, host, port)


def _description(value, name):
    """The optional last element of a record or a seller: an object with
    the optional size, sha256 and transfer of a shared file."""
    if type(value) is not dict:
        raise ProtocolError(f"{name} must be an object with size, sha256 and transfer")
    return offerDescription(value, name)


def checkRecord(value, name):
    """A record: [item, seller, host, port, lifetime ms], then optionally
    the description of a shared file."""
    if type(value) is not list or len(value) not in (5, 6):
        raise ProtocolError(f"{name} must be a list [item, seller, host, port, lifetime]"
                            f" with an optional description")
    details = _description(value[5], name + " description") if len(value) == 6 else ()
    return Handed(checkItem(value[0], name + " item"), checkPosition(value[1], name + " seller"),
                  checkHost(value[2], name + " host"), checkPort(value[3], name + " port"),
                  checkLifetime(value[4], name + " lifetime"), details)


def checkSeller(value, name):
    """A seller: [id, host, port], then optionally the description of a
    shared file."""
    if type(value) is not list or len(value) not in (3, 4):
        raise ProtocolError(f"{name} must be a list [id, host, port] with an optional "
                            f"description")
    peer = checkPeer(value[:3], name)
    details = _description(value[3], name + " description") if len(value) == 4 else ()
    return sellerOf(*peer, details)


def _sellers(value, name):
    sellers = tuple(checkSeller(each, f"{name} entry")
                    for each in _list(value, name, MAX_SELLERS, "sellers"))
    if len({seller.id for seller in sellers}) != len(sellers):
        raise ProtocolError(f"{name} must not repeat a node")
    return sellers


def _sellerList(seller):
    """A seller of chordRecords on the wire: its description, if any, as a
    fourth element."""
    row = list(seller[:3])
    return row + [descriptionObject(seller[3:])] if len(seller) > 3 else row


def _records(value, name):
    return tuple(checkRecord(each, f"{name} entry")
                 for each in _list(value, name, MAX_TRANSFER, "records"))


checkPeer.fast = checkRecord.fast = _records.fast = checkSeller.fast = "False"
_sellers.fast = "False"
checkSuccessors = _peers(MAX_SUCCESSORS)


# -- ring upkeep, between linked nodes -------------------------------------------
#
# Each upkeep message class says so (upkeep = True): bazaar-sim counts it
# apart from trade (twisted_bazaar.sim.runner.tradeTypes), as are chordFind
# and chordFound, the finger and join lookups.


@message("chordPing", ("nonce", "nonce", checkId, REQUIRED),
         ("succ", "successor", checkFlag, None), bucket=BUCKET)
@frozen
class ChordPing(Message):
    """
    Are you alive, as a ring neighbour?  Answered by chordPong.  With
    ``succ: true`` the sender also says it takes the receiver for its
    predecessor, so it may be the receiver's successor.
    """

    upkeep = True

    nonce: int
    successor: bool = None


@message("chordPong", ("nonce", "nonce", checkId, REQUIRED))
@frozen
class ChordPong(Message):
    """The answer to chordPing, with its nonce."""

    upkeep = True

    nonce: int


@message("chordStabilize", ("nonce", "nonce", checkId, REQUIRED), bucket=BUCKET)
@frozen
class ChordStabilize(Message):
    """
    Sent to one's successor: "I may be your predecessor" (Chord's notify),
    and "who are your predecessor and successors?"; answered by chordState.
    """

    upkeep = True

    nonce: int


@message("chordState", ("nonce", "nonce", checkId, REQUIRED),
         ("pred", "pred", checkPeer, None),
         ("succs", "succs", checkSuccessors, REQUIRED))
@frozen
class ChordState(Message):
    """The answer to chordStabilize: the predecessor (after the notify;
    absent if unknown) and the successor list of the sender."""

    upkeep = True

    nonce: int
    pred: Peer
    succs: tuple


@message("chordQuit", ("pred", "pred", checkPeer, None),
         ("succs", "succs", checkSuccessors, REQUIRED))
@frozen
class ChordQuit(Message):
    """
    The sender leaves the ring: its successor takes ``pred`` as its new
    predecessor, its predecessor puts ``succs`` in its place.
    """

    upkeep = True

    pred: Peer
    succs: tuple


@message("chordTransfer", ("records", "records", _records, REQUIRED),
         ("nonce", "nonce", checkId, None), bucket=BUCKET)
@frozen
class ChordTransfer(Message):
    """Hold these records (a handover or a replica); a lifetime of 0
    withdraws one.  With a nonce, answered by chordTransferred."""

    upkeep = True

    records: tuple
    nonce: int = None

    def asDict(self):
        out = {"type": self.TYPE, "records": [handed.asList() for handed in self.records]}
        if self.nonce is not None:
            out["nonce"] = self.nonce
        return out


@message("chordTransferred", ("nonce", "nonce", checkId, REQUIRED),
         ("count", "count", checkCount, REQUIRED))
@frozen
class ChordTransferred(Message):
    """The records of the chordTransfer with this nonce are held."""

    upkeep = True

    nonce: int
    count: int


# -- key-routed requests, and their path-routed answers ------------------------------


@message("chordFind", ("id", "id", checkId, REQUIRED), ("key", "key", checkPosition, REQUIRED),
         ("returnPath", "return_path", checkPath, REQUIRED), bucket=BUCKET)
@frozen
class ChordFind(Message):
    """Which node holds key?  Answered by chordFound."""

    upkeep = True

    id: int
    key: int
    return_path: tuple


@message("chordFound", ("id", "id", checkId, REQUIRED), ("key", "key", checkPosition, REQUIRED),
         ("path", "path", checkPath, REQUIRED), ("hops", "hops", checkHops, REQUIRED),
         ("node", "node", checkPeer, REQUIRED),
         ("succs", "succs", checkSuccessors, REQUIRED), routed=True)
@frozen
class ChordFound(Message):
    """``node`` holds key; ``succs`` is its successor list."""

    upkeep = True

    id: int
    key: int
    path: tuple
    hops: int
    node: Peer
    succs: tuple


@message("chordRequest", ("id", "id", checkId, REQUIRED), ("item", "item", checkItem, REQUIRED),
         ("returnPath", "return_path", checkPath, REQUIRED), bucket=BUCKET)
@frozen
class ChordRequest(Message):
    """Who sells item?  Routed to the holder of its key; answered by
    chordRecords."""

    id: int
    item: str
    return_path: tuple


@message("chordRecords", ("id", "id", checkId, REQUIRED), ("item", "item", checkItem, REQUIRED),
         ("path", "path", checkPath, REQUIRED), ("hops", "hops", checkHops, REQUIRED),
         ("holder", "holder", checkPosition, REQUIRED),
         ("sellers", "sellers", _sellers, REQUIRED), routed=True)
@frozen
class ChordRecords(Message):
    """The sellers of item that node ``holder`` knows: each a L{Peer}, or
    a L{Described} if it shares item as a file."""

    id: int
    item: str
    path: tuple
    hops: int
    holder: int
    sellers: tuple

    def asDict(self):
        return {"type": self.TYPE, "id": self.id, "item": self.item, "path": self.path,
                "hops": self.hops, "holder": self.holder,
                "sellers": [_sellerList(seller) for seller in self.sellers]}


@message("chordStore", ("id", "id", checkId, REQUIRED), ("item", "item", checkItem, REQUIRED),
         ("host", "host", checkHost, REQUIRED), ("port", "port", checkPort, REQUIRED),
         ("lifetime", "lifetime", checkLifetime, REQUIRED),
         ("returnPath", "return_path", checkPath, REQUIRED), *OFFER_FIELDS,
         bucket=BUCKET)
@frozen
class ChordStore(Message):
    """
    The seller returnPath[0] sells item at host:port, for lifetime ms (0:
    no more), with the optional size, sha256 and transfer port of a file
    it shares as item.  Routed to the holder of the item's key; answered
    by chordStored.
    """

    id: int
    item: str
    host: str
    port: int
    lifetime: int
    return_path: tuple
    size: int = None
    sha256: str = None
    transfer: int = None

    def details(self):
        """The description the record keeps: (size, sha256, transfer), or
        () when the store gives none of them."""
        details = (self.size, self.sha256, self.transfer)
        return details if any(d is not None for d in details) else ()


@message("chordStored", ("id", "id", checkId, REQUIRED), ("item", "item", checkItem, REQUIRED),
         ("path", "path", checkPath, REQUIRED), ("hops", "hops", checkHops, REQUIRED),
         ("holder", "holder", checkPosition, REQUIRED), routed=True)
@frozen
class ChordStored(Message):
    """Node ``holder`` took the chordStore with this id (and passed it on
    to its replicas)."""

    id: int
    item: str
    path: tuple
    hops: int
    holder: int
