"""
The messages of the transfer protocol (see ``docs/protocol.md``, "File
transfer"), and the checkers of the file fields offers carry.

They travel on a transfer connection, never on a link of the overlay: a
buyer asks with ``head`` and ``get``; a seller answers ``about``, or
``data`` followed by the bytes it announces, or ``error``.
"""

import re

from twisted_bazaar.wire import (
    REQUIRED,
    SELLER_KEYS,
    Message,
    ProtocolError,
    checkItem,
    errorCode,
    frozen,
    intIn,
    message,
    objectList,
)

#: Largest file size a peer may announce (2^53: exact in every JSON reader).
MAX_SIZE = 2**53
#: Most pieces a file may have (see L{twisted_bazaar.files.hashing}).
MAX_PIECES = 4096

errorCode("nofile", "this node shares no file with that hash (any more)")
errorCode("badrange", "the range asked for is not inside the file")
errorCode("busy", "this node serves too many transfers; try another seller")

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def checkSha256(value, name):
    """A SHA-256 in lowercase hex."""
    if type(value) is not str or not _HEX64.match(value):
        raise ProtocolError(f"{name} must be a SHA-256 as 64 lowercase hex digits")
    return value


checkSha256.fast = "False"
checkSize = intIn(0, MAX_SIZE, "a size from 0 to 2^53")
checkPieceSize = intIn(1, MAX_SIZE, "a piece size from 1 to 2^53")

#: The optional fields an offer of a shared file carries, in the messages
#: of every scheme that has sellers describe their offers (flood's reply,
#: index's register and found, superpeer's leafHits and spHit, chord's
#: chordStore): its size, its identity (C{sha256}: see
#: L{twisted_bazaar.files.tree}) and the seller's transfer port.
OFFER_FIELDS = (("size", "size", checkSize, None),
                ("sha256", "sha256", checkSha256, None),
                ("transfer", "transfer", intIn(1, 65535, "a port from 1 to 65535"),
                 None))


def describedSellers(limit):
    """
    A checker for a list of at most ``limit`` sellers (index's
    found.sellers, superpeer's leafHits.sellers and spHit.sellers): each
    an object {id, host, port} with the optional size, sha256 and transfer
    of a shared file.  It gives a tuple of (id, host, port) tuples, each
    followed by (size, sha256, transfer) when any of them is given.
    """
    addresses = objectList(SELLER_KEYS, limit, "sellers")

    def check(value, name):
        return tuple(row + offerDescription(entry, name)
                     for row, entry in zip(addresses(value, name), value))

    check.fast = "False"
    return check


def offerDescription(entry, name):
    """
    The optional size, sha256 and transfer of a shared file found in the
    JSON object ``entry`` (other keys are ignored), each checked: a tuple
    (size, sha256, transfer), None for each one missing, or () when none
    of them is given.

    @raise ProtocolError: if one of them is not valid.
    """
    details = tuple(None if entry.get(key) is None else
                    checker(entry[key], f"{name}.{key}")
                    for key, _, checker, _ in OFFER_FIELDS)
    return details if any(d is not None for d in details) else ()


def descriptionObject(details):
    """The wire object of a tuple given by L{offerDescription}: its
    fields that are not None."""
    return {key: value for (key, _, _, _), value in zip(OFFER_FIELDS, details)
            if value is not None}


def sellerObject(seller):
    """A seller as L{describedSellers} gives it, back to its wire object."""
    return {"id": seller[0], "host": seller[1], "port": seller[2],
            **descriptionObject(seller[3:])}


def fileDescriptions(limit):
    """
    A checker for a JSON object of at most ``limit`` entries, each an item
    name mapped to the description of a shared file: an object with its
    C{size}, C{sha256} and C{transfer} port, all three required (other
    keys are ignored).  It gives item -> {size, sha256, transfer}.
    """

    def check(value, name):
        if type(value) is not dict or len(value) > limit:
            raise ProtocolError(f"{name} must be an object of at most {limit} items")
        files = {}
        for item, entry in value.items():
            checkItem(item, name + " key")
            where = f"{name}[{item[:40]!r}]"
            if type(entry) is not dict:
                raise ProtocolError(f"{where} must be an object with size, sha256 "
                                    f"and transfer")
            described = {}
            for key, _, checker, _ in OFFER_FIELDS:
                if key not in entry:
                    raise ProtocolError(f"{where} lacks {key}")
                described[key] = checker(entry[key], f"{where}.{key}")
            files[item] = described
        return files

    check.fast = "False"
    return check


def checkPieces(value, name):
    """about.pieces: a list of SHA-256s (hex), one per piece."""
    if type(value) is not list or not 1 <= len(value) <= MAX_PIECES:
        raise ProtocolError(f"{name} must be a list of 1 to {MAX_PIECES} SHA-256s")
    for each in value:
        checkSha256(each, name + " entry")
    return tuple(bytes.fromhex(each) for each in value)


checkPieces.fast = "False"


@message("head", ("sha256", "sha256", checkSha256, REQUIRED))
@frozen
class Head(Message):
    """Describe the shared file with this content."""

    sha256: str


@message("about", ("sha256", "sha256", checkSha256, REQUIRED),
         ("size", "size", checkSize, REQUIRED),
         ("pieceSize", "piece_size", checkPieceSize, REQUIRED),
         ("pieces", "pieces", checkPieces, REQUIRED))
@frozen
class About(Message):
    """The answer to head: the file's size, its piece size and the SHA-256
    of each piece (raw digests here, hex on the wire), whose tree must
    give the file's identity, C{sha256}."""

    sha256: str
    size: int
    piece_size: int
    pieces: tuple

    def asDict(self):
        return {"type": "about", "sha256": self.sha256, "size": self.size,
                "pieceSize": self.piece_size,
                "pieces": [piece.hex() for piece in self.pieces]}


@message("get", ("sha256", "sha256", checkSha256, REQUIRED),
         ("offset", "offset", checkSize, REQUIRED),
         ("length", "length", checkSize, REQUIRED))
@frozen
class Get(Message):
    """Send ``length`` bytes of the file from ``offset``."""

    sha256: str
    offset: int
    length: int


@message("data", ("sha256", "sha256", checkSha256, REQUIRED),
         ("offset", "offset", checkSize, REQUIRED),
         ("length", "length", checkSize, REQUIRED))
@frozen
class Data(Message):
    """The answer to get: exactly ``length`` raw bytes follow this frame."""

    sha256: str
    offset: int
    length: int
