"""
Tests of L{twisted_bazaar.transports.table}: the transports a dialer (or
a tracker) is built with, found by the kind of path dialled (its
carrier's), one a kind; a path no transport dials fails, saying so.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.transports.interface import DialOptions
from twisted_bazaar.transports.path import DIRECT, LAN, MAPPED, NAMED, RELAYED, UDP, Path
from twisted_bazaar.transports.relay.transport import RelayTransport
from twisted_bazaar.transports.table import NoTransport, Transports, overConnector
from twisted_bazaar.transports.tcp.transport import TcpTransport

from tests.helpers import FakeConnector
from tests.transports.relay.helpers import RELAY, Collect, RecordingTransport

KEY = b"k" * 32


class TransportsTests(SynchronousTestCase):
    def setUp(self):
        self.direct = RecordingTransport(DIRECT)
        self.relayed = RecordingTransport(RELAYED)
        self.transports = Transports([self.direct, self.relayed])

    def test_byTheCarriersKind(self):
        """A LAN, direct or router-mapped path is dialled by the transport
        of the direct kind, told the key expected; a relayed one by the
        relayed kind's, with the options."""
        for kind in (LAN, DIRECT, MAPPED):
            d = self.transports.dial(Path(kind, "198.51.100.7", 4001), KEY, Collect)
            self.assertIs(d, self.direct.dials[-1].deferred)
            self.assertEqual(self.direct.dials[-1].expected, KEY)
        self.assertEqual(len(self.direct.dials), 3)
        self.transports.dial(Path(RELAYED, "", 0, RELAY, NAMED), None, Collect,
                             DialOptions(target=77, purpose="files"))
        [dial] = self.relayed.dials
        self.assertEqual((dial.relay, dial.target, dial.purpose), (RELAY, 77, "files"))

    def test_noTransportOfTheKind(self):
        """A path of a kind no transport here carries fails, naming it."""
        failure = self.failureResultOf(
            self.transports.dial(Path(UDP, "198.51.100.7", 4433), None, Collect),
            NoTransport)
        self.assertEqual(str(failure.value),
                         "no transport here dials udp 198.51.100.7:4433 (claimed)")
        self.assertIsNone(self.transports.of(UDP))
        self.assertFalse(self.transports.canDial(Path(UDP, "198.51.100.7", 4433)))

    def test_oneAKind(self):
        """Two transports of one kind, one of no registered kind, or
        anything that is no transport, are refused at construction."""
        with self.assertRaises(ValueError):
            Transports([RecordingTransport(DIRECT), RecordingTransport(DIRECT)])
        with self.assertRaises(ValueError):
            Transports([RecordingTransport("pigeon")])
        with self.assertRaises(Exception):
            Transports([Collect()])

    def test_overAConnector(self):
        """Over a connector: TCP through it (dialling from a port by the
        punch dialler given), and the relay's circuit carried by that TCP,
        the inner channel the connector's."""
        connector, fromPort = FakeConnector(), object()
        transports = overConnector(connector, Clock(), fromPort)
        tcp, relay = transports.of(DIRECT), transports.of(RELAYED)
        self.assertIsInstance(tcp, TcpTransport)
        self.assertEqual((tcp.connector, tcp.fromPort), (connector, fromPort))
        self.assertIsInstance(relay, RelayTransport)
        self.assertEqual((relay.carrier, relay.channel), (tcp, connector.channel))
        self.assertEqual(transports.kinds, (DIRECT, RELAYED))

    def test_dialingFrom(self):
        """A table made again to dial from a port by a dialler (a node
        whose punching is plugged after it was built): the same kinds in
        the same order, its TCP transport over the same connector dialling
        from a port by it, the relay's circuits carried by that one, the
        others the same; a table that dials from a port by it already is
        itself."""
        connector, clock, fromPort = FakeConnector(), Clock(), object()
        quic = RecordingTransport(UDP)
        transports = overConnector(connector, clock, more=(quic,))
        dialing = transports.dialingFrom(fromPort)
        self.assertIsInstance(dialing, Transports)
        tcp, relay = dialing.of(DIRECT), dialing.of(RELAYED)
        self.assertEqual((tcp.connector, tcp.fromPort), (connector, fromPort))
        self.assertEqual((relay.carrier, relay.clock, relay.channel, relay.peerLog),
                         (tcp, clock, connector.channel, connector.peerLog))
        self.assertIs(dialing.of(UDP), quic)
        self.assertEqual(dialing.kinds, transports.kinds)
        self.assertIsNone(transports.of(DIRECT).fromPort, "the table given is unchanged")
        self.assertIs(dialing.dialingFrom(fromPort), dialing)
        built = overConnector(connector, clock, fromPort)
        self.assertIs(built.dialingFrom(fromPort), built)
