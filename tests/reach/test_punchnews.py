"""
Tests of L{twisted_bazaar.reach.punchnews}: the news of a node's
punches, told to the listeners of a peer while they are subscribed.
"""

from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from twisted_bazaar.reach.punchnews import IPunchListener, PunchNews


@implementer(IPunchListener)
class NewsHeard:
    """A listener that keeps what it was told, in order."""

    def __init__(self):
        self.heard = []

    def punchStarted(self, peer_id):
        self.heard.append(("started", peer_id))

    def punchEnded(self, peer_id, met):
        self.heard.append(("ended", peer_id, met))

    def linkMoved(self, peer_id):
        self.heard.append(("moved", peer_id))


class PunchNewsTests(SynchronousTestCase):
    def setUp(self):
        #: The peers a punch runs with, and those linked directly: the
        #: dialer's word, the test's here.
        self.running = set()
        self.direct = set()
        self.news = PunchNews(self.running.__contains__, self.direct.__contains__)
        self.listener = NewsHeard()
        verifyObject(IPunchListener, self.listener)

    def test_startAndEnd(self):
        """A punch that starts, then ends unmet, is told once each, however
        often the services say something changed."""
        watching = self.news.watch("bob", self.listener)
        self.assertFalse(watching.running)
        self.running.add("bob")
        self.news.changed("bob")
        self.news.changed("bob")
        self.running.discard("bob")
        self.news.changed(None)
        self.news.changed("bob")
        self.assertEqual(self.listener.heard, [("started", "bob"), ("ended", "bob", False)])

    def test_runningWhenSubscribed(self):
        """Subscribed while a punch runs: the watching says so, and its end
        (met: the link is direct now) is told."""
        self.running.add("bob")
        watching = self.news.watch("bob", self.listener)
        self.assertTrue(watching.running)
        self.running.discard("bob")
        self.direct.add("bob")
        self.news.linkUp("bob")
        self.assertEqual(self.listener.heard, [("moved", "bob"), ("ended", "bob", True)])

    def test_onlyItsPeer(self):
        """A listener hears its own peer's news, not another's."""
        self.news.watch("bob", self.listener)
        self.running.add("carol")
        self.direct.add("carol")
        self.news.changed("carol")
        self.news.linkUp("carol")
        self.assertEqual(self.listener.heard, [])

    def test_relayedLinkIsNoMove(self):
        """A link that came up through a relay is no move."""
        self.news.watch("bob", self.listener)
        self.news.linkUp("bob")
        self.assertEqual(self.listener.heard, [])

    def test_cancelled(self):
        """Once its owner cancelled it, a listener hears nothing more, and
        the news holds nothing of it; another listener still hears."""
        watching = self.news.watch("bob", self.listener)
        other = NewsHeard()
        self.news.watch("bob", other)
        watching.cancel()
        watching.cancel()
        self.running.add("bob")
        self.news.changed("bob")
        self.assertEqual(self.listener.heard, [])
        self.assertEqual(other.heard, [("started", "bob")])
        self.assertTrue(self.news.watched("bob"))
        self.news.unwatch(self.news.watch("bob", self.listener))
        self.assertTrue(self.news.watched("bob"))

    def test_lastCancelledForgetsThePeer(self):
        watching = self.news.watch("bob", self.listener)
        self.assertTrue(self.news.watched("bob"))
        watching.cancel()
        self.assertFalse(self.news.watched("bob"))
