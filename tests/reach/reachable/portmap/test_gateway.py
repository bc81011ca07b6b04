"""Where the default gateway is, read from a route table."""

import os
import tempfile

from twisted.internet.testing import MemoryReactorClock
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach.reachable.portmap.gateway import defaultGateway, gatewayIn
from twisted_bazaar.reach.reachable.portmap.routers import routerMapper

TABLE = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF
eth0\t00000000\t0100090A\t0003\t0\t0\t0\t00000000
"""


class GatewayTests(SynchronousTestCase):
    def test_defaultRoute(self):
        """The default route's gateway, little-endian hex as Linux writes
        it: 0100090A is 10.9.0.1."""
        self.assertEqual(gatewayIn(TABLE.splitlines()[1:]), "10.9.0.1")

    def _scratch(self):
        """A path in a folder of its own, removed after the test (trial's
        mktemp is relative to the working directory, which under pytest is
        the checkout)."""
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        return os.path.join(folder.name, "route")

    def test_fromFile(self):
        """The gateway of the table in a file."""
        path = self._scratch()
        with open(path, "w") as routes:
            routes.write(TABLE)
        self.assertEqual(defaultGateway(path), "10.9.0.1")

    def test_none(self):
        """No default route, one without the gateway flag, garbage, or no
        table at all: None, never an exception."""
        self.assertIsNone(gatewayIn(TABLE.splitlines()[1:2]))
        self.assertIsNone(gatewayIn(["eth0\t00000000\t0100090A\t0001"]))
        self.assertIsNone(gatewayIn(["eth0\t00000000\tZZZZ\t0003", "x", ""]))
        self.assertIsNone(defaultGateway(self._scratch()))


class NoGatewayTests(SynchronousTestCase):
    def test_noIPv4GatewaySaysIPv4(self):
        """The gateway is read from IPv4's route table alone: on an
        IPv6-only network, whose router is the default route of IPv6, the
        line said "no default gateway"."""
        make = routerMapper(MemoryReactorClock(), gateway=lambda: None)
        with capturedLogs() as events:
            self.assertIsNone(make(9001, "listening port", lambda *a: None))
        self.assertEqual([formatEvent(event) for event in events], [
            "no IPv4 default gateway (or no address toward it): no router to ask to "
            "map TCP port 9001"])
