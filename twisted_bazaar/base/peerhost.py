"""
Which hosts a node dials where a peer's word names them (docs/protocol.md
§5, "Hosts a peer names").

A chord ring entry or record, a seller's record in a flood reply, an
index listing or a super-peer's answer, each names a peer's host and
port, and a node dials there.  That is a stranger's claim: told
``127.0.0.1:6379`` a node would dial a service of its own machine, told
``10.0.0.1:8080`` one of its network, told ``169.254.169.254`` its
cloud's metadata service; its channel's first message goes there before
the key fails.  So a host a peer names is dialled only in a scope this
node is in itself (L{scopeOf}): a loopback address only by a node whose
tracker connection leaves from a loopback address (a market on one
machine), a private one only by a node whose tracker connection leaves
from a private address and that the tracker sees at no public one (a
market on a private network, not a home behind a router), neither at a
port below L{LOWEST_PORT}; never a link-local, multicast, broadcast or
reserved address.  A name (not an IP address) is the dialler's to
settle (L{twisted_bazaar.reach.peerhosts}): it is resolved only as the
tracker names the peer.
"""

import functools

from twisted_bazaar.base.lan import LOWEST_PORT, ipAddress, isLocal, sameLink
from twisted_bazaar.base.limitregistry import declare

#: The scopes of an address: this machine, a private network, the internet.
LOOPBACK, LOCAL, PUBLIC = "loopback", "private", "public"

#: Addresses of one name dialled in turn, the first of those the rules
#: allow in the order found: a name's owner's name server answers each
#: resolver as it likes, and answering a dialler with a thousand public
#: addresses (a few hundred fit in a UDP answer, thousands over TCP) had
#: one dial of its peer try every one, a SYN each.  Two of each family
#: is more than a dial by name would try (RFC 8305).
NAME_ADDRESSES = 4
NAME_ADDRESSES_LIMIT = declare(
    "peerhost.name-addresses", NAME_ADDRESSES, "addresses",
    "addresses of one name a dial (a node's of a peer the tracker names at "
    "that name, a tracker's check of a node's --host) tries in turn: the name's "
    "owner chooses how many its name server answers", owner=__name__)


def firstDialled(addresses):
    """The addresses, in order, a dial of a name tries: the first
    L{NAME_ADDRESSES} of those given."""
    return addresses[:NAME_ADDRESSES]


@functools.lru_cache(maxsize=1024)
def scopeOf(host):
    """
    The scope of IP address host: L{LOOPBACK}, L{LOCAL} (private or
    link-local, L{twisted_bazaar.base.lan.LOCAL_NETS}) or L{PUBLIC}; None
    for a name, or an address no peer is at (unspecified, multicast,
    broadcast, reserved), or one with a zone (an interface of whoever
    reads it).
    """
    if "%" in host:
        return None
    try:
        address = ipAddress(host)
    except ValueError:
        return None
    if address.is_loopback:
        return LOOPBACK
    if isLocal(str(address)):
        return LOCAL
    if (address.is_unspecified or address.is_multicast or address.is_reserved
            or str(address) == "255.255.255.255"):
        return None
    return PUBLIC


def isName(host):
    """Whether host is a name, for DNS (or a memory network) to find, and
    no IP address literal."""
    try:
        ipAddress(host)
    except ValueError:
        return "%" not in host
    return False


def whyNotDialled(host, port, own, who="this node"):
    """
    Why a node whose tracker connections leave from addresses of the
    scopes ``own`` (a set of L{scopeOf}'s) dials no peer a peer's word
    names at IP address ``host``, ``port``; None when it dials it.
    ``who`` names the dialler in the reason (``bazaar``: this client).
    """
    if "%" in host:
        return f"{host!r} names a zone: an interface of this machine"
    scope = scopeOf(host)
    if scope is None:
        return f"{host} is no address a peer listens at (multicast, broadcast, reserved)"
    if scope == PUBLIC:
        return None
    if ipAddress(host).is_link_local:
        return f"{host} is link-local: no peer is named there"
    if scope not in own:
        return (f"{host} is a {scope} address, and {who} is on no {scope} network "
                "itself (as its tracker connections and the tracker's word say)")
    if port < LOWEST_PORT:
        return f"{host} is a {scope} address, and port {port} is below {LOWEST_PORT}"
    return None


def whyNotChecked(host, port, seen):
    """
    Why a tracker checking a node whose connection comes from IP address
    ``seen`` does not dial IP address ``host`` at ``port``, the node's
    word for where it listens; None when it does (docs/protocol.md §5,
    "The address check").  It dials ``seen`` itself; from a connection of
    its own machine (loopback), any address; from its private network,
    any but a loopback or link-local one: hosts the node can dial itself,
    so that a registration makes no tracker dial, for a stranger, a
    service of its own machine or network (its cloud's metadata service
    among them: each machine's own), nor a third party.  As libp2p's
    AutoNAT dials back only the IP address it sees a client at.  From a
    public IPv6 address, also any other of its /64 (L{sameLink}): a host
    with privacy addresses (RFC 8981, a desktop's default) connects from
    a temporary one and listens at its stable ``--host`` beside it.  An
    address other than ``seen`` (L{probesAnother}: a neighbour's, in a
    shared /64 or a private network) only at a port from L{LOWEST_PORT},
    as a node dials a private host: never a neighbour's well-known
    service.
    """
    if "%" in host:
        return f"{host!r} names a zone: an interface of the tracker's machine"
    try:
        address, origin = ipAddress(host), ipAddress(seen)
    except ValueError:
        return f"{host} is not where the node's connection comes from ({seen})"
    if address == origin:
        return None
    scope, from_scope = scopeOf(str(address)), scopeOf(str(origin))
    if scope is None:
        return f"{host} is no address a node listens at (multicast, broadcast, reserved)"
    if from_scope == LOOPBACK:
        return None
    if ((from_scope == LOCAL and scope != LOOPBACK and not address.is_link_local)
            or (from_scope == scope == PUBLIC and sameLink(address, origin))):
        if port < LOWEST_PORT:
            return (f"{host} is not where the node's connection comes from ({seen}), "
                    f"and port {port} is below {LOWEST_PORT}: another address is "
                    f"checked only at a port from {LOWEST_PORT}")
        return None
    where = (" there, or at another private or public address" if from_scope == LOCAL
             else " there, or at another address of its /64" if origin.version == 6
             else " there")
    return (f"{host} is not where the node's connection comes from ({seen}): a node "
            f"connecting from a {from_scope or 'public'} address is checked only{where}")


def probesAnother(host, seen):
    """
    Whether an address check (a tracker's of a node, a super-peer's of a
    leaf) of ``host``, for a node whose connection comes from IP address
    ``seen``, dials a host other than the node's own (a name: perhaps):
    how such a check ends (refused at once, a service that closed, a
    silent port) would tell a registrant of that host's port, so its
    failure is told only at the check's handshake timeout
    (L{twisted_bazaar.tracker.check.AddressCheck.start}).  Not from
    loopback: the checker's own machine is its operator's.
    """
    try:
        address, origin = ipAddress(host), ipAddress(seen)
    except ValueError:
        return True
    return address != origin and scopeOf(str(origin)) != LOOPBACK
