"""
Where the node's default gateway is: the router NAT-PMP and PCP speak to
(RFC 6886 §3.1: "the client sends to its default gateway").  Read from
Linux's route table; a small function of its own so that a test (or a
system without /proc) puts its own in its place.
"""

import ipaddress
import socket
import struct

ROUTES = "/proc/net/route"


def defaultGateway(path=ROUTES):
    """The IPv4 address of the default route's gateway, or None (no
    default route, no route table, or one that does not parse)."""
    try:
        with open(path, encoding="ascii", errors="replace") as routes:
            lines = routes.read(65536).splitlines()[1:]
    except OSError:
        return None
    return gatewayIn(lines)


def gatewayIn(lines):
    """The default route's gateway in the lines of a route table (as
    /proc/net/route writes them, without the heading), or None."""
    for line in lines:
        fields = line.split()
        if len(fields) < 4 or fields[1] != "00000000":
            continue
        try:
            flags = int(fields[3], 16)
            packed = struct.pack("<I", int(fields[2], 16))
        except (ValueError, struct.error):
            continue
        if not flags & 0x2:  # RTF_GATEWAY
            continue
        return str(ipaddress.IPv4Address(packed))
    return None


def localAddressToward(host):
    """The node's own IPv4 address on the way to host (what PCP and UPnP
    name as the mapping's internal client): the source address the kernel
    picks for it, found by connecting a UDP socket, which sends nothing.
    None when there is no route."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect((host, 9))
        return probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
