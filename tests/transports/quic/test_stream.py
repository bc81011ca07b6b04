"""
Tests of L{twisted_bazaar.transports.quic.stream}: a QUIC stream as the protocol
above sees a TCP connection: data both ways, flow control on both sides,
and its end.
"""

from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IPushProducer
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject
from twisted.internet.interfaces import IConsumer, ITransport

from twisted_bazaar.net.capabilities import IQuicTransport
from twisted_bazaar.net.link import Link, LinkSettings
from twisted_bazaar.schemes.flood.messages import Search
from twisted_bazaar.transports.quic.stack import STREAM_WINDOW
from twisted_bazaar.transports.quic.stream import (
    PUSH_HIGH_WATER, PUSH_LOW_WATER, StreamTransport)

from tests.helpers import RecordingOwner
from tests.transports.quic.fakeudp import FakeNetwork, dialled, served

#: What qh3 may hold of a link's bytes beyond its write limit, as
#: docs/protocol.md §14 says (256 KiB), and a message being written.
BEYOND_THE_LIMIT = 256 * 1024 + 8 * 1024


@implementer(IPushProducer)
class Pump:
    """A streaming producer that writes a block each time it is told to
    go on (``step``), while not paused."""

    def __init__(self, transport, block=64 * 1024):
        self.transport = transport
        self.block = block
        self.paused = False
        self.pauses = 0
        self.written = 0

    def pauseProducing(self):
        self.paused = True
        self.pauses += 1

    def resumeProducing(self):
        self.paused = False

    def stopProducing(self):
        self.paused = True

    def step(self, limit):
        while not self.paused and self.written < limit:
            self.transport.write(b"x" * self.block)
            self.written += self.block


