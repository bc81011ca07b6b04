"""
Tests of L{twisted_bazaar.transports.path}: a path's kind and word are
one of those declared, and it says itself plainly.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.transports.path import (
    CONFIGURED, DIRECT, KINDS, MAPPED, RELAYED, SEEN, Path)


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
