"""
Tests of L{twisted_bazaar.reach.book}: the one table of a node's
paths to its peers, the wire's words mapped into typed paths where they
arrive, and the one place that asks the tracker where a peer is.
"""

from types import SimpleNamespace

from twisted.internet import defer, task
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.base.sparing import NOTHING
from twisted_bazaar.reach.book import KEPT, NAMED_FOR, PathBook
from twisted_bazaar.transports.path import (
    CLAIMED, CONFIGURED, DIRECT, LAN, MAPPED, NAMED, RELAYED, SEEN, UDP, Path)
from twisted_bazaar.reach.asking import TrackerGone

PEER = 0x77
RELAY = "198.51.100.1:7701"
OTHER = "198.51.100.2:7701"
TRACKERS = "192.0.2.1:7701"


class Tracker:
    """A tracker session as the book asks it: ``whereRelay`` answered by
    the test, and its own relay TRACKERS."""

    def __init__(self):
        self.asked = []

    def whereRelay(self, peer_id):
        d = defer.Deferred()
        self.asked.append((peer_id, d))
        return d

    def isTrackerRelay(self, relay):
        return relay == TRACKERS


def bookOf(membership=None):
    node = SimpleNamespace(clock=task.Clock(), membership=membership)
    return PathBook(node)


class BoundaryTests(SynchronousTestCase):
    """The wire's words become typed paths, each with whose word it is."""

    def test_aNodeAtHome(self):
        """A nodereply with a relay and local addresses: a relayed path
        (the host where the tracker saw it, a label) and LAN paths, all
        the tracker's word."""
        book = bookOf()
        book.trackerNamed(wire.NodeReply(PEER, "203.0.113.7", 9001, relay=RELAY,
                                         lan=("192.168.1.3",)))
        self.assertEqual(book.paths(PEER), (
            Path(RELAYED, "203.0.113.7", 9001, RELAY, NAMED),
            Path(LAN, "192.168.1.3", 9001, word=NAMED)))
        self.assertEqual((book.relayOf(PEER), book.namedRelay(PEER)), (RELAY, RELAY))
        self.assertEqual(book.lanNamed(PEER), ("203.0.113.7", ("192.168.1.3",)))

    def test_aPublicNode(self):
        """A nodereply without a relay: a direct path the tracker checked."""
        book = bookOf()
        book.trackerNamed(wire.NodeReply(PEER, "203.0.113.8", 9001))
        self.assertEqual(book.paths(PEER), (Path(DIRECT, "203.0.113.8", 9001, word=SEEN),))
        self.assertIsNone(book.relayOf(PEER))

    def test_aPeersClaim(self):
        """A thisisme's relay is the peer's claim: dialled through (noted),
        but the tracker does not vouch for it; None forgets it, and an
        empty peer is not kept."""
        book = bookOf()
        book.claimed(PEER, OTHER)
        self.assertEqual(book.paths(PEER), (Path(RELAYED, relay=OTHER, word=CLAIMED),))
        self.assertEqual((book.relayOf(PEER), book.namedRelay(PEER)), (OTHER, None))
        self.assertFalse(book.vouches(OTHER, PEER))
        book.claimed(PEER, None)
        self.assertEqual((book.paths(PEER), book._peers), ((), {}))

    def test_aChordNearsRelay(self):
        book = bookOf()
        book.relayNamed(PEER, RELAY)
        self.assertEqual(book.paths(PEER), (Path(RELAYED, relay=RELAY, word=NAMED),))

    def test_noTableUntilWritten(self):
        """A book nothing was written to holds the shared empty table (a
        simulated node's memory); forgetting none into nothing keeps it."""
        book = bookOf()
        book.claimed(PEER, None)
        book.forgetNamed()
        self.assertIs(book._peers, NOTHING)
        self.assertEqual((book.paths(PEER), book.relayOf(PEER), book.lanNamed(PEER)),
                         ((), None, None))

    def test_forgetNamed(self):
        """Another tracker: what this one named is forgotten (and vouches
        no more), a relay noted stays (a dial through it asks anew)."""
        book = bookOf(Tracker())
        book.trackerNamed(wire.NodeReply(PEER, "203.0.113.7", 9001, relay=RELAY))
        book.trackerNamed(wire.NodeReply(PEER + 1, "203.0.113.8", 9001))
        book.forgetNamed()
        self.assertEqual((book.namedRelay(PEER), book.known(PEER), book.vouches(RELAY, PEER)),
                         (None, False, False))
        self.assertEqual(book.relayOf(PEER), RELAY)
        self.assertNotIn(PEER + 1, book._peers)

    def test_pathsAdded(self):
        """A path of a kind no message names (added by its service) is
        the peer's until dropped; one of the tracker's word goes with
        the tracker's other words when another tracker registers the node."""
        book = bookOf()
        configured = Path(UDP, "203.0.113.7", 9443, word=CONFIGURED)
        mapped = Path(MAPPED, "203.0.113.7", 41000, word=SEEN)
        book.add(PEER, configured)
        book.add(PEER, configured)
        book.add(PEER, mapped)
        self.assertEqual(book.paths(PEER), (configured, mapped))
        self.assertEqual(book.pathsOf(PEER, UDP), (configured,))
        book.forgetNamed()
        self.assertEqual(book.paths(PEER), (configured,))
        book.drop(PEER, configured)
        self.assertEqual((book.paths(PEER), book._peers), ((), {}))

    def test_kept(self):
        """The KEPT peers written last are kept."""
        book = bookOf()
        for peer in range(KEPT + 1):
            book.trackerNamed(wire.NodeReply(peer, "203.0.113.7", 9001, relay=RELAY))
        self.assertEqual((book.namedRelay(0), book.namedRelay(KEPT)), (None, RELAY))
        self.assertEqual(len(book._peers), KEPT)