class StreamTests(SynchronousTestCase):
    def setUp(self):
        self.network = FakeNetwork()
        self.client = self.network.endpoint("10.0.0.1")
        self.server = self.network.endpoint("10.1.0.2")
        self.accepted = served(self.server, 2)
        self.protocol, _ = dialled(self.client, 1, "10.1.0.2", 2)
        self.network.run(1)
        [self.peer] = self.accepted

    def stream(self, protocol):
        return protocol.transport.transport

    def test_isATransport(self):
        stream = self.stream(self.protocol)
        self.assertIsInstance(stream, StreamTransport)
        for interface in (ITransport, IPushProducer, IConsumer):
            self.assertTrue(verifyObject(interface, stream))
        self.assertEqual((stream.getPeer().type, stream.getPeer().host,
                          stream.getPeer().port), ("UDP", "10.1.0.2", 4433))
        self.assertEqual(stream.getHost().host, "10.0.0.1")

    def test_saysItIsQuic(self):
        """The stream, and the channel over it, at the end that dialled
        and the one that accepted, answer L{IQuicTransport} with the
        stream (docs/protocol.md §12a's ``quic``)."""
        for protocol in (self.protocol, self.peer):
            stream = self.stream(protocol)
            self.assertTrue(verifyObject(IQuicTransport, stream))
            self.assertIs(IQuicTransport(protocol.transport), stream)

    def test_bulkBothWays(self):
        """Megabytes each way arrive whole, in order."""
        up = bytes(range(256)) * 8192
        down = bytes(reversed(range(256))) * 12288
        self.protocol.transport.writeSequence([up[:1000], up[1000:]])
        self.peer.transport.write(down)
        self.network.run(5)
        self.assertEqual(self.peer.received(), up)
        self.assertEqual(self.protocol.received(), down)

    def test_aPausedReaderStopsTheWriter(self):
        """A reader that pauses its transport gets nothing more; its
        peer is sent no more than the stream's window, and the writer's
        producer is paused once its bytes pile up unacknowledged; all
        of it arrives once the reader resumes."""
        self.peer.transport.pauseProducing()
        pump = Pump(self.protocol.transport)
        self.protocol.transport.registerProducer(pump, True)
        total = 8 * 1024 * 1024
        for _ in range(200):
            pump.step(total)
            self.network.run(0.05)
        self.assertEqual(self.peer.received(), b"")
        self.assertTrue(pump.paused)
        self.assertLess(pump.written, STREAM_WINDOW + 2 * PUSH_HIGH_WATER)
        arrived = sum(len(data) for source, _, data in self.network.sent
                      if source == ("10.0.0.1", 4433))
        self.assertLess(arrived, STREAM_WINDOW * 1.2)
        self.peer.transport.resumeProducing()
        for _ in range(400):
            pump.step(total)
            self.network.run(0.05)
            if len(self.peer.received()) == total:
                break
        self.assertEqual(len(self.peer.received()), total)
        self.assertGreater(pump.pauses, 1)

    def silenced(self):
        """The dialler stops sending anything (no acknowledgement, no
        credit): a peer that never reads."""
        client = self.client.transport.getHost()
        self.network.drop = lambda source, destination, data: \
            source == (client.host, client.port)

    def test_aStreamingProducerIsPausedPastASmallMark(self):
        """A streaming producer (a link) is paused once qh3 holds more
        than L{PUSH_HIGH_WATER} of its bytes unacknowledged, and resumed
        under L{PUSH_LOW_WATER} once acknowledgements come: at 4 MiB, qh3
        held that much for a peer that never acknowledges before the
        link counted a byte."""
        self.silenced()
        stream = self.stream(self.peer)
        pump = Pump(self.peer.transport, block=16 * 1024)
        self.peer.transport.registerProducer(pump, True)
        for _ in range(100):
            pump.step(8 * 1024 * 1024)
            self.network.run(0.05)
        held = stream.connection.quic.unacknowledged(stream.stream_id)
        self.assertTrue(pump.paused)
        self.assertGreater(held, PUSH_HIGH_WATER)
        self.assertLessEqual(pump.written, BEYOND_THE_LIMIT + pump.block)
        self.network.drop = lambda source, destination, data: False
        self.network.run(2)
        self.assertFalse(pump.paused)
        self.assertLess(stream.connection.quic.unacknowledged(stream.stream_id),
                        PUSH_LOW_WATER)

    def test_aLinkHoldsItsWriteLimitAndLittleMore(self):
        """
        A link writing to a peer that never acknowledges (nor opens its
        window) is dropped as not reading once what it wrote while paused
        passes its write limit, and what qh3 held for it then is within
        the write limit, L{PUSH_HIGH_WATER} and a message (the
        transport contract, docs/protocol.md §14: before, 4 MiB more).
        """
        self.silenced()
        stream = self.stream(self.peer)
        limit = 256 * 1024
        link = Link(RecordingOwner(), self.network.clock, LinkSettings(write_limit=limit),
                    True)
        link.makeConnection(self.peer.transport)
        message = Search(1, "a" * 4000, (1,), 7)
        most = 0
        for _ in range(400):
            for _ in range(16):
                if link.closing:
                    break
                link.send(message)
                most = max(most, stream.connection.quic.unacknowledged(stream.stream_id))
            if link.closing:
                break
            self.network.run(0.05)
        self.assertTrue(link.deaf)
        self.assertGreater(most, limit)
        self.assertLessEqual(most, limit + BEYOND_THE_LIMIT)

    def test_aPullProducer(self):
        """A pull producer (a seller's file) is asked for more as its
        bytes are acknowledged, until it unregisters."""

        class Chunks:
            def __init__(self, transport, count):
                self.transport, self.count = transport, count

            def resumeProducing(self):
                if self.count:
                    self.count -= 1
                    self.transport.write(b"y" * 100_000)
                    if not self.count:
                        self.transport.unregisterProducer()

            def stopProducing(self):
                self.count = 0

        self.peer.transport.registerProducer(Chunks(self.peer.transport, 30), False)
        self.network.run(5)
        self.assertEqual(len(self.protocol.received()), 3_000_000)

    def test_loseConnection(self):
        """What was written before loseConnection arrives before the
        peer sees the end, a clean one at both ends; no timer is left."""
        self.protocol.transport.write(b"z" * 500_000)
        self.protocol.transport.loseConnection()
        self.network.run(3)
        self.assertEqual(len(self.peer.received()), 500_000)
        self.assertIsInstance(self.peer.lost.value, ConnectionDone)
        self.assertIsInstance(self.protocol.lost.value, ConnectionDone)
        self.assertEqual(self.network.clock.getDelayedCalls(), [])
        self.assertEqual((len(self.server.connections), len(self.server.streams)), (0, 0))

    def test_abort(self):
        """abortConnection drops the connection: both ends lose it."""
        self.stream(self.protocol).abortConnection()
        self.network.run(2)
        self.assertIsNotNone(self.protocol.lost)
        self.assertIsNotNone(self.peer.lost)
        self.assertEqual(self.network.clock.getDelayedCalls(), [])
