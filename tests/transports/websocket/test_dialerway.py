"""
The bridge onto today's dialer: which dials it takes (a peer with a
WebSocket path in the book; a link, or a transfer), what it asks the
transport, and a node's --ws-peer written into its book.
"""

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.transports.path import CONFIGURED, DIRECT, WEBSOCKET, Path
from twisted_bazaar.transports.relay.messages import FILES as FILES_PURPOSE
from twisted_bazaar.transports.websocket.dialerway import DialerWay, plugNode
from twisted_bazaar.transports.websocket.transport import FILES, WebSocketTransport

PEER = 0x1234


class Book:
    def __init__(self):
        self.paths = {}

    def add(self, peer_id, path):
        self.paths.setdefault(peer_id, []).append(path)

    def pathsOf(self, peer_id, kind):
        return tuple(p for p in self.paths.get(peer_id, ()) if p.kind == kind)


class Overlay:
    def __init__(self):
        self.asked = []

    def connectTo(self, host, port, peer_id, purpose, dial):
        self.asked.append((host, port, peer_id, purpose))
        return dial("the link")


class Dialer:
    def __init__(self):
        self.book = Book()
        self.node = self.dialer = self
        self.overlay = Overlay()
        self.added = []

    def addTransport(self, transport):
        self.added.append(transport)


class Peer:
    def __init__(self, peer_id=PEER, key=None):
        self.id = peer_id
        self.key = key


class Transport:
    """Records dials; each connects at once."""

    canDial = WebSocketTransport.canDial

    def __init__(self):
        self.dials = []

    def dial(self, path, key, factory, options=None):
        self.dials.append((path, key, options))
        return defer.succeed(factory.buildProtocol(None))


class DialerWayTests(SynchronousTestCase):

    def setUp(self):
        self.dialer = Dialer()
        self.transport = Transport()
        self.way = DialerWay(self.transport)

    def test_appliesOnlyWithAWebSocketPath(self):
        self.assertFalse(self.way.applies(self.dialer, Peer(), "overlay", None))
        self.dialer.book.add(PEER, Path(DIRECT, "192.0.2.1", 7000))
        self.assertFalse(self.way.applies(self.dialer, Peer(), "overlay", None))
        self.dialer.book.add(PEER, Path(WEBSOCKET, "192.0.2.1", 443))
        self.assertTrue(self.way.applies(self.dialer, Peer(), "overlay", None))
        self.assertFalse(self.way.applies(self.dialer, Peer(None), "overlay", None))
        # Another protocol of its own than a transfer's is not carried.
        self.assertFalse(self.way.applies(self.dialer, Peer(), "status", object))
        self.assertIsNone(self.way.attempt(self.dialer, Peer(), "status", object))

    def test_aLinkThroughTheOverlay(self):
        self.dialer.book.add(PEER, Path(WEBSOCKET, "192.0.2.1", 443))
        d = self.way.attempt(self.dialer, Peer(), "overlay", None)
        self.assertEqual(self.successResultOf(d), "the link")
        self.assertEqual(self.dialer.overlay.asked, [("192.0.2.1", 443, PEER, "overlay")])
        self.assertEqual(self.transport.dials[0][2], None)

    def test_aTransferAtTheFilesResource(self):
        self.dialer.book.add(PEER, Path(WEBSOCKET, "192.0.2.1", 443))
        made = object()
        d = self.way.attempt(self.dialer, Peer(), FILES_PURPOSE, lambda: made)
        self.assertIs(self.successResultOf(d), made)
        self.assertEqual(self.transport.dials[0][2], {"resource": FILES})

    def test_plugNodeWritesConfiguredPaths(self):
        listening = plugNode(self.dialer, self.transport, [(PEER, "192.0.2.9", 80)],
                             listen=False)
        self.assertIsNone(listening)
        self.assertEqual(self.dialer.book.pathsOf(PEER, WEBSOCKET),
                         (Path(WEBSOCKET, "192.0.2.9", 80, word=CONFIGURED),))
        self.assertIsInstance(self.dialer.added[0], DialerWay)