class AskingTests(SynchronousTestCase):
    """The book alone asks the tracker; its answer is written in it."""

    def test_anAnswerIsWritten(self):
        tracker = Tracker()
        book = bookOf(tracker)
        asked = book.ask(PEER)
        [(peer, d)] = tracker.asked
        d.callback(wire.NodeReply(PEER, "203.0.113.7", 9001, relay=RELAY))
        self.assertEqual(self.successResultOf(asked).relay, RELAY)
        self.assertTrue(book.known(PEER))
        self.assertEqual(book.hostNamed(PEER), "203.0.113.7")
        book.node.clock.advance(NAMED_FOR)
        self.assertEqual((book.known(PEER), book.hostNamed(PEER)), (False, None))

    def test_whereIs(self):
        """(host, port), or None when it names no address (nothing written)."""
        tracker = Tracker()
        book = bookOf(tracker)
        found = book.whereIs(PEER)
        tracker.asked[0][1].callback(wire.NodeReply(PEER, "203.0.113.7", 9001))
        self.assertEqual(self.successResultOf(found), ("203.0.113.7", 9001))
        nowhere = book.whereIs(PEER + 1)
        tracker.asked[1][1].callback(wire.NodeReply(PEER + 1, "", 0))
        self.assertIsNone(self.successResultOf(nowhere))
        self.assertEqual(book.paths(PEER + 1), ())

    def test_noTracker(self):
        """No tracker to ask: the question fails, saying so, as one the
        tracker did not answer does."""
        failure = self.failureResultOf(bookOf().ask(PEER), TrackerGone)
        self.assertEqual(str(failure.value), "no tracker to ask")

    def test_vouches(self):
        """The tracker's own relay is vouched for any peer; a relay the
        tracker named, for that peer alone."""
        book = bookOf(Tracker())
        self.assertTrue(book.vouches(TRACKERS, PEER))
        book.trackerNamed(wire.NodeReply(PEER, "203.0.113.7", 9001, relay=RELAY))
        self.assertEqual((book.vouches(RELAY, PEER), book.vouches(RELAY, PEER + 1)),
                         (True, False))
