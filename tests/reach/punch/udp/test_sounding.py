"""Tests for L{twisted_bazaar.reach.punch.udp.sounding}: the answers read
from a socket's error queue, and a sounding's reads on the clock, with a
fake socket (the kernel's answers through real routers:
tests/e2e/test_udppunch_live.py)."""

import socket
import struct

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach.punch.udp.plan import LOW_TTL, SOUND
from twisted_bazaar.reach.punch.udp.sounding import (
    IP_RECVERR,
    IPV6_RECVERR,
    MSG_ERRQUEUE,
    READS,
    Answer,
    Sounding,
    answerOf,
)

PEER = "203.0.113.9"


def extended(origin, type, code, offender):
    """The bytes of a sock_extended_err and its offender's sockaddr."""
    if ":" in offender:
        sockaddr = struct.pack("=HHI16sI", socket.AF_INET6, 0, 0,
                               socket.inet_pton(socket.AF_INET6, offender), 0)
    else:
        sockaddr = struct.pack("=HH4s8x", socket.AF_INET, 0, socket.inet_aton(offender))
    return struct.pack("=IBBBBII", 111, origin, type, code, 0, 0, 0) + sockaddr


def icmp(offender, type=3, code=3):
    return [(socket.IPPROTO_IP, IP_RECVERR, extended(2, type, code, offender))]


class AnswerTests(SynchronousTestCase):
    def test_icmp(self):
        """An ICMP error's offender, type and code."""
        self.assertEqual(answerOf(icmp(PEER)), Answer(PEER, 3, 3))
        self.assertEqual(answerOf(icmp("10.47.1.254", 11, 0)), Answer("10.47.1.254", 11, 0))

    def test_icmp6(self):
        """An ICMPv6 error on an IPv6 socket."""
        ancdata = [(socket.IPPROTO_IPV6, IPV6_RECVERR, extended(3, 1, 4, "2001:db8::9"))]
        self.assertEqual(answerOf(ancdata), Answer("2001:db8::9", 1, 4))

    def test_notIcmp(self):
        """A local error (origin 1), another control message, or one too
        short: no answer."""
        self.assertIsNone(answerOf([(socket.IPPROTO_IP, IP_RECVERR,
                                     extended(1, 0, 0, PEER))]))
        self.assertIsNone(answerOf([(socket.SOL_SOCKET, 1, b"x" * 40)]))
        self.assertIsNone(answerOf([(socket.IPPROTO_IP, IP_RECVERR, b"short")]))
        self.assertIsNone(answerOf([]))


class FakeSocket:
    """A socket whose error queue holds ``queue`` (one read's control
    messages each), read one at a time."""

    def __init__(self, queue=(), fails=None):
        self.queue = list(queue)
        self.fails = fails
        self.sent = []
        self.closed = False
        self.reads = 0

    def sendto(self, data, address):
        if self.fails:
            raise OSError(101, self.fails)
        self.sent.append((data, address))

    def recvmsg(self, size, ancsize, flags):
        assert flags == MSG_ERRQUEUE
        self.reads += 1
        if not self.queue:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        return b"", self.queue.pop(0), flags, (PEER, 6000)

    def close(self):
        self.closed = True


class SoundingTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        #: near is said in seconds from here, within a rounding of a
        #: clock at an epoch (0.24 us at 1.8e9).
        self.start = self.clock.seconds()
        self.near = []
        self.made = []

    def sounding(self, sock):
        def makeSocket(family, bind):
            self.made.append((family, bind))
            return sock
        sounding = Sounding(self.clock, PEER, 6000, b"probe",
                            lambda: self.near.append(self.clock.seconds() - self.start),
                            socket.AF_INET, "192.168.1.2", makeSocket)
        self.assertEqual(sounding.start(), "")
        return sounding

    def test_peersRouterAnswers(self):
        """Its datagram goes to the peer's seen port from a socket of its
        own beside the node's; an answer from the peer's host, queued by
        the first read: near, and the socket closed."""
        sock = FakeSocket([icmp(PEER)])
        sounding = self.sounding(sock)
        self.assertEqual(sock.sent, [(b"probe", (PEER, 6000))])
        self.assertEqual(self.made, [(socket.AF_INET, ("192.168.1.2", 0))])
        self.assertEqual(self.near, [])
        self.clock.advance(READS[0])
        [near] = self.near
        self.assertAlmostEqual(near, READS[0], places=6)
        self.assertEqual(sounding.answer, Answer(PEER, 3, 3))
        self.assertTrue(sock.closed)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_timeExceededFromThePeer(self):
        """Time exceeded from the peer's host (its router forwarded the
        datagram, with no hop left): near too."""
        self.sounding(FakeSocket([icmp(PEER, 11, 0)]))
        self.clock.advance(READS[0])
        self.assertEqual(len(self.near), 1)

    def test_routerBetween(self):
        """Time exceeded from another host (a router between): not near,
        and read no more."""
        sock = FakeSocket([icmp("10.47.1.254", 11, 0)])
        sounding = self.sounding(sock)
        self.clock.advance(SOUND)
        self.assertEqual(self.near, [])
        self.assertEqual(sounding.answer, Answer("10.47.1.254", 11, 0))
        self.assertEqual(sock.reads, 1)
        self.assertTrue(sock.closed)

    def test_silence(self):
        """No answer (a router that drops it): read at each of L{READS},
        all within L{SOUND} s, then closed, never near."""
        sock = FakeSocket()
        self.sounding(sock)
        self.assertLess(READS[-1], SOUND)
        # From read to read, as the sounding sets its timers.
        for before, at in zip((0.0,) + READS[:-2], READS[:-1]):
            self.clock.advance(at - before)
            self.assertFalse(sock.closed)
        self.clock.advance(READS[-1] - READS[-2])
        self.assertEqual(sock.reads, len(READS))
        self.assertTrue(sock.closed)
        self.assertEqual(self.near, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_aLaterAnswer(self):
        """An answer that comes by the third read is taken then."""
        sock = FakeSocket()
        self.sounding(sock)
        self.clock.advance(READS[1])
        sock.queue.append(icmp(PEER))
        self.clock.advance(READS[2] - READS[1])
        [near] = self.near
        self.assertAlmostEqual(near, READS[2], places=6)

    def test_stopped(self):
        """Stopped (its punch met or ended): no read, the socket closed."""
        sock = FakeSocket([icmp(PEER)])
        self.sounding(sock).stop()
        self.assertTrue(sock.closed)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.near, [])

    def test_cannotSend(self):
        """A send that fails: said, the socket closed, nothing read."""
        sock = FakeSocket(fails="Network is unreachable")
        sounding = Sounding(self.clock, PEER, 6000, b"probe", self.near.append,
                            makeSocket=lambda family, bind: sock)
        self.assertEqual(sounding.start(),
                         f"no sounding of {PEER}: Network is unreachable")
        self.assertTrue(sock.closed)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_lowTtl(self):
        """The real socket: IP_RECVERR on, and the TTL the low one."""
        from twisted_bazaar.reach.punch.udp.sounding import _open
        sock = _open(socket.AF_INET, ("127.0.0.1", 0))
        self.addCleanup(sock.close)
        self.assertEqual(sock.getsockopt(socket.IPPROTO_IP, socket.IP_TTL), LOW_TTL)
        self.assertEqual(sock.getsockopt(socket.IPPROTO_IP, IP_RECVERR), 1)
        self.assertFalse(sock.getblocking())
