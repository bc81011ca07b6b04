"""
Tests for twisted_bazaar.net.byname: a tcp: address naming a host by name
is dialled at each address the name resolves to, IPv6 too.
"""

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.endpoints import HostnameEndpoint, TCP4ClientEndpoint
from twisted.internet.interfaces import IReactorPluggableNameResolver
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from twisted_bazaar.net.byname import clientEndpoint


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


def dialled(reactor, endpoint):
    """The (host, port, timeout) of each TCP connection endpoint opened."""
    endpoint.connect(Factory.forProtocol(Protocol))
    reactor.advance(1)
    return [(host, port, timeout) for host, port, _, timeout, _ in reactor.tcpClients]


class ClientEndpointTests(SynchronousTestCase):
    def test_nameWithIPv6Only(self):
        """A name with an IPv6 address only is dialled there (Twisted's
        tcp: looked it up for IPv4 alone: "DNS lookup failed")."""
        reactor = NamingReactor({"tracker.example": [(IPv6Address, "fd50::2")]})
        endpoint = clientEndpoint(reactor, "tcp:tracker.example:7700")
        self.assertIsInstance(endpoint, HostnameEndpoint)
        self.assertEqual(dialled(reactor, endpoint), [("fd50::2", 7700, 30)])

    def test_everyAddressOfAName(self):
        """A name of two addresses is dialled at the second too, while the
        first does not answer."""
        reactor = NamingReactor({"tracker.example": [(IPv4Address, "192.0.2.9"),
                                                     (IPv6Address, "fd50::2")]})
        endpoint = clientEndpoint(reactor, "tcp:host=tracker.example:port=7700:timeout=4")
        self.assertEqual(dialled(reactor, endpoint),
                         [("192.0.2.9", 7700, 4), ("fd50::2", 7700, 4)])

    def test_keywordsAndPositions(self):
        """The host as a keyword with the port in place, and bindAddress,
        are kept."""
        reactor = NamingReactor({"tracker.example": [(IPv4Address, "192.0.2.9")]})
        endpoint = clientEndpoint(reactor,
                                  "tcp:host=tracker.example:7700:bindAddress=192.0.2.1")
        dialled(reactor, endpoint)
        self.assertEqual(reactor.tcpClients[0][4], ("192.0.2.1", 0))

    def test_othersAreTwistedsOwn(self):
        """An address, a string of other keywords, or another kind is
        Twisted's own endpoint."""
        reactor = NamingReactor({})
        for text in ["tcp:127.0.0.1:7700", r"tcp:fd50\:\:2:7700", "unix:/run/nowhere.sock",
                     "tcp:127.0.0.1:7700:timeout=3"]:
            self.assertNotIsInstance(clientEndpoint(reactor, text), HostnameEndpoint)
        self.assertEqual(reactor.nameResolver.asked, [])
        self.assertIsInstance(clientEndpoint(reactor, "tcp:127.0.0.1:7700"), TCP4ClientEndpoint)

    def test_badStringIsTwistedsError(self):
        """A string Twisted cannot take raises its ValueError, as before."""
        self.assertRaises(ValueError, clientEndpoint, NamingReactor({}), "nonsense:1")
