"""
The messages of the index scheme, all between a node and the tracker:
``register``/``unregister`` (answered by ``ack``), ``lookup`` (answered by
``found``) and ``list`` (answered by ``listing``).
"""

import attr

from twisted_bazaar.files.messages import OFFER_FIELDS
from twisted_bazaar.wire import (
    REQUIRED,
    SELLER_KEYS,
    Message,
    checkItem,
    frozen,
    itemCounts,
    message,
    objectList,
)

#: Most sellers a ``found`` names.
MAX_FOUND = 64
#: Most items a ``listing`` names.
MAX_LISTING = 1024
#: Most items one node may have registered at once.
MAX_ITEMS_PER_NODE = 1024
#: The required part of found.sellers: a list of {id, host, port} objects.
_sellerAddresses = objectList(SELLER_KEYS, MAX_FOUND, "sellers")
#: listing.items: an object mapping item names to counts.
_counts = itemCounts(MAX_LISTING)


def _sellers(value, name):
    """found.sellers: a list of {id, host, port} objects, each with the
    optional size, sha256 and transfer of a shared file (then appended to
    its tuple)."""
    rows = []
    for row, entry in zip(_sellerAddresses(value, name), value):
        details = tuple(None if entry.get(key) is None else check(entry[key],
                                                                 f"{name}.{key}")
                        for key, _, check, _ in OFFER_FIELDS)
        rows.append(row + details if any(d is not None for d in details) else row)
    return tuple(rows)


_sellers.fast = "False"


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
                "sellers": [_sellerDict(seller) for seller in self.sellers]}


def _sellerDict(seller):
    entry = {"id": seller[0], "host": seller[1], "port": seller[2]}
    for (key, _, _, _), value in zip(OFFER_FIELDS, seller[3:]):
        if value is not None:
            entry[key] = value
    return entry


@message("list", bucket="query")
@frozen
class List(Message):
    """What is on offer?"""


@message("listing", ("items", "items", _counts, REQUIRED))
@frozen
class Listing(Message):
    """The answer to list: item -> number of sellers."""

    items: dict = attr.ib(hash=False)
