"""
What a node that runs a relay for nodes at home (a public node's relay,
docs/protocol.md §5a) tells its operator of it, in its ``nodestate``'s
``relaying`` (§12a): the reservations it holds, the circuits open or
waiting for their node, and the bytes it has copied since it started.
"""

from twisted_bazaar.wire import ProtocolError, checkSize, objectList

#: The keys of ``relaying``, in the order of its tuple.
RELAYING_KEYS = (("reservations", checkSize), ("circuits", checkSize),
                 ("bytes", checkSize))
_one = objectList(RELAYING_KEYS, 1)


def relayUse(relay):
    """A relay's use as (reservations, circuits, bytes copied), or None
    for no relay (or one turned off)."""
    if relay is None or not relay.enabled:
        return None
    return (relay.reservations.used, relay.circuits.used, relay.relayed)


def checkRelayUse(value, name):
    """A nodestate's ``relaying``: an object with the three counts."""
    if type(value) is not dict:
        raise ProtocolError(f"{name} must be an object with reservations, circuits, "
                            "bytes")
    return _one([value], name)[0]


checkRelayUse.fast = "False"


def relayUseDict(row):
    """``relaying`` as the wire (and ``--json``) has it."""
    return dict(zip((key for key, _ in RELAYING_KEYS), row))
