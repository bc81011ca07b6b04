"""
Tests for twisted_bazaar.status.node: ``state`` answered with
``nodestate``, spoken to over links on fake transports.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.recent import STATUS
from twisted_bazaar.status import node as status_node
from twisted_bazaar.status.messages import NodeState, State
from twisted_bazaar.testing import Market

from tests import records
from tests.helpers import feed, provenLink, sent


class StateRateTests(SynchronousTestCase):
    """
    A node answered ``state`` at each link's search rate (200 a second),
    and a state cut to a frame can cost it milliseconds to build and
    encode (a seller of a thousand long names): a stranger's few links
    asking could take the node's time.  The questions of one address
    group's links together now have a rate of their own; another group's
    are answered as before.
    """

    def setUp(self):
        self.market = Market(seed=3)
        self.seller = self.market.addNode(seller={"stock": {"apple": 3}})
        self.market.run(5)
        self.node = self.market.services[self.seller].node

    def answered(self, link, count):
        feed(link, *[State()] * count)
        return len([m for m in sent(link) if type(m) is NodeState])

    def test_oneGroupsLinksShareOneRate(self):
        burst = 20  # STATE_RATE, 10 a second, bursts of twice that
        self.assertEqual(status_node.STATE_RATE * 2, burst)
        askers = [provenLink(self.node, records.identity(100 + n),
                             purpose=STATUS if n < 1 else None, host=f"10.9.0.{n + 1}")
                  for n in range(3)]
        answered = sum(self.answered(link, burst) for link in askers)
        self.assertEqual(answered, burst)
        other = provenLink(self.node, records.identity(200), purpose=STATUS,
                           host="10.1.0.1")
        self.assertEqual(self.answered(other, 3), 3)
