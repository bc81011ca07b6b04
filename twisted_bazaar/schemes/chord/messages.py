"""
The messages of the Chord scheme (see docs/protocol.md, "The chord
scheme").  Ring upkeep between linked nodes: ``chordPing``/``chordPong``,
``chordStabilize``/``chordState``, ``chordQuit``, ``chordTransfer``/
``chordTransferred``.  Key-routed requests, passed on hop by hop towards
the node that holds their key, each carrying its ``returnPath``:
``chordFind``, ``chordRequest``, ``chordStore``; their answers
(``chordFound``, ``chordRecords``, ``chordStored``) are path-routed back.

A peer is sent as ``[id, host, port]``.  Records are the sellers' own,
signed (L{twisted_bazaar.core.records}): a chordStore carries its
seller's, a record travels in a chordTransfer as ``[lifetime, record]``
(lifetime: the milliseconds its holder keeps it), and chordRecords names
each seller by its record.
"""

import re
from typing import NamedTuple

from twisted_bazaar.core.records import MAX_MS, checkRecord, recordObjects
from twisted_bazaar.net.limits import declareBucket
from twisted_bazaar.schemes.chord.ring import SIZE
from twisted_bazaar.transports.relay.kind import relaysOfPaths
from twisted_bazaar.wire.ids import wireId
from twisted_bazaar.wire import (
    MAX_PATH,
    Message,
    field,
    ProtocolError,
    checkFlag,
    checkHost,
    checkId,
    checkItem,
    checkNodeId,
    checkPath,
    checkPort,
    intIn,
    message,
)
from twisted_bazaar.schemes.chord.settings import MAX_SUCCESSORS
from twisted_bazaar.schemes.chord.state import Peer

#: Most records one chordTransfer carries.
MAX_TRANSFER = 64
#: Most peers one chordNearIs names (a ring of N nodes has about log2 N
#: distinct fingers: 64 is past any ring's).
MAX_FINGERS = 64
#: Most sellers one chordRecords names.
MAX_SELLERS = 64
#: Longest lifetime of a record, in milliseconds (a day).
MAX_LIFETIME_MS = 86_400_000
#: The rate-limit bucket of the messages a peer can make this node work for.
BUCKET = "chord"
BUCKET_LIMIT = declareBucket(
    BUCKET, None, "chord messages one link may send (the link's search rate): "
    "each makes the node work", owner=__name__)

_HEX_POSITION = re.compile(r"[0-9a-f]{32}")


def checkPosition(value, name):
    """A ring position: 128 bits as 32 lowercase hex digits on the wire,
    an int here."""
    if type(value) is not str or _HEX_POSITION.fullmatch(value) is None:
        raise ProtocolError(f"{name} must be a ring position: 32 lowercase hex digits")
    return int(value, 16)


def positionText(position):
    """A ring position as the wire writes it (a node id given as a
    position is its place: modulo 2^128)."""
    return format(position & (SIZE - 1), "032x")


checkPosition.fast = "False"
checkPosition.toWire = positionText
checkLifetime = intIn(0, MAX_LIFETIME_MS, f"milliseconds from 0 to {MAX_LIFETIME_MS}")
checkHops = intIn(0, MAX_PATH, f"from 0 to {MAX_PATH}")
checkCount = intIn(0, MAX_TRANSFER, f"from 0 to {MAX_TRANSFER}")
checkHolders = intIn(1, MAX_SUCCESSORS, f"from 1 to {MAX_SUCCESSORS}")
checkClock = intIn(0, MAX_MS, "milliseconds since the Unix epoch, from 0 to 2^53")


def _list(value, name, most, what):
    if type(value) is not list or len(value) > most:
        raise ProtocolError(f"{name} must be a list of at most {most} {what}")
    return value


def checkPeer(value, name):
    """A peer: [id, host, port]."""
    if type(value) is not list or len(value) != 3:
        raise ProtocolError(f"{name} must be a list [id, host, port]")
    return Peer(checkNodeId(value[0], name + " id"), checkHost(value[1], name + " host"),
                checkPort(value[2], name + " port"))


def peerList(peer):
    """A peer as the wire writes it."""
    return None if peer is None else [wireId(peer.id), peer.host, peer.port]


def peerLists(peers):
    return [peerList(peer) for peer in peers]


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
    """A record as it travels in a chordTransfer: the seller's signed
    record (or withdrawal), and the milliseconds its holder keeps it."""

    lifetime: int
    record: object

    @classmethod
    def of(cls, held, now):
        """A L{Held} record as sent at clock time now: at least 1 ms while
        it is held, 0 once it has expired."""
        left = 0 if held.expires <= now else max(1, round((held.expires - now) * 1000))
        return cls(left, held.record)

    def asList(self):
        return [self.lifetime, self.record.asDict()]


