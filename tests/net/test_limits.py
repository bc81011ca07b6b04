"""Tests for twisted_bazaar.net.limits: GroupRates, the rates of buckets."""

import attr
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.limitregistry import Limit, declare
from twisted_bazaar.net.limits import (
    ERROR_WINDOW,
    GroupRates,
    TokenBucket,
    bucketIn,
    bucketRate,
    declareBucket,
    spend,
)

#: A rate per address group.
RATE = declare("tests.limits.groups", 2.0, "messages/s", "messages a group sends",
               group=2.0, owner=__name__)
#: A link's bucket, declared by its owner.
BUCKET = declareBucket("tests.limits", 3.0, "messages a test sends", owner=__name__)
#: A bucket whose rate is the link's search rate.
SEARCHED = declareBucket("tests.searched", None, "messages at the search rate",
                         owner=__name__)


class GroupRatesTests(SynchronousTestCase):
    def test_aBucketPerGroup(self):
        rates = GroupRates(RATE, 2.0)
        self.assertEqual([rates.take("10.1", 0.0) for _ in range(5)],
                         [True] * 4 + [False])
        self.assertTrue(rates.take("10.2", 0.0))
        self.assertTrue(rates.take("10.1", 0.5))
        self.assertFalse(rates.take("10.1", 0.5))

    def test_aClockSteppedBackTakesNothing(self):
        """The daemon's clock is the wall clock: stepped back (NTP), a
        bucket keeps the tokens it had; it took the step's seconds of
        them, so a group was refused until the clock came back."""
        rates = GroupRates(RATE, 2.0)
        self.assertTrue(rates.take("10.1", 1000.0))
        self.assertEqual([rates.take("10.1", 400.0) for _ in range(4)],
                         [True] * 3 + [False])
        self.assertEqual(rates.wait("10.1", 400.0), 0.5)

    def test_remembersTheNewestGroups(self):
        rates = GroupRates(RATE, 1.0, remembered=2)
        for group in ("a", "a", "b", "c"):
            rates.take(group, 0.0)
        # "a" was forgotten: it starts again with a full bucket.
        self.assertEqual([rates.take("a", 0.0) for _ in range(3)], [True, True, False])

    def test_theDeclaredShareOfAGroup(self):
        self.assertEqual(GroupRates(RATE).rate, 2.0)

    def test_aRateOfNoDeclaredLimitRefused(self):
        with self.assertRaisesRegex(TypeError, "declared limit"):
            GroupRates(2.0)
        with self.assertRaisesRegex(TypeError, "declared limit"):
            GroupRates(Limit(*attr.astuple(RATE)))


class TokenBucketTests(SynchronousTestCase):
    def test_anAskerThatWaitsAsToldIsAnsweredAtAnEpoch(self):
        """Told to wait, an asker that waits just that long on a wall
        clock (1.8e9 s, read in steps of 0.24 us) is answered: it was
        refused again, the wait a rounding short of a token (1.2e-6 of
        one at 10 a second, 20 at 20)."""
        for rate, now in ((10.0, 1.8e9), (20.0, 1.8e9), (512.0, 1.8e9), (10.0, 0.0)):
            bucket = TokenBucket(rate, now)
            while bucket.take(now):
                pass
            wait = bucket.wait(now)
            self.assertAlmostEqual(wait, 1 / rate, places=5)
            self.assertTrue(bucket.take(now + wait), (rate, now))
            self.assertFalse(bucket.take(now + wait), (rate, now))

    def test_shortOfATokenIsRefused(self):
        """A tenth of a wait short is short, at an epoch as at 0."""
        for now in (0.0, 1.8e9):
            bucket = TokenBucket(10.0, now)
            while bucket.take(now):
                pass
            self.assertFalse(bucket.take(now + 0.09))
            self.assertGreater(bucket.wait(now + 0.09), 0.009)


class BucketInTests(SynchronousTestCase):
    """A bucket held in a table as the time of its last take, while that
    take left it full less one token, answers as a bucket kept all along."""

    def test_asABucketKeptAllAlong(self):
        """Takes at a rate far below the bucket's, in bursts over it, at
        one time, and on a clock stepped back: each answer and each state
        the kept bucket's, at an epoch as at 0."""
        steps = [0.0, 3.0, 3.0, 3.0, 3.0, 3.1, 9.0, 9.25, 8.0, 8.0, 70.0, 70.0, 70.5,
                 70.5, 70.5, 130.0, 190.0, 190.001]
        for rate in (1.0, 0.25, 200.0, 0.5):
            for start in (0.0, 1.8e9):
                kept = TokenBucket(rate, start)
                table, held = {}, []
                for step in steps:
                    now = start + step
                    bucket = table.get("ping")
                    if type(bucket) is not TokenBucket:
                        bucket = bucketIn(table, "ping", rate, now, bucket)
                    self.assertEqual(bucket.take(now), kept.take(now), (rate, now))
                    entry = table["ping"]
                    if type(entry) is TokenBucket:
                        self.assertEqual((entry.tokens, entry.stamp),
                                         (kept.tokens, kept.stamp))
                    else:
                        self.assertEqual((kept.burst - 1.0, entry), (kept.tokens, kept.stamp))
                    held.append(type(entry))
                self.assertIn(float, held, rate)
                if rate < 200.0:
                    self.assertIn(TokenBucket, held, rate)

    def test_takenOnceItsTime(self):
        """Taken once, full before: the table holds its time; taken again,
        the bucket."""
        table = {}
        self.assertTrue(bucketIn(table, "ping", 1.0, 60.0, None).take(60.0))
        self.assertEqual(table, {"ping": 60.0})
        self.assertTrue(bucketIn(table, "ping", 1.0, 180.0, 60.0).take(180.0))
        self.assertEqual((table["ping"].tokens, table["ping"].stamp), (1.0, 180.0))


class BucketRateTests(SynchronousTestCase):
    """A link's bucket: the settings' rate, else the one its owner
    declared, else the search rate."""

    RATES = {"search": 200.0, "ping": 1.0}

    def test_theSettingsFirst(self):
        self.assertEqual(bucketRate(self.RATES, "ping"), 1.0)

    def test_declaredByItsOwner(self):
        self.assertEqual(bucketRate(self.RATES, "tests.limits"), 3.0)

    def test_otherwiseTheSearchRate(self):
        self.assertEqual(bucketRate(self.RATES, "tests.nobody"), 200.0)
        self.assertEqual(bucketRate(self.RATES, "tests.searched"), 200.0)
        self.assertEqual(bucketRate(self.RATES, None), 200.0)


class ErrorBudgetTests(SynchronousTestCase):
    def test_theWindow(self):
        """Errors count for ERROR_WINDOW seconds: past the limit within
        it, the peer is over."""
        errors = []
        for t in range(3):
            over, errors = spend(errors, 1000.0 + t, 3)
        self.assertFalse(over)
        self.assertTrue(spend(errors, 1003.0, 3)[0])
        self.assertEqual(spend(errors, 1002.0 + ERROR_WINDOW, 3), (False, [1002.0 + ERROR_WINDOW]))

    def test_aClockSteppedBackForgets(self):
        """The wall clock stepped back 600 s: the errors noted before the
        step, now in its future, count no more (they counted for 660 s)."""
        errors = [1000.0, 1001.0, 1002.0]
        self.assertEqual(spend(errors, 400.0, 3), (False, [400.0]))
