"""
The messages of the transfer protocol (see ``docs/protocol.md``, "File
transfer") and the checkers of a file's fields (L{checkSha256} and
L{checkSize}, the wire's, which records and a ``buy`` of a file use too).

They travel on a transfer connection, never on a link of the overlay: a
buyer asks with ``head`` and ``get``; a seller answers ``about``, or
``data`` followed by the bytes it announces, or ``error``.
"""

from twisted_bazaar.wire import (
    MAX_SIZE,
    REQUIRED,
    Message,
    ProtocolError,
    checkSha256,
    checkSize,
    errorCode,
    frozen,
    intIn,
    message,
)

#: Most pieces a file may have (see L{twisted_bazaar.files.hashing}).
MAX_PIECES = 4096

errorCode("nofile", "this node shares no file with that hash (any more)")
errorCode("badrange", "the range asked for is not inside the file")
errorCode("busy", "this node serves too many transfers; try another seller")

checkPieceSize = intIn(1, MAX_SIZE, "a piece size from 1 to 2^53")

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
