"""
Tests of L{twisted_bazaar.transports.quic.connector}: the encrypted channel over a
QUIC stream, two endpoints exchanging datagrams through a deterministic
fake network (L{tests.transports.quic.fakeudp}): the key a peer proves is checked
as on TCP.
"""

from twisted.internet.defer import CancelledError
from twisted.internet.protocol import Factory
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.encrypted import HANDSHAKE_TIMEOUT, ChannelFailed
from twisted_bazaar.transports.quic.connector import FILES, LINKS, QuicConnector
from twisted_bazaar.transports.quic.connection import QuicSilent, QuicUnanswered

from tests import records
from tests.transports.quic.fakeudp import FakeNetwork, Recorder, channelKey, dialled, served
from twisted_bazaar.identity.keys import decode


class ConnectorTests(SynchronousTestCase):
    def setUp(self):
        self.network = FakeNetwork()
        self.client = self.network.endpoint("10.0.0.1")
        self.server = self.network.endpoint("10.1.0.2")
        self.accepted = served(self.server, 2)

    def test_theKeyProven(self):
        """The channel over the stream proves the server's key to the
        dialler, and the dialler's to the server; bytes then go both
        ways, sealed."""
        protocol, result = dialled(self.client, 1, "10.1.0.2", 2)
        self.network.run(1)
        self.assertEqual(result, [protocol])
        [server] = self.accepted
        self.assertEqual(protocol.transport.peerKey, decode(records.identity(2).key))
        self.assertEqual(server.transport.peerKey, decode(records.identity(1).key))
        protocol.transport.write(b"ping")
        server.transport.write(b"pong")
        self.network.run(0.5)
        self.assertEqual((server.received(), protocol.received()), (b"ping", b"pong"))
        sent = b"".join(data for _, _, data in self.network.sent)
        self.assertNotIn(b"ping", sent)

    def test_aWrongKeyFails(self):
        """A server proving another key than the one expected: the dial's
        protocol loses its connection with the channel's reason, and
        nothing it wrote reaches the server's protocol."""
        protocol, result = dialled(self.client, 1, "10.1.0.2", 3)
        self.network.run(0.1)
        protocol.transport.write(b"secret")
        self.network.run(2)
        self.assertIsInstance(protocol.lost.value, ChannelFailed)
        self.assertIn("key", str(protocol.lost.value))
        self.assertEqual([each.received() for each in self.accepted], [b""])
        self.assertEqual(self.network.clock.getDelayedCalls(), [])

    def test_aStalledChannel(self):
        """A peer that opens a stream and stalls in the channel's handshake
        (one byte of it) has its QUIC connection dropped at the channel's
        handshake timeout, as a TCP connection is: nothing of it is held
        then, no stream, no connection."""
        stalled = Recorder()
        self.client.connect("10.1.0.2", 4433, LINKS, stalled)
        self.network.run(0.5)
        stalled.transport.write(b"x")
        self.network.run(0.5)
        self.assertEqual(len(self.server.streams), 1)
        self.network.run(HANDSHAKE_TIMEOUT + 1)
        self.assertEqual((len(self.server.streams), len(self.server.connections),
                          len(self.server._open)), (0, 0, 0))
        self.assertIsNotNone(stalled.lost)

    def proven(self, expected_seed):
        """Dial 10.1.0.2's links as seed 1's node, the dial proven (it
        waits for the channel): (the protocol, the list of its result)."""
        protocol = Recorder()
        d = QuicConnector(self.client, channelKey(1), LINKS).connect(
            "10.1.0.2", 4433, protocol, expected=decode(records.identity(expected_seed).key),
            proven=True)
        result = []
        d.addBoth(result.append)
        return protocol, d, result

    def test_provenWaitsForTheChannel(self):
        """A proven dial fires once the channel is up, not at QUIC's
        handshake: the peer's key is proven on its protocol's transport
        by then."""
        protocol, _, result = self.proven(2)
        fired = []
        while not result:
            fired.append(protocol.made)
            self.network.run(0.005)
        self.assertEqual(result, [protocol])
        self.assertIn(True, fired)
        self.assertEqual(protocol.transport.peerKey, decode(records.identity(2).key))

    def test_provenAWrongKeyFails(self):
        """A proven dial to a peer that proves another key fails with the
        channel's reason, not as silence."""
        _, _, result = self.proven(3)
        self.network.run(2)
        self.assertIsInstance(result[0].value, ChannelFailed)
        self.assertNotIsInstance(result[0].value, QuicSilent)
        self.assertIn("key", str(result[0].value))

    def test_provenCancelledOnceQuicIsUp(self):
        """A proven dial cancelled while its channel's handshake runs
        (nothing answers it) aborts the connection: nothing is held of it,
        no timer left."""
        self.network.drop = lambda source, destination, data: bool(self.accepted)
        protocol, d, result = self.proven(2)
        self.network.run(0.5)
        self.assertTrue(protocol.made)
        d.cancel()
        self.network.run(1)
        self.assertIsInstance(result[0].value, CancelledError)
        self.assertIsNotNone(protocol.lost)
        self.assertEqual(len(self.client._open), 0)
        self.network.drop = lambda source, destination, data: False
        self.network.run(40)
        self.assertEqual(self.network.clock.getDelayedCalls(), [])

    def test_aServiceNotServed(self):
        """A dial for a service the node does not serve fails in QUIC's
        handshake (no ALPN in common): refused, not silent (the path
        carries the refusal)."""
        protocol, result = dialled(self.client, 1, "10.1.0.2", 2, service=FILES)
        self.network.run(1)
        self.assertIsInstance(result[0].value, QuicUnanswered)
        self.assertNotIsInstance(result[0].value, QuicSilent)
        self.assertFalse(protocol.made)
        # TLS's handshake_failure alert (40), as protocol.md §2.3 says
        # (it said no_application_protocol, 120: issue 96's third pass).
        self.assertIn("No common ALPN protocols (error 0x128)", str(result[0].value))

    def test_aNameIsNotDialled(self):
        connector = QuicConnector(self.client, channelKey(1), LINKS)
        failure = self.failureResultOf(connector.connect("example.org", 4433, Recorder()))
        self.assertIn("IP address", str(failure.value))


