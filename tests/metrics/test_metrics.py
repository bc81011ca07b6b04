"""
Tests of L{twisted_bazaar.metrics}: a node's and a tracker's counters in
a L{Market} (real nodes on the in-memory network and its fake clock), the
traffic a link counts, the lag probe, and C{/metrics} rendered.
"""

import copy
import random

from prometheus_client import CollectorRegistry, Counter
from twisted.internet import defer, task
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.test.requesthelper import DummyRequest

from twisted_bazaar import wire
from twisted_bazaar.core.membership import Membership
from twisted_bazaar.core.node import Node, NodeConfig
from twisted_bazaar.daemon.build import plugMembership
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.metrics.lag import LagProbe
from twisted_bazaar.metrics.tracker import TrackerMetrics
from twisted_bazaar.metrics.traffic import Traffic
from twisted_bazaar.metrics.web import metricsSite
from twisted_bazaar.testing import Market
from twisted_bazaar.testing.capabilities import overQuic

from twisted_bazaar.store import MemoryStore, Purchase
from twisted_bazaar.wire.trade import BuyOK

from tests.daemon.httpclient import ask
from tests.helpers import FakeConnector, WiredLink, feed, linkPeer, makeNode, openLink


def value(metrics, name, **labels):
    return metrics.registry.get_sample_value(name, labels)


class MarketMetricsTests(SynchronousTestCase):
    def setUp(self):
        self.market = Market(seed=5)
        self.seller = self.market.addNode(seller={"stock": {"apple": 3}},
                                          metrics=True)
        self.buyer = self.market.addNode(buyer={"wants": ["apple"]}, metrics=True)
        self.market.run(20)
        self.sellerMetrics = self.market.metrics[self.seller]
        self.buyerMetrics = self.market.metrics[self.buyer]

    def test_trade(self):
        """After one purchase: one sale at the seller, in one commit, its
        stock down by one; one purchase at the buyer, none pending, and
        one search-to-buyOK time."""
        self.assertEqual(len(self.market.role(self.buyer, "buyer").bag), 1)
        seller, buyer = self.sellerMetrics, self.buyerMetrics
        self.assertEqual(value(seller, "bazaar_sales_total", item="apple"), 1)
        self.assertEqual(value(seller, "bazaar_commit_batch_size_count"), 1)
        self.assertEqual(value(seller, "bazaar_commit_batch_size_sum"), 1)
        self.assertEqual(value(seller, "bazaar_commit_latency_seconds_count",
                               what="sales"), 1)
        self.assertEqual(value(seller, "bazaar_stock", item="apple"), 2)
        self.assertIsNone(value(seller, "bazaar_purchases_total", item="apple"))
        self.assertEqual(value(buyer, "bazaar_purchases_total", item="apple"), 1)
        self.assertEqual(value(buyer, "bazaar_pending_buys"), 0)
        self.assertEqual(value(buyer, "bazaar_commit_latency_seconds_count",
                               what="pending"), 1)
        self.assertEqual(value(buyer, "bazaar_search_to_buyok_seconds_count"), 1)
        took = value(buyer, "bazaar_search_to_buyok_seconds_sum")
        self.assertTrue(0 < took < 5, took)
        self.assertIsNone(value(buyer, "bazaar_sales_total", item="apple"))

    def test_messages(self):
        """The buy went out of the buyer once and into the seller once,
        with its bytes; the buyOK the other way; the links are counted by
        purpose."""
        seller, buyer = self.sellerMetrics, self.buyerMetrics
        self.assertEqual(value(buyer, "bazaar_messages_sent_total", type="buy"), 1)
        self.assertEqual(value(seller, "bazaar_messages_received_total",
                               type="buy"), 1)
        self.assertEqual(value(seller, "bazaar_messages_sent_total", type="buyOK"), 1)
        self.assertEqual(value(buyer, "bazaar_messages_received_total",
                               type="buyOK"), 1)
        self.assertEqual(value(buyer, "bazaar_sent_bytes_total", type="buy"),
                         value(seller, "bazaar_received_bytes_total", type="buy"))
        self.assertGreater(value(buyer, "bazaar_sent_bytes_total", type="buy"), 10)
        self.assertEqual(value(buyer, "bazaar_links", purpose="overlay")
                         + value(buyer, "bazaar_links", purpose="direct"),
                         len(self.buyer.links))
        self.assertEqual(value(buyer, "bazaar_node_ready"), 1)

    def test_linksOverQuic(self):
        """The links over QUIC are counted by purpose, as every link is:
        none on the in-memory network, one once a link's transport runs
        over QUIC (as a QUIC stream's says)."""
        buyer = self.buyerMetrics
        purposes = sorted(self.buyer.linksByPurpose())
        self.assertEqual([value(buyer, "bazaar_links_quic", purpose=purpose)
                          for purpose in purposes], [0] * len(purposes))
        link = self.buyer.links[self.seller.id]
        transport = link.transport
        link.transport = overQuic(transport)
        self.addCleanup(setattr, link, "transport", transport)
        self.assertEqual({purpose: value(buyer, "bazaar_links_quic", purpose=purpose)
                          for purpose in purposes},
                         {purpose: int(purpose == link.purpose) for purpose in purposes})

    def test_reach(self):
        """Whether other nodes can dial the node: one of three states, as
        the tracker's check last found (on the in-memory network it
        checks each node's address too)."""
        self.assertEqual({state: value(self.sellerMetrics, "bazaar_node_reach",
                                       reach=state)
                          for state in ("public", "private", "unknown")},
                         {"public": 1, "private": 0, "unknown": 0})

    def test_perNode(self):
        """Each node has its own registry; a node without metrics counts
        nothing."""
        self.assertIsNot(self.sellerMetrics.registry, self.buyerMetrics.registry)
        other = self.market.addNode(buyer={"wants": ["apple"]})
        self.market.run(20)
        self.assertNotIn(other, self.market.metrics)
        self.assertIsNone(other.config.link.traffic)
        self.assertEqual(value(self.sellerMetrics, "bazaar_sales_total",
                               item="apple"), 2)


