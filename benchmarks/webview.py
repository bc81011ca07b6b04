"""
web_update_s: how soon after a trade the tracker's web view shows it,
in seconds: the median, over a few purchases, from the buyer logging
``bought apple from ...`` (its event's own time) to the page, in a
headless Chromium, making the seller flash (vis-network's node DataSet
updated; its time from the page's clock).  Both clocks are this
machine's wall clock.

Live daemons on loopback: a tracker with ``--web`` at its default
``--web-poll`` (1 s, what a user gets), a seller of apples and a few of
figs, then one buyer at a time (``--want apple --exit-when-done``),
each started at a random point of the poll's round.  A
sale is seen when a poll finds the seller's stock down and its page is
pushed the next picture, so the figure is about half a poll plus the
push, and grows with the machine's load.  The goal, 2 s, is the bound
tests/e2e/test_web_market_live.py once asserted (on a 20-node market
polled every 0.5 s); no baseline: it is a latency, not a ratio.

It needs Chromium, its driver and selenium, as the browser tests do;
without them the figure is shown as skipped, saying what to install.
"""

import random
import shutil
import time

from benchmarks.harness import START_TIMEOUT, Figure, market, median
from twisted_bazaar.testing.daemons import JSON, LISTENING_EVENT, nodeId
from twisted_bazaar.web.watch import DEFAULT_INTERVAL
from twisted_bazaar.wire.ids import wireId

NAME = "web_update_s"
GOAL = 2.0
#: The sellers of figs beside the apple seller: a market to draw.
FIG_SELLERS = 4
#: Seconds a purchase, or the page's showing of something, may take
#: before the run counts as failed.
TIMEOUT = 60.0
#: The buyer's purchase, as it logs it (its event's format).
BOUGHT = "bought {what} from {seller} ({n} of {q})"
#: Installed in the page: each flash of a node (its DataSet update that
#: widens its border), with the page's wall clock in ms.
RECORD_FLASHES = """
window.flashes = [];
window.bazaarGraph.nodes.on('update', (event, properties) => {
  for (const item of properties.data) {
    if (item.borderWidth === 4) window.flashes.push([item.id, Date.now()]);
  }
});
"""


def browser():
    """A headless Chromium driven by selenium, or the reason there is none."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None or shutil.which("chromedriver") is None:
        return None, "skipped: needs Chromium (apt-get install chromium chromium-driver)"
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None, "skipped: needs selenium (pip install '.[test]')"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options,
                            service=Service(shutil.which("chromedriver"))), ""


def until(driver, script, what):
    """Wait (bounded) until the script, run in the page, returns something
    true; that."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, TIMEOUT, poll_frequency=0.05).until(
        lambda driver: driver.execute_script(script),
        f"the page did not show {what} within {TIMEOUT:g} s")


def latencies(driver, repeats):
    """Seconds from each of ``repeats`` purchases to its flash."""
    with market(None, "--web", "tcp:0", logFormat=JSON) as daemons:
        port = daemons.tracker.waitForEvent(LISTENING_EVENT, START_TIMEOUT,
                                            what="web view")["port"]
        seller = daemons.startNode("seller", "--role", "seller", "--sell",
                                   f"apple={repeats}")
        others = [daemons.startNode(f"figs{n}", "--role", "seller", "--sell", "fig=1")
                  for n in range(FIG_SELLERS)]
        seller_id = wireId(nodeId(seller, START_TIMEOUT))
        for node in others:
            nodeId(node, START_TIMEOUT)
        driver.get(f"http://127.0.0.1:{port}/")
        until(driver, f"return document.querySelectorAll('#offers tr').length == "
                      f"{FIG_SELLERS + 1}", "every seller's offer")
        driver.execute_script(RECORD_FLASHES)
        seconds = []
        for n in range(repeats):
            driver.execute_script("window.flashes = []")
            # Each purchase at its own point of the poll's round, not all in
            # step with the previous flash.
            time.sleep(random.uniform(0, DEFAULT_INTERVAL))
            buyer = daemons.startNode(f"buyer{n}", "--role", "buyer", "--want", "apple",
                                      "--exit-when-done")
            bought = buyer.waitForEvent(BOUGHT, TIMEOUT, item="apple")
            flashed = until(driver, "return window.flashes.find(([id, at]) => "
                                    f"id == '{seller_id}')", "the seller flashing")
            seconds.append(round(flashed[1] / 1000 - bought["log_time"], 3))
            # The flash over, so that the next one is the next trade's.
            until(driver, f"return window.bazaarGraph.nodes.get('{seller_id}')"
                          ".borderWidth !== 4", "the seller's flash over")
    return seconds


def run(quick):
    repeats = 3 if quick else 7
    driver, why = browser()
    if driver is None:
        return [Figure(NAME, goal=("<=", GOAL), note=why)]
    try:
        seconds = latencies(driver, repeats)
    finally:
        driver.quit()
    return [Figure(NAME, median(seconds), "s", ("<=", GOAL),
                   detail={"seconds": seconds, "web_poll_s": DEFAULT_INTERVAL,
                           "nodes": FIG_SELLERS + 1 + 1},
                   note=f"buyer's 'bought' line to the seller's flash in the page, "
                        f"median of {repeats}, at the default --web-poll {DEFAULT_INTERVAL:g}")]
