"""
End to end, in a real headless browser: the tracker's ``--web`` page
draws a market of 20 twistd daemons (19 sellers and others, then a
buyer) as a graph, once with flood discovery and once with index, and
its picture changes after a trade: the trade's seller flashes in
vis-network's node DataSet (read through the page's JavaScript, not its
pixels).  The flood market is watched by ``bazaar web --data-dir`` of
its buyer: the buyer tells its operator the path its buy took, and the
trade moves along it (the page's ``bazaarGraph.moves``).  Each is waited
for, bounded; how soon the picture shows a trade is a benchmark's
figure (``web_update_s``, benchmarks/webview.py), not asserted here.

It needs Chromium, its driver and selenium, as test_web_live does, and
is skipped without them.  The flood market's page is kept as a picture,
in ``build/test-artifacts/web-market.png`` or the file
``BAZAAR_WEB_SCREENSHOT`` names: ``make screenshot`` names
docs/web-view.png.
"""

import json
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import listeningPort, waitBought, waitWantsMet
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.testing.daemons import JSON, LiveMarket, nodeId
from twisted_bazaar.wire.ids import shortId, wireId

from tests.e2e.test_web_live import (
    ARTIFACT,
    GRAPH_NODES,
    browser,
    operatorView,
    untilShown,
)

#: The market's size: the nodes started before the trade, and the buyer.
NODES = 20
#: Generous bounds for a loaded 2-core machine: 20 daemons starting.
START_TIMEOUT = 240.0
TIMEOUT = 60.0
#: Installed in the page: each node whose picture in the graph's DataSet
#: is updated to flash (a trade).
RECORD_FLASHES = """
window.flashes = [];
window.bazaarGraph.nodes.on('update', (event, properties) => {
  for (const item of properties.data) {
    if (item.borderWidth === 4) window.flashes.push(item.id);
  }
});
"""


