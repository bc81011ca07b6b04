"""
A daemon's WebSocket port as a service (listened on at start, logged,
closed at stop; a port that cannot listen ends the daemon saying why).
"""

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.transports.websocket.service import WebSocketService


class Port:
    def __init__(self):
        self.stopped = False

    def getHost(self):
        return IPv4Address("TCP", "0.0.0.0", 443)


class Transport:
    def __init__(self, listening):
        self.listening = listening
        self.stopped = False

    def stopListening(self):
        self.stopped = True


class ServiceTests(SynchronousTestCase):

    def test_listensAndStops(self):
        transport = Transport(defer.succeed(Port()))
        failures = []
        service = WebSocketService(transport, lambda t: t.listening, failures.append,
                                   "--ws-port 443")
        service.startService()
        self.assertIsNotNone(service.port)
        service.stopService()
        self.assertTrue(transport.stopped)
        self.assertEqual(failures, [])

    def test_aPortThatCannotListenEndsTheDaemon(self):
        transport = Transport(defer.fail(OSError("Address already in use")))
        failures = []
        WebSocketService(transport, lambda t: t.listening, failures.append,
                         "--ws-port 443").startService()
        self.assertEqual(failures, ["websocket cannot listen on --ws-port 443: "
                                    "Address already in use"])

