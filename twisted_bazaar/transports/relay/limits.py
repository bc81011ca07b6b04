"""
What a relay lets the nodes of one address group, and all of them, make
it hold (docs/reliability.md, "Relay abuse"): reservations, circuits,
and the bytes and seconds of each circuit.  A public node's relay
(L{NODE_LIMITS}) holds far less than a tracker's: the node's own links
and trades come first.
"""

import attr

from twisted_bazaar.base.limitregistry import declare

#: Defaults of a tracker's relay (its --relay-* options).
RESERVATIONS = 1024
GROUP_RESERVATIONS = 8
CIRCUITS = 256
GROUP_CIRCUITS = 16
NODE_CIRCUITS = 16
#: Circuits to one node from one address group of diallers: well below
#: NODE_CIRCUITS, so that one group's idle circuits never keep another
#: group's diallers from a node.
NODE_CIRCUITS_PER_GROUP = 4
#: Circuits one origin (the key a dialler's channel with the relay
#: proved) may hold, in all and to one node: below its group's, so that
#: one origin never takes its whole group's share (keys are free: these
#: bound one origin among the honest ones of its group, never a group).
#: Three quarters of a group's: a busy node's links and transfers to
#: nodes at home (3 neighbours, 8 direct links, their transfers) may all
#: run through one relay.
ORIGIN_CIRCUITS = 12
NODE_CIRCUITS_PER_ORIGIN = 3
#: Circuits a second one origin may open (at most a second's worth at
#: once), well below a group's connections a second to the relay.
ORIGIN_OPENS = 10
CIRCUIT_BYTES = 64 * 1024 * 1024
CIRCUIT_SECONDS = 600.0
#: Seconds a node holding a reservation has to accept a circuit, and a
#: connection to the relay to say what it wants once its channel is up.
ACCEPT_TIMEOUT = 10.0
FIRST_MESSAGE_TIMEOUT = 10.0
#: Seconds a connection whose circuit closed has to take what it was
#: sent (a few hundred KiB at most: flow control keeps the rest unread
#: on the other end); then it is aborted.  Meanwhile it is one of the
#: relay's connections not in a circuit (L{PENDING}).
DRAIN_TIMEOUT = 30.0
#: Connections to the relay not in a circuit (not yet, or no more: its
#: circuit closed, what it was sent still going out): in all, per group.
PENDING = 256
GROUP_PENDING = 32
#: Bytes a second a tracker's relay copies, all circuits together: 8 MiB
#: (64 Mbit/s), two thirds of a 100 Mbit/s uplink, so that the tracker's
#: own registrations and introductions keep the rest of such a link; 32
#: public nodes' relays' worth, and a 3 MiB file (the NAT test bed's)
#: crosses it in under half a second.
RATE = 8 * 1024 * 1024


@attr.s(frozen=True, auto_attribs=True)
class RelayLimits:
    """
    A relay's bounds.  ``reservations`` 0 turns the relay off.
    ``circuits`` counts circuits open or waiting for their node, charged
    to the dialler's address group (``group_circuits``) and to its origin,
    the key its channel with the relay proved (``origin_circuits``);
    ``node_circuits`` bounds those to one node, ``node_group_circuits``
    those to one node from one group of diallers, ``node_origin_circuits``
    from one origin; ``origin_opens`` is the circuits a second one origin
    may ask for.  ``circuit_bytes`` counts both ways, as does ``rate``
    (L{twisted_bazaar.transports.relay.throttle}), which the diallers' groups
    share max-min fairly, and each group's origins its share.
    """

    reservations: int = RESERVATIONS
    group_reservations: int = GROUP_RESERVATIONS
    circuits: int = CIRCUITS
    group_circuits: int = GROUP_CIRCUITS
    node_circuits: int = NODE_CIRCUITS
    node_group_circuits: int = NODE_CIRCUITS_PER_GROUP
    origin_circuits: int = ORIGIN_CIRCUITS
    node_origin_circuits: int = NODE_CIRCUITS_PER_ORIGIN
    origin_opens: float = ORIGIN_OPENS
    circuit_bytes: int = CIRCUIT_BYTES
    circuit_seconds: float = CIRCUIT_SECONDS
    accept_timeout: float = ACCEPT_TIMEOUT
    first_message_timeout: float = FIRST_MESSAGE_TIMEOUT
    pending: int = PENDING
    group_pending: int = GROUP_PENDING
    #: Bytes a second copied, all circuits together (0: no cap).
    rate: int = RATE


