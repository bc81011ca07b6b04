"""
The messages of the index scheme, all between a node and the tracker:
``register``/``unregister`` (answered by ``ack``), ``lookup`` (answered by
``found``) and ``list`` (answered by ``listing``).
"""

import attr

from twisted_bazaar.core.records import PER_KEY, checkRecord, recordedSellers, sellerObject
from twisted_bazaar.wire import (
    REQUIRED,
    Message,
    errorCode,
    checkItem,
    frozen,
    itemCounts,
    message,
)

#: Most sellers a ``found`` names.
MAX_FOUND = 64
#: Most items a ``listing`` names.
MAX_LISTING = 1024
#: Most items one node (one key) may have registered at once.
MAX_ITEMS_PER_NODE = PER_KEY
#: Most items the nodes of one address group may have registered at once.
MAX_ITEMS_PER_GROUP = 64 * MAX_ITEMS_PER_NODE
#: Most entries (seller, item) the tracker's index holds in all, shared
#: fairly among address groups: two groups' worth.
MAX_ENTRIES = 2 * MAX_ITEMS_PER_GROUP
errorCode("full", "the index has no room for this entry")

#: listing.items: an object mapping item names to counts.
_counts = itemCounts(MAX_LISTING)
#: found.sellers: {id, host, port, record} objects.
_sellers = recordedSellers(MAX_FOUND)


@message("register", ("item", "item", checkItem, REQUIRED),
         ("record", "record", checkRecord, REQUIRED), bucket="register")
@frozen
class Register(Message):
    """A seller tells the tracker it has item in stock, with its signed
    record of it (which describes a shared file)."""

    item: str
    record: object

    def asDict(self):
        return {"type": self.TYPE, "item": self.item, "record": self.record.asDict()}


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
    The answer to a lookup: (id, host, port, record) of each seller, least
    recently handed out first; on the wire each is an object {id, host,
    port, record}.
    """

    item: str
    sellers: tuple

    def asDict(self):
        return {"type": "found", "item": self.item,
                "sellers": [sellerObject(seller) for seller in self.sellers]}


@message("list", bucket="listing")
@frozen
class List(Message):
    """What is on offer?"""


@message("listing", ("items", "items", _counts, REQUIRED))
@frozen
class Listing(Message):
    """The answer to list: item -> number of sellers."""

    items: dict = attr.ib(hash=False)
