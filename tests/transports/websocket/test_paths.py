"""
A node's WebSocket port as a path (docs/protocol.md §3, "Paths"): its
wire form, declared in L{twisted_bazaar.transports.websocket}; the node
names it in its ``thisisme`` once its port listens; the tracker names it
to others as the node's claim, at the host it names the node at; the
book holds it as the tracker's word, and the dialer's way over an added
transport (L{twisted_bazaar.reach.ways.Added}) dials it, the peer's key
expected.
"""

import random
from types import SimpleNamespace

from twisted.internet import defer, task
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.identity.keys import Identity, encode
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.reach.book import PathBook
from twisted_bazaar.reach.dialer import Dialer
from twisted_bazaar.reach.ownpaths import ownPaths
from twisted_bazaar.reach.ways import Added
from twisted_bazaar.tracker import Tracker, TrackerFactory
from twisted_bazaar.transports.path import DIRECT, NAMED, UDP, Path
from twisted_bazaar.transports.relay.messages import NODE
from twisted_bazaar.transports.table import Transports
from twisted_bazaar.transports.websocket import WEBSOCKET
from twisted_bazaar.transports.websocket.transport import WebSocketTransport
from twisted_bazaar.wire.codec import ProtocolError
from twisted_bazaar.wire.paths import checkPaths

from tests.helpers import WiredLink
from tests.transports.websocket.helpers import PORT, Recorders
from tests.transports.recording import Recording
from tests.reach.test_book import Owner

PEER = 0x77


class FormTests(SynchronousTestCase):

    def test_read(self):
        """A port, and optionally a host; the word as given."""
        self.assertEqual(
            checkPaths([{"kind": "websocket", "port": 443}], "paths"),
            (Path(WEBSOCKET, port=443),))
        self.assertEqual(
            checkPaths([{"kind": "websocket", "host": "192.0.2.1", "port": 443,
                         "word": "named"}], "paths"),
            (Path(WEBSOCKET, "192.0.2.1", 443, word=NAMED),))

    def test_written(self):
        """Written as read, the host left out when it names none."""
        for paths in ((Path(WEBSOCKET, port=443),),
                      (Path(WEBSOCKET, "192.0.2.1", 80, word=NAMED),)):
            self.assertEqual(checkPaths(checkPaths.toWire(paths), "paths"), paths)
        self.assertEqual(checkPaths.toWire((Path(WEBSOCKET, port=443),)),
                         [{"kind": "websocket", "port": 443, "word": "claimed"}])

    def test_refused(self):
        """No port, a port out of range or not an integer, or two paths
        of the kind: refused, saying which."""
        for entry, why in (({}, "paths entry.port must be an integer"),
                           ({"port": 0}, "from 1 to 65535, not 0"),
                           ({"port": 65536}, "from 1 to 65535, not 65536"),
                           ({"port": "443"}, "must be an integer")):
            error = self.assertRaises(ProtocolError, checkPaths,
                                      [dict(entry, kind="websocket")], "paths")
            self.assertIn(why, str(error))
        error = self.assertRaises(ProtocolError, checkPaths, [
            {"kind": "websocket", "port": 443}, {"kind": "websocket", "port": 80}], "paths")
        self.assertIn("2 paths of kind websocket: at most 1", str(error))


class AdvertisedTests(SynchronousTestCase):

    def transport(self):
        reactor = MemoryReactorClock()
        return WebSocketTransport(reactor, ChannelKey.generate(Identity.generate()),
                                  serverEndpoint=lambda: TCP4ServerEndpoint(reactor, PORT))

    def test_itsPortOnceItListens(self):
        """None before it listens and after it stops; its port, at no
        host, while it listens."""
        transport = self.transport()
        self.assertIsNone(transport.advertised())
        transport.listen(Recorders())
        self.assertEqual(transport.advertised(), Path(WEBSOCKET, port=PORT))
        transport.stopListening()
        self.assertIsNone(transport.advertised())

    def test_theTableAndTheDialer(self):
        """The dialer's table names what its transports advertise, in
        their order; a transport without C{advertised} names nothing, and
        a dialer that made no table names nothing (and makes none)."""
        transport = self.transport()
        transport.listen(Recorders())
        table = Transports([Recording(DIRECT), transport])
        self.assertEqual(table.advertised(), (Path(WEBSOCKET, port=PORT),))
        dialer = Dialer(task.Clock(), None, table, None, None)
        self.assertEqual(dialer.advertised(), (Path(WEBSOCKET, port=PORT),))
        lazy = Dialer(task.Clock(), None, None, None, None)
        self.assertEqual(lazy.advertised(), ())
        self.assertIsNone(lazy._transports)

    def test_inTheNodesOwnPaths(self):
        """A node's own paths hold its transports' after its others."""
        self.assertEqual(ownPaths(udp=9001, more=(Path(WEBSOCKET, port=PORT),)),
                         (Path(UDP, port=9001), Path(WEBSOCKET, port=PORT)))


