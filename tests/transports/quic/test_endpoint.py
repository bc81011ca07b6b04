"""
Tests of L{twisted_bazaar.transports.quic.endpoint}: a stranger's address proven
(stateless retry) before the node holds anything for it, connections and
streams charged to address groups, and the timers of dials and silent
connections on the node's clock; what a reactor's UDP port is told to
read.
"""

import random
import socket
import sys
from unittest import SkipTest

from aioquic.buffer import Buffer
from aioquic.quic.events import StreamDataReceived
from aioquic.quic.packet import QuicPacketType, pull_quic_header
from twisted.internet.error import MessageLengthError
from twisted.internet.interfaces import ISystemHandle
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.transports.quic import endpoint as endpoint_module
from twisted_bazaar.transports.quic.connection import QuicClosed, QuicSilent, QuicUnanswered
from twisted_bazaar.transports.quic.connector import LINKS
from twisted_bazaar.transports.quic.endpoint import (
    CONNECT_TIMEOUT,
    QUIC_RETRIES,
    READ_BUDGET,
    SHORTEST_PACKET,
    STREAM_WAIT,
    QuicEndpoint,
)
from twisted_bazaar.transports.quic.stack import IDLE_TIMEOUT, READ_SIZE

from tests.transports.quic.fakeudp import LATENCY, FakeNetwork, Recorder, dialled, served

SERVER = ("10.1.0.2", 4433)


def kind(data):
    return pull_quic_header(Buffer(data=data), host_cid_length=8).packet_type


class RetryTests(SynchronousTestCase):
    def setUp(self):
        self.network = FakeNetwork()
        self.server = self.network.endpoint(*SERVER)
        self.accepted = served(self.server, 2)

    def fromServer(self):
        return [data for source, _, data in self.network.sent if source == SERVER]

    def test_aStrangerIsRetriedFirst(self):
        """The first answer to a new dialler is a Retry, smaller than its
        Initial; the dial then goes through."""
        client = self.network.endpoint("10.0.0.1")
        protocol, result = dialled(client, 1, SERVER[0], 2)
        self.network.run(1)
        self.assertEqual(result, [protocol])
        first = self.fromServer()[0]
        self.assertEqual(kind(first), QuicPacketType.RETRY)
        self.assertLess(len(first), len(self.network.sent[0][2]))

    def test_aSpoofedSourceMakesNoState(self):
        """Initials from a source that never sees the answers (spoofed):
        the node holds no connection, routes nothing, and answers each
        with one Retry, smaller than what came."""
        client = self.network.endpoint("10.0.0.1")
        self.network.drop = lambda source, destination, data: destination == ("10.0.0.1", 4433)
        for _ in range(5):
            dialled(client, 1, SERVER[0], 2)
        self.network.run(3)
        self.assertEqual((len(self.server.connections), self.server._routes), (0, {}))
        answers = self.fromServer()
        self.assertTrue(answers)
        self.assertEqual({kind(data) for data in answers}, {QuicPacketType.RETRY})
        came = sum(len(data) for source, destination, data in self.network.sent
                   if destination == SERVER)
        self.assertLess(sum(map(len, answers)), came / 4)

    def test_aTokenOfAnotherAddress(self):
        """An Initial carrying a token made for another address is
        dropped: no connection, no answer."""
        client = self.network.endpoint("10.0.0.1")
        dialled(client, 1, SERVER[0], 2)
        self.network.run(0.1)
        tokened = [data for source, destination, data in self.network.sent
                   if destination == SERVER and kind(data) == QuicPacketType.INITIAL
                   and pull_quic_header(Buffer(data=data), host_cid_length=8).token]
        self.assertTrue(tokened)
        before = len(self.fromServer())
        self.server.datagramReceived(tokened[0], ("10.9.9.9", 4433))
        self.assertEqual(len(self.fromServer()), before)
        self.assertEqual(len(self.server.connections), 1)


