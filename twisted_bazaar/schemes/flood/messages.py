"""The messages of the flood scheme: ``search`` and its ``reply``."""

from twisted_bazaar.core.records import checkRecord
from twisted_bazaar.wire.core import checkRelay
from twisted_bazaar.wire import (
    REQUIRED,
    Message,
    checkHost,
    checkId,
    checkNodeId,
    checkItem,
    checkPath,
    checkPort,
    checkKey,
    checkSig,
    checkTtl,
    frozen,
    message,
)


@message("search", ("id", "id", checkId, REQUIRED), ("item", "item", checkItem, REQUIRED),
         ("returnPath", "return_path", checkPath, REQUIRED),
         ("ttl", "ttl", checkTtl, REQUIRED), bucket="search")
@frozen
class Search(Message):
    """A flooded query; every node that receives it appends its id."""

    id: int
    item: str
    return_path: tuple
    ttl: int


@message("reply", ("id", "id", checkId, REQUIRED), ("item", "item", checkItem, REQUIRED),
         ("path", "path", checkPath, REQUIRED), ("seller", "seller", checkNodeId, REQUIRED),
         ("host", "host", checkHost, REQUIRED), ("port", "port", checkPort, REQUIRED),
         ("record", "record", checkRecord, None), ("key", "key", checkKey, None),
         ("sig", "sig", checkSig, None), ("relay", "relay", checkRelay, None),
         routed=True)
@frozen
class Reply(Message):
    """A seller's offer, routed back to the buyer; id is the search's id.
    An offer of a shared file also carries the seller's signed record of
    it (L{twisted_bazaar.core.records}), which describes the file.  Signed
    by the seller (see L{twisted_bazaar.identity.keys.signed}), record
    included.  ``relay`` names the relay through which the seller is
    reached, when it cannot be dialled."""

    id: int
    item: str
    path: tuple
    seller: int
    host: str
    port: int
    record: object = None
    key: str = None
    sig: str = None
    relay: str = None


_fields = Reply.asDict


def _replyAsDict(reply):
    """The generated encoding, with the record (if any) as its object: a
    plain reply, the common one, pays one test."""
    out = _fields(reply)
    if reply.record is not None:
        out["record"] = reply.record.asDict()
    return out


Reply.asDict = _replyAsDict
