"""
Tests for L{twisted_bazaar.schemes.chord.leaving}: a neighbour's quit is
news at info; a quit from a node that was none of this node's
neighbours (a one-shot ``bazaar buy`` client) is logged at debug.
"""

from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.chord.messages import ChordQuit
from tests.helpers import feed, linkPeer, makeNode
from tests.schemes.chord.test_routing import ME, PRED, placed

CLIENT = 777


class QuitNewsTests(SynchronousTestCase):
    def setUp(self):
        self.node = makeNode(ME)
        self.scheme = placed(self.node)

    def quitLines(self, peer):
        link = linkPeer(self.node, peer, purpose="chord")
        with capturedLogs() as events:
            feed(link, ChordQuit(None, ()))
        return [(event["log_level"], formatEvent(event)) for event in events
                if "quit the chord ring" in formatEvent(event)]

    def test_aNeighbourQuitsAtInfo(self):
        self.assertEqual(self.quitLines(PRED),
                         [(LogLevel.info, f"node {PRED} quit the chord ring")])

    def test_aStrangerQuitsAtDebug(self):
        """A client that linked to ask and buy, and was never on this
        node's side of the ring, quitting changes nothing here."""
        self.assertEqual(self.quitLines(CLIENT),
                         [(LogLevel.debug, f"node {CLIENT} quit the chord ring")])
