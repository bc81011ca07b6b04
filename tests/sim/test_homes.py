"""
Simulations with nodes at home behind NAT routers (``bazaar-sim --nat``,
L{twisted_bazaar.sim.homes}).
"""

import random

import attr
from twisted.internet import error
from twisted.internet.protocol import Protocol
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach.dialer import Peer
from twisted_bazaar.reach.reachable.reachability import PRIVATE, PUBLIC
from twisted_bazaar.sim.clock import HeapClock
from twisted_bazaar.sim.homes import pathOf, placeHomes
from twisted_bazaar.sim.punches import plugPunching
from twisted_bazaar.sim.runner import SimConfig, Simulation
from twisted_bazaar.testing import Market, MemoryNetwork
from twisted_bazaar.testing.nat import SYMMETRIC, Homes, Router
from twisted_bazaar.transports.relay.limits import NODE_LIMITS, RelayLimits

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


    def test_sharedHomes(self):
        """With a home size, the same nodes are at home as without, the
        next ones sharing a router, each at a local address of its own on
        its home's subnet; without, no node has a local address."""
        nodes = [_Node(f"n{index}") for index in range(300)]
        single = placeHomes(MemoryNetwork(), nodes, 1, 0.5, 0.5)
        shared = placeHomes(MemoryNetwork(), nodes, 1, 0.5, 0.5, home_size=3)
        hosts = [node.connector.from_host for node in nodes]
        at_home = [host for host in hosts if single.routerOf(host) is not None]
        self.assertEqual([host for host in hosts if shared.routerOf(host) is not None],
                         at_home)
        self.assertFalse(single.lans)
        self.assertEqual({single.lanOf(host) for host in hosts}, {None})
        for first in range(0, len(at_home), 3):
            home = at_home[first:first + 3]
            self.assertEqual(len({shared.routerOf(host) for host in home}), 1)
            self.assertEqual(shared.routerOf(home[0]), single.routerOf(home[0]))
            addresses = [shared.lanOf(host) for host in home]
            self.assertEqual(len(set(addresses)), len(home))
            self.assertEqual({address.rsplit(".", 1)[0] for address in addresses},
                             {f"192.168.{first // 3 % 256}"})
        self.assertEqual(len({shared.routerOf(host) for host in at_home}),
                         -(-len(at_home) // 3))


class SharedLanTradeTests(SynchronousTestCase):
    """
    A buyer and a seller of one home, behind a router that does not
    hairpin and whose symmetric mapping defeats punches, with the tracker's
    relay and a public node's: with local addresses, they trade over their
    LAN, the relays carrying none of it; without, through a relay.
    """

    def trade(self, lan):
        """The market after the trade: with local addresses (lan) or not."""
        network = MemoryNetwork(HeapClock(), random.Random(1), latency=(0.01, 0.01))
        market = Market(network, seed=1, relay=RelayLimits(), node_relay=NODE_LIMITS)
        public = market.addNode(discovery="index")
        seller = market.addNode(discovery="index", seller={"stock": {"apple": 3}})
        buyer = market.addNode(discovery="index", buyer={"wants": ["apple"]})
        other = market.addNode(discovery="index")
        homes = network.homes = Homes(random.Random(2))
        home = Router("router1", SYMMETRIC)
        homes.place(seller.connector.from_host, home, "192.168.1.2" if lan else None)
        homes.place(buyer.connector.from_host, home, "192.168.1.3" if lan else None)
        homes.place(other.connector.from_host, Router("router2"),
                    "192.168.1.9" if lan else None)
        plugPunching(network, [public, seller, buyer, other])
        market.run(30)
        self.assertEqual(len(market.role(buyer, "buyer").bag), 1)
        return market, public, seller, buyer, other

    def test_overTheLan(self):
        """Each tells the tracker its local address; the buyer's link to
        the seller is over the LAN, and neither relay carried a byte."""
        market, public, seller, buyer, other = self.trade(lan=True)
        self.assertEqual((seller.whereabouts.lan.own, buyer.whereabouts.lan.own),
                         (("192.168.1.2",), ("192.168.1.3",)))
        self.assertEqual([pathOf(link) for link in buyer.links.values()], ["lan"])
        self.assertEqual(market.tracker.relay.relayed, 0)
        self.assertEqual(market.relayOf(public).relayed, 0)

    def test_aConnectionOfItsOwnOverTheLan(self):
        """A connection of the buyer's own protocol to the seller (a file
        transfer's) goes to the seller's local address, through the
        dialer's Lan candidate and the punching's one-sided dial, over the
        LAN."""
        market, public, seller, buyer, other = self.trade(lan=True)
        peer = Peer(seller.id, "router1", seller.port, relay="tracker:7701",
                    key=seller.identity.key)
        d = buyer.dialer.dial(peer, "files", Protocol)
        market.run(1)
        connected = self.successResultOf(d)
        self.assertTrue(connected.transport.lan)
        self.assertEqual(connected.transport.getPeer().host,
                         seller.connector.from_host)

    def test_anotherHomeCannotDialTheLan(self):
        """A node of another home dialling the seller's local address
        reaches nothing: that address is not on its LAN."""
        market, public, seller, buyer, other = self.trade(lan=True)
        d = market.network.connect("192.168.1.2", seller.port, Protocol(),
                                   from_host=other.connector.from_host)
        market.run(10)
        failure = self.failureResultOf(d, error.TimeoutError)
        self.assertIn("no host at that local address", failure.getErrorMessage())

    def test_withoutLocalAddressesThroughARelay(self):
        """The same home without local addresses (a simulation before
        shared LANs): the buy went through a relay, which carried it."""
        market, public, seller, buyer, other = self.trade(lan=False)
        self.assertEqual(buyer.whereabouts.lan.own, ())
        self.assertEqual([pathOf(link) for link in buyer.links.values()], ["relayed"])
        self.assertGreater(market.tracker.relay.relayed + market.relayOf(public).relayed,
                           0)


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

    def test_sharedLansRun(self):
        """A run whose nodes at home share homes (``--home-size``): the
        same seed, the same figures; some units are bought over a LAN, and
        no two nodes of one home hold a link other than over their LAN;
        the units are counted by the way they came."""
        config = attr.evolve(AT_HOME, home_size=6, nat_symmetric=1.0, items=1)
        sim = Simulation(config)
        metrics = sim.run()
        again = Simulation(config).run()
        for run in (metrics, again):
            run.pop("wall_s")
            run.pop("peak_rss_mb")
        self.assertEqual(metrics, again)
        nat = metrics["nat"]
        self.assertEqual(nat["homes"], -(-nat["nodes_at_home"] // 6))
        self.assertGreater(nat["bought_by_path"]["lan"], 0)
        self.assertEqual(sum(nat["bought_by_path"].values()), metrics["purchases"])
        self.assertEqual(metrics["success_rate"], 1.0)
        routerOf = sim.homes.routerOf
        housemates = [
            link for node in sim.nodes for link in node.links.values()
            if routerOf(node.connector.from_host) is not None
            and routerOf(node.connector.from_host) is routerOf(
                link.transport.getPeer().host)]
        self.assertTrue(housemates)
        self.assertEqual({pathOf(link) for link in housemates}, {"lan"})

    def test_homeSizeRefusals(self):
        """A home size needs --nat, and fits a home's /24: each refusal
        says why."""
        for config, words in ((attr.evolve(AT_HOME, nat=0.0, home_size=2), "--nat"),
                              (attr.evolve(AT_HOME, home_size=254), "between 1 and 253"),
                              (attr.evolve(AT_HOME, home_size=0), "between 1 and 253")):
            with self.assertRaises(ValueError) as caught:
                Simulation(config)
            self.assertIn(words, str(caught.exception))

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
