"""
Tests of L{twisted_bazaar.transports.quic.stack.Quic}: two of them, handing each
other their datagrams in memory, the clock moved on a millisecond a
round (so acknowledgements go and the congestion window opens).
"""

import os

from qh3.quic import events
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.transports.quic.stack import (
    READ_SIZE,
    STREAM_WINDOW,
    Quic,
    clientConfiguration,
    serverConfiguration,
)

CLIENT, SERVER = ("10.0.0.1", 4433), ("10.1.0.2", 4433)


def exchange(client, server, now):
    """Hand each side's datagrams to the other until neither has any."""
    while True:
        moved = 0
        for data, _ in client.datagrams_to_send(now):
            server.receive_datagram(data, CLIENT, now)
            moved += 1
        for data, _ in server.datagrams_to_send(now):
            client.receive_datagram(data, SERVER, now)
            moved += 1
        if not moved:
            return


def eventsOf(quic):
    found = []
    event = quic.next_event()
    while event is not None:
        found.append(event)
        event = quic.next_event()
    return found


def received(found):
    return b"".join(event.data for event in found
                    if isinstance(event, events.StreamDataReceived))


class QuicTests(SynchronousTestCase):
    def setUp(self):
        self.client = Quic(configuration=clientConfiguration("x"))
        self.server = Quic(
            configuration=serverConfiguration(["x"]),
            original_destination_connection_id=self.client.original_destination_connection_id)
        self.client.connect(SERVER, now=0.0)
        self.now = 0.0
        self.rounds(1)
        for quic in (self.client, self.server):
            self.assertTrue(any(isinstance(event, events.HandshakeCompleted)
                                for event in eventsOf(quic)))

    def rounds(self, count):
        for _ in range(count):
            self.now += 0.001
            exchange(self.client, self.server, self.now)

    def test_bytesThrough(self):
        """A stream's bytes arrive whole; once the peer has them and ended
        its side too, the stream is done both ways."""
        data = os.urandom(200_000)
        stream = self.client.get_next_available_stream_id()
        self.client.track(stream)
        self.client.send_stream_data(stream, data, end_stream=True)
        self.assertGreater(self.client.unacknowledged(stream), 0)
        got = []
        for _ in range(200):
            self.rounds(1)
            got.extend(eventsOf(self.server))
            if got and got[-1].end_stream:
                break
        self.assertEqual(received(got), data)
        self.server.send_stream_data(stream, b"", end_stream=True)
        self.rounds(3)
        self.assertEqual(self.client.unacknowledged(stream), 0)
        self.assertTrue(self.client.finished(stream))
        self.assertIn(stream, self.client.done)

    def test_whatEachReads(self):
        """Each side tells the other it reads datagrams of up to
        L{READ_SIZE} bytes (qh3's client on its own says 1,472)."""
        self.assertEqual((self.client.peerReads, self.server.peerReads),
                         (READ_SIZE, READ_SIZE))

    def test_heldAtAWindow(self):
        """While a reader is held, the peer sends no more than the
        stream's window however long it waits, and nothing of it comes
        out; let go, the rest follows."""
        data = os.urandom(3 * STREAM_WINDOW)
        stream = self.client.get_next_available_stream_id()
        self.server.held.add(stream)
        self.client.send_stream_data(stream, data, end_stream=True)
        self.rounds(300)
        self.assertEqual(eventsOf(self.server), [])
        self.assertGreaterEqual(self.client.get_send_buffer_size(stream),
                                len(data) - STREAM_WINDOW)
        self.server.held.clear()
        self.server.release()
        got = eventsOf(self.server)
        self.assertEqual(len(received(got)), STREAM_WINDOW)
        for _ in range(300):
            self.rounds(1)
            got.extend(eventsOf(self.server))
            if got and got[-1].end_stream:
                break
        self.assertEqual(received(got), data)

    def test_anEndToldAtOnce(self):
        """A peer's close reaches the events as it arrives, not once the
        draining period is over; the connection is then ending, and
        ends."""
        self.client.close(error_code=0x1, reason_phrase="enough")
        self.rounds(1)
        [end] = [event for event in eventsOf(self.server)
                 if isinstance(event, events.ConnectionTerminated)]
        self.assertEqual((end.error_code, end.reason_phrase), (0x1, "enough"))
        self.assertTrue(self.server.ending())
        self.server.handle_timer(self.now + 10)
        self.assertFalse(self.server.ending())
