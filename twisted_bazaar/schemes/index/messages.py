"""
The messages of the index scheme, all between a node and the tracker:
``register``/``unregister`` (answered by ``ack``), ``lookup`` (answered by
``found``) and ``list`` (answered by ``listing``).
"""

import attr

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
#: found.sellers: a list of {id, host, port} objects.
_sellers = objectList(SELLER_KEYS, MAX_FOUND, "sellers")
#: listing.items: an object mapping item names to counts.
_counts = itemCounts(MAX_LISTING)


@message("register", ("item", "item", checkItem, REQUIRED))
@frozen
class Register(Message):
    """A seller tells the tracker it has item in stock."""

    item: str


@message("unregister", ("item", "item", checkItem, REQUIRED))
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
    handed out first.  On the wire each is an object {id, host, port}.
    """

    item: str
    sellers: tuple

    def asDict(self):
        return {"type": "found", "item": self.item,
                "sellers": [{"id": i, "host": h, "port": p} for i, h, p in self.sellers]}


@message("list", bucket="query")
@frozen
class List(Message):
    """What is on offer?"""


@message("listing", ("items", "items", _counts, REQUIRED))
@frozen
class Listing(Message):
    """The answer to list: item -> number of sellers."""

    items: dict = attr.ib(hash=False)
