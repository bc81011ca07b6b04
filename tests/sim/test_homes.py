"""
Simulations with nodes at home behind NAT routers (``bazaar-sim --nat``,
L{twisted_bazaar.sim.homes}).
"""

import attr
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.core.reach import PRIVATE, PUBLIC
from twisted_bazaar.sim.homes import placeHomes
from twisted_bazaar.sim.runner import SimConfig, Simulation
from twisted_bazaar.testing import MemoryNetwork
from twisted_bazaar.testing.nat import SYMMETRIC

#: A small index market, half its nodes at home.
AT_HOME = SimConfig(nodes=40, sellers=0.25, items=2, searches=30, max_time=60.0,
                    discovery="index", topology="tracker", nat=0.5)


class _Connector:
    def __init__(self, host):
        self.from_host = host


class _Node:
    def __init__(self, host):
        self.connector = _Connector(host)


class PlaceHomesTests(SynchronousTestCase):
    def test_sameSeedSameHomes(self):
        """The homes are drawn from the seed: the same seed, the same
        homes; another seed, others."""
        nodes = [_Node(f"n{index}") for index in range(200)]

        def homes(seed):
            placed = placeHomes(MemoryNetwork(), nodes, seed, 0.5, 0.5)
            return [(node.connector.from_host, placed.routerOf(node.connector.from_host))
                    for node in nodes]

        self.assertEqual(homes(1), homes(1))
        self.assertNotEqual(homes(1), homes(2))

    def test_fractionsAndPublicNodes(self):
        """About the fraction asked for is at home, about the fraction of
        their routers asked for is symmetric, and the nodes named public
        never are at home."""
        nodes = [_Node(f"n{index}") for index in range(2000)]
        public = set(nodes[:100])
        network = MemoryNetwork()
        homes = placeHomes(network, nodes, 1, 0.3, 0.25, public=public)
        self.assertIs(network.homes, homes)
        routers = [homes.routerOf(node.connector.from_host) for node in nodes]
        self.assertEqual(routers[:100], [None] * 100)
        placed = [router for router in routers if router is not None]
        self.assertLess(abs(len(placed) / 1900 - 0.3), 0.04)
        symmetric = sum(router.kind == SYMMETRIC for router in placed)
        self.assertLess(abs(symmetric / len(placed) - 0.25), 0.06)


class AtHomeRunTests(SynchronousTestCase):
    def test_nodesAtHomeArePrivate(self):
        """The tracker's check tells each node at home that it cannot be
        dialled, and where its router shows it; every other node is public."""
        sim = Simulation(AT_HOME)
        sim.build()
        sim.clock.runFor(20)
        at_home = [node for node in sim.nodes
                   if sim.homes.routerOf(node.connector.from_host) is not None]
        self.assertTrue(at_home)
        for node in sim.nodes:
            router = sim.homes.routerOf(node.connector.from_host)
            if router is None:
                self.assertEqual(node.reach.state, PUBLIC)
            else:
                self.assertEqual((node.reach.state, node.reach.seen_host),
                                 (PRIVATE, router.public))

    def test_metricsOfARunWithHomes(self):
        """A run reports its homes; the sellers at home sell through the
        public nodes' relays, whose bytes the run counts apart from the
        tracker's relay's, and every purchase is made."""
        metrics = Simulation(AT_HOME).run()
        nat = metrics["nat"]
        self.assertTrue(0 < nat["homes"] < AT_HOME.nodes)
        self.assertGreater(nat["sellers_at_home"], 0)
        self.assertGreater(nat["sold_from_home"], 0)
        self.assertGreater(nat["peer_relayed_bytes"], 0)
        self.assertEqual(nat["peer_reservations"], nat["homes"])
        self.assertGreater(nat["peer_relays"], 1)
        self.assertGreaterEqual(nat["relayed_bytes"], 0)
        self.assertEqual(nat["sold"], AT_HOME.searches)
        self.assertEqual(metrics["success_rate"], 1.0)
        self.assertEqual(metrics["config"]["nat"], 0.5)

    def test_noHomesNoMetrics(self):
        """A run without --nat reports no homes."""
        metrics = Simulation(attr.evolve(AT_HOME, nat=0.0)).run()
        self.assertNotIn("nat", metrics)

    def test_warmStartRefused(self):
        """A warm start places its links without dialling: --nat wants a
        cold start, and says so."""
        with self.assertRaises(ValueError) as caught:
            Simulation(attr.evolve(AT_HOME, topology="random", discovery="flood",
                                   start="warm"))
        self.assertIn("--start cold", str(caught.exception))
