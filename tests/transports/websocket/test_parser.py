"""
The ``ws:`` endpoint strings through Twisted's own parsers (the plugin
installed), and their bad forms refused with a reason.
"""

from twisted.internet.endpoints import clientFromString, serverFromString
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.transports.websocket.endpoints import (
    WebSocketClientEndpoint, WebSocketServerEndpoint)


class ParserTests(SynchronousTestCase):

    def setUp(self):
        self.reactor = MemoryReactorClock()

    def test_client(self):
        endpoint = clientFromString(self.reactor, "ws:tracker.example:80")
        self.assertIsInstance(endpoint, WebSocketClientEndpoint)
        self.assertEqual(endpoint.url, "ws://tracker.example:80/")
        endpoint = clientFromString(self.reactor, "ws:host=\\:\\:1:port=443:path=/files")
        self.assertEqual(endpoint.url, "ws://[::1]:443/files")

    def test_server(self):
        endpoint = serverFromString(self.reactor, "ws:443:interface=127.0.0.1")
        self.assertIsInstance(endpoint, WebSocketServerEndpoint)
        self.assertEqual(endpoint.resource, "/")

    def test_badClients(self):
        for text, why in [("ws:tracker.example", "wants a host and a port"),
                          ("ws:h:http", "is not a number"),
                          ("ws:h:70000", "is not in 0 ... 65535"),
                          ("ws:h:80:path=files", "does not start with /"),
                          ("ws:h:80:proxy=x", "unknown argument 'proxy'")]:
            with self.assertRaises(ValueError) as caught:
                clientFromString(self.reactor, text)
            self.assertIn(why, str(caught.exception), text)

    def test_badServers(self):
        with self.assertRaises(ValueError) as caught:
            serverFromString(self.reactor, "ws:port=x")
        self.assertIn("is not a number", str(caught.exception))
