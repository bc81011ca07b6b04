"""
Tests for twisted_bazaar.tracker.extension: what a scheme adds to the
tracker.  A small extension defined here, with message types of its own,
is hosted by a real Tracker and spoken to over real Links on fake
transports.
"""

import gc
import random
import weakref

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from tests.helpers import WiredLink
from twisted_bazaar.wire.ids import parseWireId, wireId
from twisted_bazaar import wire
from twisted_bazaar.schemes.index.tracker import IndexExtension
from twisted_bazaar.tracker import Tracker, TrackerFactory
from twisted_bazaar.daemon.registry import trackerExtensionPlugins
from twisted_bazaar.tracker.extension import ITrackerExtension, ITrackerExtensionPlugin


@wire.message("testping", ("nonce", "nonce", wire.checkId, wire.REQUIRED))
@wire.frozen
class EchoPing(wire.Message):
    """A node asks the test extension for an echo."""

    nonce: int


@wire.message("testpong", ("nonce", "nonce", wire.checkId, wire.REQUIRED),
              ("from", "node", wire.checkId, wire.REQUIRED))
@wire.frozen
class EchoPong(wire.Message):
    """The test extension's echo, naming whom it answered."""

    nonce: int
    node: int


@implementer(ITrackerExtension)
class EchoExtension:
    """Answers testping with testpong; records who left."""

    def __init__(self, tracker):
        self.tracker = tracker
        self.heard = []
        self.left = []

    def nodeLeft(self, node_id):
        self.left.append(node_id)

    def _ping(self, link, message):
        self.heard.append((link.peer_id, message))
        link.send(EchoPong(message.nonce, link.peer_id))

    takes = {EchoPing: _ping}


@implementer(ITrackerExtension)
class Greedy:
    """An extension whose table is whatever it is given."""

    def __init__(self, takes):
        self.takes = takes

    def nodeLeft(self, node_id):
        pass


@implementer(ITrackerExtensionPlugin)
class EchoPlugin:
    name = "echo"

    def build(self, tracker):
        return EchoExtension(tracker)


class ExtensionCase(SynchronousTestCase):

    def setUp(self):
        self.clock = Clock()
        self.tracker = Tracker(self.clock, random.Random(3),
                               extensions=trackerExtensionPlugins())
        self.echo = EchoExtension(self.tracker)
        self.tracker.addExtension("echo", self.echo)
        self.factory = TrackerFactory(self.tracker)

    def register(self, port):
        peer = WiredLink(self.factory)
        peer.say({"type": "thisisme", "id": "", "port": port, "host": ""})
        [answer] = peer.heard()
        self.assertEqual(answer["type"], "thisisyou")
        return peer, parseWireId(answer["id"])


class HostingTests(ExtensionCase):

    def test_extensionProvidesTheInterface(self):
        verifyObject(ITrackerExtension, self.echo)
        self.assertIs(self.tracker.extensions["echo"], self.echo)

    def test_extensionHandlesItsOwnMessageType(self):
        peer, node_id = self.register(4001)
        peer.say({"type": "testping", "nonce": 5})
        self.assertEqual(peer.heard(), [{"type": "testpong", "nonce": 5, "from": node_id}])
        self.assertEqual(self.echo.heard, [(node_id, EchoPing(5))])
        self.assertFalse(peer.closed)

    def test_theIndexIsStillHosted(self):
        """Adding an extension leaves the installed ones in place."""
        self.assertIsInstance(self.tracker.extensions["index"], IndexExtension)
        peer, _ = self.register(4001)
        peer.say({"type": "lookup", "item": "pear"})
        self.assertEqual(peer.heard(), [{"type": "found", "item": "pear", "sellers": []}])

    def test_extensionMessageBeforeThisismeIsWtfThenClose(self):
        peer = WiredLink(self.factory)
        peer.say({"type": "testping", "nonce": 5})
        self.assertEqual(peer.heard(), [{"type": "error", "code": "wtf",
                                         "info": "say thisisme before testping"}])
        self.assertTrue(peer.closed)
        self.assertEqual(self.echo.heard, [])
        self.assertEqual(self.echo.left, [])

    def test_malformedExtensionMessageIsWtfAndLinkStays(self):
        peer, _ = self.register(4001)
        peer.say({"type": "testping", "nonce": "five"})
        [error] = peer.heard()
        self.assertEqual((error["type"], error["code"]), ("error", "wtf"))
        self.assertIn("testping.nonce", error["info"])
        self.assertFalse(peer.closed)
        self.assertEqual(self.echo.heard, [])

    def test_withoutTheExtensionItsMessagesAreWtf(self):
        tracker = Tracker(self.clock, random.Random(3), extensions={})
        peer = WiredLink(TrackerFactory(tracker))
        peer.say({"type": "thisisme", "id": "", "port": 4001, "host": ""})
        peer.heard()
        peer.say({"type": "testping", "nonce": 5})
        self.assertEqual(peer.heard(), [{"type": "error", "code": "wtf",
                                         "info": "the tracker does not handle testping"}])

    def test_extensionsGivenAsPlugins(self):
        """The tracker builds the extensions it is given (name -> plugin)
        instead of the installed ones."""
        tracker = Tracker(self.clock, random.Random(3), extensions={"echo": EchoPlugin()})
        self.assertEqual(list(tracker.extensions), ["echo"])
        self.assertIs(tracker.extensions["echo"].tracker, tracker)

    def test_installedPlugins(self):
        plugins = trackerExtensionPlugins()
        self.assertIn("index", plugins)
        verifyObject(ITrackerExtensionPlugin, plugins["index"])


