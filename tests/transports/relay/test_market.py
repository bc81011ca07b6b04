"""
A market on the in-memory network whose seller and buyer sit at homes
behind routers (L{twisted_bazaar.testing.nat}; the seller's keeps ports,
the buyer's draws them): the tracker cannot dial them, they reserve at
its relay, and the buyer buys from the seller through it, with the same
code the daemons run.
"""

import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.testing.market import RELAY_PORT, Market
from twisted_bazaar.testing.memory import MemoryNetwork
from twisted_bazaar.testing.nat import KEEPS_PORTS, SYMMETRIC, Homes, Router
from twisted_bazaar.transports.relay.limits import RelayLimits


class HiddenMarketTests(SynchronousTestCase):
    def buyAcrossNAT(self, discovery, relay=RelayLimits(), **public):
        network = MemoryNetwork(rng=random.Random(0))
        network.homes = Homes(random.Random(1))
        network.homes.place("homeA", Router("203.0.113.7", KEEPS_PORTS))
        network.homes.place("homeB", Router("203.0.113.8", SYMMETRIC))
        market = Market(network, relay=relay)
        if public:
            market.addNode(discovery=discovery, host="public", **public)
        seller = market.addNode(discovery=discovery, host="homeA",
                                seller={"stock": {"pear": 1}})
        market.run(5)
        buyer = market.addNode(discovery=discovery, host="homeB",
                               buyer={"wants": ["pear"]})
        market.run(15)
        return market, seller, buyer

    def bought(self, market, buyer):
        return [p.item for p in market.role(buyer, "buyer").bag]

    def test_flood(self):
        """The seller at home holds a reservation and advertises it; the
        buyer at home buys from it through the relay."""
        market, seller, buyer = self.buyAcrossNAT("flood")
        self.assertEqual(seller.relay, f"tracker:{RELAY_PORT}")
        self.assertEqual(self.bought(market, buyer), ["pear"])
        self.assertGreater(market.tracker.relay.relayed, 0)

    def test_index(self):
        market, seller, buyer = self.buyAcrossNAT("index")
        self.assertEqual(self.bought(market, buyer), ["pear"])

    def test_superpeer(self):
        """The leaf at home registers with a public super-peer, which
        checks it through the relay."""
        market, seller, buyer = self.buyAcrossNAT("superpeer",
                                                  scheme={"super": True})
        self.assertEqual(self.bought(market, buyer), ["pear"])

    def test_chord(self):
        market, seller, buyer = self.buyAcrossNAT("chord")
        self.assertEqual(self.bought(market, buyer), ["pear"])

    def test_withoutARelay(self):
        """Without the relay nobody reaches the seller at home (the case
        the relay is for): the buyer buys nothing."""
        market, seller, buyer = self.buyAcrossNAT("index", relay=RelayLimits(
            reservations=0))
        self.assertIsNone(seller.relay)
        self.assertEqual(self.bought(market, buyer), [])
