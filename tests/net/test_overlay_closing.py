"""
Tests of L{twisted_bazaar.net.overlay}: a node's link table stopping
(dc on every link, no new one taken or opened, whenClosed once the last
is gone), seen from the node whose peers are StringTransports.
"""

from twisted.internet.error import ConnectionRefusedError
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.net.opening import NotConnected
from twisted_bazaar.testing.linking import linkAt

from tests.helpers import closeLink, codes, linkPeer, makeNode, openLink, Recorder, sent

class ShutdownTests(SynchronousTestCase):
    def test_dcOnEveryLink(self):
        """shutdown says dc on established and pending links and closes
        them; whenClosed fires once the last one is gone."""
        node = makeNode(1)
        recorder = Recorder()
        node.addObserver(recorder)
        links = [linkPeer(node, 2), linkPeer(node, 3), openLink(node)]
        node.shutdown()
        self.assertEqual([sent(link) for link in links], [[wire.Dc()]] * 3)
        self.assertTrue(all(link.transport.disconnecting for link in links))
        self.assertEqual(recorder.events[-1], ("nodeStopping",))
        closed = node.whenClosed()
        for link in links:
            self.assertNoResult(closed)
            closeLink(link)
        self.assertIsNone(self.successResultOf(closed))

    def test_noLinks(self):
        """A node with no links is closed at once."""
        node = makeNode(1)
        node.shutdown()
        self.assertIsNone(self.successResultOf(node.whenClosed()))

    def test_refuseWhileStopping(self):
        """A stopping node takes no new peers."""
        node = makeNode(1)
        node.shutdown()
        link = openLink(node)
        self.assertEqual(codes(sent(link)), ["noslots"])
        self.assertTrue(link.transport.disconnecting)

    def test_connectInFlight(self):
        """A link still being connected when the node stops does not stop
        the others from hearing dc, nor keep whenClosed from firing."""
        node = makeNode(1)
        connecting = linkAt(node, "10.0.0.7", 5007)
        link = linkPeer(node, 2)
        node.shutdown()
        self.assertEqual(sent(link), [wire.Dc()])
        closed = node.whenClosed()
        closeLink(link)
        self.assertNoResult(closed)
        node.connector.failLast(ConnectionRefusedError())
        self.failureResultOf(connecting, NotConnected)
        self.assertIsNone(self.successResultOf(closed))

    def test_connectCompletesAfterShutdown(self):
        """A connection that completes after shutdown is hung up at once,
        without a handshake."""
        node = makeNode(1)
        connecting = linkAt(node, "10.0.0.7", 5007)
        node.shutdown()
        closed = node.whenClosed()
        link = node.connector.connectLast()
        self.assertEqual(sent(link), [])
        self.assertTrue(link.transport.disconnecting)
        closeLink(link)
        self.failureResultOf(connecting, NotConnected)
        self.assertIsNone(self.successResultOf(closed))
