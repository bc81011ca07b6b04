"""
End to end: ``--metrics`` on the tracker and on nodes, scraped over HTTP
while a purchase happens, with values that match it; and a metrics
endpoint that cannot listen ends the daemon with the reason.
"""

import re
import shutil
import tempfile
import urllib.request

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import listeningPort, waitWantsMet
from twisted_bazaar.testing.daemons import JSON, LOOPBACK_LISTEN, LiveMarket, nodeId

TIMEOUT = 30.0


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                timeout=TIMEOUT) as answer:
        kind = answer.headers["content-type"]
        return kind, answer.read().decode("utf-8")


def sample(text, name):
    """The value of one sample line, e.g. ``bazaar_sales_total{item="apple"}``."""
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return None if match is None else float(match[1])


class MetricsLiveTests(SynchronousTestCase):
    def setUp(self):
        folder = tempfile.mkdtemp(prefix="bazaar-metrics-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(self.market.stop)

    def metricsPort(self, daemon):
        return listeningPort(daemon, "metrics", TIMEOUT)

    def test_scrapedAfterAPurchase(self):
        """After one purchase: sales 1 at the seller, purchases 1 at the
        buyer, the buy counted out of one and into the other, the
        tracker's two nodes."""
        tracker = self.market.startTracker("tracker", TIMEOUT, "--metrics",
                                           LOOPBACK_LISTEN)
        seller = self.market.startNode("seller", "--role", "seller", "--sell",
                                       "apple=3", "--metrics", LOOPBACK_LISTEN)
        nodeId(seller, TIMEOUT)
        buyer = self.market.startNode("buyer", "--role", "buyer", "--want", "apple",
                                      "--metrics", LOOPBACK_LISTEN)
        waitWantsMet(buyer, TIMEOUT)
        kind, seen = scrape(self.metricsPort(seller))
        self.assertTrue(kind.startswith("text/plain"), kind)
        self.assertEqual(sample(seen, 'bazaar_sales_total{item="apple"}'), 1)
        self.assertEqual(sample(seen, 'bazaar_stock{item="apple"}'), 2)
        self.assertEqual(sample(seen, 'bazaar_messages_received_total{type="buy"}'), 1)
        self.assertEqual(sample(seen, "bazaar_commit_batch_size_count"), 1)
        _, bought = scrape(self.metricsPort(buyer))
        self.assertEqual(sample(bought, 'bazaar_purchases_total{item="apple"}'), 1)
        self.assertEqual(sample(bought, 'bazaar_messages_sent_total{type="buy"}'), 1)
        self.assertEqual(sample(bought, "bazaar_pending_buys"), 0)
        self.assertEqual(sample(bought, "bazaar_search_to_buyok_seconds_count"), 1)
        self.assertIsNotNone(sample(bought, "bazaar_reactor_lag_seconds"))
        _, registry = scrape(self.metricsPort(tracker))
        self.assertEqual(sample(registry, "bazaar_tracker_nodes"), 2)
        for daemon in (tracker, seller, buyer):
            self.assertEqual(daemon.problems(), [])

    def test_cannotListen(self):
        """A --metrics endpoint that cannot listen: one line, exit 1."""
        tracker = self.market.startTracker("tracker", TIMEOUT)
        node = self.market.startNode(
            "node", "--metrics", f"tcp:{self.market.tracker_port}:interface=127.0.0.1")
        self.assertEqual(node.finish(TIMEOUT), 1, node.tail())
        self.assertTrue(node.matches(
            r"twistd bazaar-node: error: metrics cannot listen on tcp:\d+:"
            r"interface=127\.0\.0\.1: .*"), node.tail())
        self.assertEqual(tracker.problems(), [])
