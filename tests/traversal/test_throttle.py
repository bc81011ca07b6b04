"""The relay's throttle: a bucket of bytes a second that pauses and
resumes, on a clock."""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.traversal.throttle import Throttle


class ThrottleTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.calls = []
        self.throttle = Throttle(self.clock, 100, lambda: self.calls.append("pause"),
                                 lambda: self.calls.append("resume"))

    def test_withinTheRate(self):
        """A second's worth goes at once; then the rate, as time passes."""
        self.throttle.spend(100)
        self.clock.advance(0.5)
        self.throttle.spend(50)
        self.assertEqual(self.calls, [])
        self.assertFalse(self.throttle.paused)

    def test_pausedUntilPaid(self):
        """Past the allowance it pauses once, and resumes when the debt is
        paid at the rate."""
        self.throttle.spend(150)
        self.throttle.spend(50)
        self.assertEqual(self.calls, ["pause"])
        self.clock.advance(0.99)
        self.assertTrue(self.throttle.paused)
        self.clock.advance(0.01)
        self.assertEqual(self.calls, ["pause", "resume"])
        self.assertFalse(self.throttle.paused)

    def test_savesAtMostASecond(self):
        """Idle time saves at most a second's worth."""
        self.clock.advance(60)
        self.throttle.spend(101)
        self.assertEqual(self.calls, ["pause"])

    def test_noCap(self):
        throttle = Throttle(self.clock, 0, self.fail, self.fail)
        throttle.spend(10**9)
        self.assertFalse(throttle.paused)

    def test_stop(self):
        """Stopping cancels the wait: nothing is left scheduled."""
        self.throttle.spend(500)
        self.throttle.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])
