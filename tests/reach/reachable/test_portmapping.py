"""
The port mapping service (L{twisted_bazaar.reach.reachable.portmapping}): a node its
tracker finds private asks its router for its port once on each network, asks the tracker
to check it there once mapped (``checkme``), and deletes the mapping when
it stops.
"""

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from tests.core.test_membership import NODE_PORT, MembershipCase, reach
from tests.helpers import makeNode
from twisted_bazaar.daemon.build import plugPortMapping
from twisted_bazaar.reach.reachable.portmap.natpmp import Mapped
from twisted_bazaar.reach.reachable.portmapping import PortMappingService
from twisted_bazaar.reach.reachable.reachability import PRIVATE, Reachability
from twisted_bazaar.reach.sources import Sources
from twisted_bazaar.transports.path import MAPPED, Path


class FakeMapper:
    def __init__(self, port, what, onMapped):
        self.port = port
        self.what = what
        self.onMapped = onMapped
        self.started = 0
        self.stops = 0
        self.mapping = None
        self.stopped = defer.Deferred()

    def start(self):
        self.started += 1

    def stop(self):
        self.stops += 1
        return self.stopped


class PortMappingTests(MembershipCase):
    def setUp(self):
        super().setUp()
        self.mappers = []
        self.others = ()
        self.service = plugPortMapping(self.node, self.make, lambda: self.others)
        self.service.startService()
        self.register()

    def make(self, port, what, onMapped):
        mapper = FakeMapper(port, what, onMapped)
        self.mappers.append(mapper)
        return mapper

    def test_privateAsksOnce(self):
        """Public: nothing asked.  Private: the node's listening port is
        asked for, once, whatever the reaches after."""
        self.tracker.say(reach(True))
        self.assertEqual(self.mappers, [])
        self.tracker.say(reach(False))
        self.tracker.say(reach(False))
        [mapper] = self.mappers
        self.assertEqual((mapper.port, mapper.started), (NODE_PORT, 1))

    def test_mappedAsksForACheck(self):
        """Once the router maps the port, the tracker is asked to check
        the node's address again: the router's word is not advertised."""
        self.tracker.say(reach(False))
        self.assertEqual(self.tracker.heard(), [])
        self.mappers[0].onMapped(Mapped(NODE_PORT, NODE_PORT, 3600))
        self.assertEqual(self.tracker.heard(), [{"type": "checkme"}])

    def test_otherPorts(self):
        """The other ports peers dial the node at (a transfer port, a
        relay's; 0: not listening, and one named twice once) are mapped
        too; only the listening port's mapping asks for a check."""
        self.others = ((5001, "transfer port"), (0, "relay port"),
                       (NODE_PORT, "relay port"), (5001, "relay port"))
        self.tracker.say(reach(False))
        self.assertEqual([(mapper.port, mapper.what) for mapper in self.mappers],
                         [(NODE_PORT, "listening port"), (5001, "transfer port")])
        self.mappers[1].onMapped(Mapped(5001, 5001, 3600))
        self.assertEqual(self.tracker.heard(), [])

    def test_stopDeletes(self):
        """Stopping waits for every mapping's deletion."""
        self.others = ((5001, "transfer port"),)
        self.tracker.say(reach(False))
        d = self.service.stopService()
        self.mappers[0].stopped.callback(None)
        self.assertNoResult(d)
        self.mappers[1].stopped.callback(None)
        self.successResultOf(d)

    def test_noRouter(self):
        """No gateway to ask (the maker says None): nothing runs, and
        stopping has nothing to wait for."""
        service = plugPortMapping(self.node, lambda port, what, onMapped: None)
        service.startService()
        self.tracker.say(reach(False))
        self.successResultOf(service.stopService())

    def test_anotherNetworkAsksItsRouter(self):
        """
        A laptop moves from one home to another: the tracker sees it come
        from another public address, still private.  The mappers of the
        first home's router stop (their mappings deleted, which stopping
        the node waits for), and the router of the network it is on now
        is asked: before, the node asked only once, and kept asking the
        first home's router for good.
        """
        self.tracker.say(reach(False, seen_host="198.51.100.9"))
        [first] = self.mappers
        self.tracker.say(reach(False, seen_host="203.0.113.7"))
        [_, second] = self.mappers
        self.assertEqual((first.stops, second.started, second.stops), (1, 1, 0))
        self.tracker.say(reach(False, seen_host="203.0.113.7"))
        self.assertEqual(len(self.mappers), 2)
        d = self.service.stopService()
        second.stopped.callback(None)
        self.assertNoResult(d)
        first.stopped.callback(None)
        self.successResultOf(d)

    def test_aNewTemporaryAddressIsTheSameNetwork(self):
        """A home's host with privacy addresses (RFC 8981) is seen from a
        new temporary address of the same /64 as the last rotates: the
        same router, asked on (it was let go, "it is on another network",
        and asked again at each rotation); another /64 is another
        network."""
        self.tracker.say(reach(False, seen_host="2001:db8:1:200:10b7:6657:9d6f:e5a0"))
        self.tracker.say(reach(False, seen_host="2001:db8:1:200:b4f1:e9ae:26c8:60ea"))
        [first] = self.mappers
        self.assertEqual((first.started, first.stops), (1, 0))
        self.tracker.say(reach(False, seen_host="2001:db8:1:201::5"))
        self.assertEqual((len(self.mappers), first.stops), (2, 1))

    def test_publicWithoutAMappingStopsAsking(self):
        """Found public where no router maps its port (the laptop came
        back to a network with a public address), the node stops asking
        its router (before, the old home's gateway was asked on, a
        warning each time, for good); private again, it asks anew."""
        self.tracker.say(reach(False))
        [mapper] = self.mappers
        self.tracker.say(reach(True))
        self.assertEqual(mapper.stops, 1)
        self.tracker.say(reach(False))
        self.assertEqual([each.started for each in self.mappers], [1, 1])

    def test_publicThroughItsMappingKeepsIt(self):
        """Found public at the port its router maps (the same public
        address): that mapping is what makes it public, and is kept."""
        self.tracker.say(reach(False))
        [mapper] = self.mappers
        mapper.mapping = Mapped(NODE_PORT, NODE_PORT, 3600)
        self.tracker.say(reach(True))
        self.assertEqual((mapper.stops, len(self.mappers)), (0, 1))

    def test_stoppedAsksNothing(self):
        self.service.stopService()
        self.tracker.say(reach(False))
        self.assertEqual(self.mappers, [])