#: Defaults of a public node's relay (bazaar-node's --relay-* options):
#: a few nodes at home each, so that the node's own links and trades keep
#: its bandwidth, and the market's nodes at home spread over many relays.
NODE_RESERVATIONS = 16
NODE_GROUP_RESERVATIONS = 4
NODE_CIRCUITS_ALL = 64
NODE_GROUP_CIRCUITS = 8
NODE_ORIGIN_CIRCUITS = 6
NODE_NODE_CIRCUITS = 16
NODE_NODE_CIRCUITS_PER_GROUP = 4
NODE_CIRCUIT_BYTES = 16 * 1024 * 1024
NODE_PENDING = 32
NODE_GROUP_PENDING = 8
#: Bytes a second a node's relay copies, all its circuits together.
NODE_RATE = 256 * 1024

NODE_LIMITS = RelayLimits(
    reservations=NODE_RESERVATIONS, group_reservations=NODE_GROUP_RESERVATIONS,
    circuits=NODE_CIRCUITS_ALL, group_circuits=NODE_GROUP_CIRCUITS,
    origin_circuits=NODE_ORIGIN_CIRCUITS,
    node_circuits=NODE_NODE_CIRCUITS, node_group_circuits=NODE_NODE_CIRCUITS_PER_GROUP,
    circuit_bytes=NODE_CIRCUIT_BYTES,
    pending=NODE_PENDING, group_pending=NODE_GROUP_PENDING, rate=NODE_RATE)


#: The relay's pools in the registry of limits
#: (L{twisted_bazaar.base.limitregistry}); the defaults are the tracker's,
#: a public node's relay builds the same pools from L{NODE_LIMITS}.
RESERVATIONS_LIMIT = declare(
    "relay.reservations", RESERVATIONS, "reservations",
    "nodes at home a relay holds reservations for", group=GROUP_RESERVATIONS,
    flag="--relay-reservations", owner=__name__)
CIRCUITS_LIMIT = declare(
    "relay.circuits", None, "circuits",
    "circuits open or waiting for their node, charged to the dialler's group "
    "and to its origin (the key its channel proved); the tracker's, by default, "
    f"what its open-file limit leaves ({CIRCUITS} at most), two descriptors each",
    group=GROUP_CIRCUITS, key=ORIGIN_CIRCUITS, flag="--relay-circuits", owner=__name__)
PENDING_LIMIT = declare(
    "relay.pending", PENDING, "connections",
    "connections to a relay that have not yet said what they want, or whose "
    "circuit closed with bytes still to go out to them",
    group=GROUP_PENDING, owner=__name__)
NODE_CIRCUITS_LIMIT = declare(
    "relay.node-circuits", NODE_CIRCUITS, "circuits",
    "circuits to one node at home, charged to the dialler's group: past it a "
    "group holding fewer takes the place of the newest of the group holding most; "
    "one origin holds fewer than its group",
    group=NODE_CIRCUITS_PER_GROUP, key=NODE_CIRCUITS_PER_ORIGIN, owner=__name__)
ORIGIN_OPENS_LIMIT = declare(
    "relay.origin-opens", ORIGIN_OPENS, "circuits/s",
    "circuits one origin (the key a dialler's channel proved) may ask a relay for "
    "a second: one origin never spends its whole group's connections to the relay",
    key=ORIGIN_OPENS, owner=__name__)
RATE_LIMIT = declare(
    "relay.rate", RATE, "bytes/s",
    "bytes a second a relay copies, all circuits together, shared max-min fairly "
    "among the diallers' groups, and a group's share among its origins (one past "
    "its share stops reading, no other)",
    flag="--relay-rate", owner=__name__)
CIRCUIT_BYTES_LIMIT = declare(
    "relay.circuit-bytes", CIRCUIT_BYTES, "bytes",
    "bytes one circuit may carry, both ways", flag="--relay-circuit-bytes",
    owner=__name__)
CIRCUIT_SECONDS_LIMIT = declare(
    "relay.circuit-seconds", CIRCUIT_SECONDS, "seconds",
    "seconds one circuit may stay open", flag="--relay-circuit-seconds", owner=__name__)
