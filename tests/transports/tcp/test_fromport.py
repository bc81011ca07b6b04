"""
Tests for L{twisted_bazaar.transports.tcp.fromport}: the channel of a punched
connection, whose two ends both dialled (over in-memory connections,
twisted.test.iosim, and a fake clock), the socket of its dial, and the
dial itself on a fake reactor and a fake socket: connected, it is handed
to the reactor (adoptStreamConnection); failed, timed out or cancelled,
it is closed and the reactor watches it no more.
"""

import errno
import socket

from twisted.internet import defer
from twisted.internet.error import ConnectionRefusedError, TimeoutError
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.test.iosim import connectedServerAndClient
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.identity.keys import Identity, decode
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.net.encrypted import ChannelFailed
from twisted_bazaar.transports.tcp import fromport
from twisted_bazaar.transports.tcp.fromport import PunchDialer, _PunchFactory, reusingSocket


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
        """A dial that never connects fails with why, once."""
        done = defer.Deferred()
        factory = _PunchFactory(Greeter(b""), None, self.clock, True, None, 5.0, None,
                                done)
        factory.settle(Failure(ConnectionRefusedError()))
        factory.settle(Failure(ConnectionRefusedError()))
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
        before it binds), and does not block."""
        skt = reusingSocket(socket.AF_INET, 0)
        self.addCleanup(skt.close)
        self.assertTrue(skt.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR))
        self.assertTrue(skt.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT))
        self.assertFalse(skt.getblocking())


class FakeSocket:
    """A socket whose connection is under way: the test says how it ends
    (``error``, its SO_ERROR)."""

    def __init__(self, connecting=errno.EINPROGRESS):
        self.connecting = connecting
        self.error = 0
        self.closed = False
        self.connected = None

    def connect_ex(self, address):
        self.connected = address
        return self.connecting

    def getsockopt(self, level, option):
        return self.error

    def fileno(self):
        return 7

    def close(self):
        self.closed = True


class FakeReactor(Clock):
    """The reactor a dial watches its socket on and hands it to."""

    def __init__(self):
        super().__init__()
        self.writers = []
        self.adopted = []

    def addWriter(self, writer):
        self.writers.append(writer)

    def removeWriter(self, writer):
        self.writers.remove(writer)

    def adoptStreamConnection(self, fileno, family, factory):
        self.adopted.append((fileno, family, factory))


class DialTests(SynchronousTestCase):
    def setUp(self):
        self.reactor = FakeReactor()
        self.socket = FakeSocket()
        self.bound = []

        def made(family, port):
            self.bound.append((family, port))
            return self.socket

        self.patch(fromport, "reusingSocket", made)
        self.dialer = PunchDialer(self.reactor, None, None, timeout=5.0)
        self.protocol = Greeter(b"")

    def dial(self, host="198.51.100.7"):
        return self.dialer.dial(40000, host, 6379, self.protocol, True, None)

    def test_connectedIsAdopted(self):
        """Writable without an error: the socket is handed to the reactor
        (the punch's factory builds its channel), closed here (the reactor
        holds its own), and watched no more; the dial waits for the
        channel."""
        d = self.dial()
        self.assertEqual(self.bound, [(socket.AF_INET, 40000)])
        self.assertEqual(self.socket.connected, ("198.51.100.7", 6379))
        [writer] = self.reactor.writers
        writer.doWrite()
        [(fileno, family, factory)] = self.reactor.adopted
        self.assertEqual((fileno, family, factory.wrapped), (7, socket.AF_INET,
                                                             self.protocol))
        self.assertTrue(self.socket.closed)
        self.assertEqual(self.reactor.writers, [])
        self.assertEqual(self.reactor.getDelayedCalls(), [])
        self.assertNoResult(d)

    def test_anIPv6Address(self):
        self.dial("2001:db8::7")
        self.assertEqual(self.bound, [(socket.AF_INET6, 40000)])

    def test_refused(self):
        """Writable with an error: the dial fails with it, the socket
        closed."""
        d = self.dial()
        self.socket.error = errno.ECONNREFUSED
        self.reactor.writers[0].doWrite()
        self.failureResultOf(d, ConnectionRefusedError)
        self.assertTrue(self.socket.closed)
        self.assertEqual((self.reactor.writers, self.reactor.adopted), ([], []))

    def test_refusedAtOnce(self):
        self.socket.connecting = errno.ECONNREFUSED
        self.failureResultOf(self.dial(), ConnectionRefusedError)
        self.assertTrue(self.socket.closed)
        self.assertEqual(self.reactor.writers, [])

    def test_timedOut(self):
        d = self.dial()
        self.reactor.advance(5.0)
        self.failureResultOf(d, TimeoutError)
        self.assertTrue(self.socket.closed)
        self.assertEqual(self.reactor.writers, [])

    def test_cancelled(self):
        """Cancelled while connecting: the socket closed, unwatched, its
        timer gone."""
        d = self.dial()
        d.cancel()
        self.failureResultOf(d, defer.CancelledError)
        self.assertTrue(self.socket.closed)
        self.assertEqual(self.reactor.writers, [])
        self.assertEqual(self.reactor.getDelayedCalls(), [])
