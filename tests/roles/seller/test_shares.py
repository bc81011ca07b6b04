"""Tests for L{twisted_bazaar.roles.seller.shares}: whom a seller's closes and
copies are charged to."""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.roles.seller.shares import RememberedShares


def fill(shares, group, relayed=False, start=0):
    """Hold one more for group while it is admitted; how many it took."""
    taken = 0
    while shares.admits(group, relayed):
        shares.hold((group, relayed, start + taken), group, relayed)
        taken += 1
    return taken


class RememberedSharesTests(SynchronousTestCase):
    def test_oneGroupAloneHalf(self):
        shares = RememberedShares(100)
        self.assertEqual(fill(shares, "a"), 50)
        self.assertEqual(fill(shares, "b"), 25)
        self.assertTrue(shares.admits("c"))

    def test_oneRelayAloneAQuarter(self):
        """The relays' share is half of what the groups' own leave; one
        relay's group alone has half of that."""
        shares = RememberedShares(100)
        self.assertEqual(fill(shares, "r", relayed=True), 25)
        self.assertEqual((shares.used, shares.room(relayed=True)), (25, 25))
        self.assertEqual(fill(shares, "s", relayed=True), 13)

    def test_relayedNeverSpendTheRelaysOwnGroup(self):
        """What a relay's group relayed is charged apart from what its own
        buyers hold: however much it relayed, its own still get as much
        as a group would beside one other."""
        shares = RememberedShares(100)
        fill(shares, "r", relayed=True)
        self.assertEqual(shares.held("r"), 0)
        self.assertEqual(fill(shares, "r"), 38)
        self.assertTrue(shares.admits("new"))

    def test_manyRelaysTakeOneShare(self):
        """However many relays' groups a stranger routes through, all it
        relayed stays within the relays' share (at most half the
        account), and a new group of its own still gets in."""
        shares = RememberedShares(1000)
        relayed = sum(fill(shares, f"relay {n}", relayed=True) for n in range(40))
        self.assertLessEqual(relayed, 500)
        self.assertEqual(shares.used, relayed)
        self.assertTrue(shares.admits("honest"))
        self.assertGreaterEqual(fill(shares, "honest"), 249)

    def test_relayedShareShrinksWithTheGroups(self):
        """The groups' own closes leave the relays less room, and a new
        relay's group gets in while any is left."""
        shares = RememberedShares(100)
        fill(shares, "a")
        self.assertEqual(shares.room(relayed=True), 25)
        self.assertEqual(fill(shares, "r", relayed=True), 13)
        self.assertTrue(shares.admits("s", relayed=True))

    def test_releaseGivesBack(self):
        shares = RememberedShares(10)
        shares.hold("x", "r", relayed=True)
        shares.hold("y", "a")
        self.assertEqual((shares.held("r", relayed=True), shares.held("a"),
                          shares.used), (1, 1, 2))
        shares.release("x")
        shares.release("x")
        shares.release("y")
        self.assertEqual((shares.held("r", relayed=True), shares.held("a"),
                          shares.used, shares.room(relayed=True)), (0, 0, 0, 5))
