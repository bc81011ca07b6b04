"""
GSO sends (L{twisted_bazaar.transports.quic.segments}): how a burst is cut into
runs one send carries, what a socket that segments is given, and the
fallback to one datagram at a time where the kernel or the socket
refuses; the endpoint's use of it on a fake socket.
"""

import errno
import struct

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.transports.quic import segments
from twisted_bazaar.transports.quic.endpoint import QuicEndpoint
from twisted_bazaar.transports.quic.segments import MOST_SEGMENTS, Segmenter, batches

A, B = ("10.0.0.1", 4433), ("10.0.0.2", 4433)


class FakeSocket:
    """A UDP socket's setsockopt and sendmsg, each recorded; each raises
    the OSError of its errno if one is set."""

    def __init__(self, refuseOption=None, refuseSend=None):
        self.options = []
        self.sent = []
        self.refuseOption = refuseOption
        self.refuseSend = refuseSend

    def setsockopt(self, level, option, value):
        if self.refuseOption is not None:
            raise OSError(self.refuseOption, "refused")
        self.options.append((level, option, value))

    def sendmsg(self, buffers, ancillary, flags, addr):
        if self.refuseSend is not None:
            raise OSError(self.refuseSend, "refused")
        self.sent.append((list(buffers), ancillary, flags, addr))


class BatchTests(SynchronousTestCase):
    def test_equalSizesToOneAddress(self):
        """Datagrams of one size to one address are one run; a shorter
        one ends it."""
        burst = [(b"x" * 100, A)] * 3 + [(b"y" * 40, A), (b"z" * 100, A)]
        self.assertEqual(batches(burst),
                         [(A, 100, [b"x" * 100] * 3 + [b"y" * 40]), (A, 100, [b"z" * 100])])

    def test_anotherAddressOrALargerOneStartsARun(self):
        burst = [(b"x" * 100, A), (b"x" * 100, B), (b"w" * 200, B), (b"w" * 200, B)]
        self.assertEqual(batches(burst),
                         [(A, 100, [b"x" * 100]), (B, 100, [b"x" * 100]),
                          (B, 200, [b"w" * 200] * 2)])

    def test_boundedBySegmentsAndBytes(self):
        """At most 64 datagrams a run, and no more bytes than UDP carries
        (the kernel refuses either)."""
        runs = batches([(b"x" * 10, A)] * (MOST_SEGMENTS + 1))
        self.assertEqual([len(run) for _, _, run in runs], [MOST_SEGMENTS, 1])
        runs = batches([(b"x" * 1472, A)] * 50, most=65507)
        self.assertEqual([len(run) for _, _, run in runs], [44, 6])
        self.assertTrue(all(sum(map(len, run)) <= 65507 for _, _, run in runs))

    def test_nothing(self):
        self.assertEqual(batches([]), [])


class SegmenterTests(SynchronousTestCase):
    def test_aSocketThatSegments(self):
        handle = FakeSocket()
        segmenter = Segmenter.of(handle)
        self.assertEqual(handle.options, [(segments.SOL_UDP, segments.UDP_SEGMENT, 0)])
        self.assertTrue(segmenter.send(A, 100, [b"x" * 100, b"y" * 30]))
        self.assertEqual(handle.sent, [([b"x" * 100, b"y" * 30],
                                        [(segments.SOL_UDP, segments.UDP_SEGMENT,
                                          struct.pack("=H", 100))], 0, A)])

    def test_aKernelWithoutGso(self):
        """A socket that refuses the option gets no segmenter."""
        self.assertIsNone(Segmenter.of(FakeSocket(refuseOption=errno.ENOPROTOOPT)))

    def test_aDeviceThatCannot(self):
        """EIO (no checksum offload on the way): one at a time, for good."""
        handle = FakeSocket(refuseSend=errno.EIO)
        segmenter = Segmenter.of(handle)
        self.assertFalse(segmenter.send(A, 100, [b"x" * 100] * 2))
        self.assertFalse(segmenter.on)
        handle.refuseSend = None
        self.assertFalse(segmenter.send(A, 100, [b"x" * 100] * 2))
        self.assertEqual(handle.sent, [])

    def test_tooLargeForThePath(self):
        """A segment past the path's MTU (EINVAL, or EMSGSIZE): this run
        one at a time, so the too-large one is told; later runs still
        segmented."""
        for refused in (errno.EINVAL, errno.EMSGSIZE):
            handle = FakeSocket(refuseSend=refused)
            segmenter = Segmenter.of(handle)
            self.assertFalse(segmenter.send(A, 100, [b"x" * 100] * 2))
            self.assertTrue(segmenter.on)

    def test_aDatagramsLoss(self):
        """A full buffer or an unreachable host loses the run, as it would
        a datagram: QUIC resends it."""
        for lost in (errno.EAGAIN, errno.ENOBUFS, errno.EHOSTUNREACH):
            segmenter = Segmenter.of(FakeSocket(refuseSend=lost))
            self.assertTrue(segmenter.send(A, 100, [b"x" * 100] * 2))
            self.assertTrue(segmenter.on)


class Transport:
    """A port's write (each datagram recorded; one past ``mtu`` bytes
    refused as the kernel refuses it with the don't-fragment bit)."""

    def __init__(self, mtu=None):
        self.written = []
        self.mtu = mtu

    def write(self, data, addr):
        if self.mtu is not None and len(data) > self.mtu:
            raise OSError(errno.EMSGSIZE, "Message too long")
        self.written.append((data, addr))


class EndpointTests(SynchronousTestCase):
    def endpoint(self, handle, mtu=None):
        endpoint = QuicEndpoint(Clock())
        endpoint.transport = Transport(mtu)
        endpoint.segmenter = None if handle is None else Segmenter.of(handle)
        return endpoint

    def test_runsAreSegmented(self):
        """A run goes in one send; a lone datagram as ever."""
        handle = FakeSocket()
        endpoint = self.endpoint(handle)
        self.assertTrue(endpoint.sendDatagrams([(b"x" * 100, A)] * 3 + [(b"y" * 50, B)]))
        self.assertEqual([(len(buffers), addr) for buffers, _, _, addr in handle.sent],
                         [(3, A)])
        self.assertEqual(endpoint.transport.written, [(b"y" * 50, B)])

    def test_noSegmenter(self):
        endpoint = self.endpoint(None)
        burst = [(b"x" * 100, A)] * 3
        self.assertTrue(endpoint.sendDatagrams(burst))
        self.assertEqual(endpoint.transport.written, burst)

    def test_refusedRunGoesOneAtATime(self):
        """A run refused for its size goes one datagram at a time, and the
        one too large for the path is told (False)."""
        handle = FakeSocket(refuseSend=errno.EINVAL)
        endpoint = self.endpoint(handle, mtu=100)
        self.assertFalse(endpoint.sendDatagrams([(b"x" * 100, A), (b"y" * 100, A),
                                                 (b"z" * 200, A)]))
        self.assertEqual(endpoint.transport.written, [(b"x" * 100, A), (b"y" * 100, A)])
        handle.refuseSend = None
        self.assertTrue(endpoint.sendDatagrams([(b"x" * 100, A)] * 2))
        self.assertEqual(len(handle.sent), 1)
