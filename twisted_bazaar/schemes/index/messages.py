"""
The messages of the index scheme, all between a node and the tracker:
``register``/``unregister`` (answered by ``ack``), ``lookup`` (answered by
``found``) and ``list`` (answered by ``listing``).
"""

from twisted_bazaar.core.records import PER_KEY, checkRecord, recordedSellers
from twisted_bazaar.wire import (
    Message,
    field,
    errorCode,
    checkItem,
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


@message("register", bucket="register")
class Register(Message):
    """A seller tells the tracker it has item in stock, with its signed
    record of it (which describes a shared file)."""

    item: str = field(checkItem)
    record: object = field(checkRecord)


@message("unregister", bucket="register")
class Unregister(Message):
    """A seller tells the tracker it has no more of item."""

    item: str = field(checkItem)


@message("ack")
class Ack(Message):
    """The tracker confirms a register or unregister."""

    item: str = field(checkItem)


@message("lookup", bucket="query")
class Lookup(Message):
    """Who sells item?"""

    item: str = field(checkItem)


@message("found")
class Found(Message):
    """
    The answer to a lookup: (id, host, port, record) of each seller, least
    recently handed out first; on the wire each is an object {id, host,
    port, record}.
    """

    item: str = field(checkItem)
    sellers: tuple = field(_sellers)


@message("list", bucket="listing")
class List(Message):
    """What is on offer?"""


@message("listing")
class Listing(Message):
    """The answer to list: item -> number of sellers."""

    items: dict = field(_counts, hash=False)
