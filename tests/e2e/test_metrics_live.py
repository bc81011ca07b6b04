"""
End to end: ``--metrics`` on the tracker and on nodes, scraped over HTTP
while a purchase happens, with values that match it; a metrics endpoint
that cannot listen ends the daemon with the reason; and, in a real
headless Chromium, a page whose name rebinds to 127.0.0.1 cannot read a
buyer's metrics, nor a plain request naming the tracker's by that name.
"""

import http.client
import re
import shutil
import tempfile
import urllib.request

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import listeningPort, waitWantsMet
from twisted_bazaar.testing.daemons import JSON, LOOPBACK_LISTEN, LiveMarket, nodeId

from tests.e2e.test_web_live import browser

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


#: The rebinding name: the browser resolves it to 127.0.0.1, as a page's
#: name whose DNS answer was changed to it would (DNS rebinding).
REBIND = "rebind.test"

#: A script run in a page: fetch its own origin's /metrics (a same-origin
#: GET: no Origin; no Sec-Fetch-* to a plain http name) and give back
#: ``STATUS BODY``.
READ_METRICS = """
const done = arguments[arguments.length - 1];
fetch("/metrics").then(async (answer) => done(answer.status + " " + await answer.text()),
                       (e) => done("blocked: " + e));
"""


def plainGet(port, host):
    """GET /metrics from 127.0.0.1:port naming ``host`` in Host: (status,
    body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.putrequest("GET", "/metrics", skip_host=True)
        connection.putheader("Host", host)
        connection.endheaders()
        answer = connection.getresponse()
        return answer.status, answer.read().decode("utf-8")
    finally:
        connection.close()


class RebindingTests(SynchronousTestCase):
    """issue 82: a DNS-rebinding page read a buyer's purchases from its
    --metrics in Chromium, 3 of 3; the tracker's --metrics answered a
    rebinding Host 200."""

    def setUp(self):
        self.driver = browser(f"--host-resolver-rules=MAP {REBIND} 127.0.0.1")
        self.driver.set_script_timeout(TIMEOUT)
        self.addCleanup(self.driver.quit)
        folder = tempfile.mkdtemp(prefix="bazaar-metrics-rebind-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(self.market.stop)

    def readFrom(self, origin):
        """Open ``origin``'s page and fetch its /metrics from it as the page
        does: ``STATUS BODY``."""
        self.driver.get(origin + "/")
        return self.driver.execute_async_script(READ_METRICS)

    def test_aRebindingPageReadsNothing(self):
        """A page at http://rebind.test:PORT/ (the buyer's metrics port,
        which the page's name now resolves to) fetches /metrics as its own
        origin: refused 421, the purchase not in it.  The same browser,
        at 127.0.0.1:PORT, reads the purchase: the read was there to make.
        The tracker's port refuses a plain request naming it so."""
        tracker = self.market.startTracker("tracker", TIMEOUT, "--metrics",
                                           LOOPBACK_LISTEN)
        seller = self.market.startNode("seller", "--role", "seller", "--sell",
                                       "apple=3")
        nodeId(seller, TIMEOUT)
        buyer = self.market.startNode("buyer", "--role", "buyer", "--want", "apple",
                                      "--metrics", LOOPBACK_LISTEN)
        buyer.waitFor(r"all wants met", TIMEOUT)
        port = listeningPort(buyer, "metrics", TIMEOUT)
        bought = 'bazaar_purchases_total{item="apple"} 1.0'
        rebound = self.readFrom(f"http://{REBIND}:{port}")
        self.assertTrue(rebound.startswith("421 "), rebound[:300])
        self.assertIn("DNS rebinding", rebound)
        self.assertNotIn("bazaar_purchases", rebound)
        own = self.readFrom(f"http://127.0.0.1:{port}")
        self.assertTrue(own.startswith("200 "), own[:300])
        self.assertIn(bought, own)
        trackerPort = listeningPort(tracker, "metrics", TIMEOUT)
        status, body = plainGet(trackerPort, f"{REBIND}:{trackerPort}")
        self.assertEqual(status, 421, body)
        self.assertNotIn("bazaar_tracker_nodes", body)
        self.assertEqual(plainGet(trackerPort, f"127.0.0.1:{trackerPort}")[0], 200)
        for daemon in (tracker, seller, buyer):
            self.assertEqual(daemon.problems(), [])