class UnitMetricsTests(SynchronousTestCase):
    def test_unitsNotBuys(self):
        """One buy of 3 units counts 3 units sold and 3 bought, as the
        counters' help says; the commit batch counts the one sale."""
        market = Market(seed=5)
        seller = market.addNode(seller={"stock": {"apple": 5}}, metrics=True)
        buyer = market.addNode(buyer={"wants": ["apple"], "quantity": 3}, metrics=True)
        market.run(20)
        self.assertEqual([p.units for p in market.role(buyer, "buyer").bag], [3])
        sellerMetrics, buyerMetrics = market.metrics[seller], market.metrics[buyer]
        self.assertEqual(value(sellerMetrics, "bazaar_sales_total", item="apple"), 3)
        self.assertEqual(value(sellerMetrics, "bazaar_commit_batch_size_sum"), 1)
        self.assertEqual(value(buyerMetrics, "bazaar_purchases_total", item="apple"), 3)


class SearchToBuyOKTests(SynchronousTestCase):
    """bazaar_search_to_buyok_seconds times the buyOKs of purchases, not
    any buyOK a peer hands the node."""

    def setUp(self):
        from twisted_bazaar.metrics.node import NodeMetrics

        self.node = makeNode(1)
        self.metrics = NodeMetrics(self.node)
        self.peer = linkPeer(self.node, 2)
        self.node.events.findStarted("apple")

    def test_aBuyOKThatBoughtNothingIsNotTimed(self):
        """A neighbour sends a buyOK for an item the node searches for,
        for no buy of its (a buyer refuses it): no time is observed (one
        was, 3 s, as if it had bought); the purchase made later is the
        one timed, from the search to its buyOK."""
        self.node.clock.advance(3)
        feed(self.peer, BuyOK(77, "apple", (2, 1)))
        self.assertEqual(value(self.metrics, "bazaar_search_to_buyok_seconds_count"), 0)
        self.node.clock.advance(2)
        self.successResultOf(self.node.store.commitPurchase(
            Purchase(78, "apple", 2, self.node.clock.seconds())))
        self.node.clock.advance(1)
        self.assertEqual(value(self.metrics, "bazaar_search_to_buyok_seconds_count"), 1)
        self.assertEqual(value(self.metrics, "bazaar_search_to_buyok_seconds_sum"), 5)
        self.assertEqual(value(self.metrics, "bazaar_purchases_total", item="apple"), 1)


