"""
Tests for twisted_bazaar.base.backoff: one retry at a time, delays that double
up to a cap with 0.5–1.5 jitter, reset and cancel.
"""

import random

from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.backoff import Backoff, exponential


class FixedRandom(random.Random):
    """random() is always the same (0.5 unless told: no jitter, so delays
    are exact)."""

    def __init__(self, value=0.5):
        super().__init__()
        self.value = value

    def random(self):
        return self.value


class BackoffTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.calls = []
        self.start = self.clock.seconds()
        self.backoff = Backoff(self.clock, FixedRandom(), 1.0, 4.0)

    def retry(self):
        self.calls.append(self.clock.seconds() - self.start)

    def nextWait(self):
        """Schedule a retry, run it, and return how long it waited."""
        self.backoff.schedule(self.retry)
        [call] = self.clock.getDelayedCalls()
        wait = call.getTime() - self.clock.seconds()
        self.clock.advance(wait)
        return wait

    def test_delaysDoubleUpToTheCap(self):
        self.assertEqual([self.nextWait() for _ in range(4)], [1.0, 2.0, 4.0, 4.0])
        self.assertEqual(len(self.calls), 4)

    def test_oneRetryAtATime(self):
        self.backoff.schedule(self.retry)
        self.backoff.schedule(self.retry)
        self.assertTrue(self.backoff.pending)
        self.clock.advance(10)
        self.assertEqual((self.calls, self.backoff.pending), ([10.0], False))

    def test_resetStartsOver(self):
        self.assertEqual([self.nextWait(), self.nextWait()], [1.0, 2.0])
        self.backoff.reset()
        self.assertEqual(self.nextWait(), 1.0)

    def test_cancelLeavesNoCall(self):
        self.backoff.schedule(self.retry)
        self.backoff.cancel()
        self.assertEqual((self.clock.getDelayedCalls(), self.backoff.pending), ([], False))
        self.clock.advance(10)
        self.assertEqual(self.calls, [])

    def test_noPolicyOfItsOwn(self):
        """A backoff waits as L{exponential} says, through the policy of
        its class, not a function and cells made for each (336 bytes of
        every simulated node whose topology retries), and holds no
        attributes beyond its slots."""
        backoff = Backoff(self.clock, random.Random(3), 2.0, 60.0)
        policy = exponential(2.0, 60.0, random.Random(3))
        self.assertEqual([backoff.policy(n) for n in range(1, 8)],
                         [policy(n) for n in range(1, 8)])
        self.assertFalse(hasattr(backoff, "__dict__"))

    def test_jitter(self):
        """The wait is drawn from 0.5 to 1.5 times the delay."""
        backoff = Backoff(self.clock, random.Random(3), 2.0, 60.0)
        backoff.schedule(self.retry)
        [call] = self.clock.getDelayedCalls()
        self.assertTrue(1.0 <= call.getTime() - self.start <= 3.0)


class ExponentialTests(SynchronousTestCase):
    def test_doublesUpToTheMaximum(self):
        policy = exponential(0.5, 3.0, FixedRandom(0.5))
        self.assertEqual([policy(n) for n in range(1, 7)], [0.5, 1.0, 2.0, 3.0, 3.0, 3.0])

    def test_jitterIsHalfToOneAndAHalfTimes(self):
        self.assertEqual(exponential(2.0, 60.0, FixedRandom(0.0))(1), 1.0)
        self.assertEqual(exponential(2.0, 60.0, FixedRandom(0.999))(1), 2.0 * 1.499)

    def test_manyAttemptsStayAtTheMaximum(self):
        self.assertEqual(exponential(1.0, 30.0, FixedRandom(0.5))(10**6), 30.0)
