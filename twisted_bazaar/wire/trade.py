"""
The messages of trading, shared by buyers and sellers whatever the
discovery scheme: ``buy``, ``ask`` and ``buyOK``, path-routed, and the
``soldout``, ``unsold``, ``expired`` and ``notyet`` error codes
(docs/protocol.md §11).

A buy names everything its answer must match (item, the file's content
for a file, the buyer's key) and an expiry, so that its signed bytes
cannot be sold once it has expired; a ``buyOK`` repeats what it answers.
"""

from twisted_bazaar.wire import (
    REQUIRED,
    Message,
    checkId,
    checkItem,
    checkKey,
    checkPath,
    checkSha256,
    checkSig,
    checkSize,
    errorCode,
    frozen,
    intIn,
    message,
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

_EXPIRES = ("expires", "expires", checkExpires, None)
_FILE = (("sha256", "sha256", checkSha256, None), ("size", "size", checkSize, None))
_SIGNED = (("key", "key", checkKey, None), ("sig", "sig", checkSig, None))
_ASKED = (("id", "id", checkId, REQUIRED), ("item", "item", checkItem, REQUIRED),
          ("path", "path", checkPath, REQUIRED))


@message("buy", *_ASKED, _EXPIRES, *_FILE, *_SIGNED, routed=True)
@frozen
class Buy(Message):
    """
    A buyer takes one unit; a repeated id never takes a second.  It may
    be sold until ``expires`` (None: never); with ``sha256`` and ``size``,
    only as that content of a shared file.
    """

    id: int
    item: str
    path: tuple
    expires: int = None
    sha256: str = None
    size: int = None
    key: str = None
    sig: str = None


@message("buyOK", *_ASKED, ("buyerKey", "buyer_key", checkKey, None), *_FILE,
         *_SIGNED, routed=True, proves=True)
@frozen
class BuyOK(Message):
    """The seller confirms the buy of ``buyer_key`` with the same id, item
    and content."""

    id: int
    item: str
    path: tuple
    buyer_key: str = None
    sha256: str = None
    size: int = None
    key: str = None
    sig: str = None


@message("ask", *_ASKED, _EXPIRES, *_SIGNED, routed=True, bucket="query")
@frozen
class Ask(Message):
    """
    What became of buy ``id`` (which expires at ``expires``)?  Never
    sells: the seller answers ``buyOK`` if it sold that id, else closes
    the id for good and answers ``error{unsold}``.
    """

    id: int
    item: str
    path: tuple
    expires: int = None
    key: str = None
    sig: str = None