class _IdWrittenLater(MemoryStore):
    """A store whose write of the node id waits for the test to fire
    C{written}."""

    def setNodeId(self, node_id):
        self.written = defer.Deferred()
        return self.written.addCallback(
            lambda _: MemoryStore.setNodeId(self, node_id))


class NodeReadyTests(SynchronousTestCase):
    """bazaar_node_ready says what its help says: 1 while a tracker holds
    the node registered, as it has shown, with its id on disk."""

    def setUp(self):
        from twisted_bazaar.metrics.node import NodeMetrics

        self.clock = task.Clock()
        config = NodeConfig(link=LinkSettings(handshake_timeout=0, ping_interval=0))
        self.store = _IdWrittenLater()
        self.node = Node(self.clock, random.Random(0), FakeConnector(), config,
                         store=self.store)
        self.node.setAddress("", 4100)
        self.metrics = NodeMetrics(self.node)
        self.membership = plugMembership(self.node, Membership(self.node))

    def ready(self):
        return value(self.metrics, "bazaar_node_ready")

    def register(self):
        tracker = WiredLink(self.membership.factory, "192.0.2.1", 7700)
        tracker.heard()
        tracker.say({"type": "thisisyou", "id": "77", "port": 4100})
        return tracker

    def test_followsTheRegistrationAndTheIdOnDisk(self):
        """0 until the id is on disk, though the tracker named the node;
        0 again while it has lost its tracker, 1 once registered again;
        0 once the node stops."""
        self.assertEqual(self.ready(), 0)
        tracker = self.register()
        self.assertEqual(self.ready(), 0)
        self.store.written.callback(None)
        self.assertEqual(self.ready(), 1)
        tracker.transport.loseConnection()
        self.assertEqual(self.ready(), 0)
        self.register()
        self.assertEqual(self.ready(), 1)
        self.node.shutdown()
        self.assertEqual(self.ready(), 0)


class TrafficTests(SynchronousTestCase):
    def setUp(self):
        self.traffic = Traffic()
        self.node = makeNode(1, link=LinkSettings(ping_interval=0, search_rate=1,
                                                  traffic=self.traffic))

    def test_undecodable(self):
        """A message that does not decode is a protocol error, by code."""
        link = openLink(self.node)
        link.dataReceived(b"3:xyz,")
        self.assertEqual(self.traffic.errors, {"wtf": 1})
        self.assertEqual(self.traffic.sent, {"error": 1})
        self.assertEqual(self.traffic.received, {})

    def test_framedBytes(self):
        """Bytes count the netstring's framing."""
        link = openLink(self.node)
        feed(link, wire.ThisIsMe(2, 5002))
        size = len(wire.encode(wire.ThisIsMe(2, 5002)))
        self.assertEqual(self.traffic.received, {"thisisme": 1})
        self.assertEqual(self.traffic.received_bytes,
                         {"thisisme": size + len(str(size)) + 2})

    def test_tracker(self):
        """The tracker counts its links' messages (its address checks'
        included) and its live nodes."""
        market = Market(seed=2)
        # The market's nodes share its link settings; the tracker's own:
        market.tracker.settings = copy.copy(market.tracker.settings)
        metrics = TrackerMetrics(market.tracker)
        market.addNode()
        market.addNode()
        market.run(5)
        self.assertEqual(metrics.registry.get_sample_value("bazaar_tracker_nodes"), 2)
        # No relay here: it copied nothing.
        self.assertEqual(metrics.registry.get_sample_value(
            "bazaar_tracker_relayed_bytes_total"), 0)
        # Each node's thisisme registers it, and its answer to the
        # tracker's address check (whoareyou) is one more; each proves its
        # key once.
        self.assertEqual(metrics.registry.get_sample_value(
            "bazaar_messages_received_total", {"type": "thisisme"}), 4)
        self.assertEqual(metrics.registry.get_sample_value(
            "bazaar_messages_received_total", {"type": "proof"}), 2)

    def test_relayedBytesAreACounter(self):
        """The bytes the tracker's relay copied only ever grow: a counter,
        named as counters are (``_total``), read from the relay at each
        scrape; no gauge of that name is left."""
        market = Market(seed=2)
        market.tracker.settings = copy.copy(market.tracker.settings)
        metrics = TrackerMetrics(market.tracker)
        market.tracker.relay = FakeRelay()
        market.tracker.relay.relayed = 1234
        [family] = [family for family in metrics.registry.collect()
                    if family.name == "bazaar_tracker_relayed_bytes"]
        self.assertEqual(family.type, "counter")
        self.assertEqual(metrics.registry.get_sample_value(
            "bazaar_tracker_relayed_bytes_total"), 1234)
        market.tracker.relay.relayed = 5000
        self.assertEqual(metrics.registry.get_sample_value(
            "bazaar_tracker_relayed_bytes_total"), 5000)
        self.assertIsNone(metrics.registry.get_sample_value(
            "bazaar_tracker_relayed_bytes"))


