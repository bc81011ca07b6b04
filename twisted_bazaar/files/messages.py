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
    Message,
    field,
    ProtocolError,
    checkSha256,
    checkSize,
    errorCode,
    intIn,
    message,
    text,
)

#: Most pieces a file may have (see L{twisted_bazaar.files.hashing}).
MAX_PIECES = 4096

errorCode("nofile", "this node shares no file with that hash (any more)")
errorCode("badrange", "the range asked for is not inside the file")
errorCode("busy", "the answerer is too busy now: a status question is answered after "
                  "retryAfter ms, a transfer by another seller")

checkPieceSize = intIn(1, MAX_SIZE, "a piece size from 1 to 2^53")

def checkPieces(value, name):
    """about.pieces: a list of SHA-256s (hex), one per piece."""
    if type(value) is not list or not 1 <= len(value) <= MAX_PIECES:
        raise ProtocolError(f"{name} must be a list of 1 to {MAX_PIECES} SHA-256s")
    for each in value:
        checkSha256(each, name + " entry")
    return tuple(bytes.fromhex(each) for each in value)


def piecesText(pieces):
    """Raw piece digests as about.pieces writes them: hex."""
    return [piece.hex() for piece in pieces]


checkPieces.fast = "False"
checkPieces.toWire = piecesText


@message("cipher")
class Cipher(Message):
    """Switch the connection's channel to the cipher function ``name``
    (asked first by the buyer; the seller answers with the same message)."""

    name: str = field(text(1, 64))


@message("head")
class Head(Message):
    """Describe the shared file with this content."""

    sha256: str = field(checkSha256)


@message("about")
class About(Message):
    """The answer to head: the file's size, its piece size and the SHA-256
    of each piece (raw digests here, hex on the wire), whose tree must
    give the file's identity, C{sha256}."""

    sha256: str = field(checkSha256)
    size: int = field(checkSize)
    piece_size: int = field(checkPieceSize)
    pieces: tuple = field(checkPieces)


@message("get")
class Get(Message):
    """Send ``length`` bytes of the file from ``offset``."""

    sha256: str = field(checkSha256)
    offset: int = field(checkSize)
    length: int = field(checkSize)


@message("data")
class Data(Message):
    """The answer to get: exactly ``length`` raw bytes follow this frame."""

    sha256: str = field(checkSha256)
    offset: int = field(checkSize)
    length: int = field(checkSize)
