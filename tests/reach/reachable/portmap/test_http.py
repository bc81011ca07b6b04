"""The router's HTTP answers, read up to a bound."""

from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import ResponseDone, ResponseFailed

from twisted_bazaar.reach.reachable.portmap.errors import MappingFailed
from twisted_bazaar.reach.reachable.portmap.http import BoundedBody


class BoundedBodyTests(SynchronousTestCase):
    def body(self, limit=10):
        collector = BoundedBody(200, limit)
        collector.makeConnection(StringTransport())
        return collector

    def test_whole(self):
        collector = self.body()
        collector.dataReceived(b"0123")
        collector.dataReceived(b"456789")
        collector.connectionLost(Failure(ResponseDone()))
        self.assertEqual(self.successResultOf(collector.deferred), (200, b"0123456789"))

    def test_overTheBound(self):
        """One byte more than the bound: cut off (the transfer stopped),
        and it says so."""
        collector = self.body()
        collector.dataReceived(b"0123456789x")
        self.assertEqual(collector.transport.producerState, "stopped")
        self.assertIn("over 10 bytes; cut off",
                      str(self.failureResultOf(collector.deferred, MappingFailed).value))
        collector.connectionLost(Failure(ResponseDone()))

    def test_brokenOff(self):
        collector = self.body()
        collector.connectionLost(Failure(ResponseFailed([])))
        self.assertIn("broke off", str(self.failureResultOf(collector.deferred,
                                                            MappingFailed).value))
