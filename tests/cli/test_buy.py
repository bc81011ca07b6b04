"""
Tests of L{twisted_bazaar.cli.buy} (``bazaar buy``) and the buyer's
C{exit_when_done}, in a L{Market}: real nodes and tracker on the
in-memory network.
"""

import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.wire.ids import shortId, wireId
from twisted_bazaar.cli.buy import OneShotBuy, renderBuy
from twisted_bazaar.status.client import ClientError
from twisted_bazaar.testing import Market
from twisted_bazaar.testing.market import NodeClock
from twisted_bazaar.testing.memory import (
    MemoryClientEndpoint,
    MemoryConnector,
    MemoryServerEndpoint,
)
from twisted_bazaar.tracker import DEFAULT_TRACKER_PORT


class ExitWhenDoneTests(SynchronousTestCase):
    def test_stopsOnceEveryWantIsMet(self):
        """A buyer told to exit when done stops its node, in order, once it
        has bought every unit; a buyer without it stays up."""
        market = Market(seed=4)
        market.addNode(seller={"stock": {"apple": 5}})
        leaving = market.addNode(buyer={"wants": ["apple"], "quantity": 2,
                                        "exit_when_done": True})
        staying = market.addNode(buyer={"wants": ["apple"]})
        market.run(30)
        self.assertEqual(len(market.role(leaving, "buyer").bag), 2)
        self.assertNotIn(leaving, market.nodes)
        self.assertIn(staying, market.nodes)
        self.assertTrue(market.role(staying, "buyer").satisfied)
        self.assertTrue(market.stopped[leaving].called)
        self.assertEqual(market.leftovers(leaving),
                         {"delayed_calls": [], "connections": []})


class OneShotBuyTests(SynchronousTestCase):
    def setUp(self):
        self.market = Market(seed=7)

    def oneShot(self, item="apple", quantity=1, deadline=20.0, tracker_port=None):
        network = self.market.network
        host = "shopper"
        # Seeded: the jitter of its search backoff decides how many searches
        # fit before a deadline (test_nothingOnSale).
        buy = OneShotBuy(
            NodeClock(self.market.clock), MemoryConnector(network, host),
            MemoryServerEndpoint(network, host),
            MemoryClientEndpoint(network, host, self.market.tracker_host,
                                 tracker_port or DEFAULT_TRACKER_PORT),
            "tracker:7700", item, quantity, deadline, rng=random.Random(1))
        outcome = []
        buy.run().addBoth(outcome.append)
        return buy, outcome

    def assertNothingLeft(self, buy):
        """The one-shot buyer's node is stopped, with no timer and no
        connection left."""
        self.assertFalse(buy.service.running)
        self.assertEqual(buy.clock.getDelayedCalls(), [])
        self.assertEqual([end for pair in self.market.network.connections
                          for end in pair
                          if end.host.host == "shopper" and end.connected], [])

    def test_buysAndStops(self):
        """It buys what it was asked for, from the market's seller, then
        its node stops: no link and no timer left."""
        seller = self.market.addNode(seller={"stock": {"apple": 3}})
        buy, outcome = self.oneShot(quantity=2)
        self.market.run(30)
        [result] = outcome
        self.assertEqual((result["item"], result["quantity"], result["node"]),
                         ("apple", 2, wireId(buy.node.id)))
        self.assertEqual([p["seller"] for p in result["purchases"]],
                         [wireId(seller.id)] * 2)
        self.assertEqual(self.market.role(seller, "seller").inventory(),
                         {"apple": 1})
        self.assertEqual(renderBuy(result).splitlines(),
                         [f"bought apple from node {shortId(seller.id)} (1 of 2)",
                          f"bought apple from node {shortId(seller.id)} (2 of 2)"])
        self.assertNothingLeft(buy)

    def test_nothingOnSale(self):
        """Nobody sells it: at the deadline it stops and says why."""
        self.market.addNode(seller={"stock": {"pear": 3}})
        buy, outcome = self.oneShot(deadline=10)
        self.market.run(30)
        [failure] = outcome
        failure.trap(ClientError)
        self.assertEqual(str(failure.value),
                         "bought 0 of 1 apple within 10 s: no seller offered it "
                         "(3 searches found nothing)")
        self.assertNothingLeft(buy)

    def test_noTracker(self):
        """No tracker where it was told: it says it never registered."""
        buy, outcome = self.oneShot(deadline=5, tracker_port=1)
        self.market.run(10)
        [failure] = outcome
        failure.trap(ClientError)
        self.assertEqual(str(failure.value),
                         "bought 0 of 1 apple within 5 s: never registered with "
                         "the tracker at tracker:7700")
        self.assertNothingLeft(buy)
