"""
The ``ws:`` endpoint strings through Twisted's own parsers (the plugin
installed), --ws-peer's words, their bad forms refused with a reason;
and the plugin light enough for twistd to import at every start.
"""

import subprocess
import sys

from twisted.internet.endpoints import clientFromString, serverFromString
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.transports.websocket.endpoints import (
    WebSocketClientEndpoint, WebSocketServerEndpoint)
from twisted_bazaar.transports.websocket.parser import parsePeer
from twisted_bazaar.wire.ids import parseWireId


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
                          ("ws:h:80:proxy=x", "unknown argument 'proxy'"),
                          ("ws:h:80:timeout=soon", "is not a number of seconds"),
                          ("ws:h:80:timeout=0", "is not in (0, 3600]")]:
            with self.assertRaises(ValueError) as caught:
                clientFromString(self.reactor, text)
            self.assertIn(why, str(caught.exception), text)

    def test_badServers(self):
        with self.assertRaises(ValueError) as caught:
            serverFromString(self.reactor, "ws:port=x")
        self.assertIn("is not a number", str(caught.exception))


class PeerTests(SynchronousTestCase):

    def test_peer(self):
        node_id, host, port = parsePeer("f89a50638f8638e25d4c0ef9453feca9=192.0.2.1:443")
        self.assertEqual((node_id, host, port), (
            parseWireId("f89a50638f8638e25d4c0ef9453feca9"), "192.0.2.1", 443))
        self.assertEqual(parsePeer("f89a50638f8638e25d4c0ef9453feca9=[::1]:80")[1:],
                         ("::1", 80))

    def test_badPeers(self):
        for text, why in [("nobody=192.0.2.1:443", "ID is a node's id"),
                          ("f89a50638f8638e25d4c0ef9453feca9=host:443", "HOST an IP"),
                          ("f89a50638f8638e25d4c0ef9453feca9=192.0.2.1:0", "HOST an IP"),
                          ("f89a50638f8638e25d4c0ef9453feca9", "HOST an IP")]:
            with self.assertRaises(ValueError) as caught:
                parsePeer(text)
            self.assertIn(why, str(caught.exception), text)


class LightTests(SynchronousTestCase):

    def test_findingTheDaemonsLoadsNoAutobahn(self):
        """twistd imports every plugin module to find its daemons, and
        the daemons' options: autobahn waits for a ws: endpoint."""
        code = ("import sys\n"
                "from twisted.plugin import getPlugins\n"
                "from twisted.application.service import IServiceMaker\n"
                "import twisted_bazaar.tap.node, twisted_bazaar.tap.tracker\n"
                "assert [p for p in getPlugins(IServiceMaker) if p.tapname == 'bazaar-node']\n"
                "print('autobahn' in sys.modules)\n")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                              text=True, timeout=120)
        self.assertEqual(done.stdout.strip(), "False", done.stderr)
