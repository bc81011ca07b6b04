"""
Tests for L{twisted_bazaar.sim.warm} and ``--start warm``: a small warm
market is the state a cold run of the same seed converges to (the same
nodes, links, tracker table, index contents, ring), built without a
message, and its searches succeed through the nodes' own code.
"""

import gc
import random

import attr
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.core.records import recordFault
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.net.overlay import Overlay
from twisted_bazaar.schemes.chord.invariants import violations
from twisted_bazaar.schemes.chord.ring import keyOf, place
from twisted_bazaar.schemes.superpeer.messages import LEAF, SUPER
from twisted_bazaar.sim import warm
from twisted_bazaar.sim.runner import SimConfig, Simulation

SMALL = SimConfig(nodes=40, sellers=0.15, items=2, searches=30, max_time=60.0)


def built(config, seconds=0.0):
    """A simulation of config, built and run for seconds, no buyer yet."""
    sim = Simulation(config)
    sim.build()
    sim.clock.runFor(seconds)
    return sim


def links(node, purposes=None):
    """peer -> purpose of node's established links (of those purposes)."""
    return {peer: link.purpose for peer, link in node.links.items()
            if purposes is None or link.purpose in purposes}


def sent(sim):
    """Every message the run's nodes and tracker sent, by type."""
    total = dict(sim.stats)
    for stats in sim.node_stats.values():
        for kind, count in stats.items():
            total[kind] = total.get(kind, 0) + count
    return total


class EstablishTests(SynchronousTestCase):
    """A warm link is what a handshake leaves, at both ends."""

    def setUp(self):
        self.cold = built(attr.evolve(SMALL, nodes=12), SMALL.warmup / 2)
        self.warm = built(attr.evolve(SMALL, nodes=12, start="warm"))

    def test_sameLinks(self):
        for cold, hot in zip(self.cold.nodes, self.warm.nodes):
            self.assertEqual((hot.id, links(hot)), (cold.id, links(cold)))

    def test_likeAHandshake(self):
        for cold, hot in zip(self.cold.nodes, self.warm.nodes):
            for peer, link in hot.links.items():
                other = cold.links[peer]
                self.assertEqual(
                    (link.peer_id, link.inbound, link.idle_timeout,
                     hot.isProven(link), hot.overlay.addresses[peer],
                     hot.pathTo(peer), hot.overlay.connectedAt(link) is not None,
                     link in hot.overlay.greeter.handshakes),
                    (other.peer_id, other.inbound, other.idle_timeout,
                     cold.isProven(other), cold.overlay.addresses[peer],
                     cold.pathTo(peer), cold.overlay.connectedAt(other) is not None,
                     other in cold.overlay.greeter.handshakes))
                # Its one deadline is the keepalive check, not a handshake's.
                self.assertIsInstance(link.nextCheck, float)

    def test_addressesShared(self):
        """Every peer of a warm node notes it by one (host, port) tuple,
        the network's key of the node's listening port, and every warm
        link comes from its opener's listening address: no address object
        of their own for the links of a large run."""
        noted = {}
        network = self.warm.network
        for node in self.warm.nodes:
            listening = (node.host, node.port)
            for peer, link in node.links.items():
                address = node.overlay.addresses[peer]
                self.assertIs(noted.setdefault(peer, address), address)
                self.assertIs(address, network.where(*address))
                if not link.inbound:
                    here = link.transport.getHost()
                    self.assertEqual((here.host, here.port), listening)
        self.assertEqual(len(noted), len(self.warm.nodes))

    def test_nothingSent(self):
        self.assertEqual(sent(self.warm), {})
        self.assertEqual(self.warm.network.bytes_written, 0)
        self.assertEqual(len(self.warm.network.connections), self.warm.metrics(0)["edges"])

    def test_linksCarryMessages(self):
        """Both ends of a warm link read what the other sends: the link
        answers a ping."""
        node = self.warm.nodes[0]
        link = next(iter(node.links.values()))
        answered = []
        link.ping().addCallback(answered.append)
        self.warm.clock.runFor(1)
        self.assertEqual(answered, [None])


