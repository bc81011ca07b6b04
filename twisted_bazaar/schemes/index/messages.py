"""
The messages of the index scheme, all between a node and the tracker:
``register``/``unregister`` (answered by ``ack``), ``lookup`` (answered by
``found``) and ``list`` (answered by ``listing``).
"""

import attr

from twisted_bazaar.files.messages import OFFER_FIELDS, describedSellers, sellerObject
from twisted_bazaar.wire import (
    REQUIRED,
    Message,
    checkItem,
    frozen,
    itemCounts,
    message,
)

#: Most sellers a ``found`` names.
MAX_FOUND = 64
#: Most items a ``listing`` names.
MAX_LISTING = 1024
#: Most items one node may have registered at once.
MAX_ITEMS_PER_NODE = 1024
#: listing.items: an object mapping item names to counts.
_counts = itemCounts(MAX_LISTING)
#: found.sellers: {id, host, port} objects, with a shared file's optional
#: size, sha256 and transfer.
_sellers = describedSellers(MAX_FOUND)


@message("register", ("item", "item", checkItem, REQUIRED), *OFFER_FIELDS,
         bucket="register")
@frozen
class Register(Message):
    """A seller tells the tracker it has item in stock (for a shared file:
    its size, sha256 and transfer port too)."""

    item: str
    size: int = None
    sha256: str = None
    transfer: int = None


@message("unregister", ("item", "item", checkItem, REQUIRED), bucket="register")
@frozen
class Unregister(Message):
    """A seller tells the tracker it has no more of item."""

    item: str


@message("ack", ("item", "item", checkItem, REQUIRED))
@frozen
class Ack(Message):
    """The tracker confirms a register or unregister."""

    item: str


@message("lookup", ("item", "item", checkItem, REQUIRED), bucket="query")
@frozen
class Lookup(Message):
    """Who sells item?"""

    item: str


@message("found", ("item", "item", checkItem, REQUIRED),
          ("sellers", "sellers", _sellers, REQUIRED))
@frozen
class Found(Message):
    """
    The answer to a lookup: (id, host, port) of each seller, least recently
    handed out first, followed by (size, sha256, transfer) for a shared
    file.  On the wire each is an object {id, host, port} with the optional
    size, sha256 and transfer.
    """

    item: str
    sellers: tuple

    def asDict(self):
        return {"type": "found", "item": self.item,
                "sellers": [sellerObject(seller) for seller in self.sellers]}


@message("list", bucket="query")
@frozen
class List(Message):
    """What is on offer?"""


@message("listing", ("items", "items", _counts, REQUIRED))
@frozen
class Listing(Message):
    """The answer to list: item -> number of sellers."""

    items: dict = attr.ib(hash=False)
