"""
Tests for twisted_bazaar.schemes.chord.node: what every stopped chord
node leaves behind (real nodes in a L{Market}).
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.testing import Market

from tests.schemes.chord.market import SETTLE, addChord


class StopTests(SynchronousTestCase):
    def test_everyNodeLeavesNothingBehind(self):
        market = Market(seed=9)
        nodes = [addChord(market) for _ in range(5)]
        nodes.append(addChord(market, seller={"stock": {"fig": 1}}))
        nodes.append(addChord(market, buyer={"wants": ["fig"]}))
        market.run(SETTLE)
        self.assertEqual(len(market.role(nodes[-1], "buyer").bag), 1)
        for node in nodes:
            market.stop(node)
        for node in nodes:
            self.assertEqual(market.leftovers(node), {"delayed_calls": [], "connections": []})
