"""
Tests of L{twisted_bazaar.transports.quic.connection}: its datagrams (the
handshake's of 1,452 bytes at most, then up to the path's: its route's
MTU and the peer's limit, L{twisted_bazaar.transports.quic.pathmtu}, probed up
to by qh3, and smaller where the path refuses them), a burst of them
handed to a stream at once.  How its streams are handed what arrives:
test_connection_streams.  Rogue peers are in test_hostile.
"""

import collections
import os

from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.transports.quic.connector import LINKS
from twisted_bazaar.transports.quic.pathmtu import FALLBACK, MOST
from twisted_bazaar.transports.quic.stack import READ_SIZE

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

    def test_ethernetBursts(self):
        """A MiB in 1,472-byte datagrams reaches the protocol whole, in
        far fewer pieces than datagrams (a burst's at once)."""
        handshake, after = self.transfer(FakeNetwork(mtu=1500))
        [protocol] = self.accepted.protocols
        self.assertLess(len(protocol.got) * 4, len(after))
