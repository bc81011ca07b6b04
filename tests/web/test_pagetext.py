"""
Tests of the words the web view's pages show (web/static/app.js, run in
Node.js with a stand-in document, skipped where Node.js is not installed;
and the pages' own text).
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

from twisted.trial.unittest import SkipTest, SynchronousTestCase

STATIC = Path(__file__).parents[2] / "twisted_bazaar" / "web" / "static"
APP = STATIC / "app.js"

#: Runs app.js without its last line (listen(), which needs a browser)
#: and prints, for each name given, nameText's nodes (a <wbr> as null),
#: and what fill() puts in a list of each number of events.
HARNESS = r"""
const vm = require("vm");
const fs = require("fs");
const source = fs.readFileSync(process.argv[1], "utf8").replace(/\nlisten\(\);\s*$/, "\n");
const document = {createElement: (tag) => ({tag, setAttribute(name, value) {
  this[name] = value; }, textContent: ""})};
const context = vm.createContext({document});
vm.runInContext(source + "\nthis.nameText = nameText; this.fill = fill;", context);
const [names, counts] = JSON.parse(fs.readFileSync(0, "utf8"));
const filled = counts.map((count) => {
  let items = [];
  const list = {replaceChildren: (...children) => { items = children; }};
  const events = Array.from({length: count}, (_, i) => ({kind: "joined", at: i, node: "7"}));
  context.fill(list, events, () => true);
  return items.map((item) => [item.class, item.textContent.includes("none")]);
});
console.log(JSON.stringify([names.map((name) => context.nameText(name).map(
  (part) => (typeof part === "string" ? part : null))), filled]));
"""


def run(names, counts):
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        raise SkipTest("no Node.js to run the page's script")
    done = subprocess.run([node, "-e", HARNESS, str(APP)],
                          input=json.dumps([names, counts]),
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


class NameTextTests(SynchronousTestCase):
    def test_aNameBreaksAfterItsSeparators(self):
        """A file name with _ in it broke mid-word (a browser takes _ for
        no place to break, and the cell broke anywhere): a <wbr> follows
        each _ . or - inside it, none at its end, and the name's text is
        whole (a <wbr> is no character)."""
        [parts, _] = run(["my_long_file-name.ogg", "apple", "a_", "_x"], [])
        self.assertEqual(parts, [["my_", None, "long_", None, "file-", None, "name.",
                                  None, "ogg"], ["apple"], ["a_"], ["_", None, "x"]])


class RecentActivityTests(SynchronousTestCase):
    def test_noneSaysNone(self):
        """An empty "Recent activity" showed nothing; it says "none", as
        an empty table does."""
        [_, filled] = run([], [0, 2])
        self.assertEqual(filled, [[["none", True]], [["joined", False]] * 2])


class LegendTests(SynchronousTestCase):
    def test_theRingOnlyWhereOneIsDrawn(self):
        """The legend explained the operator's ring on the tracker's view,
        which draws none (it is no node's operator): the words are among
        the operator's parts, shown only where a node is the view's."""
        page = (STATIC / "index.html").read_text()
        legend = re.search(r'<p class="legend">(.*?)</p>', page, re.S)[1]
        self.assertRegex(legend, r'<span data-operator hidden>[^<]*<b>ringed</b>'
                                 r": this view's own node[^<]*</span>")

    def test_theDiamondTrueOfBothFamilies(self):
        """The diamond said "at home (behind NAT)", untrue of an IPv6 home,
        which has no NAT on the way but a firewall (the node's log says
        "behind a firewall?" there): the legend names both."""
        page = (STATIC / "index.html").read_text()
        legend = re.search(r'<p class="legend">(.*?)</p>', page, re.S)[1]
        self.assertIn("◆ not reachable from outside (behind NAT or a firewall)", legend)
        self.assertNotIn("◆ at home (behind NAT)", legend)
