"""
Tests for L{twisted_bazaar.testing.memory.QuietEnd}: a warm run's quiet link
ends stand in their links' places, answer the table's views as the links
would, and are made the links the build made before (issue 95 item 3)
when a part takes one, their keepalive check comes, or a cut closes them.
"""

import attr
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.link import Link
from twisted_bazaar.net.overlay import OVERLAY
from twisted_bazaar.net.standin import StandIn
from twisted_bazaar.sim.runner import SimConfig, Simulation
from twisted_bazaar.testing.memory import MemoryNetwork

CONFIG = SimConfig(nodes=16, sellers=0.15, items=2, searches=10, max_time=60.0,
                   start="warm", discovery="index", seed=3)


def built(config=CONFIG, quiet=True, seconds=0.0):
    """A warm simulation of config, built (its links quiet ends, or all
    links as before) and run for seconds, no buyer yet."""
    sim = Simulation(config)
    if not quiet:
        sim.network.quietPair = lambda *args: None
    sim.build()
    sim.clock.runFor(seconds)
    return sim


def views(overlay):
    """What an overlay's views say, none handing a link out."""
    return (list(overlay.linkedPeers()), overlay.peersOf(OVERLAY),
            overlay.outboundPeersOf(OVERLAY), overlay.count(OVERLAY),
            overlay.crowd(OVERLAY), overlay.linkedCount(), overlay.linkCount(),
            overlay.linksByPurpose(), overlay.addresses,
            [overlay.addressOf(peer) for peer in overlay.linkedPeers()],
            [when for _, when in zip(overlay.since[::2], overlay.since[1::2])])


def ofLink(node, link):
    """What a link end of node is, as the build makes it."""
    transport = link.transport
    return (type(link), link.peer_id, link.inbound, link.purpose, link.key, link.address,
            link.idle_timeout, link.nextCheck, link.lastHeard, link.lastTraffic,
            node.overlay.connectedAt(link), node.isProven(link),
            transport.getHost(), transport.getPeer(), transport.connected,
            transport.protocol is link, transport.other.protocol.peer_id)


def _timeless(metrics):
    """metrics without what the wall clock and the process say."""
    if isinstance(metrics, dict):
        return {key: _timeless(value) for key, value in metrics.items()
                if key not in ("wall_s", "peak_rss_mb", "cpu_s", "busy_s", "waiting_s")}
    if isinstance(metrics, list):
        return [_timeless(value) for value in metrics]
    return metrics


class QuietEndTests(SynchronousTestCase):
    """A warm index run's overlay links are quiet ends until taken."""

    def setUp(self):
        self.quiet = built()
        self.full = built(quiet=False)

    def test_inTheLinksPlaces(self):
        """Every overlay link end of the build is a quiet end, held in its
        network's open connections, and no Link stands for one."""
        ends = [end for pair in self.quiet.network.connections for end in pair
                if isinstance(end, StandIn)]
        overlay = sum(node.overlay.count(OVERLAY) for node in self.quiet.nodes)
        self.assertEqual(len(ends), overlay)
        self.assertGreater(overlay, 0)
        held = [value for node in self.quiet.nodes
                for value in dict.values(node.overlay._links)]
        self.assertEqual(sum(isinstance(value, StandIn) for value in held), overlay)
        self.assertFalse(any(isinstance(value, Link) and value.purpose == OVERLAY
                             for value in held))

    def test_viewsAsTheLinks(self):
        """The table's views say of quiet ends what they say of links,
        and hand none out (every end is still quiet after)."""
        for quiet, full in zip(self.quiet.nodes, self.full.nodes):
            self.assertEqual(views(quiet.overlay), views(full.overlay))
        self.test_inTheLinksPlaces()

    def test_madeTheLinksBuiltBefore(self):
        """Taken (L{Overlay.linkTo}, L{Overlay.linkEnds}), both ends of a
        quiet pair are what the build made before, in the same places:
        the table's order, the inbound links' times, the network's open
        connections in the order made."""
        first = self.quiet.nodes[0]
        peer = next(first.overlay.linkedPeers())
        link = first.linkTo(peer)
        self.assertIsInstance(link, Link)
        self.assertIs(first.linkTo(peer), link)
        for quiet, full in zip(self.quiet.nodes, self.full.nodes):
            self.assertEqual([ofLink(quiet, each) for each in quiet.linkEnds()],
                             [ofLink(full, each) for each in full.linkEnds()])
            self.assertEqual(views(quiet.overlay), views(full.overlay))
        self.assertEqual(
            [(a.host, b.host, type(a).__name__) for a, b in self.quiet.network.connections],
            [(a.host, b.host, type(a).__name__) for a, b in self.full.network.connections])

    def test_keepaliveChecksAsBuilt(self):
        """At the keepalive's time every end is checked as a link would
        be, whether made full before (half of them here) or by its check:
        the same pings, the same bytes, every end then a link."""
        for node in self.quiet.nodes[::2]:
            list(node.linkEnds())
        for sim in (self.quiet, self.full):
            sim.clock.runFor(CONFIG.ping_interval + 1)
        self.assertEqual(self.quiet.network.bytes_written,
                         self.full.network.bytes_written)
        self.assertGreater(self.full.network.bytes_written, 0)
        self.assertFalse([end for pair in self.quiet.network.connections for end in pair
                          if isinstance(end, StandIn)])
        for quiet, full in zip(self.quiet.nodes, self.full.nodes):
            self.assertEqual([ofLink(quiet, each) for each in quiet.linkEnds()],
                             [ofLink(full, each) for each in full.linkEnds()])

    def test_cutAsLinks(self):
        """A crash closes a host's quiet ends as it closes links: its peers
        lose their links to it, and the others stay quiet."""
        for sim in (self.quiet, self.full):
            sim.network.crash(sim.nodes[0].host)
            sim.clock.runFor(0)
        dead = self.quiet.nodes[0].id
        for quiet, full in zip(self.quiet.nodes, self.full.nodes):
            self.assertEqual(views(quiet.overlay), views(full.overlay))
            self.assertNotIn(dead, quiet.overlay.peersOf(OVERLAY))
        self.assertTrue([end for pair in self.quiet.network.connections for end in pair
                         if isinstance(end, StandIn)])

    def test_sameRun(self):
        """A whole run on quiet ends gives the metrics it gave on links."""
        metrics = []
        for quiet in (True, False):
            sim = Simulation(attr.evolve(CONFIG, max_time=90.0))
            if not quiet:
                sim.network.quietPair = lambda *args: None
            metrics.append(_timeless(sim.run()))
        self.assertEqual(metrics[0], metrics[1])


class OnlyPlainEndsTests(SynchronousTestCase):
    def test_aHomesEndsAreNotQuiet(self):
        """A network whose ends would be another kind (a home's router's,
        a shard's) makes no quiet ends, and takes no port for them."""

        class Homes:
            lans = ()

            def routerOf(self, host):
                return "router" if host == "home" else None

        network = MemoryNetwork()
        network.homes = Homes()

        @attr.s
        class Node:
            host = attr.ib()
            port = attr.ib(default=1)

        @attr.s
        class Overlay:
            node = attr.ib()

        self.assertIsNone(network.quietPair(Overlay(Node("home")), Overlay(Node("b")),
                                            OVERLAY))
        self.assertEqual(network.connections, [])
        self.assertEqual(network.nextAddress("home").port, 40000)
