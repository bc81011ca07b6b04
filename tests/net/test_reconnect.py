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

from twisted_bazaar.net.reconnect import PROBE_BACKOFF, Reconnector, roundDelay

from tests.helpers import clockStartMs


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
            "cannot reach the tracker at 127.0.0.1:7700: nothing listens there "
            "(connection refused); trying again in 0.2 s"])
        [retry] = self.clock.getDelayedCalls()
        # To a µs: a float clock at an epoch keeps 0.24 µs (2**-22 s).
        self.assertLess(abs(retry.getTime() - self.clock.seconds() - 0.246913578), 1e-6)
        self.clock.advance(0.25)
        self.assertEqual(len(self.endpoint.attempts), 2)
        self.endpoint.attempts[1].errback(refused)
        self.assertTrue(self.lines()[1].endswith("trying again in 0.5 s"))

    def test_theSameReasonIsSaidOnce(self):
        """A failure for the reason the last try there failed for is said
        shortly (issue 96 LOW: a ws: address at the tracker's TCP port
        repeated its long reason at every try), a new reason in full, and
        the same again in full once a connection served."""
        self.reconnector.start()
        wrong = Failure(error.ConnectError(string="answered, but not as a WebSocket port"))
        for attempt in range(3):
            self.endpoint.attempts[-1].errback(wrong)
            self.clock.advance(10)
        self.endpoint.attempts[-1].errback(Failure(error.ConnectionRefusedError()))
        self.clock.advance(10)
        self.endpoint.attempts[-1].callback(_protocol())
        self.reconnector.succeeded()
        self.reconnector.lost(Failure(error.ConnectionDone()))
        self.clock.advance(10)
        self.endpoint.attempts[-1].errback(Failure(error.ConnectionRefusedError()))
        self.assertEqual([line.split(";")[0] for line in self.lines()], [
            "cannot reach the tracker at 127.0.0.1:7700: An error occurred while "
            "connecting: answered, but not as a WebSocket port",
            "cannot reach the tracker at 127.0.0.1:7700, for the same reason as before",
            "cannot reach the tracker at 127.0.0.1:7700, for the same reason as before",
            "cannot reach the tracker at 127.0.0.1:7700: nothing listens there "
            "(connection refused)",
            "lost the tracker at 127.0.0.1:7700: it closed the connection (it stopped, "
            "restarted or crashed)",
            "cannot reach the tracker at 127.0.0.1:7700: nothing listens there "
            "(connection refused)"])
        self.assertTrue(all("trying again in" in line for line in self.lines()))

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

    def test_twistedsReasonsInWords(self):
        """A tracker killed with kill -9 (its kernel closes its sockets:
        a clean close), or gone, was said in Twisted's words ("Connection
        was closed cleanly", "Connection was refused by other side: 111:
        ..."); they are said in the project's, what happened to the
        tracker; a reason of its own (a QUIC close's) is kept."""
        from twisted_bazaar.net.link import ClosedHere

        self.reconnector.start()
        for failure in (error.ConnectionDone(), error.ConnectionLost(),
                        error.getConnectError((111, "Connection refused")),
                        error.getConnectError((110, "Connection timed out")),
                        ClosedHere(), error.ConnectionDone("the QUIC connection closed")):
            self.endpoint.attempts[-1].callback(_protocol())
            self.reconnector.lost(Failure(failure))
            self.clock.advance(100)
        self.assertEqual([line.split("; trying")[0] for line in self.lines()], [
            "lost the tracker at 127.0.0.1:7700: it closed the connection (it stopped, "
            "restarted or crashed)",
            "lost the tracker at 127.0.0.1:7700: the connection broke (it crashed, or the "
            "network failed)",
            "lost the tracker at 127.0.0.1:7700: nothing listens there (connection "
            "refused)",
            "lost the tracker at 127.0.0.1:7700: no answer (the connection timed out)",
            "lost the tracker at 127.0.0.1:7700: this node closed the connection",
            "lost the tracker at 127.0.0.1:7700: Connection was closed cleanly: the "
            "QUIC connection closed"])

    def test_aTLSTrackersCloseInWords(self):
        """A tracker reached over tls: that stopped (or crashed) was said
        in Twisted's words, "Connection to the other side was lost in a
        non-clean fashion: Connection lost" (issue 96 LOW): Twisted's TLS
        turns its peer's end without TLS's close into that stock
        failure, the same for a close and a reset, so the line says what
        either may be; a loss of another reason is kept."""
        from twisted.internet import main

        self.reconnector.start()
        for failure in (main.CONNECTION_LOST, error.ConnectionLost("gone")):
            self.endpoint.attempts[-1].callback(_protocol())
            self.reconnector.lost(Failure(failure))
            self.clock.advance(100)
        self.assertEqual([line.split("; trying")[0] for line in self.lines()], [
            "lost the tracker at 127.0.0.1:7700: the connection ended without TLS's "
            "close (it stopped, restarted or crashed, or the network failed)",
            "lost the tracker at 127.0.0.1:7700: Connection to the other side was lost "
            "in a non-clean fashion: gone"])

    def test_aCloseAsThisNodeResumesIsLikelyItsSilence(self):
        """A node resumed after a stop (kill -STOP 30 s, then -CONT) that
        finds its tracker closed the connection said the tracker "stopped,
        restarted or crashed" (issue 96 LOW): its deadlines saw it did not
        run, so it says the likely cause, its own silence; once it has run
        a while, a close is the peer's again."""
        from twisted_bazaar.net.timers import deadlinesFor

        self.reconnector.start()
        deadlines = deadlinesFor(self.clock)
        deadlines.callLater(10, lambda: None)
        self.clock.advance(40)   # stopped from 0 to 40: 30 s late
        self.clock.advance(0)
        for failure in (error.ConnectionDone(), error.ConnectionLost()):
            self.endpoint.attempts[-1].callback(_protocol())
            self.reconnector.lost(Failure(failure))
            self.clock.advance(1)
        self.clock.advance(100)
        self.endpoint.attempts[-1].callback(_protocol())
        self.reconnector.lost(Failure(error.ConnectionDone()))
        self.assertEqual([line.split("; trying")[0] for line in self.lines()], [
            "lost the tracker at 127.0.0.1:7700: it closed the connection, likely for "
            "this node's silence: this node did not run for at least 30 s (the machine "
            "asleep, or the process stopped), past the time a peer waits on a silent link",
            "lost the tracker at 127.0.0.1:7700, for the same reason as before",
            "lost the tracker at 127.0.0.1:7700: it closed the connection (it stopped, "
            "restarted or crashed)"])

    def test_aKeyRefusedIsAWarningOnce(self):
        """A tracker that does not prove the key pinned for it will not
        cure itself: the first line is a warning (it was an info retry
        line), the retries after it the short lines at info."""
        from twisted.logger import LogLevel

        from twisted_bazaar.net.encrypted import ChannelFailed, KeyRefused

        self.reconnector.start()
        refused = Failure(KeyRefused("the tracker proved AAAA…, not BBBB…"))
        for _ in range(3):
            self.endpoint.attempts[-1].callback(_protocol())
            self.reconnector.lost(refused)
            self.clock.advance(100)
        self.endpoint.attempts[-1].callback(_protocol())
        self.reconnector.lost(Failure(ChannelFailed("no channel handshake within 10 s")))
        self.assertEqual([(event["log_level"], formatEvent(event).split("; trying")[0])
                          for event in self.events], [
            (LogLevel.warn, "lost the tracker at 127.0.0.1:7700: the tracker proved "
                            "AAAA…, not BBBB…"),
            (LogLevel.info, "lost the tracker at 127.0.0.1:7700, for the same reason as "
                            "before"),
            (LogLevel.info, "lost the tracker at 127.0.0.1:7700, for the same reason as "
                            "before"),
            (LogLevel.info, "lost the tracker at 127.0.0.1:7700: no channel handshake "
                            "within 10 s")])

    def test_noRouteInWords(self):
        """A dial the network has no way for was Twisted's words, which
        call ENETUNREACH "No route to host" ("No route to host: 101:
        Network is unreachable", "An error occurred while connecting: 113:
        No route to host"): the system's own reason, said once."""
        from twisted_bazaar.net.reconnect import inWords
        self.assertEqual([inWords(Failure(error.getConnectError(e))) for e in (
            (101, "Network is unreachable"), (113, "No route to host"))],
            ["the network is unreachable (this machine has no route to it)",
             "no route to the host (it is down, or a firewall rejects the dial)"])

    def test_noAddressOfTheFamilyInWords(self):
        """An IPv4-only node told of an IPv6 one in a dual-stack market
        logged "could not link to node ... An error occurred while
        connecting: 99: Cannot assign requested address"."""
        from twisted_bazaar.net.reconnect import inWords
        self.assertEqual(inWords(Failure(error.getConnectError(
            (99, "Cannot assign requested address")))),
            "this machine has no address to dial it from (none of its family: an "
            "IPv6 address from a machine on IPv4 only, or the other way round; or "
            "no free local port)")

    def test_aDialsTimeLimitInWords(self):
        """A dial an endpoint gave up on (its timeout) was Twisted's "User
        timeout caused connection failure": s57-user2's buyer at an
        HTTP-only home, whose seller was held at a relay with no WebSocket
        port, said so after 120 s."""
        from twisted_bazaar.net.reconnect import inWords
        self.assertEqual(inWords(Failure(error.TimeoutError())),
                         "no answer within the dial's time limit (a firewall may drop "
                         "the way there)")

    def test_aResetDialInWords(self):
        """A laptop frozen as it dialled its tracker: the tracker closed
        the connection that said nothing for 10 s, and the node, resumed,
        logged Twisted's "An error occurred while connecting: 104:
        Connection reset by peer"; it is said in words."""
        from twisted_bazaar.net.reconnect import inWords
        self.assertEqual(inWords(Failure(error.getConnectError(
            (104, "Connection reset by peer")))),
            "the far end reset the connection as it was made (it closed it before "
            "this node spoke)")

    def test_aTLSFailureInWords(self):
        """A tracker over tls: whose certificate the node does not trust
        was logged as pyOpenSSL's list, "[('SSL routines', '',
        'certificate verify failed')]", while running.md promised its
        reason in words; it is now said so."""
        from OpenSSL import SSL

        self.reconnector.start()
        self.endpoint.attempts[0].callback(_protocol())
        self.reconnector.lost(Failure(SSL.Error([("SSL routines", "",
                                                  "certificate verify failed")])))
        self.assertEqual(self.lines()[-1], "lost the tracker at 127.0.0.1:7700: the TLS "
                         "handshake failed: certificate verify failed; trying again "
                         "in 0.2 s")

    def test_connectionsThatDoNotServeBackOff(self):
        """A peer that takes each connection only to close it (a tracker
        refusing noslots) is tried after longer and longer delays."""
        self.reconnector.start()
        for attempt in range(3):
            self.endpoint.attempts[-1].callback(_protocol())
            self.reconnector.lost(Failure(error.ConnectionDone()))
            [retry] = self.clock.getDelayedCalls()
            self.assertLess(abs(retry.getTime() - self.clock.seconds()
                                - 0.123456789 * 2 ** (attempt + 1)), 1e-6)
            self.clock.advance(retry.getTime() - self.clock.seconds())

    def test_lostWhileShuttingDownIsNotRetried(self):
        self.reconnector.start()
        self.endpoint.attempts[0].callback(_protocol())
        self.reconnector.lost(Failure(error.ConnectionDone()), again=False)
        self.assertEqual((self.lines(), self.clock.getDelayedCalls()), ([], []))
        self.assertEqual(len(self.endpoint.attempts), 1)

    def test_lostAsItsOwnerStopsIsNotSaid(self):
        """A loss once the owner is stopping, though it has not said so
        (a stop signal came: L{Reconnector.ownerStopping}), is not said
        nor tried again: a tracker stopped with its node by one SIGTERM
        was said lost, `trying again in 0.7 s` (s55-user)."""
        stopping = []
        self.reconnector.stopsWhen(lambda: bool(stopping))
        self.reconnector.start()
        self.endpoint.attempts[0].callback(_protocol())
        stopping.append(True)
        self.reconnector.lost(Failure(error.ConnectionDone()))
        self.assertEqual((self.lines(), self.clock.getDelayedCalls()), ([], []))
        self.assertEqual(len(self.endpoint.attempts), 1)

    def test_stopTryingKeepsTheConnection(self):
        """stopTrying (the node's parts stop first, which may still use
        the connection) keeps the connection up; its loss then is not
        said nor tried again, and a retry due is cancelled."""
        self.reconnector.start()
        protocol = _protocol()
        self.endpoint.attempts[0].callback(protocol)
        self.reconnector.stopTrying()
        self.assertFalse(protocol.transport.disconnecting)
        self.reconnector.lost(Failure(error.ConnectionDone()))
        self.assertEqual((self.lines(), self.clock.getDelayedCalls()), ([], []))
        self.successResultOf(self.reconnector.stop())

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