class LimitTests(SynchronousTestCase):
    def setUp(self):
        self.network = FakeNetwork()
        self.server = self.network.endpoint(*SERVER)
        self.accepted = served(self.server, 2)

    def test_connectionsOfAGroup(self):
        """Past its group's share of connections, a group's next dial
        makes no state and is not answered; another group's still is."""
        self.server.connections.group_limit = 2
        first = self.network.endpoint("10.0.0.1")
        results = [dialled(first, 1, SERVER[0], 2)[1] for _ in range(3)]
        self.network.run(CONNECT_TIMEOUT + 1)
        [refused] = [each for [each] in results if isinstance(each, Failure)]
        self.assertIsInstance(refused.value, QuicUnanswered)
        self.assertEqual(self.server.connections.held(addressGroup("10.0.0.1")), 2)
        other = self.network.endpoint("10.7.0.1")
        protocol, result = dialled(other, 1, SERVER[0], 2)
        self.network.run(1)
        self.assertEqual(result, [protocol])

    def test_streamsOfAGroup(self):
        """Past its group's share of streams, a stream it opens is reset:
        its protocol loses its connection, none is built for it."""
        self.server.streams.group_limit = 1
        client = self.network.endpoint("10.0.0.1")
        kept, _ = dialled(client, 1, SERVER[0], 2)
        refused, _ = dialled(client, 1, SERVER[0], 2)
        self.network.run(2)
        self.assertEqual(len(self.accepted), 1)
        self.assertIsNone(kept.lost)
        self.assertIsNotNone(refused.lost)
        self.assertEqual(self.server.streams.held(addressGroup("10.0.0.1")), 1)


class TimerTests(SynchronousTestCase):
    def setUp(self):
        self.network = FakeNetwork()
        self.client = self.network.endpoint("10.0.0.1")

    def test_nothingAnswers(self):
        """A dial to where nothing answers fails after CONNECT_TIMEOUT
        seconds with QuicSilent, and leaves no timer."""
        protocol, result = dialled(self.client, 1, "10.5.5.5", 2)
        self.network.run(CONNECT_TIMEOUT - 0.5)
        self.assertEqual(result, [])
        self.network.run(1)
        self.assertIsInstance(result[0].value, QuicSilent)
        self.assertIn("within 5 s", str(result[0].value))
        self.assertEqual(self.network.clock.getDelayedCalls(), [])

    def test_anAddressOfTheOtherFamily(self):
        """A dial from an IPv6 socket to an IPv4 address (a peer the
        tracker named at one, to a node listening on tcp6:) fails at once
        saying so, and leaves no connection and no timer; so does the
        other way round.  Before, the port's refusal was raised past the
        connection and its timer, whose firing raised it again."""
        network = FakeNetwork()
        for mine, theirs, words in (("2001:db8::2", "192.0.2.7", "on IPv6 only"),
                                    ("10.0.0.1", "2001:db8::7", "on IPv4 only")):
            client = network.endpoint(mine)
            _, result = dialled(client, 1, theirs, 2)
            self.assertIsInstance(result[0].value, QuicUnanswered)
            self.assertTrue(result[0].value.noRoute)
            self.assertEqual(str(result[0].value),
                             f"this node's QUIC port is {words}: it sends nothing to the "
                             f"{'IPv4' if words.endswith('6 only') else 'IPv6'} address "
                             f"{theirs}")
            network.run(CONNECT_TIMEOUT + 1)
            self.assertEqual(network.clock.getDelayedCalls(), [])
            self.assertEqual(network.sent, [])
            client.stop()

    def test_idleTimeout(self):
        """A connection nothing comes over for IDLE_TIMEOUT seconds ends
        at both ends by the clock, their streams lost; no timer is
        left."""
        server = self.network.endpoint(*SERVER)
        accepted = served(server, 2)
        protocol, _ = dialled(self.client, 1, SERVER[0], 2)
        self.network.run(1)
        self.network.drop = lambda source, destination, data: True
        self.network.run(IDLE_TIMEOUT - 5, step=0.5)
        self.assertIsNone(protocol.lost)
        self.network.run(10, step=0.5)
        self.assertIsInstance(protocol.lost.value, QuicClosed)
        self.assertIsNotNone(accepted[0].lost)
        self.assertEqual(self.network.clock.getDelayedCalls(), [])
        self.assertEqual(len(server.connections), 0)


