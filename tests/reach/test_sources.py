"""
Tests for L{twisted_bazaar.reach.sources}: the dialer asks its sources of
paths through one interface, and dials the paths they announce.
"""

import ast
from types import SimpleNamespace

import attr
from twisted.internet import defer, task
from twisted.internet.error import ConnectError
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from twisted_bazaar import wire
from twisted_bazaar.daemon.build import punchingOf, relayHome
from twisted_bazaar.reach.dialer import Dialer
from twisted_bazaar.reach.reachable.portmap.natpmp import Mapped
from twisted_bazaar.reach.reachable.portmapping import PortMappingService
from twisted_bazaar.reach.reachable.reachability import PRIVATE, Reachability
from twisted_bazaar.reach.sources import (
    Found, IOwnPaths, IPathSource, OwnPathSource, Sources)
from twisted_bazaar.transports.interface import DialOptions
from twisted_bazaar.transports.path import CLAIMED, DIRECT, MAPPED, RELAYED, SEEN, Path

from tests.helpers import RecordingConnector, dialingNode, makeNode
from tests.packagesource import packageTrees


@implementer(IPathSource)
class Source:
    """A source of paths that says what it was built to say."""

    toPeers = True

    def __init__(self, waits=(), runs=(), follows=(), transfers=None):
        self.waits, self.running, self.following = set(waits), set(runs), set(follows)
        self.transfers = transfers
        self.arrivals = []

    def waitsFor(self, peer_id):
        return peer_id in self.waits

    def runs(self, peer_id):
        return peer_id in self.running

    def follows(self, peer_id):
        return peer_id in self.following

    def arrived(self, peer_id):
        self.arrivals.append(peer_id)

    def transfer(self, peer_id, key, protocol):
        return self.transfers


class Listener:
    """Hears one peer's news of punches."""

    def __init__(self):
        self.told = []

    def punchStarted(self, peer_id):
        self.told.append(("started", peer_id))

    def punchEnded(self, peer_id, met):
        self.told.append(("ended", peer_id, met))

    def linkMoved(self, peer_id):
        self.told.append(("moved", peer_id))


class SourcesTests(SynchronousTestCase):
    def setUp(self):
        self.dialled, self.released, self.direct = [], [], set()
        self.sources = Sources(lambda found: self.dialled.append(found) or "dialling",
                               self.released.append, self.direct.__contains__)

    def test_askedInTurn(self):
        """What the dialer asks is any source's answer; transfer, the first
        that tries one; arrived told to each.  A source of the node's own
        paths only answers none of it, and does not make the sources
        punch."""
        own = OwnPathSource()
        self.assertTrue(verifyObject(IPathSource, own))
        self.sources.add(own)
        self.assertFalse(self.sources.toPeers)
        tcp, udp = Source(waits={5}, runs={5}), Source(follows={6}, transfers="udp's")
        self.sources.add(tcp)
        self.sources.add(udp)
        self.assertTrue(self.sources.toPeers)
        self.assertEqual(list(self.sources), [own, tcp, udp])
        self.assertEqual([(self.sources.waitsFor(p), self.sources.runs(p),
                           self.sources.follows(p)) for p in (5, 6, 7)],
                         [(True, True, False), (False, False, True), (False, False, False)])
        self.assertEqual(self.sources.transfer(5, "key", "client"), "udp's")
        tcp.transfers = "tcp's"
        self.assertEqual(self.sources.transfer(5, "key", "client"), "tcp's")
        self.sources.arrived(5)
        self.assertEqual((tcp.arrivals, udp.arrivals), ([5], [5]))

    def test_announced(self):
        """A path found goes to the dialer's dial; a change and a link up
        to its news, made when first listened to (a punch runs by the
        sources' word, a link is direct by the dialer's); settled to its
        release."""
        found = Found(5, Path(DIRECT, "203.0.113.5", 9001, word=SEEN), None, object)
        self.assertEqual(self.sources.found(found), "dialling")
        self.assertEqual(self.dialled, [found])
        tcp = Source(runs={5})
        self.sources.add(tcp)
        self.sources.changed(5)
        self.assertIsNone(self.sources._news, "nobody listens: no news made")
        listener = Listener()
        self.assertTrue(self.sources.news.watch(5, listener).running)
        tcp.running.clear()
        self.direct.add(5)
        self.sources.changed(5)
        self.sources.linkUp(5)
        self.assertEqual(listener.told, [("ended", 5, True), ("moved", 5)])
        self.sources.settled(5)
        self.sources.settled()
        self.assertEqual(self.released, [5, None])

    def test_punchesAreSources(self):
        """The TCP punching is one, added to its node's dialer's sources by
        its builder."""
        node = makeNode(1)
        punching = punchingOf(node)
        self.assertTrue(verifyObject(IPathSource, punching))
        self.assertEqual(list(node.dialer.sources), [punching])
        self.assertTrue(node.dialer.punches)


