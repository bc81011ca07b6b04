"""
Tests of L{twisted_bazaar.net.quic.connection}'s datagrams: the
handshake's of 1,452 bytes at most, then the path's (its route's MTU and
the peer's limit, L{twisted_bazaar.net.quic.pathmtu}), their STREAM
frames longer than aioquic's own 16,383 bytes, and smaller ones again
when the path refuses them (the lost ones' bytes sent again from the
stream's L{twisted_bazaar.net.quic.sendbuffer.SendBuffer}).
"""

import logging
import os

from aioquic.quic.events import ConnectionTerminated, StreamDataReceived, StreamReset
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.quic import stack
from twisted_bazaar.net.quic.connection import FINISH_WAIT, Connection, QuicClosed
from twisted_bazaar.net.quic.connector import LINKS
from twisted_bazaar.net.quic.pathmtu import FALLBACK, MOST
from twisted_bazaar.net.quic.stack import READ_SIZE, Quic, clientConfiguration

from tests.net.quic.fakeudp import FakeNetwork, Recorder

CLIENT, SERVER = ("10.0.0.1", 4433), ("10.1.0.2", 4433)
SIZE = 1024 * 1024


class Accepted(Factory):
    def __init__(self):
        self.protocols = []

    def buildProtocol(self, addr):
        self.protocols.append(Recorder())
        return self.protocols[-1]


class Sender(Protocol):
    def __init__(self, data):
        self.data = data

    def connectionMade(self):
        self.transport.write(self.data)


