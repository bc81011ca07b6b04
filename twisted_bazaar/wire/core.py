"""
The messages of the core: the handshake, the tracker's introductions,
keepalive, ``dc`` and ``error``.  Everything else is declared by the
scheme or role that handles it.
"""

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.lan import MAX_LAN, canonical, whyNotLocal
from twisted_bazaar.wire.ids import wireId
from twisted_bazaar.wire.paths import checkPaths

from twisted_bazaar.wire.codec import (
    Message,
    field,
    checkFlag,
    checkHost,
    checkId,
    checkInfo,
    checkName,
    checkNodeId,
    checkNodeIdOrNone,
    checkPath,
    checkPort,
    clipInfo,
    idList,
    intIn,
    message,
    text,
    ERROR_CODES,
    ProtocolError,
    MAX_EXCLUDE,
    MAX_HOST_BYTES,
)


#: A question's number (``q``), which the tracker echoes in its answer:
#: a node numbers its questions once one went unanswered in time
#: (L{twisted_bazaar.core.questions}).
_questionNumber = intIn(1, 2 ** 53, "from 1 to 2^53")


def _code(value, name):
    if type(value) is not str or value not in ERROR_CODES:
        raise ProtocolError(f"{name} must be one of {', '.join(ERROR_CODES)}")
    return value


_code.fast = "type({v}) is str and {v} in ERROR_CODES"
#: The longest wait an ``error{busy}`` may name: an hour, in milliseconds.
MAX_RETRY_AFTER = 3_600_000
checkRetryAfter = intIn(0, MAX_RETRY_AFTER, "a wait in milliseconds from 0 to 3,600,000")
_exclude = idList(0, MAX_EXCLUDE)
#: An Ed25519 public key, a handshake nonce, a signature: base64url text
#: (checked when used: see L{twisted_bazaar.identity.keys}).
checkKey = text(43, 43)
checkNonce = text(1, 64)
checkSig = text(86, 86)


def splitRelay(value):
    """
    A relay's address as messages name it, ``HOST:PORT`` (``[V6]:PORT``
    for an IPv6 host): (host, port).

    @raise ValueError: for text that is no such address.
    """
    host, sep, port = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    # ASCII digits only: str.isdigit takes any script's digits ("٩٠٠٠",
    # which int reads as 9000) and superscripts ("²", which it cannot
    # read), so one port had many texts, and some failed unexplained.
    if (not sep or not host or not (port.isascii() and port.isdigit())
            or not 0 < int(port) < 65536):
        raise ValueError(f"{value!r} is no HOST:PORT")
    return host, int(port)


def joinRelay(host, port):
    """The ``HOST:PORT`` text of a relay at host:port (L{splitRelay}'s
    inverse)."""
    return hostPort(host, port)


def checkRelay(value, name):
    """A relay's address: ``HOST:PORT`` text (see L{splitRelay})."""
    _relayText(value, name)
    try:
        splitRelay(value)
    except ValueError as e:
        raise ProtocolError(f"{name}: {e}") from None
    return value


_relayText = text(3, MAX_HOST_BYTES + 8)
checkRelay.fast = "False"


def relayMap(limit):
    """A checker of the relays of the nodes a message names, those
    reached through one: an object of at most ``limit`` node id ->
    ``HOST:PORT``; a dict of id -> relay here."""

    def check(value, name):
        if type(value) is not dict or len(value) > limit:
            raise ProtocolError(f"{name} must be an object of at most {limit} relays")
        return {checkNodeId(key, f"{name} key"): checkRelay(relay, f"{name} relay")
                for key, relay in value.items()}

    check.fast = "False"
    check.toWire = lambda relays: {wireId(node_id): relay
                                   for node_id, relay in relays.items()}
    return check


def checkLan(value, name):
    """
    A node's local addresses (docs/protocol.md §5, "Local addresses"): a
    list of 1 to L{MAX_LAN} IP address literals, distinct however spelt,
    each private or link-local without a zone (L{twisted_bazaar.base.lan});
    a tuple of them here.  Any
    other address is refused, with why: whoever is told them dials them.
    """
    if type(value) is not list or not 1 <= len(value) <= MAX_LAN:
        raise ProtocolError(f"{name} must be a list of 1 to {MAX_LAN} addresses")
    hosts = tuple(_lanText(host, f"{name} entry") for host in value)
    for host in hosts:
        why = whyNotLocal(host)
        if why is not None:
            raise ProtocolError(f"{name}: {why}: a node names only its own addresses "
                                "on its local network")
    if len({canonical(host) for host in hosts}) != len(hosts):
        # However spelt (::ffff:192.168.1.2 is 192.168.1.2): each would be
        # dialled.
        raise ProtocolError(f"{name} names an address twice")
    return hosts


_lanText = text(2, 45)
checkLan.fast = "False"
checkLan.toWire = list
#: The fields of protocol version 1 a node's ways travelled in, one a
#: way: refused in a message that names them now as paths.
WAYS_OF_VERSION_1 = ("relay", "lan", "udp")


