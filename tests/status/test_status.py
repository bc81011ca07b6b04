"""
Tests for twisted_bazaar.status: the tracker's members and a node's state,
in a Market (real nodes and tracker on the in-memory network).
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.status.messages import MemberList, NodeState
from twisted_bazaar.status.tracker import StatusExtension
from twisted_bazaar.testing import Market


class StatusTests(SynchronousTestCase):
    def setUp(self):
        self.market = Market(seed=3)
        self.seller = self.market.addNode(seller={"stock": {"apple": 3, "pear": 1}})
        self.buyer = self.market.addNode(buyer={"wants": ["apple"], "quantity": 2})
        self.market.run(20)

    def test_nodeState(self):
        seller = self.market.services[self.seller].status.state()
        self.assertIsInstance(seller, NodeState)
        self.assertEqual((seller.id, seller.scheme, seller.stock, seller.bag,
                          seller.pending),
                         (self.seller.id, "flood", {"apple": 1, "pear": 1}, {}, 0))
        self.assertIn(self.buyer.id, [link[0] for link in seller.links])
        buyer = self.market.services[self.buyer].status.state()
        self.assertEqual((buyer.stock, buyer.bag, buyer.port),
                         ({}, {"apple": 2}, self.buyer.port))

    def test_trackerMembers(self):
        extension = self.market.tracker.extensions["status"]
        self.assertIsInstance(extension, StatusExtension)
        self.assertEqual(
            extension.members(),
            sorted([(node.id, node.host, node.port, "flood")
                    for node in (self.seller, self.buyer)]))

    def test_memberListCutToOneFrame(self):
        """A tracker with more members than fit one frame names as many as
        fit, and the total."""
        extension = self.market.tracker.extensions["status"]
        registry = self.market.tracker.registry
        for n in range(3000):
            registry.join(10_000 + n, "h" * 200, 1)
        sent = []

        class Link:
            def send(self, message):
                sent.append(message)

        extension._members(Link(), None)
        [answer] = sent
        self.assertIsInstance(answer, MemberList)
        self.assertEqual(answer.total, 3002)
        self.assertLess(len(answer.nodes), 3002)
        from twisted_bazaar import wire

        self.assertLessEqual(len(wire.encode(answer)),
                             self.market.tracker.settings.frame_limit)
