"""Tests for L{twisted_bazaar.reach.punch.mapping}: whether a punch
can work from a node, from where a third party saw its connection."""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach.punch.mapping import UNKNOWN, mappingOf


class MappingTests(SynchronousTestCase):
    def test_keepsPorts(self):
        """Seen from the port it was sent from: the router keeps ports, and
        a punch can work, from the public host seen."""
        mapping = mappingOf("198.51.100.7", 40123, 40123)
        self.assertTrue(mapping.punchable)
        self.assertEqual((mapping.host, mapping.why), ("198.51.100.7", ""))

    def test_drawsPorts(self):
        """Seen from another port: the router draws them (a symmetric NAT),
        and a punch cannot work; the reason names both ports."""
        mapping = mappingOf("198.51.100.7", 51999, 40123)
        self.assertFalse(mapping.punchable)
        self.assertEqual(mapping.why, (
            "its router changed the source port of its tracker connection (sent from "
            "port 40123, seen from 198.51.100.7:51999): it draws a port for each "
            "connection (a symmetric NAT), so no peer could aim a punch at it; it "
            "stays on relayed links"))

    def test_unknown(self):
        """Nothing seen yet (no check, or port 0): no punch."""
        for seen in (("", 0, 40123), ("198.51.100.7", 0, 40123),
                     ("198.51.100.7", 40123, 0)):
            self.assertIs(mappingOf(*seen), UNKNOWN)
        self.assertFalse(UNKNOWN.punchable)