@message("thisisme", retired=WAYS_OF_VERSION_1)
class ThisIsMe(Message):
    """
    A node says who it is: first message on every link, both ways.  To the
    tracker it may say which discovery scheme it runs and whether it can
    serve as a super-peer; to a node, what the link is for (its purpose,
    which decides the slot budget it counts against).  A node with a key
    sends it, and its fresh nonce for this handshake; an answer (to an
    opener's thisisme, or to a whoareyou) carries its proof in ``sig``
    (see L{twisted_bazaar.identity.proofs}).  To the tracker, ``reach``
    asks to be told what each check of its address finds (L{Reach}).
    ``relay`` names the relay through which the sender is reached when
    it cannot be dialled (as ``nodereply`` names one for it).  To the
    tracker, ``lan`` names the sender's own local addresses (L{checkLan}),
    which the tracker names only to nodes on its network, and ``udp`` the
    UDP port it serves QUIC on, which the tracker names once its UDP reach
    check saw the node's datagrams come from that port.  On a link of
    purpose ``status``, ``operator`` proves the asker the node's operator
    (L{twisted_bazaar.identity.operator}), who gets slots of its own.
    """

    id: int = field(checkNodeIdOrNone)
    port: int = field(checkPort)
    host: str = field(checkHost, default="")
    scheme: str = field(checkName, default=None)
    superpeer: bool = field(checkFlag, wire="super", default=None)
    purpose: str = field(checkName, default=None)
    key: str = field(checkKey, default=None)
    nonce: str = field(checkNonce, default=None)
    sig: str = field(checkSig, default=None)
    reach: bool = field(checkFlag, default=None)
    paths: tuple = field(checkPaths, default=None)
    operator: str = field(checkSig, default=None)


@message("thisisyou")
class ThisIsYou(Message):
    """The tracker tells a joining node its id; to a node that sent a key,
    with the tracker's own key and nonce, for the node's ``proof``."""

    id: int = field(checkNodeId)
    port: int = field(checkPort)
    key: str = field(checkKey, default=None)
    nonce: str = field(checkNonce, default=None)


@message("reach")
class Reach(Message):
    """
    The tracker tells a node (one that asked, with ``thisisme.reach``)
    what its check of the node's address found, as STUN and libp2p's
    AutoNAT tell: whether the node answered at ``host``:``port`` (the
    address it registered), and where the tracker saw the node's own
    connection come from (``seenHost``:``seenPort``: behind a NAT router,
    the router's public address).
    """

    host: str = field(checkHost)
    port: int = field(checkPort)
    reachable: bool = field(checkFlag)
    seen_host: str = field(checkHost)
    seen_port: int = field(checkPort)


@message("checkme")
class CheckMe(Message):
    """
    A node asks its tracker to check its registered address again now
    (docs/protocol.md §5, "Checking again"): its router maps its port to
    it since the last check failed.  The tracker dials only the address
    the node registered, as every check does, and at most once each few
    seconds a node.
    """


@message("proof")
class Proof(Message):
    """A node proves it holds the key it sent, to the peer that named its
    own key and nonce (see L{twisted_bazaar.identity.proofs})."""

    sig: str = field(checkSig)


@message("nodereq")
class NodeReq(Message):
    """
    Ask the tracker for another live node, not one of ``exclude``; with
    ``scheme``, one that runs that scheme; with ``super``, a super-peer.
    """

    exclude: tuple = field(_exclude, default=())
    scheme: str = field(checkName, default=None)
    superpeer: bool = field(checkFlag, wire="super", default=None)
    q: int = field(_questionNumber, default=None)


@message("nodereply", retired=WAYS_OF_VERSION_1)
class NodeReply(Message):
    """The tracker names a live node; no id (-1 here, ``""`` on the wire)
    means nobody else is known; ``q``, the number of the question it
    answers, when the question had one.  ``paths`` names its other ways, each
    with whose word it is: the relay through which the node is reached,
    when it cannot be dialled itself (the tracker's word); its local
    addresses, to an asker the tracker sees on the node's own network
    (behind the same public address) only (the node's claims); the UDP
    port the node serves QUIC on at ``host``, as the tracker's UDP reach
    check saw it."""

    id: int = field(checkNodeIdOrNone)
    host: str = field(checkHost)
    port: int = field(checkPort)
    paths: tuple = field(checkPaths, default=None)
    q: int = field(_questionNumber, default=None)


@message("whereis")
class WhereIs(Message):
    """
    Ask the tracker for a node's current address; answered by a
    ``nodereply`` with that id (port 0 when the tracker does not know it).
    """

    id: int = field(checkNodeId)
    q: int = field(_questionNumber, default=None)


@message("whoareyou")
class WhoAreYou(Message):
    """
    The tracker (or a super-peer) checks an address a node advertised:
    sent as the first message on a connection to it, answered by the
    node's ``thisisme`` (with the checker's key and nonce: proving the
    node's key to the checker), after which the node closes the
    connection.
    """

    key: str = field(checkKey, default=None)
    nonce: str = field(checkNonce, default=None)


@message("dc")
class Dc(Message):
    """The sender is closing this link on purpose."""


@message("ping", bucket="ping")
class Ping(Message):
    """Are you alive?  Answered by a pong with the same nonce, never a ping."""

    nonce: int = field(checkId)


@message("pong")
class Pong(Message):
    """The answer to a ping."""

    nonce: int = field(checkId)


@message("error")
class Error(Message):
    """
    Something went wrong.  Never answered.  An error that carries a
    ``path`` (a seller's ``soldout``, with the buy's ``id``) is routed back
    along it like any path-routed message, and names the key of the buyer
    it answers (``buyerKey``), as a ``buyOK`` does.
    """

    code: str = field(_code)
    #: Cut to the cap here, so every error sent keeps it.
    info: str = field(checkInfo, converter=clipInfo)
    id: int = field(checkId, default=None)
    path: tuple = field(checkPath, default=None)
    key: str = field(checkKey, default=None)
    sig: str = field(checkSig, default=None)
    buyer_key: str = field(checkKey, default=None)
    #: With ``busy`` to a question over its rate: the milliseconds after
    #: which the asker may ask again (docs/protocol.md §12a).
    retry_after: int = field(checkRetryAfter, default=None)
    #: With ``nopunch``, False: the refusing node cannot punch over UDP
    #: either (docs/protocol.md, "Hole punching"), so none is asked of it.
    udp: bool = field(checkFlag, default=None)
