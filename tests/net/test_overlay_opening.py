"""
Tests of L{twisted_bazaar.net.overlay}: how a node's link table opens a
link (connectTo: the handshake finished, the dial's failure told as
what it says of the peer, L{twisted_bazaar.net.opening.dialFailure}, a cancel abandoning it; a link for a punched
connection, which takes its shared link's place), seen from the node
whose peers are StringTransports.
"""

from twisted.internet.address import IPv4Address
import errno

from twisted.internet.error import (
    ConnectError,
    ConnectionClosed,
    ConnectionRefusedError,
    NoRouteError,
)
from twisted.logger import capturedLogs, formatEvent
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.net.overlay import DIRECT, OVERLAY
from twisted_bazaar.net.opening import NoRoute, NotConnected, Unreachable, dialFailure
from twisted_bazaar.transports.relay.circuit import CircuitRefused
from twisted_bazaar.testing.linking import linkAt

from tests import records
from tests.helpers import (
    NODE_HOST,
    _keyedHello,
    NODE_PORT,
    closeLink,
    feed,
    linkPeer,
    makeNode,
    sent,
)

ME = wire.ThisIsMe(1, NODE_PORT, NODE_HOST)


class ConnectToTests(SynchronousTestCase):
    def setUp(self):
        self.node = makeNode(1)

    def test_connectFiresWithPeerId(self):
        """connectTo fires with the peer's id once the handshake is done."""
        d = linkAt(self.node, "10.0.0.7", 5007)
        [(host, port, _, _)] = self.node.connector.requests
        self.assertEqual((host, port), ("10.0.0.7", 5007))
        link = self.node.connector.connectLast()
        self.assertNoResult(d)
        self.assertEqual(sent(link), [ME])
        feed(link, wire.ThisIsMe(7, 5007))
        self.assertEqual(self.successResultOf(d), 7)
        self.assertEqual(self.node.links, {7: link})

    def test_connectFailure(self):
        """A connection that cannot be made fails with NotConnected and
        frees its slot."""
        d = linkAt(self.node, "10.0.0.7", 5007)
        self.node.connector.failLast(ConnectionRefusedError())
        self.failureResultOf(d, NotConnected)
        self.assertEqual(self.node.overlay.pending, {})

    def test_relayRefusedIsNotUnreachable(self):
        """A relay that refuses the circuit (all its circuits taken) says
        nothing of whether the peer listens: the connect fails, but not
        as Unreachable (a buyer goes along the offer's path, a scheme
        keeps the peer), and the peer is not remembered as unreachable;
        nothing listening is Unreachable."""
        d = linkAt(self.node, "10.0.0.7", 5007, 7)
        self.node.connector.failLast(CircuitRefused(
            "the relay refused the circuit: noslots: all 256 circuits are taken"))
        failure = self.failureResultOf(d, NotConnected)
        self.assertFalse(failure.check(Unreachable))
        self.assertFalse(self.node.unreachable(7))
        self.assertEqual(self.node.overlay.pending, {})
        d = linkAt(self.node, "10.0.0.7", 5007, 7)
        self.node.connector.failLast(ConnectionRefusedError())
        self.failureResultOf(d, Unreachable)

    def test_refusedHandshake(self):
        """A peer that closes before saying thisisme fails the connect."""
        d = linkAt(self.node, "10.0.0.7", 5007)
        link = self.node.connector.connectLast()
        feed(link, wire.Error("noslots", "full"))
        closeLink(link)
        self.failureResultOf(d, NotConnected)
        self.assertEqual(self.node.overlay.pending, {})

    def test_alreadyLinked(self):
        """No second connection to a peer this node is linked to."""
        linkPeer(self.node, 7)
        self.assertEqual(self.successResultOf(linkAt(self.node, "h", 1, 7)), 7)
        self.assertEqual(self.node.connector.requests, [])

    def test_noIdNoConnect(self):
        """An unregistered node cannot link: its peers would refuse it."""
        node = makeNode(None)
        self.failureResultOf(linkAt(node, "10.0.0.7", 5007), NotConnected)
        self.assertEqual(node.connector.requests, [])

    def test_noConnectAfterShutdown(self):
        """A node that is shutting down opens no new link: connectTo fails
        at once with NotConnected and asks the connector for nothing (it
        used to connect, and the link was only hung up once made)."""
        self.node.shutdown()
        self.failureResultOf(linkAt(self.node, "10.0.0.7", 5007), NotConnected)
        self.failureResultOf(linkAt(self.node, "10.0.0.7", 5007, 7), NotConnected)
        self.assertEqual(self.node.connector.requests, [])

    def test_purposeOfTheLink(self):
        """connectTo opens an overlay link unless told otherwise; a direct
        link names its purpose in this node's thisisme."""
        overlay = linkAt(self.node, "10.0.0.7", 5007)
        link = self.node.connector.connectLast()
        self.assertEqual(sent(link), [ME])
        feed(link, wire.ThisIsMe(7, 5007))
        self.assertEqual(self.successResultOf(overlay), 7)
        self.assertEqual(link.purpose, OVERLAY)
        direct = linkAt(self.node, "10.0.0.8", 5008, 8, DIRECT)
        link = self.node.connector.connectLast()
        self.assertEqual(sent(link), [wire.ThisIsMe(1, NODE_PORT, NODE_HOST,
                                                    purpose=DIRECT)])
        feed(link, wire.ThisIsMe(8, 5008))
        self.assertEqual(self.successResultOf(direct), 8)
        self.assertEqual(link.purpose, DIRECT)

    def test_cancel(self):
        """Cancelling connectTo abandons the connection and frees its slot."""
        d = linkAt(self.node, "10.0.0.7", 5007)
        d.cancel()
        self.failureResultOf(d)
        self.assertEqual(self.node.overlay.pending, {})