class NodeLeftTests(ExtensionCase):

    def test_nodeLeftWhenItsLinkCloses(self):
        peer, node_id = self.register(4001)
        _, staying = self.register(4002)
        peer.transport.loseConnection()
        self.assertEqual(self.echo.left, [node_id])
        self.assertNotIn(node_id, self.tracker.registry.nodes)

    def test_nodeLeftAfterDc(self):
        peer, node_id = self.register(4001)
        peer.say({"type": "dc"})
        self.assertTrue(peer.closed)
        self.assertEqual(self.echo.left, [node_id])

    def test_nodeLeftOncePerSession(self):
        peer, node_id = self.register(4001)
        peer.transport.loseConnection()
        again = WiredLink(self.factory)
        again.say({"type": "thisisme", "id": wireId(node_id), "port": 4001, "host": ""})
        again.heard()
        again.transport.loseConnection()
        self.assertEqual(self.echo.left, [node_id, node_id])

    def test_unregisteredLinkIsNoDeparture(self):
        peer = WiredLink(self.factory)
        peer.transport.loseConnection()
        self.assertEqual(self.echo.left, [])


class ClashTests(ExtensionCase):

    def test_twoExtensionsClaimingOneMessageType(self):
        other = EchoExtension(self.tracker)
        error = self.assertRaises(ValueError, self.tracker.addExtension, "other", other)
        self.assertEqual(str(error), "testping is handled by two tracker extensions")
        self.assertNotIn("other", self.tracker.extensions)
        peer, node_id = self.register(4001)
        peer.say({"type": "testping", "nonce": 1})
        self.assertEqual(self.echo.heard, [(node_id, EchoPing(1))])
        self.assertEqual(other.heard, [])

    def test_aRefusedExtensionAddsNoneOfItsHandlers(self):
        """The clash is found before anything is added: the refused
        extension's other message types stay unhandled."""
        taken = []
        greedy = Greedy({EchoPong: lambda extension, link, message: taken.append(message),
                         EchoPing: lambda extension, link, message: taken.append(message)})
        self.assertRaises(ValueError, self.tracker.addExtension, "greedy", greedy)
        peer, _ = self.register(4001)
        peer.say({"type": "testpong", "nonce": 1, "from": 2})
        self.assertEqual(peer.heard(), [{"type": "error", "code": "wtf",
                                         "info": "the tracker does not handle testpong"}])
        self.assertEqual(taken, [])

    def test_anExtensionOfTheOlderFormIsRefused(self):
        """An extension with a C{handlers} dict and no table (the form the
        chord scheme's had) is refused, saying what to declare."""

        @implementer(ITrackerExtension)
        class Older:
            handlers = {EchoPong: lambda link, message: None}

            def nodeLeft(self, node_id):
                pass

        error = self.assertRaises(TypeError, self.tracker.addExtension, "older", Older())
        self.assertIn("declares no takes table", str(error))
        self.assertNotIn("older", self.tracker.extensions)

    def test_clashWithAnInstalledExtension(self):
        from twisted_bazaar.schemes.index.messages import Register

        error = self.assertRaises(ValueError, self.tracker.addExtension, "mine",
                                  Greedy({Register: lambda extension, link, message: None}))
        self.assertIn("register", str(error))

    def test_coreMessagesCannotBeClaimed(self):
        """An extension cannot take over the core's own messages: the
        tracker still registers nodes and answers dc itself."""
        for kind in (wire.ThisIsMe, wire.Dc, wire.NodeReq, wire.WhereIs):
            error = self.assertRaises(ValueError, self.tracker.addExtension, "thief",
                                      Greedy({kind: lambda extension, link, message:
                                              None}))
            self.assertIn("is the core's", str(error))
            self.assertNotIn("thief", self.tracker.extensions)
        peer, node_id = self.register(4001)
        self.assertIn(node_id, self.tracker.registry.nodes)


class SharedTablesTests(SynchronousTestCase):
    """The handler tables every tracker shares (L{twisted_bazaar.net.handlers})
    hold the extensions' own functions, never a closure of one tracker's:
    a tracker gone (a simulator run over, in a process that runs several)
    is freed, with everything it holds."""

    def test_aTrackerGoneIsFreed(self):
        tracker = Tracker(Clock(), random.Random(3), extensions=trackerExtensionPlugins())
        gone = weakref.ref(tracker)
        del tracker
        gc.collect()
        self.assertIsNone(gone())

    def test_twoTrackersShareOneTable(self):
        first, second = (Tracker(Clock(), random.Random(seed),
                                 extensions=trackerExtensionPlugins()) for seed in (1, 2))
        self.assertIs(first._takes.table, second._takes.table)
