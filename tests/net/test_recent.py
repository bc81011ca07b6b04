"""
Tests for twisted_bazaar.net.recent: the bounded note of a node's last
messages.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.recent import IN, OUT, UNKNOWN_PEER, RecentMessages


class RecentMessagesTests(SynchronousTestCase):
    def test_entriesCountBackFromNow(self):
        """Entries come oldest first, each with the milliseconds since it
        was noted, its direction, its peer and its type."""
        recent = RecentMessages()
        recent.note((10.0, IN, 42, "search"))
        recent.note((10.25, OUT, 42, "reply"))
        self.assertEqual(recent.entries(11.0),
                         ((1000, IN, 42, "search"), (750, OUT, 42, "reply")))

    def test_unknownPeer(self):
        """A message on a link whose peer has not said who it is has peer
        -1."""
        recent = RecentMessages()
        recent.note((1.0, IN, None, "thisisme"))
        self.assertEqual(recent.entries(1.0), ((0, IN, UNKNOWN_PEER, "thisisme"),))

    def test_bounded(self):
        """Only the newest ``size`` are kept."""
        recent = RecentMessages(size=3)
        for n in range(10):
            recent.note((float(n), OUT, n, "buy"))
        self.assertEqual([peer for _, _, peer, _ in recent.entries(10.0)], [7, 8, 9])

    def test_clockBackwards(self):
        """A clock that stepped back gives 0 ms, never a negative age."""
        recent = RecentMessages()
        recent.note((5.0, IN, 1, "buy"))
        self.assertEqual(recent.entries(4.0)[0][0], 0)