class PunchedLinkTests(SynchronousTestCase):
    """A link for a punched connection, and the word that a newer link
    replaced a peer's (L{twisted_bazaar.net.overlay.Overlay.punchedLink}, the node's C{linkReplaced}
    event)."""

    def test_directionAndPurposeOfTheShared(self):
        node = makeNode(1)
        for inbound, purpose in ((True, OVERLAY), (False, DIRECT)):
            shared = linkPeer(node, 7 if inbound else 8, inbound=inbound,
                              purpose=purpose)
            link = node.overlay.punchedLink(shared)
            self.assertEqual((link.inbound, link.purpose), (inbound, purpose))
            self.assertIsNone(link.transport)

    def test_aFullNodeEvictsNobodyForIt(self):
        """
        A full node at home, its inbound links all through one relay (its
        relay's address group): a stranger linked through that relay
        punches, and the punched connection, from the stranger's own
        address, takes the place of the stranger's relayed link.  It
        needs no slot of its own: no honest link is evicted for it, and
        it is not refused for a full node.  Before, the node evicted the
        newest honest link of the relay's group for each punch (one a
        punch, the stranger's slot left as it was), or, with every link
        protected, refused the punched link of an honest peer.
        """
        node = makeNode(1, max_connections=3, direct_slots=0)
        stranger, honest = records.identity(5), [records.identity(6),
                                                 records.identity(7)]
        shared = linkPeer(node, stranger)
        linked = []
        for each in honest:
            node.clock.advance(60)
            linked.append(linkPeer(node, each))
        node.clock.advance(3600)
        self.assertEqual(node.overlay.linkCount(), node.overlay.capacity())
        with capturedLogs() as events:
            punched = node.overlay.punchedLink(shared)
            punched.makeConnection(StringTransport(
                peerAddress=IPv4Address("TCP", "203.0.113.5", 41000)))
            _keyedHello(node, punched, stranger, 5000, "", None, True)
        self.assertEqual([link.closing for link in linked], [False, False])
        self.assertEqual([formatEvent(e) for e in events if "evicting" in formatEvent(e)],
                         [])
        self.assertIs(node.links[stranger.id], punched)
        self.assertTrue(shared.closing)
        self.assertEqual(node.overlay.linkCount(), node.overlay.capacity())

    def test_aPunchedLinkWhoseSharedLinkIsGoneEvicts(self):
        """A punched connection whose shared link closed meanwhile takes
        a slot of its own: a full node makes room for it as for any."""
        node = makeNode(1, max_connections=2, direct_slots=0)
        linkPeer(node, records.identity(6))
        shared = linkPeer(node, records.identity(5))
        node.clock.advance(3600)
        punched = node.overlay.punchedLink(shared)
        closeLink(shared)
        linkPeer(node, records.identity(7))
        node.clock.advance(3600)
        with capturedLogs() as events:
            punched.makeConnection(StringTransport(
                peerAddress=IPv4Address("TCP", "203.0.113.5", 41000)))
        self.assertEqual(len([e for e in events if "evicting" in formatEvent(e)]), 1)

    def test_linkReplaced(self):
        """The node's observers are told once a newer link takes a peer's
        link's place, not for a first link."""
        node = makeNode(1)
        replaced = []

        class Watch(NodeObserver):
            linkReplaced = staticmethod(replaced.append)

        node.addObserver(Watch())
        linkPeer(node, 7)
        self.assertEqual(replaced, [])
        linkPeer(node, 7)
        self.assertEqual(replaced, [7])


class DialFailureTests(SynchronousTestCase):
    """What a failed dial says of the peer: a refusal, that it is out of
    reach; an answer then a close (a relay refusing the circuit), only
    that no link came up."""

    def test_refusedIsUnreachable(self):
        failure = dialFailure(Failure(ConnectionRefusedError()), "h", 9)
        self.assertIsInstance(failure, Unreachable)
        self.assertTrue(str(failure).startswith("h:9: "))

    def test_noRouteSaysNothingOfThePeer(self):
        """A dial this machine could not send (no route to the address's
        network; no address of its family; a transport's own ``noRoute``,
        QUIC's to the other family) is L{NoRoute}, not L{Unreachable}:
        the peer may listen there for others.  Before, each was
        L{Unreachable}, and a buy across families never took its path."""
        class OtherFamily(ConnectError):
            noRoute = True

        wrapped = ConnectError(Failure(NoRouteError(errno.ENETUNREACH, "unreachable")))
        for reason in (NoRouteError(errno.ENETUNREACH, "Network is unreachable"),
                       ConnectError(errno.EADDRNOTAVAIL, "Cannot assign"), wrapped,
                       OtherFamily(string="this node's QUIC port is on IPv6 only")):
            failure = dialFailure(Failure(reason), "10.0.0.5", 9)
            self.assertIsInstance(failure, NoRoute)
            self.assertNotIsInstance(failure, Unreachable)
        for reason in (ConnectionRefusedError(), ConnectError(Failure(ConnectionRefusedError()))):
            self.assertIsInstance(dialFailure(Failure(reason), "10.0.0.5", 9), Unreachable)
        self.assertIn("the network is unreachable", str(dialFailure(
            Failure(NoRouteError(errno.ENETUNREACH, "x")), "10.0.0.5", 9)))

    def test_closedIsOnlyNotConnected(self):
        failure = dialFailure(Failure(ConnectionClosed("relay said no")), "h", 9)
        self.assertIsInstance(failure, NotConnected)
        self.assertNotIsInstance(failure, Unreachable)