class Advertisement:
    """An L{IOwnPaths} that notes what it hears; a path is news once."""

    def __init__(self):
        self.told = []

    def advertisePath(self, path):
        news = ("found", path) not in self.told
        self.told.append(("found", path))
        return news

    def withdrawPath(self, path):
        self.told.append(("gone", path))


class OwnPathsTests(SynchronousTestCase):
    """A path to the node itself that a source found goes through the
    dialer's sources to the one listener the dialer was built with (the
    node's advertisement), and by no other way."""

    def test_passedOn(self):
        """Found and gone go to the listener, with its word on news;
        without one (a client's dialer) nobody hears, and nothing is
        news."""
        advertisement = Advertisement()
        sources = Sources(None, None, None, advertisement)
        relayed = Path(RELAYED, relay="192.0.2.5:7702")
        self.assertEqual((sources.own(relayed), sources.own(relayed)), (True, False))
        sources.ownGone(relayed)
        self.assertEqual(advertisement.told,
                         [("found", relayed), ("found", relayed), ("gone", relayed)])
        alone = Sources(None, None, None)
        self.assertFalse(alone.own(relayed))
        alone.ownGone(relayed)

    def test_theDialersListener(self):
        """A dialer passes its listener on to its sources."""
        advertisement = Advertisement()
        dialer = Dialer(task.Clock(), None, None, None, None, own=advertisement)
        dialer.sources.own(Path(MAPPED, port=9001))
        self.assertEqual(advertisement.told, [("found", Path(MAPPED, port=9001))])

    def test_aSourceReachesTheNodeThroughSourcesAlone(self):
        """A source built with nothing of the node but its dialer's sources
        reaches the node's advertisement: the port mapping's mapped port
        has the tracker asked to check it; the reservation's home holds
        the sources, not the node, and its relay held is advertised."""
        node = makeNode(1)
        sent = []
        node.setMembership(SimpleNamespace(send=sent.append, tracker=lambda: None))
        mapped = []
        service = PortMappingService(
            lambda port, what, onMapped: mapped.append(onMapped),
            lambda: ((9001, "listening port"),), node.dialer.sources)
        service.startService()
        service.reachChanged(Reachability(PRIVATE, "192.0.2.1", 9001), 9001)
        [onMapped] = mapped
        onMapped(Mapped(9001, 9001, 3600))
        self.assertEqual(sent, [wire.CheckMe()])
        home = relayHome(node)
        self.assertNotIn(node, attr.astuple(home, recurse=False))
        self.assertIs(home.sources, node.dialer.sources)

    def test_noneAnnouncesAroundSources(self):
        """Nothing but the sources tells the listener (no module but
        reach/sources.py names C{advertisePath} or C{withdrawPath} as an
        attribute): a source that announced to the node by another way
        would be a second channel."""
        callers = sorted(
            module for module, tree in packageTrees().items()
            if any(isinstance(n, ast.Attribute) and n.attr in ("advertisePath", "withdrawPath")
                   for n in ast.walk(tree)))
        self.assertEqual(callers, ["reach/sources.py"])


class DialFoundTests(SynchronousTestCase):
    """The dialer dials what its sources found, by the transport of the
    path's kind, only where a third party saw the peer."""

    def setUp(self):
        self.node = dialingNode(RecordingConnector())
        self.connector = self.node.dialer.connector

    def test_seenDialled(self):
        protocol = object()
        d = self.node.dialer.sources.found(Found(
            5, Path(DIRECT, "203.0.113.5", 9001, word=SEEN), b"key", lambda: protocol,
            DialOptions(fromPort=40000)))
        [(host, port, made, expected, through, dialling)] = self.connector.dials
        self.assertEqual((host, port, made, expected, through),
                         ("203.0.113.5", 9001, protocol, b"key",
                          {"fromPort": 40000, "kind": DIRECT}))
        dialling.callback(protocol)
        self.assertIs(self.successResultOf(d), protocol)

    def test_aClaimRefused(self):
        """A path that is only a claim is not dialled: failed at once,
        saying why."""
        d = self.node.dialer.sources.found(Found(
            5, Path(DIRECT, "203.0.113.5", 9001, word=CLAIMED), None, object))
        self.assertEqual(self.connector.dials, [])
        why = self.failureResultOf(d, ConnectError).getErrorMessage()
        self.assertIn("dialled only where a third party saw it, not as 'claimed'", why)

    def test_aFollowingSourceHoldsTheRelease(self):
        """A source whose punch follows another's that ended holds the
        links waiting: the other's settled releases nobody."""
        udp = Source(waits={5}, follows={5})
        self.node.dialer.sources.add(udp)
        waiting = self.node.dialer.settle(5)
        self.node.dialer.sources.settled(5)
        self.assertNoResult(waiting)
        udp.following.clear()
        self.node.dialer.sources.settled(5)
        self.assertEqual(self.successResultOf(waiting), 5)
        self.assertIsInstance(waiting, defer.Deferred)
