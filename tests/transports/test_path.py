"""
Tests of L{twisted_bazaar.transports.path}: a path's kind and word are
one of those declared, it says itself plainly, and the kinds are an open
registry, each declared once with the kind of transport that carries it.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.transports.path import (
    CONFIGURED, DIRECT, KINDS, LAN, MAPPED, RELAYED, SEEN, UDP, Kinds, Path)
from twisted_bazaar.transports.websocket import WEBSOCKET


class PathTests(SynchronousTestCase):
    def test_kindsAndWordsChecked(self):
        with self.assertRaises(ValueError):
            Path("carrier-pigeon", "203.0.113.7", 9001)
        with self.assertRaises(ValueError):
            Path(DIRECT, "203.0.113.7", 9001, word="rumour")

    def test_aRouterMappedKind(self):
        """The kind a router's port mapping advertises (issue 70, item 3)."""
        self.assertIn(MAPPED, KINDS)
        self.assertEqual(str(Path(MAPPED, "203.0.113.7", 41000, word=SEEN)),
                         "router-mapped 203.0.113.7:41000 (seen)")

    def test_str(self):
        self.assertEqual(str(Path(DIRECT, "10.0.0.1", 9001, word=CONFIGURED)),
                         "direct 10.0.0.1:9001 (configured)")
        self.assertEqual(str(Path(RELAYED, "", 9001, "198.51.100.1:7701")),
                         "relayed 198.51.100.1:7701 to ?:9001 (claimed)")

    def test_notesAreNotWhatThePathIs(self):
        """The socket a path is dialled from and whom its silence is told
        are notes on it: a path so noted equals, hashes and reads as the
        same path without them (the book finds and drops it by what it
        is)."""
        socket, lost = object(), print
        noted = Path(UDP, "203.0.113.7", 21896, word=SEEN, via=socket, lost=lost)
        bare = Path(UDP, "203.0.113.7", 21896, word=SEEN)
        self.assertEqual(noted, bare)
        self.assertEqual(hash(noted), hash(bare))
        self.assertEqual(repr(noted), repr(bare))
        self.assertEqual((noted.via, noted.lost), (socket, lost))
        self.assertEqual((bare.via, bare.lost), (None, None))


class KindsTests(SynchronousTestCase):
    def test_eachCarried(self):
        """LAN and router-mapped paths are dialled as direct ones; the
        others by a transport of their own kind."""
        self.assertEqual([KINDS.carrierOf(kind) for kind in (LAN, DIRECT, MAPPED)],
                         [DIRECT] * 3)
        self.assertEqual([KINDS.carrierOf(kind) for kind in (UDP, RELAYED, WEBSOCKET)],
                         [UDP, RELAYED, WEBSOCKET])
        # Besides the program's, a test's own kind may be registered
        # (tests/transports/fakekind, once imported).
        self.assertLessEqual({LAN, DIRECT, MAPPED, UDP, RELAYED, WEBSOCKET}, set(KINDS))
        self.assertLessEqual(set(KINDS) - {LAN, DIRECT, MAPPED, UDP, RELAYED, WEBSOCKET},
                             {"fake-carrier-pigeon"})

    def test_aNewKindIsOneLine(self):
        """A kind registered is a path's kind from then on; one registered
        twice is refused, saying which."""
        kinds = Kinds()
        self.assertEqual(kinds.register("pigeon"), "pigeon")
        self.assertIn("pigeon", kinds)
        self.assertEqual(kinds.carrierOf("pigeon"), "pigeon")
        with self.assertRaises(ValueError) as raised:
            kinds.register("pigeon")
        self.assertIn("'pigeon' is declared already", str(raised.exception))
        self.assertNotIn("pigeon", KINDS)
