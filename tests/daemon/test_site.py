"""
Tests for L{twisted_bazaar.daemon.site}: the daemons' web view and
metrics log each request at debug, not info, and answer a client that
does not speak HTTP at once.
"""

from prometheus_client import CollectorRegistry
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import LogLevel, formatEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.daemon.site import NOT_HTTP
from twisted_bazaar.metrics.web import metricsSite
from twisted_bazaar.web.resources import webSite
from twisted_bazaar.web.view import MarketView


class AccessLogTests(SynchronousTestCase):
    def get(self, site, path):
        """GET path from site, as a client at 10.0.0.1 would; the events
        logged meanwhile."""
        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        site.reactor = Clock()
        site.startFactory()
        address = IPv4Address("TCP", "10.0.0.1", 40000)
        channel = site.buildProtocol(address)
        transport = StringTransport(peerAddress=address)
        channel.makeConnection(transport)
        channel.dataReceived(b"GET " + path + b" HTTP/1.0\r\n\r\n")
        self.assertIn(b" 200 ", transport.value().split(b"\r\n")[0] + b" ")
        channel.connectionLost(None)
        site.stopFactory()
        self.assertEqual(site.reactor.getDelayedCalls(), [])
        return [(e["log_level"], formatEvent(e)) for e in events]

    def test_metricsScrape(self):
        self.assertEqual(self.get(metricsSite(CollectorRegistry()), b"/metrics"),
                         [(LogLevel.debug, "10.0.0.1 GET /metrics 200")])

    def test_webPageAndAsset(self):
        site = webSite(MarketView(Clock()))
        for path in (b"/", b"/static/app.js"):
            self.assertEqual(self.get(site, path),
                             [(LogLevel.debug, f"10.0.0.1 GET {path.decode()} 200")])


class NotHTTPTests(SynchronousTestCase):
    def connect(self):
        site = webSite(MarketView(Clock()))
        site.reactor = Clock()
        channel = site.buildProtocol(IPv4Address("TCP", "10.0.0.1", 40000))
        transport = StringTransport()
        channel.makeConnection(transport)
        return channel, transport

    def test_binaryClientAnsweredAtOnce(self):
        """A client whose first byte cannot start a request (the channel's
        message 1, a length) is answered 400 and closed at once, not left
        waiting for a line end."""
        channel, transport = self.connect()
        channel.dataReceived(b"\x00\x20" + b"\x07" * 32)
        self.assertEqual(transport.value(), NOT_HTTP)
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 400 "))
        self.assertTrue(transport.disconnecting)
        body = NOT_HTTP.split(b"\r\n\r\n", 1)[1]
        self.assertIn(b"Content-Length: %d\r\n" % len(body), NOT_HTTP)
        channel.dataReceived(b"GET / HTTP/1.0\r\n\r\n")
        self.assertEqual(transport.value(), NOT_HTTP)

    def test_requestsAfterEmptyLines(self):
        """An empty line before a request is HTTP (RFC 9112 §2.2)."""
        channel, transport = self.connect()
        channel.dataReceived(b"\r\nGET /api/market HTTP/1.0\r\n\r\n")
        self.assertTrue(transport.value().startswith(b"HTTP/1.0 200 "))


class ForwardingTests(SynchronousTestCase):
    """The wrapper a site builds passes on what the channel's interfaces
    declare, and nothing else (docs/architecture.md, "Capabilities")."""

    def channel(self):
        site = webSite(MarketView(Clock()))
        site.reactor = Clock()
        return site.buildProtocol(IPv4Address("TCP", "10.0.0.1", 40000))

    def test_aListeningPortNamesTheConnection(self):
        """What a reactor's port asks of the protocol it built, its log
        prefix (C{ILoggingContext}), is the channel's."""
        from twisted.internet.abstract import FileDescriptor

        self.assertEqual(FileDescriptor._getLogPrefix(None, self.channel()),
                         "_HTTPOnly")

    def test_anUndeclaredNameIsNotForwarded(self):
        channel = self.channel()
        self.assertIsNotNone(channel._channel.site)
        error = self.assertRaises(AttributeError, getattr, channel, "site")
        self.assertIn("forwards only what its interfaces declare", str(error))
