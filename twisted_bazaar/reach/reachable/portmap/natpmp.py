"""
NAT-PMP (RFC 6886): a TCP port mapped at the default gateway in one
12-byte request and its 16-byte answer, spoken on the reactor
(L{twisted_bazaar.reach.reachable.portmap.exchange}).  The external address the
router would tell (opcode 0) is never asked: nothing dials the router's
word (the tracker's check says where the node is reached).
"""

import struct

import attr

from twisted_bazaar.reach.reachable.portmap.errors import MappingFailed, Unsupported
from twisted_bazaar.reach.reachable.portmap.exchange import SERVER_PORT, ask

VERSION = 0
#: Map a TCP port (RFC 6886 §3.3); its answer's opcode is 128 + 2.
MAP_TCP = 2
ANSWER = 128
REQUEST = struct.Struct("!BBHHHI")
REPLY = struct.Struct("!BBHIHHI")

RESULTS = {1: "unsupported version", 2: "not authorized/refused",
           3: "network failure", 4: "out of resources", 5: "unsupported opcode"}


@attr.s(frozen=True, slots=True, auto_attribs=True)
class Mapped:
    """A port the router maps: ``external`` forwarded to ``internal`` for
    ``lifetime`` seconds."""

    internal: int
    external: int
    lifetime: int


def mapRequest(internal, external, lifetime):
    """The bytes asking for TCP ``internal`` mapped at ``external`` (a
    suggestion) for ``lifetime`` seconds; lifetime and external 0 delete
    the mapping (RFC 6886 §3.4)."""
    return REQUEST.pack(VERSION, MAP_TCP, 0, internal, external, lifetime)


def parseMapReply(data, internal):
    """
    The L{Mapped} a router's answer says, None for an answer to another
    question (another port: ignored), or L{MappingFailed} saying why.
    """
    if len(data) >= 2 and data[0] != VERSION:
        raise Unsupported(f"NAT-PMP: the router answered version {data[0]}, not 0")
    if len(data) >= 4 and data[1] == ANSWER + MAP_TCP:
        result = struct.unpack("!H", data[2:4])[0]
        if result:
            name = RESULTS.get(result, "unknown result")
            error = Unsupported if result in (1, 5) else MappingFailed
            raise error(f"NAT-PMP: the router refused the mapping: {name} ({result})")
    if len(data) != REPLY.size:
        raise MappingFailed(f"NAT-PMP: an answer of {len(data)} bytes, not "
                            f"{REPLY.size}")
    _, op, _, _, port, external, lifetime = REPLY.unpack(data)
    if op != ANSWER + MAP_TCP or port != internal:
        return None
    if lifetime and not external:
        raise MappingFailed("NAT-PMP: the router mapped the port at external port 0")
    return Mapped(internal, external, lifetime)


class NatPmp:
    """NAT-PMP to the gateway at ``gateway`` (an IPv4 address)."""

    name = "NAT-PMP"

    def __init__(self, clock, datagrams, gateway):
        self.clock = clock
        self.datagrams = datagrams
        self.server = (gateway, SERVER_PORT)

    def map(self, internal, external, lifetime):
        """A Deferred of the L{Mapped} the router grants."""
        return ask(self.clock, self.datagrams, self.server,
                   mapRequest(internal, external, lifetime),
                   lambda data: parseMapReply(data, internal), self.name)

    def unmap(self, mapped):
        """A Deferred that fires once the router deleted the mapping."""
        return self.map(mapped.internal, 0, 0)
