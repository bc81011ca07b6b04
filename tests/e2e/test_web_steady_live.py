"""
End to end, in a real headless browser: the market page does not move
as it loads, and is laid out the same at each load (issue 73, "the
layout jumps on each load").  Before, Chromium's layout-shift entries
showed, at each load, the tables filling and the operator's parts (the
Downloads table, the legend's buyer) collapsing once the first picture
came, and the graph's nodes flew into place for a second and more: they
were added to a network drawn empty, which lays nodes out on screen.
Now the page is shown once drawn as told, its graph laid out first.

And the operator's buyer that has bought nothing yet is coloured a
buyer, where it was grey: its node tells its operator its roles.

It needs Chromium, its driver and selenium, as test_web_live does, and
is skipped without them.
"""

import os
import re
import shutil
import tempfile
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import listeningPort, waitWantsMet
from twisted_bazaar.testing.daemons import JSON, LiveMarket, nodeId
from twisted_bazaar.wire.ids import wireId

from tests.e2e.test_web_live import (
    GRAPH_NODES,
    browser,
    operatorView,
    untilShown,
)

TIMEOUT = 30.0
#: How far a node may be from where it was (the graph's nodes flew about
#: 40 px into place).
NEAR = 3
APP = Path(__file__).parents[2] / "twisted_bazaar" / "web" / "static" / "app.js"
#: Where a vis-network draws each node, on the page: [id, x, y] by id.
NODES_SHOWN = """
function nodesShown(network) {
  return Object.entries(network.getPositions()).map(([id, at]) => {
    const shown = network.canvasToDOM(at);
    return [id, Math.round(shown.x), Math.round(shown.y)];
  }).sort();
}
"""
#: Installed in each page before its scripts: Chromium's layout shifts
#: (the Layout Instability API), each with what moved; and where the
#: graph's nodes are in the first frame the page shows them.
RECORD_SHIFTS = """
window.shifts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    window.shifts.push((entry.sources || []).map((source) =>
      source.node ? (source.node.id || source.node.nodeName + ' ' +
                     (source.node.textContent || '').slice(0, 30)) : '?'));
  }
}).observe({type: 'layout-shift', buffered: true});
window.firstShown = null;
function recordFirstShown() {
  const graph = window.bazaarGraph;
  try {
    if (graph && graph.nodes.length && !document.body.classList.contains('waiting')) {
      window.firstShown = nodesShown(graph.network);
      return;
    }
  } catch (error) {
    window.firstShownError = String(error);
  }
  requestAnimationFrame(recordFirstShown);
}
requestAnimationFrame(recordFirstShown);
""" + NODES_SHOWN
#: Where the page's main parts are, in CSS pixels, and where the graph
#: draws each node (its canvas's position on the page, by node id).
PLACES = """
const places = {};
for (const part of document.querySelectorAll('main h2, #graph, .legend, main table, p.none')) {
  const box = part.getBoundingClientRect();
  places[part.id || part.tagName + ' ' + part.textContent.slice(0, 20)] =
    [box.x, box.y, box.width, box.height].map(Math.round);
}
return {places, nodes: nodesShown(window.bazaarGraph.network),
        first: window.firstShown};
"""
#: True once the page shows its first picture, its graph at rest.
SETTLED = ("return !document.body.classList.contains('waiting') && "
           "window.bazaarGraph && window.bazaarGraph.settled")


def colour(role):
    """app.js's colour of a role."""
    found = re.search(rf'{role}: "(#[0-9a-f]+)"', APP.read_text())
    return found[1]


