"""Tests for L{twisted_bazaar.base.lately}."""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.lately import Recent


class RecentTests(SynchronousTestCase):
    def test_oldestForgottenFirst(self):
        """Past the limit the oldest goes; adding one again makes it the
        newest."""
        recent = Recent(2)
        for member in ("a", "b", "a", "c"):
            recent.add(member)
        self.assertEqual(list(recent), ["a", "c"])
        self.assertNotIn("b", recent)
        self.assertEqual(len(recent), 2)
