"""
Tests for L{twisted_bazaar.daemon.requesthead}: a request whose line or
head is over twisted.web's bounds is answered with a status and one line
that say so, on each of a daemon's web ports (the web view, the metrics),
not dropped without a word.
"""

from prometheus_client import CollectorRegistry
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import LogLevel, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.daemon.requesthead import HEAD_TOO_LARGE, URI_TOO_LONG
from twisted_bazaar.metrics.web import metricsSite
from twisted_bazaar.web.resources import webSite
from twisted_bazaar.web.view import MarketView


class LongHeadTests(SynchronousTestCase):
    def sites(self):
        return {"web view": webSite(MarketView(Clock())),
                "metrics": metricsSite(CollectorRegistry())}

    def send(self, site, data, chunk=4096):
        """Send data from 127.0.0.1 in chunks, as a socket would: what is
        answered, whether the connection is closed, what is logged above
        debug."""
        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        address = IPv4Address("TCP", "127.0.0.1", 40000)
        channel = site.buildProtocol(address)
        transport = StringTransport(peerAddress=address)
        channel.makeConnection(transport)
        for start in range(0, len(data), chunk):
            if transport.disconnecting:
                break
            channel.dataReceived(data[start:start + chunk])
        closed = transport.disconnecting
        channel.connectionLost(None)
        loud = [e for e in events if e.get("log_level", LogLevel.info) > LogLevel.debug]
        return transport.value(), closed, loud

    def test_aLongURL(self):
        """A URL of 20 KB, whole or in chunks: 414 and why, then closed."""
        request = b"GET /?q=" + b"a" * 20000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        for what, site in self.sites().items():
            for chunk in (len(request), 1000):
                answer, closed, loud = self.send(site, request, chunk)
                self.assertEqual((answer, closed, loud), (URI_TOO_LONG, True, []), what)
        self.assertIn(b"\r\n\r\nthis port takes a request line of at most 16384 bytes\n",
                      URI_TOO_LONG)

    def test_aURLOverTheHeadBound(self):
        """A request line under the line bound but over the head's: 414."""
        request = b"GET /" + b"a" * 16380 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        for what, site in self.sites().items():
            self.assertEqual(self.send(site, request)[:2], (URI_TOO_LONG, True), what)

    def test_aLongHeader(self):
        """One header over the line bound, or many over the head's: 431
        and why, then closed."""
        one = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: " + b"c" * 20000 + b"\r\n\r\n"
        many = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + b"".join(b"X-A%d: %s\r\n" % (i, b"b" * 1000) for i in range(20)) + b"\r\n")
        for what, site in self.sites().items():
            for request in (one, many):
                self.assertEqual(self.send(site, request), (HEAD_TOO_LARGE, True, []), what)
        self.assertTrue(HEAD_TOO_LARGE.startswith(b"HTTP/1.1 431 Request Header Fields Too "
                                                  b"Large\r\n"))

    def test_aHeadWithinBoundsIsServed(self):
        """A long head within the bounds is answered as any other."""
        request = (b"GET /?q=" + b"a" * 8000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   b"Cookie: " + b"c" * 7000 + b"\r\n\r\n")
        answer, _, _ = self.send(webSite(MarketView(Clock())), request)
        self.assertTrue(answer.startswith(b"HTTP/1.1 200 "), answer[:80])
