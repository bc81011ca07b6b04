"""
End to end, in a real headless browser: the tracker's ``--web`` page
shows the nodes of a running market of twistd daemons, and updates after
a purchase without a reload; a node's page shows its public facts (its
overlay links and stock), and leaves out its bag, downloads and messages,
saying so: the view asks as a stranger, not as the node's operator.

It needs Chromium and its driver (Debian's ``chromium`` and
``chromium-driver``, which ``.ci/run`` installs) and selenium (the test
extras); without them it is skipped with the reason.  The window is
1280 px wide, the width the page must fit.  It keeps a screenshot of the
market page as a test artifact, in ``build/test-artifacts/web-view.png``,
or in the file ``BAZAAR_WEB_SCREENSHOT`` names (``make screenshot`` runs
test_web_market_live instead, whose 20-node market is the picture of the
README and the docs site, docs/web-view.png).
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.e2e.helpers import listeningPort, startCommand, waitSharing, waitWantsMet
from twisted_bazaar.wire.ids import shortId, wireId
from twisted_bazaar.testing.daemons import JSON, LiveMarket, nodeId

TIMEOUT = 30.0
#: The number of nodes the page's graph holds (vis-network's DataSet).
GRAPH_NODES = "(window.bazaarGraph ? window.bazaarGraph.nodes.length : 0)"
#: The width the page must fit, and where its screenshot is kept.
WIDTH = 1280
ARTIFACT = Path(__file__).resolve().parents[2] / "build" / "test-artifacts" / "web-view.png"


def browser(*flags):
    """A headless Chromium driven by selenium (with more command-line
    flags, if given), or SkipTest saying what is missing."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        raise SkipTest("Chromium is not installed (apt-get install chromium "
                       "chromium-driver): the browser test needs it")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise SkipTest("selenium is not installed (pip install '.[test]')")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 f"--window-size={WIDTH},800", *flags):
        options.add_argument(flag)
    # The console's lines, for what the view's Content-Security-Policy
    # blocked (L{blocked}).
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(driver))


def blocked(driver):
    """The console lines since the last call that say the page's
    Content-Security-Policy blocked something it does."""
    return [entry["message"] for entry in driver.get_log("browser")
            if "Content Security Policy" in entry["message"]]


