"""
How large a QUIC connection's datagrams are: what the kernel's route to
the peer carries, as a real stack sizes its packets from the route
(RFC 9000 §14, RFC 8899's packetization layer).

The route's MTU is read from a UDP socket connect()ed to the peer
(Linux's ``IP_MTU``; connecting a UDP socket sends nothing): 65,535 on
loopback, 1,500 on Ethernet, less behind a tunnel.  A datagram is that
less the IP and UDP headers, and never more than the peer said it reads
(its ``max_udp_payload_size``) nor than UDP carries; when the MTU is not
known it is L{FALLBACK}, what a 1,500-byte path carries in IPv6.  The
handshake's datagrams are smaller (1,280 bytes), and a connection sends
this size from then on (should the path narrow later:
L{fragmentPastPath}).

On loopback this matters most: each datagram costs its Python calls at
both ends whatever its size, so 45 times fewer datagrams a byte is most
of QUIC's cost (docs/architecture.md, "QUIC").
"""

import socket
import sys

__all__ = ["FALLBACK", "MOST", "datagramSize", "routeMtu", "fragmentPastPath"]

#: Bytes of a datagram when the route's MTU is not known: what a path of
#: 1,500 bytes carries in IPv6 (40 bytes of IP header, 8 of UDP), so in
#: IPv4 too.
FALLBACK = 1452
#: The most a UDP datagram carries (IPv4: 65,535 less 20 and 8 bytes of
#: headers; an IPv6 jumbogram aside).
MOST = 65507
#: Bytes of IP and UDP headers, by address family.
HEADERS = {socket.AF_INET: 28, socket.AF_INET6: 48}

# Linux's option numbers (<linux/in.h>, <linux/in6.h>); Python's socket
# module names few of them.
_IP_MTU_DISCOVER, _IP_MTU, _IP_PMTUDISC_WANT = 10, 14, 1
_IPV6_MTU_DISCOVER, _IPV6_MTU, _IPV6_PMTUDISC_WANT = 23, 24, 1
_LINUX = sys.platform.startswith("linux")


def _family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def routeMtu(host):
    """The MTU of the kernel's route to host (an IP address), or None
    where it is not known (no route, not Linux)."""
    if not _LINUX:
        return None
    family = _family(host)
    level, option = ((socket.IPPROTO_IPV6, _IPV6_MTU) if family == socket.AF_INET6
                     else (socket.IPPROTO_IP, _IP_MTU))
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((host, 9))
            return probe.getsockopt(level, option)
    except OSError:
        return None


def datagramSize(host, peerReads=None, lookup=routeMtu):
    """
    Bytes of the datagrams to send to host.

    @param peerReads: the most the peer reads (its transport parameter
        ``max_udp_payload_size``), or None if it did not say (RFC 9000's
        default, 65,527).
    @param lookup: ``lookup(host)``, the route's MTU or None.
    """
    mtu = lookup(host)
    if mtu is None:
        return FALLBACK
    size = min(mtu - HEADERS[_family(host)], MOST)
    if peerReads is not None:
        size = min(size, peerReads)
    # QUIC's floor: no path it runs on carries less (RFC 9000 §14).
    return max(size, 1200)


def fragmentPastPath(handle):
    """
    A UDP socket's datagrams (Linux) with the don't-fragment bit set when
    they fit the path's MTU the kernel knows, and cut in fragments when
    they do not (IP_PMTUDISC_WANT), rather than refused (EMSGSIZE).

    A connection's datagrams are sized once, at its start: qh3 has no
    way to make them smaller later.  Should the path narrow under it (a
    router's ICMP tells the kernel), its datagrams go on in fragments,
    and the next connection is sized from the route, which now says so;
    refused, they would have stalled it for good.
    """
    if not _LINUX:
        return
    for level, option, value in ((socket.IPPROTO_IP, _IP_MTU_DISCOVER, _IP_PMTUDISC_WANT),
                                 (socket.IPPROTO_IPV6, _IPV6_MTU_DISCOVER,
                                  _IPV6_PMTUDISC_WANT)):
        try:
            handle.setsockopt(level, option, value)
        except OSError:
            # The other family's option, on a socket of one family.
            pass
