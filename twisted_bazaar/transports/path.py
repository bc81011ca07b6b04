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

__all__ = ["Path", "Kinds", "KINDS", "WORDS", "DIRECT", "LAN", "MAPPED", "RELAYED", "UDP",
           "CLAIMED", "NAMED", "SEEN", "CONFIGURED"]


class Kinds:
    """
    The open registry of the kinds of path: each kind once, with the kind
    of transport that dials it (its carrier: a LAN path is dialled as a
    direct one, over TCP).  Which kind a dial tries first is the
    dialer's policy (L{twisted_bazaar.reach.ways}), not the registry's.  A new
    transport registers its kind with one line (L{register}), in its own
    package; nothing else lists the kinds.
    """

    def __init__(self):
        self._carriers = {}

    def register(self, kind, carrier=None):
        """Declare kind, dialled by the transport of kind ``carrier`` (its
        own, if None); returns kind.  A kind is declared once."""
        if kind in self._carriers:
            raise ValueError(f"the kind of path {kind!r} is declared already")
        self._carriers[kind] = kind if carrier is None else carrier
        return kind

    def carrierOf(self, kind):
        """The kind of transport that dials paths of kind."""
        return self._carriers[kind]

    def __contains__(self, kind):
        return kind in self._carriers

    def __iter__(self):
        return iter(tuple(self._carriers))

    def __repr__(self):
        return f"Kinds({', '.join(self._carriers)})"


#: Every kind of path, as registered.
KINDS = Kinds()

#: The peer's own address, dialled over TCP
#: (L{twisted_bazaar.transports.tcp.transport.TcpTransport}).
DIRECT = KINDS.register("direct")
#: A local address of a peer behind this node's own router (§5, "Local
#: addresses"), dialled as a direct address is.
LAN = KINDS.register("lan", carrier=DIRECT)
#: A port the peer's router mapped for it (UPnP IGD, NAT-PMP, PCP),
#: counted once the tracker reached the peer there; dialled as a direct
#: address is.
MAPPED = KINDS.register("router-mapped", carrier=DIRECT)
#: A peer's UDP address, dialled over QUIC
#: (L{twisted_bazaar.transports.quic.transport.QuicTransport}): one its
#: node's operator configured (``--quic-peer``), met by a UDP punch or
#: named by the tracker, never a peer's bare claim.
UDP = KINDS.register("udp")
#: A circuit through a relay (L{Path.relay}) to the peer
#: (L{twisted_bazaar.transports.relay.transport.RelayTransport}).
RELAYED = KINDS.register("relayed")

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
            raise ValueError(f"{attribute.name} {value!r} is none of "
                             f"{tuple(iter(choices))}")
    return check


@attr.s(frozen=True, slots=True)
class Path:
    """
    One way to a peer.

    @ivar kind: its kind (L{KINDS}), which says the transport that dials it.
    @ivar host: the host dialled (for a relayed path, where the tracker
        saw the peer: a label, never dialled).
    @ivar port: the port dialled (the peer's link port).
    @ivar relay: the relay (``HOST:PORT``) of a relayed path, else None.
    @ivar word: whose word it is (L{WORDS}).
    @ivar expires: when, on the clock of the node that holds it, it is
        no longer taken as said (the book of paths sets it as it hands
        the path out: the tracker's word is asked again, a claim no
        longer dialled), or None: until it is dropped.  Not part of
        what the path is: two paths that differ only in it are equal.
    @ivar via: the socket it is dialled from (the transport's option
        C{via}: a UDP punch's met socket, as only that 5-tuple passes the
        routers), or None: the node's own.  Not part of what the path is.
    @ivar lost: told C{lost(peer_id, path, why)} when nothing answers a
        dial there (the routers forgot the 5-tuple, or the peer is gone:
        whoever punched it drops it), or None.  Not part of what the path
        is.
    """

    kind = attr.ib(validator=_oneOf(KINDS))
    host = attr.ib(default="")
    port = attr.ib(default=0)
    relay = attr.ib(default=None)
    word = attr.ib(default=CLAIMED, validator=_oneOf(WORDS))
    expires = attr.ib(default=None, eq=False)
    via = attr.ib(default=None, eq=False, repr=False)
    lost = attr.ib(default=None, eq=False, repr=False)

    def __str__(self):
        where = f"{self.host}:{self.port}" if self.relay is None else (
            f"{self.relay} to {self.host or '?'}:{self.port}")
        return f"{self.kind} {where} ({self.word})"