class FakeRelay:
    """A tracker's relay, as its metrics read it: the bytes it copied."""

    relayed = 0


class LagProbeTests(SynchronousTestCase):
    def test_lateness(self):
        """Each probe reports how late it ran; stopped, it leaves no
        timer."""
        clock = task.Clock()
        lags = []
        probe = LagProbe(clock, lags.append, interval=1.0)
        probe.startService()
        clock.advance(1.0)
        clock.advance(3.5)
        self.assertEqual(lags, [0.0, 2.5])
        probe.stopService()
        self.assertEqual(clock.getDelayedCalls(), [])


class WebTests(SynchronousTestCase):
    def test_aRebindingNameCannotReadThem(self):
        """A request that names the port by another name (a page whose
        name rebinds to this machine reads the port as its own origin,
        sending no Origin, nor Sec-Fetch-* to a plain http name) is
        refused 421, saying why, never framed: the metrics say what a node
        bought.  So is one with user info in its Host, or two Hosts (400).
        A scraper, or a person typing the address, by a name it serves,
        reads them, whatever Sec-Fetch-Site says."""
        registry = CollectorRegistry()
        Counter("bazaar_purchases", "bought", ["item"], registry=registry).labels(
            item="apple").inc()
        site = metricsSite(registry)
        for hosts, code in (([b"rebind.test:9100"], 421), ([b"rebind.test"], 421),
                            ([b"127.0.0.1.rebind.test:9100"], 421),
                            ([b"rebind.test@127.0.0.1:9100"], 400),
                            ([b"127.0.0.1:9100", b"rebind.test:9100"], 400), ([], 400)):
            for path in (b"/metrics", b"/"):
                status, headers, body = ask(site, path, hosts, version=b"HTTP/1.0")
                self.assertEqual(status, code, (path, hosts))
                self.assertNotIn(b"bazaar_purchases", body)
                self.assertEqual(headers[b"x-frame-options"], [b"DENY"])
                self.assertEqual(headers[b"cross-origin-resource-policy"], [b"same-origin"])
        self.assertIn(b"(DNS rebinding) is refused",
                      ask(site, b"/metrics", [b"rebind.test:9100"])[2])
        for headers in ((), ((b"sec-fetch-site", b"none"),),
                        ((b"sec-fetch-site", b"same-origin"),)):
            status, _, body = ask(site, b"/metrics", [b"127.0.0.1:9100"], headers)
            self.assertEqual(status, 200)
            self.assertIn(b'bazaar_purchases_total{item="apple"} 1.0', body)

    def test_metricsPage(self):
        """/metrics renders the registry in Prometheus' text format."""
        registry = CollectorRegistry()
        metrics = TrackerMetrics(Market().tracker, registry)
        metrics.reactorLag(0.25)
        site = metricsSite(registry)
        request = DummyRequest([b"metrics"])
        request.requestHeaders.setRawHeaders(b"host", [b"127.0.0.1:9100"])
        resource = site.getResourceFor(request)
        body = resource.render(request)
        self.assertIn(b"bazaar_reactor_lag_seconds 0.25\n", body)
        self.assertIn(b"bazaar_tracker_nodes 0.0\n", body)
        self.assertTrue(request.responseHeaders.getRawHeaders(b"content-type")[0]
                        .startswith(b"text/plain"))