class StopTests(SynchronousTestCase):
    def test_stop(self):
        """Stopping a socket closes its connections (the peer's streams
        end) and fails its dials under way; no timer is left."""
        network = FakeNetwork()
        client = network.endpoint("10.0.0.1")
        server = network.endpoint(*SERVER)
        accepted = served(server, 2)
        protocol, _ = dialled(client, 1, SERVER[0], 2)
        network.run(1)
        _, pending = dialled(client, 1, "10.5.5.5", 2)
        client.stop()
        self.assertIsInstance(pending[0].value, QuicUnanswered)
        self.assertNotIsInstance(pending[0].value, QuicSilent)
        self.assertIsNotNone(protocol.lost)
        network.run(1)
        self.assertIsNotNone(accepted[0].lost)
        server.stop()
        self.assertEqual(network.clock.getDelayedCalls(), [])
        self.assertEqual((len(server.connections), len(server.streams)), (0, 0))


class UnusedTests(SynchronousTestCase):
    def test_aConnectionWithoutAStream(self):
        """A peer that finishes QUIC's handshake and opens no stream has
        its connection closed after STREAM_WAIT seconds: it holds the
        node's state no longer than a TCP connection that never starts
        the channel."""
        network = FakeNetwork()
        client = network.endpoint("10.0.0.1")
        server = network.endpoint(*SERVER)
        served(server, 2)
        d = client.connect(SERVER[0], SERVER[1], LINKS, Recorder())
        # The stream is only opened by the peer's first byte: none here.
        network.run(1)
        self.assertEqual(len(server.connections), 1)
        network.run(STREAM_WAIT)
        self.assertEqual(len(server.connections), 0)
        self.assertTrue(d.called)


class InitialRateTests(SynchronousTestCase):
    """Initials are charged where they are proven: a Retry to no address
    group (the node's Retries a second bound in all), an Initial that
    brings back its address's token to that address's group."""

    def setUp(self):
        self.network = FakeNetwork()
        self.server = self.network.endpoint(*SERVER)
        served(self.server, 2)

    def forgedInitial(self):
        """A tokenless first Initial, as a forger sends it (from a client
        whose datagrams never reach the server)."""
        forger = self.network.endpoint("10.200.0.1")
        earlier = self.network.drop
        self.network.drop = lambda source, destination, data: (
            source == ("10.200.0.1", 4433) or earlier(source, destination, data))
        dialled(forger, 3, SERVER[0], 2)
        forged = [data for source, _, data in self.network.sent
                  if source == ("10.200.0.1", 4433)][0]
        self.assertEqual(kind(forged), QuicPacketType.INITIAL)
        return forged

    def tokenedElsewhere(self):
        """An Initial carrying a valid token made for another address (a
        forger's own, 10.201.0.1), as the forger replays it from others
        (it never sent it from its own, nor its resends: no connection
        routes it)."""
        def tokened(source, data):
            return (source == ("10.201.0.1", 4433) and kind(data) == QuicPacketType.INITIAL
                    and pull_quic_header(Buffer(data=data), host_cid_length=8).token)

        self.network.drop = lambda source, destination, data: tokened(source, data)
        forger = self.network.endpoint("10.201.0.1")
        dialled(forger, 3, SERVER[0], 2)
        self.network.run(0.1)
        [found, *_] = [data for source, _, data in self.network.sent
                       if tokened(source, data)]
        return found

    def retriesTo(self, hosts):
        return [data for source, (host, _), data in self.network.sent
                if source == SERVER and host in hosts]

    def test_aForgedFloodDoesNotShutOutItsGroup(self):
        """Forged Initials, 2,000 a second from half a second before the
        dial to its end, from the addresses of an honest client's group (its own among
        them), charge that group nothing: the tokenless are each answered
        with a Retry, those with a token made for another address are
        dropped.  The client, its token brought back, connects."""
        forged = [self.tokenedElsewhere(), self.forgedInitial()]
        client = self.network.endpoint("10.0.0.1")
        group = random.Random(7)
        sources = [("10.0.0.1", 4433)] + [
            (f"10.0.{group.randrange(256)}.{group.randrange(1, 255)}",
             group.randrange(1024, 65536)) for _ in range(99)]
        for step in range(300):
            if step == 100:
                # Half a second into the flood.
                protocol, result = dialled(client, 1, SERVER[0], 2)
            for each in range(10):
                self.server.datagramReceived(forged[each % 2],
                                             sources[(step * 10 + each) % 100])
            self.network.run(LATENCY)
        self.assertEqual(result, [protocol])
        self.assertGreater(len(self.retriesTo({host for host, _ in sources})), 1400)

    def test_aProvenGroupsInitialsAreRated(self):
        """An Initial that brings back its address's token is charged to
        its group: past the group's rate it is dropped (the dial fails),
        while the group is still answered Retries, and another group
        connects."""
        client = self.network.endpoint("10.0.0.1")
        _, result = dialled(client, 1, SERVER[0], 2)
        for _ in range(100):
            # The group's other proven addresses spend its rate.
            while self.server.initials.take(addressGroup("10.0.0.1"),
                                            self.network.clock.seconds()):
                pass
            self.network.run(LATENCY)
        self.assertEqual(result, [])
        self.assertTrue(self.retriesTo({"10.0.0.1"}))
        self.assertEqual(len(self.server.connections), 0)
        other = self.network.endpoint("10.9.0.1")
        protocol, result = dialled(other, 1, SERVER[0], 2)
        self.network.run(1)
        self.assertEqual(result, [protocol])

    def test_retriesAreBoundedOverall(self):
        """Tokenless Initials from more address groups than any table of
        groups remembers (12,000 /16s) get the node's Retries a second in
        all: a burst of two seconds' worth, then a second's worth each
        second."""
        forged = self.forgedInitial()
        rate = QUIC_RETRIES.default
        sources = [(f"{10 + n // 256}.{n % 256}.0.1", 4433) for n in range(12_000)]
        # The Retries go nowhere (counted as sent).
        self.network.drop = lambda source, destination, data: True
        for source in sources:
            self.server.datagramReceived(forged, source)
        hosts = {host for host, _ in sources}
        self.assertEqual(len(self.retriesTo(hosts)), 2 * rate)
        self.network.clock.advance(1)
        for source in sources:
            self.server.datagramReceived(forged, source)
        self.assertEqual(len(self.retriesTo(hosts)), 3 * rate)