class TrackerTests(SynchronousTestCase):
    """The index scheme: the tracker's table and item index as a cold
    start's registrations leave them."""

    def setUp(self):
        config = attr.evolve(SMALL, discovery="index")
        self.cold = built(config, SMALL.warmup / 2)
        self.warm = built(attr.evolve(config, start="warm"), 1.0)

    def test_sameTable(self):
        cold, hot = self.cold.market.tracker.registry, self.warm.market.tracker.registry
        self.assertEqual(hot.nodes, cold.nodes)
        self.assertEqual(hot.verified, cold.verified)
        self.assertEqual(hot.abilities, cold.abilities)
        hotKeys, coldKeys = self.warm.market.tracker.proofs, self.cold.market.tracker.proofs
        self.assertEqual({node: hotKeys.keyOf(node) for node in hot.nodes},
                         {node: coldKeys.keyOf(node) for node in cold.nodes})

    def test_sessionsRegistered(self):
        for node in self.warm.nodes:
            self.assertTrue(node.membership.isRegistered)
            self.assertEqual(node.membership.link.peer_id, "tracker")
        tracker = self.warm.market.tracker
        self.assertEqual(sorted(tracker.links), sorted(node.id for node in self.warm.nodes))

    def test_sameIndex(self):
        def contents(sim):
            index = sim.market.tracker.extensions["index"].index
            return {node.id: index.items(node.id) for node in sim.nodes}

        self.assertEqual(contents(self.warm), contents(self.cold))
        self.assertTrue(any(contents(self.warm).values()))

    def test_onlyTheSellersRegistersSent(self):
        """Registering the nodes sends nothing; the sellers' registers of
        their items are the scheme's own, with their acks."""
        sellers = len(self.warm.sellers)
        self.assertEqual(sent(self.warm), {"register": sellers, "ack": sellers})


class SuperPeerTests(SynchronousTestCase):
    def setUp(self):
        self.config = attr.evolve(SMALL, nodes=60, discovery="superpeer",
                                  superpeers=0.1, start="warm")
        self.sim = built(self.config)

    def test_leavesRegistered(self):
        """Each leaf has two super-peers, each of which lists the leaf's
        whole inventory, its address checked, if it has anything to list;
        a leaf with nothing is linked and registered nowhere, as a cold
        one is; nothing was sent."""
        sim = self.sim
        by_id = {node.id: node for node in sim.nodes}
        kinds = set()
        for leaf in sim.nodes:
            if leaf in sim.superpeers:
                continue
            mine = links(leaf, (LEAF,))
            self.assertEqual(len(mine), 2)
            side = leaf.discovery.side
            stock = side.inventory()
            kinds.add(bool(stock))
            self.assertEqual(side.serving(), set(mine))
            self.assertEqual(side.registered, set(mine) if stock else set())
            for peer in mine:
                index = by_id[peer].discovery.side.index
                if not stock:
                    self.assertNotIn(leaf.id, index)
                    continue
                self.assertEqual(index.items(leaf.id), stock)
                self.assertTrue(index.listed(leaf.id))
                self.assertEqual(index.address(leaf.id), (leaf.host, leaf.port))
        self.assertEqual(kinds, {True, False})
        self.assertEqual(sent(sim), {})

    def test_theBuildHandsOutNoLink(self):
        """Indexing a leaf at its super-peer counts it against its host's
        address group, not its link's: the build hands out no link
        (issue 95: a quiet link may be less than a link until a part takes
        one), and the groups are those of the links (a leaf's link comes
        from the address it listens at)."""
        handed = []
        linkTo, linkEnds = Overlay.linkTo, Overlay.linkEnds

        def handing(view):
            def handOut(overlay, *args):
                handed.append(view.__name__)
                return view(overlay, *args)
            return handOut

        self.patch(Overlay, "linkTo", handing(linkTo))
        self.patch(Overlay, "linkEnds", handing(linkEnds))
        built(self.config)
        self.assertEqual(handed, [])
        groups = 0
        for superpeer in self.sim.superpeers:
            index = superpeer.discovery.side.index
            for leaf_id in superpeer.peersOf(LEAF):
                if leaf_id in index:
                    groups += 1
                    self.assertEqual(index.group(leaf_id),
                                     groupOf(linkTo(superpeer.overlay, leaf_id)))
        self.assertGreater(groups, 0)

    def test_superPeersAlongTheGraph(self):
        supers = [node for node in self.sim.nodes if node in self.sim.superpeers]
        self.assertEqual(len(supers), 6)
        for node in supers:
            self.assertTrue(links(node, (SUPER,)))
            self.assertTrue(node.discovery.topology.running)

    def test_sameNodesAndRolesAsCold(self):
        cold = built(attr.evolve(self.config, start="cold"), SMALL.warmup / 2)
        self.assertEqual([node.id for node in self.sim.nodes],
                         [node.id for node in cold.nodes])
        self.assertEqual(sorted(node.id for node in self.sim.sellers),
                         sorted(node.id for node in cold.sellers))
        self.assertEqual(self.sim.market.tracker.registry.nodes,
                         cold.market.tracker.registry.nodes)

        def indexed(sim):
            """leaf -> (super-peers serving it, those holding its entries),
            counted (the super-peers drawn differ)."""
            supers = [node.discovery.side.index for node in sim.superpeers]
            return {leaf.id: (len(leaf.discovery.side.serving()),
                              sum(leaf.id in index for index in supers))
                    for leaf in sim.nodes if leaf not in sim.superpeers}

        self.assertEqual(indexed(self.sim), indexed(cold))

    def test_spread(self):
        """Leaves are drawn among super-peers with room."""
        leaves = list(range(100))
        chosen = warm.assignLeaves(leaves, ["a", "b", "c"], 2, 70, random.Random(1))
        load = {}
        for picks in chosen.values():
            self.assertEqual(len(set(picks)), 2)
            for pick in picks:
                load[pick] = load.get(pick, 0) + 1
        self.assertEqual(sum(load.values()), 200)
        self.assertLessEqual(max(load.values()), 70)


