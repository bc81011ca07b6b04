"""
The wire format: the codec (L{twisted_bazaar.wire.codec}) and the core's
messages (L{twisted_bazaar.wire.core}).  Schemes and roles declare their
own messages in their own packages, with L{message}.
"""

from twisted_bazaar.wire.codec import (  # noqa: F401
    DEFAULT_TTL,
    ERROR_CODES,
    ID_LIMIT,
    MAX_EXCLUDE,
    MAX_HOST_BYTES,
    MAX_INFO_BYTES,
    MAX_ITEM_BYTES,
    MAX_PATH,
    MAX_TTL,
    MESSAGE_TYPES,
    REQUIRED,
    SELLER_KEYS,
    Message,
    ProtocolError,
    checkFlag,
    checkHost,
    checkId,
    checkInfo,
    checkItem,
    checkName,
    checkPath,
    checkPort,
    checkTtl,
    decode,
    encode,
    errorCode,
    frozen,
    idList,
    intIn,
    itemCounts,
    message,
    objectList,
    text,
)
from twisted_bazaar.wire.core import (  # noqa: F401
    Dc,
    Error,
    NodeReply,
    NodeReq,
    Ping,
    Pong,
    ThisIsMe,
    ThisIsYou,
    WhereIs,
)
