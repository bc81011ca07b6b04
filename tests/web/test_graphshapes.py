"""
Tests of how the web view's script (web/static/app.js) draws a node's
reach in the graph, run in Node.js with a stand-in for the page's
document (skipped where Node.js is not installed): the shape and words
must say what the node said of its reach, never more.
"""

import json
import shutil
import subprocess
from pathlib import Path

from twisted.trial.unittest import SkipTest, SynchronousTestCase

APP = Path(__file__).parents[2] / "twisted_bazaar" / "web" / "static" / "app.js"

#: Runs app.js without its last line (listen(), which needs a browser)
#: in a context whose document makes plain objects, and prints what
#: graphNode makes of each node given on stdin.
HARNESS = r"""
const vm = require("vm");
const fs = require("fs");
const source = fs.readFileSync(process.argv[1], "utf8").replace(/\nlisten\(\);\s*$/, "\n");
const document = {createElement: (tag) => ({tag, setAttribute() {}, textContent: ""})};
const context = vm.createContext({document});
vm.runInContext(source + "\nthis.graphNode = graphNode;", context);
const nodes = JSON.parse(fs.readFileSync(0, "utf8"));
console.log(JSON.stringify(nodes.map((node) => {
  const drawn = context.graphNode(node);
  return [drawn.shape, drawn.title.textContent];
})));
"""


def drawn(nodes):
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        raise SkipTest("no Node.js to run the page's script")
    done = subprocess.run([node, "-e", HARNESS, str(APP)], input=json.dumps(nodes),
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def node(**fields):
    return dict({"id": "17", "host": "10.0.0.1", "port": 9001, "scheme": "flood",
                 "known": True, "quiet": 0, "silent": False, "stock": {}, "files": 0},
                **fields)


class ReachShapeTests(SynchronousTestCase):
    def test_onlyADialledNodeIsDrawnReachable(self):
        """A dot ('reachable from outside', the legend says) only for a
        node whose reach is public; a node at home a diamond; one whose
        reach is unknown, or not said yet (its state not known), a
        square, 'not known yet' (both were dots, the second with no
        word on its reach)."""
        self.assertEqual(drawn([node(reach="public"), node(reach="private"),
                                node(reach="unknown"), node(known=False)]), [
            ["dot", "node 17 at 10.0.0.1:9001, discovery flood; reachable from "
                    "outside: yes"],
            ["diamond", "node 17 at 10.0.0.1:9001, discovery flood; reachable from "
                        "outside: no, at home"],
            ["square", "node 17 at 10.0.0.1:9001, discovery flood; reachable from "
                       "outside: not known yet"],
            ["square", "node 17 at 10.0.0.1:9001, discovery flood; reachable from "
                       "outside: not known yet"]])
