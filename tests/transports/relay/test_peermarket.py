"""
A market on the in-memory network where public nodes relay too: a
seller at home reserves at the public node's relay the tracker names
(not at the tracker's), the buyer at another home buys through it, and
when that relay goes, the seller reserves elsewhere and advertises that.
"""

import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.testing.market import RELAY_PORT, Market
from twisted_bazaar.tracker.reserving import MOVED_GRACE
from twisted_bazaar.testing.memory import MemoryNetwork
from twisted_bazaar.testing.nat import KEEPS_PORTS, SYMMETRIC, Homes, Router
from twisted_bazaar.transports.relay.limits import NODE_LIMITS, RelayLimits
from twisted_bazaar.reach.reachable.reservation import RETRY_FIRST
from twisted_bazaar.testing.linking import linkAt


def homesMarket(node_relay=NODE_LIMITS, publics=1, homes=1):
    """A market with a tracker relay, ``publics`` public nodes (hosts
    public0...) and ``homes`` routers (home0..., keeping ports) besides
    home B's symmetric one."""
    network = MemoryNetwork(rng=random.Random(0))
    network.homes = Homes(random.Random(1))
    for index in range(homes):
        network.homes.place(f"home{index}", Router(f"203.0.113.{index + 10}",
                                                   KEEPS_PORTS))
    network.homes.place("homeB", Router("203.0.113.8", SYMMETRIC))
    market = Market(network, relay=RelayLimits(), node_relay=node_relay)
    public = [market.addNode(discovery="index", host=f"public{index}")
              for index in range(publics)]
    market.run(3)
    return market, public


class PeerRelayMarketTests(SynchronousTestCase):
    def test_buyThroughAPublicNode(self):
        """The seller at home holds its reservation at the public node's
        relay and advertises it; the buyer at the other home buys through
        it; the tracker's relay carries nothing."""
        market, [public] = homesMarket()
        seller = market.addNode(discovery="index", host="home0",
                                seller={"stock": {"pear": 1}})
        market.run(5)
        self.assertEqual(seller.relay, f"public0:{market.relayOf(public).port}")
        self.assertTrue(market.relayOf(public).holds(seller.id))
        self.assertEqual(market.tracker.registry.relayOf(seller.id), seller.relay)
        buyer = market.addNode(discovery="index", host="homeB",
                               buyer={"wants": ["pear"]})
        market.run(15)
        self.assertEqual([p.item for p in market.role(buyer, "buyer").bag], ["pear"])
        self.assertGreater(market.relayOf(public).relayed, 0)
        self.assertEqual(market.tracker.relay.relayed, 0)

    def test_spread(self):
        """Nodes at home spread over the public relays: each holds as
        many as the next, give or take one.  (The six homes' routers are
        of one address group, which the tracker names relays to four at a
        time before they confirm: the other two are held at its own relay
        until they ask again, RETRY_FIRST later.)"""
        market, public = homesMarket(publics=3, homes=6)
        for index in range(6):
            market.addNode(discovery="index", host=f"home{index}")
        market.run(5)
        self.assertEqual(sum(market.relayOf(node).reservations.used for node in public), 4)
        market.run(RETRY_FIRST)
        self.assertEqual(sorted(market.relayOf(node).reservations.used for node in public),
                         [2, 2, 2])

    def test_lastResort(self):
        """With no public node's relay left with room, the tracker's relay
        holds the reservation."""
        market, [public] = homesMarket(
            node_relay=RelayLimits(reservations=1, group_reservations=1), homes=2)
        first = market.addNode(discovery="index", host="home0")
        market.run(5)
        second = market.addNode(discovery="index", host="home1")
        market.run(5)
        self.assertEqual(first.relay, f"public0:{market.relayOf(public).port}")
        self.assertEqual(second.relay, f"tracker:{RELAY_PORT}")

    def test_relayGoes(self):
        """A relaying node that goes makes its nodes reserve elsewhere
        (here the tracker's relay, the one left) and advertise that; the
        tracker names them with it."""
        market, [public] = homesMarket()
        seller = market.addNode(discovery="index", host="home0",
                                seller={"stock": {"pear": 1}})
        market.run(5)
        self.assertEqual(seller.relay, f"public0:{market.relayOf(public).port}")
        market.crash(public)
        market.run(10)
        self.assertEqual(seller.relay, f"tracker:{RELAY_PORT}")
        self.assertEqual(market.tracker.registry.relayOf(seller.id), seller.relay)
        buyer = market.addNode(discovery="index", host="homeB",
                               buyer={"wants": ["pear"]})
        market.run(15)
        self.assertEqual([p.item for p in market.role(buyer, "buyer").bag], ["pear"])

    def test_nodeAtHomeOffersNothing(self):
        """A node found unreachable never offers its relay: the tracker
        names none of them."""
        market, _ = homesMarket(publics=0, homes=2)
        for index in range(2):
            market.addNode(discovery="index", host=f"home{index}")
        market.run(5)
        self.assertEqual(len(market.tracker.relays), 0)

    def test_movesOffTheLastResort(self):
        """A node that reserved at the tracker's relay before any public
        node offered one moves to a public node's relay when it asks again
        (RETRY_FIRST later), and the tracker's relay lets it go."""
        market, _ = homesMarket(publics=0)
        seller = market.addNode(discovery="index", host="home0")
        market.run(3)
        self.assertEqual(seller.relay, f"tracker:{RELAY_PORT}")
        public = market.addNode(discovery="index", host="public0")
        market.run(RETRY_FIRST)
        self.assertEqual(seller.relay, f"public0:{market.relayOf(public).port}")
        self.assertEqual(market.tracker.registry.relayOf(seller.id), seller.relay)
        # A dialler that still knows the tracker's relay reaches it there a
        # while longer; then the tracker's relay lets go.
        buyer = market.addNode(discovery="index", host="homeB")
        market.run(1)
        buyer.noteRelay(seller.id, f"tracker:{RELAY_PORT}")
        reached = []
        linkAt(buyer, "home0", seller.port, seller.id).addBoth(reached.append)
        market.run(2)
        self.assertEqual(reached, [seller.id])
        self.assertTrue(market.tracker.relay.holds(seller.id))
        market.run(MOVED_GRACE)
        self.assertFalse(market.tracker.relay.holds(seller.id))

    def test_stoppedCleanly(self):
        """A relaying node that stops closes its relay's port (its nodes
        at home reserve elsewhere) and leaves nothing behind."""
        market, [public] = homesMarket()
        seller = market.addNode(discovery="index", host="home0")
        market.run(5)
        port = market.relayOf(public).port
        self.assertEqual(seller.relay, f"public0:{port}")
        market.stop(public)
        self.assertEqual(market.relayOf(public).port, 0)
        self.assertEqual(market.leftovers(public), {"delayed_calls": [],
                                                    "connections": []})
        self.assertEqual(seller.relay, f"tracker:{RELAY_PORT}")
