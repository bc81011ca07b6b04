"""
One UDP punch with a peer, as this node runs it (L{Run}): its relayed
link, the punch, the QUIC sockets it sends from and what they are
charged, and once met its path; and how a datagram of a punch or a
check leaves one of those sockets (L{write}).  The runs themselves are
kept by L{twisted_bazaar.reach.punch.udp.service.UdpPunching}.
"""

import socket

from twisted.internet.error import InvalidAddressError

from twisted_bazaar.base.addressgroup import addressGroup

__all__ = ["Run", "write"]


class Run:
    """
    One punch with a peer: its relayed link, whether this node opened
    that link (then it asks its dialer for the link over the punched
    path), the punch, the
    QUIC sockets it sends from (number 0 the node's own), and once met,
    the path and the socket it leaves from (the others closed: None).
    """

    __slots__ = ("peer_id", "link", "opened", "nonce", "punch", "endpoints", "path",
                 "started", "linger", "why")

    def __init__(self, peer_id, link, opened, nonce, started):
        self.peer_id = peer_id
        self.link = link
        self.opened = opened
        self.nonce = nonce
        self.started = started
        self.punch = None
        self.endpoints = []
        self.path = None
        #: The timer that ends a met punch with no link to its peer.
        self.linger = None
        #: Why it failed before its punch could ("": it did not).
        self.why = ""

    def charge(self, sockets, opened):
        """Charge to ``opened`` (L{PunchSockets
        <twisted_bazaar.reach.punch.udp.sockets.PunchSockets>}) the sockets
        this run holds beyond the node's own (``sockets.main``) while its
        punch is under way: a met punch's one kept socket is its path's, and a later
        punch to the same network is not refused for it."""
        held = sum(1 for endpoint in self.endpoints
                   if endpoint not in (None, sockets.main))
        if held and self.punch.met is None:
            opened.hold(self, addressGroup(self.punch.plan.host), held)
        else:
            opened.release(self)

    def closeExtra(self, sockets, opened, kept):
        """Close this run's sockets but the node's own and ``kept``."""
        for index, endpoint in enumerate(self.endpoints):
            if endpoint not in (None, sockets.main, kept):
                sockets.close(endpoint)
                self.endpoints[index] = None
        self.charge(sockets, opened)


def write(endpoint, data, host, port, ttl=0):
    """A datagram of a punch or a check, from one of the node's QUIC
    sockets (None: one the punch closed, as it met on another), with IP
    TTL ``ttl`` (0: the socket's own; the socket keeps its own after)."""
    if endpoint is None:
        return
    transport = endpoint.transport
    try:
        if ttl:
            _writeWithTtl(transport, data, (host, port), ttl)
        else:
            transport.write(data, (host, port))
    except OSError:
        # A datagram lost (a full buffer, no route): the punch resends.
        pass
    except InvalidAddressError:
        # A host of the other family than the socket's (a node listening
        # on IPv6 alone, its tracker at an IPv4 address): no datagram can
        # go, so the tracker's check sees none, as behind a router that
        # drops them.
        pass


def _writeWithTtl(transport, data, address, ttl):
    """transport.write with the socket's TTL (and an IPv6 socket's hop
    limit: its IPv4-mapped peers take the TTL) set to ttl for it alone."""
    sock = transport.socket
    options = [(socket.IPPROTO_IP, socket.IP_TTL)]
    if sock.family == socket.AF_INET6:
        options.append((socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS))
    before = [sock.getsockopt(level, name) for level, name in options]
    for level, name in options:
        sock.setsockopt(level, name, ttl)
    try:
        transport.write(data, address)
    finally:
        for (level, name), value in zip(options, before):
            sock.setsockopt(level, name, value)
