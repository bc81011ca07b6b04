"""
The messages of trading, shared by buyers and sellers whatever the
discovery scheme: ``buy``, ``ask`` and ``buyOK``, path-routed, and the
``soldout`` and ``unsold`` error codes.
"""

from twisted_bazaar.wire import (
    REQUIRED,
    Message,
    checkId,
    checkItem,
    checkKey,
    checkPath,
    checkSig,
    errorCode,
    frozen,
    message,
)

errorCode("soldout", "the seller has no stock left for this buy")
errorCode("unsold", "the seller never sold this buy id, and now never will")


@message("buy", ("id", "id", checkId, REQUIRED), ("item", "item", checkItem, REQUIRED),
         ("path", "path", checkPath, REQUIRED), ("key", "key", checkKey, None),
         ("sig", "sig", checkSig, None), routed=True)
@frozen
class Buy(Message):
    """A buyer takes one unit; a repeated id never takes a second."""

    id: int
    item: str
    path: tuple
    key: str = None
    sig: str = None


@message("buyOK", ("id", "id", checkId, REQUIRED), ("item", "item", checkItem, REQUIRED),
         ("path", "path", checkPath, REQUIRED), ("key", "key", checkKey, None),
         ("sig", "sig", checkSig, None), routed=True, proves=True)
@frozen
class BuyOK(Message):
    """The seller confirms the buy with the same id."""

    id: int
    item: str
    path: tuple
    key: str = None
    sig: str = None


@message("ask", ("id", "id", checkId, REQUIRED), ("item", "item", checkItem, REQUIRED),
         ("path", "path", checkPath, REQUIRED), ("key", "key", checkKey, None),
         ("sig", "sig", checkSig, None), routed=True, bucket="query")
@frozen
class Ask(Message):
    """
    What became of buy ``id``?  Never sells: the seller answers ``buyOK``
    if it sold that id, else closes the id for good and answers
    ``error{unsold}``.
    """

    id: int
    item: str
    path: tuple
    key: str = None
    sig: str = None
