"""
Tests for twisted_bazaar.base.logthrottle: frequent events logged one by one
while few, summed up once many.
"""

from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.logthrottle import LogThrottle


class LogThrottleTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.summaries = []
        self.throttle = LogThrottle(self.clock, lambda counts, interval:
                                    self.summaries.append((counts, interval)),
                                    burst=3, interval=10.0)

    def test_burstThenCounted(self):
        admitted = [self.throttle.admit(key) for key in "aabab"]
        self.assertEqual(admitted, [True, True, True, False, False])
        self.assertEqual(self.summaries, [])
        self.clock.advance(10)
        self.assertEqual(self.summaries, [({"a": 1, "b": 1}, 10.0)])
        # A new interval begins with the next event, with a fresh burst.
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertTrue(self.throttle.admit("a"))

    def test_quietIntervalSumsUpNothing(self):
        self.throttle.admit("a")
        self.clock.advance(10)
        self.assertEqual((self.summaries, self.clock.getDelayedCalls()), ([], []))

    def test_spare(self):
        self.assertEqual(self.throttle.spare(), 3)
        self.throttle.admit()
        self.assertEqual(self.throttle.spare(), 2)
        self.throttle.admit()
        self.throttle.admit()
        self.assertEqual(self.throttle.spare(), 0)

    def test_verboseAdmitsEverything(self):
        self.throttle.verbose = True
        self.assertTrue(all(self.throttle.admit() for _ in range(100)))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_closeSumsUpAndLeavesNoTimer(self):
        for _ in range(5):
            self.throttle.admit("a")
        self.throttle.close()
        self.assertEqual(self.summaries, [({"a": 2}, 10.0)])
        self.assertTrue(self.throttle.admit("a"))
        self.assertEqual(self.clock.getDelayedCalls(), [])
