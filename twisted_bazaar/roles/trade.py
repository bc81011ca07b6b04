"""
The messages of trading, shared by buyers and sellers whatever the
discovery scheme: ``buy`` and ``buyOK``, path-routed, and the ``soldout``
error code.
"""

from twisted_bazaar.wire import (
    REQUIRED,
    Message,
    checkId,
    checkItem,
    checkPath,
    errorCode,
    frozen,
    message,
)

errorCode("soldout", "the seller has no stock left for this buy")


@message("buy", ("id", "id", checkId, REQUIRED), ("item", "item", checkItem, REQUIRED),
         ("path", "path", checkPath, REQUIRED), routed=True)
@frozen
class Buy(Message):
    """A buyer takes one unit; a repeated id never takes a second."""

    id: int
    item: str
    path: tuple


@message("buyOK", ("id", "id", checkId, REQUIRED), ("item", "item", checkItem, REQUIRED),
         ("path", "path", checkPath, REQUIRED), routed=True)
@frozen
class BuyOK(Message):
    """The seller confirms the buy with the same id."""

    id: int
    item: str
    path: tuple