def checkHanded(value, name):
    """A record in a chordTransfer: [lifetime ms, record]."""
    if type(value) is not list or len(value) != 2:
        raise ProtocolError(f"{name} must be a list [lifetime, record]")
    return Handed(checkLifetime(value[0], name + " lifetime"),
                  checkRecord(value[1], name + " record"))


def _sellers(value, name):
    sellers = tuple(checkRecord(each, f"{name} entry")
                    for each in _list(value, name, MAX_SELLERS, "records"))
    if len({seller.seller for seller in sellers}) != len(sellers):
        raise ProtocolError(f"{name} must not repeat a seller")
    return sellers


def _records(value, name):
    return tuple(checkHanded(each, f"{name} entry")
                 for each in _list(value, name, MAX_TRANSFER, "records"))


def handedLists(records):
    """The records of a chordTransfer as it writes them."""
    return [handed.asList() for handed in records]


checkPeer.fast = _records.fast = _sellers.fast = "False"
_records.toWire = handedLists
_sellers.toWire = recordObjects
checkPeer.toWire = peerList
checkSuccessors = _peers(MAX_SUCCESSORS)
checkSuccessors.toWire = peerLists
checkFingers = _peers(MAX_FINGERS)
checkFingers.toWire = peerLists


# -- ring upkeep, between linked nodes -------------------------------------------
#
# Each upkeep message class says so (upkeep = True): bazaar-sim counts it
# apart from trade (twisted_bazaar.sim.metrics.tradeTypes), as are chordFind
# and chordFound, the finger and join lookups.


@message("chordPing", bucket=BUCKET)
class ChordPing(Message):
    """
    Are you alive, as a ring neighbour?  Answered by chordPong.  With
    ``succ: true`` the sender also says it takes the receiver for its
    predecessor, so it may be the receiver's successor.
    """

    upkeep = True

    nonce: int = field(checkId)
    successor: bool = field(checkFlag, wire="succ", default=None)


@message("chordPong")
class ChordPong(Message):
    """The answer to chordPing, with its nonce."""

    upkeep = True

    nonce: int = field(checkId)


@message("chordStabilize", bucket=BUCKET)
class ChordStabilize(Message):
    """
    Sent to one's successor: "I may be your predecessor" (Chord's notify),
    and "who are your predecessor and successors?"; answered by chordState.
    """

    upkeep = True

    nonce: int = field(checkId)


@message("chordState")
class ChordState(Message):
    """The answer to chordStabilize: the predecessor (after the notify;
    absent if unknown) and the successor list of the sender."""

    upkeep = True

    nonce: int = field(checkId)
    pred: Peer = field(checkPeer, optional=True)
    succs: tuple = field(checkSuccessors)


# -- the tracker's introductions (its chord extension) -------------------------------


@message("chordNear")
class ChordNear(Message):
    """
    Sent by a chord node to the tracker: "name the nodes of the ring
    around my place": the registered chord node that follows the sender's
    id, and with ``fingers`` also the first node at or after each of the
    sender's finger positions.  Answered by chordNearIs.
    """

    upkeep = True

    nonce: int = field(checkId)
    fingers: bool = field(checkFlag, default=None)


@message("chordNearIs", retired=("relays",))
class ChordNearIs(Message):
    """The tracker's answer to chordNear: the distinct nodes asked for, the
    one that follows the asker first; none if the asker is alone.
    ``relays`` names the relay of each of them reached through one: on
    the wire, ``paths``, a list of paths a node (L{relaysOfPaths})."""

    upkeep = True

    nonce: int = field(checkId)
    nodes: tuple = field(checkFingers)
    relays: dict = field(relaysOfPaths(MAX_FINGERS), wire="paths", default=None,
                         hash=False)


@message("chordPred", bucket=BUCKET)
class ChordPred(Message):
    """
    Who is your predecessor?  Sent to a finger, to check it is still the
    finger: if a node came between the finger's position and the finger,
    it is the finger's predecessor.  Answered by chordPredIs.
    """

    upkeep = True

    nonce: int = field(checkId)


@message("chordPredIs")
class ChordPredIs(Message):
    """The answer to chordPred: the sender's predecessor (absent if it
    knows none)."""

    upkeep = True

    nonce: int = field(checkId)
    pred: Peer = field(checkPeer, default=None)


