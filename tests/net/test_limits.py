"""Tests for twisted_bazaar.net.limits: GroupRates."""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.limits import GroupRates


class GroupRatesTests(SynchronousTestCase):
    def test_aBucketPerGroup(self):
        rates = GroupRates(2.0)
        self.assertEqual([rates.take("10.1", 0.0) for _ in range(5)],
                         [True] * 4 + [False])
        self.assertTrue(rates.take("10.2", 0.0))
        self.assertTrue(rates.take("10.1", 0.5))
        self.assertFalse(rates.take("10.1", 0.5))

    def test_remembersTheNewestGroups(self):
        rates = GroupRates(1.0, remembered=2)
        for group in ("a", "a", "b", "c"):
            rates.take(group, 0.0)
        # "a" was forgotten: it starts again with a full bucket.
        self.assertEqual([rates.take("a", 0.0) for _ in range(3)], [True, True, False])
