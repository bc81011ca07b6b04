"""
Tests of L{twisted_bazaar.tap.hinted}: a tracker of a transport's kind
whose every try fails says what its address must name.
"""

from twisted.internet import defer
from twisted.internet.error import ConnectionRefusedError
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.address import parseAddress
from twisted_bazaar.net.reconnect import inWords as _reason
from twisted_bazaar.tap.hinted import HintedEndpoint, hintedTracker

HELPS = {"ws": "ws:HOST:PORT for its WebSocket port"}


class _Failing:
    """An endpoint every connection to fails, as a port that speaks
    another protocol makes the transport's fail."""

    def __init__(self, why):
        self.why = why

    def connect(self, factory):
        return defer.fail(self.why)


class HintedTrackerTests(SynchronousTestCase):
    def failure(self, endpoint):
        failures = []
        endpoint.connect(object()).addErrback(failures.append)
        [failure] = failures
        return failure

    def test_aTransportsKindIsHinted(self):
        """A ws: tracker's failure says its reason, then what the address
        must name (issue 96 LOW: it retried for ever with no hint)."""
        address = parseAddress("ws:127.0.0.1:21912", ("tcp", "ws"))
        endpoint = hintedTracker(_Failing(Exception("WebSocket to ws://127.0.0.1:21912/: "
                                                    "connection was closed uncleanly.")),
                                 address, HELPS)
        self.assertIsInstance(endpoint, HintedEndpoint)
        self.assertEqual(_reason(self.failure(endpoint)),
                         "WebSocket to ws://127.0.0.1:21912/: connection was closed "
                         "uncleanly (is 21912 the tracker's port for ws:? --tracker "
                         "ws:HOST:PORT for its WebSocket port)")

    def test_aRefusalInWords(self):
        """A ws: tracker nothing listens at says so in the project's words,
        as a TCP tracker does (issue 96: Twisted's "Connection was refused
        by other side: 111: ..."), then the hint."""
        address = parseAddress("ws:127.0.0.1:21912", ("tcp", "ws"))
        endpoint = hintedTracker(_Failing(ConnectionRefusedError(
            string="111: Connection refused")), address, HELPS)
        self.assertEqual(self.failure(endpoint).getErrorMessage(),
                         "nothing listens there (connection refused) (is 21912 the "
                         "tracker's port for ws:? --tracker ws:HOST:PORT for its "
                         "WebSocket port)")

    def test_aCancelAsItIs(self):
        """A try called off (the node stopping) is not a failure to
        explain: it stays a cancel."""
        address = parseAddress("ws:127.0.0.1:21912", ("tcp", "ws"))
        endpoint = hintedTracker(_Failing(defer.CancelledError()), address, HELPS)
        self.failure(endpoint).trap(defer.CancelledError)

    def test_tcpAndTlsAsTheyAre(self):
        """A TCP or TLS tracker's reasons say enough: its endpoint is left
        as it is, its failure too."""
        for text in ("127.0.0.1:7700", "tcp:127.0.0.1:7700", "tls:example.org:7700"):
            inner = _Failing(ConnectionRefusedError())
            address = parseAddress(text, ("tcp", "tls", "ws"))
            self.assertIs(hintedTracker(inner, address, HELPS), inner, text)

    def test_aKindWithoutHelp(self):
        """A transport that names its endpoints nowhere gives no hint."""
        inner = _Failing(ConnectionRefusedError())
        address = parseAddress("fake:127.0.0.1:1", ("tcp", "fake"))
        self.assertIs(hintedTracker(inner, address, {"fake": None}), inner)

    def test_aReasonThatNamesItsWayOutIsSaidOnce(self):
        """A transport's reason that names its way out already (a ws:
        address at a port that answered, not as WebSocket) is not hinted
        twice."""
        address = parseAddress("ws:127.0.0.1:21912", ("tcp", "ws"))
        why = Exception("127.0.0.1:21912 answered, but not as a WebSocket port (it closed "
                        "the connection without an answer): is 21912 its --ws-port?")
        why.saysWayOut = True
        endpoint = hintedTracker(_Failing(why), address, HELPS)
        self.assertEqual(_reason(self.failure(endpoint)), str(why))
