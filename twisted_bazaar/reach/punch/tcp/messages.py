"""
The messages of hole punching, sent over a link two nodes already share
(a relayed one) to open a direct TCP connection by simultaneous open, as
libp2p's DCUtR does: ``punchConnect`` (the initiator's public address),
``punchReply`` (the other's), ``punchSync`` (dial now), and the
``nopunch`` error code of a refusal (docs/protocol.md, "Hole punching").

A host named here is never dialled for being named: each side dials the
host a third party saw the other's connection come from, and only checks
that the host named is that one (see L{twisted_bazaar.reach.punch.tcp.exchange}).
"""

from twisted_bazaar.net.limits import declareBucket
from twisted_bazaar.wire import (
    REQUIRED,
    Message,
    checkHost,
    checkId,
    checkName,
    checkPort,
    errorCode,
    field,
    frozen,
    message,
)

errorCode("nopunch", "this node will not hole-punch with you now: the info says why")

#: The per-link rate limit the punch messages count against (links give a
#: bucket they do not know the search rate).
BUCKET = "punch"
BUCKET_LIMIT = declareBucket(
    BUCKET, None, "punch messages one link may send (the link's search rate)",
    owner=__name__)


@message("punchConnect", bucket=BUCKET)
class PunchConnect(Message):
    """
    The initiator of a punch names its public address: ``host``, where a
    third party saw its connections come from, and ``port``, the local
    port it will dial from (its router keeps source ports, so the public
    port is the same); ``nonce`` names this attempt.  ``purpose`` says
    what the punched connection is for: a link (left out), or ``files``,
    the other side's transfer port.  Answered by a ``punchReply`` or an
    ``error{nopunch}``; its sending starts the round trip the initiator
    measures.
    """

    nonce: int = field(checkId)
    host: str = field(checkHost)
    port: int = field(checkPort)
    purpose: str = field(checkName, default=None)


@message("punchReply", ("nonce", "nonce", checkId, REQUIRED),
         ("host", "host", checkHost, REQUIRED), ("port", "port", checkPort, REQUIRED),
         bucket=BUCKET)
@frozen
class PunchReply(Message):
    """The other side's public address for the attempt ``nonce``, as in a
    ``punchConnect``: it will dial the initiator from ``port`` once the
    ``punchSync`` arrives."""

    nonce: int
    host: str
    port: int


@message("punchSync", ("nonce", "nonce", checkId, REQUIRED), bucket=BUCKET)
@frozen
class PunchSync(Message):
    """
    The initiator's word to dial, for the attempt ``nonce``: the other
    side dials as it arrives, the initiator half its measured round trip
    after sending it, so that both SYNs leave at once.
    """

    nonce: int
