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
    /16, an IPv6 /32 (an IPv4-mapped IPv6 address counts as IPv4), or the
    host name itself when it is no IP address.

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
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    bits = 16 if address.version == 4 else 32
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))
