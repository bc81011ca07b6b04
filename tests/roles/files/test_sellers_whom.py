"""
Whom a transfer connection reached: the buyer dials a seller's transfer
port knowing the seller's key from its signed record, and the channel's
handshake must prove that key (docs/protocol.md §19).  In a L{Market}
(the in-memory network, a fake clock) whose transfer ports run the
encrypted channel: a proxy at the seller's advertised transfer port that
ends the channel itself, and relays the plaintext to the real seller,
reads no request, and the buyer takes nothing through it.
"""

import gc
import random

from twisted.internet import defer

from twisted.internet.protocol import Factory, Protocol
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import hashing
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.net.encrypted import EncryptedFactory, EncryptedProtocol
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.testing import Market, MemoryNetwork
from twisted_bazaar.transports.path import DIRECT
from tests.files.helpers import scratchDir, writeFile

PIECE = 4096


class ChannelledTransfers:
    """
    A node's connector whose listening ports (a seller's transfer port)
    run the encrypted channel under this node's key, as a daemon's do,
    and whose connections to such ports (those in ``channelled``, shared
    by every node of a test) run it too, with the key the dialler
    expects; its other connections (links, in memory) stay plain.
    """

    def __init__(self, inner, identity, clock, channelled):
        self.inner = inner
        self.key = ChannelKey.generate(identity)
        self.clock = clock
        self.channelled = channelled

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def connect(self, host, port, protocol, expected=None):
        if (host, port) not in self.channelled:
            return self.inner.connect(host, port, protocol)
        wrapper = EncryptedProtocol(protocol, self.key, True, self.clock,
                                    expected=expected)
        return self.inner.connect(host, port, wrapper).addCallback(
            lambda connected: connected.wrapped)

    def listen(self, factory, port=0):
        def listening(port):
            self.channelled.add((self.inner.from_host, port.getHost().port))
            return port
        wrapped = EncryptedFactory(factory, self.key, self.clock)
        return self.inner.listen(wrapped, port).addCallback(listening)


class Forward(Protocol):
    """The proxy's connection to the real seller: what comes goes to the
    buyer."""

    def __init__(self, relay):
        self.relay = relay

    def dataReceived(self, data):
        self.relay.transport.write(data)

    def connectionLost(self, reason):
        self.relay.transport.loseConnection()


class Relay(Protocol):
    """The proxy's end of a buyer's connection: it reads the plaintext
    (the channel under it ends here) and passes it to the real seller."""

    def __init__(self, proxy):
        self.proxy = proxy
        self.forward = Forward(self)

    def connectionMade(self):
        self.proxy.connector.connect(*self.proxy.target, self.forward)

    def dataReceived(self, data):
        self.proxy.heard.append(data)
        self.forward.transport.write(data)

    def connectionLost(self, reason):
        if self.forward.transport is not None:
            self.forward.transport.loseConnection()


class Proxy(Factory):
    """At the seller's host, with a key of its own; relays to target."""

    def __init__(self, connector, target):
        self.connector = connector
        self.target = target
        #: The plaintext buyers sent it.
        self.heard = []

    def buildProtocol(self, addr):
        return Relay(self)


class ProxyAtTheTransferPortTests(SynchronousTestCase):

    def setUp(self):
        self.patch(hashing, "MIN_PIECE", PIECE)
        self.market = Market(MemoryNetwork(rng=random.Random(1),
                                           latency=(0.005, 0.005)), seed=3)
        self.channelled = set()
        self.data = random.Random(7).randbytes(10 * PIECE)
        self.folder = scratchDir(self)
        writeFile(self.folder, "song.ogg", self.data)

    def channelledNode(self, prepare=lambda node: None, **roles):
        """A node whose transfer connections run the channel (prepare is
        called with it before it starts)."""
        node = self.market.buildNode(discovery="index", **roles)
        channelled = ChannelledTransfers(node.connector, node.identity, node.clock,
                                         self.channelled)
        # In place of the connector it was built over, under its TCP
        # transport too.
        node.dialer.connector = node.dialer.transports.of(DIRECT).connector = channelled
        prepare(node)
        self.market.startNode(node)
        return node

    def sellerBehindProxy(self):
        """A seller of song.ogg whose records name, as its transfer port,
        a proxy's on its own host: the proxy proves a key of its own and
        relays to the seller's real port."""
        advertised = []

        def prepare(node):
            shop = self.market.role(node, "seller").files
            described = shop.describe

            def describe(item):
                fields = described(item)
                return fields and dict(fields, transfer=advertised[0])

            shop.describe = describe
            self.shop = shop

        seller = self.channelledNode(prepare, seller={"stock": {}, "share": self.folder})
        host = seller.connector.from_host
        proxyConnector = ChannelledTransfers(seller.connector.inner,
                                             Identity.generate(), self.market.clock,
                                             self.channelled)
        self.proxy = Proxy(proxyConnector, (host, self.shop.server.port))
        listening = self.successResultOf(proxyConnector.listen(self.proxy))
        advertised.append(listening.getHost().port)
        return seller

    def addBuyer(self):
        self.downloads = scratchDir(self)
        node = self.channelledNode(buyer={"wants": ["song.ogg"],
                                          "downloads": self.downloads})
        return self.market.role(node, "buyer")

    def test_anHonestSellerServesOverTheChannel(self):
        """Without a proxy, the file comes over the channel: the test's
        transfer ports do run it, and the seller's key is the one
        expected."""
        seller = self.channelledNode(seller={"stock": {}, "share": self.folder})
        self.market.run(1)
        buyer = self.addBuyer()
        self.market.run(20)
        self.assertIn("song.ogg", buyer.fetcher.fetched)
        self.assertEqual(list(buyer.fetcher.fetched["song.ogg"][1]), [seller.id])

    def test_proxyReadsNothingAndTheBuyerTakesNothing(self):
        seller = self.sellerBehindProxy()
        self.market.run(2)
        with capturedLogs() as events:
            buyer = self.addBuyer()
            self.market.run(30)
        lines = [formatEvent(event) for event in events]
        # The buyer paid the seller, then refused the proxy: no request,
        # so nothing of the file, crossed it.
        [purchase] = buyer.bag
        self.assertEqual(purchase.seller, seller.id)
        self.assertEqual(self.proxy.heard, [])
        self.assertNotIn("song.ogg", buyer.fetcher.fetched)
        self.assertFalse([line for line in lines if "content id verified" in line])
        refused = [line for line in lines
                   if f"seller {shortId(seller.id)} could not describe song.ogg: the "
                   "channel failed: the peer proved key" in line]
        self.assertTrue(refused, lines)
        self.assertIn(f"not the pinned {seller.identity.key}", refused[0])
        # The seller counts as failed: the download has no one left.
        download = buyer.fetcher.downloads["song.ogg"]
        self.assertIn(seller.id, download.sources.failed)

    def test_aSearchInFlightWhenTheDownloadStopsIsNoError(self):
        """The buyer, with no seller left, searches again; a download that
        stops (gives up) meanwhile cancels that search without an
        unhandled error."""
        self.sellerBehindProxy()
        self.market.run(2)
        buyer = self.addBuyer()
        self.market.run(5)
        download = buyer.fetcher.downloads["song.ogg"]
        self.patch(buyer.fetcher, "findSources", lambda name: defer.Deferred())
        download.sellers._searchNow()
        download.sellers._lookNow()
        download.stop()
        gc.collect()
        self.assertEqual(self.flushLoggedErrors(defer.CancelledError), [])
