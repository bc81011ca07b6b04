"""
Tests of L{twisted_bazaar.daemon.quic}: the node's QUIC socket as a
daemon runs it: its transport made before the node (whose dialer is
built with it), listening where asked, the node served, each
``--quic-peer`` in the book as a configured path, and everything closed
at stop.
"""

from types import SimpleNamespace

from twisted.internet.address import IPv4Address
from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.transports.path import CONFIGURED, UDP, Path
from twisted_bazaar.transports.quic.transport import QuicTransport
from twisted_bazaar.transports.table import Transports
from twisted_bazaar.reach.punch.udp.service import UdpPunching
from twisted_bazaar.daemon.quic import QuicService

from tests import records
from tests.transports.quic.fakeudp import FakeNetwork, channelKey
from tests.helpers import FakeConnector, StandIn, dialerOf

PEER = records.identity(4)


class _Port:
    def __init__(self, host, port):
        self.host, self.port, self.listening = host, port, True

    def getHost(self):
        return IPv4Address("UDP", self.host, self.port)

    def stopListening(self):
        self.listening = False


class _Reactor:
    """The clock of a fake datagram network, and a listenUDP on it."""

    def __init__(self, network):
        self.network = network
        self.ports = []

    def seconds(self):
        return self.network.clock.seconds()

    def callLater(self, *args, **kwargs):
        return self.network.clock.callLater(*args, **kwargs)

    def listenUDP(self, port, protocol, interface=""):
        port = port or 40000 + len(self.ports)
        self.network.attach(protocol, interface, port)
        self.ports.append(_Port(interface, port))
        return self.ports[-1]


def servedNode(service, clock, **parts):
    """A node built with service's transport (its dialer's only one), as
    the service is told of it."""
    node = StandIn(transferFactory=None, clock=clock, links={}, **parts)
    node.setUdpPort = lambda port: setattr(node, "udpPort", port)
    node.holdWhereabouts()
    node.dialer = dialerOf(node, FakeConnector(), Transports([service.transport]))
    return node


class QuicServiceTests(SynchronousTestCase):
    def test_startAndStop(self):
        network = FakeNetwork()
        reactor = _Reactor(network)
        service = QuicService(reactor, channelKey(1), 0, "127.0.0.1",
                              [(PEER.id, "192.0.2.7", 9443)])
        self.assertIsInstance(service.transport, QuicTransport)
        self.assertIs(service.transport.endpoint, service.endpoint)
        node = servedNode(service, network.clock)
        service.serve(node)
        with capturedLogs() as logged:
            service.startService()
        [port] = reactor.ports
        self.assertIs(node.dialer.transports.of(UDP), service.transport)
        self.assertEqual(node.udpPort, port.getHost().port)
        self.assertEqual(node.whereabouts.book.paths(PEER.id),
                         (Path(UDP, "192.0.2.7", 9443, word=CONFIGURED),))
        self.assertEqual(set(service.endpoint.services),
                         {"bazaar-link/1", "bazaar-files/1"})
        lines = [event["log_format"] for event in logged]
        self.assertIn("QUIC listening on {where} (udp)", lines)
        service.stopService()
        self.assertFalse(port.listening)
        self.assertIsNone(service.port)
        self.assertIsNone(node.udpPort)
        self.assertEqual(network.clock.getDelayedCalls(), [])

    def test_punchSockets(self):
        """A node that punches punches over UDP too, on more sockets the
        service opens: each serves what the node's own does, dials from
        itself, and is closed when the punch is done with it or the node
        stops."""
        network = FakeNetwork()
        reactor = _Reactor(network)
        observers = []
        service = QuicService(reactor, channelKey(1), 0, "127.0.0.1")
        # What the punches are given of the node: its tracker session, its
        # link table and its random numbers (none here: no punch runs).
        node = servedNode(service, network.clock, addObserver=observers.append,
                          membership=None,
                          overlay=SimpleNamespace(linkTo=lambda peer_id: None),
                          rng=None)
        # Its TCP punches tell which peers said no UDP punch can work
        # with them (Punching.saidNoUdp): none is asked.
        punching = SimpleNamespace(enabled=True, puncher=SimpleNamespace(limits=None),
                                   saidNoUdp=lambda peer_id: True)
        service.serve(node, punching)
        service.startService()
        self.assertIsInstance(service.udpPunching, UdpPunching)
        self.assertIs(service.udpPunching.tracker._noUdp, punching.saidNoUdp)
        self.assertEqual(observers, [service.udpPunching])
        self.assertEqual(list(node.dialer.sources), [service.udpPunching])
        self.assertIs(service.main, service.endpoint)
        first, second = service.open(), service.open()
        main, one, two = reactor.ports
        self.assertIs(first.services, service.endpoint.services)
        # A datagram too short for QUIC, to any of its sockets, goes to
        # the punches (each endpoint given the service's at construction).
        heard = []
        service.udpPunching.foreignDatagram = lambda *args: heard.append(args)
        where = ("192.0.2.9", 5000)
        service.endpoint.datagramReceived(b"short", where)
        first.datagramReceived(b"tiny", where)
        self.assertEqual(heard, [(service.endpoint, b"short", where),
                                 (first, b"tiny", where)])
        service.close(first)
        self.assertFalse(one.listening)
        self.assertTrue(two.listening)
        service.stopService()
        self.assertFalse(two.listening)
        self.assertFalse(main.listening)

    def test_noPunchingNoUdpPunching(self):
        """A node whose punching is off (--no-punch) punches none over
        UDP either."""
        network = FakeNetwork()
        service = QuicService(_Reactor(network), channelKey(1), 0, "127.0.0.1")
        service.serve(servedNode(service, network.clock), SimpleNamespace(enabled=False))
        service.startService()
        self.assertIsNone(service.udpPunching)
        service.stopService()

    def test_aPortTakenIsOneLine(self):
        """A --quic-port that cannot be taken is told as one line (the
        daemon ends with it; issue 96, M1: it was a traceback), the node
        told no UDP port, and the service stops cleanly."""
        from twisted.internet.error import CannotListenError

        network = FakeNetwork()
        reactor = _Reactor(network)

        def taken(port, protocol, interface=""):
            raise CannotListenError(interface or "any", port,
                                    OSError(98, "Address already in use"))

        reactor.listenUDP = taken
        service = QuicService(reactor, channelKey(1), 7701, "")
        told = []
        node = servedNode(service, network.clock)
        service.serve(node, onFailure=told.append)
        service.startService()
        self.assertEqual(told, ["QUIC cannot listen on --quic-port 7701: port 7701 is in "
                                "use (another program, or another daemon, listens "
                                "there)"])
        self.assertIsNone(service.port)
        self.assertFalse(hasattr(node, "udpPort"))
        service.stopService()
        self.assertIsNone(node.udpPort)