class DatagramSizeTests(SynchronousTestCase):
    def transfer(self, network, drop=lambda data: False):
        """SIZE random bytes from a client to a server over network: the
        datagrams sent before the client's handshake was done, and
        those after."""
        client = network.endpoint(*CLIENT)
        server = network.endpoint(*SERVER)
        accepted = self.accepted = Accepted()
        server.serve(LINKS, accepted)
        data = os.urandom(SIZE)
        result, handshake, after = [], [], []

        def sorted_(source, destination, datagram):
            (after if result else handshake).append(datagram)
            return drop(datagram)

        network.drop = sorted_
        client.connect(SERVER[0], SERVER[1], LINKS, Sender(data)).addBoth(result.append)
        network.run(3)
        [protocol] = accepted.protocols
        self.assertEqual(protocol.received(), data)
        self.connection = result[0].transport.connection
        return handshake, after

    def test_loopback(self):
        """A route of 65,535 bytes: the handshake's datagrams are of
        1,452 bytes at most, the transfer's of up to 65,507 (a STREAM
        frame past aioquic's 16,383 bytes); the bytes arrive whole."""
        handshake, after = self.transfer(FakeNetwork(mtu=65535))
        self.assertLessEqual(max(map(len, handshake)), FALLBACK)
        self.assertEqual(max(map(len, after)), MOST)
        self.assertLess(len(after), 2 * SIZE // MOST + 40)

    def test_unknown(self):
        """No MTU known: 1,452 bytes throughout."""
        handshake, after = self.transfer(FakeNetwork())
        self.assertEqual(max(map(len, handshake + after)), FALLBACK)

    def test_ethernet(self):
        """A 1,500-byte route in IPv4: 1,472-byte datagrams once the
        handshake is done."""
        handshake, after = self.transfer(FakeNetwork(mtu=1500))
        self.assertLessEqual(max(map(len, handshake)), FALLBACK)
        self.assertEqual(max(map(len, after)), 1472)

    def test_thePeerSaysWhatItReads(self):
        """Each side tells the other the most it reads
        (max_udp_payload_size), and each hears it."""
        self.transfer(FakeNetwork(mtu=65535))
        self.assertEqual(self.connection.quic.peerReads, READ_SIZE)

    def test_aSmallerPath(self):
        """The route says 65,535 bytes but the path carries 9,000 (the
        kernel refuses larger datagrams, don't-fragment set): the route
        read again says so, and the bytes arrive in datagrams that fit."""
        network = FakeNetwork(mtu=65535)

        def smaller(data):
            if len(data) > FALLBACK and network.pathMtu is None:
                network.pathMtu = network.mtu = 9000
            return False

        handshake, after = self.transfer(network, smaller)
        self.assertLessEqual(max(map(len, after[1:])), 9000 - 28)
        self.assertEqual(self.connection.quic.datagramSize, 9000 - 28)


class HostilePeerTests(SynchronousTestCase):
    """What a peer that has finished QUIC's handshake (its address
    proven) can make the node hold, or log, through what it sends."""

    #: The windows the server promises here (smaller than a node's, for
    #: a quick test).
    WINDOW = 256 * 1024

    def setUp(self):
        self.patch(stack, "CONNECTION_WINDOW", self.WINDOW)
        self.patch(stack, "STREAM_WINDOW", self.WINDOW // 2)
        self.network = FakeNetwork(mtu=65535)
        self.server = self.network.endpoint(*SERVER, retry=False)
        self.accepted = Accepted()
        self.server.serve(LINKS, self.accepted)
        client = self.network.endpoint(*CLIENT)
        result = []
        client.connect(SERVER[0], SERVER[1], LINKS, Recorder()).addBoth(result.append)
        self.network.run(0.5)
        self.protocol = result[0]
        self.client = self.protocol.transport.connection
        [self.connection] = self.server._open

    def test_aUnidirectionalStream(self):
        """A peer opening a unidirectional stream (the node serves none)
        has it stopped, without an exception out of the datagram's
        handling (aioquic refuses to reset a stream this side cannot send
        on: a traceback for each one before); its connection serves on."""
        self.client.quic.send_stream_data(2, b"not a bidirectional stream")
        self.client.flush()
        self.network.run(0.5)
        self.protocol.transport.write(b"hello")
        self.network.run(0.5)
        self.assertNotIn(2, self.connection.streams)
        [accepted] = self.accepted.protocols
        self.assertEqual(accepted.received(), b"hello")

    def test_bytesOutOfOrderAreBounded(self):
        """A peer that sends every stream's bytes but its first (so none
        can be read) on streams taken and streams refused makes the node
        buffer no more than the connection's window: aioquic on its own
        doubles the window whenever half of it arrived, read or not, so
        this grew without bound before."""
        quic = self.client.quic
        for index in range(1, 13):
            stream_id = quic.get_next_available_stream_id()
            quic.send_stream_data(stream_id, os.urandom(256 * 1024))
            # The attacker's stack never sends the first byte.
            quic._streams[stream_id].sender._pending.subtract(0, 1)
        self.client.flush()
        self.network.run(3)
        buffered = sum(len(stream.receiver._buffer)
                       for stream in self.connection.quic._streams.values())
        self.assertGreater(buffered, self.WINDOW // 2)
        self.assertLessEqual(buffered, self.WINDOW)

    def test_aProtocolErrorLogsNothing(self):
        """A peer breaking QUIC's rules (MAX_STREAMS past 2^60) has its
        connection closed, and nothing logged by aioquic: its line for
        each such error went to Python's logging, unbounded, and unset
        there, to the daemon's stderr (docs/protocol.md §14)."""
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        root = logging.getLogger()
        root.addHandler(handler)
        self.addCleanup(root.removeHandler, handler)
        self.client.quic._local_max_streams_bidi.value = 2**61
        self.client.flush()
        self.network.run(1)
        self.assertTrue(self.connection.ended)
        self.assertEqual([record.getMessage() for record in records], [])

    def test_anEndNeverAcknowledged(self):
        """A peer that keeps its connection alive (a ping a few seconds)
        but never acknowledges the last bytes of a stream this side ended
        has its connection dropped once FINISH_WAIT seconds pass with no
        progress: the stream, its bytes and the connection's share were
        held for as long as it kept pinging before."""
        self.protocol.transport.write(b"hello")
        self.network.run(0.5)
        [accepted] = self.accepted.protocols
        quic = self.client.quic

        def noAck(builder, space, now):
            space.ack_at = None

        quic._write_ack_frame = noAck
        # Nor does it act on what comes (our own stack would close once
        # the stream ended).
        self.client._event = lambda event: None
        accepted.transport.write(os.urandom(100_000))
        accepted.transport.loseConnection()
        for ping in range(int(2 * FINISH_WAIT / 5)):
            quic.send_ping(ping)
            self.client.flush()
            self.network.run(5)
        self.assertTrue(self.connection.ended)
        self.assertEqual(len(self.server.connections), 0)
        self.assertIsNotNone(accepted.lost)


class Events(Protocol):
    """A stream's protocol noting what happened to it, in order."""

    def __init__(self):
        self.seen = []

    def dataReceived(self, data):
        self.seen.append(data)

    def connectionLost(self, reason):
        self.seen.append(reason.type)


class HandOverTests(SynchronousTestCase):
    """What a turn's datagrams bring a stream is handed to it in one piece
    at the turn's end, and always before its end or loss."""

    def setUp(self):
        self.clock = Clock()
        endpoint = FakeNetwork(self.clock).endpoint(*CLIENT)
        quic = Quic(configuration=clientConfiguration(LINKS))
        quic.connect(SERVER, now=0)
        # An acceptor's (no handshake Deferred to fail).
        self.connection = Connection(endpoint, quic, SERVER, "group",
                                     accept=lambda *args: None)
        self.protocol = Events()
        self.connection.addStream(0, self.protocol).start()

    def arrive(self, data, end=False):
        self.connection._event(StreamDataReceived(data=data, end_stream=end, stream_id=0))

    def test_atTheTurnsEnd(self):
        self.arrive(b"a")
        self.arrive(b"b")
        self.assertEqual(self.protocol.seen, [])
        self.connection.flushSoon()
        self.clock.advance(0)
        self.assertEqual(self.protocol.seen, [b"ab"])
        self.assertEqual(self.connection.quic.consumed[0], 2)

    def test_beforeTheStreamsEnd(self):
        self.arrive(b"a")
        self.arrive(b"b", end=True)
        self.assertEqual(self.protocol.seen, [b"a", b"b", ConnectionDone])

    def test_beforeAReset(self):
        self.arrive(b"a")
        self.connection._event(StreamReset(error_code=1, stream_id=0))
        self.assertEqual(self.protocol.seen, [b"a", ConnectionLost])

    def test_beforeTheConnectionEnds(self):
        self.arrive(b"a")
        self.arrive(b"b")
        self.connection._event(ConnectionTerminated(error_code=1, frame_type=None,
                                                    reason_phrase="gone"))
        self.assertEqual(self.protocol.seen, [b"ab", QuicClosed])

    def test_ethernetBursts(self):
        """A MiB in 1,472-byte datagrams reaches the protocol whole, in
        far fewer pieces than datagrams (a burst's at once)."""
        transfer = DatagramSizeTests("test_ethernet")
        handshake, after = transfer.transfer(FakeNetwork(mtu=1500))
        [protocol] = transfer.accepted.protocols
        self.assertLess(len(protocol.got) * 4, len(after))
