"""
Tests of L{twisted_bazaar.reach.udproutes}: a path a UDP punch met is
routed through its socket's connectors, by peer and address, until
unrouted.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach.udproutes import UdpRoutes
from twisted_bazaar.transports.path import SEEN, UDP, Path

MET = Path(UDP, "203.0.113.7", 21896, word=SEEN)


class UdpRoutesTests(SynchronousTestCase):
    def test_routedUntilUnrouted(self):
        routes, connectors, lost = UdpRoutes(), ("links", "files"), print
        self.assertIsNone(routes.of(5, MET))
        routes.route(5, MET, connectors, lost)
        self.assertEqual(routes.of(5, MET), (connectors, lost))
        # Another peer, or another path of the same peer, is not routed.
        self.assertIsNone(routes.of(6, MET))
        self.assertIsNone(routes.of(5, Path(UDP, "203.0.113.7", 4433, word=SEEN)))
        routes.unroute(5, MET)
        routes.unroute(5, MET)
        self.assertIsNone(routes.of(5, MET))
