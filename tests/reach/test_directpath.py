"""
Tests for L{twisted_bazaar.reach.directpath}: which peers a node reaches
with no relay and no punch, read from its book of paths.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.reach.book import NAMED_FOR
from twisted_bazaar.reach.directpath import directPath
from twisted_bazaar.reach.lanpaths import LanPaths
from twisted_bazaar.transports.path import CONFIGURED, DIRECT, LAN, MAPPED, SEEN, UDP, Path

from tests.helpers import makeNode, nodeReply

PEER = 1234


class DirectPathTests(SynchronousTestCase):
    def setUp(self):
        self.node = makeNode(1)
        self.book = self.node.whereabouts.book

    def test_nothingKnown(self):
        self.assertIsNone(directPath(self.book, None, PEER))

    def test_namedWithNoRelay(self):
        """The tracker named the peer at its host with no relay: dialled
        there, while its word is fresh."""
        self.book.trackerNamed(wire.NodeReply(PEER, "198.51.100.7", 9000))
        self.assertEqual(directPath(self.book, None, PEER),
                         Path(DIRECT, "198.51.100.7", 9000, word=SEEN))
        self.node.clock.advance(NAMED_FOR)
        self.assertIsNone(directPath(self.book, None, PEER))

    def test_namedWithARelay(self):
        """A peer at home (named with its relay), or one that says itself
        it has none (a claim): no direct path."""
        self.book.trackerNamed(nodeReply(PEER, "198.51.100.7", 9000,
                                              "192.0.2.1:7701"))
        self.assertIsNone(directPath(self.book, None, PEER))
        self.book.claimed(PEER + 1, None)
        self.assertIsNone(directPath(self.book, None, PEER + 1))

    def test_anAddressHeardIsNoDirectPath(self):
        """A peer at home heard at an address (an offer's, a ring
        entry's: a claim) is not dialled there rather than punched."""
        self.book.trackerNamed(nodeReply(PEER, "198.51.100.7", 9000,
                                              "192.0.2.1:7701"))
        self.book.heard(PEER, "198.51.100.8", 9000, namedBy="203.0.0.0/16")
        self.assertIsNone(directPath(self.book, None, PEER))

    def test_mappedAndConfigured(self):
        """A port its router mapped, a QUIC address the operator
        configured: direct; a UDP path a punch met is not such a word."""
        self.book.add(PEER, Path(UDP, "198.51.100.7", 4433, word=SEEN))
        self.assertIsNone(directPath(self.book, None, PEER))
        configured = Path(UDP, "198.51.100.7", 4433, word=CONFIGURED)
        self.book.add(PEER, configured)
        self.assertEqual(directPath(self.book, None, PEER), configured)
        mapped = Path(MAPPED, "198.51.100.7", 9001, word=SEEN)
        self.book.add(PEER + 1, mapped)
        self.assertEqual(directPath(self.book, None, PEER + 1), mapped)

    def test_lan(self):
        """A local address the tracker named, on this node's own network,
        behind the same public address, not failed lately."""
        lan = LanPaths(self.node.clock, self.book)
        lan.announce("192.168.1.5")
        self.book.trackerNamed(nodeReply(PEER, "203.0.113.9", 9000,
                                              "192.0.2.1:7701", ("192.168.1.9",)))
        self.assertEqual(directPath(self.book, lan, PEER, "203.0.113.9"),
                         Path(LAN, "192.168.1.9", 9000, word="named"))
        self.assertIsNone(directPath(self.book, lan, PEER, "198.51.100.1"))
        self.book.lanFailed(PEER, "192.168.1.9")
        self.assertIsNone(directPath(self.book, lan, PEER, "203.0.113.9"))
