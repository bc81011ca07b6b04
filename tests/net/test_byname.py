"""
Tests for twisted_bazaar.net.byname: a tcp: address naming a host by name
is dialled at each address the name resolves to, IPv6 too.
"""

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import CancelledError
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.error import ConnectionRefusedError, DNSLookupError
from twisted.internet.interfaces import IReactorPluggableNameResolver
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, SynchronousTestCase
from zope.interface import implementer

from twisted_bazaar.base.tlssupport import tlsMissing
from twisted_bazaar.net.byname import ATTEMPT_DELAY, ByNameEndpoint, clientEndpoint


class FakeResolver:
    """Resolves each name to the addresses it is given, at once."""

    def __init__(self, names):
        self.names = names
        self.asked = []

    def resolveHostName(self, receiver, hostName, portNumber=0, addressTypes=None,
                        transportSemantics="TCP"):
        self.asked.append(hostName)
        receiver.resolutionBegan(None)
        for kind, host in self.names.get(hostName, ()):
            receiver.addressResolved(kind("TCP", host, portNumber))
        receiver.resolutionComplete()
        return receiver


@implementer(IReactorPluggableNameResolver)
class NamingReactor(MemoryReactorClock):
    """A memory reactor with a name resolver of its own."""

    def __init__(self, names):
        super().__init__()
        self.nameResolver = FakeResolver(names)

    def installNameResolver(self, resolver):
        self.nameResolver = resolver


def dialled(reactor):
    """The (host, port, timeout) of each TCP connection opened."""
    return [(host, port, timeout) for host, port, _, timeout, _ in reactor.tcpClients]


def refuse(reactor, index):
    """The connection attempt at index fails: refused."""
    reactor.tcpClients[index][2].clientConnectionFailed(
        reactor.connectors[index], Failure(ConnectionRefusedError()))


class ClientEndpointTests(SynchronousTestCase):
    def test_nameWithIPv6Only(self):
        """A name with an IPv6 address only is dialled there (Twisted's
        tcp: looked it up for IPv4 alone: "DNS lookup failed")."""
        reactor = NamingReactor({"tracker.example": [(IPv6Address, "fd50::2")]})
        endpoint = clientEndpoint(reactor, "tcp:tracker.example:7700")
        self.assertIsInstance(endpoint, ByNameEndpoint)
        endpoint.connect(Factory.forProtocol(Protocol))
        self.assertEqual(dialled(reactor), [("fd50::2", 7700, 30)])

    def test_everyAddressIPv4First(self):
        """A name of two addresses is dialled at its IPv4 one first (where
        a node listening on IPv4 only is dialled back), then, refused
        there, at the other; both refused, the last refusal is the
        reason."""
        reactor = NamingReactor({"tracker.example": [(IPv6Address, "fd50::2"),
                                                     (IPv4Address, "192.0.2.9"),
                                                     (IPv4Address, "192.0.2.9")]})
        endpoint = clientEndpoint(reactor, "tcp:host=tracker.example:port=7700:timeout=4")
        connected = endpoint.connect(Factory.forProtocol(Protocol))
        self.assertEqual(dialled(reactor), [("192.0.2.9", 7700, 4)])
        refuse(reactor, 0)
        self.assertEqual(dialled(reactor), [("192.0.2.9", 7700, 4), ("fd50::2", 7700, 4)])
        self.assertNoResult(connected)
        refuse(reactor, 1)
        self.failureResultOf(connected, ConnectionRefusedError)

    def test_connectedAtTheSecond(self):
        """The first address refused, the second's connection is the
        endpoint's."""
        reactor = NamingReactor({"tracker.example": [(IPv4Address, "192.0.2.9"),
                                                     (IPv6Address, "fd50::2")]})
        connected = clientEndpoint(reactor, "tcp:tracker.example:7700").connect(
            Factory.forProtocol(Protocol))
        refuse(reactor, 0)
        factory = reactor.tcpClients[1][2]
        protocol = factory.buildProtocol(IPv6Address("TCP", "fd50::2", 7700))
        protocol.makeConnection(StringTransport())
        self.assertIs(self.successResultOf(connected), protocol._wrappedProtocol)

    def test_nameOfNoAddress(self):
        """A name that resolves to nothing fails as Twisted's did: DNS
        lookup failed, naming it."""
        reactor = NamingReactor({})
        connected = clientEndpoint(reactor, "tcp:nowhere.example:7700").connect(
            Factory.forProtocol(Protocol))
        self.assertEqual(str(self.failureResultOf(connected, DNSLookupError).value),
                         "DNS lookup failed: nowhere.example.")
        self.assertEqual(reactor.tcpClients, [])

    def test_cancelled(self):
        """Cancelled while it dials, the dial is cancelled and no other
        address is tried."""
        reactor = NamingReactor({"tracker.example": [(IPv4Address, "192.0.2.9"),
                                                     (IPv6Address, "fd50::2")]})
        connected = clientEndpoint(reactor, "tcp:tracker.example:7700").connect(
            Factory.forProtocol(Protocol))
        connected.cancel()
        self.failureResultOf(connected, CancelledError)
        self.assertTrue(reactor.connectors[0].stoppedConnecting)
        self.assertEqual(len(reactor.tcpClients), 1)

    def test_cancelledWhileLookingUp(self):
        """Cancelled before the name resolved, it fails cancelled, once,
        and dials nothing when the answer comes."""
        reactor = NamingReactor({})
        held = []
        reactor.nameResolver.resolveHostName = (
            lambda receiver, name, port: held.append(receiver))
        connected = clientEndpoint(reactor, "tcp:tracker.example:7700").connect(
            Factory.forProtocol(Protocol))
        connected.cancel()
        self.failureResultOf(connected, CancelledError)
        [receiver] = held
        receiver.addressResolved(IPv4Address("TCP", "192.0.2.9", 7700))
        receiver.resolutionComplete()
        self.assertEqual(reactor.tcpClients, [])

    def test_bindAddressKeepsItsFamily(self):
        """bindAddress is kept, and only addresses of its family are
        dialled."""
        reactor = NamingReactor({"tracker.example": [(IPv4Address, "192.0.2.9"),
                                                     (IPv6Address, "fd50::2")]})
        endpoint = clientEndpoint(reactor,
                                  r"tcp:host=tracker.example:7700:bindAddress=fd50\:\:3")
        connected = endpoint.connect(Factory.forProtocol(Protocol))
        self.assertEqual(dialled(reactor), [("fd50::2", 7700, 30)])
        self.assertEqual(reactor.tcpClients[0][4], ("fd50::3", 0))
        refuse(reactor, 0)
        self.failureResultOf(connected, ConnectionRefusedError)

    def test_othersAreTwistedsOwn(self):
        """An address, a string of other keywords, or another kind is
        Twisted's own endpoint, and nothing is looked up."""
        reactor = NamingReactor({})
        for text in ["tcp:127.0.0.1:7700", r"tcp:fd50\:\:2:7700", "unix:/run/nowhere.sock",
                     "tcp:127.0.0.1:7700:timeout=3"]:
            self.assertNotIsInstance(clientEndpoint(reactor, text), ByNameEndpoint)
        self.assertEqual(reactor.nameResolver.asked, [])
        self.assertIsInstance(clientEndpoint(reactor, "tcp:127.0.0.1:7700"), TCP4ClientEndpoint)

    def test_tlsAtAnIPv6Address(self):
        """A tls: address at an IPv6 address dials it over TCP, its
        timeout kept (Twisted's own tls: took the address for a name,
        "Codepoint U+003A ... not allowed": no tls: tracker at an IPv6
        address was reached)."""
        missing = tlsMissing("tls")
        if missing:
            raise SkipTest(missing)
        reactor = NamingReactor({})
        for text in [r"tls:2001\:db8\:\:10:7710", r"tls:host=2001\:db8\:\:10:port=7711:timeout=4"]:
            clientEndpoint(reactor, text).connect(Factory.forProtocol(Protocol))
        self.assertEqual(dialled(reactor), [("2001:db8::10", 7710, 30),
                                            ("2001:db8::10", 7711, 4)])
        self.assertEqual(reactor.nameResolver.asked, [])

    def test_badStringIsTwistedsError(self):
        """A string Twisted cannot take raises its ValueError, as before."""
        self.assertRaises(ValueError, clientEndpoint, NamingReactor({}), "nonsense:1")


