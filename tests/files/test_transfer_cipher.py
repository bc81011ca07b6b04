"""
Tests for the switch of a transfer connection's cipher (docs/protocol.md
§19.1): the seller's L{TransferServer} and the buyer's L{TransferClient}
on fake transports, then both over the real channel in memory.
"""

from twisted.internet import task
from twisted.internet.address import IPv4Address
from twisted.internet.protocol import Factory
from twisted.internet.testing import StringTransport
from twisted.test.iosim import connectedServerAndClient
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.files import hashing, server
from twisted_bazaar.files.client import Broken, Refused, TransferClient
from twisted_bazaar.files.messages import About, Cipher, Data, Get, Head
from twisted_bazaar.files.server import TransferServer
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.net.capabilities import ISecureTransport
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.net.encrypted import EncryptedFactory, EncryptedProtocol
from tests.files.helpers import scratchDir, writeFile
from tests.files.test_transfer import DATA, SHA, FakeService, FakeShare, Sink, frames
from tests.helpers import netstring, parseNetstrings


@implementer(ISecureTransport)
class SwitchingTransport(StringTransport):
    """A transport that can switch its channel's cipher: it records each
    switch with the bytes written before it."""

    peerKey = None
    handshakeHash = None

    def __init__(self, agrees=True, **kwargs):
        super().__init__(**kwargs)
        self.agrees = agrees
        self.switches = []

    def switchCipher(self, name, last=b""):
        self.switches.append((name, self.value(), last))
        if self.agrees:
            self.write(last)
        return self.agrees


class ServerTests(SynchronousTestCase):
    def setUp(self):
        self.patch(hashing, "MIN_PIECE", 4096)
        self.patch(server, "BULK_CHUNK", 4096)
        self.clock = task.Clock()
        self.service = FakeService(FakeShare(writeFile(scratchDir(self), "f", DATA)),
                                   self.clock)

    def connect(self, transport=None):
        transport = transport or SwitchingTransport(
            peerAddress=IPv4Address("TCP", "192.168.1.1", 40000))
        protocol = TransferServer(self.service)
        protocol.makeConnection(transport)
        return transport, protocol

    def refusal(self, transport):
        [(error, _)] = frames(transport.value())
        self.assertIsInstance(error, wire.Error)
        self.assertEqual(error.code, "wtf")
        self.assertTrue(transport.disconnecting)
        self.assertEqual(transport.switches, [])
        return error.info

    def test_switch(self):
        """The first request: answered with the same message, which goes
        before the switch; requests after it are answered as before."""
        transport, protocol = self.connect()
        protocol.dataReceived(netstring(Cipher("AESGCM")))
        answer = netstring(Cipher("AESGCM"))
        self.assertEqual(transport.switches, [("AESGCM", b"", answer)])
        protocol.dataReceived(netstring(Head(SHA)))
        [(_, _), (about, _)] = frames(transport.value())
        self.assertIsInstance(about, About)
        self.assertFalse(transport.disconnecting)

    def test_answerIsAnAnswer(self):
        """The idle clock starts again from the answer."""
        transport, protocol = self.connect()
        self.clock.advance(server.IDLE_TIMEOUT - 1)
        protocol.dataReceived(netstring(Cipher("AESGCM")))
        self.clock.advance(server.IDLE_TIMEOUT - 1)
        self.assertFalse(transport.disconnecting)
        self.clock.advance(1)
        self.assertTrue(transport.disconnecting)

    def test_splitAcrossReads(self):
        """The request may come in any number of reads; it is answered once
        whole."""
        transport, protocol = self.connect()
        data = netstring(Cipher("AESGCM"))
        for i in range(len(data)):
            protocol.dataReceived(data[i:i + 1])
        self.assertEqual(len(transport.switches), 1)

    def test_onlyFirst(self):
        """After any other request it is refused (a range may be on its
        way, sealed with the old cipher)."""
        transport, protocol = self.connect()
        protocol.dataReceived(netstring(Head(SHA)))
        protocol.dataReceived(netstring(Cipher("AESGCM")))
        [(about, _), (error, _)] = frames(transport.value())
        self.assertEqual(error.info, "cipher must be a transfer connection's first request")
        self.assertEqual(transport.switches, [])

    def test_once(self):
        transport, protocol = self.connect()
        protocol.dataReceived(netstring(Cipher("AESGCM")))
        protocol.dataReceived(netstring(Cipher("AESGCM")))
        self.assertEqual(len(transport.switches), 1)
        [(_, _), (error, _)] = frames(transport.value())
        self.assertEqual(error.info, "cipher must be a transfer connection's first request")
        self.assertTrue(transport.disconnecting)

    def test_unknownCipher(self):
        transport, protocol = self.connect()
        protocol.dataReceived(netstring(Cipher("ChaChaPoly")))
        self.assertEqual(self.refusal(transport),
                         "no cipher ChaChaPoly here (only AESGCM)")

    def test_noChannel(self):
        """A connection without the channel (in memory) cannot switch."""
        transport, protocol = self.connect(StringTransport())
        protocol.dataReceived(netstring(Cipher("AESGCM")))
        [(error, _)] = frames(transport.value())
        self.assertEqual(error.info, "this connection has no channel to switch")

    def test_requestAfterIt(self):
        """A request in the same read after it was sent before its answer:
        refused, not switched."""
        transport, protocol = self.connect()
        protocol.dataReceived(netstring(Cipher("AESGCM")) + netstring(Head(SHA)))
        self.assertEqual(self.refusal(transport), "head after cipher, before its answer")

    def test_partOfARequestAfterIt(self):
        transport, protocol = self.connect()
        protocol.dataReceived(netstring(Cipher("AESGCM")) + b"12:{")
        self.assertEqual(self.refusal(transport), "bytes after cipher, before its answer")

    def test_channelRefusesTheSwitch(self):
        """The channel found more after the request (and drops the
        connection): nothing is sent, the answer included."""
        transport, protocol = self.connect(SwitchingTransport(agrees=False))
        protocol.dataReceived(netstring(Cipher("AESGCM")))
        self.assertEqual(len(transport.switches), 1)
        self.assertEqual(transport.value(), b"")


class ClientTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.transport = SwitchingTransport()
        self.client = TransferClient(self.clock, stall=5)
        self.client.makeConnection(self.transport)

    def test_asksFirstAndHolds(self):
        """It asks first, holds the requests made meanwhile, and sends them
        once switched."""
        d = self.client.head(SHA)
        self.assertEqual(parseNetstrings(self.transport.value()),
                         [wire.encode(Cipher("AESGCM"))])
        self.client.dataReceived(netstring(Cipher("AESGCM")))
        self.assertEqual(self.transport.switches,
                         [("AESGCM", netstring(Cipher("AESGCM")), b"")])
        self.assertEqual(parseNetstrings(self.transport.value()),
                         [wire.encode(Cipher("AESGCM")), wire.encode(Head(SHA))])
        about = About(SHA, 3, 4096, (b"\x01" * 32,))
        self.client.dataReceived(netstring(about))
        self.assertEqual(self.successResultOf(d), about)

    def test_stallWhileAsking(self):
        """The answer to the switch is due like any other."""
        d = self.client.head(SHA)
        self.clock.advance(5)
        self.assertTrue(self.transport.disconnecting)
        self.client.connectionLost(None)
        self.failureResultOf(d)

    def test_notAskedWithoutAChannel(self):
        """Not asked of a transport that is no channel (ISecureTransport),
        whatever its attributes: a relay's circuit forwards what it does
        not define to the connection to the relay, whose channel is not
        this connection's."""
        transport = StringTransport()
        TransferClient(self.clock).makeConnection(transport)
        self.assertEqual(transport.value(), b"")
        undeclared = StringTransport()
        undeclared.switchCipher = SwitchingTransport().switchCipher
        TransferClient(self.clock).makeConnection(undeclared)
        self.assertEqual(undeclared.value(), b"")

    def test_notAskedWhenTold(self):
        transport = SwitchingTransport()
        client = TransferClient(self.clock, cipher=None)
        client.makeConnection(transport)
        client.head(SHA)
        self.assertEqual(parseNetstrings(transport.value()), [wire.encode(Head(SHA))])

    def test_bytesAfterTheAnswer(self):
        """The answer must end the seller's transport message: more in the
        same read fails the connection, unswitched."""
        d = self.client.head(SHA)
        self.client.dataReceived(netstring(Cipher("AESGCM")) + b"3")
        self.assertEqual(self.transport.switches, [])
        self.assertTrue(self.transport.disconnecting)
        self.client.connectionLost(None)
        self.assertEqual(self.failureResultOf(d, Broken).getErrorMessage(),
                         "the seller sent more after its cipher answer")

    def test_anotherCipherAnswered(self):
        d = self.client.head(SHA)
        self.client.dataReceived(netstring(Cipher("ChaChaPoly")))
        self.assertEqual(self.transport.switches, [])
        self.client.connectionLost(None)
        self.failureResultOf(d)

    def test_refused(self):
        """A seller that does not know the switch answers an error and
        closes: the requests held fail with why, and the client says the
        switch was refused."""
        d = self.client.head(SHA)
        self.client.dataReceived(netstring(wire.Error(
            "wtf", "a transfer connection takes head and get, not cipher")))
        self.assertTrue(self.client.cipherRefused)
        self.client.connectionLost(None)
        failure = self.failureResultOf(d, Refused)
        self.assertEqual(failure.getErrorMessage(),
                         "wtf: the seller refused to switch to AESGCM: a transfer "
                         "connection takes head and get, not cipher")

    def test_channelRefusesTheSwitch(self):
        """The channel would not switch (it drops the connection): the held
        requests are not sent."""
        self.transport.agrees = False
        self.client.head(SHA)
        self.client.dataReceived(netstring(Cipher("AESGCM")))
        self.assertEqual(parseNetstrings(self.transport.value()),
                         [wire.encode(Cipher("AESGCM"))])


