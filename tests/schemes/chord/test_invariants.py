"""
Tests for twisted_bazaar.schemes.chord.invariants, and the property the
issue asks for: random joins, quits and crashes, followed by quiet time,
always restore the ring's invariants (and the records' replicas).
"""

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.chord.invariants import holders
from twisted_bazaar.testing import Market

from tests.schemes.chord.market import SETTLE, addChord, ringViolations

#: One step of churn: a node joins, one quits politely, or one crashes;
#: then some virtual seconds pass.
STEP = st.tuples(st.sampled_from(["join", "quit", "crash"]), st.integers(0, 99),
                 st.floats(0, 3))


class HoldersTests(SynchronousTestCase):
    def test_holderAndSuccessorsWrapRound(self):
        ring = [10, 20, 30, 40]
        self.assertEqual(holders(ring, 15, 2), [20, 30, 40])
        self.assertEqual(holders(ring, 35, 2), [40, 10, 20])
        self.assertEqual(holders(ring, 41, 2), [10, 20, 30])
        self.assertEqual(holders(ring, 20, 9), [20, 30, 40, 10])

    def test_aBrokenRingIsReported(self):
        market = Market(seed=11)
        nodes = [addChord(market) for _ in range(4)]
        market.run(SETTLE)
        self.assertEqual(ringViolations(market), [])
        victim = sorted(nodes, key=lambda node: node.id)[1]
        victim.discovery.ring.successors.reverse()
        victim.discovery.ring.predecessor = None
        found = ringViolations(market)
        self.assertEqual(len(found), 2, found)
        self.assertIn(f"node {victim.id}: successor", found[0])
        self.assertIn(f"node {victim.id}: predecessor None", found[1])
        self.assertIn("lacks the record of 'x' by 1", ringViolations(market, [("x", 1)])[-1])


class ChurnPropertyTests(SynchronousTestCase):
    @settings(max_examples=12)
    @given(st.lists(STEP, min_size=1, max_size=6), st.integers(0, 2**16))
    def test_quietTimeRestoresTheInvariants(self, steps, seed):
        market = Market(seed=seed)
        seller = addChord(market, seller={"stock": {"apple": 1, "fig": 1}})
        others = [addChord(market) for _ in range(5)]
        market.run(SETTLE / 2)
        for action, pick, pause in steps:
            if action == "join":
                others.append(addChord(market))
            elif len(others) > 1:
                victim = others.pop(pick % len(others))
                if action == "quit":
                    market.stop(victim)
                else:
                    market.crash(victim)
            market.run(pause)
        market.run(SETTLE * 1.5)
        records = [("apple", seller.id), ("fig", seller.id)]
        self.assertEqual(ringViolations(market, records), [])
