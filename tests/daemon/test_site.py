"""
Tests for L{twisted_bazaar.daemon.site}: the daemons' web view and
metrics log each request at debug, not info, and answer a client that
does not speak HTTP at once; their ports are under the rules of the
daemon's others (an account, a rate, a deadline per request).
"""

import tempfile

from prometheus_client import CollectorRegistry
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import LogLevel, formatEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource

from twisted_bazaar.base.httphosts import ServedNames
from twisted_bazaar.daemon.site import (BODY_BYTES, NOT_HTTP, REQUEST_TIMEOUT, TOO_LARGE,
                                        QuietSite)
from twisted_bazaar.metrics.web import metricsGuard, metricsSite
from twisted_bazaar.web.access import OperatorToken
from twisted_bazaar.web.resources import (GROUP_CONNECTIONS, MAX_CONNECTIONS, webGuard,
                                          webSite)
from twisted_bazaar.web.view import MarketView

from tests.daemon.httpclient import ask


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
        channel.dataReceived(b"GET " + path + b" HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        self.assertIn(b" 200 ", transport.value().split(b"\r\n")[0] + b" ")
        channel.connectionLost(None)
        site.stopFactory()
        self.assertEqual(site.reactor.getDelayedCalls(), [])
        return [(e["log_level"], formatEvent(e)) for e in events]

    def test_metricsScrape(self):
        self.assertEqual(self.get(metricsSite(CollectorRegistry()), b"/metrics"),
                         [(LogLevel.debug, "10.0.0.1 GET /metrics 200")])

    def test_theTokenIsNeverLogged(self):
        """The operator's token, in the link to its page, is not written
        to the access log."""
        token = OperatorToken()
        site = webSite(MarketView(Clock()), token=token)
        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        address = IPv4Address("TCP", "10.0.0.1", 40000)
        channel = site.buildProtocol(address)
        channel.makeConnection(StringTransport(peerAddress=address))
        channel.dataReceived(b"GET /?a=1&token=" + token.secret.encode()
                             + b" HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        lines = [formatEvent(e) for e in events]
        self.assertIn("10.0.0.1 GET /?a=1&token=... 200", lines)
        self.assertNotIn(token.secret, "\n".join(lines))

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
        channel.dataReceived(b"\r\nGET /api/market HTTP/1.0\r\nHost: localhost\r\n\r\n")
        self.assertTrue(transport.value().startswith(b"HTTP/1.0 200 "))


class ConnectionGuardTests(SynchronousTestCase):
    """
    A web port under the rules of the daemon's other ports
    (L{ConnectionGuard}): an absolute deadline for each request, an
    account of connections by address group, a connection rate.
    """

    def setUp(self):
        self.clock = Clock()
        self.guard = webGuard(self.clock)
        self.site = webSite(MarketView(self.clock), guard=self.guard)
        self.site.reactor = self.clock

    def connect(self, host="10.0.0.1"):
        """A connection from host: (protocol or None, transport)."""
        address = IPv4Address("TCP", host, 40000)
        channel = self.site.buildProtocol(address)
        transport = StringTransport(peerAddress=address)
        if channel is not None:
            channel.makeConnection(transport)
        return channel, transport

    def test_aTrickledRequestIsClosedAtItsDeadline(self):
        """A client that sends a byte every 5 s (each of which starts
        Twisted's own timeout again) is closed once REQUEST_TIMEOUT has
        passed since it connected, its request still not whole; its
        connection is given back to the account."""
        begun = self.clock.seconds()
        channel, transport = self.connect()
        for byte in b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n":
            channel.dataReceived(bytes([byte]))
            self.clock.advance(1)
            if transport.disconnecting:
                break
        self.assertTrue(transport.disconnecting)
        self.assertEqual(self.clock.seconds() - begun, REQUEST_TIMEOUT)
        channel.connectionLost(None)
        self.assertEqual(self.guard.held.used, 0)

    def test_anIdleConnectionIsClosedAfterItsAnswer(self):
        """Once answered, a kept-alive connection has REQUEST_TIMEOUT for
        its next request, from the answer's end."""
        channel, transport = self.connect()
        self.clock.advance(REQUEST_TIMEOUT - 1)
        channel.dataReceived(b"GET /api HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        self.assertIn(b" 200 ", transport.value())
        self.clock.advance(REQUEST_TIMEOUT - 1)
        self.assertFalse(transport.disconnecting)
        self.clock.advance(1)
        self.assertTrue(transport.disconnecting)

    def test_aSlowReaderOfALargeAnswerIsNotCut(self):
        """An answer still going out when the deadline passes (a large
        asset, a slow link) keeps its connection while it goes further
        each REQUEST_TIMEOUT; one that went no further is closed."""
        channel, transport = self.connect()
        transport.dataBuffer = b"x" * 3000
        channel.dataReceived(b"GET /api HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        for left in (2000, 1000):
            self.clock.advance(REQUEST_TIMEOUT)
            self.assertFalse(transport.disconnecting)
            transport.dataBuffer = b"x" * left
        self.clock.advance(REQUEST_TIMEOUT)
        self.assertFalse(transport.disconnecting)
        self.clock.advance(REQUEST_TIMEOUT)
        self.assertTrue(transport.disconnecting)

    def test_anEventStreamIsNotTimed(self):
        """An answer that goes on (an event stream) is not cut by the
        deadline: it is what a page holds its connection for."""
        channel, transport = self.connect()
        channel.dataReceived(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        self.clock.advance(10 * REQUEST_TIMEOUT)
        self.assertFalse(transport.disconnecting)
        self.assertIn(b"event: market", transport.value())

    def test_oneGroupHoldsItsShareOfTheConnections(self):
        """One address group holds at most its share of the port's
        connections (GROUP_CONNECTIONS): past it, a new one is closed at
        once; another group still gets in."""
        held = [self.connect(f"10.0.{n}.1") for n in range(GROUP_CONNECTIONS)]
        self.assertTrue(all(channel is not None for channel, _ in held))
        self.assertIsNone(self.connect("10.0.200.1")[0])
        self.assertIsNotNone(self.connect("10.9.0.1")[0])
        held[0][0].connectionLost(None)
        self.assertIsNotNone(self.connect("10.0.200.1")[0])

    def test_theAccountIsBoundedAndShared(self):
        """The port holds at most MAX_CONNECTIONS in all (the descriptors
        a tracker keeps apart for it); a newcomer group takes the place of
        the newest connection of the group holding the most."""
        flood = []
        for group in range(MAX_CONNECTIONS // GROUP_CONNECTIONS):
            flood += [self.connect(f"10.{group}.0.{n}") for n in range(GROUP_CONNECTIONS)]
        self.assertEqual(self.guard.held.used, MAX_CONNECTIONS)
        channel, _ = self.connect("192.168.0.1")
        self.assertIsNotNone(channel)
        self.assertEqual(sum(transport.disconnecting for _, transport in flood), 1)
        self.assertEqual(self.guard.held.used, MAX_CONNECTIONS)

    def test_aGroupOverItsConnectionRateIsClosed(self):
        """New connections past the group's rate (--connection-rate) are
        closed at once, whatever the account holds."""
        rate = int(self.guard.rates.rate)
        for _ in range(rate):
            channel, _ = self.connect()
            self.assertIsNotNone(channel)
            channel.connectionLost(None)
        self.assertIsNone(self.connect()[0])
        self.clock.advance(1)
        self.assertIsNotNone(self.connect()[0])

    def test_theMetricsPortToo(self):
        """The metrics port has the same rules, and a smaller account."""
        guard = metricsGuard(self.clock)
        site = metricsSite(CollectorRegistry(), guard)
        # Twisted's own idle timeout on this clock, not the global reactor's.
        site.reactor = self.clock
        address = IPv4Address("TCP", "10.0.0.1", 40000)
        held = [site.buildProtocol(address) for _ in range(guard.held.group_limit)]
        self.assertNotIn(None, held)
        self.assertIsNone(site.buildProtocol(address))
        channel = site.buildProtocol(IPv4Address("TCP", "10.7.0.1", 40000))
        transport = StringTransport()
        channel.makeConnection(transport)
        self.clock.advance(REQUEST_TIMEOUT)
        self.assertTrue(transport.disconnecting)
        channel.connectionLost(None)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class BodyTests(SynchronousTestCase):
    """
    A request's body, which no resource of a daemon's web ports reads, is
    kept in memory up to BODY_BYTES and refused past it: twisted.web wrote
    any body of 100,000 bytes or more to a temporary file (live, a POST to
    a tracker's --metrics put 1.2 GiB in /tmp in 3 s).
    """

    def setUp(self):
        self.patch(tempfile, "TemporaryFile", self.noFile)
        self.sites = {"web view": webSite(MarketView(Clock())),
                      "metrics": metricsSite(CollectorRegistry())}

    def noFile(self, *args, **kwargs):
        self.fail("a request's body went to a temporary file")

    def send(self, site, head, body):
        """Send a POST's head and body to site; its transport."""
        address = IPv4Address("TCP", "127.0.0.1", 40000)
        channel = site.buildProtocol(address)
        transport = StringTransport(peerAddress=address)
        channel.makeConnection(transport)
        channel.dataReceived(b"POST / HTTP/1.1\r\nHost: 127.0.0.1:9100\r\n" + head
                             + b"\r\n\r\n")
        for start in range(0, len(body), 65536):
            channel.dataReceived(body[start:start + 65536])
        self.addCleanup(channel.connectionLost, None)
        return transport

    def test_aLongBodyIsRefusedAtItsLength(self):
        """A Content-Length over BODY_BYTES is answered 413 and closed
        before a byte of body is read; what follows is dropped."""
        for what, site in self.sites.items():
            transport = self.send(site, b"Content-Length: 1000000000", b"x" * 1000000)
            self.assertEqual(transport.value(), TOO_LARGE, what)
            self.assertTrue(transport.disconnecting, what)
        self.assertIn(b"413 Content Too Large", TOO_LARGE)
        body = TOO_LARGE.split(b"\r\n\r\n", 1)[1]
        self.assertIn(b"Content-Length: %d\r\n" % len(body), TOO_LARGE)

    def test_aChunkedBodyIsRefusedPastTheBound(self):
        """A body that says no length (chunked) is refused once it passes
        BODY_BYTES."""
        chunk = b"x" * (BODY_BYTES.default + 1)
        for what, site in self.sites.items():
            transport = self.send(site, b"Transfer-Encoding: chunked",
                                  b"%x\r\n%s\r\n" % (len(chunk), chunk) * 100)
            self.assertEqual(transport.value(), TOO_LARGE, what)
            self.assertTrue(transport.disconnecting, what)

    def test_aBodyWithinTheBoundIsAnswered(self):
        """BODY_BYTES of body are taken: the request is answered as its
        resource answers a POST (neither takes one), not refused."""
        for what, site in self.sites.items():
            transport = self.send(site, b"Content-Length: %d" % BODY_BYTES.default,
                                  b"x" * BODY_BYTES.default)
            self.assertRegex(transport.value(), rb"^HTTP/1.1 (405|404) ", what)


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


class _Reached(Resource):
    """A site's root that notes each request it is asked for."""

    isLeaf = True

    def __init__(self):
        super().__init__()
        self.asked = []

    def render_GET(self, request):
        self.asked.append(request.uri)
        return b"secret\n"


class HostCheckTests(SynchronousTestCase):
    """What a L{QuietSite} refuses before its resource is asked."""

    def setUp(self):
        self.root = _Reached()
        self.site = QuietSite(self.root, ServedNames(what="this port"))

    def refused(self, code, *args, **kwargs):
        status, headers, body = ask(self.site, *args, **kwargs)
        self.assertEqual(status, code, (args, kwargs, body))
        self.assertEqual(self.root.asked, [])
        self.assertNotIn(b"secret", body)
        self.assertEqual(headers[b"content-type"], [b"text/plain; charset=utf-8"])
        return body.decode("utf-8")

    def test_aRebindingName(self):
        """A page under a name rebound to this machine is refused 421,
        saying why and what the port answers to."""
        why = self.refused(421, hosts=[b"rebind.test:9100"])
        self.assertIn("DNS rebinding", why)
        self.assertIn("this port answers to 127.0.0.1, ::1, localhost, not to Host "
                      "'rebind.test:9100'", why)

    def test_theStatusLineNamesIt(self):
        """A 421's status line says its phrase (RFC 9110), not twisted.web's
        "Unknown Status", which a client shows its user: on every port,
        the web view's pages and JSON API included."""
        view = webSite(MarketView(Clock()))
        for site, path in ((self.site, b"/"), (metricsSite(CollectorRegistry()), b"/metrics"),
                           (view, b"/"), (view, b"/api/market")):
            address = IPv4Address("TCP", "127.0.0.1", 40000)
            channel = site.buildProtocol(address)
            transport = StringTransport(peerAddress=address)
            channel.makeConnection(transport)
            channel.dataReceived(b"GET " + path + b" HTTP/1.1\r\nHost: rebind.test:9100\r\n\r\n")
            status = transport.value().split(b"\r\n", 1)[0]
            channel.connectionLost(None)
            self.assertEqual(status, b"HTTP/1.1 421 Misdirected Request", (site, path))

    def test_whatNoBrowserSends(self):
        """User info in Host, two Hosts (one served), none: 400."""
        self.assertIn("is not NAME or NAME:PORT",
                      self.refused(400, hosts=[b"rebind.test@127.0.0.1:9100"]))
        self.assertIn("one Host, not 2",
                      self.refused(400, hosts=[b"127.0.0.1:9100", b"rebind.test:9100"]))
        self.assertIn("one Host, not 2",
                      self.refused(400, hosts=[b"127.0.0.1:9100", b"127.0.0.1:9100"]))
        self.assertIn("has none", self.refused(400, hosts=[], version=b"HTTP/1.0"))

    def test_itsOwnNamesAreServed(self):
        for host in (b"127.0.0.1:9100", b"localhost:9100", b"[::1]:9100"):
            self.assertEqual(ask(self.site, hosts=[host])[0], 200, host)
        self.assertEqual(len(self.root.asked), 3)

    def test_aSiteRefusesAnUpgradeWithAnOrigin(self):
        """The web view and the metrics pass the same check."""
        status, _, _ = ask(self.site, headers=[(b"Upgrade", b"websocket"),
                                          (b"Origin", b"http://127.0.0.1:9100")])
        self.assertEqual((status, self.root.asked), (403, []))
