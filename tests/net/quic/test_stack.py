"""
Tests of L{twisted_bazaar.net.quic.stack.Quic}'s packet protection: two
of them, handing each other their datagrams in memory, protect their
1-RTT packets' headers with L{LeanHeaderProtection} and still read each
other.
"""

import os

from aioquic.quic import events
from aioquic.tls import Epoch
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.quic.protection import LeanHeaderProtection
from twisted_bazaar.net.quic.stack import Quic, clientConfiguration, serverConfiguration

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


class LeanProtectionTests(SynchronousTestCase):
    def setUp(self):
        self.client = Quic(configuration=clientConfiguration("x"))
        self.server = Quic(
            configuration=serverConfiguration(["x"]),
            original_destination_connection_id=self.client.original_destination_connection_id)
        self.client.connect(SERVER, now=0.0)
        exchange(self.client, self.server, 0.0)

    def test_oneRttOnly(self):
        """Once the handshake is done, both directions of both sides'
        1-RTT keys protect headers the lean way; the handshake's keys are
        aioquic's."""
        for quic in (self.client, self.server):
            self.assertTrue(any(isinstance(event, events.HandshakeCompleted)
                                for event in eventsOf(quic)))
            pair = quic._cryptos[Epoch.ONE_RTT]
            self.assertIsInstance(pair.send.hp, LeanHeaderProtection)
            self.assertIsInstance(pair.recv.hp, LeanHeaderProtection)
            self.assertNotIsInstance(quic._cryptos[Epoch.HANDSHAKE].send.hp,
                                     LeanHeaderProtection)

    def test_bytesThrough(self):
        """A stream's bytes, in packets so protected, arrive whole (the
        clock moved on a millisecond a round, so acknowledgements go and
        the congestion window opens)."""
        data = os.urandom(200_000)
        eventsOf(self.client), eventsOf(self.server)
        stream = self.client.get_next_available_stream_id()
        self.client.send_stream_data(stream, data, end_stream=True)
        got = []
        for step in range(1, 200):
            exchange(self.client, self.server, step * 0.001)
            got.extend(event for event in eventsOf(self.server)
                       if isinstance(event, events.StreamDataReceived))
            if got and got[-1].end_stream:
                break
        self.assertEqual(b"".join(event.data for event in got), data)
