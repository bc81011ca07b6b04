"""
The messages of the superpeer scheme, its error codes and its link
purposes.

Between a leaf and its super-peer (on a link of purpose C{leaf}):
``leafRegister`` and ``leafUpdate`` (each answered by ``leafAck``) and
``leafQuery`` (answered by ``leafHits``).  Among super-peers (links of
purpose C{super}): ``spQuery``, flooded, and ``spHit``, path-routed back
to the super-peer that started the query.  A leaf signs a record of each item
it registers (L{twisted_bazaar.core.records}), which describes a shared
file (size, sha256, transfer port), in the ``records`` of its register
and updates; the hits carry each seller's record, for the buyer to check.
"""

from twisted_bazaar.core.records import checkRecord, recordedSellers
from twisted_bazaar.transports.relay.kind import relayOfPaths
from twisted_bazaar.wire import (
    ID_LIMIT,
    Message,
    field,
    ProtocolError,
    checkHost,
    checkId,
    checkItem,
    checkPath,
    checkPort,
    checkTtl,
    errorCode,
    intIn,
    itemCounts,
    message,
)

#: The purpose of a leaf's link to its super-peer.
LEAF = "leaf"
#: The purpose of a link between two super-peers.
SUPER = "super"
#: Most items one leafRegister or leafUpdate may carry.
MAX_ITEMS = 1024
#: Most sellers one leafHits or spHit names.
MAX_HITS = 64

errorCode("toomany", "the leaf's inventory is over the super-peer's per-leaf bound")
errorCode("full", "the super-peer's index has no room for these entries")
errorCode("unknown", "an update withdraws an item the leaf never registered")
errorCode("claimed", "another live leaf registered that address")
errorCode("busy", "past the rate of records checked, or of address checks, of the "
          "leaf's address group")

_count = intIn(0, ID_LIMIT - 1, "a count")
_counts = itemCounts(MAX_ITEMS)
_sellers = recordedSellers(MAX_HITS)


def _records(value, name):
    """item -> the leaf's record of it, for at most MAX_ITEMS items."""
    if type(value) is not dict or len(value) > MAX_ITEMS:
        raise ProtocolError(f"{name} must be an object of at most {MAX_ITEMS} records")
    records = {}
    for item, record in value.items():
        checkItem(item, name + " key")
        records[item] = checkRecord(record, f"{name}[{item[:40]!r}]")
    return records


def _recordsObject(records):
    """item -> record, each record as its wire object."""
    return {item: record.asDict() for item, record in records.items()}


_records.fast = "False"
_records.toWire = _recordsObject


@message("leafRegister", retired=("relay",))
class LeafRegister(Message):
    """
    A leaf's whole inventory (item -> units), and where buyers reach it
    (host "" for the address its link comes from; ``relay``, the relay
    through which it is reached when it cannot be dialled, a ``relayed``
    path in ``paths`` on the wire: L{relayOfPaths}).  Replaces
    whatever the leaf registered before.  ``records`` holds the leaf's
    signed record of each item it names with units above 0 (item ->
    record).
    """

    seq: int = field(_count)
    host: str = field(checkHost)
    port: int = field(checkPort)
    items: dict = field(_counts, hash=False)
    records: dict = field(_records, default=None, hash=False)
    relay: str = field(relayOfPaths, wire="paths", default=None)


@message("leafUpdate")
class LeafUpdate(Message):
    """What changed in a leaf's inventory: item -> units now (0 withdraws
    the item); ``records`` holds the leaf's record of each item it names
    with units above 0, as in L{LeafRegister}."""

    seq: int = field(_count)
    items: dict = field(_counts, hash=False)
    records: dict = field(_records, default=None, hash=False)


@message("leafAck")
class LeafAck(Message):
    """The super-peer took register or update ``seq``; the leaf now has
    ``items`` entries in its index."""

    seq: int = field(_count)
    items: int = field(_count)


@message("leafQuery", bucket="query")
class LeafQuery(Message):
    """A leaf asks its super-peer who sells item."""

    id: int = field(checkId)
    item: str = field(checkItem)


@message("leafHits")
class LeafHits(Message):
    """The answer to leafQuery ``id``: (id, host, port, record) of each
    seller, best first; on the wire each is an object {id, host, port,
    record}."""

    id: int = field(checkId)
    item: str = field(checkItem)
    sellers: tuple = field(_sellers)


@message("spQuery", bucket="search")
class SpQuery(Message):
    """A query flooded among super-peers; each appends its id."""

    id: int = field(checkId)
    item: str = field(checkItem)
    return_path: tuple = field(checkPath)
    ttl: int = field(checkTtl)


@message("spHit", routed=True)
class SpHit(Message):
    """A super-peer's answer to spQuery ``id`` from its index, routed back
    to the origin (the last id of ``path``); ``sellers`` as in
    L{LeafHits}."""

    id: int = field(checkId)
    item: str = field(checkItem)
    path: tuple = field(checkPath)
    sellers: tuple = field(_sellers)