def untilShown(test, script, what, timeout, more=""):
    """Wait until the script, run in test's page (``test.driver``), returns
    something true, and return it; else fail, saying what the page shows,
    and ``more``, a callable's text (a daemon's last lines)."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(test.driver, timeout, poll_frequency=0.1).until(
            lambda driver: driver.execute_script(script))
    except TimeoutException:
        test.fail(f"the page did not show {what} within {timeout:g} s; it shows:\n"
                  + test.driver.find_element("tag name", "body").text
                  + (more() if more else ""))


#: An expression, in a page of the view's, that asks /api/market as the
#: page does (with the token the page keeps, if any): the answer's text.
ASK_MARKET = ("(() => { const ask = new XMLHttpRequest(); "
              "ask.open('GET', '/api/market', false); "
              "const token = sessionStorage.getItem('bazaar-token'); "
              "if (token) ask.setRequestHeader('Authorization', 'Bearer ' + token); "
              "ask.send(); return ask.responseText; })()")


def operatorView(test, market, data):
    """Start ``bazaar web --data-dir data`` on the market's tracker (its
    processes ended with the test): the process, the port it serves, and
    its first line, which says whose operator it is."""
    script = str(Path(sys.executable).with_name("bazaar"))
    web = startCommand(
        [script, "--tracker", f"127.0.0.1:{market.tracker_port}", "web",
         "--data-dir", data, "--listen", "tcp:0", "--poll", "0.5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    test.addCleanup(lambda: web.poll() is None and web.kill())
    first = web.stdout.readline()
    found = re.match(r"web view listening on 127\.0\.0\.1:(\d+), ", first)
    test.assertIsNotNone(found, first)
    # The operator opens the link it prints once, whose page keeps the
    # token for its tab: without it the page shows the public market only.
    link = re.match(r"open (http://127\.0\.0\.1:\d+/\?token=[\w-]+) ",
                    web.stdout.readline())
    test.assertIsNotNone(link)
    test.driver.get(link[1])
    # Its page took the token out of its address (history, bookmarks).
    test.assertEqual(test.driver.current_url, f"http://127.0.0.1:{found[1]}/")
    return web, int(found[1]), first


class WebLiveTests(SynchronousTestCase):
    def setUp(self):
        self.driver = browser()
        self.addCleanup(self.driver.quit)
        folder = tempfile.mkdtemp(prefix="bazaar-web-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(self.market.stop)

    def waitUntil(self, script, what):
        """Wait until the script, run in the page, returns true."""
        untilShown(self, script, what, TIMEOUT)

    def units(self, node_id):
        return (f"const row = document.querySelector('#offers tr[data-item=apple]"
                f"[data-node=\"{wireId(node_id)}\"] .units'); return row && row.textContent")

    def test_pageFollowsTheMarket(self):
        """The page loads, shows the sellers as they are (a shared file
        once, by its name), and after a purchase shows the new stock and
        the trade with its seller (its buyer not seen: a node tells a
        stranger nothing of what it bought), in the same page, all within
        1280 px."""
        tracker = self.market.startTracker("tracker", TIMEOUT, "--web", "tcp:0",
                                           "--web-poll", "0.5")
        port = listeningPort(tracker, "web view", TIMEOUT)
        sellers = [nodeId(self.market.startNode(f"seller{i}", "--role", "seller",
                                                "--sell", "apple=3", "--sell",
                                                f"fig={i + 1}"), TIMEOUT)
                   for i in range(2)]
        shared = os.path.join(self.market.cwd, "shared")
        os.mkdir(shared)
        with open(os.path.join(shared, "song.ogg"), "wb") as f:
            f.write(os.urandom(4096))
        sharer = self.market.startNode("sharer", "--role", "seller", "--share", shared)
        waitSharing(sharer, "song.ogg", TIMEOUT)
        sharer_id = wireId(nodeId(sharer, TIMEOUT))
        self.driver.get(f"http://127.0.0.1:{port}/")
        self.waitUntil(f"return {GRAPH_NODES} == 3", "three nodes in the graph")
        self.waitUntil(f"{self.units(sellers[0])} == '3'", "3 apples on sale")
        self.waitUntil("return document.querySelectorAll('#files tr[data-item=\"song.ogg\"]"
                       " .size')[0]?.textContent == '4.0 KiB'", "the shared file")
        # Its node by short id, whole on hover.
        self.assertEqual(self.driver.execute_script(
            "const a = document.querySelector('#files tr[data-item=\"song.ogg\"] "
            ".sellers a'); return [a.textContent, a.title]"),
            [sharer_id[:8], sharer_id])
        self.assertEqual(self.driver.execute_script(
            "return [...document.querySelectorAll('#offers tr, #files tr')].filter("
            "row => row.dataset.item.startsWith('sha256:') || row.dataset.item == "
            "'song.ogg' && row.closest('#offers')).length"), 0)
        self.driver.execute_script("window.sameDocument = true")
        buyer = self.market.startNode("buyer", "--role", "buyer", "--want", "apple")
        waitWantsMet(buyer, TIMEOUT)
        buyer_id = nodeId(buyer, TIMEOUT)
        # The log names the seller by its short id; the page's data, whole.
        short = buyer.waitFor(r"bought apple from ([0-9a-f]+)", TIMEOUT)[1]
        [seller] = [each for each in sellers if shortId(each) == short]
        self.waitUntil(f"{self.units(seller)} == '2'", "2 apples left at the seller")
        self.waitUntil(f"return {GRAPH_NODES} == 4", "four nodes in the graph")
        self.waitUntil("return [...document.querySelectorAll('#trades tr')].some(row => "
                       f"row.cells[1].textContent == '{shortId(seller)}' && "
                       "row.cells[2].textContent == 'apple' && "
                       "row.cells[3].textContent == '1' && "
                       "row.cells[4].textContent == 'not seen')",
                       "the trade, with its seller and its units, its buyer not seen")
        self.assertNotIn(shortId(buyer_id), self.driver.execute_script(
            "return document.getElementById('trades').textContent"))
        self.assertTrue(self.driver.execute_script("return window.sameDocument"),
                        "the page was reloaded")
        self.assertLessEqual(self.driver.execute_script(
            "return document.documentElement.scrollWidth"), WIDTH, "wider than 1280 px")
        self.assertEqual(self.driver.execute_script(
            "return [document.getElementById('downloads').offsetParent, "
            "document.querySelector('.legend .buyer').offsetParent]"), [None, None],
            "no node tells the view its downloads or purchases: left out")
        self.assertGreaterEqual(self.driver.execute_script(
            "return window.bazaarGraph.edges.length"), 2)
        # Drawn by vis-network, on its canvas, from the package's own files.
        self.assertEqual(self.driver.execute_script(
            "return [typeof vis.Network, document.querySelectorAll('#graph canvas').length,"
            " [...document.scripts].map(s => new URL(s.src).pathname)]"),
            ["function", 1, ["/static/vis-network.min.js", "/static/app.js"]])
        shot = Path(os.environ.get("BAZAAR_WEB_SCREENSHOT") or ARTIFACT)
        shot.parent.mkdir(parents=True, exist_ok=True)
        self.assertTrue(self.driver.save_screenshot(str(shot)), shot)

        self.driver.get(f"http://127.0.0.1:{port}/node/{wireId(seller)}")
        self.waitUntil("return document.getElementById('stock').textContent"
                       ".startsWith('apple 2')", "the seller's stock")
        self.waitUntil("return document.querySelectorAll('#links tr').length > 0",
                       "the seller's links")
        # What a stranger is not told is left out, not shown empty.
        self.waitUntil("return document.getElementById('address').textContent"
                       ".includes('left out here')", "that the operator's parts are left out")
        self.assertEqual(self.driver.execute_script(
            "return ['bag', 'pending', 'downloads', 'messages'].map(id => "
            "document.getElementById(id).offsetParent === null)"), [True] * 4,
            "the bag, pending buys, downloads and messages are not shown")
        self.assertIn(f"node {shortId(seller)}", self.driver.title + self.driver.find_element(
            "id", "title").text)
        # Nothing either page does was blocked by its Content-Security-Policy.
        self.assertEqual(blocked(self.driver), [])

    def test_twoViewsKeepTheirTokens(self):
        """Two bazaar web on one machine, of two nodes: the operator opens
        one's link, then the other's, in the same tab, and each page is
        still its node's operator's (their ports share a host, a cookie
        would have been one: the second link's would have replaced the
        first's)."""
        self.market.startTracker("tracker", TIMEOUT)
        views = []
        for name in ("seller", "other"):
            data = os.path.join(self.market.cwd, f"{name}-data")
            node = self.market.startNode(name, "--role", "seller", "--sell", "apple=1",
                                         "--data-dir", data)
            views.append((wireId(nodeId(node, TIMEOUT)), operatorView(self, self.market,
                                                                      data)[1]))
        for node, port in views:
            self.driver.get(f"http://127.0.0.1:{port}/")
            mine = untilShown(self, f"return JSON.parse({ASK_MARKET}).nodes.filter("
                              "n => n.operator).map(n => n.id).join(' ')",
                              f"the operator's node at {port}", TIMEOUT)
            self.assertEqual(mine, node)

    def test_theOperatorsWindow(self):
        """bazaar web, given a buyer's --data-dir, asks that buyer as its
        operator: its page shows its bag, pending buys and recent messages,
        and the market page the buyer's colour; a stranger's page leaves
        them out.  SIGTERM stops it with status 0."""
        self.market.startTracker("tracker", TIMEOUT)
        shared = os.path.join(self.market.cwd, "shared")
        downloads = os.path.join(self.market.cwd, "downloads")
        for folder in (shared, downloads):
            os.mkdir(folder)
        with open(os.path.join(shared, "big.bin"), "wb") as f:
            f.write(os.urandom(4 * 1024 * 1024))
        # A slow seller: the download is under way while the page looks.
        sharer = self.market.startNode("seller", "--role", "seller", "--sell", "apple=3",
                                       "--share", shared, "--transfer-rate", "100000")
        waitSharing(sharer, "big.bin", TIMEOUT)
        seller = nodeId(sharer, TIMEOUT)
        data = os.path.join(self.market.cwd, "buyer-data")
        buyer = self.market.startNode("buyer", "--role", "buyer", "--want", "apple",
                                      "--want", "big.bin", "--downloads", downloads,
                                      "--data-dir", data)
        buyer.waitFor(r"bought apple from", TIMEOUT)
        buyer.waitFor(r"big\.bin: 25% ", TIMEOUT)
        buyer_id = nodeId(buyer, TIMEOUT)
        web, port, first = operatorView(self, self.market, data)
        self.assertTrue(first.endswith(f", as the operator of node {shortId(buyer_id)}\n"),
                        first)
        self.driver.get(f"http://127.0.0.1:{port}/node/{wireId(buyer_id)}")
        self.waitUntil("return document.getElementById('bag').textContent"
                       ".includes('apple 1')", "the buyer's bag, to its operator")
        self.waitUntil("return document.querySelectorAll('#messages tr').length > 0",
                       "the buyer's recent messages")
        # Its trade, with the path its buy took: straight to the seller.
        self.waitUntil("return [...document.querySelectorAll('#trades tr')].some(row => "
                       "row.dataset.item == 'apple' && row.querySelector('.path')"
                       f".textContent == '{shortId(buyer_id)} \u2192 {shortId(seller)}')",
                       "the buyer's trade and its path")
        self.assertEqual(self.driver.execute_script(
            "return ['bag', 'pending', 'downloads', 'messages', 'trades'].map(id => "
            "document.getElementById(id).offsetParent !== null)"), [True] * 5)
        # The operator's page fills every table it shows; one with nothing
        # in it (the buyer shares no file) is left out, and says "none".
        self.assertEqual(self.driver.execute_script(
            "return [...document.querySelectorAll('table')].filter(t => t.offsetParent "
            "!== null && !t.querySelector('tbody tr')).length"), 0)
        self.assertEqual(self.driver.execute_script(
            "const files = document.getElementById('files').closest('table');"
            "return [files.offsetParent, files.nextElementSibling.textContent]"),
            [None, "none"])
        self.assertEqual(self.driver.execute_script(
            "return document.getElementById('pending').textContent"), "0")
        # Its download under way, the pieces verified as a bar.
        self.waitUntil("const bar = document.querySelector('#downloads "
                       "tr[data-item=\"big.bin\"] progress'); return bar && bar.value > 0",
                       "the buyer's download, as a bar")
        self.driver.get(f"http://127.0.0.1:{port}/node/{wireId(seller)}")
        self.waitUntil("return document.getElementById('address').textContent"
                       ".includes('left out here')", "the seller's page, to a stranger")
        self.driver.get(f"http://127.0.0.1:{port}/")
        self.waitUntil(f"return {GRAPH_NODES} == 2", "two nodes in the graph")
        self.assertIsNotNone(self.driver.execute_script(
            "return document.querySelector('.legend .buyer').offsetParent"))
        # The market page too: every table it shows filled (its trades,
        # made before the view looked, are left out and say "none").
        self.waitUntil("return document.querySelectorAll('#offers tr').length > 0",
                       "the seller's offers")
        self.assertEqual(self.driver.execute_script(
            "return [...document.querySelectorAll('table')].filter(t => t.offsetParent "
            "!== null && !t.querySelector('tbody tr')).length"), 0)
        self.assertEqual(blocked(self.driver), [])
        web.send_signal(signal.SIGTERM)
        self.assertEqual(web.wait(TIMEOUT), 0, web.stderr.read())

