"""
One UDP punch with a peer, as this node runs it (L{Run}): its relayed
link, the punch, the QUIC sockets it sends from and what they are
charged, and once met its path; the table of a node's runs
(L{RunTable}), which the parts of its punching read and
L{twisted_bazaar.reach.punch.udp.runs.Runs} alone writes; and how a
datagram of a punch or a check leaves one of those sockets (L{write}).
"""

import socket

from twisted.internet.error import InvalidAddressError

from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.reach.punch.udp import plan as udppunch
from twisted_bazaar.reach.punch.udp.sounding import Sounding

__all__ = ["Run", "RunTable", "write"]


class Run:
    """
    One punch with a peer: its relayed link, whether this node opened
    that link (then it asks its dialer for the link over the punched
    path), the punch, the
    QUIC sockets it sends from (number 0 the node's own), and once met,
    the path and the socket it leaves from (the others closed: None).
    """

    __slots__ = ("peer_id", "link", "opened", "nonce", "punch", "endpoints", "path",
                 "started", "linger", "why", "sounding")

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
        #: Its plan's sounding (L{Sounding}), or None.
        self.sounding = None

    def start(self, clock, plan, main, budget, limits, key, near=None, sounder=Sounding):
        """Start this side's punch by plan with the peer of key, from the
        node's own socket ``main`` first: its Deferred (L{UdpPunch.start
        <twisted_bazaar.reach.punch.udp.plan.UdpPunch.start>}).  A sounded
        plan's sounding goes from a socket of its own beside ``main``'s
        address; ``near(run)`` is called if it finds the peer's router
        on this side's segment (``sounder``: L{Sounding}, a fake's in
        tests)."""
        self.endpoints = [main]

        def sound(host, port, data):
            self.sounding = sounder(clock, host, port, data, lambda: near(self),
                                     *_familyOf(main, host))
            self.sounding.start()

        self.punch = udppunch.UdpPunch(
            clock, plan, self.nonce,
            lambda socket, host, port, data, ttl=0: write(self.endpoints[socket], data,
                                                          host, port, ttl),
            budget, limits, key, None if near is None else sound)
        return self.punch.start()

    def openSockets(self, sockets, opened, count):
        """Give this run ``count`` sockets, the node's own first: "" or why
        not (kept as L{why})."""
        try:
            while len(self.endpoints) < count:
                endpoint = sockets.open()
                self.endpoints.append(endpoint)
        except OSError as e:
            self.closeExtra(sockets, opened, None)
            self.why = f"cannot open {count} UDP sockets: {e.strerror or e}"
            return self.why
        self.charge(sockets, opened)
        return ""

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
        """Close this run's sockets but the node's own and ``kept`` (and
        its sounding's)."""
        if self.sounding is not None:
            self.sounding.stop()
        for index, endpoint in enumerate(self.endpoints):
            if endpoint not in (None, sockets.main, kept):
                sockets.close(endpoint)
                self.endpoints[index] = None
        self.charge(sockets, opened)


class RunTable:
    """
    A node's runs (L{Run}), under way or met: by peer (one at a time) and
    by the nonce its datagrams carry; and the peers to which this side
    dials the QUIC link over a met run's path, that dial not failed.
    """

    def __init__(self):
        self._byPeer = {}
        self._byNonce = {}
        self._linking = set()

    def __contains__(self, peer_id):
        return peer_id in self._byPeer

    def __len__(self):
        return len(self._byPeer)

    def get(self, peer_id):
        """peer_id's run, or None."""
        return self._byPeer.get(peer_id)

    def runs(self):
        """Every run, a list of its own."""
        return list(self._byPeer.values())

    def byNonce(self, nonce):
        """The run whose datagrams carry nonce, or None."""
        return self._byNonce.get(nonce)

    def add(self, run):
        self._byPeer[run.peer_id] = run
        self._byNonce[run.nonce] = run

    def remove(self, run):
        """run is over: forgotten, if it is still its peer's and its
        nonce's."""
        if self._byPeer.get(run.peer_id) is run:
            del self._byPeer[run.peer_id]
            self._linking.discard(run.peer_id)
        if self._byNonce.get(run.nonce) is run:
            del self._byNonce[run.nonce]

    def linking(self, peer_id):
        """Whether this side dials the QUIC link over peer_id's met path."""
        return peer_id in self._linking

    def dialling(self, peer_id):
        self._linking.add(peer_id)

    def dialFailed(self, peer_id):
        self._linking.discard(peer_id)


def _familyOf(endpoint, peer):
    """(family, address) a sounding's socket to host ``peer`` binds: the
    peer's family, at the address of the QUIC endpoint's socket where
    that is one of the family's (else any)."""
    family = socket.AF_INET6 if ":" in peer else socket.AF_INET
    sock = getattr(getattr(endpoint, "transport", None), "socket", None)
    if sock is None or sock.family != family:
        return family, ""
    host = sock.getsockname()[0]
    return family, "" if host in ("0.0.0.0", "::") else host


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
