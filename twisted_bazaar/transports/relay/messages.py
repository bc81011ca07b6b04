"""
The relay's messages (docs/protocol.md §5a): a node that cannot be
dialled reserves a slot at a relay, over its tracker connection (the
tracker's relay) or over a connection it keeps open to a public node's
relay, which the tracker names to it; a dialler asks the relay for a
circuit to it by id; the node accepts on a connection of its own; the
relay opens both and copies bytes between them from then on.
"""

from twisted_bazaar.wire.codec import (
    REQUIRED,
    Message,
    ProtocolError,
    checkHost,
    checkNodeId,
    checkPort,
    errorCode,
    field,
    frozen,
    intIn,
    message,
    text,
)
from twisted_bazaar.wire.core import checkRelay
from twisted_bazaar.wire.paths import checkPaths

#: The longest netstring of the relay's protocol read before a circuit
#: carries bytes: by the relay (and the most bytes a dialler may send
#: before its circuit opens), by a circuit's end from its relay, and by a
#: node on its reservation connection to a public node's relay: the
#: C{MAX_LENGTH} of each of their L{twisted_bazaar.net.framed.FramedProtocol}s.
FRAME_LIMIT = 4096

#: What a circuit reaches at the node: its node port (links, status
#: questions) or its file transfer port.
NODE = "node"
FILES = "files"
PURPOSES = (NODE, FILES)
#: The purpose of a dial to a relay's own service (a circuit's accept, on
#: a transport that serves the relay beside other services, as a
#: port of a transport plugin's at a tracker): never a circuit's.
RELAY = "relay"

errorCode("norelay", "the relay holds no reservation for that node, or no "
          "circuit with that token")

checkToken = text(1, 64)


def checkPurpose(value, name):
    if value not in PURPOSES:
        raise ProtocolError(f"{name} must be one of {', '.join(PURPOSES)}")
    return value


checkPurpose.fast = "{v} in " + repr(PURPOSES)


#: The most reservations a relaying node may offer the tracker.
MAX_SLOTS = 10**6


@message("relayReserve")
class RelayReserve(Message):
    """
    A node asks a relay to hold a reservation for it: circuits to its id
    come to it from then on, as long as this connection lasts.  Sent to
    the tracker on the node's tracker connection (the tracker holds one at
    its own relay, or names a public node's relay: ``relayAt``), or as the
    first message on a connection to a public node's relay, with ``id``,
    the node's id, which must be the id of the key its channel proved.
    """

    id: int = field(checkNodeId, default=None)


@message("relayOffer")
class RelayOffer(Message):
    """A node whose address check passed tells its tracker that it relays,
    on ``port`` of the host the tracker dialled, for up to ``slots``
    nodes: the tracker may name it to nodes it cannot dial."""

    port: int = field(intIn(1, 65535, "from 1 to 65535"))
    slots: int = field(intIn(1, MAX_SLOTS, f"from 1 to {MAX_SLOTS}"))


@message("relayAt")
class RelayAt(Message):
    """The tracker's answer to a ``relayReserve`` when a public node has
    room: reserve at node ``id``'s relay, at ``relay`` (``HOST:PORT``), on
    a connection of your own; or by one of ``paths``, the relaying node's
    other ways that serve its relay too (a transport plugin's port, where
    a firewall lets only HTTP(S) out), or None."""

    id: int = field(checkNodeId)
    relay: str = field(checkRelay)
    paths: tuple = field(checkPaths, default=None)


@message("relayReserved", ("relay", "relay", checkRelay, REQUIRED))
@frozen
class RelayReserved(Message):
    """The reservation is held: diallers reach the node through the relay
    at ``relay`` (``HOST:PORT``), which the node advertises.  A relay says
    it to the node; a node says it to its tracker of the relay the
    tracker named (``relayAt``) once that relay holds it."""

    relay: str


@message("relayConnect", ("to", "to", checkNodeId, REQUIRED),
         ("purpose", "purpose", checkPurpose, REQUIRED))
@frozen
class RelayConnect(Message):
    """A dialler's first message to a relay: a circuit to node ``to``'s
    port for ``purpose``."""

    to: int
    purpose: str


@message("relayIncoming", ("circuit", "circuit", checkToken, REQUIRED),
         ("purpose", "purpose", checkPurpose, REQUIRED),
         ("host", "host", checkHost, REQUIRED), ("port", "port", checkPort, REQUIRED))
@frozen
class RelayIncoming(Message):
    """The relay tells a node holding a reservation that a dialler at
    ``host``:``port`` (as the relay sees it) asks for a circuit: the node
    accepts it with ``relayAccept{circuit}`` on a new connection."""

    circuit: str
    purpose: str
    host: str
    port: int


@message("relayAccept", ("circuit", "circuit", checkToken, REQUIRED))
@frozen
class RelayAccept(Message):
    """A node's first message on a connection to a relay: it takes the
    circuit the relay announced with that token."""

    circuit: str


@message("relayOpen", ("host", "host", checkHost, None))
@frozen
class RelayOpen(Message):
    """The relay's last message on both ends of a circuit: from now on
    each carries the other's bytes, raw.  ``host`` is where the relay saw
    the other end's connection come from (its router's public address, for
    a node at home): the one host a hole punch over the circuit dials."""

    host: str = None
