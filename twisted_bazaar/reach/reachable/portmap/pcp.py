"""
PCP (RFC 6887): a TCP port mapped at the default gateway with one MAP
request (60 bytes) and its answer, spoken on the reactor.  The address
the router says it maps the port at is never dialled (the tracker's
check says where the node is reached).
"""

import ipaddress
import os
import struct

from twisted_bazaar.reach.reachable.portmap.errors import MappingFailed, Unsupported
from twisted_bazaar.reach.reachable.portmap.exchange import SERVER_PORT, ask
from twisted_bazaar.reach.reachable.portmap.natpmp import Mapped

VERSION = 2
OP_MAP = 1
RESPONSE = 0x80
TCP = 6
#: Version, opcode, reserved, lifetime, client address; then MAP's nonce,
#: protocol, reserved, internal port, suggested external port and address.
REQUEST = struct.Struct("!BBHI16s12sB3xHH16s")
#: Version, R|opcode, reserved, result, lifetime, epoch, reserved; then MAP.
REPLY = struct.Struct("!BBxBII12x12sB3xHH16s")
NONCE_SIZE = 12
ANY_ADDRESS = ipaddress.IPv6Address("::ffff:0.0.0.0").packed

RESULTS = {1: "UNSUPP_VERSION", 2: "NOT_AUTHORIZED", 3: "MALFORMED_REQUEST",
           4: "UNSUPP_OPCODE", 5: "UNSUPP_OPTION", 6: "MALFORMED_OPTION",
           7: "NETWORK_FAILURE", 8: "NO_RESOURCES", 9: "UNSUPP_PROTOCOL",
           10: "USER_EX_QUOTA", 11: "CANNOT_PROVIDE_EXTERNAL", 12: "ADDRESS_MISMATCH",
           13: "EXCESSIVE_REMOTE_PEERS"}


def mapped(address):
    """An IPv4 address as PCP writes every address: IPv4-mapped IPv6."""
    return ipaddress.IPv6Address("::ffff:" + address).packed


def mapRequest(client, nonce, internal, external, lifetime):
    """The bytes of a MAP request for TCP ``internal`` from ``client`` (the
    node's address toward the router), ``external`` suggested."""
    return REQUEST.pack(VERSION, OP_MAP, 0, lifetime, mapped(client), nonce, TCP,
                        internal, external, ANY_ADDRESS)


def parseMapReply(data, nonce, internal):
    """The L{Mapped} a MAP answer says, None for one that answers another
    request (another nonce or port), or L{MappingFailed} saying why."""
    if len(data) >= 1 and data[0] != VERSION:
        # A NAT-PMP server answers a PCP request with its own version 0
        # (RFC 6887 §9).
        raise Unsupported(f"PCP: the router answered version {data[0]}, not 2")
    if len(data) >= 4 and data[1] == RESPONSE | OP_MAP and data[3]:
        result = data[3]
        error = Unsupported if result in (1, 4, 9) else MappingFailed
        raise error(f"PCP: the router refused the mapping: "
                    f"{RESULTS.get(result, 'unknown result')} ({result})")
    if len(data) < REPLY.size or len(data) % 4:
        raise MappingFailed(f"PCP: an answer of {len(data)} bytes, not {REPLY.size} "
                            "or more in 4-byte words")
    _, op, _, lifetime, _, got, protocol, port, external, _ = REPLY.unpack_from(data)
    if op != RESPONSE | OP_MAP or got != nonce or protocol != TCP or port != internal:
        return None
    if lifetime and not external:
        raise MappingFailed("PCP: the router mapped the port at external port 0")
    return Mapped(internal, external, lifetime)


class Pcp:
    """PCP to the gateway at ``gateway``, from the node's address
    ``client`` toward it (what the router checks the request against)."""

    name = "PCP"

    def __init__(self, clock, datagrams, gateway, client, nonce=None):
        self.clock = clock
        self.datagrams = datagrams
        self.server = (gateway, SERVER_PORT)
        self.client = client
        #: One nonce for the mapping's life: its renewals and deletion
        #: name the same mapping (RFC 6887 §11.1).
        self.nonce = nonce if nonce is not None else os.urandom(NONCE_SIZE)

    def map(self, internal, external, lifetime):
        """A Deferred of the L{Mapped} the router grants."""
        return ask(self.clock, self.datagrams, self.server,
                   mapRequest(self.client, self.nonce, internal, external, lifetime),
                   lambda data: parseMapReply(data, self.nonce, internal), self.name)

    def unmap(self, mapping):
        """A Deferred that fires once the router deleted the mapping
        (lifetime 0, RFC 6887 §15)."""
        return self.map(mapping.internal, mapping.external, 0)
