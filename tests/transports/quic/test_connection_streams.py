"""
Tests of L{twisted_bazaar.transports.quic.connection}'s streams: what a turn's
datagrams bring a stream is handed to it in one piece at the turn's
end, and always before its end or loss; a stream the peer opens that
nothing takes is refused, and what still comes of it is never taken for
a new one.  (A burst of datagrams on a real path: test_connection.)
"""

from qh3.quic.events import ConnectionTerminated, StreamDataReceived, StreamReset
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.transports.quic.connection import Connection, QuicClosed
from twisted_bazaar.transports.quic.connector import LINKS
from twisted_bazaar.transports.quic.stack import Quic, clientConfiguration

from tests.transports.quic.fakeudp import FakeNetwork

CLIENT, SERVER = ("10.0.0.1", 4433), ("10.1.0.2", 4433)


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

    def test_aStreamNothingTakesIsRefusedForGood(self):
        """A stream the peer opens that the acceptor does not take is
        refused; what still comes of it is dropped, never offered as a
        new stream."""
        asked = []
        self.connection.accept = lambda *args: asked.append(args[2])
        for _ in range(2):
            self.connection._event(StreamDataReceived(data=b"x", end_stream=False,
                                                      stream_id=4))
        self.assertEqual(asked, [4])
        self.assertNotIn(4, self.connection.streams)
