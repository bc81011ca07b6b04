"""
Home routers on the in-memory network (L{twisted_bazaar.testing.nat}): a
dial into a home times out, a home's connections are seen at its router's
address, with its own port or a drawn one.
"""

import random

from twisted.internet import error, task
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.testing import MemoryNetwork
from twisted_bazaar.testing.nat import KEEPS_PORTS, SYMMETRIC, Homes, Router


class _Kept(Protocol):
    """Keeps its transport's view of the peer."""

    def connectionMade(self):
        self.peer = self.transport.getPeer()


class RouterTests(SynchronousTestCase):
    def test_unknownKindRefused(self):
        """A router is one of the kinds there are, or an error says which."""
        with self.assertRaises(ValueError) as caught:
            Router("1.2.3.4", "full-cone")
        self.assertIn("keeps-ports, symmetric", str(caught.exception))


class HomesTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.network = MemoryNetwork(self.clock)
        self.homes = self.network.homes = Homes(random.Random(1), timeout=5.0)
        self.accepted = []

        def build():
            protocol = _Kept()
            self.accepted.append(protocol)
            return protocol

        self.factory = Factory.forProtocol(build)

    def test_dialIntoAHomeTimesOut(self):
        """Nothing answers a dial into a home: the dialler's Deferred fails
        with a timeout after the router's silence, not before."""
        self.homes.place("laptop", Router("203.0.113.7"))
        self.network.listen(self.factory, "laptop", 9001)
        d = self.network.connect("laptop", 9001, _Kept(), from_host="tracker")
        self.clock.advance(0)
        self.clock.advance(4.9)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        failure = self.failureResultOf(d, error.TimeoutError)
        self.assertIn("behind a NAT router", failure.getErrorMessage())
        self.assertEqual(self.accepted, [])

    def test_abandonedDialForgotten(self):
        """A dial its dialler cancelled before the timeout ends quietly."""
        self.homes.place("laptop", Router("203.0.113.7"))
        d = self.network.connect("laptop", 9001, _Kept(), from_host="tracker")
        d.cancel()
        self.failureResultOf(d)
        self.clock.advance(10)

    def test_sameHomeConnects(self):
        """Two hosts behind one router reach each other, each at its own
        address."""
        router = Router("203.0.113.7")
        self.homes.place("laptop", router)
        self.homes.place("desktop", router)
        self.network.listen(self.factory, "laptop", 9001)
        client = _Kept()
        self.network.connect("laptop", 9001, client, from_host="desktop")
        self.clock.advance(0)
        [server] = self.accepted
        self.assertEqual(server.peer.host, "desktop")
        self.assertTrue(client.transport.lan)

    def test_portKeepingRouter(self):
        """What a home dials sees the router's address and the home's own
        source port; the home's end still has its own address."""
        self.homes.place("laptop", Router("203.0.113.7", KEEPS_PORTS))
        self.network.listen(self.factory, "tracker", 7700)
        client = _Kept()
        self.network.connect("tracker", 7700, client, from_host="laptop")
        self.clock.advance(0)
        [server] = self.accepted
        [(mine, theirs)] = self.network.connections
        self.assertEqual(mine.getHost().host, "laptop")
        self.assertEqual((server.peer.host, server.peer.port),
                         ("203.0.113.7", mine.getHost().port))
        self.assertEqual(theirs.peer, server.peer)
        self.assertEqual(client.peer.host, "tracker")

    def test_symmetricRouterDrawsPorts(self):
        """A symmetric router shows a port of its own drawing for each
        connection, not the home's."""
        self.homes.place("laptop", Router("203.0.113.7", SYMMETRIC))
        self.network.listen(self.factory, "tracker", 7700)
        for _ in range(3):
            self.network.connect("tracker", 7700, _Kept(), from_host="laptop")
        self.clock.advance(0)
        local = {mine.getHost().port for mine, _ in self.network.connections}
        seen = {server.peer.port for server in self.accepted}
        self.assertEqual({server.peer.host for server in self.accepted}, {"203.0.113.7"})
        self.assertEqual(len(seen), 3)
        self.assertFalse(seen & local)

    def test_publicHostsUnchanged(self):
        """Without homes on the path, peers see each other's own address."""
        self.network.listen(self.factory, "tracker", 7700)
        self.network.connect("tracker", 7700, _Kept(), from_host="seller")
        self.clock.advance(0)
        [server] = self.accepted
        self.assertEqual(server.peer.host, "seller")


class SharedLanTests(SynchronousTestCase):
    """Several hosts behind one router, on its LAN at local addresses
    (L{Homes.place} with ``lan``)."""

    def setUp(self):
        self.clock = task.Clock()
        self.network = MemoryNetwork(self.clock)
        self.homes = self.network.homes = Homes(random.Random(1), timeout=5.0)
        home = Router("203.0.113.7")
        self.homes.place("laptop", home, "192.168.1.2")
        self.homes.place("desktop", home, "192.168.1.3")
        # Another home, whose LAN has the same subnet, as homes' LANs do.
        self.homes.place("neighbour", Router("198.51.100.9"), "192.168.1.9")
        self.accepted = []

        def build():
            protocol = _Kept()
            self.accepted.append(protocol)
            return protocol

        self.network.listen(Factory.forProtocol(build), "laptop", 9001)

    def test_sameLanConnects(self):
        """A host dials its housemate's local address: the connection is
        up, over the LAN (C{lan}), not seen through the router."""
        client = _Kept()
        d = self.network.connect("192.168.1.2", 9001, client, from_host="desktop")
        self.clock.advance(0)
        self.assertIs(self.successResultOf(d), client)
        [server] = self.accepted
        self.assertTrue(client.transport.lan)
        self.assertTrue(server.transport.lan)
        self.assertEqual(server.peer.host, "desktop")

    def test_ownEndsNameTheLocalAddress(self):
        """A host on a LAN names its local address as its end's own, as a
        socket behind a router does; what it dials outside still sees the
        router; a host with no local address names its own."""
        self.network.listen(Factory.forProtocol(_Kept), "tracker", 7700)
        for host in ("desktop", "outsider"):
            self.network.connect("tracker", 7700, _Kept(), from_host=host)
        self.clock.advance(0)
        [(desktop, seen), (outsider, _)] = self.network.connections
        self.assertEqual(desktop.getHost().host, "192.168.1.3")
        self.assertEqual(desktop.getHost().port, desktop.host.port)
        self.assertEqual(seen.getPeer().host, "203.0.113.7")
        self.assertEqual(outsider.getHost().host, "outsider")
        self.assertFalse(desktop.lan)

    def test_anotherHomesLocalAddressFails(self):
        """A local address dialled from another home (or from outside) is
        not the home's: nothing answers, and the dial times out."""
        for host in ("neighbour", "outsider"):
            d = self.network.connect("192.168.1.2", 9001, _Kept(), from_host=host)
            self.clock.advance(0)
            self.clock.advance(4.9)
            self.assertNoResult(d)
            self.clock.advance(0.1)
            failure = self.failureResultOf(d, error.TimeoutError)
            self.assertIn("no host at that local address on this LAN",
                          failure.getErrorMessage())
        self.assertEqual(self.accepted, [])

    def test_noHairpin(self):
        """A host dialling its own router's public address reaches nothing
        (the router does not hairpin)."""
        d = self.network.connect("203.0.113.7", 9001, _Kept(), from_host="desktop")
        self.clock.advance(10)
        self.failureResultOf(d, error.ConnectError)
        self.assertEqual(self.accepted, [])
