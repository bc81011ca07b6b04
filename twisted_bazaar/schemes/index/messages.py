"""
The messages of the index scheme, all between a node and the tracker:
``register``/``unregister`` (answered by ``ack``), ``lookup`` (answered by
``found``) and ``list`` (answered by ``listing``).
"""

from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.core.records import PER_KEY, checkRecord, recordedSellers
from twisted_bazaar.net.limits import declareBucket
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
ENTRIES_LIMIT = declare(
    "index.entries", MAX_ENTRIES, "entries",
    "entries (seller, item) a tracker's item index holds, shared fairly among "
    "address groups", owner=__name__)
#: Rate of item registrations (and unregistrations) one node may send:
#: they come in bursts of a seller's whole inventory (up to 1024 items).
REGISTER_RATE = 512.0
REGISTER_LIMIT = declareBucket(
    "register", REGISTER_RATE, "registrations and unregistrations one link may send "
    "an index", flag=None, owner=__name__)
#: Rate of an index's listings one peer is answered: a listing is built
#: at most once a second, and may be a whole frame, so a burst of ``list``
#: answered in full would queue more for the asker than it can read in
#: one turn of the reactor (past the write limit) and drop it.
LISTING_RATE = 1.0
LISTING_LIMIT = declareBucket(
    "listing", LISTING_RATE, "listings of an index one link is answered: each may be "
    "a whole frame", flag=None, owner=__name__)
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