class WebMarketLiveTests(SynchronousTestCase):
    def setUp(self):
        self.driver = browser()
        self.addCleanup(self.driver.quit)
        folder = tempfile.mkdtemp(prefix="bazaar-web-market-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(self.market.stop)

    def waitUntil(self, script, what, timeout=TIMEOUT):
        return untilShown(self, script, what, timeout, lambda: (
            "\nthe tracker's last lines:\n" + (
                self.market.tracker.tail(40) if self.market.tracker else "")))

    def marketOf(self, scheme, operator=False):
        """Start a tracker with its web view and 19 nodes of the scheme
        (six sell apples, the others figs or nothing), open the page, wait
        until its graph holds every node with links between them, then
        start a buyer of an apple; check that the seller flashes in the
        picture after the buyer's purchase, and the buyer is drawn.  With
        ``operator``, the page is ``bazaar web --data-dir`` of the buyer
        (its key made before it starts): the trade also moves along the
        path its buy took, as the buyer tells its operator."""
        tracker = self.market.startTracker("tracker", TIMEOUT, "--web", "tcp:0",
                                           "--web-poll", "0.5")
        port = listeningPort(tracker, "web view", TIMEOUT)
        buyer_data = os.path.join(self.market.cwd, "buyer-data")
        if operator:
            os.mkdir(buyer_data)
            buyer_key = Identity.inDirectory(buyer_data)
            port = operatorView(self, self.market, buyer_data)[1]
        # A market over TCP alone: its page is then given a QUIC link of
        # its own to draw (relayedLinkDashed).
        scheme_args = ("--discovery", scheme, "--no-quic")
        nodes = []
        for i in range(NODES - 1):
            role = (("--role", "seller", "--sell", "apple=3") if i < 6 else
                    ("--role", "seller", "--sell", f"fig={i}") if i < 12 else ())
            nodes.append(self.market.startNode(f"node{i}", *scheme_args, *role))
        ids = [nodeId(node, START_TIMEOUT) for node in nodes]
        self.driver.get(f"http://127.0.0.1:{port}/")
        self.waitUntil(f"return {GRAPH_NODES} == {NODES - 1}",
                       f"the {NODES - 1} nodes in the graph", START_TIMEOUT)
        self.assertEqual(sorted(self.driver.execute_script(
            "return window.bazaarGraph.nodes.getIds()")), sorted(map(wireId, ids)))
        # The sellers' states known, and a flooding overlay's links drawn
        # (an index's nodes take none: they ask the tracker).
        self.waitUntil("return document.querySelectorAll('#offers tr').length == 12",
                       "the twelve sellers' offers", START_TIMEOUT)
        if scheme == "flood":
            self.waitUntil("return window.bazaarGraph.edges.length >= "
                           f"{(NODES - 1) // 2}", "the overlay's links", START_TIMEOUT)
        if scheme == "flood":
            self.relayedLinkDashed(port)
        self.driver.execute_script(RECORD_FLASHES)
        buyer = self.market.startNode("buyer", *scheme_args, "--role", "buyer",
                                      "--want", "apple",
                                      *(("--data-dir", buyer_data) if operator else ()))
        seller_id = waitBought(buyer, "apple", TIMEOUT)["seller"]
        waitWantsMet(buyer, TIMEOUT, bag=1)
        [seller] = [shortId(each) for each in ids if wireId(each) == seller_id]
        self.waitUntil(f"return window.flashes.includes('{seller_id}')",
                       "the trade's seller flashing", TIMEOUT)
        self.waitUntil(f"return {GRAPH_NODES} == {NODES}", f"all {NODES} nodes")
        if operator:
            # The buyer's own word: its buy went straight to the seller.
            path = [wireId(buyer_key.id), seller_id]
            moved = self.waitUntil(
                "return window.bazaarGraph.moves.find(move => move.path.join(' ') == "
                f"'{' '.join(path)}')", "the trade moving along its path", TIMEOUT)
            # From seller to buyer.
            self.assertEqual(moved["hops"], path[::-1])
        self.waitUntil("return [...document.querySelectorAll('#trades tr')].some(row => "
                       f"row.cells[1].textContent == '{seller}' && "
                       "row.cells[2].textContent == 'apple')", "the trade in its table")
        if scheme == "flood":
            self.screenshot()

    def screenshot(self):
        """The market page's picture, kept as a test artifact, or in the
        file BAZAAR_WEB_SCREENSHOT names (``make screenshot``: the docs')."""
        shot = Path(os.environ.get("BAZAAR_WEB_SCREENSHOT") or
                    ARTIFACT.with_name("web-market.png"))
        shot.parent.mkdir(parents=True, exist_ok=True)
        self.assertTrue(self.driver.save_screenshot(str(shot)), shot)

    def relayedLinkDashed(self, port):
        """The page draws a link dashed exactly where the market's data says
        it runs through a relay (``relayed``, from the nodes' nodestate
        links): no link runs through one on loopback, so the page is given
        the market's own data with one of its edges said relayed, drawn in
        the same call as it reads the DataSet."""
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/market",
                                    timeout=TIMEOUT) as answer:
            market = json.load(answer)
        self.assertEqual(market["relayed"], [], "no relayed link on loopback")
        market["relayed"] = market["edges"][:1]
        a, b = market["edges"][0]
        dashed = self.driver.execute_script(
            "const market = arguments[0];"
            "drawGraph(document.getElementById('graph'), market);"
            "return window.bazaarGraph.edges.get().filter(e => e.dashes).map(e => e.id)",
            market)
        self.assertEqual(dashed, [f"{a}-{b}"])
        # And in its own colour where it runs over QUIC (``quic``).
        self.assertEqual(market["quic"], [], "no QUIC link in this market")
        market["relayed"], market["quic"] = [], market["edges"][:1]
        coloured = self.driver.execute_script(
            "const market = arguments[0];"
            "drawGraph(document.getElementById('graph'), market);"
            "return window.bazaarGraph.edges.get().filter(e => e.color.color == QUIC_LINK)"
            ".map(e => e.id)", market)
        self.assertEqual(coloured, [f"{a}-{b}"])

    def test_floodMarket(self):
        """20 nodes discovering by flood, on the buyer's operator's page:
        drawn, and a trade shown, moving along its path."""
        self.marketOf("flood", operator=True)

    def test_indexMarket(self):
        """20 nodes discovering through the tracker's index: the same."""
        self.marketOf("index")