class OverTheChannelTests(SynchronousTestCase):
    """A buyer and a seller over the channel in memory (iosim): the switch
    is made, and a range arrives whole, sealed with AESGCM."""

    def test_range(self):
        self.patch(hashing, "MIN_PIECE", 4096)
        self.patch(server, "BULK_CHUNK", 4096)
        clock = task.Clock()
        service = FakeService(FakeShare(writeFile(scratchDir(self), "f", DATA)), clock)
        seller_key = ChannelKey.generate(Identity.generate())
        buyer_key = ChannelKey.generate(None)
        buyer = TransferClient(clock)

        def serverProtocol():
            factory = Factory.forProtocol(lambda: TransferServer(service))
            return EncryptedFactory(factory, seller_key, clock).buildProtocol(
                IPv4Address("TCP", "10.0.0.1", 40000))

        def clientProtocol():
            return EncryptedProtocol(buyer, buyer_key, True, clock)

        client, seller, pump = connectedServerAndClient(serverProtocol, clientProtocol)
        sink = Sink()
        d = buyer.get(SHA, 10, len(DATA) - 20, sink)
        pump.flush()
        while seller.wrapped.sender is not None:
            seller.wrapped.sender.resumeProducing()
            pump.flush()
        self.successResultOf(d)
        self.assertEqual(sink.data, DATA[10:-10])
        self.assertEqual((client.session.cipher, seller.session.cipher),
                         ("AESGCM", "AESGCM"))
        self.assertEqual(seller.wrapped.queue, [])
        buyer.close()
        pump.flush()
        self.assertEqual(clock.getDelayedCalls(), [])
