"""
The messages of the superpeer scheme, its error codes and its link
purposes.

Between a leaf and its super-peer (on a link of purpose C{leaf}):
``leafRegister`` and ``leafUpdate`` (each answered by ``leafAck``) and
``leafQuery`` (answered by ``leafHits``).  Among super-peers (links of
purpose C{super}): ``spQuery``, flooded, and ``spHit``, path-routed back
to the super-peer that started the query.
"""

import attr

from twisted_bazaar.wire import (
    ID_LIMIT,
    REQUIRED,
    SELLER_KEYS,
    Message,
    checkHost,
    checkId,
    checkItem,
    checkPath,
    checkPort,
    checkTtl,
    errorCode,
    frozen,
    intIn,
    itemCounts,
    message,
    objectList,
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

_count = intIn(0, ID_LIMIT - 1, "a count")
_counts = itemCounts(MAX_ITEMS)
_sellers = objectList(SELLER_KEYS, MAX_HITS, "sellers")


@message("leafRegister", ("seq", "seq", _count, REQUIRED),
         ("host", "host", checkHost, REQUIRED), ("port", "port", checkPort, REQUIRED),
         ("items", "items", _counts, REQUIRED))
@frozen
class LeafRegister(Message):
    """
    A leaf's whole inventory (item -> units), and where buyers reach it
    (host "" for the address its link comes from).  Replaces whatever the
    leaf registered before.
    """

    seq: int
    host: str
    port: int
    items: dict = attr.ib(hash=False)


@message("leafUpdate", ("seq", "seq", _count, REQUIRED),
         ("items", "items", _counts, REQUIRED))
@frozen
class LeafUpdate(Message):
    """What changed in a leaf's inventory: item -> units now (0 withdraws
    the item)."""

    seq: int
    items: dict = attr.ib(hash=False)


@message("leafAck", ("seq", "seq", _count, REQUIRED),
         ("items", "items", _count, REQUIRED))
@frozen
class LeafAck(Message):
    """The super-peer took register or update ``seq``; the leaf now has
    ``items`` entries in its index."""

    seq: int
    items: int


@message("leafQuery", ("id", "id", checkId, REQUIRED),
         ("item", "item", checkItem, REQUIRED), bucket="query")
@frozen
class LeafQuery(Message):
    """A leaf asks its super-peer who sells item."""

    id: int
    item: str


@message("leafHits", ("id", "id", checkId, REQUIRED),
         ("item", "item", checkItem, REQUIRED),
         ("sellers", "sellers", _sellers, REQUIRED))
@frozen
class LeafHits(Message):
    """The answer to leafQuery ``id``: (id, host, port) of each seller,
    best first; on the wire each is an object {id, host, port}."""

    id: int
    item: str
    sellers: tuple

    def asDict(self):
        return {"type": self.TYPE, "id": self.id, "item": self.item,
                "sellers": _sellerObjects(self.sellers)}


@message("spQuery", ("id", "id", checkId, REQUIRED), ("item", "item", checkItem, REQUIRED),
         ("returnPath", "return_path", checkPath, REQUIRED),
         ("ttl", "ttl", checkTtl, REQUIRED), bucket="search")
@frozen
class SpQuery(Message):
    """A query flooded among super-peers; each appends its id."""

    id: int
    item: str
    return_path: tuple
    ttl: int


@message("spHit", ("id", "id", checkId, REQUIRED), ("item", "item", checkItem, REQUIRED),
         ("path", "path", checkPath, REQUIRED),
         ("sellers", "sellers", _sellers, REQUIRED), routed=True)
@frozen
class SpHit(Message):
    """A super-peer's answer to spQuery ``id`` from its index, routed back
    to the origin (the last id of ``path``)."""

    id: int
    item: str
    path: tuple
    sellers: tuple

    def asDict(self):
        return {"type": self.TYPE, "id": self.id, "item": self.item,
                "path": self.path, "sellers": _sellerObjects(self.sellers)}


def _sellerObjects(sellers):
    return [{"id": i, "host": h, "port": p} for i, h, p in sellers]
