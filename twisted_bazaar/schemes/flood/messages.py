"""The messages of the flood scheme: ``search`` and its ``reply``."""

from twisted_bazaar.core.records import checkRecord
from twisted_bazaar.transports.relay.kind import relayOfPaths
from twisted_bazaar.wire import (
    Message,
    field,
    checkHost,
    checkId,
    checkNodeId,
    checkItem,
    checkPath,
    checkPort,
    checkKey,
    checkSig,
    checkTtl,
    message,
)


@message("search", bucket="search")
class Search(Message):
    """A flooded query; every node that receives it appends its id."""

    id: int = field(checkId)
    item: str = field(checkItem)
    return_path: tuple = field(checkPath)
    ttl: int = field(checkTtl)


@message("reply", routed=True, retired=("relay",))
class Reply(Message):
    """A seller's offer, routed back to the buyer; id is the search's id.
    An offer of a shared file also carries the seller's signed record of
    it (L{twisted_bazaar.core.records}), which describes the file.  Signed
    by the seller (see L{twisted_bazaar.identity.keys.signedBy}), record
    included.  ``relay`` is the relay through which the seller is
    reached, when it cannot be dialled: a ``relayed`` path on the wire,
    in ``paths`` (L{relayOfPaths})."""

    id: int = field(checkId)
    item: str = field(checkItem)
    path: tuple = field(checkPath)
    seller: int = field(checkNodeId)
    host: str = field(checkHost)
    port: int = field(checkPort)
    record: object = field(checkRecord, default=None)
    key: str = field(checkKey, default=None)
    sig: str = field(checkSig, default=None)
    relay: str = field(relayOfPaths, wire="paths", default=None)