@message("chordNext", bucket=BUCKET)
class ChordNext(Message):
    """
    A detour's step (L{twisted_bazaar.schemes.chord.detour}): "which nodes
    do you know nearest before key, and after it?".  Answered by
    chordNextIs, by a node on the ring.
    """

    nonce: int = field(checkId)
    key: int = field(checkPosition)


@message("chordNextIs")
class ChordNextIs(Message):
    """The answer to chordNext: the sender's peers nearest before the key
    (nearest first), then its successors at or after it."""

    nonce: int = field(checkId)
    nodes: tuple = field(checkSuccessors)


@message("chordQuit")
class ChordQuit(Message):
    """
    The sender leaves the ring: its successor takes ``pred`` as its new
    predecessor, its predecessor puts ``succs`` in its place.
    """

    upkeep = True

    pred: Peer = field(checkPeer, optional=True)
    succs: tuple = field(checkSuccessors)


@message("chordTransfer", bucket=BUCKET)
class ChordTransfer(Message):
    """Hold these records (a handover or a replica); a lifetime of 0
    withdraws one.  With a nonce, answered by chordTransferred."""

    upkeep = True

    records: tuple = field(_records)
    nonce: int = field(checkId, default=None)


@message("chordTransferred")
class ChordTransferred(Message):
    """The records of the chordTransfer with this nonce are held."""

    upkeep = True

    nonce: int = field(checkId)
    count: int = field(checkCount)


# -- key-routed requests, and their path-routed answers ------------------------------


@message("chordFind", bucket=BUCKET)
class ChordFind(Message):
    """Which node holds key?  Answered by chordFound."""

    upkeep = True

    id: int = field(checkId)
    key: int = field(checkPosition)
    return_path: tuple = field(checkPath)


@message("chordFound", routed=True)
class ChordFound(Message):
    """``node`` holds key; ``succs`` is its successor list."""

    upkeep = True

    id: int = field(checkId)
    key: int = field(checkPosition)
    path: tuple = field(checkPath)
    hops: int = field(checkHops)
    node: Peer = field(checkPeer)
    succs: tuple = field(checkSuccessors)


@message("chordRequest", bucket=BUCKET)
class ChordRequest(Message):
    """Who sells item?  Routed to the holder of its key (and with
    ``holders``, from the last hop to that many holders); with ``direct``,
    served by the node it is sent to, with what it holds (a detour's
    question to a holder it found); answered by chordRecords."""

    id: int = field(checkId)
    item: str = field(checkItem)
    return_path: tuple = field(checkPath)
    holders: int = field(checkHolders, default=None)
    direct: bool = field(checkFlag, default=None)


@message("chordRecords", routed=True)
class ChordRecords(Message):
    """The sellers of item that node ``holder`` knows, each by its signed
    record."""

    id: int = field(checkId)
    item: str = field(checkItem)
    path: tuple = field(checkPath)
    hops: int = field(checkHops)
    holder: int = field(checkNodeId)
    sellers: tuple = field(_sellers)


@message("chordStore", bucket=BUCKET)
class ChordStore(Message):
    """
    The seller returnPath[0] stores its signed record of item (or its
    withdrawal), to be kept for lifetime ms at most.  Routed to the holder
    of the item's key (and with ``holders``, from the last hop to that
    many holders); with ``direct``, taken by the node it is sent to (a
    detour's store at a holder it found); answered by chordStored.
    """

    id: int = field(checkId)
    item: str = field(checkItem)
    lifetime: int = field(checkLifetime)
    return_path: tuple = field(checkPath)
    record: object = field(checkRecord)
    holders: int = field(checkHolders, default=None)
    direct: bool = field(checkFlag, default=None)


@message("chordStored", routed=True)
class ChordStored(Message):
    """Node ``holder`` took the chordStore with this id (and passed it on
    to its replicas); with ``full``, it did not: it holds as many records
    of the seller's key as one key may, so the record is not held there;
    with ``clock`` (the holder's time, ms since the Unix epoch), it did
    not either: the record was untimely by that clock (issued too far
    ahead, or expired), so the seller's clock is apart from it.  An older
    seller, which knows no ``clock``, reads that answer as taken."""

    id: int = field(checkId)
    item: str = field(checkItem)
    path: tuple = field(checkPath)
    hops: int = field(checkHops)
    holder: int = field(checkNodeId)
    full: bool = field(checkFlag, default=None)
    clock: int = field(checkClock, default=None)

    @property
    def refused(self):
        """Whether the holder did not take the record (L{full}, or an
        untimely one: L{clock})."""
        return bool(self.full) or self.clock is not None
