"""
What a hostile peer that finished QUIC's handshake (its address proven)
can make the node's QUIC stack (qh3) hold, or log, through what it sends.

The node cannot be bent to play the peer (qh3's core is Rust): the peer
is L{RoguePeer}, aioquic bent by each test, over the fake network; that
it connects at all shows a node answers a QUIC client of another make.
"""

import logging
import os

from aioquic.quic.events import (
    ConnectionTerminated,
    HandshakeCompleted,
    StopSendingReceived,
    StreamReset,
)
from aioquic.quic.packet import QuicErrorCode
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Factory
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.transports.quic import stack
from twisted_bazaar.transports.quic.connection import FINISH_WAIT
from twisted_bazaar.transports.quic.connector import LINKS
from twisted_bazaar.transports.quic.endpoint import (
    QUIC_CONNECTIONS, STREAM_WAIT, STREAMS_A_CONNECTION)
from twisted_bazaar.transports.quic.stream import PULL_WATER, PUSH_HIGH_WATER

from tests.transports.quic.fakeudp import FakeNetwork, Recorder
from tests.transports.quic.rogue import RoguePeer
from tests.transports.quic.test_stream import Pump

ROGUE, SERVER = ("10.0.0.1", 4433), ("10.1.0.2", 4433)
#: What peers' QUIC connections may make a node hold, in all and from one
#: address group (docs/protocol.md, the limits' table, `quic.connections`).
HELD_IN_ALL, HELD_A_GROUP = 512 * 2**20, 64 * 2**20


class Accepted(Factory):
    """The server's streams' protocols, each a L{Recorder}, kept."""

    def __init__(self):
        self.protocols = []

    def buildProtocol(self, addr):
        self.protocols.append(Recorder())
        return self.protocols[-1]


class Chunks:
    """A pull producer (as a seller's file goes): a block of ``size``
    bytes each time it is asked, ``count`` times (without end if None)."""

    def __init__(self, transport, size, count=None):
        self.transport, self.size, self.count = transport, size, count
        self.written = 0

    def resumeProducing(self):
        if self.count is not None and self.written >= self.count * self.size:
            return
        self.transport.write(b"y" * self.size)
        self.written += self.size

    def stopProducing(self):
        self.count = 0


class DiallerTests(SynchronousTestCase):
    """What the node a dial reaches can make the dialler hold."""

    def test_noDatagramFrames(self):
        """
        A dial says it takes no DATAGRAM frames (RFC 9221), so a peer's
        stack sends none, and one that does is closed (as the server is,
        L{HostilePeerTests.test_datagramFramesUnaskedEndTheConnection}).
        qh3's client offers 64 KiB ones by default; they are not under
        flow control, and while the dialler's reader was paused (a
        buyer's full disk, a relay's slow other end) each waited in qh3's
        core: 20,000 of them from the dialled node held 22.5 MiB, without
        bound.
        """
        network = FakeNetwork()
        client = network.endpoint(*ROGUE)
        server = network.endpoint(*SERVER)
        self.addCleanup(client.stop)
        self.addCleanup(server.stop)
        accepted = Accepted()
        server.serve(LINKS, accepted)
        dialler = Recorder()
        client.connect(SERVER[0], SERVER[1], LINKS, dialler)
        network.run(1)
        dialler.transport.write(b"hello")
        network.run(0.5)
        dialler.transport.pauseProducing()
        [connection] = server._open
        with self.assertRaises(ValueError):
            connection.quic.send_datagram_frame(b"x" * 1000)


