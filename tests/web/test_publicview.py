"""
Tests for twisted_bazaar.web.publicview: of the two views `bazaar web
--data-dir` keeps, the public one is told each node's public facts only,
so nothing only an operator is told is ever in it.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.status.messages import NodeState
from twisted_bazaar.web.publicview import TwoViews
from twisted_bazaar.wire.ids import wireId

MINE, SELLER = 17, 18


def bought(bag, trades=()):
    """The operator's node's whole state: its direct link to its seller,
    its bag, a message, its trades, its roles."""
    return NodeState(MINE, "10.0.0.1", 9001, "flood",
                     ((SELLER, "10.0.0.2", 9002, "direct", False),), {}, bag, 0,
                     recent=((5, "in", SELLER, "buyOK"),), trades=trades,
                     roles=("buyer",))


class TwoViewsTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.views = TwoViews(self.clock)
        self.views.membersSeen([(MINE, "10.0.0.1", 9001, "flood"),
                                (SELLER, "10.0.0.2", 9002, "flood")])

    def test_thePublicViewIsToldPublicFactsOnly(self):
        """A purchase, its trade (naming the seller) and the direct link
        reach the operator's view; the public one has none of them: no
        bag, no bought event, no trade, no edge, no message, no roles."""
        self.views.stateSeen(bought({}))
        self.clock.advance(1)
        self.views.stateSeen(bought({"pear": 1}, ((5, 1, "pear", 1, (MINE, SELLER)),)))
        whole, public = self.views.whole, self.views.public
        self.assertEqual(whole.node(MINE)["bag"], {"pear": 1})
        self.assertIn("bought", [event["kind"] for event in whole.events])
        self.assertTrue(whole.snapshot()["trades"])
        shown = repr(public.snapshot()) + repr(public.node(MINE))
        self.assertEqual(whole.node(MINE)["roles"], ["buyer"])
        for private in ("pear", "buyOK", "bag", "'direct'", "roles"):
            self.assertNotIn(private, shown)
        self.assertEqual(public.snapshot()["edges"], [])
        self.assertFalse(public.node(MINE)["operator"])
        self.assertEqual(public.node(MINE)["id"], wireId(MINE))

    def test_bothAreToldTheRest(self):
        """The members, the tracker's silence (and an impostor) and each
        publish reach both views."""
        published = []
        self.views.whole.subscribe(lambda: published.append("whole"))
        self.views.public.subscribe(lambda: published.append("public"))
        self.views.trackerSilent("gone", impostor=True)
        self.views.liveSeen(900)
        self.views.publish()
        self.assertEqual(sorted(published), ["public", "whole"])
        for view in (self.views.whole, self.views.public):
            snapshot = view.snapshot()
            self.assertEqual((snapshot["live"], snapshot["trackerSilent"]["impostor"]),
                             (900, True))
        self.views.trackerAnswered()
        self.assertIsNone(self.views.public.snapshot()["trackerSilent"])
