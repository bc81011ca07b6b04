"""
Addresses on a local network (a home's LAN): which hosts a node may
announce as its own local addresses, and when two of them may be on one
subnet (docs/protocol.md §5, "Local addresses").

Only private and link-local addresses are local: a node that named a
public address, a loopback one or a multicast group as "local" would
make the nodes it is named to dial a host that is not its LAN peer (a
victim, or their own machine's services), so those are refused.
"""

import functools
import ipaddress

#: The most local addresses a node announces (and a tracker takes).
MAX_LAN = 4

#: The networks of local addresses: IPv4 private (RFC 1918) and
#: link-local (RFC 3927), IPv6 unique-local (RFC 4193) and link-local.
LOCAL_NETS = tuple(ipaddress.ip_network(net) for net in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
    "fc00::/7", "fe80::/10"))


@functools.lru_cache(maxsize=1024)
def whyNotLocal(host):
    """
    Why host is not a local address a node may announce, or None when it
    is one: an IP address literal in L{LOCAL_NETS}.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"{host!r} is no IP address"
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not any(address in net for net in LOCAL_NETS if net.version == address.version):
        return (f"{host} is not a private or link-local address (10/8, 172.16/12, "
                "192.168/16, 169.254/16, fc00::/7, fe80::/10)")
    return None


def isLocal(host):
    """Whether host is a local address (see L{whyNotLocal})."""
    return bool(host) and whyNotLocal(host) is None


def sameSubnet(one, other):
    """
    Whether two local addresses may be on one local network: one IPv4
    /24 (a home's usual subnet), or one IPv6 /64.  Only a hint for a
    dialer that the tracker told of a peer's local addresses: whatever
    answers there must still prove the peer's key.
    """
    if not (isLocal(one) and isLocal(other)):
        return False
    return _subnet(one) == _subnet(other)


@functools.lru_cache(maxsize=1024)
def _subnet(host):
    address = ipaddress.ip_address(host)
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    bits = 24 if address.version == 4 else 64
    return ipaddress.ip_network(f"{address}/{bits}", strict=False)
