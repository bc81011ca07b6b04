"""
Tests of what the web view's page (web/static/app.js) says in its header
of the events it follows, run in Node.js with stand-ins for the page's
document and fetch (skipped where Node.js is not installed).
"""

import json
import shutil
import subprocess
from pathlib import Path

from twisted.trial.unittest import SkipTest, SynchronousTestCase

APP = Path(__file__).parents[2] / "twisted_bazaar" / "web" / "static" / "app.js"

#: Runs app.js's listen() on a market page whose token is "old", over a
#: fetch that answers one market event (trackerSilent as given), its
#: answer marked x-bazaar-token or not; prints the header's status (its
#: class and words) once the event is taken.
HARNESS = r"""
const vm = require("vm");
const fs = require("fs");
const source = fs.readFileSync(process.argv[1], "utf8").replace(/\nlisten\(\);\s*$/, "\n");
const [marked, silent] = JSON.parse(fs.readFileSync(0, "utf8"));
const status = {textContent: "connecting…", className: ""};
const document = {body: {dataset: {page: "market"}, classList: {remove() {}}},
                  getElementById: (id) => (id === "status" ? status : null)};
const event = `event: market\ndata: ${JSON.stringify({trackerSilent: silent})}\n\n`;
let sent = false;
const reader = {read: () => sent ? new Promise(() => {}) :
                  (sent = true, Promise.resolve({value: event, done: false}))};
const fetch = async () => ({
  ok: true, status: 200,
  headers: {get: (name) => (marked && name === "x-bazaar-token" ? "not-this-view" : null)},
  body: {pipeThrough: () => ({getReader: () => reader})}});
const context = vm.createContext({
  document, fetch, TextDecoderStream: function () {}, setTimeout,
  window: {location: {href: "http://127.0.0.1:8080/", pathname: "/"}},
  sessionStorage: {getItem: () => "old", setItem() {}}, history: {replaceState() {}},
  URL});
vm.runInContext(source + "\nshowMarket = () => {};\nlisten();", context);
setTimeout(() => console.log(JSON.stringify([status.className, status.textContent])), 100);
"""


def header(marked, silent=None):
    """The header's (class, words) once the page took one event."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        raise SkipTest("no Node.js to run the page's script")
    done = subprocess.run([node, "-e", HARNESS, str(APP)],
                          input=json.dumps([marked, silent]),
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


class StaleTokenTests(SynchronousTestCase):
    def test_aTokenNoLongerGoodIsSaid(self):
        """A tab kept across a restart of bazaar web (a new token) was
        shown the stranger's view without a word, its header green,
        "live": the view marks the answer, and the header says, in red,
        that the token is no longer good and to open the new link."""
        shown, words = header(marked=True)
        self.assertEqual(shown, "lost")
        self.assertTrue(words.startswith(
            "this page's token is no longer good (bazaar web restarted, with a new "
            "one): open the new link from its terminal; shown meanwhile: the public "
            "market, updated "), words)

    def test_aGoodTokenIsLive(self):
        """An unmarked answer: live, in green, or the tracker's silence in
        red."""
        shown, words = header(marked=False)
        self.assertEqual(shown, "live")
        self.assertTrue(words.startswith("live, updated "), words)
        shown, words = header(marked=False, silent={"since": 0})
        self.assertEqual(shown, "lost")
        self.assertTrue(words.startswith("the tracker is not answering"), words)
