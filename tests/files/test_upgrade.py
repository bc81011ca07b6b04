"""
Tests for L{twisted_bazaar.files.upgrade.Upgrades}, alone, against a
recording L{IUpgradeEffects}: each test feeds events and checks the exact
list of effects.
"""

from zope.interface import implementer
from zope.interface.verify import verifyObject

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files.upgrade import DIALS, IUpgradeEffects, Upgrades


@implementer(IUpgradeEffects)
class Recorder:
    def __init__(self):
        self.effects = []

    def dialAgain(self, seller):
        self.effects.append(("dialAgain", seller))

    def move(self, seller, client):
        self.effects.append(("move", seller, client))

    def discard(self, client):
        self.effects.append(("discard", client))


class UpgradesTests(SynchronousTestCase):
    def setUp(self):
        self.recorder = Recorder()
        verifyObject(IUpgradeEffects, self.recorder)
        self.upgrades = Upgrades(self.recorder)

    def test_relayedThenDirectLinkMoves(self):
        """Started on the relay; the punch brings a direct link: dialled
        again, and the pieces move to the direct connection."""
        self.upgrades.connected("s", relayed=True)
        self.assertEqual(self.recorder.effects, [])
        self.upgrades.directLink("s")
        self.upgrades.dialled("s", "direct", relayed=False)
        self.assertEqual(self.recorder.effects, [("dialAgain", "s"),
                                                 ("move", "s", "direct")])
        self.assertEqual((self.upgrades.relayed, self.upgrades.moved), (set(), {"s"}))

    def test_directLinkWhileDialling(self):
        """A direct link that comes up while the connection is dialled,
        which then comes through the relay (the transfer's punch was
        tried before the link): dialled again once it is up."""
        self.upgrades.started("s")
        self.upgrades.directLink("s")
        self.assertEqual(self.recorder.effects, [])
        self.upgrades.connected("s", relayed=True)
        self.assertEqual(self.recorder.effects, [("dialAgain", "s")])

    def test_directLinkBeforeTheDial(self):
        """A direct link up before the dial began: the dialer chose the
        relay all the same (the transfer's punch failed); not dialled
        again until another direct link comes."""
        self.upgrades.directLink("s")
        self.upgrades.started("s")
        self.upgrades.connected("s", relayed=True)
        self.assertEqual(self.recorder.effects, [])
        self.upgrades.directLink("s")
        self.assertEqual(self.recorder.effects, [("dialAgain", "s")])

    def test_directConnectionNeverMoves(self):
        self.upgrades.started("s")
        self.upgrades.directLink("s")
        self.upgrades.connected("s", relayed=False)
        self.upgrades.directLink("s")
        self.assertEqual(self.recorder.effects, [])
        self.assertEqual(self.upgrades.linkedSince, {"s"})

    def test_oneDialAtATime(self):
        """A second direct link (TCP, then UDP) while the dial is under
        way dials nothing more."""
        self.upgrades.connected("s", relayed=True)
        self.upgrades.directLink("s")
        self.upgrades.directLink("s")
        self.assertEqual(self.recorder.effects, [("dialAgain", "s")])

    def test_relayedAgainIsDiscarded(self):
        """The dial again went through the relay too (the transfer's punch
        failed): closed, and the pieces stay; the next direct link tries
        again."""
        self.upgrades.connected("s", relayed=True)
        self.upgrades.directLink("s")
        self.upgrades.dialled("s", "second", relayed=True)
        self.upgrades.directLink("s")
        self.assertEqual(self.recorder.effects, [("dialAgain", "s"),
                                                 ("discard", "second"),
                                                 ("dialAgain", "s")])
        self.assertEqual(self.upgrades.relayed, {"s"})

    def test_failedDialStays(self):
        self.upgrades.connected("s", relayed=True)
        self.upgrades.directLink("s")
        self.upgrades.dialled("s", None, relayed=False)
        self.assertEqual(self.recorder.effects, [("dialAgain", "s")])
        self.assertEqual((self.upgrades.relayed, self.upgrades.dialling), ({"s"}, set()))

    def test_relayedConnectionLostWhileDialling(self):
        """The relayed connection failed before the direct one came: its
        pieces went back among the missing; the direct one is not needed
        (the seller is asked again as any seller is)."""
        self.upgrades.connected("s", relayed=True)
        self.upgrades.directLink("s")
        self.assertFalse(self.upgrades.lost("s"))
        self.upgrades.dialled("s", "direct", relayed=False)
        self.assertEqual(self.recorder.effects, [("dialAgain", "s"),
                                                 ("discard", "direct")])

    def test_directFailsRightAfterTheMove(self):
        """The direct connection fails after the move: the pieces go back
        to the seller (lost says so once), and the seller's next relayed
        connection is not moved again."""
        self.upgrades.connected("s", relayed=True)
        self.upgrades.directLink("s")
        self.upgrades.dialled("s", "direct", relayed=False)
        self.assertTrue(self.upgrades.lost("s"))
        self.upgrades.started("s")
        self.upgrades.directLink("s")
        self.upgrades.connected("s", relayed=True)
        self.upgrades.directLink("s")
        self.assertFalse(self.upgrades.lost("s"))
        self.assertEqual(self.recorder.effects, [("dialAgain", "s"),
                                                 ("move", "s", "direct")])
        self.assertEqual(self.upgrades.settled, {"s"})

    def test_dialsBounded(self):
        """A seller whose link comes and goes, each dial again failing or
        relayed, is dialled again DIALS times in one download, no more."""
        self.upgrades.connected("s", relayed=True)
        for _ in range(DIALS + 2):
            self.upgrades.directLink("s")
            self.upgrades.dialled("s", None, relayed=False)
        self.assertEqual(self.recorder.effects, [("dialAgain", "s")] * DIALS)

    def test_lastDialMayStillMove(self):
        """The last dial allowed moves all the same when it is direct."""
        self.upgrades.connected("s", relayed=True)
        for _ in range(DIALS - 1):
            self.upgrades.directLink("s")
            self.upgrades.dialled("s", "relayed", relayed=True)
        self.upgrades.directLink("s")
        self.upgrades.dialled("s", "direct", relayed=False)
        self.assertEqual(self.recorder.effects[-1], ("move", "s", "direct"))

    def test_sellersApart(self):
        """One seller's move is its own."""
        self.upgrades.connected("a", relayed=True)
        self.upgrades.connected("b", relayed=True)
        self.upgrades.directLink("b")
        self.upgrades.dialled("b", "direct-b", relayed=False)
        self.assertEqual(self.recorder.effects, [("dialAgain", "b"),
                                                 ("move", "b", "direct-b")])
        self.assertEqual(self.upgrades.relayed, {"a"})