class TrackerNamingTests(SynchronousTestCase):
    """The tracker names a node's WebSocket port to others as its claim,
    at the host it names the node at, never the host the node said."""

    def setUp(self):
        self.clock = task.Clock()
        tracker = Tracker(self.clock, random.Random(4), LinkSettings(ping_interval=0))
        self.registry = tracker.registry
        self.factory = TrackerFactory(tracker)

    def join(self, host, paths=None, port=9000):
        link = WiredLink(self.factory, host)
        hello = {"type": "thisisme", "id": "", "port": port, "host": ""}
        if paths is not None:
            hello["paths"] = paths
        link.say(hello)
        [you] = link.heard()
        return link, you["id"]

    def named(self, node_id):
        """The paths of the nodereply another node is given for node_id,
        to whereis and to nodereq alike."""
        asker, _ = self.join("192.0.2.50")
        asker.say({"type": "whereis", "id": node_id})
        asker.say({"type": "nodereq"})
        where, picked = asker.heard()
        asker.transport.loseConnection()
        return where["host"], where.get("paths")

    def test_namedAsAClaimAtItsHost(self):
        link, node_id = self.join("198.51.100.7", [
            {"kind": "websocket", "host": "203.0.113.99", "port": 443, "word": "seen"}])
        host, paths = self.named(node_id)
        self.assertEqual(host, "198.51.100.7")
        self.assertEqual(paths, [{"kind": "websocket", "host": "198.51.100.7",
                                  "port": 443, "word": "claimed"}])

    def test_notOfANodeThatNamedNone(self):
        _, node_id = self.join("198.51.100.7")
        self.assertEqual(self.named(node_id), ("198.51.100.7", None))

    def test_goneWithTheNode(self):
        link, node_id = self.join("198.51.100.7", [{"kind": "websocket", "port": 443}])
        [held] = self.registry.claims
        link.transport.loseConnection()
        self.assertEqual(self.registry.claims, {})
        self.assertEqual(self.registry.claimsOf(held), ())

    def test_onlyForANodeDialledThere(self):
        """Not named for a node the tracker has not checked, one reached
        through a relay, or one of port 0 (named where it is seen, not
        where a check passed): the host may be another machine's behind
        its public address."""
        link, node_id = self.join("198.51.100.7", [{"kind": "websocket", "port": 443}])
        [held] = self.registry.claims
        claim = (Path(WEBSOCKET, "198.51.100.7", 443),)
        self.assertEqual(self.registry.claimsOf(held), claim)
        self.registry.setRelay(held, "203.0.113.1:7701")
        self.assertEqual(self.registry.claimsOf(held), ())
        self.registry.setRelay(held, None)
        self.registry._entries[held].know("198.51.100.7")  # reached through a relay alone
        self.assertEqual(self.registry.claimsOf(held), ())
        self.registry.verify(held)
        self.assertEqual(self.registry.claimsOf(held), claim)
        _, other = self.join("198.51.100.8", [{"kind": "websocket", "port": 443}], port=0)
        [zero] = set(self.registry.claims) - {held}
        self.assertEqual(self.registry.claimsOf(zero), ())


class LearnedTests(SynchronousTestCase):
    """The book holds the tracker's word of the path, at the host the
    tracker names the peer at; the dialer's way over an added transport
    dials it, the peer's key expected."""

    def setUp(self):
        self.owner = Owner()
        self.book = PathBook(self.owner)
        self.websocket = Recording(WEBSOCKET)
        self.dialer = SimpleNamespace(whereabouts=SimpleNamespace(book=self.book),
                                      transports=Transports([Recording(DIRECT),
                                                             self.websocket]),
                                      vetDirect=lambda target, host, port, purpose:
                                      defer.succeed([host]))

    def named(self, host="192.0.2.7"):
        self.book.trackerNamed(wire.NodeReply(PEER, "198.51.100.7", 9001, paths=(
            Path(WEBSOCKET, host, 443),)))

    def test_inTheBook(self):
        """At the host the tracker names the peer at, whatever host the
        path says; its word the tracker's, until it is to be asked
        again."""
        named = self.owner.now()
        self.named()
        [path] = self.book.pathsOf(PEER, WEBSOCKET)
        self.assertEqual((path, path.expires),
                         (Path(WEBSOCKET, "198.51.100.7", 443, word=NAMED), named + 600.0))

    def test_forgottenWithTheTrackersWord(self):
        """A later word without it, or another tracker's, forgets it."""
        self.named()
        self.book.trackerNamed(wire.NodeReply(PEER, "198.51.100.7", 9001))
        self.assertEqual(self.book.pathsOf(PEER, WEBSOCKET), ())
        self.named()
        self.book.forgetNamed()
        self.assertEqual(self.book.pathsOf(PEER, WEBSOCKET), ())

    def test_dialled(self):
        self.named()
        key = bytes(range(32))
        overlay = SimpleNamespace(connectTo=lambda host, port, peer_id, purpose, dial:
                                  dial("the link"))
        self.dialer.overlay = overlay
        way = Added()
        peer = SimpleNamespace(id=PEER, key=encode(key), port=9001)
        self.assertTrue(way.applies(self.dialer, peer, NODE, None))
        self.assertEqual(self.successResultOf(way.attempt(self.dialer, peer, NODE, None)),
                         "the link")
        [(path, expected, options)] = self.websocket.dials
        self.assertEqual((path, expected, options.purpose),
                         (Path(WEBSOCKET, "198.51.100.7", 443, word=NAMED), key, NODE))
