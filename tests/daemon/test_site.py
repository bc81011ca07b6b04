"""
Tests for L{twisted_bazaar.daemon.site}: the daemons' web view and
metrics log each request at debug, not info.
"""

from prometheus_client import CollectorRegistry
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import LogLevel, formatEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

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
