"""
A punch's sounding (L{Sounding}): whether the peer's router is on this
node's segment, told by the ICMP answer to one datagram this side's
router passes with one hop left (L{twisted_bazaar.reach.punch.udp.plan}'s
docstring says why a punch wants to know, and what it does then).

The datagram goes with TTL L{LOW_TTL <twisted_bazaar.reach.punch.udp.plan.LOW_TTL>}
to the peer's seen host and port, from a UDP socket of its own with
C{IP_RECVERR}: Linux queues the ICMP error that comes back for it
(through this side's router, which passes it as related to the
datagram's mapping) on that socket's error queue, with the address of
the host that sent it.  The peer's host there (its router, a plain
C{MASQUERADE} one: port unreachable, or time exceeded where it
forwarded the datagram) means one segment; an ISP's router (time
exceeded), or nothing, means not.  Measured in this repository's
network namespaces (testing/netns.py) on Linux 6.18: port unreachable
from the peer's router on one segment, time exceeded from the ISP's
router a hop between, and nothing from a router whose firewall drops it
(which keeps no conntrack entry for it either: conntrack confirms an
entry after the INPUT chain).

The socket is not the node's QUIC socket, nor handed to the reactor:
a socket with C{IP_RECVERR} and an error queued polls as an error with
nothing to read, which Twisted's reactor takes for the socket's end
(and a queued error fails the socket's next send).  It is read on the
clock, a few times within L{SOUND <twisted_bazaar.reach.punch.udp.plan.SOUND>}
s, and closed at the first answer or after the last read.  The
socket's own mapping, at this side's router, is not the punch's: at the
peer's router its datagram holds a pair of its own, which no datagram
of the punch uses.
"""

import socket
import struct

import attr

from twisted_bazaar.base.lan import sameHost
from twisted_bazaar.reach.punch.udp.plan import LOW_TTL, SOUND

__all__ = ["Answer", "Sounding", "answerOf", "READS"]

#: Seconds from the send at which the error queue is read.
READS = (0.02, 0.05, 0.1, SOUND - 0.05)
#: The socket options and control messages of queued errors (Linux's).
IP_RECVERR = 11
IPV6_RECVERR = 25
MSG_ERRQUEUE = 0x2000
#: struct sock_extended_err: errno, origin, ICMP type and code, pad,
#: info, data; the offender's sockaddr follows it.
_EXTENDED = struct.Struct("=IBBBBII")
#: The origins of an error an ICMP (or ICMPv6) message brought.
_ICMP_ORIGINS = (2, 3)
_KINDS = {(socket.IPPROTO_IP, IP_RECVERR), (socket.IPPROTO_IPV6, IPV6_RECVERR)}


@attr.s(frozen=True, slots=True, auto_attribs=True)
class Answer:
    """An ICMP error that came for the sounding: from ``offender``, its
    ``type`` and ``code``."""

    offender: str
    type: int
    code: int


def _hostOf(raw):
    """The host of a packed sockaddr_in or sockaddr_in6, or ""."""
    if len(raw) < 2:
        return ""
    family = struct.unpack_from("=H", raw)[0]
    if family == socket.AF_INET and len(raw) >= 8:
        return socket.inet_ntop(socket.AF_INET, raw[4:8])
    if family == socket.AF_INET6 and len(raw) >= 24:
        return socket.inet_ntop(socket.AF_INET6, raw[8:24])
    return ""


def answerOf(ancdata):
    """The L{Answer} in the control messages of one read of an error
    queue, or None (no ICMP error among them)."""
    for level, kind, data in ancdata:
        if (level, kind) not in _KINDS or len(data) < _EXTENDED.size:
            continue
        _, origin, type, code, _, _, _ = _EXTENDED.unpack_from(data)
        if origin in _ICMP_ORIGINS:
            return Answer(_hostOf(data[_EXTENDED.size:]), type, code)
    return None


def _open(family, bind):
    """A UDP socket bound to ``bind`` whose ICMP errors are queued."""
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        sock.bind(bind)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, LOW_TTL)
        # An IPv6 socket's IPv4-mapped peers' errors come as IPv4's too.
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, LOW_TTL)
    except OSError:
        sock.close()
        raise
    return sock


class Sounding:
    """
    One punch's sounding: L{start} sends it, and ``near()`` is called once
    an answer from ``host`` comes (within the last of L{READS}); L{stop}
    ends it (its timer cancelled, its socket closed).
    """

    def __init__(self, clock, host, port, data, near, family=socket.AF_INET,
                 interface="", makeSocket=_open):
        """
        @param family: the address family of the node's QUIC socket, and
            ``interface`` its address, which the sounding's socket takes.
        @param makeSocket: C{makeSocket(family, (interface, 0))}, the
            socket (L{_open}; a fake's in tests).
        """
        self.clock = clock
        self.host = host
        self.port = port
        self.data = data
        self.near = near
        self.family = family
        self.interface = interface
        self.makeSocket = makeSocket
        self.socket = None
        self.answer = None
        self._timer = None
        self._reads = list(READS)

    def start(self):
        """Send the sounding: "" or why it could not go (then it never
        calls ``near``)."""
        try:
            self.socket = self.makeSocket(self.family, (self.interface, 0))
            self.socket.sendto(self.data, (self.host, self.port))
        except OSError as e:
            self.stop()
            return f"no sounding of {self.host}: {e.strerror or e}"
        self._next(0.0)
        return ""

    def _next(self, now):
        at = self._reads.pop(0)
        self._timer = self.clock.callLater(at - now, self._read, at)

    def _read(self, at):
        self._timer = None
        answer = self._drain()
        if answer is not None:
            self.answer = answer
            self.stop()
            if sameHost(answer.offender, self.host):
                self.near()
            return
        if self._reads:
            self._next(at)
        else:
            self.stop()

    def _drain(self):
        """The first ICMP answer queued on the socket, or None."""
        while True:
            try:
                _, ancdata, _, _ = self.socket.recvmsg(64, 512, MSG_ERRQUEUE)
            except OSError:
                return None
            answer = answerOf(ancdata)
            if answer is not None:
                return answer

    def stop(self):
        """No more reads; the socket closed."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        sock, self.socket = self.socket, None
        if sock is not None:
            sock.close()