class _Trickler(Recorder):
    """A stranger's service: it answers QUIC's handshake, then writes one
    byte of a channel message a second (the length of a long first
    message, then its body), never completing it."""

    def __init__(self, clock):
        super().__init__()
        self.clock = clock
        self.call = None
        self.sent = 0

    def connectionMade(self):
        super().connectionMade()
        self.call = self.clock.callLater(1, self._drip, iter(b"\x00\x60" + b"x" * 94))

    def _drip(self, left):
        self.call = None
        byte = next(left, None)
        if byte is not None:
            self.transport.write(bytes([byte]))
            self.sent += 1
            self.call = self.clock.callLater(1, self._drip, left)

    def connectionLost(self, reason):
        super().connectionLost(reason)
        if self.call is not None and self.call.active():
            self.call.cancel()


class ProvenAttackTests(SynchronousTestCase):
    """
    Issue 93 item 3, the ninth round's attack: a stranger at a punched
    path answers QUIC's handshake and then nothing, or a byte at a time,
    to hold the node's dial open.  The dial waits for the channel, so
    what bounds it is the channel's handshake timeout, counted from the
    stream's start and never put off by bytes that come.
    """

    def setUp(self):
        self.network = FakeNetwork()
        self.client = self.network.endpoint("10.0.0.1")
        self.server = self.network.endpoint("10.2.0.3")
        self.tricklers = []

        def build():
            self.tricklers.append(_Trickler(self.network.clock))
            return self.tricklers[-1]

        self.server.serve(LINKS, Factory.forProtocol(build))

    def test_aTrickledChannelIsSilenceAtItsTimeout(self):
        """One byte a second of a channel message that never completes:
        the dial fails as the path's silence (L{QuicSilent}) at the
        channel's timeout, and the connection is gone then, on both
        ends, with no timer left; the stranger sent about a byte a
        second, no more was waited for."""
        protocol = Recorder()
        result = []
        QuicConnector(self.client, channelKey(1), LINKS).connect(
            "10.2.0.3", 4433, protocol, expected=decode(records.identity(2).key),
            proven=True).addBoth(result.append)
        self.network.run(HANDSHAKE_TIMEOUT - 0.5)
        [trickler] = self.tricklers
        self.assertEqual(result, [])
        self.assertGreaterEqual(trickler.sent, HANDSHAKE_TIMEOUT - 2)
        self.network.run(1)
        self.assertIsInstance(result[0].value, QuicSilent)
        self.assertIn("no channel handshake within 10 s", str(result[0].value))
        self.network.run(40)
        self.assertEqual((len(self.client._open), len(self.server.connections)), (0, 0))
        self.assertIsNotNone(trickler.lost)
        self.assertEqual(self.network.clock.getDelayedCalls(), [])
