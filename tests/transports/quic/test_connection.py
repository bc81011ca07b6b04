"""
Tests of L{twisted_bazaar.transports.quic.connection}: its datagrams (the
handshake's of 1,452 bytes at most, then up to the path's: its route's
MTU and the peer's limit, L{twisted_bazaar.transports.quic.pathmtu}, probed up
to by qh3, and smaller where the path refuses them), and what arrives
handed to its streams.  Rogue peers are in test_hostile.
"""

import collections
import os

from qh3.quic.events import ConnectionTerminated, StreamDataReceived, StreamReset
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.transports.quic.connection import Connection, QuicClosed
from twisted_bazaar.transports.quic.connector import LINKS
from twisted_bazaar.transports.quic.pathmtu import FALLBACK, MOST
from twisted_bazaar.transports.quic.stack import READ_SIZE, Quic, clientConfiguration

from tests.transports.quic.fakeudp import FakeNetwork, Recorder

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

    def transferred(self, mtu):
        """The sizes of the datagrams of a transfer over a route of mtu:
        the handshake's, and those of the stream's bytes (the most
        common)."""
        handshake, after = self.transfer(FakeNetwork(mtu=mtu))
        self.assertLessEqual(max(map(len, handshake)), FALLBACK)
        [(size, _)] = collections.Counter(map(len, after)).most_common(1)
        return handshake, after, size

    def test_loopback(self):
        """A route of 65,535 bytes: the handshake's datagrams are of
        1,452 bytes at most, the transfer's of up to 65,507; the bytes
        arrive whole, in few datagrams."""
        handshake, after, size = self.transferred(65535)
        self.assertLessEqual(max(map(len, after)), MOST)
        self.assertGreater(size, MOST - 64)
        self.assertLess(len(after), 2 * SIZE // MOST + 40)

    def test_unknown(self):
        """No MTU known: 1,452 bytes at most (no probe for more)."""
        handshake, after, size = self.transferred(None)
        self.assertLessEqual(max(map(len, after)), FALLBACK)
        self.assertGreater(size, FALLBACK - 64)

    def test_ethernet(self):
        """A 1,500-byte route in IPv4: 1,472-byte datagrams at most once
        the handshake is done."""
        handshake, after, size = self.transferred(1500)
        self.assertLessEqual(max(map(len, after)), 1472)
        self.assertGreater(size, 1472 - 64)

    def test_thePeerSaysWhatItReads(self):
        """Each side tells the other the most it reads
        (max_udp_payload_size), and each hears it."""
        self.transfer(FakeNetwork(mtu=65535))
        self.assertEqual(self.connection.quic.peerReads, READ_SIZE)

    def test_aSmallerPath(self):
        """The route says 65,535 bytes but the path carries 9,000 once the
        transfer began: its datagrams go on in fragments and the bytes
        arrive whole; the next connection is sized from the route, which
        says so now."""
        network = FakeNetwork(mtu=65535)

        def smaller(data):
            if len(data) > FALLBACK and network.pathMtu is None:
                network.pathMtu = network.mtu = 9000
            return False

        self.transfer(network, smaller)
        self.assertGreater(network.fragmented, 0)
        self.assertEqual(self.connection.quic.datagramSize, MOST)
        client = network.endpoints[CLIENT]
        result = []
        client.connect(SERVER[0], SERVER[1], LINKS, Sender(b"again")).addBoth(result.append)
        network.run(1)
        self.assertEqual(result[0].transport.connection.quic.datagramSize, 9000 - 28)


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
