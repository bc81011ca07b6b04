"""
Tests of L{twisted_bazaar.transports.quic.endings.Endings}: the streams a side
ended are gone once acknowledged, and dropped when they make no progress
in FINISH_WAIT seconds.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.transports.quic.endings import FINISH_WAIT, Endings


class FakeQuic:
    def __init__(self):
        self.left = {}

    def unacknowledged(self, stream_id):
        return self.left.get(stream_id, 0)

    def finished(self, stream_id):
        return not self.unacknowledged(stream_id)


class Stream:
    def __init__(self, stream_id):
        self.stream_id = stream_id


class EndingsTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.quic = FakeQuic()
        self.stalls = []
        self.endings = Endings(self.clock, self.quic, self.stalls.append)
        self.stream = Stream(0)
        self.quic.left[0] = 1000
        self.endings.add(self.stream)

    def test_settled(self):
        """A stream whose bytes are all acknowledged is settled, once, and
        the watch stops with the last."""
        self.assertEqual(self.endings.settled(), [])
        self.quic.left[0] = 0
        self.assertEqual(self.endings.settled(), [self.stream])
        self.assertEqual(self.endings.settled(), [])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_progressKeepsIt(self):
        """Some bytes acknowledged each FINISH_WAIT: no stall."""
        for left in (800, 400, 100):
            self.quic.left[0] = left
            self.clock.advance(FINISH_WAIT)
        self.assertEqual(self.stalls, [])

    def test_noProgress(self):
        """Nothing acknowledged in FINISH_WAIT seconds: stalled, saying
        so, and no timer left."""
        self.clock.advance(FINISH_WAIT)
        self.assertEqual(self.stalls, [f"nothing acknowledged in {FINISH_WAIT:g} s"])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_clear(self):
        self.endings.clear()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(FINISH_WAIT)
        self.assertEqual(self.stalls, [])