class ChordTests(SynchronousTestCase):
    def test_sameRingAsCold(self):
        """A cold ring, once it has settled, has the successors,
        predecessors and fingers a warm one starts with, and the same
        records once the sellers have stored them."""
        config = attr.evolve(SMALL, nodes=16, discovery="chord", searches=0)
        cold = built(config, 90.0)
        hot = built(attr.evolve(config, start="warm"), 5.0)

        def ring(sim):
            return {node.id: ([peer.id for peer in node.discovery.ring.successors],
                              node.discovery.ring.predecessor.id,
                              [peer and peer.id for peer in node.discovery.ring.fingers])
                    for node in sim.nodes}

        def records(sim):
            now = sim.clock.seconds()
            return {node.id: sorted((record.item, record.seller)
                                    for record in node.discovery.records.records(now))
                    for node in sim.nodes}

        self.assertEqual(violations([node.discovery for node in cold.nodes]), [])
        self.assertEqual(ring(hot), ring(cold))
        self.assertEqual(records(hot), records(cold))
        self.assertEqual(violations([node.discovery for node in hot.nodes],
                                    [(item, seller) for node in hot.nodes
                                     for item, seller in records(hot)[node.id]]), [])

    def test_recordsAtTheirHoldersAtOnce(self):
        """At time 0, before any message, each seller's record is held
        where a store at time 0 and the holders' copies leave it: by the
        node that holds the item's key and its successors, signed by the
        seller, for a store's whole lifetime; the seller's next store is
        a refresh period away."""
        sim = built(attr.evolve(SMALL, nodes=16, discovery="chord", searches=0, stock=5,
                                start="warm"), 0.0)
        ring = sorted(sim.nodes, key=lambda node: place(node.id))
        expected = {node.id: set() for node in sim.nodes}
        for seller_node in sim.sellers:
            for item in sim.initial_stock[seller_node]:
                holder = next((node for node in ring if place(node.id) >= keyOf(item)),
                              ring[0])
                for node in [holder] + list(holder.discovery.ring.successors):
                    expected[node.id].add((item, seller_node.id))
        self.assertTrue(any(expected.values()))
        settings = sim.nodes[0].discovery.settings
        for node in sim.nodes:
            held = node.discovery.records.records(0.0)
            self.assertEqual({(each.item, each.seller) for each in held},
                             expected[node.id])
            for each in held:
                self.assertEqual(each.expires, settings.expiry)
                self.assertIsNone(recordFault(each.record, 0.0, each.seller, each.item))
        self.assertNotIn("chordStore", sent(sim))
        sim.clock.runFor(settings.refresh - 0.5)
        self.assertNotIn("chordStore", sent(sim))
        sim.clock.runFor(1.0)
        self.assertIn("chordStore", sent(sim))

    def test_findsSellersWithoutAStore(self):
        """A request for sellers at time 0 finds every seller of the item,
        and no store was sent for it."""
        sim = built(attr.evolve(SMALL, nodes=16, discovery="chord", searches=0, stock=5,
                                start="warm"), 0.0)
        seller_node = next(iter(sim.sellers))
        item = next(iter(sim.initial_stock[seller_node]))
        sellers = {node.id for node in sim.sellers if item in sim.initial_stock[node]}
        asker = next(node for node in sim.nodes if node not in sim.sellers)
        answers = []
        asker.discovery.request(item).addCallback(answers.append)
        sim.clock.runFor(5.0)
        self.assertEqual({record.seller for record in answers[0].sellers}, sellers)
        self.assertNotIn("chordStore", sent(sim))
        self.assertNotIn("chordStored", sent(sim))

    def test_adversariesLeaveTheStoresToTheRing(self):
        """With adversaries, whose lies on a store's way decide where its
        record goes, nothing is placed: the sellers store at time 0, as
        in a cold start."""
        sim = built(attr.evolve(SMALL, nodes=40, discovery="chord", searches=0, stock=5,
                                start="warm", adversaries=0.1,
                                adversary=("misroute",)), 0.0)
        self.assertEqual([node for node in sim.nodes if len(node.discovery.records)], [])
        self.assertIn("chordStore", sent(sim))

    def test_peersShared(self):
        """A warm ring's tables name each node by one shared L{Peer}: the
        many finger entries of a node that name one peer cost nothing
        more."""
        sim = built(attr.evolve(SMALL, nodes=16, discovery="chord", searches=0,
                                start="warm"), 0.0)
        named = {}
        for node in sim.nodes:
            ring = node.discovery.ring
            for peer in ring.successors + [ring.predecessor] + list(ring.fingers):
                if peer is not None:
                    self.assertIs(named.setdefault(peer.id, peer), peer)
        self.assertEqual(len(named), len(sim.nodes))

    def test_ringTables(self):
        ids = [10, 20, 30, 40]
        successors, predecessor, fingers = warm.ringTables(ids, 2)[0]
        self.assertEqual((successors, predecessor), ([20, 30], 40))
        # Finger i of 10 is the first id at or after 10 + 2**i, round the
        # ring: past 40, 10 itself (None).
        # As runs: fingers 0 to 3 are 20, 4 is 30, and the rest None.
        self.assertEqual(fingers, [(0, 20), (4, 30), (5, None)])

    def test_ringPairsOncePerPair(self):
        ids = [10, 20, 30, 40]
        pairs = list(warm.ringPairs(ids, warm.ringTables(ids, 2)))
        self.assertEqual(len({frozenset(pair) for pair in pairs}), len(pairs))
        self.assertEqual(sorted(map(frozenset, pairs)), sorted(
            frozenset(pair) for pair in [(10, 20), (10, 30), (10, 40), (20, 30), (20, 40),
                                         (30, 40)]))

    def test_ringPairsLinkNeighboursNotFingers(self):
        """Each node to its successors (and so its predecessor), never to
        a finger that is neither: 50 is a finger of 10, and unlinked."""
        ids = [10, 20, 30, 40, 50, 60, 70, 80]
        tables = warm.ringTables(ids, 2)
        self.assertIn((5, 50), tables[0][2])
        pairs = {frozenset(pair) for pair in warm.ringPairs(ids, tables)}
        self.assertEqual(pairs, {frozenset((ids[i], ids[(i + step) % 8]))
                                 for i in range(8) for step in (1, 2)})


