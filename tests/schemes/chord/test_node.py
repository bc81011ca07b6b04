"""
Tests for twisted_bazaar.schemes.chord.node: what every stopped chord
node leaves behind, and the parts a node is made of (real nodes in a
L{Market}).
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.chord.joining import Joining
from twisted_bazaar.schemes.chord.messages import ChordNearIs
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


class PartsTests(SynchronousTestCase):
    """
    A chord node is a small object holding parts, each taking the
    messages of its class's table (issue 74): the node's handler table
    holds only those functions, called on the parts, with no bound method
    or closure a node; and nodes share one table.
    """

    def test_eachMessageGoesToAPartsClassTable(self):
        market = Market(seed=9)
        first, second = addChord(market), addChord(market)
        market.run(SETTLE)
        scheme = first.discovery
        handlers = first.overlay.handlers
        taken = {kind for kind, (function, index) in handlers.table.entries.items()
                 if handlers.parts[index] in (scheme.upkeep, scheme.upkeep.fingers,
                                              scheme.router, scheme.leaving,
                                              scheme.holding, scheme.detouring)}
        for kind in taken:
            function, index = handlers.table.entries[kind]
            self.assertIs(type(handlers.parts[index]).takes[kind], function)
        self.assertEqual({kind.TYPE for kind in taken},
                         {"chordPing", "chordPong", "chordStabilize", "chordState",
                          "chordPred", "chordPredIs", "chordFind", "chordRequest",
                          "chordStore", "chordQuit", "chordTransferred",
                          "chordTransfer", "chordNext", "chordNextIs"})
        self.assertIs(second.overlay.handlers.table, handlers.table)

    def test_theTrackersAnswerGoesToJoining(self):
        market = Market(seed=9)
        node = addChord(market)
        market.run(SETTLE)
        parts = node.membership.parts
        function, index = parts.table.entries[ChordNearIs]
        self.assertIs(parts.parts[index], node.discovery.joining)
        self.assertIs(function, Joining.fromTracker[ChordNearIs])