class FailoverTests(SynchronousTestCase):
    """Several peers (a node's trackers): one at a time, the next on a
    failure or a loss, and back to one named before once it answers."""

    def setUp(self):
        self.clock = task.Clock()
        self.first, self.second = _Endpoint(), _Endpoint()
        self.events = []
        self.moves = []
        self.reconnector = Reconnector(
            self.first, object(), self.clock, lambda attempt: 0.5, "the tracker at A",
            others=[(self.second, "the tracker at B")], probe_interval=30,
            onMove=self.moves.append)
        self.reconnector.log = Logger(observer=self.events.append)

    def lines(self):
        return [formatEvent(event) for event in self.events]

    def onSecond(self):
        """Started, refused by the first, connected to the second."""
        self.reconnector.start()
        self.first.attempts[0].errback(Failure(error.ConnectionRefusedError()))
        self.clock.advance(0.5)
        protocol = _protocol()
        self.second.attempts[0].callback(protocol)
        self.reconnector.succeeded()
        return protocol

    def test_refusedMovesOnToTheNext(self):
        protocol = self.onSecond()
        self.assertEqual(self.lines()[0], "cannot reach the tracker at A: nothing listens "
                         "there (connection refused); trying the tracker at B in 0.5 s")
        self.assertIs(self.reconnector.connected, protocol)
        self.assertIs(self.reconnector.endpoint, self.second)

    def test_lostMovesOnAndWrapsAround(self):
        self.onSecond()
        self.reconnector.lost(Failure(error.ConnectionDone()))
        self.assertTrue(self.lines()[-1].startswith("lost the tracker at B: "))
        self.assertTrue(self.lines()[-1].endswith("; trying the tracker at A in 0.5 s"))
        self.clock.advance(0.5)
        self.assertEqual(len(self.first.attempts), 2)

    def test_theSameReasonIsSaidOnceAPeer(self):
        """Each peer's reason is its own: refused by both in turn, each
        is said in full once, then shortly."""
        self.reconnector.start()
        for attempt in range(4):
            endpoint = (self.first, self.second)[attempt % 2]
            endpoint.attempts[-1].errback(Failure(error.ConnectionRefusedError()))
            self.clock.advance(0.5)
        self.assertEqual([line.split(";")[0] for line in self.lines()], [
            "cannot reach the tracker at A: nothing listens there (connection refused)",
            "cannot reach the tracker at B: nothing listens there (connection refused)",
            "cannot reach the tracker at A, for the same reason as before",
            "cannot reach the tracker at B, for the same reason as before"])

    def test_backToTheFirstOnceItAnswers(self):
        """Connected to the second, the first is asked every probe_interval;
        once it takes a connection (closed at once), the owner is told to
        close the connection up, and the next one is to the first."""
        self.onSecond()
        self.clock.advance(30)
        probe = self.first.attempts[-1]
        probe.errback(Failure(error.ConnectionRefusedError()))
        self.assertEqual(self.moves, [])
        self.clock.advance(30)
        answered = _protocol()
        self.first.attempts[-1].callback(answered)
        self.assertEqual(self.moves, ["the tracker at A takes connections again: "
                                      "moving back to it from the tracker at B"])
        self.reconnector.lost(Failure(error.ConnectionDone()))
        # Its own move, not a loss (issue 96: "lost the tracker at B: ...").
        self.assertEqual(self.lines()[-1], "left the tracker at B to move back; trying "
                         "the tracker at A in 0.5 s")
        self.clock.advance(0.5)
        self.assertIs(self.reconnector.endpoint, self.first)
        self.assertEqual(len(self.first.attempts), 4)

    def test_noProbeOnTheFirstAndNoneAfterStop(self):
        self.reconnector.start()
        self.first.attempts[0].callback(_protocol())
        self.reconnector.succeeded()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.reconnector.lost(Failure(error.ConnectionDone()))
        self.clock.advance(0.5)
        self.second.attempts[0].callback(_protocol())
        self.reconnector.succeeded()
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.reconnector.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_lossCancelsAProbeUnderWay(self):
        self.onSecond()
        self.clock.advance(30)
        probe = self.first.attempts[-1]
        self.reconnector.lost(Failure(error.ConnectionDone()))
        self.assertEqual(self.first.cancelled, [probe])
        self.assertEqual(self.moves, [])

    def test_aMoveBackRefusedProbesLessOften(self):
        """A first peer that takes connections only to refuse this client
        (no room, another key): each move back that does not serve makes
        the next probe wait twice as long; one that serves the longest wait
        (PROBE_BACKOFF times probe_interval) resets it."""
        self.onSecond()
        for wait in (30, 60, 120):
            self.clock.advance(wait - 0.001)
            probes = len(self.first.attempts)
            self.clock.advance(0.001)
            self.assertEqual(len(self.first.attempts), probes + 1, wait)
            self.first.attempts[-1].callback(_protocol())
            self.reconnector.lost(Failure(error.ConnectionDone()))  # left the second
            self.clock.advance(0.5)
            self.first.attempts[-1].callback(_protocol())
            self.reconnector.lost(Failure(error.ConnectionDone()))  # refused there
            self.clock.advance(0.5)
            self.second.attempts[-1].callback(_protocol())
            self.reconnector.succeeded()
        self.assertEqual(self.reconnector._probeDelay, 240)
        self.clock.advance(240)
        self.first.attempts[-1].callback(_protocol())
        self.reconnector.lost(Failure(error.ConnectionDone()))
        self.clock.advance(0.5)
        self.first.attempts[-1].callback(_protocol())
        self.reconnector.succeeded()
        self.clock.advance(30 * PROBE_BACKOFF)
        self.reconnector.lost(Failure(error.ConnectionDone()))
        self.assertEqual(self.reconnector._probeDelay, 30)


    def droppedAfter(self, served):
        """For 600 s, on the second peer: the first takes each move back
        (it serves), and drops it ``served`` seconds later."""
        self.onSecond()
        end = clockStartMs() / 1000 + 600  # 600 s from where the test's clock began
        while self.clock.seconds() < end:
            self.clock.advance(1)
            if self.first.attempts and not self.first.attempts[-1].called:
                self.first.attempts[-1].callback(_protocol())
                if self.moves and self.reconnector.endpoint is self.first:
                    self.reconnector.succeeded()
                    self.clock.advance(served)
                    self.reconnector.lost(Failure(error.ConnectionDone()))
                elif self.moves and self.reconnector.connected is not None:
                    self.reconnector.lost(Failure(error.ConnectionDone()))
            if self.second.attempts and not self.second.attempts[-1].called:
                self.second.attempts[-1].callback(_protocol())
                self.reconnector.succeeded()
    def test_aMoveBackServingBrieflyProbesLessOften(self):
        """A first peer that takes this client and drops it a second later
        (a tracker crashing in a loop, or one that wants its nodes off
        the others): each move back served, so each reset the wait, and
        the client left its working second peer every 30 s (20 times in
        10 minutes).  A move back counts as served only once it lasted
        probe_interval: one that ends sooner makes the next probe wait
        twice as long, as one refused does."""
        self.droppedAfter(1)
        self.assertLessEqual(len(self.moves), 5)
        self.assertEqual(self.reconnector._probeDelay, 30 * 16)

    def test_aMoveBackDroppedOnceItServedAnIntervalProbesLessOften(self):
        """The same peer, adapted to the rule above: it keeps this client
        one probe_interval and a second, then drops it.  Each move back
        counted as served, so the wait started again from 30 s: the client
        left its working second peer every minute (10 times in 10 minutes),
        half its time on the first.  A move back counts as served only
        once it lasted the longest wait between probes (PROBE_BACKOFF
        times probe_interval): this one doubles the wait each time."""
        self.droppedAfter(31)
        self.assertLessEqual(len(self.moves), 4)
        self.assertEqual(self.reconnector._probeDelay, 30 * PROBE_BACKOFF)

    def test_aMoveOnToAPeerNamedBeforeIsNoFailure(self):
        """Moved back to the second of three peers, the client leaves it
        for the first once that answers a probe: the second did not drop
        it, so the wait between probes is not doubled for it."""
        third = _Endpoint()
        self.reconnector.targets.append((third, "the tracker at C"))
        self.reconnector.start()
        self.first.attempts[0].errback(Failure(error.ConnectionRefusedError()))
        self.clock.advance(0.5)
        self.second.attempts[0].errback(Failure(error.ConnectionRefusedError()))
        self.clock.advance(0.5)
        third.attempts[0].callback(_protocol())
        self.reconnector.succeeded()
        self.clock.advance(30)
        self.first.attempts[-1].errback(Failure(error.ConnectionRefusedError()))
        self.second.attempts[-1].callback(_protocol())  # the second answers
        self.reconnector.lost(Failure(error.ConnectionDone()))
        self.clock.advance(0.5)
        self.second.attempts[-1].callback(_protocol())
        self.reconnector.succeeded()
        self.clock.advance(30)
        self.first.attempts[-1].callback(_protocol())  # the first answers
        self.reconnector.lost(Failure(error.ConnectionDone()))
        self.assertIs(self.reconnector.endpoint, self.first)
        self.assertEqual(self.reconnector._probeDelay, 30)


class TlsReasonTests(SynchronousTestCase):
    """A tracker's TLS handshake that failed names the right way out:
    a port that speaks no TLS is no certificate to trust (issue 96
    LOW)."""

    def reason(self, *reasons):
        from OpenSSL import SSL

        from twisted_bazaar.net.reconnect import inWords
        return inWords(Failure(SSL.Error([("SSL routines", "", r) for r in reasons])))

    def test_aPlainPortSpeaksNoTLS(self):
        for why in ("wrong version number", "unexpected eof while reading"):
            self.assertEqual(self.reason(why),
                             f"the TLS handshake failed: {why} (the port does not speak "
                             "TLS: a tracker listening on plain TCP is reached at "
                             "HOST:PORT, without tls:)")

    def test_aCertificateForAnotherHost(self):
        """The node's retry line says it as `bazaar` does, not
        service_identity's repr."""
        from tests.status.test_client import MISMATCH_WORDS, _mismatch
        from twisted_bazaar.net.reconnect import inWords
        self.assertEqual(inWords(_mismatch()), MISMATCH_WORDS)

    def test_aCertificateNotTrustedIsAsItWas(self):
        self.assertEqual(self.reason("certificate verify failed"),
                         "the TLS handshake failed: certificate verify failed")
