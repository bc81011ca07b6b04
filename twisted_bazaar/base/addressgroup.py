"""
The address group of a host: the block of addresses one party can easily
hold many of.  Every cap a stranger could fill with fresh keys is counted
per group (links, relays, punches, tracker names), so the one definition
lives here, below every layer that counts.
"""

import functools
import ipaddress


def addressGroup(host):
    """
    The group of addresses one party can easily hold many of: an IPv4
    /16, an IPv6 /32 (the block a registry allots one provider, as an
    IPv4 /16 is), or the host name itself when it is no IP address.  An
    IPv6 address that carries an IPv4 one counts as that IPv4 address:
    IPv4-mapped, NAT64's well-known prefix, 6to4 and Teredo, each one
    /32 or /16 that holds a whole world of parties; and Hurricane
    Electric's tunnel broker (2001:470::/32, a tunnel for whoever asks)
    is grouped by /36, as Bitcoin Core groups it.

    A host that neither begins with a digit nor holds a colon is a host
    name, never an address: it is its own group, with no parse to fail
    (a simulation's hosts are names, a hundred thousand and more, and
    failing to parse each took a third of a 100,000-node chord run).
    """
    if not host or not (host[0].isdigit() or ":" in host):
        return host
    return _parsedGroup(host)


@functools.lru_cache(maxsize=4096)
def _parsedGroup(host):
    """
    L{addressGroup} of a host that may be an address.

    Remembered for the last few thousand hosts: every inbound connection
    asks it of each other one still in its handshake, and parsing an
    address (or failing to, for a host name) costs more than the rest of
    that check.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6:
        address = _carried(address)
    if address.version == 4:
        bits = 16
    else:
        bits = 36 if address in _TUNNEL_BROKER else 32
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


#: NAT64's well-known prefix (RFC 6052): an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: Hurricane Electric's tunnel broker: one /32 of tunnels anyone may ask for.
_TUNNEL_BROKER = ipaddress.ip_network("2001:470::/32")


def _carried(address):
    """The IPv4 address an IPv6 one carries (IPv4-mapped, NAT64, 6to4, or
    a Teredo client's), else the IPv6 address."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return address
