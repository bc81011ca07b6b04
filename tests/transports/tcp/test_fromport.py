"""
Tests for L{twisted_bazaar.transports.tcp.fromport}: the channel of a punched
connection, whose two ends both dialled (over in-memory connections,
twisted.test.iosim, and a fake clock), and the socket of its dial.
"""

import socket

from twisted.internet import defer
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.test.iosim import connectedServerAndClient
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.identity.keys import Identity, decode
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.net.encrypted import ChannelFailed
from twisted_bazaar.transports.tcp.fromport import PunchDialer, _PunchFactory, _ReusingClient


class Greeter(Protocol):
    """Writes a greeting as soon as it is connected; keeps what it reads."""

    def __init__(self, greeting):
        self.greeting = greeting
        self.received = b""

    def connectionMade(self):
        self.transport.write(self.greeting)

    def dataReceived(self, data):
        self.received += data


class PunchedChannelTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.alice, self.bob = Identity.generate(), Identity.generate()

    def connect(self, opener_expects, acceptor_expects):
        """Alice opens the channel, Bob accepts it: each end a dial's
        factory, expecting the key given of the other."""
        self.opened, self.accepted = defer.Deferred(), defer.Deferred()
        self.alice_says, self.bob_says = Greeter(b"from alice"), Greeter(b"from bob")
        opener = _PunchFactory(self.alice_says, ChannelKey.generate(self.alice),
                               self.clock, True, decode(opener_expects), 5.0,
                               PeerLog(self.clock), self.opened)
        acceptor = _PunchFactory(self.bob_says, ChannelKey.generate(self.bob),
                                 self.clock, False, decode(acceptor_expects), 5.0,
                                 PeerLog(self.clock), self.accepted)
        _, _, pump = connectedServerAndClient(lambda: acceptor.buildProtocol(None),
                                              lambda: opener.buildProtocol(None))
        pump.flush()

    def test_bothProve(self):
        """Each end proves the key the other expects: both dials fire with
        their protocols, and the channel carries what each wrote."""
        self.connect(self.bob.key, self.alice.key)
        self.assertIs(self.successResultOf(self.opened), self.alice_says)
        self.assertIs(self.successResultOf(self.accepted), self.bob_says)
        self.assertEqual(self.alice_says.received, b"from bob")
        self.assertEqual(self.bob_says.received, b"from alice")

    def test_acceptorRefusesAnotherKey(self):
        """The end that accepts the channel fails it when the opener proves
        another key than the punch's peer's, before it seals anything:
        what it wrote never reaches the opener."""
        mallory = Identity.generate()
        self.connect(self.bob.key, mallory.key)
        failure = self.failureResultOf(self.accepted, ChannelFailed)
        self.assertIn(f"the peer proved key {self.alice.key}, not the pinned "
                      f"{mallory.key}", str(failure.value))
        self.assertEqual(self.alice_says.received, b"")

    def test_openerRefusesAnotherKey(self):
        """The opener fails the channel when the acceptor proves another
        key, before it proves its own."""
        mallory = Identity.generate()
        self.connect(mallory.key, self.alice.key)
        self.failureResultOf(self.opened, ChannelFailed)
        self.failureResultOf(self.accepted)
        self.assertEqual(self.bob_says.received, b"")

    def test_noConnection(self):
        """A dial that never connects fails with why."""
        done = defer.Deferred()
        factory = _PunchFactory(Greeter(b""), None, self.clock, True, None, 5.0, None,
                                done)
        factory.clientConnectionFailed(None, Failure(ConnectionRefusedError()))
        self.failureResultOf(done, ConnectionRefusedError)


class NameTests(SynchronousTestCase):
    def test_aNameIsNotDialled(self):
        """A host that is no IP address fails at once: nothing is
        resolved, nothing connected (the reactor is never asked)."""
        dialer = PunchDialer(object(), None, None)
        for host in ("s.attacker.example", "localhost", "198.51.100.7."):
            failure = self.failureResultOf(
                dialer.dial(40000, host, 6379, Greeter(b""), True, None), ValueError)
            self.assertEqual(failure.getErrorMessage(),
                             f"a punch dials only an IP address, not {host!r}")


class SocketTests(SynchronousTestCase):
    def test_sharedPort(self):
        """The dial's socket may share its local port (both options set
        before it binds)."""
        client = _ReusingClient.__new__(_ReusingClient)
        client.addressFamily, client.socketType = socket.AF_INET, socket.SOCK_STREAM
        skt = client.createInternetSocket()
        self.addCleanup(skt.close)
        self.assertTrue(skt.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR))
        self.assertTrue(skt.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT))
