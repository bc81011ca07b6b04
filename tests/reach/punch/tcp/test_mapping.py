"""Tests for L{twisted_bazaar.reach.punch.tcp.mapping}: whether a punch
can work from a node, from where a third party saw its connection."""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach.punch.tcp.mapping import UNKNOWN, mappingOf
from twisted_bazaar.transports.path import CONFIGURED, Path
from twisted_bazaar.transports.websocket import WEBSOCKET


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

    def test_trackerReachedByAPluginsWay(self):
        """A node that reaches its tracker by a transport plugin's way
        (``--tracker ws:``) punches none, whatever its router keeps: the
        one way out it knows gets through is that kind to that port."""
        way = Path(WEBSOCKET, "192.0.2.1", 80, word=CONFIGURED)
        mapping = mappingOf("198.51.100.7", 40123, 40123, way)
        self.assertFalse(mapping.punchable)
        self.assertEqual((mapping.host, mapping.why), ("198.51.100.7", (
            "it reaches its tracker over websocket (port 80), the one way out it knows "
            "gets through, and a punch dials another port; it stays on relayed links")))

    def test_noUdpByAPluginsWay(self):
        """Nor over UDP, which its refusals say (``udp`` false): its
        datagrams do not leave.  Any other mapping may punch over UDP."""
        way = Path(WEBSOCKET, "192.0.2.1", 80, word=CONFIGURED)
        self.assertFalse(mappingOf("198.51.100.7", 40123, 40123, way).udp)
        for seen in (("198.51.100.7", 40123, 40123), ("198.51.100.7", 51999, 40123),
                     ("", 0, 40123)):
            self.assertTrue(mappingOf(*seen).udp)