class SteadyPageLiveTests(SynchronousTestCase):
    def setUp(self):
        self.driver = browser()
        self.addCleanup(self.driver.quit)
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                    {"source": RECORD_SHIFTS})
        folder = tempfile.mkdtemp(prefix="bazaar-web-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(self.market.stop)

    def waitUntil(self, script, what):
        return untilShown(self, script, what, TIMEOUT)

    def loaded(self, nodes):
        """Wait until the page shows its picture of nodes nodes, at rest;
        where its parts and nodes are then."""
        self.waitUntil(f"return {GRAPH_NODES} == {nodes} && document.querySelectorAll("
                       "'#offers tr').length > 0", f"{nodes} nodes and their offers")
        self.waitUntil(SETTLED + " && window.firstShown",
                       "the page shown, its graph at rest")
        return self.driver.execute_script(PLACES)

    def assertNear(self, nodes, others):
        """The same nodes, each within NEAR px of where it is in others
        (a node's last steps as it comes to rest are a pixel or so)."""
        self.assertEqual([node[0] for node in nodes], [node[0] for node in others])
        for (node, x, y), (_, other_x, other_y) in zip(nodes, others):
            self.assertLessEqual(max(abs(x - other_x), abs(y - other_y)), NEAR,
                                 (node, nodes, others))

    def test_nothingMovesAsThePageLoads(self):
        """Two loads of the market page: no layout shift in either, the
        graph's nodes at rest where they were first shown, and its parts
        and nodes in the same places at each load.  A scrollbar
        that comes (a long table) moves nothing either."""
        tracker = self.market.startTracker("tracker", TIMEOUT, "--web", "tcp:0",
                                           "--web-poll", "0.5")
        port = listeningPort(tracker, "web view", TIMEOUT)
        for i in range(3):
            nodeId(self.market.startNode(f"seller{i}", "--role", "seller", "--sell",
                                         "apple=5", "--sell", f"fig={i + 1}"), TIMEOUT)
        buyer = self.market.startNode("buyer", "--role", "buyer", "--want", "apple")
        waitWantsMet(buyer, TIMEOUT)
        # Until the view has seen the market as it now stays (the sale,
        # every node's reach), each load is shown another picture.
        self.driver.get(f"http://127.0.0.1:{port}/")
        self.waitUntil(f"return {GRAPH_NODES} == 4 && "
                       "document.querySelectorAll('#trades tr').length == 1 && "
                       "window.bazaarGraph.nodes.get().every(n => n.shape == 'dot')",
                       "the sale, and every node reachable")
        self.driver.refresh()
        first = self.loaded(4)
        self.assertEqual(self.driver.execute_script("return window.shifts"), [])
        # The nodes are at rest where the page first showed them.
        self.assertNear(first["first"], first["nodes"])
        self.driver.refresh()
        second = self.loaded(4)
        self.assertEqual(self.driver.execute_script("return window.shifts"), [])
        self.assertEqual(second["places"], first["places"])
        self.assertNear(second["nodes"], first["nodes"])
        self.assertEqual(len(first["nodes"]), 4)
        # A table long enough to scroll the page: nothing moves sideways.
        self.driver.execute_script(
            "document.querySelector('main section:last-child').append("
            "Object.assign(document.createElement('div'), {style: 'height: 3000px'}))")
        self.assertGreater(self.driver.execute_script(
            "return document.documentElement.scrollHeight"), 3000)
        self.assertEqual(self.driver.execute_script(PLACES)["places"], first["places"])

    def test_theOperatorsBuyerIsABuyer(self):
        """bazaar web, as the operator of a buyer that has bought nothing
        (it wants what nobody sells), colours it a buyer, not grey; its
        page says its role."""
        self.market.startTracker("tracker", TIMEOUT)
        nodeId(self.market.startNode("seller", "--role", "seller", "--sell", "apple=3"),
               TIMEOUT)
        data = os.path.join(self.market.cwd, "buyer-data")
        buyer = self.market.startNode("buyer", "--role", "buyer", "--want", "pear",
                                      "--data-dir", data)
        buyer_id = wireId(nodeId(buyer, TIMEOUT))
        _, port, _ = operatorView(self, self.market, data)
        self.waitUntil(f"return {GRAPH_NODES} == 2", "two nodes in the graph")
        self.waitUntil(f"const node = window.bazaarGraph.nodes.get('{buyer_id}');"
                       "return node && node.label.endsWith('(yours)')",
                       "the operator's own node")
        self.assertEqual(self.driver.execute_script(
            f"return window.bazaarGraph.nodes.get('{buyer_id}').color.background"),
            colour("buyer"))
        self.assertIsNotNone(self.driver.execute_script(
            "return document.querySelector('.legend .buyer').offsetParent"))
        self.driver.get(f"http://127.0.0.1:{port}/node/{buyer_id}")
        self.waitUntil("return document.getElementById('address').textContent"
                       ".includes('role buyer')", "the buyer's role on its page")