class HostilePeerTests(SynchronousTestCase):
    """A rogue aioquic client against a node's server endpoint."""

    #: The windows the server promises in the test of out-of-order bytes
    #: (smaller than a node's, for a quick test).
    WINDOW = 256 * 1024

    def start(self, window=None, bend=lambda quic: None):
        """Serve LINKS (windows as patched before), the rogue connected
        (granting ``window``, aioquic's if None; its aioquic connection
        given ``bend`` first): the server's connection of it."""
        self.network = FakeNetwork()
        # A node's endpoint: a stranger's address proven by a Retry.
        self.server = self.network.endpoint(*SERVER)
        self.accepted = Accepted()
        self.server.serve(LINKS, self.accepted)
        self.rogue = RoguePeer(self.network.clock, window=window)
        self.network.attach(self.rogue, *ROGUE)
        self.addCleanup(self.rogue.stop)
        self.addCleanup(self.server.stop)
        bend(self.rogue.quic)
        self.rogue.connect(*SERVER)
        self.network.run(0.5)
        [connection] = self.server._open
        self.assertIsNotNone(connection.service)
        return connection

    def terminated(self):
        """The ends of its connection the rogue was told of."""
        return [event for event in self.rogue.events
                if isinstance(event, ConnectionTerminated)]

    def test_aUnidirectionalStream(self):
        """A peer opening a unidirectional stream (the node serves none)
        has it stopped, without an exception out of the datagram's
        handling (qh3 refuses to reset a stream this side cannot send on);
        its connection serves on."""
        connection = self.start()
        quic = self.rogue.quic
        quic.send_stream_data(2, b"not a bidirectional stream")
        self.rogue.flush()
        self.network.run(0.5)
        # Stopped: the rogue was told so (STOP_SENDING).
        self.assertIn(2, {event.stream_id for event in self.rogue.events
                          if isinstance(event, StopSendingReceived)})
        quic.send_stream_data(0, b"hello")
        self.rogue.flush()
        self.network.run(0.5)
        self.assertNotIn(2, connection.streams)
        [accepted] = self.accepted.protocols
        self.assertEqual(accepted.received(), b"hello")
        self.assertFalse(connection.ended)

    def test_bytesOutOfOrderAreBounded(self):
        """A peer that sends every stream's bytes but its first (so none
        can be read) on streams taken and streams refused is granted no
        more than the connection's window: credit the node gave for bytes
        it could not hand over would be bytes it holds (aioquic doubled
        the window whenever half of it arrived, read or not).  qh3's
        buffers cannot be seen, so the credit is read at the rogue: what
        the node allowed (MAX_DATA) and the highest offsets the rogue
        sent, summed over its streams."""
        self.patch(stack, "CONNECTION_WINDOW", self.WINDOW)
        self.patch(stack, "STREAM_WINDOW", self.WINDOW // 2)
        self.start()
        quic = self.rogue.quic
        sent = self.sendPastAGap(12, 256 * 1024)
        # It did fill the window (the attack was made) ...
        self.assertGreater(sent, self.WINDOW // 2)
        # ... and got no more.
        self.assertLessEqual(quic._remote_max_data, self.WINDOW)
        self.assertLessEqual(quic._remote_max_data_used, self.WINDOW)
        self.assertLessEqual(sent, self.WINDOW)

    def sendPastAGap(self, count, size):
        """The rogue opens count streams and sends size bytes on each but
        their first, which its stack never sends: the bytes the node
        cannot read.  What it sent in all (the highest offsets)."""
        quic = self.rogue.quic
        streams = []
        for index in range(count):
            stream_id = quic.get_next_available_stream_id()
            streams.append(stream_id)
            quic.send_stream_data(stream_id, os.urandom(size))
            quic._streams[stream_id].sender._pending.subtract(0, 1)
        self.rogue.flush()
        self.network.run(5)
        return sum(quic._streams[stream_id].sender.highest_offset
                   for stream_id in streams if stream_id in quic._streams)

    def test_aConnectionHoldsOneStreamsWindow(self):
        """
        The tenth round: what a peer may make qh3 hold for one connection
        (bytes sent past a gap, which no stream can read) is one stream's
        window, the node's own windows unpatched.  Live, 64 connections
        from one /16, each filling two streams past a withheld first
        byte, grew a node by 264 MiB (4 MiB a connection), held until
        they closed for want of a stream (10 s), then opened again.
        """
        self.start()
        quic = self.rogue.quic
        sent = self.sendPastAGap(3, stack.STREAM_WINDOW)
        self.assertGreater(sent, stack.STREAM_WINDOW // 2)
        self.assertLessEqual(quic._remote_max_data, stack.STREAM_WINDOW)
        self.assertLessEqual(sent, stack.STREAM_WINDOW)

    def test_whatPeersMakeTheNodeHoldInAll(self):
        """What every peer's connections together, and one address
        group's, may make the node hold (their windows) is within the
        bounds docs/protocol.md promises (512 MiB, 64 MiB a group): it
        was 4 GiB and 256 MiB."""
        window = max(stack.CONNECTION_WINDOW, stack.STREAM_WINDOW)
        self.assertLessEqual(QUIC_CONNECTIONS.default * window, HELD_IN_ALL)
        self.assertLessEqual(QUIC_CONNECTIONS.group * window, HELD_A_GROUP)

    def test_aProtocolErrorLogsNothing(self):
        """A peer breaking QUIC's rules (MAX_STREAMS past 2^60) has its
        connection closed, and nothing logged by qh3 to Python's logging
        (unbounded, and unset there, to the daemon's stderr:
        docs/protocol.md §14)."""
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        root = logging.getLogger()
        root.addHandler(handler)
        self.addCleanup(root.removeHandler, handler)
        connection = self.start()
        self.rogue.quic._local_max_streams_bidi.value = 2**61
        self.rogue.flush()
        # QUIC's closing period is three probe timeouts.
        self.network.run(5)
        self.assertTrue(connection.ended)
        self.assertEqual(len(self.server.connections), 0)
        # Closed for that (not for want of a stream, STREAM_WAIT).
        self.assertEqual([event.error_code for event in self.terminated()],
                         [QuicErrorCode.FRAME_ENCODING_ERROR])
        self.assertEqual([record.getMessage() for record in records], [])

    def test_anEndNeverAcknowledged(self):
        """A peer that keeps its connection alive (a ping every 5 s) but
        never acknowledges the last bytes of a stream the node ended has
        its connection dropped once FINISH_WAIT seconds pass with no
        progress: else the stream, its bytes and the connection's share
        are held for as long as it keeps pinging."""
        connection = self.start()
        quic = self.rogue.quic
        quic.send_stream_data(0, b"hello")
        self.rogue.flush()
        self.network.run(0.5)
        [accepted] = self.accepted.protocols

        def noAck(builder, space, now):
            space.ack_at = None

        quic._write_ack_frame = noAck
        accepted.transport.write(os.urandom(100_000))
        accepted.transport.loseConnection()
        for ping in range(int(2 * FINISH_WAIT / 5)):
            quic.send_ping(ping)
            self.rogue.flush()
            self.network.run(5)
        self.assertTrue(connection.ended)
        self.assertEqual(len(self.server.connections), 0)
        self.assertIsNotNone(accepted.lost)
        # Dropped for that (the pings kept the idle timeout off).
        self.assertEqual([event.reason_phrase for event in self.terminated()],
                         [f"nothing acknowledged in {FINISH_WAIT:g} s"])

    def withholding(self, withhold=True):
        """The rogue connected, granting 64 MiB, its stream open, and
        (if ``withhold``) every packet carrying byte L{WITHHELD} of the
        node's side of it never acknowledged: the stream's transport at
        the node."""
        self.start(window=64 * 2**20)
        self.rogue.quic.send_stream_data(0, b"hello")
        self.rogue.flush()
        self.network.run(0.5)
        if withhold:
            self.rogue.withhold(0, self.WITHHELD)
        [accepted] = self.accepted.protocols
        return accepted.transport

    #: The byte of the node's stream the rogue never acknowledges.
    WITHHELD = 100_000

    def test_aPacketNeverAcknowledgedPausesALink(self):
        """
        The eleventh round: a peer that acknowledges every packet but
        those carrying one byte of the node's stream (each time it is
        sent again) leaves qh3 holding every byte past it, acknowledged
        or not, where qh3 counts only those unsent or in flight: a
        streaming producer (a link) writing into it is paused once
        L{PUSH_HIGH_WATER} is written past what is known acknowledged,
        and stays paused (its link then counts the rest against its
        write limit).  Before, it wrote on: 2.4 MiB past the byte in 20 s
        here, more the longer it went.
        """
        transport = self.withholding()
        pump = Pump(transport, block=16 * 1024)
        transport.registerProducer(pump, True)
        for _ in range(400):
            pump.step(64 * 2**20)
            self.network.run(0.05)
        self.assertGreater(self.rogue.withheld, 2)
        self.assertTrue(pump.paused)
        self.assertLessEqual(pump.written - self.WITHHELD, PUSH_HIGH_WATER + pump.block)

    def test_aPacketNeverAcknowledgedStopsAFile(self):
        """The same under a pull producer (a seller's file): it is asked
        for no more once L{PULL_WATER} is written past what is known
        acknowledged (before, 5.1 MiB past the byte in 20 s)."""
        transport = self.withholding()
        chunks = Chunks(transport, 1024 * 1024)
        transport.registerProducer(chunks, False)
        self.network.run(20)
        self.assertGreater(self.rogue.withheld, 2)
        self.assertLessEqual(chunks.written - self.WITHHELD, PULL_WATER + chunks.size)

    def test_lossesRepairedLetTheWriterOn(self):
        """Packets lost on the way and sent again are no attack: once
        nothing is in flight, what was counted since the loss is freed,
        and a file goes whole."""
        transport = self.withholding(False)
        dropped = []
        self.network.drop = self.dropping(dropped)
        chunks = Chunks(transport, 1024 * 1024, count=8)
        transport.registerProducer(chunks, False)
        self.network.run(30)
        self.assertGreater(len(dropped), 5)
        self.assertEqual(chunks.written, 8 * 1024 * 1024)
        self.assertEqual(transport.connection.quic.unacknowledged(transport.stream_id), 0)

    def test_anEndedStreamWithLossesRepairedGoes(self):
        """A stream this side ended, some of its packets lost and sent
        again, is gone once all is acknowledged (its protocol told the
        stream ended), not FINISH_WAIT later for want of another packet
        after the repair."""
        transport = self.withholding(False)
        dropped = []
        self.network.drop = self.dropping(dropped)
        transport.write(b"z" * 1024 * 1024)
        transport.loseConnection()
        self.network.run(5)
        self.assertGreater(len(dropped), 2)
        [accepted] = self.accepted.protocols
        self.assertIsNotNone(accepted.lost)
        self.assertIs(accepted.lost.type, ConnectionDone)

    def dropping(self, dropped):
        """A rule dropping, into ``dropped``, some of the node's datagrams
        (40 at most) of more than 1,000 bytes."""

        def drop(source, destination, data):
            if source == SERVER and len(dropped) < 40 and len(data) > 1000 \
                    and self.network.clock.seconds() % 0.2 < 0.01:
                dropped.append(data)
                return True
            return False

        return drop

    def test_datagramFramesUnaskedEndTheConnection(self):
        """A peer sending DATAGRAM frames (RFC 9221), which the node does
        not take (its transport parameters say 0), has its connection
        closed: none is held for it, however many it sends."""
        connection = self.start()
        quic = self.rogue.quic
        quic._remote_max_datagram_frame_size = 65536
        for _ in range(100):
            quic.send_datagram_frame(b"x" * 1000)
        self.rogue.flush()
        self.network.run(5)
        self.assertTrue(connection.ended)
        self.assertEqual([event.error_code for event in self.terminated()],
                         [QuicErrorCode.PROTOCOL_VIOLATION])

    def test_connectionIdsAreBounded(self):
        """A peer asking for a million connection ids, and retiring each
        it is given, round after round, has the node route no more than
        its first id and 8 more (docs/reliability.md, "The eleventh
        round")."""
        def asks(quic):
            quic._local_active_connection_id_limit = 2**20

        connection = self.start(bend=asks)
        quic = self.rogue.quic
        quic.send_stream_data(0, b"hello")
        self.rogue.flush()
        self.network.run(0.5)
        retired = 0
        for _ in range(50):
            for cid in list(quic._peer_cid_available):
                quic._retire_peer_cid(cid)
                retired += 1
            quic._peer_cid_available.clear()
            self.rogue.flush()
            self.network.run(0.05)
            self.assertLessEqual(len(self.server._routes), 9)
        self.assertGreater(retired, 50)
        self.assertFalse(connection.ended)

    def test_tooManyStreams(self):
        """A peer opening more than STREAMS_A_CONNECTION streams at once
        has those past it refused (reset), the others served, and the
        node's account of streams holds no more than that."""
        connection = self.start()
        quic = self.rogue.quic
        opened = []
        for index in range(STREAMS_A_CONNECTION + 4):
            stream_id = quic.get_next_available_stream_id()
            opened.append(stream_id)
            quic.send_stream_data(stream_id, b"x")
        self.rogue.flush()
        self.network.run(1)
        self.assertEqual(len(self.accepted.protocols), STREAMS_A_CONNECTION)
        self.assertEqual(len(connection.streams), STREAMS_A_CONNECTION)
        self.assertEqual(len(self.server.streams), STREAMS_A_CONNECTION)
        reset = {event.stream_id for event in self.rogue.events
                 if isinstance(event, StreamReset)}
        self.assertEqual(reset, set(opened[STREAMS_A_CONNECTION:]))
        self.assertFalse(connection.ended)
        # The refused streams, finished, fill nothing of the node's.
        self.assertEqual(connection.quic.tracked, set(connection.streams))
        self.assertEqual(connection.quic.done, set())

    def test_aStreamResetMidTransfer(self):
        """A peer resetting its stream halfway: the protocol has what
        arrived, then hears the stream lost; nothing stays charged."""
        connection = self.start()
        quic = self.rogue.quic
        quic.send_stream_data(0, os.urandom(50_000))
        self.rogue.flush()
        self.network.run(0.2)
        [accepted] = self.accepted.protocols
        quic.reset_stream(0, 5)
        self.rogue.flush()
        self.network.run(1)
        self.assertIsNotNone(accepted.lost)
        self.assertNotIn(0, connection.streams)
        self.assertEqual(len(self.server.streams), 0)

    def test_aStopSending(self):
        """A peer stopping the node's stream (STOP_SENDING, which qh3
        answers with a RESET_STREAM of its own): the protocol hears the
        stream lost, and a write after it raises nothing (it goes
        nowhere)."""
        connection = self.start()
        quic = self.rogue.quic
        quic.send_stream_data(0, b"hello")
        self.rogue.flush()
        self.network.run(0.5)
        [accepted] = self.accepted.protocols
        quic.stop_stream(0, 5)
        self.rogue.flush()
        self.network.run(0.5)
        accepted.transport.write(b"after the stop")
        self.network.run(1)
        self.assertIsNotNone(accepted.lost)
        self.assertNotIn(0, connection.streams)
        self.assertEqual(len(self.server.streams), 0)

    def test_anUnprovenInitialPaddedAfterItsPacket(self):
        """Without a Retry (an endpoint told not to prove addresses, as a
        test's): aioquic pads its first datagram to 1,200 bytes after its
        Initial packet, not inside it, and qh3 2.1's server then fails
        building its answer ("packet builder capacity exhausted", held to
        three times what it was sent).  The node raises nothing out of
        it, keeps nothing (no connection charged, no timer).  A node's
        endpoint proves the address first, and so is not held to that:
        every test above is such a client, connected."""
        network = FakeNetwork()
        server = network.endpoint(*SERVER, retry=False)
        server.serve(LINKS, Accepted())
        rogue = RoguePeer(network.clock)
        network.attach(rogue, *ROGUE)
        self.addCleanup(rogue.stop)
        rogue.connect(*SERVER)
        network.run(1)
        self.assertEqual(server._open, set())
        self.assertEqual(len(server.connections), 0)
        self.assertFalse([event for event in rogue.events
                          if isinstance(event, HandshakeCompleted)])
        rogue.stop()
        network.run(STREAM_WAIT)
        self.assertEqual(network.clock.getDelayedCalls(), [])