class RunTests(SynchronousTestCase):
    """A warm market trades through the nodes' own code."""

    def test_everySchemeSells(self):
        for discovery in ("flood", "index", "superpeer", "chord"):
            config = attr.evolve(SMALL, discovery=discovery, start="warm", ttl=12)
            metrics = Simulation(config).run()
            where = f"warm {discovery}"
            self.assertEqual(metrics["success_rate"], 1.0, where)
            self.assertEqual(metrics["double_sells"], 0, where)
            self.assertEqual(metrics["config"]["start"], "warm", where)

    def test_repeats(self):
        config = attr.evolve(SMALL, discovery="superpeer", start="warm")
        first, second = Simulation(config).run(), Simulation(config).run()
        for metrics in (first, second):
            del metrics["wall_s"], metrics["peak_rss_mb"]
        self.assertEqual(first, second)

    def test_killSilencesTheNode(self):
        """A warm market node killed mid-run runs nothing it scheduled."""
        config = attr.evolve(SMALL, discovery="superpeer", start="warm", kill=0.2)
        sim = Simulation(config)
        metrics = sim.run()
        self.assertEqual(metrics["killed"], 8)
        self.assertEqual(metrics["double_sells"], 0)
        for node in sim.killed:
            self.assertTrue(node.clock.stopped)
            self.assertEqual(node.links, {})

    def test_coldByDefault(self):
        self.assertEqual(SimConfig().start, "cold")

    def test_trackerTopologyRefused(self):
        with self.assertRaises(ValueError) as caught:
            Simulation(attr.evolve(SMALL, topology="tracker", start="warm"))
        self.assertIn("--start warm", str(caught.exception))

    def test_collectorLeftAsFound(self):
        """The build's objects are frozen for the run only."""
        Simulation(attr.evolve(SMALL, nodes=10, searches=2, start="warm")).run()
        self.assertEqual(gc.get_freeze_count(), 0)
        self.assertTrue(gc.isenabled())