class RefusedStreamTests(SynchronousTestCase):
    def test_whatFollowsARefusedStreamIsDropped(self):
        """Bytes of a stream refused (its group over its share) that still
        come (the peer sent them before it heard) are not taken for a new
        stream once there is room again."""
        network = FakeNetwork()
        server = network.endpoint(*SERVER)
        accepted = served(server, 2)
        server.streams.group_limit = 0
        asked = []
        accept = server._accept
        server._accept = lambda *args: asked.append(args[0]) or accept(*args)
        client = network.endpoint("10.0.0.1")
        dialled(client, 1, SERVER[0], 2)
        while not asked:
            network.run(0.005)
        server.streams.group_limit = None
        [connection] = asked
        connection._event(StreamDataReceived(data=b"more", end_stream=False,
                                             stream_id=0))
        self.assertEqual((len(asked), accepted), (1, []))


class PunchSocketTests(SynchronousTestCase):
    """What a hole punch needs of a QUIC socket: its datagrams, too short
    for QUIC, handed over; and more sockets serving what the first does."""

    def setUp(self):
        self.network = FakeNetwork()
        self.server = self.network.endpoint(*SERVER)
        self.accepted = served(self.server, 2)

    def test_shortDatagramsAreForeign(self):
        """A datagram shorter than any QUIC packet goes to ``foreign``
        with where it came from; one at QUIC's least size does not; with
        no ``foreign``, it is dropped."""
        self.server.datagramReceived(b"BZU1" + bytes(9), ("10.0.0.9", 5000))
        heard = []
        self.server.foreign = lambda endpoint, data, addr: heard.append(
            (endpoint, data, addr))
        self.server.datagramReceived(b"BZU1" + bytes(9), ("10.0.0.9", 5000))
        self.server.datagramReceived(bytes(SHORTEST_PACKET), ("10.0.0.9", 5000))
        self.assertEqual(heard, [(self.server, b"BZU1" + bytes(9), ("10.0.0.9", 5000))])

    def test_servesAs(self):
        """A socket made to serve as another accepts its services' streams,
        its protocols the first's factories'."""
        more = self.network.endpoint(SERVER[0], 4434)
        more.serveAs(self.server)
        client = self.network.endpoint("10.0.0.1")
        protocol, result = dialled(client, 1, SERVER[0], 2, port=4434)
        self.network.run(1)
        self.assertEqual(result, [protocol])
        protocol.transport.write(b"hello")
        self.network.run(1)
        [accepted] = self.accepted
        self.assertEqual(accepted.received(), b"hello")

    def test_sharesAccounts(self):
        """A socket serving as another charges the first's accounts and
        rates: a node's shares of connections, streams and Initials, and
        its Retries, are
        its own, however many sockets its punches open (each had its own
        before, as many shares again for a group)."""
        more = self.network.endpoint(SERVER[0], 4434)
        more.serveAs(self.server)
        client = self.network.endpoint("10.0.0.1")
        protocol, _ = dialled(client, 1, SERVER[0], 2, port=4434)
        self.network.run(1)
        protocol.transport.write(b"hello")
        self.network.run(1)
        group = addressGroup("10.0.0.1")
        self.assertEqual((self.server.connections.held(group),
                          self.server.streams.held(group)), (1, 1))
        self.assertIs(more.initials, self.server.initials)
        self.assertIs(more.retries, self.server.retries)


