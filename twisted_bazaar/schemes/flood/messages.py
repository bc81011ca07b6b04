"""The messages of the flood scheme: ``search`` and its ``reply``."""

from twisted_bazaar.files.messages import OFFER_FIELDS
from twisted_bazaar.wire import (
    REQUIRED,
    Message,
    checkHost,
    checkId,
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
         ("path", "path", checkPath, REQUIRED), ("seller", "seller", checkId, REQUIRED),
         ("host", "host", checkHost, REQUIRED), ("port", "port", checkPort, REQUIRED),
         *OFFER_FIELDS, ("key", "key", checkKey, None), ("sig", "sig", checkSig, None),
         routed=True)
@frozen
class Reply(Message):
    """A seller's offer, routed back to the buyer; id is the search's id.
    An offer of a shared file also carries size, sha256 and transfer.
    Signed by the seller (see L{twisted_bazaar.identity.keys.signed}), file
    fields included."""

    id: int
    item: str
    path: tuple
    seller: int
    host: str
    port: int
    size: int = None
    sha256: str = None
    transfer: int = None
    key: str = None
    sig: str = None
