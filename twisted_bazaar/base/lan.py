"""
Addresses on a local network (a home's LAN): which hosts a node may
announce as its own local addresses, and when two of them may be on one
subnet (docs/protocol.md §5, "Local addresses").

Only private and link-local addresses are local: a node that named a
public address, a loopback one or a multicast group as "local" would
make the nodes it is named to dial a host that is not its LAN peer (a
victim, or their own machine's services), so those are refused; so is
an IPv6 address with a zone (``fe80::1%eth0``): a zone names an
interface of the machine that reads it, so a stranger's would pick the
dialler's own interfaces (a bridge to its containers) for it.
"""

import functools
import ipaddress

#: The most local addresses a node announces (and a tracker takes).
MAX_LAN = 4
#: The lowest port a local address (or a loopback one) is dialled at: no
#: well-known service of a LAN or of the dialler's own machine.
LOWEST_PORT = 1024

#: The networks of local addresses: IPv4 private (RFC 1918) and
#: link-local (RFC 3927), IPv6 unique-local (RFC 4193) and link-local.
LOCAL_NETS = tuple(ipaddress.ip_network(net) for net in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
    "fc00::/7", "fe80::/10"))


@functools.lru_cache(maxsize=1024)
def whyNotLocal(host):
    """
    Why host is not a local address a node may announce, or None when it
    is one: an IP address literal in L{LOCAL_NETS}, without a zone.
    """
    if "%" in host:
        return (f"{host!r} names a zone: a zone is an interface of the machine "
                "that reads it, not of the one named")
    try:
        address = ipAddress(host)
    except ValueError:
        return f"{host!r} is no IP address"
    if not any(address in net for net in LOCAL_NETS if net.version == address.version):
        return (f"{host} is not a private or link-local address (10/8, 172.16/12, "
                "192.168/16, 169.254/16, fc00::/7, fe80::/10)")
    return None


def isLocal(host):
    """Whether host is a local address (see L{whyNotLocal})."""
    return bool(host) and whyNotLocal(host) is None


def canonical(host):
    """An IP address (a local one, say) as one text whatever its
    spelling (IPv6 in its compressed lower-case form, an IPv4-mapped one
    as IPv4), so that one address named twice is seen to be one."""
    return str(ipAddress(host))


def oneSpelling(host):
    """host as one text: an IP address L{canonical}, any other text (a
    name) as it is."""
    if ":" not in host:
        # IPv4 is read in its one spelling only (dotted decimal, no
        # leading zeros), and a name is kept as it is: only IPv6 has
        # others, and a peer's host is read at every handshake.
        return host
    try:
        return canonical(host)
    except ValueError:
        return host


def peerHost(transport):
    """
    The host transport's peer is at, in one spelling (L{oneSpelling}), or
    "" for none: a daemon listening on a dual-stack IPv6 socket (``::``)
    sees an IPv4 peer as ``::ffff:a.b.c.d``, and every line, record and
    answer that names the peer says ``a.b.c.d``, as a daemon listening on
    IPv4 would, and a node's IPv4 socket dials.
    """
    address = transport.getPeer() if transport is not None else None
    return oneSpelling(getattr(address, "host", None) or "")


def isLinkLocal(host):
    """Whether local address host is link-local (169.254/16, fe80::/10):
    drawn by each machine itself, on every link alike."""
    return ipAddress(host).is_link_local


def sameSubnet(one, other):
    """
    Whether two local addresses may be on one local network: one IPv4
    /24 (a home's usual subnet), or one IPv6 /64, neither link-local
    (every link has fe80::/64, and a machine draws its 169.254 address
    itself: one says nothing of which link).  Only a hint: whatever
    answers there must still prove the peer's key.
    """
    mine = lanSubnet(one)
    return mine is not None and mine == lanSubnet(other)


def lanSubnet(host):
    """The local network host may be on (see L{sameSubnet}), or None for
    an address that says nothing of one (not local, or link-local)."""
    if not isLocal(host) or isLinkLocal(host):
        return None
    return _subnet(host)


def toldHost(local, seen):
    """
    The host a node without ``--host`` tells everyone (in its records,
    its ``thisisme`` to peers, its public state): where its tracker
    connection leaves from (``local``), unless that is a local address,
    which only its own network may learn (docs/protocol.md §5, "Local
    addresses"); then the host the tracker saw that connection come from
    (``seen``, a ``reach``'s ``seenHost``), or "" while it has said none.
    """
    if not isLocal(local):
        return local
    return seen or ""


def sameHost(one, other):
    """Whether two hosts are one: the same IP address however spelt
    (L{ipAddress}: an IPv4-mapped IPv6 one as IPv4), or the same text."""
    try:
        return ipAddress(one) == ipAddress(other)
    except ValueError:
        return one == other


def sameLink(one, other):
    """Whether IP addresses one and other are IPv6 addresses of one /64:
    one link's, where a host's stable and temporary addresses (RFC 8981)
    are."""
    return one.version == other.version == 6 and int(one) >> 64 == int(other) >> 64


def sameNetwork(one, other):
    """Whether hosts one and other are one host (L{sameHost}), or IPv6
    addresses of one /64 (L{sameLink}): a host's temporary address, which
    rotates, is another of its network's."""
    try:
        first, second = ipAddress(one), ipAddress(other)
    except ValueError:
        return one == other
    return first == second or sameLink(first, second)


@functools.lru_cache(maxsize=1024)
def ipAddress(host):
    """host's IP address, an IPv4-mapped IPv6 one as IPv4 (ValueError if
    it is none: a name, a zone)."""
    address = ipaddress.ip_address(host)
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address


@functools.lru_cache(maxsize=1024)
def _subnet(host):
    address = ipAddress(host)
    bits = 24 if address.version == 4 else 64
    return ipaddress.ip_network(f"{address}/{bits}", strict=False)
