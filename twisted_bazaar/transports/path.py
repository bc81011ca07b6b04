"""
A way to reach a peer (L{Path}): its kind (which transport dials it) and
whose word it is.

The wire names a peer's ways in several messages (a ``thisisme``'s relay,
a ``nodereply``'s host, relay and local addresses, a ``chordNear``'s
relays); they are mapped into paths where they arrive
(L{twisted_bazaar.reach.book.PathBook}), and nothing past that
boundary reads the wire's fields for them.  Whose word a path is decides
what may be done with it: a peer's claim is a label, dialled only where
its checks allow (docs/protocol.md §5, "Hosts a peer names"); the
tracker's word is dialled as named.
"""

import attr

__all__ = ["Path", "KINDS", "WORDS", "DIRECT", "LAN", "MAPPED", "RELAYED", "UDP",
           "WEBSOCKET", "CLAIMED", "NAMED", "SEEN", "CONFIGURED"]

#: The peer's own address, dialled over TCP.
DIRECT = "direct"
#: A local address of a peer behind this node's own router (§5, "Local
#: addresses").
LAN = "lan"
#: A port the peer's router mapped for it (UPnP IGD, NAT-PMP, PCP),
#: counted once the tracker reached the peer there.
MAPPED = "router-mapped"
#: A circuit through a relay (L{Path.relay}) to the peer.
RELAYED = "relayed"
#: A peer's UDP address, dialled over QUIC (L{twisted_bazaar.transports.quic.transport}): one its
#: node's operator configured (``--quic-peer``), never a peer's bare claim.
UDP = "udp"
#: A peer's WebSocket port (L{twisted_bazaar.transports.websocket}).
WEBSOCKET = "websocket"

#: Every kind of path, in the order a dialer prefers them.
KINDS = (LAN, DIRECT, MAPPED, UDP, WEBSOCKET, RELAYED)

#: The peer said so itself (its ``thisisme``, a record): a claim.
CLAIMED = "claimed"
#: The tracker named it (its ``nodereply``, a ``chordNear``).
NAMED = "named"
#: The tracker saw it: its check dialled the peer there, or it saw the
#: peer's connection come from there.
SEEN = "seen"
#: This node's operator configured it.
CONFIGURED = "configured"

#: Every word a path may be.
WORDS = (CLAIMED, NAMED, SEEN, CONFIGURED)


def _oneOf(choices):
    def check(instance, attribute, value):
        if value not in choices:
            raise ValueError(f"{attribute.name} {value!r} is none of {choices}")
    return check


@attr.s(frozen=True, slots=True)
class Path:
    """
    One way to a peer.

    @ivar kind: which transport dials it (L{KINDS}).
    @ivar host: the host dialled (for a relayed path, where the tracker
        saw the peer: a label, never dialled).
    @ivar port: the port dialled (the peer's link port).
    @ivar relay: the relay (``HOST:PORT``) of a relayed path, else None.
    @ivar word: whose word it is (L{WORDS}).
    """

    kind = attr.ib(validator=_oneOf(KINDS))
    host = attr.ib(default="")
    port = attr.ib(default=0)
    relay = attr.ib(default=None)
    word = attr.ib(default=CLAIMED, validator=_oneOf(WORDS))

    def __str__(self):
        where = f"{self.host}:{self.port}" if self.relay is None else (
            f"{self.relay} to {self.host or '?'}:{self.port}")
        return f"{self.kind} {where} ({self.word})"