class Announced:
    """An L{IOwnPaths <twisted_bazaar.reach.sources.IOwnPaths>} that notes
    what it is told."""

    def __init__(self):
        self.found = []

    def advertisePath(self, path):
        self.found.append(path)
        return True

    def withdrawPath(self, path):
        raise AssertionError("port mapping announces no path gone")


class AnnouncedTests(SynchronousTestCase):
    def test_mappedPortAnnounced(self):
        """The listening port mapped is announced through the dialer's
        sources as a path of the node's own, the mapped kind at the
        router's external port (the router's address is never asked);
        another port's mapping is not.  It asks the dialer nothing of its
        own: it punches none."""
        mappers, paths = {}, Announced()

        def make(port, what, onMapped):
            mappers[port] = FakeMapper(port, what, onMapped)
            return mappers[port]

        sources = Sources(None, None, None, paths)
        service = PortMappingService(make, lambda: ((9001, "listening port"),
                                                    (5001, "transfer port")), sources)
        sources.add(service)
        service.startService()
        service.reachChanged(Reachability(PRIVATE, "192.0.2.1", 9001), 9001)
        mappers[5001].onMapped(Mapped(5001, 5001, 3600))
        self.assertEqual(paths.found, [])
        mappers[9001].onMapped(Mapped(9001, 9001, 3600))
        self.assertEqual(paths.found, [Path(MAPPED, port=9001)])
        self.assertEqual((sources.toPeers, sources.waitsFor(5), sources.transfer(5, None, None)),
                         (False, False, None))

    def test_pluggedAmongTheDialersSources(self):
        """Its builder adds it to the node's dialer's sources of paths."""
        node = makeNode(1)
        service = plugPortMapping(node, lambda port, what, onMapped: None)
        self.assertEqual(list(node.dialer.sources), [service])
        self.assertFalse(node.dialer.punches)
