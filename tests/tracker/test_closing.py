"""
Tests for L{twisted_bazaar.tracker.closing}: a stopping tracker's close
of its nodes' links, waited for within a grace.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.tracker.closing import LinksClosing


class _Link:
    closed = False

    def close(self):
        self.closed = True


class LinksClosingTests(SynchronousTestCase):

    def test_firesOnceAllAreLost(self):
        clock, links = Clock(), [_Link(), _Link()]
        closing = LinksClosing(clock, links, 2.0)
        closing.close()
        self.assertTrue(all(link.closed for link in links))
        closing.lost(links[0])
        self.assertNoResult(closing.done)
        closing.lost(links[1])
        self.successResultOf(closing.done)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_firesAfterTheGrace(self):
        """A link that never goes (a node that reads nothing) holds the
        stop no longer than the grace."""
        clock = Clock()
        closing = LinksClosing(clock, [_Link()], 2.0)
        closing.close()
        clock.advance(1.9)
        self.assertNoResult(closing.done)
        clock.advance(0.1)
        self.successResultOf(closing.done)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_noLinks(self):
        clock = Clock()
        closing = LinksClosing(clock, [], 2.0)
        closing.close()
        self.successResultOf(closing.done)
        self.assertEqual(clock.getDelayedCalls(), [])
