"""
Tests of L{twisted_bazaar.transports.tcp.transport}: the paths dialled as
direct ones, through the connector under the channel, the key expected
passed on; from a port by the punch dialler when the options ask one.
"""

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.transports.interface import DialOptions
from twisted_bazaar.transports.path import DIRECT, LAN, MAPPED, NAMED, RELAYED, UDP, Path
from twisted_bazaar.transports.tcp.transport import TcpTransport

from tests.helpers import FakeConnector
from tests.transports.relay.helpers import Collect

KEY = b"k" * 32
AT = Path(DIRECT, "198.51.100.7", 4001)


class FromPort:
    """A punch dialler: records each dial (local port, host, port,
    protocol, opener, expected)."""

    def __init__(self):
        self.dials = []

    def dial(self, local_port, host, port, protocol, opener, expected):
        self.dials.append((local_port, host, port, protocol, opener, expected))
        return defer.Deferred()


class TcpTransportTests(SynchronousTestCase):
    def setUp(self):
        self.connector = FakeConnector()
        self.fromPort = FromPort()
        self.tcp = TcpTransport(self.connector, self.fromPort)

    def test_dialsTheDirectKinds(self):
        for kind in (DIRECT, LAN, MAPPED):
            self.assertTrue(self.tcp.canDial(Path(kind, "198.51.100.7", 4001)))
        self.assertFalse(self.tcp.canDial(Path(UDP, "198.51.100.7", 4001)))
        self.assertFalse(self.tcp.canDial(Path(RELAYED, "", 0, "198.51.100.1:7701", NAMED)))

    def test_throughTheConnector(self):
        """A plain dial is the connector's, the key expected passed on."""
        protocol = Collect()
        self.tcp.dial(AT, KEY, lambda: protocol)
        [request] = self.connector.requests
        self.assertEqual((request.host, request.port, request.link),
                         ("198.51.100.7", 4001, protocol))
        self.assertEqual(self.connector.expected, [KEY])
        self.assertEqual(self.fromPort.dials, [])

    def test_fromAPort(self):
        """With fromPort, the punch dialler's, from that port, as the
        options' end of the channel."""
        protocol = Collect()
        self.tcp.dial(AT, KEY, lambda: protocol, DialOptions(fromPort=40000, opener=False))
        self.assertEqual(self.fromPort.dials,
                         [(40000, "198.51.100.7", 4001, protocol, False, KEY)])
        self.assertEqual(self.connector.requests, [])

    def test_noPortWithoutAPunchDialler(self):
        failure = self.failureResultOf(TcpTransport(self.connector).dial(
            AT, KEY, Collect, DialOptions(fromPort=40000)), ValueError)
        self.assertIn("dials from no chosen port", failure.getErrorMessage())

    def test_takesNoPin(self):
        """A pin is a circuit's inner channel's: a direct dial given one
        fails, saying so, and dials nothing."""
        failure = self.failureResultOf(self.tcp.dial(AT, None, Collect,
                                                     DialOptions(pin=object())))
        self.assertIn("never a pin", failure.getErrorMessage())
        self.assertEqual(self.connector.requests, [])
