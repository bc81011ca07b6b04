"""
The messages of trading, shared by buyers and sellers whatever the
discovery scheme: ``buy``, ``ask`` and ``buyOK``, path-routed, and the
``soldout``, ``unsold``, ``expired`` and ``notyet`` error codes
(docs/protocol.md §11).

A buy names everything its answer must match (item, the file's content
for a file, the buyer's key), how many units it takes at most, and an
expiry, so that its signed bytes
cannot be sold once it has expired; a ``buyOK`` repeats what it answers.
"""

from twisted_bazaar.wire import (
    Message,
    field,
    checkId,
    checkItem,
    checkKey,
    checkPath,
    checkSha256,
    checkSig,
    checkSize,
    errorCode,
    intIn,
    message,
    ProtocolError,
)

errorCode("soldout", "the seller has no stock left for this buy, and will never "
          "sell it")
errorCode("unsold", "the seller never sold this buy id, and now never will")
errorCode("expired", "the buy has expired (or names no expiry) and was not sold: "
          "it never will be")
errorCode("notyet", "the seller did not sell this buy, but cannot yet promise "
          "never to: ask again once it has expired")

#: ``expires``: milliseconds since the Unix epoch (UTC).
checkExpires = intIn(0, 2**63 - 1, "milliseconds since the Unix epoch")
#: Most units one buy can name (and one buyOK can count); and so the most
#: units of an item a seller is given (``--sell``, ``bazaar restock``) or a
#: buyer asks for (``--quantity``), the one bound of them all.
MAX_QUANTITY = 1_000_000_000
checkUnits = intIn(1, MAX_QUANTITY, f"a number of units, 1 to {MAX_QUANTITY:,}")

#: Most hashes a ``buyOK``'s ``proof`` holds: enough for a batch of 2^32
#: answers (a seller signs a turn's at once, far fewer).
MAX_PROOF = 32


def checkProof(value, name):
    """A batch signature's ``proof`` (docs/protocol.md, "Batch
    signatures"): a list of at most MAX_PROOF hashes, each 43 characters
    of text (32 bytes in base64url, checked when used), as a tuple."""
    if (type(value) is not list or len(value) > MAX_PROOF
            or not all(type(each) is str and len(each) == 43 and each.isascii()
                       for each in value)):
        raise ProtocolError(f"{name} must be a list of at most {MAX_PROOF} hashes, "
                            "each 43 characters of base64url")
    return tuple(value)


checkProof.fast = "False"


@message("buy", routed=True)
class Buy(Message):
    """
    A buyer takes up to ``quantity`` units (None: one) under one id; a
    repeated id never takes more.  It may be sold until ``expires``
    (None: never); with ``sha256`` and ``size``, only as that content of
    a shared file, one unit.
    """

    id: int = field(checkId)
    item: str = field(checkItem)
    path: tuple = field(checkPath)
    expires: int = field(checkExpires, default=None)
    sha256: str = field(checkSha256, default=None)
    size: int = field(checkSize, default=None)
    quantity: int = field(checkUnits, default=None)
    key: str = field(checkKey, default=None)
    sig: str = field(checkSig, default=None)

    def checkWhole(self):
        """A buy that names a file's content by half (its sha256 without
        its size, or the size alone) names no content, and a seller that
        read it as one it does not share would close the buy for good."""
        if (self.sha256 is None) is not (self.size is None):
            raise ProtocolError("buy names a file's sha256 and size together, or neither")


def quantityField(units):
    """``quantity`` for a buy of units: left out for one, as old buyers
    sent it."""
    return units if units != 1 else None


@message("buyOK", routed=True, proves=True)
class BuyOK(Message):
    """The seller confirms the buy of ``buyer_key`` with the same id, item
    and content: ``count`` units sold (None: one), never more than it
    asked for."""

    id: int = field(checkId)
    item: str = field(checkItem)
    path: tuple = field(checkPath)
    buyer_key: str = field(checkKey, default=None)
    sha256: str = field(checkSha256, default=None)
    size: int = field(checkSize, default=None)
    count: int = field(checkUnits, default=None)
    key: str = field(checkKey, default=None)
    sig: str = field(checkSig, default=None)
    #: With a batch signature: the hashes from this answer to the root
    #: ``sig`` signs (docs/protocol.md, "Batch signatures").
    proof: tuple = field(checkProof, default=None)


def countOf(ok):
    """The units a buyOK says were sold: its ``count``, one when it names
    none."""
    return ok.count or 1


@message("ask", routed=True, bucket="query")
class Ask(Message):
    """
    What became of buy ``id`` (which expires at ``expires``)?  Never
    sells: the seller answers ``buyOK`` if it sold that id, else closes
    the id for good and answers ``error{unsold}``.
    """

    id: int = field(checkId)
    item: str = field(checkItem)
    path: tuple = field(checkPath)
    expires: int = field(checkExpires, default=None)
    key: str = field(checkKey, default=None)
    sig: str = field(checkSig, default=None)
