"""
Tests of twisted_bazaar.schemes.chord.detouring: a node's detours end
when it stops, and end once however their answers come (the finds that
take them are tested in test_lookups.py, the detour's own logic in
test_detour.py).
"""

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.chord.detouring import Detouring
from twisted_bazaar.sim.adversaries import Withhold

from tests.helpers import makeNode
from tests.schemes.chord.market import SETTLE
from tests.schemes.chord.test_lookups import smallRing
from tests.schemes.chord.test_routing import FAR, ME, PRED, SUCC, placed


class StopTests(SynchronousTestCase):
    def test_aDetourEndsWhenTheNodeStops(self):
        """A node that stops mid-detour asks nothing more: the find ends
        with what it had, and no timer of the detour is left."""
        market, nodes = smallRing()
        market.run(SETTLE)
        for node in nodes[1:]:
            Withhold(node)
        asker = nodes[0]
        found = []
        asker.discovery.find("plum", 1.0).addCallback(found.append)
        # Routing has the whole lookup timeout; the detour's first
        # questions wait a third of it.
        market.run(asker.discovery.settings.lookup_timeout + 0.5)
        self.assertEqual(found, [])
        self.assertTrue(asker.discovery.detouring._nexts)
        asker.discovery.stopService()
        self.assertEqual(found, [[]])
        self.assertFalse(asker.discovery.detouring._nexts)


class DetourAnswersAtOnceTests(SynchronousTestCase):
    """A question whose answer comes as it is asked (a link that cannot be
    had fails at once) calls the detour's next step from within the
    step that asked it: the detour still ends once, with no error."""

    def test_everyAnswerAtOnce(self):
        scheme = placed(makeNode(ME))
        self.patch(Detouring, "_askNext", lambda detouring, peer, key: defer.succeed([]))
        asked = []

        def ask(peer):
            asked.append(peer.id)
            return defer.succeed(None)

        results = []
        scheme.detouring._detour(FAR - 10, ask).addCallback(results.append)
        self.assertEqual(results, [[]])
        self.assertEqual(sorted(asked), sorted({PRED, SUCC, FAR}))
