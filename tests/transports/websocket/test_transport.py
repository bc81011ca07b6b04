"""
The WebSocket transport in the shape every transport takes (kind,
canDial, dial, listen): the encrypted channel end to end over it, the
key a dial expects proven, each resource of one port its own service.
"""

from twisted.internet import defer
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP4ServerEndpoint
from twisted.internet.error import CannotListenError
from twisted.internet.testing import MemoryReactorClock
from twisted.test.iosim import ConnectionCompleter
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.identity.keys import Identity, decode
from twisted_bazaar.transports.path import DIRECT, Path
from twisted_bazaar.transports.websocket import WEBSOCKET
from twisted_bazaar.transports.websocket.transport import FILES, RELAY, WebSocketTransport
from twisted_bazaar.wire.ids import shortId

from twisted_bazaar.transports.interface import DialOptions
from twisted_bazaar.transports.relay.messages import FILES as FILES_PURPOSE
from twisted_bazaar.transports.relay.messages import RELAY as RELAY_PURPOSE
from tests.transports.websocket.helpers import PORT, Recorders


class Ends:
    """A listening transport and a dialling one on one memory reactor."""

    def __init__(self):
        self.reactor = reactor = MemoryReactorClock()
        self.completer = ConnectionCompleter(reactor)
        self.serverIdentity = Identity.generate()
        self.server = WebSocketTransport(
            reactor, ChannelKey.generate(self.serverIdentity),
            serverEndpoint=lambda: TCP4ServerEndpoint(reactor, PORT))
        self.client = WebSocketTransport(
            reactor, ChannelKey.generate(Identity.generate()),
            clientEndpoint=lambda host, port: TCP4ClientEndpoint(reactor, host, port))

    def dial(self, key, protocols, options=None):
        d = self.client.dial(Path(WEBSOCKET, "127.0.0.1", PORT), key,
                             lambda: protocols.buildProtocol(None), options)
        pump = self.completer.succeedOnce()
        pump.flush()
        return d, pump


class TransportTests(SynchronousTestCase):

    def test_canDialItsKindOnly(self):
        transport = Ends().client
        self.assertEqual(transport.kind, WEBSOCKET)
        self.assertTrue(transport.canDial(Path(WEBSOCKET, "192.0.2.1", 443)))
        self.assertFalse(transport.canDial(Path(DIRECT, "192.0.2.1", 443)))
        self.assertFalse(transport.canDial(Path(WEBSOCKET, "", 443)))
        self.assertFalse(transport.canDial(Path(WEBSOCKET, "192.0.2.1", 0)))

    def test_channelEndToEnd(self):
        ends = Ends()
        links, files = Recorders(), Recorders()
        listening = ends.server.listen(links)
        self.assertIs(self.successResultOf(ends.server.listen(files, FILES)),
                      self.successResultOf(listening))
        d, pump = ends.dial(decode(ends.serverIdentity.key), Recorders())
        client = self.successResultOf(d)
        client.transport.write(b"sealed hello")
        pump.flush()
        self.assertEqual(links.built[0].received, b"sealed hello")
        self.assertEqual(files.built, [])

    def test_filesResource(self):
        ends = Ends()
        links, files = Recorders(), Recorders()
        ends.server.listen(links)
        ends.server.listen(files, FILES)
        d, pump = ends.dial(None, Recorders(), DialOptions(purpose=FILES_PURPOSE))
        self.successResultOf(d).transport.write(b"piece")
        pump.flush()
        self.assertEqual(files.built[0].received, b"piece")
        self.assertEqual(links.built, [])

    def test_relayResource(self):
        """A dial for the purpose ``relay`` goes to the port's L{RELAY}
        resource (a tracker's relay), not to its links'."""
        ends = Ends()
        links, relay = Recorders(), Recorders()
        ends.server.listen(links)
        ends.server.listen(relay, RELAY)
        d, pump = ends.dial(None, Recorders(), DialOptions(purpose=RELAY_PURPOSE))
        self.successResultOf(d).transport.write(b"relayAccept")
        pump.flush()
        self.assertEqual(relay.built[0].received, b"relayAccept")
        self.assertEqual(links.built, [])

    def test_anotherKeyFailsTheChannel(self):
        ends = Ends()
        links = Recorders()
        ends.server.listen(links)
        d, pump = ends.dial(decode(Identity.generate().key), Recorders())
        client = self.successResultOf(d)
        client.transport.write(b"secret")
        pump.flush()
        pump.flush()
        self.assertIsNotNone(client.lost)
        self.assertIn("key", client.lost.getErrorMessage())
        self.assertTrue(all(p.received == b"" for p in links.built))

    def test_aPeerKnownByItsIdProvesAKeyOfIt(self):
        """A --ws-peer is known by its id alone: the channel takes a key
        whose id it is, and refuses an impostor's before anything is
        said."""
        ends = Ends()
        links = Recorders()
        ends.server.listen(links)
        d, pump = ends.dial(ends.serverIdentity.id, Recorders())
        client = self.successResultOf(d)
        client.transport.write(b"hello")
        pump.flush()
        self.assertEqual(links.built[0].received, b"hello")
        impostor = Identity.generate().id
        d, pump = ends.dial(impostor, Recorders())
        client = self.successResultOf(d)
        client.transport.write(b"secret")
        pump.flush()
        pump.flush()
        self.assertIn(f"not a key of node {shortId(impostor)}",
                      client.lost.getErrorMessage())
        self.assertEqual(links.built[1].received, b"")

    def test_aPortThatCannotListenFailsEveryListen(self):
        ends = Ends()

        class Taken:
            def listen(self, factory):
                return defer.fail(CannotListenError("", PORT, OSError("in use")))

        ends.server.serverEndpoint = Taken
        first = ends.server.listen(Recorders())
        second = ends.server.listen(Recorders(), FILES)
        self.failureResultOf(first, CannotListenError)
        self.failureResultOf(second, CannotListenError)
        self.assertIsNone(ends.server.port)

    def test_stopListening(self):
        ends = Ends()
        self.assertIsNone(ends.server.stopListening())
        ends.server.listen(Recorders())
        self.assertIsNotNone(ends.server.port)
        ends.server.stopListening()
        self.assertIsNone(ends.server.port)
