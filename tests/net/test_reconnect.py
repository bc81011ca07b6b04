"""
Tests for twisted_bazaar.net.reconnect: one client connection kept up with
backoff, and log lines that say whom, why and when.
"""

from twisted.internet import defer, error, task
from twisted.internet.protocol import Protocol
from twisted.internet.testing import StringTransport
from twisted.logger import Logger, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.reconnect import Reconnector, roundDelay


class _Endpoint:
    """Hands out one pending Deferred per connect()."""

    def __init__(self):
        self.attempts = []
        self.cancelled = []

    def connect(self, factory):
        d = defer.Deferred(self.cancelled.append)
        self.attempts.append(d)
        return d


def _protocol():
    protocol = Protocol()
    protocol.makeConnection(StringTransport())
    return protocol


class ReconnectorTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.endpoint = _Endpoint()
        self.events = []
        self.reconnector = Reconnector(self.endpoint, object(), self.clock,
                                       lambda attempt: 0.123456789 * 2 ** attempt,
                                       "the tracker at 127.0.0.1:7700")
        self.reconnector.log = Logger(observer=self.events.append)

    def lines(self):
        return [formatEvent(event) for event in self.events]

    def test_failuresAreRetriedWithTheirReasonAndARoundedDelay(self):
        self.reconnector.start()
        refused = Failure(error.ConnectionRefusedError("Connection refused"))
        self.endpoint.attempts[0].errback(refused)
        self.assertEqual(self.lines(), [
            "cannot reach the tracker at 127.0.0.1:7700: Connection was refused by "
            "other side: Connection refused; trying again in 0.2 s"])
        [retry] = self.clock.getDelayedCalls()
        self.assertAlmostEqual(retry.getTime(), 0.246913578)
        self.clock.advance(0.25)
        self.assertEqual(len(self.endpoint.attempts), 2)
        self.endpoint.attempts[1].errback(refused)
        self.assertTrue(self.lines()[1].endswith("trying again in 0.5 s"))

    def test_successResetsTheAttempts(self):
        self.reconnector.start()
        self.endpoint.attempts[0].errback(Failure(error.ConnectionRefusedError()))
        self.clock.advance(1)
        protocol = _protocol()
        self.endpoint.attempts[1].callback(protocol)
        self.assertIs(self.reconnector.connected, protocol)
        self.reconnector.succeeded()
        self.reconnector.lost(Failure(error.ConnectionLost("gone")))
        self.assertIsNone(self.reconnector.connected)
        self.assertEqual(self.lines()[-1], "lost the tracker at 127.0.0.1:7700: "
                         "Connection to the other side was lost in a non-clean "
                         "fashion: gone; trying again in 0.2 s")

    def test_connectionsThatDoNotServeBackOff(self):
        """A peer that takes each connection only to close it (a tracker
        refusing noslots) is tried after longer and longer delays."""
        self.reconnector.start()
        for attempt in range(3):
            self.endpoint.attempts[-1].callback(_protocol())
            self.reconnector.lost(Failure(error.ConnectionDone()))
            [retry] = self.clock.getDelayedCalls()
            self.assertAlmostEqual(retry.getTime() - self.clock.seconds(),
                                   0.123456789 * 2 ** (attempt + 1))
            self.clock.advance(retry.getTime() - self.clock.seconds())

    def test_lostWhileShuttingDownIsNotRetried(self):
        self.reconnector.start()
        self.endpoint.attempts[0].callback(_protocol())
        self.reconnector.lost(Failure(error.ConnectionDone()), again=False)
        self.assertEqual((self.lines(), self.clock.getDelayedCalls()), ([], []))
        self.assertEqual(len(self.endpoint.attempts), 1)

    def test_stopCancelsTheRetry(self):
        self.reconnector.start()
        self.endpoint.attempts[0].errback(Failure(error.ConnectionRefusedError()))
        self.successResultOf(self.reconnector.stop())
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_stopCancelsTheAttempt(self):
        self.reconnector.start()
        self.successResultOf(self.reconnector.stop())
        self.assertEqual(self.endpoint.cancelled, self.endpoint.attempts)
        self.assertEqual((self.lines(), self.clock.getDelayedCalls()), ([], []))

    def test_stopClosesTheConnectionAndWaits(self):
        self.reconnector.start()
        protocol = _protocol()
        self.endpoint.attempts[0].callback(protocol)
        stopped = self.reconnector.stop()
        self.assertNoResult(stopped)
        self.assertTrue(protocol.transport.disconnecting)
        self.reconnector.lost(Failure(error.ConnectionDone()))
        self.successResultOf(stopped)
        self.assertEqual((self.lines(), self.clock.getDelayedCalls()), ([], []))

    def test_roundDelay(self):
        self.assertEqual([roundDelay(d) for d in (0.04, 1.651602416711412, 9.96,
                                                  12.4, 30.0)],
                         ["0.0", "1.7", "10.0", "12", "30"])
