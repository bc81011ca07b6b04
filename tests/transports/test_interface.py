"""
Tests of L{twisted_bazaar.transports.interface}: each transport of the
product provides the one L{ITransport}, knowing paths, keys and protocol
factories (never a node); and a dial's options default to asking
nothing more.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from twisted_bazaar.transports.interface import NO_OPTIONS, DialOptions, ITransport
from twisted_bazaar.transports.path import KINDS
from twisted_bazaar.transports.quic.transport import QuicTransport
from twisted_bazaar.transports.relay.messages import NODE
from twisted_bazaar.transports.relay.transport import RelayTransport
from twisted_bazaar.transports.tcp.transport import TcpTransport

from tests.helpers import FakeConnector
from tests.transports.quic.fakeudp import FakeNetwork, channelKey


class InterfaceTests(SynchronousTestCase):
    def test_everyTransportIsOne(self):
        """TCP, the relay's circuit and QUIC each provide ITransport, of a
        kind of the registry."""
        tcp = TcpTransport(FakeConnector())
        transports = (tcp, RelayTransport(tcp, Clock()),
                      QuicTransport(FakeNetwork().endpoint("10.0.0.1"), channelKey(1)))
        for transport in transports:
            self.assertTrue(verifyObject(ITransport, transport))
            self.assertIn(transport.kind, KINDS)
        self.assertEqual(len({transport.kind for transport in transports}), 3)

    def test_noOptionsAskNothing(self):
        """The default options: a link's purpose, no target, pin, port or
        socket of their own."""
        self.assertEqual(NO_OPTIONS, DialOptions())
        self.assertEqual((NO_OPTIONS.purpose, NO_OPTIONS.target, NO_OPTIONS.pin,
                          NO_OPTIONS.fromPort, NO_OPTIONS.via, NO_OPTIONS.opener),
                         (NODE, None, None, None, None, True))