@implementer(ISystemHandle)
class SocketPort:
    """What the endpoint sets of a reactor's UDP port: its reads' sizes
    and its socket (one never bound: nothing is sent)."""

    maxPacketSize = 8192
    maxThroughput = 256 * 1024

    def __init__(self, handle):
        self.handle = handle

    def getHandle(self):
        return self.handle


class PortTests(SynchronousTestCase):
    def test_reads(self):
        """A reactor's UDP port is told to read whole datagrams, and a
        window's burst of them a turn."""
        handle = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(handle.close)
        port = SocketPort(handle)
        endpoint = QuicEndpoint(Clock())
        endpoint.makeConnection(port)
        self.assertEqual(port.maxPacketSize, READ_SIZE)
        self.assertEqual(port.maxThroughput, READ_BUDGET)
        self.assertGreaterEqual(READ_BUDGET, 16 * READ_SIZE)

    def test_warmsUp(self):
        """A socket that starts warms qh3's crypto up (its first key
        exchange is ~21 ms, better paid now than in a first dial)."""
        warmed = []
        self.patch(endpoint_module, "warmUp", lambda: warmed.append(True))
        QuicEndpoint(Clock()).makeConnection(Refusing())
        self.assertEqual(warmed, [True])

    def test_segments(self):
        """A reactor's socket on Linux sends bursts segmented (GSO), and
        the kernel here takes the option (transports/quic/segments.py)."""
        if not sys.platform.startswith("linux"):
            raise SkipTest("GSO is Linux's")
        handle = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(handle.close)
        endpoint = QuicEndpoint(Clock())
        endpoint.makeConnection(SocketPort(handle))
        self.assertIsNotNone(endpoint.segmenter)


class Refusing:
    """A reactor's port refusing every datagram as too long, as Twisted's
    does (its own MessageLengthError, no OSError)."""

    def write(self, data, addr):
        raise MessageLengthError("message too long")


class TooLargeTests(SynchronousTestCase):
    def test_aReactorsPortRefusal(self):
        """A datagram a reactor's port refuses for its size is told as too
        large, not raised out of the connection's flush."""
        endpoint = QuicEndpoint(Clock())
        endpoint.transport = Refusing()
        self.assertFalse(endpoint.sendDatagram(b"x" * 2000, SERVER))
        self.assertFalse(endpoint.sendDatagrams([(b"x" * 2000, SERVER)] * 2))


class Routed:
    """A connection the endpoint routes to: what it was given."""

    def __init__(self):
        self.got = []

    def datagramReceived(self, data, addr):
        self.got.append((data, addr))


class ShortHeaderTests(SynchronousTestCase):
    """A short header's datagram is routed by the connection id after its
    first byte; one without QUIC's fixed bit reaches no connection."""

    def test_routed(self):
        endpoint = QuicEndpoint(Clock())
        connection = Routed()
        cid = b"12345678"
        endpoint.routeTo(cid, connection)
        data = bytes([0x41]) + cid + bytes(SHORTEST_PACKET)
        endpoint.datagramReceived(data, SERVER)
        self.assertEqual(connection.got, [(data, SERVER)])
        endpoint.datagramReceived(bytes([0x41]) + b"87654321" + bytes(SHORTEST_PACKET),
                                  SERVER)
        endpoint.datagramReceived(bytes([0x01]) + cid + bytes(SHORTEST_PACKET), SERVER)
        self.assertEqual(connection.got, [(data, SERVER)])
