"""
The way over a transport of a kind none of the others dials
(L{twisted_bazaar.reach.ways.Added}): which dials it takes (a peer with
a path of that kind in the book that is not a bare claim; a link, or a
transfer), and what it asks the dialer's transports.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.identity.keys import encode
from twisted_bazaar.reach.ways import Added
from twisted_bazaar.transports.path import CLAIMED, CONFIGURED, DIRECT, UDP, Path
from twisted_bazaar.transports.relay.messages import FILES, NODE
from twisted_bazaar.transports.table import Transports
from twisted_bazaar.transports.websocket import WEBSOCKET
from twisted_bazaar.wire.ids import KEYED
from tests.transports.recording import Recording

PEER = 0x1234


class Book:
    def __init__(self):
        self.paths = []

    def pathsOf(self, peer_id, kind):
        return tuple(path for owner, path in self.paths
                     if owner == peer_id and path.kind == kind)


class Overlay:
    def __init__(self):
        self.asked = []

    def connectTo(self, host, port, peer_id, purpose, dial):
        self.asked.append((host, port, peer_id, purpose))
        return dial("the link")


class Whereabouts:
    def __init__(self):
        self.book = Book()


class Dialer:
    def __init__(self, transports):
        self.whereabouts = Whereabouts()
        self.transports = transports
        self.overlay = Overlay()


class Peer:
    def __init__(self, peer_id=PEER, key=None):
        self.id = peer_id
        self.key = key


class AddedTests(SynchronousTestCase):

    def setUp(self):
        self.websocket = Recording(WEBSOCKET)
        self.dialer = Dialer(Transports([Recording(DIRECT), self.websocket]))
        self.way = Added()

    def add(self, path):
        self.dialer.whereabouts.book.paths.append((PEER, path))

    def test_appliesOnlyWithAPathOfAnAddedKind(self):
        self.assertFalse(self.way.applies(self.dialer, Peer(), NODE, None))
        # The ways before it dial direct and UDP paths.
        self.add(Path(DIRECT, "192.0.2.1", 7000))
        self.add(Path(UDP, "192.0.2.1", 7001, word=CONFIGURED))
        self.assertFalse(self.way.applies(self.dialer, Peer(), NODE, None))
        self.add(Path(WEBSOCKET, "192.0.2.1", 443, word=CONFIGURED))
        self.assertTrue(self.way.applies(self.dialer, Peer(), NODE, None))
        self.assertFalse(self.way.applies(self.dialer, Peer(None), NODE, None))
        # Another protocol of its own than a transfer's is not carried.
        self.assertFalse(self.way.applies(self.dialer, Peer(), "status", object))
        self.assertIsNone(self.way.attempt(self.dialer, Peer(), "status", object))

    def test_notAClaim(self):
        """A path a peer's word alone names is not dialled: a peer could
        name a victim's address for every node linked to it to dial."""
        self.add(Path(WEBSOCKET, "192.0.2.1", 443, word=CLAIMED))
        self.assertFalse(self.way.applies(self.dialer, Peer(), NODE, None))

    def test_notWithoutItsTransport(self):
        self.dialer.transports = Transports([Recording(DIRECT)])
        self.add(Path(WEBSOCKET, "192.0.2.1", 443, word=CONFIGURED))
        self.assertFalse(self.way.applies(self.dialer, Peer(), NODE, None))

    def test_aLinkThroughTheOverlay(self):
        path = Path(WEBSOCKET, "192.0.2.1", 443, word=CONFIGURED)
        self.add(path)
        key = bytes(range(32))
        d = self.way.attempt(self.dialer, Peer(key=encode(key)), NODE, None)
        self.assertEqual(self.successResultOf(d), "the link")
        self.assertEqual(self.dialer.overlay.asked, [("192.0.2.1", 443, PEER, NODE)])
        [(dialled, expected, options)] = self.websocket.dials
        self.assertEqual((dialled, expected, options.purpose), (path, key, NODE))

    def test_aTransferForTheFilesService(self):
        self.add(Path(WEBSOCKET, "192.0.2.1", 443, word=CONFIGURED))
        made = object()
        d = self.way.attempt(self.dialer, Peer(), FILES, lambda: made)
        self.assertIs(self.successResultOf(d), made)
        [(_, key, options)] = self.websocket.dials
        self.assertEqual((key, options.purpose), (None, FILES))

    def test_aPeerKnownByItsIdAloneHasAKeyOfItExpected(self):
        """A keyed peer whose key is not known (an operator's --ws-peer
        ID=HOST:PORT) is dialled with its id expected of the channel's
        key: an impostor at the path is refused in the channel, not at
        the link's id check after it.  A keyless id expects nothing."""
        self.add(Path(WEBSOCKET, "192.0.2.1", 443, word=CONFIGURED))
        keyed = KEYED | 0x1234
        self.dialer.whereabouts.book.paths.append(
            (keyed, Path(WEBSOCKET, "192.0.2.1", 443, word=CONFIGURED)))
        self.successResultOf(self.way.attempt(self.dialer, Peer(keyed), NODE, None))
        self.successResultOf(self.way.attempt(self.dialer, Peer(), NODE, None))
        self.assertEqual([expected for _, expected, _ in self.websocket.dials],
                         [keyed, None])