def connect(reactor, index, host):
    """The connection attempt at index connects: its protocol."""
    protocol = reactor.tcpClients[index][2].buildProtocol(IPv4Address("TCP", host, 7700))
    protocol.makeConnection(StringTransport())
    return protocol._wrappedProtocol


class SilentAddressTests(SynchronousTestCase):
    """
    An address that drops what is sent to it (a dead machine, a firewall)
    neither answers nor refuses: the next is dialled beside it after
    ATTEMPT_DELAY s, not after its whole timeout (30 s, where ``bazaar``
    gives up after 10).
    """

    def setUp(self):
        self.reactor = NamingReactor({"tracker.example": [(IPv4Address, "192.0.2.9"),
                                                          (IPv4Address, "192.0.2.10"),
                                                          (IPv4Address, "192.0.2.11")]})
        self.connected = clientEndpoint(self.reactor, "tcp:tracker.example:7700").connect(
            Factory.forProtocol(Protocol))

    def test_nextBesideASilentOne(self):
        """The first silent, the second is dialled ATTEMPT_DELAY s later,
        the first still dialling; the second connecting is the result,
        and the others are cancelled, no timer left."""
        self.reactor.advance(ATTEMPT_DELAY - 0.1)
        self.assertEqual([host for host, _, _ in dialled(self.reactor)], ["192.0.2.9"])
        self.reactor.advance(0.1)
        self.assertEqual([host for host, _, _ in dialled(self.reactor)],
                         ["192.0.2.9", "192.0.2.10"])
        self.assertFalse(self.reactor.connectors[0].stoppedConnecting)
        protocol = connect(self.reactor, 1, "192.0.2.10")
        self.assertIs(self.successResultOf(self.connected), protocol)
        self.assertTrue(self.reactor.connectors[0].stoppedConnecting)
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_aFailureDialsTheNextAtOnce(self):
        """The second refused while the first is silent, the third is
        dialled at once; all three failing, the last failure is the
        result."""
        self.reactor.advance(ATTEMPT_DELAY)
        refuse(self.reactor, 1)
        self.assertEqual(len(self.reactor.tcpClients), 3)
        self.assertEqual(self.reactor.getDelayedCalls(), [])
        refuse(self.reactor, 2)
        self.assertNoResult(self.connected)
        refuse(self.reactor, 0)
        self.failureResultOf(self.connected, ConnectionRefusedError)

    def test_cancelledWhileSeveralDial(self):
        """Cancelled while two dial, both are cancelled and no timer is
        left."""
        self.reactor.advance(ATTEMPT_DELAY)
        self.connected.cancel()
        self.failureResultOf(self.connected, CancelledError)
        self.assertTrue(self.reactor.connectors[0].stoppedConnecting)
        self.assertTrue(self.reactor.connectors[1].stoppedConnecting)
        self.assertEqual(self.reactor.getDelayedCalls(), [])
        self.assertEqual(len(self.reactor.tcpClients), 2)
